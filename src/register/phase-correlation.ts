/**
 * Phase correlation: the translation between two images from the phase of their cross-power spectrum,
 * a robust start for ECC when the motion is too large for its basin (up to half the image, in theory;
 * reliably a quarter).
 *
 * What it computes: with F, M the spectra of the (windowed) fixed and moving images, the normalised
 * cross-power spectrum R = M conj(F) / |M conj(F)| is a pure phase ramp exp(-2 pi i k.d / N) when
 * moving(x + d) = fixed(x); its inverse transform is a peak at d. The result follows steady's convention:
 * W = [1 0 dx; 0 1 dy; 0 0 1] maps fixed pixel coordinates to moving pixel coordinates, moving(x + dx,
 * y + dy) ~ fixed(x, y).
 *
 * Steps: area-downscale both images to a power-of-two working size per axis (at most `maxWorkSize`, so the
 * two axes may scale differently; shifts are scaled back per axis); subtract the window-weighted mean and
 * apply a separable Hann window (against the edge discontinuities of the periodic FFT); one complex FFT
 * carries both real images (fixed in the real part, moving in the imaginary part, separated by Hermitian
 * symmetry); R is multiplied by a Gaussian low-pass, so that the correlation peak is a sampled Gaussian of
 * PEAK_SIGMA_PX working pixels, which makes a three-point Gaussian fit per axis an unbiased sub-pixel
 * estimator; one inverse FFT; the highest sample and its fit give (dx, dy); the fitted peak height,
 * divided by the height a perfect match gives, is the confidence `peak` (0..1).
 *
 * References: Kuglin & Hines, "The phase correlation image alignment method", 1975; the Gaussian-weighted
 * spectrum and peak fit follow the band-limited phase-only correlation idea of Takita et al., IEICE 2003.
 */
import { InputError } from '../errors.js';
import { createGrayImage, type GrayImage } from '../image/gray-image.js';
import { createResizer, type Resizer } from '../image/resize.js';
import { createFft2dPlan, type Fft2dPlan, fft2dInPlace, floorPowerOfTwo } from './fft.js';

/** Working side (px) used when the image is at least this large. */
export const DEFAULT_MAX_WORK_SIZE = 256;
/** Smallest image side (px) phase correlation accepts. */
export const MIN_PHASE_SIDE_PX = 8;
/**
 * Sigma (working px) of the Gaussian the correlation peak is shaped into. At 1 px the spectral Gaussian is
 * cut at the Nyquist frequency while still at 0.7% and the peak is no longer Gaussian (sub-pixel bias up
 * to 0.03 px); at 1.5 px the bias is under 0.01 px, and peaks of separate motions stay apart.
 */
export const PEAK_SIGMA_PX = 1.5;

/** Shifts (working px) under which the overlap-window refinement is skipped. */
export const REFINE_MIN_SHIFT_PX = 2;

/** Options of `phaseCorrelate` / `createPhaseCorrelator`. */
export interface PhaseCorrelationOptions {
  /**
   * Largest working side in pixels, a power of two; each axis uses the largest power of two that is
   * <= both this and the image side. Larger is more precise and slower.
   * @default 256
   */
  readonly maxWorkSize?: number;
}

/** The translation found by phase correlation. */
export interface PhaseCorrelation {
  /** Shift in x, pixels: moving(x + dx, y + dy) ~ fixed(x, y). */
  dx: number;
  /** Shift in y, pixels. */
  dy: number;
  /**
   * Height of the correlation peak, 0..1: 1 for a perfect circular shift; a textured image against a
   * shifted, noisy copy of itself gives about 0.9; unrelated images give 0.05..0.15 at the default
   * working size (more on small images, about 0.2 at 128x128). Treat < 0.25 as unreliable.
   */
  peak: number;
}

