import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createGrayImage, type GrayImage } from '../../src/image/gray-image.js';
import {
  compareImages,
  createSsimWorkspace,
  mse,
  ncc,
  PSNR_CAP_DB,
  psnr,
  ssim,
} from '../../src/metrics/similarity.js';
import { InputError } from '../../src/errors.js';
import { createGaussian, createRng, oxfordBoatDir, readPgm, renderScene, texture } from '../support/fourier-fixtures.js';

/** Exact arithmetic on small integers, up to float32 storage and double sums. */
const TOL_EXACT = 1e-9;
/** Fast separable SSIM vs the slow direct one: only the order of the sums differs. */
const TOL_SSIM_SLOW = 1e-9;
/** Against scikit-image, as the task states. */
const TOL_SKIMAGE = 1e-3;

/*
 * Reference numbers for the Oxford boat pair img1.pgm vs img2.pgm (850x680), computed once with
 * /usr/bin/python3, scikit-image 0.19.3 and numpy (an independent implementation):
 *   a, b = the two PGMs as float64 arrays (header '# comments' line skipped)
 *   structural_similarity(a, b, gaussian_weights=True, sigma=1.5, use_sample_covariance=False,
 *                         data_range=255)                      -> 0.15444679937347333
 *   skimage.metrics.mean_squared_error(a, b)                    -> 6674.019316608997
 *   skimage.metrics.peak_signal_noise_ratio(a, b, data_range=255) -> 9.88692901569131
 *   numpy.corrcoef(a.ravel(), b.ravel())[0, 1]                  -> 0.030391232560341076
 */
const SKIMAGE_SSIM_BOAT_1_2 = 0.15444679937347333;
const SKIMAGE_MSE_BOAT_1_2 = 6674.019316608997;
const SKIMAGE_PSNR_BOAT_1_2 = 9.88692901569131;
const NUMPY_NCC_BOAT_1_2 = 0.030391232560341076;

/** Slow SSIM straight from the definition: a 2-D 11x11 Gaussian window at every wholly valid centre. */
function slowSsim(a: GrayImage, b: GrayImage, mask?: Uint8Array): number {
  const { width: w, height: h } = a;
  const R = 5;
  const g: number[] = [];
  for (let i = -R; i <= R; i++) g.push(Math.exp(-(i * i) / (2 * 1.5 * 1.5)));
  const gs = g.reduce((s, v) => s + v, 0);
  const C1 = (0.01 * 255) ** 2;
  const C2 = (0.03 * 255) ** 2;
  let total = 0;
  let count = 0;
  for (let y = R; y < h - R; y++) {
    for (let x = R; x < w - R; x++) {
      let ok = true;
      let mx = 0;
      let my = 0;
      for (let j = -R; j <= R; j++) {
        for (let i = -R; i <= R; i++) {
          const k = (y + j) * w + (x + i);
          if (mask && !mask[k]) ok = false;
          const wt = (g[i + R]! * g[j + R]!) / (gs * gs);
          mx += wt * a.data[k]!;
          my += wt * b.data[k]!;
        }
      }
      if (!ok) continue;
      let vx = 0;
      let vy = 0;
      let cxy = 0;
      for (let j = -R; j <= R; j++) {
        for (let i = -R; i <= R; i++) {
          const k = (y + j) * w + (x + i);
          const wt = (g[i + R]! * g[j + R]!) / (gs * gs);
          vx += wt * (a.data[k]! - mx) ** 2;
          vy += wt * (b.data[k]! - my) ** 2;
          cxy += wt * (a.data[k]! - mx) * (b.data[k]! - my);
        }
      }
      total += ((2 * mx * my + C1) * (2 * cxy + C2)) / ((mx * mx + my * my + C1) * (vx + vy + C2));
      count++;
    }
  }
  return total / count;
}

function textured(w: number, h: number, seed: number): GrayImage {
  return renderScene(w, h, texture(seed));
}

function map(img: GrayImage, f: (v: number) => number): GrayImage {
  const out = createGrayImage(img.width, img.height);
  for (let i = 0; i < img.data.length; i++) out.data[i] = f(img.data[i]!);
  return out;
}

