/**
 * Image similarity on gray levels 0..255, over the valid overlap of two same-size images:
 * - MSE: mean squared difference, in gray levels squared;
 * - PSNR: 10 log10(255^2 / MSE) dB, capped at PSNR_CAP_DB (identical images give the cap, a number JSON
 *   can carry);
 * - NCC: zero-mean normalised cross-correlation, -1..1 (invariant to gain and bias);
 * - SSIM: structural similarity of Wang, Bovik, Sheikh & Simoncelli, "Image quality assessment: from
 *   error visibility to structural similarity", IEEE TIP 13(4), 2004: local statistics under an 11x11
 *   Gaussian window (sigma 1.5, weights normalised to sum 1, population (not sample) covariances),
 *   K1 = 0.01, K2 = 0.03, L = 255, averaged over the window centres whose whole window is valid. This
 *   is the same number as scikit-image's structural_similarity(gaussian_weights=True, sigma=1.5,
 *   use_sample_covariance=False, data_range=255), which also averages only centres >= 5 px from the edge.
 *
 * Masks: an optional Uint8Array of width*height, nonzero = valid pixel (e.g. the valid mask of a warp).
 * A statistic with no valid pixel (or SSIM with no wholly valid window) is NaN.
 */
import { InputError } from '../errors.js';
import type { GrayImage } from '../image/gray-image.js';

/** PSNR of identical images (dB); also the upper bound of every PSNR returned. */
export const PSNR_CAP_DB = 100;
/** Peak gray level used by PSNR and SSIM. */
export const PEAK_GRAY = 255;
/** SSIM window radius (px): the window is 2 * radius + 1 = 11 px wide. */
export const SSIM_RADIUS_PX = 5;
/** SSIM Gaussian window sigma (px). */
export const SSIM_SIGMA_PX = 1.5;
/** SSIM stabilising constant C1 = (K1 L)^2 with K1 = 0.01, L = 255. */
export const SSIM_C1 = (0.01 * PEAK_GRAY) ** 2;
/** SSIM stabilising constant C2 = (K2 L)^2 with K2 = 0.03, L = 255. */
export const SSIM_C2 = (0.03 * PEAK_GRAY) ** 2;

/** All four scores of `compareImages`. */
export interface SimilarityScores {
  /** Mean squared error, gray levels squared. */
  readonly mse: number;
  /** Peak signal-to-noise ratio, dB, at most PSNR_CAP_DB. */
  readonly psnr: number;
  /** Zero-mean normalised cross-correlation, -1..1. */
  readonly ncc: number;
  /** Mean structural similarity, -1..1 (1 = identical). */
  readonly ssim: number;
}

function checkSizes(a: GrayImage, b: GrayImage, mask: Uint8Array | undefined): void {
  if (a.width !== b.width || a.height !== b.height) {
    throw new InputError(
      'E_IMAGE_SIZE',
      `Expected two images of the same size to compare but received ${a.width}x${a.height} and ${b.width}x${b.height}`,
    );
  }
  if (mask !== undefined && mask.length !== a.width * a.height) {
    throw new InputError(
      'E_MASK_SIZE',
      `Expected a mask of ${a.width * a.height} bytes (${a.width}x${a.height}) but received ${mask.length}`,
    );
  }
}

/** Mean squared error over the valid pixels, in gray levels squared (NaN when none is valid). */
export function mse(a: GrayImage, b: GrayImage, mask?: Uint8Array): number {
  checkSizes(a, b, mask);
  const da = a.data;
  const db = b.data;
  let sum = 0;
  let n = 0;
  for (let i = 0; i < da.length; i++) {
    if (mask !== undefined && mask[i] === 0) continue;
    const d = (da[i] as number) - (db[i] as number);
    sum += d * d;
    n++;
  }
  return n === 0 ? Number.NaN : sum / n;
}

