/**
 * Whole-clip path optimisation ('two-pass'): every motion of the clip is known, so the smoothed path can
 * be chosen for all frames at once, under the crop-window constraint of each frame.
 *
 * Problem. Over the path v = (x, y, psi) with psi = kappa * angle (kappa: the pull's pixels per radian,
 * path-constraints.ts), minimise for each component
 *   || (I - B) v ||^2 + lambda || D2 v ||^2 + epsilon || v - g ||^2
 * subject to: every frame's correction shows no fill at that frame's zoom and respects the caps.
 *   (I - B) v: v minus its centred moving average of 2 radius + 1 frames (the window shrinks symmetrically
 *              at the clip's ends): the high-frequency part of the path, i.e. the jitter an output viewed
 *              over about a second still shows. It ignores slow motion, so the path may use all the room
 *              the crop window leaves to stay straight.
 *   D2 v:      second differences (curvature), a small weight so that the path is smooth frame to frame
 *              too, not only against its one-second average.
 *   g:         the Gaussian-smoothed path (smoother-gaussian.ts), a weak anchor that fixes the slow
 *              motion the first term leaves free (with no constraint, v is g further low-passed).
 * The constraint is per frame and convex (path-constraints.ts), so the problem is a convex quadratic
 * programme. It is solved by FISTA (A. Beck, M. Teboulle, "A fast iterative shrinkage-thresholding
 * algorithm for linear inverse problems", SIAM J. Imaging Sciences 2009): a gradient step on the quadratic,
 * then the exact projection of each frame onto its constraint; with the adaptive restart of
 * B. O'Donoghue, E. Candes, "Adaptive restart for accelerated gradient schemes" (2015).
 * It plays the role of the L1-optimal camera path of M. Grundmann, V. Kwatra, I. Essa (CVPR 2011) with a
 * quadratic cost, which needs no LP solver: the cost is the high-frequency energy the anchors measure.
 *
 * Cost: O(frames) per iteration (moving sums by prefix sums); a few hundred iterations. The log scale is
 * not optimised: it follows g (held within the zoom by the projection).
 */
import type { CropGeometry } from './path-constraints.js';
import { pullCorrectionInto } from './path-constraints.js';
import { gaussianSmoothPathInto } from './smoother-gaussian.js';
import type { PathSmoother } from './smoother.js';
import { PATH_ANGLE, PATH_DIMS, PATH_LOG_SCALE, PATH_X, PATH_Y, PathBuffer } from './trajectory.js';

/** The per-frame constraint of the optimisation. */
export interface PathConstraint {
  readonly geometry: CropGeometry;
  /** Zoom of each frame (at least as many entries as frames). */
  readonly zoom: Float64Array;
  /** Most correction shift, input pixels (Infinity = none). */
  readonly maxShiftPx: number;
  /** Most correction rotation, radians (Infinity = none). */
  readonly maxAngleRad: number;
  /** Rotation against translation in the constraint's metric, pixels per radian (> 0). */
  readonly anglePx: number;
  /** Keep the crop window inside every frame (false: only the caps). */
  readonly noFill: boolean;
}

/** Tuning of the optimisation. */
export interface PathOptimizeOptions {
  /** Radius of the moving average whose residual is minimised, frames. */
  readonly radius: number;
  /** lambda, weight of the squared second differences. @default 0.3 */
  readonly curvatureWeight?: number;
  /** epsilon, weight of the anchor to the target path. @default 0.01 */
  readonly anchorWeight?: number;
  /** Most FISTA iterations. @default 600 */
  readonly maxIterations?: number;
  /** Stop when no path value moved more than this in an iteration, pixels. @default 1e-4 */
  readonly tolerancePx?: number;
}

/** Defaults of PathOptimizeOptions. */
export const PATH_OPTIMIZE_DEFAULTS = Object.freeze({ curvatureWeight: 0.3, anchorWeight: 0.01, maxIterations: 600, tolerancePx: 1e-4 });

/** What optimizePathInto did. */
export interface PathOptimizeReport {
  readonly iterations: number;
  /** Largest change of a path value in the last iteration, pixels. */
  readonly lastStepPx: number;
}

