import { describe, expect, it } from 'vitest';
import { createCropGeometry } from '../../src/stabilize/path-constraints.js';
import { gaussianSmoothPathInto } from '../../src/stabilize/smoother-gaussian.js';
import { DEFAULT_SHAKE_WEIGHT } from '../../src/stabilize/options.js';
import { balancedVelocityWeight, optimizePathInto, PathOptimizeWorkspace, rawShakeBalance } from '../../src/stabilize/smoother-two-pass.js';
import { PATH_DIMS, PathBuffer } from '../../src/stabilize/trajectory.js';
import { hfJitter } from '../support/jitter.js';
import { hfVelocity } from '../support/shake.js';

/**
 * A walk as the crop window sees it: a slow sway too large for the margin, a 1.2 Hz sway of a few pixels
 * and a 6 Hz shake of 1.5 px (footsteps), translation only, so the output's motion per frame is exactly
 * the step of the optimised path. 300 frames at 30 fps.
 */
const W = 640;
const H = 360;
const FPS = 30;
const N = 300;
const ZOOM = 1.03;
const SHAKE_HZ = 6;
const SHAKE_PX = 1.5;
const RADIUS = 15;
/** The no-fill constraint may be exceeded by rounding only, pixels. */
const TOL_FILL_PX = 1e-6;

function camera(k: number): [number, number] {
  const t = k / FPS;
  const shake = SHAKE_PX * Math.sin(2 * Math.PI * SHAKE_HZ * t + 0.3);
  const x = 40 * Math.sin(2 * Math.PI * 0.25 * t) + 10 * Math.sin(2 * Math.PI * 1.2 * t) + shake;
  const y = 15 * Math.sin(2 * Math.PI * 0.2 * t + 1) + 6 * Math.sin(2 * Math.PI * 1.2 * t + 0.7) + 0.7 * shake;
  return [x, y];
}

/** The camera's path in the optimiser's layout (x, y, angle 0, log scale 0 per frame). */
function cameraPath(): Float64Array {
  const p = new Float64Array(N * PATH_DIMS);
  for (let k = 0; k < N; k++) p.set(camera(k), k * PATH_DIMS);
  return p;
}

function cameraBuffer(): PathBuffer {
  const raw = new PathBuffer(N);
  for (let k = 0; k < N; k++) raw.push(...camera(k), 0, 0);
  return raw;
}

/** The path at a shake weight (relative, as the planner passes it: balancedVelocityWeight). */
function solve(shakeWeight: number): { path: Float64Array; raw: PathBuffer } {
  const raw = cameraBuffer();
  const ws = new PathOptimizeWorkspace();
  const velocityWeight = balancedVelocityWeight(shakeWeight, raw, 0, N, RADIUS, ws);
  const target = gaussianSmoothPathInto(new Float64Array(N * PATH_DIMS), raw, N, RADIUS);
  const geometry = createCropGeometry(W, H);
  const constraint = {
    geometry,
    zoom: new Float64Array(N).fill(ZOOM),
    maxShiftPx: Number.POSITIVE_INFINITY,
    maxAngleRad: Number.POSITIVE_INFINITY,
    anglePx: geometry.cornerRadius,
    noFill: true,
  };
  const path = new Float64Array(N * PATH_DIMS);
  optimizePathInto(path, raw, target, N, constraint, { radius: RADIUS, velocityWeight, maxIterations: 3000, tolerancePx: 1e-6, workspace: ws });
  return { path, raw };
}

/** The path's steps, as the anchors' per-frame motions (dx, dy, 0); the first is zero. */
function steps(path: Float64Array): [number, number, number][] {
  const out: [number, number, number][] = [[0, 0, 0]];
  for (let k = 1; k < N; k++) out.push([(path[k * PATH_DIMS] as number) - (path[(k - 1) * PATH_DIMS] as number), (path[k * PATH_DIMS + 1] as number) - (path[(k - 1) * PATH_DIMS + 1] as number), 0]);
  return out;
}

/** Amplitude of the steps' x at frequency hz (one DFT coefficient of the N - 1 steps). */
function stepAmplitude(s: readonly [number, number, number][], hz: number): number {
  let re = 0;
  let im = 0;
  for (let k = 1; k < N; k++) {
    const a = (2 * Math.PI * hz * k) / FPS;
    const x = (s[k] as [number, number, number])[0];
    re += x * Math.cos(a);
    im += x * Math.sin(a);
  }
  return (2 * Math.hypot(re, im)) / (N - 1);
}