/** A phase-correlation peak in the working grid (before scaling back). */
export interface CorrelationPeak {
  /** Shift along x in working pixels, in [-width/2, width/2). */
  dx: number;
  /** Shift along y in working pixels. */
  dy: number;
  /** Normalised peak height, 0..1. */
  peak: number;
}

/**
 * The FFT part of phase correlation for one power-of-two grid: plan, buffers, windows and the Gaussian
 * peak shaping. Shared by the translation correlator and the log-polar (rotation/scale) estimator.
 */
export interface CorrelationCore {
  readonly width: number;
  readonly height: number;
  readonly plan: Fft2dPlan;
  readonly re: Float64Array;
  readonly im: Float64Array;
  /** Window along x and y (all ones along an axis that is periodic, e.g. an angle). */
  readonly windowX: Float64Array;
  readonly windowY: Float64Array;
  /** Gaussian spectral weights along x and y (signed frequency). */
  readonly gaussX: Float64Array;
  readonly gaussY: Float64Array;
  /** Correlation value of a perfect match at the peak: mean of the Gaussian weights. */
  readonly perfectPeak: number;
  /** Scratch windows of the refining pass (fixed x, fixed y, moving x, moving y). */
  readonly refineWindows: readonly [Float64Array, Float64Array, Float64Array, Float64Array];
  /** Whether each axis is windowed (false: periodic axis). */
  readonly windowedX: boolean;
  readonly windowedY: boolean;
}

/** Periodic Hann window of n samples: 0.5 - 0.5 cos(2 pi (i + 0.5) / n), never exactly zero. */
function hann(n: number): Float64Array {
  const w = new Float64Array(n);
  for (let i = 0; i < n; i++) w[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * (i + 0.5)) / n);
  return w;
}

function gaussianSpectrum(n: number, sigmaPx: number): Float64Array {
  const g = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const f = (k < n / 2 ? k : k - n) / n;
    g[k] = Math.exp(-2 * Math.PI * Math.PI * sigmaPx * sigmaPx * f * f);
  }
  return g;
}

/**
 * Makes a correlation core for a width x height grid (powers of two).
 * @param windowX apply a Hann window along x (false for a periodic axis)
 * @param windowY apply a Hann window along y
 */
export function createCorrelationCore(width: number, height: number, windowX = true, windowY = true): CorrelationCore {
  const gaussX = gaussianSpectrum(width, PEAK_SIGMA_PX);
  const gaussY = gaussianSpectrum(height, PEAK_SIGMA_PX);
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < width; i++) sx += gaussX[i] as number;
  for (let i = 0; i < height; i++) sy += gaussY[i] as number;
  return {
    width,
    height,
    plan: createFft2dPlan(width, height),
    re: new Float64Array(width * height),
    im: new Float64Array(width * height),
    windowX: windowX ? hann(width) : new Float64Array(width).fill(1),
    windowY: windowY ? hann(height) : new Float64Array(height).fill(1),
    gaussX,
    gaussY,
    // The mean is removed before the transform, so the DC term never contributes.
    perfectPeak: (sx * sy - 1) / (width * height),
    refineWindows: [new Float64Array(width), new Float64Array(height), new Float64Array(width), new Float64Array(height)],
    windowedX: windowX,
    windowedY: windowY,
  };
}

/** Writes (v - weighted mean) * window of one image into `dst` (the real or imaginary buffer). */
function loadWindowed(
  core: CorrelationCore,
  src: ArrayLike<number>,
  dst: Float64Array,
  windowX: Float64Array,
  windowY: Float64Array,
): void {
  const { width, height } = core;
  let sw = 0;
  let swv = 0;
  for (let y = 0; y < height; y++) {
    const wy = windowY[y] as number;
    const row = y * width;
    for (let x = 0; x < width; x++) {
      const w = wy * (windowX[x] as number);
      sw += w;
      swv += w * (src[row + x] as number);
    }
  }
  // Removing the windowed mean keeps the DC term (and its leakage) out of the spectrum.
  const mean = sw > 0 ? swv / sw : 0;
  for (let y = 0; y < height; y++) {
    const wy = windowY[y] as number;
    const row = y * width;
    for (let x = 0; x < width; x++) dst[row + x] = wy * (windowX[x] as number) * ((src[row + x] as number) - mean);
  }
}

