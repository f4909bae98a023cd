import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createGrayImage } from '../../src/image/gray-image.js';
import { invertInto, type Mat3, transformPointInto } from '../../src/motion/mat3.js';
import { createLogPolarEstimator, estimateLogPolarStart } from '../../src/register/log-polar.js';
import {
  addGainBiasNoise,
  oxfordBoatDir,
  readMatrixText,
  readPgm,
  renderScene,
  renderWarped,
  similarityAbout,
  texture,
} from '../support/fourier-fixtures.js';

/** Synthetic similarity starts (task: angle within 1 degree, scale within 2%, corners inside ECC's basin). */
const TOL_ANGLE_DEG = 1;
const TOL_SCALE_REL = 0.02;
/** Corner displacement between the estimate and the truth, full-resolution pixels (measured <= 1.3). */
const TOL_CORNER_PX = 3;
/** Oxford boat img1 -> img3 against the similarity part of the true homography (task's bounds). */
const TOL_BOAT_ANGLE_DEG = 2;
const TOL_BOAT_SCALE_REL = 0.03;
/** The boat's translation at the image centre, full-resolution pixels (it also has perspective). */
const TOL_BOAT_CENTRE_PX = 8;

function degrees(rad: number): number {
  return (rad * 180) / Math.PI;
}

/** Wraps an angle difference to (-180, 180] degrees. */
function angleDiffDeg(a: number, b: number): number {
  let d = a - b;
  while (d > 180) d -= 360;
  while (d <= -180) d += 360;
  return d;
}

function maxCornerError(a: Mat3, b: Mat3, w: number, h: number): number {
  const p = [0, 0];
  const q = [0, 0];
  let m = 0;
  for (const [x, y] of [
    [0, 0],
    [w - 1, 0],
    [0, h - 1],
    [w - 1, h - 1],
  ] as const) {
    transformPointInto(p, a, x, y);
    transformPointInto(q, b, x, y);
    m = Math.max(m, Math.hypot(p[0]! - q[0]!, p[1]! - q[1]!));
  }
  return m;
}

