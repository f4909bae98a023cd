import { describe, expect, it } from 'vitest';
import type { Mat3 } from '../../src/motion/mat3.js';
import { composeMotionInto } from '../../src/stabilize/motion-params.js';
import {
  cornerExcursionPx,
  createCropGeometry,
  FILL_TOLERANCE_PX,
  maxRelativeScale,
  type PullLimits,
  pullCorrectionInto,
  requiredZoom,
  showsFill,
} from '../../src/stabilize/path-constraints.js';
import { shakeUniform } from '../support/shake.js';

const W = 640;
const H = 360;
const g = createCropGeometry(W, H);
const TOL_PX = 1e-9;
const TOL_ZOOM = 1e-9;

/** The correction matrix c + a + (sigma / zoom) R(beta) (u - c), built independently. */
function correction(ax: number, ay: number, beta: number, sigma: number, zoom: number): Mat3 {
  return composeMotionInto(new Float64Array(9), ax, ay, beta, sigma / zoom, (W - 1) / 2, (H - 1) / 2);
}

/** Slow check: the largest distance an output corner maps outside [0, W-1] x [0, H-1]. */
function slowExcursion(m: Mat3): number {
  let worst = Number.NEGATIVE_INFINITY;
  for (const [x, y] of [
    [0, 0],
    [W - 1, 0],
    [W - 1, H - 1],
    [0, H - 1],
  ] as const) {
    const qx = (m[0] as number) * x + (m[1] as number) * y + (m[2] as number);
    const qy = (m[3] as number) * x + (m[4] as number) * y + (m[5] as number);
    worst = Math.max(worst, -qx, qx - (W - 1), -qy, qy - (H - 1));
  }
  return worst;
}

function randomCase(u: () => number): [number, number, number, number] {
  return [(u() - 0.5) * 40, (u() - 0.5) * 30, (u() - 0.5) * 0.1, 0.97 + 0.06 * u()];
}

describe('crop-window constraint', () => {
  it('the closed-form corner excursion equals mapping the four corners (seeded cases)', () => {
    const u = shakeUniform(5);
    for (let i = 0; i < 300; i++) {
      const [ax, ay, b, s] = randomCase(u);
      const z = 1 + 0.1 * u();
      const slow = slowExcursion(correction(ax, ay, b, s, z));
      const fast = cornerExcursionPx(g, ax, ay, b, s, z);
      // The closed form gives the worst axis excursion; the slow one the worst of x and y over corners.
      expect(Math.abs(fast - slow)).toBeLessThan(TOL_PX);
    }
  });

  it('requiredZoom is the smallest zoom with no fill: a bisection on the corner test agrees', () => {
    const u = shakeUniform(6);
    for (let i = 0; i < 100; i++) {
      const [ax, ay, b, s] = randomCase(u);
      const z = requiredZoom(g, ax, ay, b, s);
      let lo = 0.5;
      let hi = 5;
      for (let it = 0; it < 100; it++) {
        const mid = 0.5 * (lo + hi);
        if (slowExcursion(correction(ax, ay, b, s, mid)) <= 0) hi = mid;
        else lo = mid;
      }
      expect(Math.abs(z - hi)).toBeLessThan(TOL_ZOOM);
    }
  });

  it('no correction needs zoom 1 exactly; a shift reaching the frame edge needs an infinite zoom', () => {
    expect(requiredZoom(g, 0, 0, 0, 1)).toBe(1);
    expect(showsFill(g, 0, 0, 0, 1, 1)).toBe(false);
    expect(requiredZoom(g, (W - 1) / 2, 0, 0, 1)).toBe(Number.POSITIVE_INFINITY);
  });

  it('a 10 px shift at 640x360 needs zoom 319.5 / 309.5; a shift of 1e-3 px at zoom 1 shows fill', () => {
    expect(Math.abs(requiredZoom(g, 10, 0, 0, 1) - 319.5 / 309.5)).toBeLessThan(TOL_ZOOM);
    expect(showsFill(g, 1e-3, 0, 0, 1, 1)).toBe(true);
    expect(showsFill(g, FILL_TOLERANCE_PX / 2, 0, 0, 1, 1)).toBe(false);
  });
});