/** Centred moving averages with the window shrinking symmetrically at the ends, and their transpose. */
class MovingAverage {
  private readonly prefix: Float64Array;
  private readonly diff: Float64Array;
  constructor(
    private readonly n: number,
    private readonly r: number,
  ) {
    this.prefix = new Float64Array(n + 1);
    this.diff = new Float64Array(n + 1);
  }
  private radiusAt(k: number): number {
    const n = this.n;
    return Math.min(this.r, k, n - 1 - k);
  }
  /** out[k] = mean of v over [k - r_k, k + r_k]. */
  apply(out: Float64Array, v: Float64Array, vo: number): void {
    const p = this.prefix;
    p[0] = 0;
    for (let k = 0; k < this.n; k++) p[k + 1] = (p[k] as number) + (v[vo + k] as number);
    for (let k = 0; k < this.n; k++) {
      const rk = this.radiusAt(k);
      out[k] = ((p[k + rk + 1] as number) - (p[k - rk] as number)) / (2 * rk + 1);
    }
  }
  /** out = B^T u. */
  applyTransposed(out: Float64Array, u: Float64Array): void {
    const d = this.diff;
    d.fill(0);
    for (let k = 0; k < this.n; k++) {
      const rk = this.radiusAt(k);
      const val = (u[k] as number) / (2 * rk + 1);
      d[k - rk] = (d[k - rk] as number) + val;
      d[k + rk + 1] = (d[k + rk + 1] as number) - val;
    }
    let acc = 0;
    for (let k = 0; k < this.n; k++) {
      acc += d[k] as number;
      out[k] = acc;
    }
  }
}

/**
 * Optimises the path of n frames (see the file comment). raw: the raw poses (frames 0..n-1 held);
 * target: the anchor path g (PATH_DIMS numbers per frame); out: the optimised path (PATH_DIMS per frame;
 * may alias target). With constraint null the problem is unconstrained.
 */
export function optimizePathInto(
  out: Float64Array,
  raw: PathBuffer,
  target: Float64Array,
  n: number,
  constraint: PathConstraint | null,
  options: PathOptimizeOptions,
): PathOptimizeReport {
  const lambda = options.curvatureWeight ?? PATH_OPTIMIZE_DEFAULTS.curvatureWeight;
  const eps = options.anchorWeight ?? PATH_OPTIMIZE_DEFAULTS.anchorWeight;
  const maxIt = options.maxIterations ?? PATH_OPTIMIZE_DEFAULTS.maxIterations;
  const tol = options.tolerancePx ?? PATH_OPTIMIZE_DEFAULTS.tolerancePx;
  const r = Math.max(0, Math.floor(options.radius));
  const kappa = constraint?.anglePx ?? 1;
  if (n === 0) return { iterations: 0, lastStepPx: 0 };
  // Component-major variables: [x_0..x_{n-1}, y_0.., psi_0..].
  const m = 3 * n;
  const g = new Float64Array(m);
  const logScale = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    const o = k * PATH_DIMS;
    g[k] = target[o + PATH_X] as number;
    g[n + k] = target[o + PATH_Y] as number;
    g[2 * n + k] = kappa * (target[o + PATH_ANGLE] as number);
    logScale[k] = target[o + PATH_LOG_SCALE] as number;
  }
  const box = new MovingAverage(n, r);
  const t1 = new Float64Array(n);
  const t2 = new Float64Array(n);
  /** out[oo..] = (H^T H + lambda D2^T D2 + eps I) v[vo..] for one component. */
  const applyM = (dst: Float64Array, oo: number, v: Float64Array, vo: number): void => {
    box.apply(t1, v, vo);
    for (let k = 0; k < n; k++) t1[k] = (v[vo + k] as number) - (t1[k] as number);
    box.applyTransposed(t2, t1);
    for (let k = 0; k < n; k++) dst[oo + k] = (t1[k] as number) - (t2[k] as number) + eps * (v[vo + k] as number);
    if (n >= 3 && lambda > 0) {
      for (let j = 0; j < n - 2; j++) t1[j] = (v[vo + j] as number) - 2 * (v[vo + j + 1] as number) + (v[vo + j + 2] as number);
      for (let i = 0; i < n; i++) {
        let s = 0;
        if (i < n - 2) s += t1[i] as number;
        if (i >= 1 && i - 1 < n - 2) s -= 2 * (t1[i - 1] as number);
        if (i >= 2) s += t1[i - 2] as number;
        dst[oo + i] = (dst[oo + i] as number) + lambda * s;
      }
    }
  };
  // Largest eigenvalue of M by power iteration (the same operator for every component).
  const pv = new Float64Array(n);
  const pw = new Float64Array(n);
  for (let k = 0; k < n; k++) pv[k] = 1 + 0.5 * Math.sin(1.7 * k) + ((k * 7919) % 13) / 13;
  let eig = 1;
  for (let it = 0; it < 40; it++) {
    let norm = 0;
    for (let k = 0; k < n; k++) norm += (pv[k] as number) * (pv[k] as number);
    norm = Math.sqrt(norm);
    for (let k = 0; k < n; k++) pv[k] = (pv[k] as number) / norm;
    applyM(pw, 0, pv, 0);
    let dot = 0;
    for (let k = 0; k < n; k++) dot += (pv[k] as number) * (pw[k] as number);
    eig = dot;
    pv.set(pw);
  }
  const step = 1 / (1.1 * eig); // gradient of 1/2 v^T M v - eps g^T v is M v - eps g

  const pulled = new Float64Array(4);
  const project = (v: Float64Array): void => {
    if (constraint === null) return;
    const geom = constraint.geometry;
    for (let k = 0; k < n; k++) {
      const px = raw.get(k, PATH_X);
      const py = raw.get(k, PATH_Y);
      const pa = raw.get(k, PATH_ANGLE);
      const pls = raw.get(k, PATH_LOG_SCALE);
      const s = Math.exp(pls);
      const c = Math.cos(pa);
      const sn = Math.sin(pa);
      const dx = (v[k] as number) - px;
      const dy = (v[n + k] as number) - py;
      const ax = (c * dx + sn * dy) / s;
      const ay = (-sn * dx + c * dy) / s;
      const beta = (v[2 * n + k] as number) / kappa - pa;
      const sigma = Math.exp((logScale[k] as number) - pls);
      pullCorrectionInto(pulled, geom, ax, ay, beta, sigma, {
        zoom: constraint.zoom[k] as number,
        maxShiftPx: constraint.maxShiftPx,
        maxAngleRad: constraint.maxAngleRad,
        anglePx: kappa / s,
        noFill: constraint.noFill,
      });
      const qx = pulled[0] as number;
      const qy = pulled[1] as number;
      v[k] = px + s * (c * qx - sn * qy);
      v[n + k] = py + s * (sn * qx + c * qy);
      v[2 * n + k] = kappa * (pa + (pulled[2] as number));
      logScale[k] = pls + Math.log(pulled[3] as number);
    }
  };

  const x = Float64Array.from(g);
  project(x);
  const y = Float64Array.from(x);
  const xn = new Float64Array(m);
  const grad = new Float64Array(m);
  let t = 1;
  let iterations = 0;
  let lastStep = 0;
  for (let it = 0; it < maxIt; it++) {
    for (let c = 0; c < 3; c++) applyM(grad, c * n, y, c * n);
    for (let i = 0; i < m; i++) xn[i] = (y[i] as number) - step * ((grad[i] as number) - eps * (g[i] as number));
    project(xn);
    // Restart the momentum when it points against the step just taken.
    let dot = 0;
    let maxStep = 0;
    for (let i = 0; i < m; i++) {
      const d = (xn[i] as number) - (x[i] as number);
      dot += ((y[i] as number) - (xn[i] as number)) * d;
      const a = d < 0 ? -d : d;
      if (a > maxStep) maxStep = a;
    }
    let tn: number;
    if (dot > 0) {
      t = 1;
      tn = 1;
    } else tn = 0.5 * (1 + Math.sqrt(1 + 4 * t * t));
    const mom = (t - 1) / tn;
    for (let i = 0; i < m; i++) {
      const xi = xn[i] as number;
      y[i] = xi + mom * (xi - (x[i] as number));
      x[i] = xi;
    }
    t = tn;
    iterations = it + 1;
    lastStep = maxStep;
    if (it >= 10 && maxStep < tol) break;
  }
  // y carries the momentum; x is the last projected (feasible) iterate.
  for (let k = 0; k < n; k++) {
    const o = k * PATH_DIMS;
    out[o + PATH_X] = x[k] as number;
    out[o + PATH_Y] = x[n + k] as number;
    out[o + PATH_ANGLE] = (x[2 * n + k] as number) / kappa;
    out[o + PATH_LOG_SCALE] = logScale[k] as number;
  }
  return { iterations, lastStepPx: lastStep };
}

