/**
 * Causal path smoothing (zero look-ahead, for live use): Brown's double exponential smoothing, i.e. a
 * critically damped second-order follower (R. G. Brown, "Smoothing, Forecasting and Prediction of Discrete
 * Time Series", 1963).
 *
 * Per path number, with alpha in (0, 1]:
 *   s1 = s1 + alpha (x - s1),   s2 = s2 + alpha (s1 - s2),   smoothed = 2 s1 - s2.
 * Two cascaded exponential filters alone would lag a steady pan by 2 (1 - alpha) / alpha frames; the
 * combination 2 s1 - s2 removes that lag exactly for a constant velocity (it is the level of a local linear
 * trend fitted with discounted least squares), so a pan is followed without the crop window drifting off
 * it. Both filters start at the first sample, so nothing is pulled toward zero.
 *
 * alpha = 1 / (radius + 1): the same time scale as a window of 2 radius + 1 frames (an exponential filter
 * with alpha = 2 / (N + 1) has the mean age of an N-frame moving average). A causal filter passes more of
 * the shake than a symmetric window of the same radius (on the anchors' synthetic clip, radius 15 leaves
 * 1.5 px of high-frequency jitter where the Gaussian leaves 0.7 px): the price of no latency.
 */
import type { PathSmoother } from './smoother.js';
import { PATH_DIMS, PathBuffer } from './trajectory.js';

/** alpha of the follower for a radius (frames). */
export function causalAlpha(radius: number): number {
  return 1 / (Math.max(0, radius) + 1);
}

/** Brown's smoothing of a whole path of n frames held in src into out (PATH_DIMS numbers per frame). */
export function causalSmoothPathInto(out: Float64Array, src: PathBuffer, n: number, radius: number): Float64Array {
  const a = causalAlpha(radius);
  for (let c = 0; c < PATH_DIMS; c++) {
    let s1 = 0;
    let s2 = 0;
    for (let k = 0; k < n; k++) {
      const x = src.get(k, c);
      if (k === 0) {
        s1 = x;
        s2 = x;
      } else {
        s1 += a * (x - s1);
        s2 += a * (s1 - s2);
      }
      out[k * PATH_DIMS + c] = 2 * s1 - s2;
    }
  }
  return out;
}

/** The causal smoother behind the PathSmoother interface. */
export class CausalSmoother implements PathSmoother {
  readonly kind = 'causal' as const;
  readonly lookahead = 0;
  private alpha: number;
  private readonly s1 = new Float64Array(PATH_DIMS);
  private readonly s2 = new Float64Array(PATH_DIMS);
  private readonly v = new Float64Array(PATH_DIMS);
  /** Smoothed samples not pulled yet (normally one: the planner pulls after every push). */
  private readonly queue = new PathBuffer(4, true);
  private pulled = 0;

  /** @param radius frames (>= 0; 0 follows the raw path exactly) */
  constructor(radius: number) {
    this.alpha = causalAlpha(radius);
  }

  push(x: number, y: number, angleRad: number, logScale: number): void {
    const s1 = this.s1;
    const s2 = this.s2;
    const a = this.alpha;
    const v = this.v;
    v[0] = x;
    v[1] = y;
    v[2] = angleRad;
    v[3] = logScale;
    const first = this.queue.length === 0;
    for (let c = 0; c < PATH_DIMS; c++) {
      const xc = v[c] as number;
      if (first) {
        s1[c] = xc;
        s2[c] = xc;
      } else {
        s1[c] = (s1[c] as number) + a * (xc - (s1[c] as number));
        s2[c] = (s2[c] as number) + a * ((s1[c] as number) - (s2[c] as number));
      }
      v[c] = 2 * (s1[c] as number) - (s2[c] as number);
    }
    if (this.queue.length - this.pulled >= this.queue.capacity) this.queue.resizeRing(2 * this.queue.capacity);
    this.queue.push(v[0] as number, v[1] as number, v[2] as number, v[3] as number);
  }

  pull(out: Float64Array, o = 0): number {
    if (this.pulled >= this.queue.length) return -1;
    this.queue.read(this.pulled, out, o);
    return this.pulled++;
  }

  finish(): void {}

  setRadius(radius: number): void {
    this.alpha = causalAlpha(radius);
  }
}
