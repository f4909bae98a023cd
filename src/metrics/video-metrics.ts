/**
 * Steadiness measures of a video, after Liu, Yuan, Tan and Sun, "Bundled camera paths for video
 * stabilization" (SIGGRAPH 2013), and the ITF of Morimoto and Chellappa (1998). Pure formulas over
 * inputs the caller measured (gray frames, frame-to-frame motions, input-to-output transforms):
 *
 * - ITF (inter-frame transformation fidelity): mean over consecutive pairs of PSNR(frame k-1, frame k)
 *   in dB on 8-bit gray levels, peak 255, over the whole frame, each pair capped at 100 dB.
 * - stability: the frame-to-frame motions accumulated into a camera path of the image centre
 *   (x px, y px, angle rad); for each component, the energy |X_j|^2 of its DFT in bins 1..5 over the
 *   energy in bins 1..floor(N/2) (DC excluded); the minimum of the three. 1 for a constant path
 *   (no energy at all): a path that does not move is as steady as it gets.
 * - cropping: with A the affine (2x2) part of the transform from each input frame to its output frame,
 *   the mean over frames of 1/sqrt(|det A|) (a 1.25 zoom gives 0.8).
 * - distortion: the minimum over frames of sigma_min(A) / sigma_max(A) (1 = no anisotropic distortion).
 *
 * Conventions: matrices 3x3 row-major (motion/mat3.ts); a frame-to-frame motion maps pixel coordinates of
 * frame k-1 to frame k.
 */
import type { Mat3 } from '../motion/mat3.js';

/** Each pair's PSNR is capped here, so identical frames give a number JSON can carry. */
export const ITF_PAIR_CAP_DB = 100;
/** Number of low-frequency DFT bins (1..5) in the stability score. */
export const STABILITY_LOW_BINS = 5;
/** A path component whose samples all lie within this of their mean counts as constant (px or rad). */
export const CONSTANT_PATH_TOL = 1e-9;

/**
 * PSNR (dB) between two equally long 8-bit gray buffers, peak 255, capped at ITF_PAIR_CAP_DB.
 * Identical buffers give the cap.
 */
export function psnr8(a: Uint8Array, b: Uint8Array): number {
  const n = a.length;
  let sse = 0;
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    sse += d * d;
  }
  if (sse === 0 || n === 0) return ITF_PAIR_CAP_DB;
  const mse = sse / n;
  return Math.min(ITF_PAIR_CAP_DB, 10 * Math.log10((255 * 255) / mse));
}

/**
 * ITF of a video fed frame by frame (8-bit gray frames as `ffmpeg -pix_fmt gray` gives them).
 * Keeps one previous frame; `add` copies what it needs, so the caller may reuse its buffer.
 */
export class ItfAccumulator {
  private prev: Uint8Array | null = null;
  private sum = 0;
  private pairs = 0;
  /** Per-pair PSNR, dB (pair k compares frame k with frame k+1). */
  readonly pairPsnr: number[] = [];

  /** Adds the next frame. All frames must have the same length. */
  add(gray: Uint8Array): void {
    if (this.prev !== null) {
      if (this.prev.length !== gray.length) throw new RangeError(`frame of ${gray.length} samples after frames of ${this.prev.length}`);
      const p = psnr8(this.prev, gray);
      this.pairPsnr.push(p);
      this.sum += p;
      this.pairs++;
      this.prev.set(gray);
    } else {
      this.prev = Uint8Array.from(gray);
    }
  }

  /** Number of consecutive pairs seen. */
  get pairCount(): number {
    return this.pairs;
  }

  /** Mean PSNR over the pairs (dB); NaN with fewer than two frames. */
  value(): number {
    return this.pairs > 0 ? this.sum / this.pairs : Number.NaN;
  }
}

/**
 * Accumulates frame-to-frame motions into the camera path of the image centre: path[0] = (0, 0, 0);
 * path[k] = path[k-1] + (m_k(c) - c, theta_k) with c = ((w-1)/2, (h-1)/2) and theta_k the angle of
 * m_k's linear part (atan2(m10 - m01, m00 + m11), its closest rotation). Returns three arrays of
 * length motions.length (motions[0], the identity of frame 0, is not used).
 */
export function cameraPathFromMotions(
  motions: readonly Mat3[],
  width: number,
  height: number,
): { x: Float64Array; y: Float64Array; angle: Float64Array } {
  const n = motions.length;
  const x = new Float64Array(n);
  const y = new Float64Array(n);
  const angle = new Float64Array(n);
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  for (let k = 1; k < n; k++) {
    const m = motions[k] as Mat3;
    const w = (m[6] as number) * cx + (m[7] as number) * cy + (m[8] as number);
    const px = ((m[0] as number) * cx + (m[1] as number) * cy + (m[2] as number)) / w;
    const py = ((m[3] as number) * cx + (m[4] as number) * cy + (m[5] as number)) / w;
    const theta = Math.atan2((m[3] as number) - (m[1] as number), (m[0] as number) + (m[4] as number));
    x[k] = (x[k - 1] as number) + (px - cx);
    y[k] = (y[k - 1] as number) + (py - cy);
    angle[k] = (angle[k - 1] as number) + theta;
  }
  return { x, y, angle };
}