describe('pulling a correction toward the raw path', () => {
  const limits = (zoom: number, extra: Partial<PullLimits> = {}): PullLimits => ({
    zoom,
    maxShiftPx: Number.POSITIVE_INFINITY,
    maxAngleRad: Number.POSITIVE_INFINITY,
    anglePx: 100,
    noFill: true,
    ...extra,
  });

  it('after the pull no output corner leaves the frame, and every component only shrinks (seeded cases)', () => {
    const u = shakeUniform(7);
    const out = new Float64Array(4);
    for (let i = 0; i < 500; i++) {
      const [ax, ay, b, s] = randomCase(u);
      const z = 1 + 0.06 * u();
      pullCorrectionInto(out, g, ax, ay, b, s, limits(z, { anglePx: 10 + 400 * u() }));
      const [px, py, pb, ps] = out as unknown as [number, number, number, number];
      expect(slowExcursion(correction(px, py, pb, ps, z))).toBeLessThanOrEqual(FILL_TOLERANCE_PX);
      expect(Math.abs(px)).toBeLessThanOrEqual(Math.abs(ax) + TOL_PX);
      expect(Math.abs(py)).toBeLessThanOrEqual(Math.abs(ay) + TOL_PX);
      expect(Math.abs(pb)).toBeLessThanOrEqual(Math.abs(b) + 1e-15);
      expect(Math.sign(px) * Math.sign(ax)).toBeGreaterThanOrEqual(0);
      expect(ps).toBeLessThanOrEqual(Math.max(s, 0) + 1e-15);
    }
  });

  it('a correction that already fits is left alone', () => {
    const out = pullCorrectionInto(new Float64Array(4), g, 3, -2, 0.002, 1, limits(1.05));
    expect(Array.from(out)).toEqual([3, -2, 0.002, 1]);
  });

  it('is the nearest point of the constraint in its metric: a brute-force grid search finds nothing nearer', () => {
    const u = shakeUniform(8);
    const out = new Float64Array(4);
    const kappa = 120;
    const z = 1.03;
    for (let i = 0; i < 12; i++) {
      const ax = (u() - 0.5) * 30;
      const ay = (u() - 0.5) * 20;
      const b = (u() - 0.5) * 0.06;
      pullCorrectionInto(out, g, ax, ay, b, 1, limits(z, { anglePx: kappa }));
      const cost = (x: number, y: number, t: number) => (x - ax) ** 2 + (y - ay) ** 2 + (kappa * (t - b)) ** 2;
      const best = cost(out[0] as number, out[1] as number, out[2] as number);
      // The linearised polytope: |x| + (H/z) |t| <= W (1 - 1/z), |y| + (W/z) |t| <= H (1 - 1/z). For each t the
      // nearest x, y are clamps, so a fine grid over t alone is a brute force of the 3-D problem.
      const hw = (W - 1) / 2;
      const hh = (H - 1) / 2;
      const mx = hw * (1 - 1 / z);
      const my = hh * (1 - 1 / z);
      let brute = Number.POSITIVE_INFINITY;
      const tMax = Math.min(mx / (hh / z), my / (hw / z));
      for (let j = -4000; j <= 4000; j++) {
        const t = (j / 4000) * tMax;
        const bx = mx - (hh / z) * Math.abs(t);
        const by = my - (hw / z) * Math.abs(t);
        const x = Math.max(-bx, Math.min(bx, ax));
        const y = Math.max(-by, Math.min(by, ay));
        brute = Math.min(brute, cost(x, y, t));
      }
      const TOL_COST = 1e-6;
      expect(best).toBeLessThanOrEqual(brute + TOL_COST);
    }
  });

  it('a small angle weight gives up rotation before translation, a large one translation before rotation', () => {
    const lowW = pullCorrectionInto(new Float64Array(4), g, 0, 4, 0.01, 1, limits(1.03, { anglePx: 20 }));
    const highW = pullCorrectionInto(new Float64Array(4), g, 0, 4, 0.01, 1, limits(1.03, { anglePx: 2000 }));
    expect(Math.abs(lowW[1] as number)).toBeGreaterThan(Math.abs(highW[1] as number));
    expect(Math.abs(lowW[2] as number)).toBeLessThan(Math.abs(highW[2] as number));
  });

  it('caps: the shift length and the angle never exceed maxShiftPx and maxAngleRad, with or without the crop constraint', () => {
    const u = shakeUniform(9);
    const out = new Float64Array(4);
    for (let i = 0; i < 200; i++) {
      const [ax, ay, b, s] = randomCase(u);
      for (const noFill of [true, false]) {
        pullCorrectionInto(out, g, ax, ay, b, s, limits(1.1, { maxShiftPx: 3, maxAngleRad: 0.004, noFill }));
        expect(Math.hypot(out[0] as number, out[1] as number)).toBeLessThanOrEqual(3 + TOL_PX);
        expect(Math.abs(out[2] as number)).toBeLessThanOrEqual(0.004 + 1e-15);
      }
    }
  });

  it('without the crop constraint only the caps act (fill may show)', () => {
    const out = pullCorrectionInto(new Float64Array(4), g, 30, 0, 0.05, 1, limits(1, { noFill: false }));
    expect(Array.from(out)).toEqual([30, 0, 0.05, 1]);
  });

  it('a relative scale above half the zoom\'s room (sqrt(zoom)) is held there, and the other half still holds a shift', () => {
    const out = pullCorrectionInto(new Float64Array(4), g, 2, 2, 0, 1.2, limits(1.1));
    expect(out[3]).toBeCloseTo(Math.sqrt(1.1), 12);
    // Room left: half-size x (1 - sqrt(1.1) / 1.1), several pixels on each side here; a 2 px shift fits whole.
    expect(g.halfWidth * (1 - Math.sqrt(1.1) / 1.1)).toBeGreaterThan(2);
    expect(g.halfHeight * (1 - Math.sqrt(1.1) / 1.1)).toBeGreaterThan(2);
    expect(Math.abs((out[0] as number) - 2)).toBeLessThan(TOL_PX);
    expect(Math.abs((out[1] as number) - 2)).toBeLessThan(TOL_PX);
    expect(maxRelativeScale(1.1)).toBeCloseTo(Math.sqrt(1.1), 12);
  });
});