describe('log-polar (Fourier-Mellin) similarity start', () => {
  it('recovers rotations up to +-45 degrees and scales 0.7..1.4 with translation, gain and noise', () => {
    const w = 320;
    const h = 240;
    const scene = texture(7);
    const fixed = renderScene(w, h, scene);
    const estimator = createLogPolarEstimator(w, h);
    const cases: [number, number, number, number][] = [
      [0, 1, 0, 0],
      [45, 1.4, -10, 8],
      [-45, 0.7, 12, -6],
      [30, 0.8, 25, -20],
      [-20, 1.25, 20, -15],
      [-8, 1.05, -30, 12],
    ];
    for (const [deg, s, tx, ty] of cases) {
      const W = similarityAbout((deg * Math.PI) / 180, s, w / 2, h / 2, tx, ty);
      const moving = renderWarped(w, h, scene, invertInto(new Float64Array(9), W)!);
      addGainBiasNoise(moving, 0.9, 10, 2, deg + 100);
      const r = estimator.estimate(fixed, moving);
      expect(r).not.toBeNull();
      expect(Math.abs(angleDiffDeg(degrees(r!.angleRad), deg))).toBeLessThanOrEqual(TOL_ANGLE_DEG);
      expect(Math.abs(r!.scale / s - 1)).toBeLessThanOrEqual(TOL_SCALE_REL);
      expect(maxCornerError(r!.matrix, W, w, h)).toBeLessThanOrEqual(TOL_CORNER_PX);
      expect(Array.from(r!.matrix.subarray(6))).toEqual([0, 0, 1]);
    }
  });

  it('resolves the 180-degree ambiguity of the magnitude spectrum (angles beyond 90 degrees)', () => {
    const w = 256;
    const h = 192;
    const scene = texture(12);
    const fixed = renderScene(w, h, scene);
    for (const deg of [170, -120, 100]) {
      const W = similarityAbout((deg * Math.PI) / 180, 1.1, w / 2, h / 2, 4, -3);
      const moving = renderWarped(w, h, scene, invertInto(new Float64Array(9), W)!);
      const r = estimateLogPolarStart(fixed, moving);
      expect(r).not.toBeNull();
      expect(Math.abs(angleDiffDeg(degrees(r!.angleRad), deg))).toBeLessThanOrEqual(TOL_ANGLE_DEG);
      expect(maxCornerError(r!.matrix, W, w, h)).toBeLessThanOrEqual(TOL_CORNER_PX);
    }
  });

  it('handles a non-square working crop of a wide image (640x360) and reports a confident peak', () => {
    const w = 640;
    const h = 360;
    const scene = texture(31);
    const fixed = renderScene(w, h, scene);
    const W = similarityAbout((25 * Math.PI) / 180, 0.85, w / 2, h / 2, -40, 22);
    const moving = renderWarped(w, h, scene, invertInto(new Float64Array(9), W)!);
    const r = estimateLogPolarStart(fixed, moving);
    expect(r).not.toBeNull();
    expect(Math.abs(angleDiffDeg(degrees(r!.angleRad), 25))).toBeLessThanOrEqual(TOL_ANGLE_DEG);
    expect(Math.abs(r!.scale / 0.85 - 1)).toBeLessThanOrEqual(TOL_SCALE_REL);
    expect(maxCornerError(r!.matrix, W, w, h)).toBeLessThanOrEqual(TOL_CORNER_PX);
    expect(r!.peak).toBeGreaterThan(0.3);
    expect(r!.ncc).toBeGreaterThan(0.9);
  });

  it('accepts a moving image of another size (each is downscaled on its own)', () => {
    const scene = texture(44);
    const fixed = renderScene(300, 220, scene);
    const W = similarityAbout((-33 * Math.PI) / 180, 1.15, 150, 110, 6, -9);
    const moving = renderWarped(260, 250, scene, invertInto(new Float64Array(9), W)!);
    const r = estimateLogPolarStart(fixed, moving);
    expect(r).not.toBeNull();
    expect(Math.abs(angleDiffDeg(degrees(r!.angleRad), -33))).toBeLessThanOrEqual(TOL_ANGLE_DEG);
    expect(Math.abs(r!.scale / 1.15 - 1)).toBeLessThanOrEqual(TOL_SCALE_REL);
    expect(maxCornerError(r!.matrix, W, 300, 220)).toBeLessThanOrEqual(TOL_CORNER_PX);
  });

  it('returns null for images too small to estimate', () => {
    expect(estimateLogPolarStart(createGrayImage(20, 100), createGrayImage(20, 100))).toBeNull();
  });

  const boat = oxfordBoatDir();
  it.skipIf(boat === null)('Oxford boat img1 -> img3 (real, 39 degrees, scale 0.736): within 2 degrees and 3%', () => {
    const a = readPgm(join(boat!, 'img1.pgm'));
    const b = readPgm(join(boat!, 'img3.pgm'));
    // H1to3p maps img1 pixel coordinates to img3 pixel coordinates: with img1 as fixed it is W.
    const H = readMatrixText(join(boat!, 'H1to3p'));
    // Similarity part of H: the closest similarity to its 2x2 linear block, [p -q; q p] with
    // p = (h00 + h11) / 2, q = (h10 - h01) / 2.
    const p = (H[0]! + H[4]!) / 2;
    const q = (H[3]! - H[1]!) / 2;
    const trueAngleDeg = degrees(Math.atan2(q, p));
    const trueScale = Math.hypot(p, q);
    const r = estimateLogPolarStart(a, b);
    expect(r).not.toBeNull();
    expect(Math.abs(angleDiffDeg(degrees(r!.angleRad), trueAngleDeg))).toBeLessThanOrEqual(TOL_BOAT_ANGLE_DEG);
    expect(Math.abs(r!.scale / trueScale - 1)).toBeLessThanOrEqual(TOL_BOAT_SCALE_REL);
    // Where the image centre goes: compare with the homography itself.
    const cx = (a.width - 1) / 2;
    const cy = (a.height - 1) / 2;
    const e = [0, 0];
    const t = [0, 0];
    transformPointInto(e, r!.matrix, cx, cy);
    transformPointInto(t, H, cx, cy);
    expect(Math.hypot(e[0]! - t[0]!, e[1]! - t[1]!)).toBeLessThanOrEqual(TOL_BOAT_CENTRE_PX);
  });
});