/**
 * Share of a signal's energy in DFT bins 1..lowBins among bins 1..floor(N/2) (DC excluded).
 * Returns 1 for a constant signal (every sample within `constantTol` of the mean) and for N < 2.
 * Direct DFT over the needed bins, O(N^2 / 2): a 10-minute clip at 30 fps (18000 samples) takes about
 * a second.
 */
export function lowFrequencyEnergyRatio(signal: ArrayLike<number>, lowBins: number = STABILITY_LOW_BINS, constantTol: number = CONSTANT_PATH_TOL): number {
  const n = signal.length;
  if (n < 2) return 1;
  let mean = 0;
  for (let i = 0; i < n; i++) mean += signal[i] as number;
  mean /= n;
  let spread = 0;
  for (let i = 0; i < n; i++) spread = Math.max(spread, Math.abs((signal[i] as number) - mean));
  if (spread <= constantTol) return 1;
  // Twiddle table: cos/sin of 2*pi*t/N for t = 0..N-1; bin j uses index (j*i) mod N, exact phases.
  const cos = new Float64Array(n);
  const sin = new Float64Array(n);
  for (let t = 0; t < n; t++) {
    cos[t] = Math.cos((2 * Math.PI * t) / n);
    sin[t] = Math.sin((2 * Math.PI * t) / n);
  }
  const half = Math.floor(n / 2);
  let low = 0;
  let total = 0;
  for (let j = 1; j <= half; j++) {
    let re = 0;
    let im = 0;
    let idx = 0;
    for (let i = 0; i < n; i++) {
      const v = (signal[i] as number) - mean;
      re += v * (cos[idx] as number);
      im -= v * (sin[idx] as number);
      idx += j;
      if (idx >= n) idx -= n;
    }
    const e = re * re + im * im;
    total += e;
    if (j <= lowBins) low += e;
  }
  if (!(total > 0)) return 1;
  return low / total;
}

/** Stability of a camera path: per component and the minimum of the three (the score). */
export interface StabilityReport {
  /** min(x, y, angle), 0..1; higher is steadier. */
  readonly score: number;
  readonly x: number;
  readonly y: number;
  readonly angle: number;
}

/**
 * What counts as a constant path component. A measured path carries registration noise: a component
 * that never strays further than this from its mean did not move, and its ratio of noise energies
 * would be a random number, so it scores 1.
 */
export interface StabilityTolerance {
  /** For x and y, px. @default CONSTANT_PATH_TOL */
  readonly xyPx?: number;
  /** For the angle, rad. @default CONSTANT_PATH_TOL */
  readonly angleRad?: number;
}

/** The stability score of a camera path (see the file comment). */
export function stabilityScore(
  path: { readonly x: ArrayLike<number>; readonly y: ArrayLike<number>; readonly angle: ArrayLike<number> },
  tolerance: StabilityTolerance = {},
): StabilityReport {
  const x = lowFrequencyEnergyRatio(path.x, STABILITY_LOW_BINS, tolerance.xyPx ?? CONSTANT_PATH_TOL);
  const y = lowFrequencyEnergyRatio(path.y, STABILITY_LOW_BINS, tolerance.xyPx ?? CONSTANT_PATH_TOL);
  const angle = lowFrequencyEnergyRatio(path.angle, STABILITY_LOW_BINS, tolerance.angleRad ?? CONSTANT_PATH_TOL);
  return { score: Math.min(x, y, angle), x, y, angle };
}

/** Singular values (larger first) of the 2x2 matrix [[a, b], [c, d]], closed form. */
export function singularValues2x2(a: number, b: number, c: number, d: number): [number, number] {
  // sigma1,2 = (sqrt((a+d)^2 + (c-b)^2) +- sqrt((a-d)^2 + (b+c)^2)) / 2
  const s = Math.hypot(a + d, c - b);
  const t = Math.hypot(a - d, b + c);
  return [(s + t) / 2, Math.abs(s - t) / 2];
}

/** 1 / sqrt(|det A|) of the affine part A of an input-to-output transform: the share of the frame kept. */
export function frameCropping(inputToOutput: Mat3): number {
  const det = (inputToOutput[0] as number) * (inputToOutput[4] as number) - (inputToOutput[1] as number) * (inputToOutput[3] as number);
  return 1 / Math.sqrt(Math.abs(det));
}

/** sigma_min / sigma_max of the affine part of a transform (1 for a similarity; the same for its inverse). */
export function frameDistortion(transform: Mat3): number {
  const [s1, s2] = singularValues2x2(transform[0] as number, transform[1] as number, transform[3] as number, transform[4] as number);
  return s1 > 0 ? s2 / s1 : 0;
}

/** Cropping (mean) and distortion (minimum) over a clip's input-to-output transforms; null when empty. */
export function croppingAndDistortion(inputToOutput: readonly Mat3[]): { cropping: number; distortion: number } | null {
  if (inputToOutput.length === 0) return null;
  let sum = 0;
  let minD = Number.POSITIVE_INFINITY;
  for (const m of inputToOutput) {
    sum += frameCropping(m);
    minD = Math.min(minD, frameDistortion(m));
  }
  return { cropping: sum / inputToOutput.length, distortion: minD };
}