/** PSNR (dB, peak 255) from an MSE: 10 log10(255^2 / mse), capped at PSNR_CAP_DB (so mse 0 gives the cap). */
export function psnrFromMse(meanSquaredError: number): number {
  if (Number.isNaN(meanSquaredError)) return Number.NaN;
  if (meanSquaredError <= 0) return PSNR_CAP_DB;
  return Math.min(PSNR_CAP_DB, 10 * Math.log10((PEAK_GRAY * PEAK_GRAY) / meanSquaredError));
}

/** Peak signal-to-noise ratio over the valid pixels, dB (peak 255, capped at PSNR_CAP_DB). */
export function psnr(a: GrayImage, b: GrayImage, mask?: Uint8Array): number {
  return psnrFromMse(mse(a, b, mask));
}

/**
 * Zero-mean normalised cross-correlation over the valid pixels, -1..1. When either image is constant
 * over the valid pixels the correlation is undefined: it returns 1 if the two are equal there, else 0.
 * NaN when no pixel is valid.
 */
export function ncc(a: GrayImage, b: GrayImage, mask?: Uint8Array): number {
  checkSizes(a, b, mask);
  const da = a.data;
  const db = b.data;
  let sa = 0;
  let sb = 0;
  let n = 0;
  for (let i = 0; i < da.length; i++) {
    if (mask !== undefined && mask[i] === 0) continue;
    sa += da[i] as number;
    sb += db[i] as number;
    n++;
  }
  if (n === 0) return Number.NaN;
  const ma = sa / n;
  const mb = sb / n;
  // Second pass on centred values: no cancellation from subtracting large sums.
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  let equal = true;
  for (let i = 0; i < da.length; i++) {
    if (mask !== undefined && mask[i] === 0) continue;
    const va = da[i] as number;
    const vb = db[i] as number;
    if (va !== vb) equal = false;
    const x = va - ma;
    const y = vb - mb;
    sab += x * y;
    saa += x * x;
    sbb += y * y;
  }
  if (saa === 0 || sbb === 0) return equal ? 1 : 0;
  const r = sab / Math.sqrt(saa * sbb);
  return Math.min(1, Math.max(-1, r));
}

/** Buffers for SSIM at one image size; reuse across calls to avoid allocation. */
export interface SsimWorkspace {
  readonly width: number;
  readonly height: number;
  /** Row-filtered a, b, a^2, b^2, ab, each width*height. */
  readonly rows: readonly [Float64Array, Float64Array, Float64Array, Float64Array, Float64Array];
  /** Per pixel: 1 when the 11-px horizontal run centred there is wholly valid. */
  readonly runValid: Uint8Array;
  /** The 11 normalised Gaussian weights. */
  readonly kernel: Float64Array;
}

/** The normalised 1-D SSIM Gaussian window (11 taps, sigma 1.5). */
export function ssimKernel(): Float64Array {
  const k = new Float64Array(2 * SSIM_RADIUS_PX + 1);
  let sum = 0;
  for (let i = -SSIM_RADIUS_PX; i <= SSIM_RADIUS_PX; i++) {
    const v = Math.exp(-(i * i) / (2 * SSIM_SIGMA_PX * SSIM_SIGMA_PX));
    k[i + SSIM_RADIUS_PX] = v;
    sum += v;
  }
  for (let i = 0; i < k.length; i++) k[i] = (k[i] as number) / sum;
  return k;
}

/** Makes the SSIM buffers for width x height images. */
export function createSsimWorkspace(width: number, height: number): SsimWorkspace {
  const n = width * height;
  return {
    width,
    height,
    rows: [new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n), new Float64Array(n)],
    runValid: new Uint8Array(n),
    kernel: ssimKernel(),
  };
}

/**
 * Mean SSIM (Wang et al. 2004; see the file comment) over window centres whose 11x11 window is wholly
 * valid; NaN when there is none (an image under 11x11, or a mask with no such window).
 * Separable: a row pass of the five local sums, then a column pass at each centre.
 * @param workspace buffers for this size (made when absent or of another size)
 */