/**
 * The whole-clip smoother behind the PathSmoother interface: collects every sample, and at finish()
 * optimises the path without a crop constraint (the planner adds it; framing.ts). Look-ahead: the clip.
 */
export class TwoPassSmoother implements PathSmoother {
  readonly kind = 'two-pass' as const;
  readonly lookahead = Number.POSITIVE_INFINITY;
  private radius: number;
  private readonly raw = new PathBuffer(256);
  private smoothed: Float64Array | null = null;
  private next = 0;

  /** @param radius frames (>= 0) */
  constructor(radius: number) {
    this.radius = Math.max(0, Math.floor(radius));
  }

  push(x: number, y: number, angleRad: number, logScale: number): void {
    if (this.smoothed !== null) throw new Error('internal: two-pass smoother pushed after finish()');
    this.raw.push(x, y, angleRad, logScale);
  }

  pull(out: Float64Array, o = 0): number {
    const s = this.smoothed;
    if (s === null || this.next >= this.raw.length) return -1;
    const k = this.next++;
    for (let c = 0; c < PATH_DIMS; c++) out[o + c] = s[k * PATH_DIMS + c] as number;
    return k;
  }

  finish(): void {
    if (this.smoothed !== null) return;
    const n = this.raw.length;
    const s = gaussianSmoothPathInto(new Float64Array(n * PATH_DIMS), this.raw, n, this.radius);
    optimizePathInto(s, this.raw, s, n, null, { radius: this.radius });
    this.smoothed = s;
  }

  setRadius(radius: number): void {
    this.radius = Math.max(0, Math.floor(radius));
  }
}