describe('similarity metrics', () => {
  it('identical images: mse 0, psnr capped at 100 dB, ncc 1, ssim 1', () => {
    const a = textured(64, 48, 1);
    const s = compareImages(a, a);
    expect(s).toEqual({ mse: 0, psnr: PSNR_CAP_DB, ncc: 1, ssim: 1 });
    expect(JSON.parse(JSON.stringify(s)).psnr).toBe(100);
  });

  it('a constant offset d: mse = d^2 and psnr = 10 log10(255^2 / d^2); ncc stays 1', () => {
    const a = map(textured(40, 30, 2), Math.round);
    for (const d of [1, 3, 10]) {
      const b = map(a, (v) => v + d);
      expect(Math.abs(mse(a, b) - d * d)).toBeLessThanOrEqual(TOL_EXACT);
      expect(Math.abs(psnr(a, b) - 10 * Math.log10((255 * 255) / (d * d)))).toBeLessThanOrEqual(TOL_EXACT);
      expect(Math.abs(ncc(a, b) - 1)).toBeLessThanOrEqual(TOL_EXACT);
    }
  });

  it('an inverted image has ncc -1; gain and bias leave ncc at 1', () => {
    const a = textured(50, 40, 3);
    expect(Math.abs(ncc(a, map(a, (v) => 255 - v)) + 1)).toBeLessThanOrEqual(1e-6);
    expect(Math.abs(ncc(a, map(a, (v) => 0.5 * v + 40)) - 1)).toBeLessThanOrEqual(1e-6);
  });

  it('constant images: ncc 1 when equal, 0 otherwise; an empty mask gives NaN', () => {
    const c = createGrayImage(12, 12, new Float32Array(144).fill(7));
    const d = createGrayImage(12, 12, new Float32Array(144).fill(9));
    expect(ncc(c, c)).toBe(1);
    expect(ncc(c, d)).toBe(0);
    const none = new Uint8Array(144);
    expect(mse(c, d, none)).toBeNaN();
    expect(psnr(c, d, none)).toBeNaN();
    expect(ssim(c, d, none)).toBeNaN();
  });

  it('the mask restricts every metric to the valid pixels', () => {
    const w = 40;
    const h = 30;
    const a = textured(w, h, 4);
    const b = map(a, (v) => v);
    const mask = new Uint8Array(w * h).fill(1);
    // Spoil the left 12 columns of b and mark them invalid.
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < 12; x++) {
        b.data[y * w + x] = 255 - b.data[y * w + x]!;
        mask[y * w + x] = 0;
      }
    }
    const s = compareImages(a, b, mask);
    expect(s.mse).toBe(0);
    expect(s.psnr).toBe(PSNR_CAP_DB);
    expect(Math.abs(s.ncc - 1)).toBeLessThanOrEqual(1e-9);
    expect(Math.abs(s.ssim - 1)).toBeLessThanOrEqual(1e-9);
    expect(compareImages(a, b).ssim).toBeLessThan(0.9);
  });

  it('fast separable SSIM equals the slow direct one (no mask, and with a ragged mask)', () => {
    const w = 37;
    const h = 29;
    const a = textured(w, h, 5);
    const noise = createGaussian(createRng(6));
    const b = map(a, (v) => 0.8 * v + 20 + 12 * noise());
    expect(Math.abs(ssim(a, b) - slowSsim(a, b))).toBeLessThanOrEqual(TOL_SSIM_SLOW);
    const rng = createRng(7);
    const mask = new Uint8Array(w * h).fill(1);
    for (let k = 0; k < 6; k++) mask[Math.floor(rng() * w * h)] = 0;
    for (let y = 20; y < h; y++) for (let x = 0; x < 10; x++) mask[y * w + x] = 0;
    const ws = createSsimWorkspace(w, h);
    expect(Math.abs(ssim(a, b, mask, ws) - slowSsim(a, b, mask))).toBeLessThanOrEqual(TOL_SSIM_SLOW);
  });

  it('rejects images or masks of different sizes with a stable code', () => {
    const a = createGrayImage(10, 10);
    const b = createGrayImage(10, 11);
    expect(() => mse(a, b)).toThrow(InputError);
    expect(() => mse(a, b)).toThrow(/10x10 and 10x11/);
    expect(() => ncc(a, a, new Uint8Array(5))).toThrow(/Expected a mask of 100 bytes/);
  });

  const boat = oxfordBoatDir();
  it.skipIf(boat === null)('matches scikit-image / numpy on the real Oxford boat pair img1 vs img2', () => {
    const a = readPgm(join(boat!, 'img1.pgm'));
    const b = readPgm(join(boat!, 'img2.pgm'));
    const s = compareImages(a, b);
    expect(Math.abs(s.ssim - SKIMAGE_SSIM_BOAT_1_2)).toBeLessThanOrEqual(TOL_SKIMAGE);
    expect(Math.abs(s.mse - SKIMAGE_MSE_BOAT_1_2)).toBeLessThanOrEqual(1e-6 * SKIMAGE_MSE_BOAT_1_2);
    expect(Math.abs(s.psnr - SKIMAGE_PSNR_BOAT_1_2)).toBeLessThanOrEqual(1e-6);
    expect(Math.abs(s.ncc - NUMPY_NCC_BOAT_1_2)).toBeLessThanOrEqual(1e-6);
  });
});