export function ssim(a: GrayImage, b: GrayImage, mask?: Uint8Array, workspace?: SsimWorkspace): number {
  checkSizes(a, b, mask);
  const { width: w, height: h } = a;
  const R = SSIM_RADIUS_PX;
  if (w < 2 * R + 1 || h < 2 * R + 1) return Number.NaN;
  const ws = workspace !== undefined && workspace.width === w && workspace.height === h ? workspace : createSsimWorkspace(w, h);
  const [ra, rb, raa, rbb, rab] = ws.rows;
  const k = ws.kernel;
  const runValid = ws.runValid;
  const da = a.data;
  const db = b.data;
  const taps = 2 * R + 1;
  // Row pass: centres x in [R, w-R), all rows.
  for (let y = 0; y < h; y++) {
    const row = y * w;
    // Count of invalid pixels in the current run, slid along the row.
    let bad = 0;
    if (mask !== undefined) for (let t = 0; t < taps; t++) if (mask[row + t] === 0) bad++;
    for (let x = R; x < w - R; x++) {
      if (mask !== undefined) {
        if (x > R) {
          if (mask[row + x - R - 1] === 0) bad--;
          if (mask[row + x + R] === 0) bad++;
        }
        runValid[row + x] = bad === 0 ? 1 : 0;
      }
      let s1 = 0;
      let s2 = 0;
      let s11 = 0;
      let s22 = 0;
      let s12 = 0;
      const base = row + x - R;
      for (let t = 0; t < taps; t++) {
        const g = k[t] as number;
        const va = da[base + t] as number;
        const vb = db[base + t] as number;
        const gva = g * va;
        const gvb = g * vb;
        s1 += gva;
        s2 += gvb;
        s11 += gva * va;
        s22 += gvb * vb;
        s12 += gva * vb;
      }
      ra[row + x] = s1;
      rb[row + x] = s2;
      raa[row + x] = s11;
      rbb[row + x] = s22;
      rab[row + x] = s12;
    }
  }
  // Column pass at each centre, SSIM map accumulated on the fly.
  let total = 0;
  let count = 0;
  for (let y = R; y < h - R; y++) {
    for (let x = R; x < w - R; x++) {
      if (mask !== undefined) {
        let ok = true;
        for (let t = -R; t <= R; t++) {
          if (runValid[(y + t) * w + x] === 0) {
            ok = false;
            break;
          }
        }
        if (!ok) continue;
      }
      let m1 = 0;
      let m2 = 0;
      let e11 = 0;
      let e22 = 0;
      let e12 = 0;
      let i = (y - R) * w + x;
      for (let t = 0; t < taps; t++, i += w) {
        const g = k[t] as number;
        m1 += g * (ra[i] as number);
        m2 += g * (rb[i] as number);
        e11 += g * (raa[i] as number);
        e22 += g * (rbb[i] as number);
        e12 += g * (rab[i] as number);
      }
      const v1 = e11 - m1 * m1;
      const v2 = e22 - m2 * m2;
      const c12 = e12 - m1 * m2;
      total += ((2 * m1 * m2 + SSIM_C1) * (2 * c12 + SSIM_C2)) / ((m1 * m1 + m2 * m2 + SSIM_C1) * (v1 + v2 + SSIM_C2));
      count++;
    }
  }
  return count === 0 ? Number.NaN : total / count;
}

/**
 * MSE, PSNR, NCC and SSIM of two same-size images over the valid pixels (see the file comment).
 * @param mask optional, width*height, nonzero = valid
 * @param workspace optional SSIM buffers for this size
 * @throws InputError E_IMAGE_SIZE / E_MASK_SIZE when sizes differ
 */
export function compareImages(a: GrayImage, b: GrayImage, mask?: Uint8Array, workspace?: SsimWorkspace): SimilarityScores {
  const m = mse(a, b, mask);
  return { mse: m, psnr: psnrFromMse(m), ncc: ncc(a, b, mask), ssim: ssim(a, b, mask, workspace) };
}
