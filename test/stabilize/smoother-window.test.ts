/**
 * The path optimisation on a window of a clip (smoother-two-pass.ts options firstFrame, fixedLeading,
 * initial, workspace), as the receding-horizon plan of framing.ts uses it. Ground truth: a convex problem
 * whose leading samples are fixed at the whole problem's optimum has the rest of that optimum as its own
 * optimum; the poses come from the seeded known shake of test/support/shake.ts.
 */
import { describe, expect, it } from 'vitest';
import { createCropGeometry, type CropGeometry, showsFill } from '../../src/stabilize/path-constraints.js';
import { gaussianSmoothPathInto } from '../../src/stabilize/smoother-gaussian.js';
import { optimizePathInto, type PathConstraint, PathOptimizeWorkspace } from '../../src/stabilize/smoother-two-pass.js';
import { CameraTrajectory, PATH_DIMS, PathBuffer } from '../../src/stabilize/trajectory.js';
import { makeShake } from '../support/shake.js';

/** Two solutions of the same convex problem, each stopped at a 1e-7 px step, agree to this, pixels. */
const TOL_OPTIMUM_PX = 0.02;
/** Rotation weight of the constraint metric as framing.ts uses it (pixels per radian at 640x360). */
const ANGLE_PX = Math.sqrt(0.1) * Math.hypot(319.5, 179.5);
const RADIUS = 15;
const TIGHT = { radius: RADIUS, maxIterations: 20000, tolerancePx: 1e-7 } as const;

function shakePath(seed: number): { raw: PathBuffer; n: number; target: Float64Array; geom: CropGeometry } {
  const sh = makeShake({ seed, frames: 200 });
  const raw = new PathBuffer(sh.frames);
  const tr = new CameraTrajectory(sh.width, sh.height, raw);
  for (const m of sh.motions) tr.push(m);
  const n = sh.frames;
  return { raw, n, target: gaussianSmoothPathInto(new Float64Array(n * PATH_DIMS), raw, n, RADIUS), geom: createCropGeometry(sh.width, sh.height) };
}

const constraintOf = (geom: CropGeometry, n: number, zoom = 1.03): PathConstraint => ({
  geometry: geom,
  zoom: new Float64Array(n).fill(zoom),
  maxShiftPx: Number.POSITIVE_INFINITY,
  maxAngleRad: Number.POSITIVE_INFINITY,
  anglePx: ANGLE_PX,
  noFill: true,
});

/** The correction parameters of path sample q against raw frame f (framing.ts's correctionParamsInto, written out). */
function correctionOf(raw: PathBuffer, f: number, q: Float64Array, qo: number): [number, number, number, number] {
  const pa = raw.get(f, 2);
  const is = Math.exp(-raw.get(f, 3));
  const dx = (q[qo] as number) - raw.get(f, 0);
  const dy = (q[qo + 1] as number) - raw.get(f, 1);
  return [is * (Math.cos(pa) * dx + Math.sin(pa) * dy), is * (-Math.sin(pa) * dx + Math.cos(pa) * dy), (q[qo + 2] as number) - pa, Math.exp((q[qo + 3] as number) - raw.get(f, 3))];
}

describe('path optimisation with held leading samples', () => {
  for (const constrained of [false, true]) {
    it(`${constrained ? 'under the crop constraint' : 'unconstrained'}: the held samples come back bit for bit, whatever the start`, () => {
      const { raw, n, target, geom } = shakePath(11);
      const held = 37;
      // A start far from the held values: the projection must put them back.
      const initial = new Float64Array(n * PATH_DIMS);
      for (let i = 0; i < initial.length; i++) initial[i] = (target[i] as number) + 25 * Math.sin(i);
      const out = new Float64Array(n * PATH_DIMS);
      optimizePathInto(out, raw, target, n, constrained ? constraintOf(geom, n) : null, { radius: RADIUS, fixedLeading: held, initial });
      for (let i = 0; i < held * PATH_DIMS; i++) expect(out[i]).toBe(target[i]);
      // ... and the free samples did move (the option is not a no-op copy of the target).
      let moved = 0;
      for (let i = held * PATH_DIMS; i < n * PATH_DIMS; i++) moved = Math.max(moved, Math.abs((out[i] as number) - (target[i] as number)));
      expect(moved).toBeGreaterThan(0.1);
    });
  }

  for (const constrained of [false, true]) {
    it(`${constrained ? 'under the crop constraint' : 'unconstrained'}: leading samples held at the whole optimum leave the rest at the whole optimum`, () => {
      const { raw, n, target, geom } = shakePath(12);
      const c = constrained ? constraintOf(geom, n) : null;
      const whole = new Float64Array(n * PATH_DIMS);
      optimizePathInto(whole, raw, target, n, c, TIGHT);
      const held = 50;
      const tgt = Float64Array.from(target);
      tgt.set(whole.subarray(0, held * PATH_DIMS));
      const part = new Float64Array(n * PATH_DIMS);
      optimizePathInto(part, raw, tgt, n, c, { ...TIGHT, fixedLeading: held });
      let worst = 0;
      for (let k = held; k < n; k++) for (let d = 0; d < 2; d++) worst = Math.max(worst, Math.abs((part[k * PATH_DIMS + d] as number) - (whole[k * PATH_DIMS + d] as number)));
      expect(worst).toBeLessThan(TOL_OPTIMUM_PX);
      if (constrained) {
        for (let k = 0; k < n; k++) {
          const [ax, ay, b, s] = correctionOf(raw, k, part, k * PATH_DIMS);
          expect(showsFill(geom, ax, ay, b, s, 1.03)).toBe(false);
        }
      }
    });
  }
});

