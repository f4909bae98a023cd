/**
 * Fourier-Mellin robust start: a similarity transform (rotation, isotropic scale, translation) between
 * two images, for rotations and scale changes far outside ECC's basin (any angle, scale about 0.5..2).
 *
 * What it computes: W = [s cos a, -s sin a, tx; s sin a, s cos a, ty; 0 0 1] mapping fixed pixel
 * coordinates to moving pixel coordinates (steady's convention), so moving(W p) ~ fixed(p).
 *
 * Method (Reddy & Chatterji, "An FFT-based technique for translation, rotation, and scale-invariant image
 * registration", IEEE TIP 5(8), 1996):
 * 1. Both images are area-downscaled, isotropically, so that their shorter side is `workSize` px, and the
 *    centre workSize x workSize square is kept, under a radial Hann window (rotation-invariant).
 * 2. Magnitude spectra (translation-invariant) are high-pass filtered with
 *    H = (1 - cos(pi u) cos(pi v)) (2 - cos(pi u) cos(pi v)), u, v in [-1/2, 1/2] cycles/px, which damps
 *    the strong low frequencies that carry little about rotation.
 * 3. With moving(A q) = fixed(q) for A = s R(a), |M|(k) = s^2 |F|(s R(-a) k): in log-polar coordinates
 *    (rho = ln |k|, theta) this is a shift by (-ln s, a). Resampling both spectra on a log-polar grid
 *    (theta over [0, pi), the spectrum being point-symmetric) and phase-correlating gives ln s and a.
 * 4. The angle is known modulo pi: both a and a + pi are tried. For each, moving is warped by the
 *    rotation-scale about the image centres, the remaining translation is found by phase correlation, and
 *    the normalised cross-correlation (NCC) of the aligned pair over its overlap picks the winner.
 * All estimation runs on the working square; the result is mapped back to full-resolution pixels.
 */
import { InputError } from '../errors.js';
import { createGrayImage, type GrayImage } from '../image/gray-image.js';
import { createResizer, type Resizer, resizeMatrixInto } from '../image/resize.js';
import { warpInto } from '../image/warp.js';
import { ncc } from '../metrics/similarity.js';
import { invertInto, type Mat3, multiplyInto } from '../motion/mat3.js';
import { fft2dInPlace, floorPowerOfTwo } from './fft.js';
import { type CorrelationCore, type CorrelationPeak, correlateArraysInto, createCorrelationCore } from './phase-correlation.js';

/** Working square side (px) when the images are large enough. */
export const DEFAULT_LOG_POLAR_SIZE = 256;
/** Smallest working side; below it (images under 32 px) no estimate is made. */
export const MIN_LOG_POLAR_SIZE = 32;

/** Options of `estimateLogPolarStart` / `createLogPolarEstimator`. */
export interface LogPolarOptions {
  /**
   * Side of the working square in pixels, a power of two (smaller if an image's shorter side is).
   * @default 256
   */
  readonly workSize?: number;
}

/** A similarity start found by the Fourier-Mellin method. */
export interface LogPolarStart {
  /** Fixed pixel coordinates -> moving pixel coordinates (3x3 row-major, third row 0 0 1). */
  readonly matrix: Mat3;
  /** Height of the log-polar (rotation/scale) correlation peak, 0..1 (see PhaseCorrelation.peak). */
  readonly peak: number;
  /** NCC of the two working images aligned by `matrix`, over their overlap (-1..1). */
  readonly ncc: number;
  /** Rotation angle a of `matrix` (radians, image axes: x right, y down), in (-pi, pi]. */
  readonly angleRad: number;
  /** Isotropic scale s of `matrix` (moving distances / fixed distances, full-resolution pixels). */
  readonly scale: number;
}

/** A reusable Fourier-Mellin estimator for one pair of image sizes. */
export interface LogPolarEstimator {
  readonly workSize: number;
  /**
   * Estimates the similarity W (fixed -> moving) or null when no estimate can be made (images under
   * 32 px). Unrelated images still give a matrix: judge it by `peak` and `ncc`.
   * @throws InputError E_IMAGE_SIZE when the images are not the sizes the estimator was made for
   */
  estimate(fixed: GrayImage, moving: GrayImage): LogPolarStart | null;
}

/** Isotropic downscale of one image size to a shorter side of n, and its full -> working matrix. */
interface Downscale {
  readonly resizer: Resizer | null;
  readonly image: GrayImage;
  /** Full-resolution pixel coords -> downscaled pixel coords. */
  readonly toWork: Mat3;
  /** Top-left of the centre n x n crop, in downscaled pixels. */
  readonly cropX: number;
  readonly cropY: number;
}