describe('two-pass path: the fast shake of the steps (velocityWeight, from the planner\'s shakeWeight)', () => {
  const plain = solve(0);
  const weighted = solve(DEFAULT_SHAKE_WEIGHT);
  // The input's 6 Hz shake in the steps: amplitude SHAKE_PX * 2 sin(pi f / fps).
  const inputShakeStep = SHAKE_PX * 2 * Math.sin((Math.PI * SHAKE_HZ) / FPS);

  it('without it the crop margin goes to the sway and part of the 6 Hz shake passes through; with it most of the shake is removed', () => {
    const before = stepAmplitude(steps(plain.path), SHAKE_HZ);
    const after = stepAmplitude(steps(weighted.path), SHAKE_HZ);
    // Measured: 0.31 and 0.04 of the input's shake.
    expect(before).toBeGreaterThan(0.2 * inputShakeStep);
    expect(after).toBeLessThan(0.5 * before);
    expect(after).toBeLessThan(0.2 * inputShakeStep);
  });

  it('lowers the >= 1 Hz content of the steps (the window-free measure of the anchors) for a little more moving-average residual', () => {
    const vPlain = hfVelocity(steps(plain.path), FPS).xyPx;
    const vWeighted = hfVelocity(steps(weighted.path), FPS).xyPx;
    const jPlain = hfJitter(steps(plain.path)).xyPx;
    const jWeighted = hfJitter(steps(weighted.path)).xyPx;
    const jInput = hfJitter(steps(cameraPath())).xyPx;
    // Measured: 0.53x the >= 1 Hz content, 1.13x the residual, which stays a third of the input's (0.35).
    expect(vWeighted).toBeLessThan(0.65 * vPlain);
    expect(jWeighted).toBeLessThan(1.15 * jPlain);
    expect(jWeighted).toBeLessThan(0.4 * jInput);
  });

  it('both paths keep the crop window inside every frame', () => {
    const g = createCropGeometry(W, H);
    const mx = g.halfWidth * (1 - 1 / ZOOM) + TOL_FILL_PX;
    const my = g.halfHeight * (1 - 1 / ZOOM) + TOL_FILL_PX;
    for (const { path } of [plain, weighted]) {
      for (let k = 0; k < N; k++) {
        const [cx, cy] = camera(k);
        expect(Math.abs((path[k * PATH_DIMS] as number) - cx)).toBeLessThanOrEqual(mx);
        expect(Math.abs((path[k * PATH_DIMS + 1] as number) - cy)).toBeLessThanOrEqual(my);
      }
    }
  });
});

/** Response of the centred moving average of radius r at frequency hz (frames at FPS), away from the ends. */
function movingAverageGain(r: number, hz: number): number {
  const w = (Math.PI * hz) / FPS;
  return Math.sin((2 * r + 1) * w) / ((2 * r + 1) * Math.sin(w));
}

describe('rawShakeBalance: the raw path\'s own sway against its steps\' shake (the scale of the planner\'s velocity weight)', () => {
  /** Long enough that the shrinking windows at the ends change the energies by well under this share. */
  const LONG = 3000;
  const TOL_REL = 0.02;
  const ws = new PathOptimizeWorkspace();
  const sine = (hz: number, amp: number): PathBuffer => {
    const raw = new PathBuffer(LONG);
    for (let k = 0; k < LONG; k++) raw.push(amp * Math.sin((2 * Math.PI * hz * k) / FPS + 0.4), 0, 0, 0);
    return raw;
  };

  it('of a sine, is the ratio of the two filters\' responses: |1 - B|^2 / (4 sin^2(pi f / fps) |1 - T|^2), T = B_h^2 with h = radius / 2', () => {
    for (const hz of [2, 6]) {
      const b = movingAverageGain(RADIUS, hz);
      const t = movingAverageGain(RADIUS >> 1, hz) ** 2;
      const step = 2 * Math.sin((Math.PI * hz) / FPS);
      const expected = (1 - b) ** 2 / (step ** 2 * (1 - t) ** 2);
      expect(Math.abs(rawShakeBalance(sine(hz, 3), 0, LONG, RADIUS, ws) / expected - 1)).toBeLessThan(TOL_REL);
    }
  });

  it('does not change with the size of the motion in pixels, and is 1 for a steady pan (no shake to weigh)', () => {
    const small = rawShakeBalance(sine(2, 1), 0, LONG, RADIUS, ws);
    const large = rawShakeBalance(sine(2, 40), 0, LONG, RADIUS, ws);
    expect(Math.abs(large / small - 1)).toBeLessThan(1e-9);
    const pan = new PathBuffer(N);
    for (let k = 0; k < N; k++) pan.push(3 * k, -k, 0, 0);
    expect(rawShakeBalance(pan, 0, N, RADIUS, ws)).toBe(1);
  });

  it('gives a walk (large slow sway, small fast shake) a far larger velocity weight than a shake of the same steps at 6 Hz alone', () => {
    // The walk of the tests above: measured balance 21.4; the 6 Hz shake alone: 0.68 (the formula above).
    const walk = balancedVelocityWeight(DEFAULT_SHAKE_WEIGHT, cameraBuffer(), 0, N, RADIUS, ws);
    const shakeOnly = balancedVelocityWeight(DEFAULT_SHAKE_WEIGHT, sine(6, SHAKE_PX), 0, LONG, RADIUS, ws);
    expect(walk).toBeGreaterThan(10 * shakeOnly);
    expect(balancedVelocityWeight(0, cameraBuffer(), 0, N, RADIUS, ws)).toBe(0);
  });
});