/**
 * Hann windows over the overlap of two signals of n samples shifted by d (moving(x + d) = fixed(x)):
 * the fixed window covers [max(0, -d), max(0, -d) + n - |d|), the moving one the same interval moved by d,
 * so both weight the same scene points equally. Outside the overlap they are 0.
 */
function overlapWindows(n: number, d: number, fixedOut: Float64Array, movingOut: Float64Array): void {
  const len = n - Math.abs(d);
  const a = Math.max(0, -d);
  for (let x = 0; x < n; x++) {
    const u = x + 0.5 - a; // position inside the fixed window, in [0, len) when inside
    fixedOut[x] = u > 0 && u < len ? 0.5 - 0.5 * Math.cos((2 * Math.PI * u) / len) : 0;
    const v = x + 0.5 - a - d;
    movingOut[x] = v > 0 && v < len ? 0.5 - 0.5 * Math.cos((2 * Math.PI * v) / len) : 0;
  }
}

/**
 * Phase correlation of two width x height arrays on the core's grid: `peakOut` receives the shift d
 * (working pixels, moving(x + d) ~ fixed(x), wrapped to [-n/2, n/2)) and the normalised peak height.
 * With `refine`, a second pass windows both arrays over their overlap at the first estimate, so the
 * windows move with the content: this removes the pull of fixed windows towards zero shift (about 0.5%
 * of the shift otherwise). Returns `peakOut`. After the call, `core.re` holds the correlation surface.
 */
export function correlateArraysInto(
  peakOut: CorrelationPeak,
  core: CorrelationCore,
  fixed: ArrayLike<number>,
  moving: ArrayLike<number>,
  refine = true,
): CorrelationPeak {
  loadWindowed(core, fixed, core.re, core.windowX, core.windowY);
  loadWindowed(core, moving, core.im, core.windowX, core.windowY);
  correlateLoaded(peakOut, core);
  if (!refine || !(core.windowedX || core.windowedY)) return peakOut;
  const { width: nx, height: ny } = core;
  const dx = peakOut.dx;
  const dy = peakOut.dy;
  // The pull towards zero is proportional to the shift: under REFINE_MIN_SHIFT_PX it is below 0.01 px
  // and the second pass is skipped (the common case for consecutive video frames).
  if (Math.abs(dx) < REFINE_MIN_SHIFT_PX && Math.abs(dy) < REFINE_MIN_SHIFT_PX) return peakOut;
  const [fxw, fyw, mxw, myw] = core.refineWindows;
  if (core.windowedX) overlapWindows(nx, dx, fxw, mxw);
  else {
    fxw.fill(1);
    mxw.fill(1);
  }
  if (core.windowedY) overlapWindows(ny, dy, fyw, myw);
  else {
    fyw.fill(1);
    myw.fill(1);
  }
  loadWindowed(core, fixed, core.re, fxw, fyw);
  loadWindowed(core, moving, core.im, mxw, myw);
  const peak0 = peakOut.peak;
  correlateLoaded(peakOut, core);
  // The second pass must confirm the first peak; if it jumped elsewhere, keep the first estimate.
  if (Math.abs(peakOut.dx - dx) > 1 || Math.abs(peakOut.dy - dy) > 1) {
    peakOut.dx = dx;
    peakOut.dy = dy;
    peakOut.peak = peak0;
  }
  return peakOut;
}

