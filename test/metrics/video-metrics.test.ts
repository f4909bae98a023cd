import { describe, expect, it } from 'vitest';
import type { Mat3 } from '../../src/motion/mat3.js';
import {
  cameraPathFromMotions,
  croppingAndDistortion,
  frameCropping,
  frameDistortion,
  ITF_PAIR_CAP_DB,
  ItfAccumulator,
  lowFrequencyEnergyRatio,
  psnr8,
  singularValues2x2,
  stabilityScore,
} from '../../src/metrics/video-metrics.js';
import { createRng, gaussian, uniform } from '../support/track-rng.js';

const TOL_RATIO = 1e-9;
const TOL_PX = 1e-9;

/** Obviously correct: the full DFT by definition, energies of bins 1..5 over bins 1..N/2. */
function slowRatio(s: readonly number[], low = 5): number {
  const n = s.length;
  const e: number[] = [];
  for (let j = 0; j < n; j++) {
    let re = 0;
    let im = 0;
    for (let i = 0; i < n; i++) {
      re += (s[i] as number) * Math.cos((2 * Math.PI * j * i) / n);
      im -= (s[i] as number) * Math.sin((2 * Math.PI * j * i) / n);
    }
    e.push(re * re + im * im);
  }
  let num = 0;
  let den = 0;
  for (let j = 1; j <= Math.floor(n / 2); j++) {
    den += e[j] as number;
    if (j <= low) num += e[j] as number;
  }
  return num / den;
}

/** m(p) = s R(theta) (p - c) + c + d: a similarity about the point c. */
function similarityAbout(s: number, theta: number, dx: number, dy: number, cx: number, cy: number): Mat3 {
  const a = s * Math.cos(theta);
  const b = s * Math.sin(theta);
  return Float64Array.of(a, -b, cx - a * cx + b * cy + dx, b, a, cy - b * cx - a * cy + dy, 0, 0, 1);
}

describe('ITF (mean PSNR of consecutive frames)', () => {
  it('gives the cap for identical frames and 10 log10(255^2 / MSE) otherwise', () => {
    const a = new Uint8Array(64).fill(100);
    expect(psnr8(a, a)).toBe(ITF_PAIR_CAP_DB);
    const b = new Uint8Array(64).fill(102); // MSE 4
    expect(psnr8(a, b)).toBeCloseTo(10 * Math.log10((255 * 255) / 4), 12);
  });

  it('is 100 dB for a static clip and the mean of the pair PSNRs otherwise', () => {
    const itf = new ItfAccumulator();
    const frame = new Uint8Array(100);
    for (let i = 0; i < 100; i++) frame[i] = (i * 37) % 256;
    for (let k = 0; k < 5; k++) itf.add(frame);
    expect(itf.pairCount).toBe(4);
    expect(itf.value()).toBe(100);

    const moving = new ItfAccumulator();
    const f = new Uint8Array(100);
    // Frame k is all 10*k: pair MSE 100, PSNR 10 log10(65025/100) for every pair.
    for (let k = 0; k < 4; k++) moving.add(f.fill(10 * k));
    expect(moving.value()).toBeCloseTo(10 * Math.log10(65025 / 100), 12);
    expect(new ItfAccumulator().value()).toBeNaN();
  });
});