function makeDownscale(width: number, height: number, n: number): Downscale {
  const f = Math.min(width, height) / n;
  const dw = Math.max(n, Math.round(width / f));
  const dh = Math.max(n, Math.round(height / f));
  const same = dw === width && dh === height;
  const toWork = resizeMatrixInto(new Float64Array(9), width, height, dw, dh);
  return {
    resizer: same ? null : createResizer(width, height, dw, dh, 'area'),
    image: createGrayImage(dw, dh),
    toWork,
    cropX: Math.floor((dw - n) / 2),
    cropY: Math.floor((dh - n) / 2),
  };
}

/**
 * Makes an estimator for a fixed image of fixedWidth x fixedHeight and a moving image of
 * movingWidth x movingHeight (the same size when omitted).
 */
export function createLogPolarEstimator(
  fixedWidth: number,
  fixedHeight: number,
  movingWidth: number = fixedWidth,
  movingHeight: number = fixedHeight,
  options: LogPolarOptions = {},
): LogPolarEstimator {
  const minSide = Math.min(fixedWidth, fixedHeight, movingWidth, movingHeight);
  const n = Math.min(floorPowerOfTwo(Math.max(2, options.workSize ?? DEFAULT_LOG_POLAR_SIZE)), floorPowerOfTwo(Math.max(1, minSide)));
  const usable = n >= MIN_LOG_POLAR_SIZE;
  const dsF = makeDownscale(fixedWidth, fixedHeight, usable ? n : MIN_LOG_POLAR_SIZE);
  const dsM = makeDownscale(movingWidth, movingHeight, usable ? n : MIN_LOG_POLAR_SIZE);
  const side = usable ? n : MIN_LOG_POLAR_SIZE;

  // Spectra: one complex FFT holds both windowed crops.
  const spectrumCore = createCorrelationCore(side, side, false, false);
  const radial = radialWindow(side);
  const highPass = highPassFilter(side);
  const magF = new Float64Array(side * side);
  const magM = new Float64Array(side * side);

  // Log-polar grid: rows = theta (periodic, no window), columns = log radius.
  const nTheta = side;
  const nRho = side;
  const rMin = Math.max(2, side / 64);
  // Largest radius keeps every bilinear tap inside the n x n spectrum (index <= n - 1).
  const rMax = side / 2 - 1.5;
  const logStep = Math.log(rMax / rMin) / (nRho - 1);
  const lpTable = logPolarTable(side, nTheta, nRho, rMin, logStep);
  const lpF = new Float64Array(nTheta * nRho);
  const lpM = new Float64Array(nTheta * nRho);
  const lpCore = createCorrelationCore(nRho, nTheta, true, false);
  const shiftCore = createCorrelationCore(side, side, true, true);
  const peak: CorrelationPeak = { dx: 0, dy: 0, peak: 0 };
  const tPeak: CorrelationPeak = { dx: 0, dy: 0, peak: 0 };

  const cropF = createGrayImage(side, side);
  const cropM = createGrayImage(side, side);
  const warped = createGrayImage(side, side);
  const mask = new Uint8Array(side * side);
  const m0 = new Float64Array(9);
  const m1 = new Float64Array(9);
  const best = new Float64Array(9);
  const inv = new Float64Array(9);

  function prepare(ds: Downscale, img: GrayImage, crop: GrayImage): void {
    const src = ds.resizer === null ? img : ds.resizer.resizeInto(ds.image, img);
    const w = src.width;
    for (let y = 0; y < side; y++) {
      const srow = (y + ds.cropY) * w + ds.cropX;
      for (let x = 0; x < side; x++) crop.data[y * side + x] = src.data[srow + x] as number;
    }
  }

  /** Working-image W0 (downscaled fixed -> downscaled moving) for angle a, scale s about the crop centres. */
  function rotationAbout(out: Mat3, a: number, s: number): Mat3 {
    const c = s * Math.cos(a);
    const sn = s * Math.sin(a);
    const half = (side - 1) / 2;
    const cfx = dsF.cropX + half;
    const cfy = dsF.cropY + half;
    const cmx = dsM.cropX + half;
    const cmy = dsM.cropY + half;
    out[0] = c;
    out[1] = -sn;
    out[2] = cmx - c * cfx + sn * cfy;
    out[3] = sn;
    out[4] = c;
    out[5] = cmy - sn * cfx - c * cfy;
    out[6] = 0;
    out[7] = 0;
    out[8] = 1;
    return out;
  }

  /** Right-multiplies by the crop offset: crop pixel coords -> downscaled fixed coords -> ... */
  function fromCrop(out: Mat3, m: Mat3): Mat3 {
    const ox = dsF.cropX;
    const oy = dsF.cropY;
    out.set(m);
    out[2] = (m[0] as number) * ox + (m[1] as number) * oy + (m[2] as number);
    out[5] = (m[3] as number) * ox + (m[4] as number) * oy + (m[5] as number);
    out[8] = (m[6] as number) * ox + (m[7] as number) * oy + (m[8] as number);
    return out;
  }

  return {
    workSize: side,
    estimate(fixed, moving) {
      if (!usable) return null;
      if (fixed.width !== fixedWidth || fixed.height !== fixedHeight || moving.width !== movingWidth || moving.height !== movingHeight) {
        throw new InputError(
          'E_IMAGE_SIZE',
          `Expected images of ${fixedWidth}x${fixedHeight} and ${movingWidth}x${movingHeight} (the estimator's sizes) but received ${fixed.width}x${fixed.height} and ${moving.width}x${moving.height}`,
        );
      }
      prepare(dsF, fixed, cropF);
      prepare(dsM, moving, cropM);
      const movingWork = dsM.resizer === null ? moving : dsM.image;
      magnitudeSpectra(spectrumCore, cropF.data, cropM.data, radial, highPass, magF, magM);
      sampleLogPolar(lpTable, magF, lpF);
      sampleLogPolar(lpTable, magM, lpM);
      correlateArraysInto(peak, lpCore, lpF, lpM);
      if (!Number.isFinite(peak.dx) || !Number.isFinite(peak.dy)) return null;
      const scale = Math.exp(-peak.dx * logStep);
      const angle0 = (peak.dy * Math.PI) / nTheta;
      let bestScore = Number.NEGATIVE_INFINITY;
      for (const angle of [angle0, angle0 > 0 ? angle0 - Math.PI : angle0 + Math.PI]) {
        // Undo rotation and scale, then find the translation by phase correlation.
        rotationAbout(m0, angle, scale);
        fromCrop(m1, m0);
        warpInto(warped, movingWork, m1, { interpolation: 'bilinear', border: 'constant', borderValue: 0 });
        correlateArraysInto(tPeak, shiftCore, cropF.data, warped.data);
        // W_ds(P) = W0(P + d): compose the translation on the right.
        const dx = tPeak.dx;
        const dy = tPeak.dy;
        m0[2] = (m0[0] as number) * dx + (m0[1] as number) * dy + (m0[2] as number);
        m0[5] = (m0[3] as number) * dx + (m0[4] as number) * dy + (m0[5] as number);
        fromCrop(m1, m0);
        warpInto(warped, movingWork, m1, { interpolation: 'bilinear', validMask: mask });
        const score = ncc(cropF, warped, mask);
        if (score > bestScore) {
          bestScore = score;
          best.set(m0);
        }
      }
      if (!Number.isFinite(bestScore)) return null;
      // Full resolution: W = toWork_m^-1 * W_ds * toWork_f.
      if (invertInto(inv, dsM.toWork) === null) return null;
      multiplyInto(m1, best, dsF.toWork);
      const full = multiplyInto(m0, inv, m1);
      // The downscales are isotropic up to the rounding of their sizes: project onto the nearest
      // similarity, keeping where the fixed image centre goes.
      const p = ((full[0] as number) + (full[4] as number)) / 2;
      const q = ((full[3] as number) - (full[1] as number)) / 2;
      const cx = (fixedWidth - 1) / 2;
      const cy = (fixedHeight - 1) / 2;
      const ex = (full[0] as number) * cx + (full[1] as number) * cy + (full[2] as number);
      const ey = (full[3] as number) * cx + (full[4] as number) * cy + (full[5] as number);
      const matrix = Float64Array.of(p, -q, ex - p * cx + q * cy, q, p, ey - q * cx - p * cy, 0, 0, 1);
      if (!matrix.every(Number.isFinite)) return null;
      return { matrix, peak: peak.peak, ncc: bestScore, angleRad: Math.atan2(q, p), scale: Math.hypot(p, q) };
    },
  };
}