/** The spectral product, inverse transform and peak fit, on arrays already windowed into re (fixed), im (moving). */
function correlateLoaded(peakOut: CorrelationPeak, core: CorrelationCore): CorrelationPeak {
  const { width: nx, height: ny, re, im, gaussX, gaussY } = core;
  fft2dInPlace(core.plan, re, im);
  // Z = A + iB with A, B real-signal spectra: A(k) = (Z(k) + conj Z(-k)) / 2, B(k) = (Z(k) - conj Z(-k)) / 2i.
  // P = B conj(A) / |B conj(A)| * G; P(-k) = conj P(k), so each (k, -k) pair is done once.
  for (let ky = 0; ky < ny; ky++) {
    const my = ky === 0 ? 0 : ny - ky;
    const gy = gaussY[ky] as number;
    for (let kx = 0; kx < nx; kx++) {
      const mx = kx === 0 ? 0 : nx - kx;
      const i = ky * nx + kx;
      const j = my * nx + mx;
      if (j < i) continue;
      const zr = re[i] as number;
      const zi = im[i] as number;
      const wr = re[j] as number;
      const wi = im[j] as number;
      const ar = 0.5 * (zr + wr);
      const ai = 0.5 * (zi - wi);
      const br = 0.5 * (zi + wi);
      const bi = 0.5 * (wr - zr);
      const pr = br * ar + bi * ai;
      const pi = bi * ar - br * ai;
      const mag = Math.sqrt(pr * pr + pi * pi);
      const g = gy * (gaussX[kx] as number);
      const s = mag > 1e-12 ? g / mag : 0;
      re[i] = pr * s;
      im[i] = pi * s;
      if (j !== i) {
        re[j] = pr * s;
        im[j] = -pi * s;
      }
    }
  }
  fft2dInPlace(core.plan, re, im, true);
  // Highest sample.
  let best = 0;
  let bestV = Number.NEGATIVE_INFINITY;
  const n = nx * ny;
  for (let i = 0; i < n; i++) {
    const v = re[i] as number;
    if (v > bestV) {
      bestV = v;
      best = i;
    }
  }
  const px = best % nx;
  const py = (best - px) / nx;
  const c = bestV;
  const xl = re[py * nx + ((px + nx - 1) % nx)] as number;
  const xr = re[py * nx + ((px + 1) % nx)] as number;
  const yu = re[((py + ny - 1) % ny) * nx + px] as number;
  const yd = re[((py + 1) % ny) * nx + px] as number;
  const fx = fitPeak(xl, c, xr, fitScratch);
  const gainX = fitScratch[0] as number;
  const fy = fitPeak(yu, c, yd, fitScratch);
  const gainY = fitScratch[0] as number;
  let dx = px + fx;
  let dy = py + fy;
  if (dx >= nx / 2) dx -= nx;
  if (dy >= ny / 2) dy -= ny;
  peakOut.dx = dx;
  peakOut.dy = dy;
  const h = (c * gainX * gainY) / core.perfectPeak;
  peakOut.peak = Number.isFinite(h) ? Math.min(1, Math.max(0, h)) : 0;
  return peakOut;
}

const fitScratch = new Float64Array(1);

/**
 * Sub-sample offset of a peak from three samples (left, centre, right), in [-0.5, 0.5]. A Gaussian fit
 * (parabola through the logs) when all three are positive, else a parabola through the values.
 * gainOut[0] receives fitted height / centre sample (>= 1).
 */
function fitPeak(l: number, c: number, r: number, gainOut: Float64Array): number {
  gainOut[0] = 1;
  if (!(c > 0)) return 0;
  let a: number;
  let b: number;
  let c0: number;
  let logFit = false;
  if (l > 0 && r > 0) {
    a = Math.log(l);
    b = Math.log(c);
    c0 = Math.log(r);
    logFit = true;
  } else {
    a = l;
    b = c;
    c0 = r;
  }
  const den = a - 2 * b + c0;
  if (!(den < 0)) return 0;
  let d = (0.5 * (a - c0)) / den;
  if (d > 0.5) d = 0.5;
  else if (d < -0.5) d = -0.5;
  // Height of the fitted parabola at d, above the centre sample.
  const rise = -0.125 * ((a - c0) * (a - c0)) / den;
  gainOut[0] = logFit ? Math.exp(Math.min(rise, 1)) : 1 + Math.max(0, rise) / c;
  return d;
}

