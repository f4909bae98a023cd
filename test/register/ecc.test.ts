import { describe, expect, it } from 'vitest';
import { blurInto, gaussianKernel } from '../../src/image/blur.js';
import { createGrayImage, type GrayImage } from '../../src/image/gray-image.js';
import { invertInto, type Mat3, multiplyInto } from '../../src/motion/mat3.js';
import { MODEL_NAMES } from '../../src/motion/model-name.js';
import type { MotionModel } from '../../src/motion/motion-model.js';
import { getMotionModel } from '../../src/motion/models.js';
import { createEccWorkspace } from '../../src/register/ecc.js';
import { centredWarp, createRng, makePair, meanCornerError, perturbCorners } from '../support/synthetic.js';

/** The fused moment path and the slow per-pixel step agree to rounding (corner positions, px). */
const TOL_STEP_PX = 1e-6;
/** A single level at 160x120 recovers a small warp to this mean corner error (px). */
const TOL_LEVEL_PX = 0.05;
/**
 * ... a homography to this: its 8 parameters, fitted on a small image, pick up the bias of bilinear
 * sampling (0.02-0.06 px here even without noise; 0.01 px at 320x240).
 */
const TOL_LEVEL_HOMOGRAPHY_PX = 0.1;

const W = 120;
const H = 90;

function blurred(img: GrayImage): GrayImage {
  return blurInto(createGrayImage(img.width, img.height), img, gaussianKernel(5), new Float32Array(img.width * img.height));
}

function solve(a: number[][], b: number[]): number[] {
  const n = b.length;
  const m = a.map((row, i) => [...row, b[i] as number]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs((m[r] as number[])[c] as number) > Math.abs((m[p] as number[])[c] as number)) p = r;
    [m[c], m[p]] = [m[p] as number[], m[c] as number[]];
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = ((m[r] as number[])[c] as number) / ((m[c] as number[])[c] as number);
      for (let k = c; k <= n; k++) (m[r] as number[])[k] = ((m[r] as number[])[k] as number) - f * ((m[c] as number[])[k] as number);
    }
  }
  return m.map((row, i) => (row[n] as number) / (row[i] as number));
}

/**
 * One inverse-compositional ECC iteration the slow, obvious way: per-pixel steepest-descent vectors
 * G = grad t . dW/dp (normalised coordinates), everything summed explicitly over the valid set.
 */