/**
 * Estimates the similarity W (fixed -> moving pixel coordinates) between two images by the Fourier-Mellin
 * method; null when the images are too small (shorter side under 32 px) or no overlap is found.
 * For repeated calls at one size, make one `createLogPolarEstimator` and reuse it.
 */
export function estimateLogPolarStart(fixed: GrayImage, moving: GrayImage, options: LogPolarOptions = {}): LogPolarStart | null {
  return createLogPolarEstimator(fixed.width, fixed.height, moving.width, moving.height, options).estimate(fixed, moving);
}

/** Radial Hann window over the inscribed disc of an n x n square (rotation-invariant apodisation). */
function radialWindow(n: number): Float64Array {
  const w = new Float64Array(n * n);
  const c = (n - 1) / 2;
  const R = n / 2;
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const r = Math.hypot(x - c, y - c);
      w[y * n + x] = r < R ? 0.5 + 0.5 * Math.cos((Math.PI * r) / R) : 0;
    }
  }
  return w;
}

/** Reddy-Chatterji high-pass on the centred spectrum (index (v + n/2) * n + (u + n/2)). */
function highPassFilter(n: number): Float64Array {
  const h = new Float64Array(n * n);
  for (let y = 0; y < n; y++) {
    const cy = Math.cos((Math.PI * (y - n / 2)) / n);
    for (let x = 0; x < n; x++) {
      const p = Math.cos((Math.PI * (x - n / 2)) / n) * cy;
      h[y * n + x] = (1 - p) * (2 - p);
    }
  }
  return h;
}