describe('stability (low-frequency energy share of the camera path)', () => {
  it('matches a slow full DFT on seeded random paths (N odd and even)', () => {
    const rng = createRng(7);
    for (const n of [2, 3, 11, 12, 64, 101]) {
      const s = Array.from({ length: n }, () => gaussian(rng) * 5);
      expect(lowFrequencyEnergyRatio(s)).toBeCloseTo(slowRatio(s), 9);
    }
  });

  it('is 1 for a constant path, 1 for a slow sine, 0 for a fast one, and the energy share for a mixture', () => {
    const n = 120;
    expect(lowFrequencyEnergyRatio(new Float64Array(n).fill(3.5))).toBe(1);
    const slow = Array.from({ length: n }, (_, i) => 4 * Math.sin((2 * Math.PI * 3 * i) / n));
    const fast = Array.from({ length: n }, (_, i) => Math.cos((2 * Math.PI * 20 * i) / n));
    expect(lowFrequencyEnergyRatio(slow)).toBeCloseTo(1, 12);
    expect(lowFrequencyEnergyRatio(fast)).toBeCloseTo(0, 12);
    // Amplitudes 4 and 1: energies in proportion 16 : 1.
    const mix = slow.map((v, i) => v + (fast[i] as number));
    expect(Math.abs(lowFrequencyEnergyRatio(mix) - 16 / 17)).toBeLessThan(TOL_RATIO);
  });

  it('scores a static clip 1 and takes the minimum of x, y and angle', () => {
    const I = Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);
    const still = cameraPathFromMotions(Array.from({ length: 30 }, () => I), 64, 48);
    expect(stabilityScore(still).score).toBe(1);
    const n = 90;
    const path = {
      x: Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * 2 * i) / n)),
      y: Array.from({ length: n }, (_, i) => Math.sin((2 * Math.PI * 30 * i) / n)),
      angle: new Float64Array(n),
    };
    const r = stabilityScore(path);
    expect(r.x).toBeCloseTo(1, 12);
    expect(r.y).toBeCloseTo(0, 12);
    expect(r.angle).toBe(1);
    expect(r.score).toBe(r.y);
  });

  it('scores a component that stays within the tolerance as constant (registration noise is not motion)', () => {
    const rng = createRng(17);
    const n = 100;
    const noise = { x: Array.from({ length: n }, () => 0.005 * gaussian(rng)), y: new Float64Array(n), angle: Array.from({ length: n }, () => 1e-6 * gaussian(rng)) };
    expect(stabilityScore(noise).score).toBeLessThan(0.5);
    const r = stabilityScore(noise, { xyPx: 0.02, angleRad: 1e-4 });
    expect(r.score).toBe(1);
    expect(stabilityScore({ ...noise, x: noise.x.map((v, i) => v + 5 * Math.sin((2 * Math.PI * 40 * i) / n)) }, { xyPx: 0.02, angleRad: 1e-4 }).score).toBeLessThan(0.05);
  });

  it('accumulates the centre displacement and angle of each motion into the path', () => {
    const w = 101;
    const h = 61;
    const cx = 50;
    const cy = 30;
    const rng = createRng(3);
    const steps = Array.from({ length: 20 }, () => [uniform(rng, -3, 3), uniform(rng, -3, 3), uniform(rng, -0.02, 0.02)] as const);
    const motions: Mat3[] = [Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1)];
    for (const [dx, dy, th] of steps.slice(1)) motions.push(similarityAbout(1, th, dx, dy, cx, cy));
    const p = cameraPathFromMotions(motions, w, h);
    let x = 0;
    let y = 0;
    let a = 0;
    for (let k = 1; k < steps.length; k++) {
      const [dx, dy, th] = steps[k] as readonly [number, number, number];
      x += dx;
      y += dy;
      a += th;
      expect(Math.abs((p.x[k] as number) - x)).toBeLessThan(TOL_PX);
      expect(Math.abs((p.y[k] as number) - y)).toBeLessThan(TOL_PX);
      expect(Math.abs((p.angle[k] as number) - a)).toBeLessThan(TOL_RATIO);
    }
  });
});

describe('cropping and distortion', () => {
  it('gives 0.8 for a 1.25 zoom about the centre and 1 without zoom', () => {
    const zoom = similarityAbout(1.25, 0.03, 4, -2, 320, 180);
    expect(Math.abs(frameCropping(zoom) - 0.8)).toBeLessThan(TOL_RATIO);
    expect(Math.abs(frameDistortion(zoom) - 1)).toBeLessThan(TOL_RATIO);
    const r = croppingAndDistortion([similarityAbout(1, 0.1, 5, 5, 0, 0), zoom]);
    expect(Math.abs((r?.cropping as number) - 0.9)).toBeLessThan(TOL_RATIO);
    expect(croppingAndDistortion([])).toBeNull();
  });

  it('gives the ratio of the axis scales for an anisotropic zoom, whatever the rotation', () => {
    const rng = createRng(5);
    for (let t = 0; t < 20; t++) {
      const sx = uniform(rng, 0.8, 1.3);
      const sy = uniform(rng, 0.8, 1.3);
      const th = uniform(rng, -1, 1);
      const c = Math.cos(th);
      const s = Math.sin(th);
      // A = R(th) diag(sx, sy) R(-th): singular values sx and sy.
      const a = c * c * sx + s * s * sy;
      const b = c * s * (sx - sy);
      const d = s * s * sx + c * c * sy;
      const A = Float64Array.of(a, b, 7, b, d, -3, 0, 0, 1);
      expect(Math.abs(frameDistortion(A) - Math.min(sx, sy) / Math.max(sx, sy))).toBeLessThan(TOL_RATIO);
      expect(Math.abs(frameCropping(A) - 1 / Math.sqrt(sx * sy))).toBeLessThan(TOL_RATIO);
    }
  });

  it('computes singular values that match the eigenvalues of AᵀA (seeded property test)', () => {
    const rng = createRng(9);
    for (let t = 0; t < 50; t++) {
      const [a, b, c, d] = [uniform(rng, -2, 2), uniform(rng, -2, 2), uniform(rng, -2, 2), uniform(rng, -2, 2)];
      const [s1, s2] = singularValues2x2(a, b, c, d);
      // AᵀA = [[p, q], [q, r]]
      const p = a * a + c * c;
      const q = a * b + c * d;
      const r = b * b + d * d;
      const mid = (p + r) / 2;
      const rad = Math.sqrt(((p - r) / 2) ** 2 + q * q);
      expect(s1 * s1).toBeCloseTo(mid + rad, 9);
      expect(s2 * s2).toBeCloseTo(Math.max(0, mid - rad), 9);
      expect(s1).toBeGreaterThanOrEqual(s2);
    }
  });
});