function slowStep(model: MotionModel, t: GrayImage, img: GrayImage, warp: Mat3, tMask: Uint8Array | null, iMask: Uint8Array | null): Mat3 {
  const { width: w, height: h } = t;
  const n = model.paramCount;
  const s = Math.max(w - 1, h - 1) / 2;
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  const jac = new Float64Array(2 * n);
  const zero = new Float64Array(n);
  const rows: { t: number; i: number; g: number[] }[] = [];
  const at = (d: Float32Array, x: number, y: number) => d[y * w + x] as number;
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      if (tMask !== null && tMask[y * w + x] === 0) continue;
      const z = (warp[6] as number) * x + (warp[7] as number) * y + (warp[8] as number);
      const X = ((warp[0] as number) * x + (warp[1] as number) * y + (warp[2] as number)) / z;
      const Y = ((warp[3] as number) * x + (warp[4] as number) * y + (warp[5] as number)) / z;
      if (!(X >= 0 && Y >= 0 && X < w - 1 && Y < h - 1)) continue;
      const xi = Math.floor(X);
      const yi = Math.floor(Y);
      if (iMask !== null && [0, 1, w, w + 1].some((d) => iMask[yi * w + xi + d] === 0)) continue;
      const fx = X - xi;
      const fy = Y - yi;
      const iv =
        (1 - fy) * ((1 - fx) * at(img.data, xi, yi) + fx * at(img.data, xi + 1, yi)) + fy * ((1 - fx) * at(img.data, xi, yi + 1) + fx * at(img.data, xi + 1, yi + 1));
      // Gradients as the workspace stores them: float32, per normalised unit.
      const gx = Math.fround(((at(t.data, x + 1, y) - at(t.data, x - 1, y)) / 2) * s);
      const gy = Math.fround(((at(t.data, x, y + 1) - at(t.data, x, y - 1)) / 2) * s);
      model.jacobianInto(jac, zero, (x - cx) / s, (y - cy) / s);
      const g: number[] = [];
      for (let k = 0; k < n; k++) g.push(gx * (jac[k] as number) + gy * (jac[n + k] as number));
      rows.push({ t: at(t.data, x, y), i: iv, g });
    }
  }
  const N = rows.length;
  const mt = rows.reduce((a, r) => a + r.t, 0) / N;
  const mi = rows.reduce((a, r) => a + r.i, 0) / N;
  const mg = new Array(n).fill(0).map((_, k) => rows.reduce((a, r) => a + (r.g[k] as number), 0) / N);
  let tt = 0;
  let it = 0;
  const hm = new Array(n).fill(0).map(() => new Array(n).fill(0) as number[]);
  const tp = new Array(n).fill(0) as number[];
  const ip = new Array(n).fill(0) as number[];
  for (const r of rows) {
    const tc = r.t - mt;
    const ic = r.i - mi;
    tt += tc * tc;
    it += tc * ic;
    for (let k = 0; k < n; k++) {
      const gk = (r.g[k] as number) - (mg[k] as number);
      tp[k] = (tp[k] as number) + gk * tc;
      ip[k] = (ip[k] as number) + gk * ic;
      for (let l = 0; l < n; l++) (hm[k] as number[])[l] = ((hm[k] as number[])[l] as number) + gk * ((r.g[l] as number) - (mg[l] as number));
    }
  }
  const ht = solve(hm, tp);
  const hi = solve(hm, ip);
  const dotv = (a: number[], b: number[]) => a.reduce((acc, v, k) => acc + v * (b[k] as number), 0);
  const tPt = dotv(tp, ht);
  const iPt = dotv(ip, ht);
  const iPi = dotv(ip, hi);
  const den = it - iPt;
  const lambda = den > 0 ? (tt - tPt) / den : Math.max(Math.sqrt(tPt / iPi), (iPt - it) / iPi);
  const dp = Float64Array.from(hi.map((v, k) => lambda * v - (ht[k] as number)));
  // W <- W N^-1 M(dp)^-1 N
  const nMat = Float64Array.of(1 / s, 0, -cx / s, 0, 1 / s, -cy / s, 0, 0, 1);
  const nInv = Float64Array.of(s, 0, cx, 0, s, cy, 0, 0, 1);
  const mInv = invertInto(new Float64Array(9), model.toMatrixInto(new Float64Array(9), dp)) as Mat3;
  const out = multiplyInto(new Float64Array(9), warp, multiplyInto(new Float64Array(9), nInv, multiplyInto(new Float64Array(9), mInv, nMat)));
  const p = model.fromMatrixInto(new Float64Array(n), out);
  return model.toMatrixInto(out, p);
}

function smallWarp(name: string): Mat3 {
  const base = centredWarp(W, H, { tx: 1.3, ty: -0.8, angleDeg: name === 'translation' ? 0 : 1.5, scale: name === 'affine' || name === 'homography' || name === 'similarity' ? 1.02 : 1, aniso: name === 'affine' || name === 'homography' ? 0.01 : 0 });
  return name === 'homography' ? perturbCorners(base, W, H, [0.8, -0.5, -0.6, 0.4, 0.5, 0.7, -0.7, -0.3]) : base;
}