/**
 * Windowed magnitude spectra of two real n x n images with one complex FFT; written centred
 * (frequency (u, v) at index (v + n/2) * n + (u + n/2)) and high-pass filtered.
 */
function magnitudeSpectra(
  core: CorrelationCore,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  window: Float64Array,
  highPass: Float64Array,
  magA: Float64Array,
  magB: Float64Array,
): void {
  const n = core.width;
  const { re, im } = core;
  let sw = 0;
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < n * n; i++) {
    const w = window[i] as number;
    sw += w;
    sa += w * (a[i] as number);
    sb += w * (b[i] as number);
  }
  const ma = sa / sw;
  const mb = sb / sw;
  for (let i = 0; i < n * n; i++) {
    const w = window[i] as number;
    re[i] = w * ((a[i] as number) - ma);
    im[i] = w * ((b[i] as number) - mb);
  }
  fft2dInPlace(core.plan, re, im);
  const h = n / 2;
  for (let ky = 0; ky < n; ky++) {
    const my = ky === 0 ? 0 : n - ky;
    const cy = (ky + h) % n;
    for (let kx = 0; kx < n; kx++) {
      const mx = kx === 0 ? 0 : n - kx;
      const i = ky * n + kx;
      const j = my * n + mx;
      const zr = re[i] as number;
      const zi = im[i] as number;
      const wr = re[j] as number;
      const wi = im[j] as number;
      // |A| = |Z(k) + conj Z(-k)| / 2, |B| = |Z(k) - conj Z(-k)| / 2
      const o = cy * n + ((kx + h) % n);
      const hp = highPass[o] as number;
      magA[o] = 0.5 * Math.hypot(zr + wr, zi - wi) * hp;
      magB[o] = 0.5 * Math.hypot(zr - wr, zi + wi) * hp;
    }
  }
}

/** Bilinear sampling positions of the log-polar grid in the centred spectrum. */
interface LogPolarTable {
  readonly index: Int32Array;
  readonly fx: Float64Array;
  readonly fy: Float64Array;
  readonly n: number;
}

function logPolarTable(n: number, nTheta: number, nRho: number, rMin: number, logStep: number): LogPolarTable {
  const count = nTheta * nRho;
  const index = new Int32Array(count);
  const fx = new Float64Array(count);
  const fy = new Float64Array(count);
  const c = n / 2;
  for (let t = 0; t < nTheta; t++) {
    const theta = (Math.PI * t) / nTheta;
    const ct = Math.cos(theta);
    const st = Math.sin(theta);
    for (let j = 0; j < nRho; j++) {
      const r = rMin * Math.exp(j * logStep);
      const u = c + r * ct;
      const v = c + r * st;
      const x0 = Math.floor(u);
      const y0 = Math.floor(v);
      const k = t * nRho + j;
      index[k] = y0 * n + x0;
      fx[k] = u - x0;
      fy[k] = v - y0;
    }
  }
  return { index, fx, fy, n };
}

function sampleLogPolar(table: LogPolarTable, mag: Float64Array, out: Float64Array): void {
  const { index, fx, fy, n } = table;
  for (let k = 0; k < out.length; k++) {
    const i = index[k] as number;
    const ax = fx[k] as number;
    const ay = fy[k] as number;
    const top = (mag[i] as number) + ((mag[i + 1] as number) - (mag[i] as number)) * ax;
    const bot = (mag[i + n] as number) + ((mag[i + n + 1] as number) - (mag[i + n] as number)) * ax;
    out[k] = top + (bot - top) * ay;
  }
}
