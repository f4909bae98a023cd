/**
 * Gaussian path smoothing with a bounded look-ahead.
 *
 * The smoothed sample k is the value at k of the straight line fitted, by least squares with Gaussian
 * weights w_j = exp(-(j - k)^2 / (2 sigma^2)), to the raw samples j in [k - radius, k + lookahead] that
 * exist (the clip's ends cut the window). With a symmetric window this is the Gaussian weighted mean; where
 * the window is one-sided (the first and last frames, or a look-ahead shorter than the radius) the line
 * removes the lag a plain weighted mean would have on a steady pan, so the ends are neither pulled toward
 * zero nor toward the window's centre (a local linear regression; e.g. W. S. Cleveland, "Robust locally
 * weighted regression and smoothing scatterplots", JASA 1979).
 *
 * sigma = 2 radius / 3: the weights at the window's edge are 0.32 of the centre's. A narrower Gaussian
 * (sigma = radius / 2) lets through more of the 0.5-2 Hz shake a 31-frame window should remove (on the
 * anchors' synthetic clip it leaves 0.83 px of high-frequency jitter where sigma = 2r/3 leaves 0.69 px);
 * a box (the limit of a wide sigma) has side lobes that pass part of the faster shake.
 *
 * Cost per frame: 5 sums over the window for each of the 4 path numbers. Memory: a ring of the newest
 * 2 radius + 2 raw samples (it grows if pulls fall behind pushes).
 */
import { PATH_DIMS, PathBuffer } from './trajectory.js';
import type { PathSmoother } from './smoother.js';

/** sigma of the Gaussian weights for a radius, frames. */
export function gaussianSigma(radius: number): number {
  return Math.max(0.5, (2 * radius) / 3);
}

/** Writes w[d] = exp(-d^2 / (2 sigma^2)), d = 0..radius, into a (possibly new) array and returns it. */
export function gaussianWeights(radius: number, out?: Float64Array): Float64Array {
  const w = out !== undefined && out.length >= radius + 1 ? out : new Float64Array(radius + 1);
  const sigma = gaussianSigma(radius);
  for (let d = 0; d <= radius; d++) w[d] = Math.exp((-0.5 * d * d) / (sigma * sigma));
  return w;
}

/**
 * The local linear Gaussian fit at frame k over the held frames [lo, hi] of src (see the file comment),
 * weights w[|j - k|] (length > max(k - lo, hi - k)); writes the PATH_DIMS numbers into out[o..].
 */
export function gaussianFitAt(src: PathBuffer, k: number, lo: number, hi: number, w: Float64Array, out: Float64Array, o: number): Float64Array {
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  for (let j = lo; j <= hi; j++) {
    const d = j - k;
    const wt = w[d < 0 ? -d : d] as number;
    s0 += wt;
    s1 += wt * d;
    s2 += wt * d * d;
  }
  const det = s0 * s2 - s1 * s1;
  // A single sample, or weights too concentrated to fit a slope: the weighted mean.
  const line = det > 1e-12 * s0 * s0 && s2 > 0;
  for (let c = 0; c < PATH_DIMS; c++) {
    // Relative to sample k keeps the sums small on long pans (no loss of precision far from the origin).
    const ref = src.get(k, c);
    let t0 = 0;
    let t1 = 0;
    for (let j = lo; j <= hi; j++) {
      const d = j - k;
      const wt = w[d < 0 ? -d : d] as number;
      const v = src.get(j, c) - ref;
      t0 += wt * v;
      t1 += wt * d * v;
    }
    out[o + c] = ref + (line ? (s2 * t0 - s1 * t1) / det : t0 / s0);
  }
  return out;
}

/**
 * Smooths a whole path of n frames held in src (frames 0..n-1) into out (PATH_DIMS numbers per frame),
 * with the window [k - radius, k + min(radius, lookahead)] cut at the clip's ends.
 */
export function gaussianSmoothPathInto(out: Float64Array, src: PathBuffer, n: number, radius: number, lookahead = radius): Float64Array {
  const r = Math.max(0, Math.floor(radius));
  const la = Math.max(0, Math.min(r, Math.floor(lookahead)));
  const w = gaussianWeights(r);
  for (let k = 0; k < n; k++) gaussianFitAt(src, k, Math.max(0, k - r), Math.min(n - 1, k + la), w, out, k * PATH_DIMS);
  return out;
}

/** The Gaussian smoother behind the PathSmoother interface (streaming, ring-buffered). */
export class GaussianSmoother implements PathSmoother {
  readonly kind = 'gaussian' as const;
  private radius: number;
  private readonly maxLookahead: number;
  private weights: Float64Array;
  private readonly raw: PathBuffer;
  private next = 0;
  private finished = false;

  /**
   * @param radius frames (>= 0)
   * @param lookahead most frames of look-ahead; default: the radius
   */
  constructor(radius: number, lookahead?: number) {
    this.radius = Math.max(0, Math.floor(radius));
    this.maxLookahead = lookahead === undefined ? Number.POSITIVE_INFINITY : Math.max(0, Math.floor(lookahead));
    this.weights = gaussianWeights(this.radius);
    this.raw = new PathBuffer(2 * this.radius + 2, true);
  }

  get lookahead(): number {
    return Math.min(this.radius, this.maxLookahead);
  }

  push(x: number, y: number, angleRad: number, logScale: number): void {
    // The ring must hold the window of the oldest frame not pulled yet: grow it if pulls fall behind.
    if (this.raw.length + 1 - (this.next - this.radius) > this.raw.capacity) this.raw.resizeRing(2 * this.raw.capacity);
    this.raw.push(x, y, angleRad, logScale);
  }

  pull(out: Float64Array, o = 0): number {
    const k = this.next;
    const n = this.raw.length;
    const la = this.lookahead;
    if (k >= n || (!this.finished && k + la >= n)) return -1;
    const lo = Math.max(this.raw.first, k - this.radius);
    const hi = Math.min(n - 1, k + la);
    gaussianFitAt(this.raw, k, lo, hi, this.weights, out, o);
    this.next++;
    return k;
  }

  finish(): void {
    this.finished = true;
  }

  setRadius(radius: number): void {
    const r = Math.max(0, Math.floor(radius));
    if (r === this.radius) return;
    this.radius = r;
    this.weights = gaussianWeights(r);
    if (this.raw.capacity < 2 * r + 2) this.raw.resizeRing(2 * r + 2);
  }
}