/** A reusable phase correlator for one image size: resamplers, FFT plan and buffers made once. */
export interface PhaseCorrelator {
  /** Image size it accepts. */
  readonly width: number;
  readonly height: number;
  /** Working grid (powers of two). */
  readonly workWidth: number;
  readonly workHeight: number;
  /**
   * The translation from `fixed` to `moving` (both width x height). Writes into `out` when given
   * (no allocation), else returns a new object.
   */
  correlate(fixed: GrayImage, moving: GrayImage, out?: PhaseCorrelation): PhaseCorrelation;
}

function checkImage(name: string, img: GrayImage, width: number, height: number): void {
  if (img.width !== width || img.height !== height) {
    throw new InputError(
      'E_IMAGE_SIZE',
      `Expected ${name} of ${width}x${height} pixels (the correlator's size) but received ${img.width}x${img.height}`,
    );
  }
}

/**
 * Makes a phase correlator for width x height images (each side >= MIN_PHASE_SIDE_PX).
 * @throws InputError E_IMAGE_TOO_SMALL for a side under MIN_PHASE_SIDE_PX
 */
export function createPhaseCorrelator(width: number, height: number, options: PhaseCorrelationOptions = {}): PhaseCorrelator {
  if (!(width >= MIN_PHASE_SIDE_PX && height >= MIN_PHASE_SIDE_PX)) {
    throw new InputError(
      'E_IMAGE_TOO_SMALL',
      `Expected images of at least ${MIN_PHASE_SIDE_PX}x${MIN_PHASE_SIDE_PX} pixels for phase correlation but received ${width}x${height}`,
    );
  }
  const maxWork = floorPowerOfTwo(Math.max(2, options.maxWorkSize ?? DEFAULT_MAX_WORK_SIZE));
  const nx = Math.min(maxWork, floorPowerOfTwo(width));
  const ny = Math.min(maxWork, floorPowerOfTwo(height));
  const core = createCorrelationCore(nx, ny);
  const same = nx === width && ny === height;
  const resizer: Resizer | null = same ? null : createResizer(width, height, nx, ny, 'area');
  const fixedWork = createGrayImage(nx, ny);
  const movingWork = createGrayImage(nx, ny);
  const peak: CorrelationPeak = { dx: 0, dy: 0, peak: 0 };
  // Working pixel pitch in source pixels, per axis (pixel-centre mapping of an area resize).
  const pitchX = width / nx;
  const pitchY = height / ny;
  return {
    width,
    height,
    workWidth: nx,
    workHeight: ny,
    correlate(fixed, moving, out) {
      checkImage('fixed', fixed, width, height);
      checkImage('moving', moving, width, height);
      let a: ArrayLike<number> = fixed.data;
      let b: ArrayLike<number> = moving.data;
      if (resizer !== null) {
        a = resizer.resizeInto(fixedWork, fixed).data;
        b = resizer.resizeInto(movingWork, moving).data;
      }
      correlateArraysInto(peak, core, a, b);
      const res = out ?? { dx: 0, dy: 0, peak: 0 };
      res.dx = peak.dx * pitchX;
      res.dy = peak.dy * pitchY;
      res.peak = peak.peak;
      return res;
    },
  };
}

/**
 * The translation between two same-size images by phase correlation: moving(x + dx, y + dy) ~ fixed(x, y),
 * i.e. W = [1 0 dx; 0 1 dy; 0 0 1] (fixed -> moving pixel coordinates). For a video, make one
 * `createPhaseCorrelator` and reuse it instead.
 */
export function phaseCorrelate(fixed: GrayImage, moving: GrayImage, options: PhaseCorrelationOptions = {}): PhaseCorrelation {
  return createPhaseCorrelator(fixed.width, fixed.height, options).correlate(fixed, moving);
}