describe('ECC, one level', () => {
  for (const name of MODEL_NAMES) {
    it(`${name}: one fused iteration equals the slow per-pixel step, with invalid pixels and masks`, () => {
      const model = getMotionModel(name);
      const rng = createRng(100 + MODEL_NAMES.indexOf(name));
      const truth = smallWarp(name);
      const pair = makePair(rng, truth, { width: W, height: H, gain: 1.1, bias: -5, noiseSigma: 1, marginPx: 8 });
      const t = blurred(pair.fixed);
      const img = blurred(pair.moving);
      // A start a few pixels off, so that border pixels fall outside the input (the subtracted set).
      const start = multiplyInto(new Float64Array(9), Float64Array.of(1, 0, 3.5, 0, 1, -2.5, 0, 0, 1), model.toMatrixInto(new Float64Array(9), model.fromMatrixInto(new Float64Array(model.paramCount), truth)));
      const tMask = new Uint8Array(W * H).fill(1);
      const iMask = new Uint8Array(W * H).fill(1);
      for (let y = 20; y < 40; y++) for (let x = 30; x < 55; x++) tMask[y * W + x] = 0;
      for (let y = 50; y < 70; y++) for (let x = 60; x < 80; x++) iMask[y * W + x] = 0;
      for (const [tm, im] of [
        [null, null],
        [tMask, null],
        [null, iMask],
        [tMask, iMask],
      ] as const) {
        const ws = createEccWorkspace(W, H, model);
        expect(ws.setTemplate(t, tm)).toBeNull();
        const fast = Float64Array.from(start);
        const r = ws.align(img, im, fast, { maxIterations: 1, epsilonPx: 0 });
        expect(r.iterations).toBe(1);
        const slow = slowStep(model, t, img, start, tm, im);
        expect(meanCornerError(fast, slow, W, H)).toBeLessThan(TOL_STEP_PX);
      }
    });

    it(`${name}: converges to a small known warp, gain and bias notwithstanding`, () => {
      const model = getMotionModel(name);
      const rng = createRng(200 + MODEL_NAMES.indexOf(name));
      const truth = smallWarp(name);
      const w2 = 160;
      const h2 = 120;
      const big = name === 'translation' ? Float64Array.of(1, 0, 1.3, 0, 1, -0.8, 0, 0, 1) : truth;
      const pair = makePair(rng, big, { width: w2, height: h2, gain: 0.8, bias: 30, noiseSigma: 0.5 });
      const ws = createEccWorkspace(w2, h2, model);
      expect(ws.setTemplate(blurred(pair.fixed), null)).toBeNull();
      const warp = Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);
      const r = ws.align(blurred(pair.moving), null, warp, { maxIterations: 50, epsilonPx: 1e-4 });
      expect(r.status).toBe('converged');
      expect(r.cc).toBeGreaterThan(0.99);
      expect(meanCornerError(warp, big, w2, h2)).toBeLessThan(name === 'homography' ? TOL_LEVEL_HOMOGRAPHY_PX : TOL_LEVEL_PX);
    });
  }

  it('reports a flat template as low-texture', () => {
    const ws = createEccWorkspace(W, H, getMotionModel('affine'));
    const flat = createGrayImage(W, H, new Float32Array(W * H).fill(100));
    expect(ws.setTemplate(flat, null)).toBe('low-texture');
    const r = ws.align(flat, null, Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1), { maxIterations: 10, epsilonPx: 0.01 });
    expect(r.status).toBe('low-texture');
    expect(r.iterations).toBe(0);
  });

  it('reports a warp that leaves the input as no-overlap, a NaN input as nan, a folded warp as diverged', () => {
    const rng = createRng(7);
    const pair = makePair(rng, Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1), { width: W, height: H });
    const ws = createEccWorkspace(W, H, getMotionModel('affine'));
    expect(ws.setTemplate(blurred(pair.fixed), null)).toBeNull();
    const img = blurred(pair.moving);
    const away = Float64Array.of(1, 0, W - 5, 0, 1, 0, 0, 0, 1);
    expect(ws.align(img, null, away, { maxIterations: 10, epsilonPx: 0.01 }).status).toBe('no-overlap');
    const nanImg = createGrayImage(W, H, Float32Array.from(img.data));
    nanImg.data[45 * W + 60] = Number.NaN;
    expect(ws.align(nanImg, null, Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1), { maxIterations: 10, epsilonPx: 0.01 }).status).toBe('nan');
    const mirrored = Float64Array.of(-1, 0, W - 1, 0, 1, 0, 0, 0, 1);
    expect(ws.align(img, null, mirrored, { maxIterations: 10, epsilonPx: 0.01 }).status).toBe('diverged');
  });

  it('refuses images of another size', () => {
    const ws = createEccWorkspace(W, H, getMotionModel('translation'));
    expect(() => ws.setTemplate(createGrayImage(W + 1, H), null)).toThrow(RangeError);
  });
});