describe('path optimisation on a window of a longer clip', () => {
  it('frames firstFrame .. firstFrame + n - 1 of a buffer give what the same poses give from frame 0 (exactly)', () => {
    const { raw, n, target, geom } = shakePath(13);
    const f0 = 70;
    const wn = 90;
    const copy = new PathBuffer(wn);
    const pose = new Float64Array(PATH_DIMS);
    for (let k = 0; k < wn; k++) {
      raw.read(f0 + k, pose);
      copy.push(pose[0] as number, pose[1] as number, pose[2] as number, pose[3] as number);
    }
    const tgt = target.slice(f0 * PATH_DIMS, (f0 + wn) * PATH_DIMS);
    const a = new Float64Array(wn * PATH_DIMS);
    const b = new Float64Array(wn * PATH_DIMS);
    optimizePathInto(a, raw, tgt, wn, constraintOf(geom, wn), { radius: RADIUS, firstFrame: f0, fixedLeading: 20 });
    optimizePathInto(b, copy, tgt, wn, constraintOf(geom, wn), { radius: RADIUS, fixedLeading: 20 });
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(n).toBeGreaterThan(f0 + wn);
  });

  it('a reused workspace gives the same result as fresh buffers, across problem sizes', () => {
    const { raw, target, geom } = shakePath(14);
    const ws = new PathOptimizeWorkspace();
    for (const wn of [40, 90, 40, 120]) {
      const tgt = target.subarray(0, wn * PATH_DIMS);
      const a = new Float64Array(wn * PATH_DIMS);
      const b = new Float64Array(wn * PATH_DIMS);
      optimizePathInto(a, raw, tgt, wn, constraintOf(geom, wn), { radius: RADIUS, fixedLeading: 10, workspace: ws });
      optimizePathInto(b, raw, tgt, wn, constraintOf(geom, wn), { radius: RADIUS, fixedLeading: 10 });
      expect(Array.from(a)).toEqual(Array.from(b));
    }
  });

  it('started at the optimum, it stops within a few iterations, at the optimum', () => {
    const { raw, n, target, geom } = shakePath(15);
    const c = constraintOf(geom, n);
    const opt = new Float64Array(n * PATH_DIMS);
    optimizePathInto(opt, raw, target, n, c, TIGHT);
    const LOOSE = { radius: RADIUS, tolerancePx: 1e-4 };
    const cold = optimizePathInto(new Float64Array(n * PATH_DIMS), raw, target, n, c, LOOSE);
    const again = new Float64Array(n * PATH_DIMS);
    const warm = optimizePathInto(again, raw, target, n, c, { ...LOOSE, initial: opt });
    // The loop always runs 11 iterations before it tests the step (a cold start takes 178 here).
    const MAX_WARM_ITERATIONS = 20;
    expect(warm.iterations).toBeLessThanOrEqual(MAX_WARM_ITERATIONS);
    expect(cold.iterations).toBeGreaterThan(5 * MAX_WARM_ITERATIONS);
    let worst = 0;
    for (let i = 0; i < again.length; i++) worst = Math.max(worst, Math.abs((again[i] as number) - (opt[i] as number)));
    expect(worst).toBeLessThan(TOL_OPTIMUM_PX);
  });
});
