/**
 * Whole-clip path optimisation ('two-pass'): every motion of the clip is known, so the smoothed path can
 * be chosen for all frames at once, under the crop-window constraint of each frame.
 *
 * Problem. Over the path v = (x, y, psi) with psi = kappa * angle (kappa: the pull's pixels per radian,
 * path-constraints.ts), minimise for each component
 *   H((I - B) v) + mu || (I - T) D1 v ||^2 + lambda || D2 v ||^2 + epsilon || v - g ||^2
 * where H is the sum of Huber losses (squared up to a threshold, linear above: huberPx) of the residuals.
 * subject to: every frame's correction shows no fill at that frame's zoom and respects the caps.
 *   (I - B) v: v minus its centred moving average of 2 radius + 1 frames (the window shrinks symmetrically
 *              at the clip's ends): the high-frequency part of the path, i.e. the jitter an output viewed
 *              over about a second still shows. It ignores slow motion, so the path may use all the room
 *              the crop window leaves to stay straight.
 *   (I - T) D1 v: the path's steps (first differences) minus their smoothing by T, the moving average of
 *              radius h = radius / 2 applied twice (a triangular window of 4 h + 1 steps, about a second):
 *              the shake of the steps above about 1 Hz, what a viewer sees as the picture shaking from
 *              frame to frame. Against the first term it weighs each frequency by the square of its step
 *              (about (2 pi f / fps)^2), so it favours removing the fast shake (2-8 Hz: footsteps, hand
 *              tremor) over the slow sway near 1 Hz. The two part ways only where the crop window cannot
 *              hold every frequency back: with the first term alone, the path spent the crop margin on the
 *              sway, which is large in pixels, and kept the fast shake whole (the park walk: its 2-4 Hz
 *              steps passed through unchanged). Why T and not the first term's own moving average B: the
 *              residual of B weighs the steps' squared content at 0.5 / 0.75 / 1 / 1.5 Hz by 0.15 / 0.54 /
 *              1.07 / 1.45 (radius 15 at 30 fps), so at a weight that mattered the path spent its margin on
 *              sway below 1 Hz, which the first term already weighs; the residual of T weighs the same
 *              frequencies by 0.04 / 0.15 / 0.35 / 0.83 and is flat (0.9-1) from 2 Hz up. Measured on the
 *              benchmark clips (the shift's weight 100, the roll's 10), the output's steps kept 3-18 % less
 *              >= 1 Hz content with T than with B (the park walk 0.400 px/frame against 0.489, the forest
 *              trail 0.429 against 0.505; vidstab leaves 0.450 and 0.461), for 2-13 % more moving-average
 *              residual. With B a larger weight did not close that gap (park walk, 300: 0.577).
 *              Only the shift's steps get the full weight: the roll's (psi) get at most
 *              ROLL_VELOCITY_WEIGHT, as the roll's weight does not buy the shift's steadiness but spends
 *              its crop margin (the synthetic clips, with 0.7 degrees of roll shake, kept 0.60 px of
 *              moving-average residual with it, 0.76 px with the roll's steps weighed at 100 too).
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
import { maxRelativeScale, type PullLimits, pullCorrectionInto } from './path-constraints.js';
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
  /**
   * mu, weight of the high-frequency part of the shift's steps (see the file comment; the roll's steps get
   * at most ROLL_VELOCITY_WEIGHT); the planner passes its shakeWeight times the raw path's own balance of
   * sway and shake over the window (balancedVelocityWeight; options.ts, DEFAULT_SHAKE_WEIGHT).
   * @default 0 (the residual alone)
   */
  readonly velocityWeight?: number;
  /**
   * Above this high-frequency residual (pixels) the first term grows linearly, not quadratically (the
   * Huber loss). Residuals that large are not jitter but the corners of a fast pan, which no path within
   * the crop window can round off; squared, they outweighed everything, and the path leapt from one edge
   * of the crop window to the other in two frames to shave them while the camera stood still.
   * @default HUBER_WIDTH_SHARE of the frame's width with a crop constraint, none (Infinity) without
   */
  readonly huberPx?: number;
  /** epsilon, weight of the anchor to the target path. @default 0.01 */
  readonly anchorWeight?: number;
  /** Most FISTA iterations. @default 600 */
  readonly maxIterations?: number;
  /** Stop when no path value moved more than this in an iteration, pixels. @default 1e-4 */
  readonly tolerancePx?: number;
  /**
   * Frame number (in raw) of the first sample: the samples are frames firstFrame .. firstFrame + n - 1
   * (a window of a longer clip, as a receding-horizon plan solves). @default 0
   */
  readonly firstFrame?: number;
  /**
   * The first fixedLeading samples are held at their values in target (in a receding-horizon plan, the
   * frames already emitted): the projection puts them back every iteration, so the rest of the path is
   * optimised as the continuation of theirs. The moving-average and curvature terms that reach into
   * them still count. @default 0
   */
  readonly fixedLeading?: number;
  /**
   * Where the iteration starts (PATH_DIMS numbers per sample; projected first), e.g. the previous
   * window's solution: a start near the optimum needs fewer iterations. @default target
   */
  readonly initial?: Float64Array;
  /** Buffers reused from call to call (no allocation per call once grown). @default fresh buffers */
  readonly workspace?: PathOptimizeWorkspace;
}

/**
 * Most weight of the roll's steps' fast shake (see the file comment): the shift's weight, velocityWeight,
 * up to this. At 3 / 10 / 30 (shift at 100) the synthetic clips kept 0.59 / 0.60 / 0.64 px of
 * moving-average residual and 0.197 / 0.182 / 0.171 degrees of >= 1 Hz roll per frame.
 */
export const ROLL_VELOCITY_WEIGHT = 10;

/** Defaults of PathOptimizeOptions. */
export const PATH_OPTIMIZE_DEFAULTS = Object.freeze({ curvatureWeight: 0.3, velocityWeight: 0, anchorWeight: 0.01, maxIterations: 600, tolerancePx: 1e-4 });

/**
 * Default Huber threshold of the high-frequency term, as a share of the frame's width (20 px at 640): above
 * the residual jitter of any clip the benchmark measures (the paths there are the same as with a squared
 * term everywhere), far below the corners of a whip pan (hundreds of pixels).
 */
export const HUBER_WIDTH_SHARE = 1 / 32;

/** What optimizePathInto did. */
export interface PathOptimizeReport {
  readonly iterations: number;
  /** Largest change of a path value in the last iteration, pixels. */
  readonly lastStepPx: number;
}

/** Numbers per sample in PathOptimizeWorkspace.frame. */
const FRAME_NUMBERS = 12;

/**
 * The buffers of optimizePathInto for up to `capacity` samples (they grow when a call needs more), and
 * the step size of the last problem size (the operator depends only on n, the radius and the weights).
 */
export class PathOptimizeWorkspace {
  /** Samples the buffers hold. */
  capacity = 0;
  g = new Float64Array(0);
  logScale = new Float64Array(0);
  prefix = new Float64Array(0);
  diff = new Float64Array(0);
  res = new Float64Array(0);
  vel = new Float64Array(0);
  smooth = new Float64Array(0);
  pv = new Float64Array(0);
  pw = new Float64Array(0);
  x = new Float64Array(0);
  y = new Float64Array(0);
  xn = new Float64Array(0);
  grad = new Float64Array(0);
  /** Per sample, FRAME_NUMBERS numbers: raw x, y, angle, exp(ln scale), cos(angle), sin(angle); sigma; zoom and the crop polytope's A, B, mx, my. */
  frame = new Float64Array(0);
  readonly pulled = new Float64Array(4);
  /** Angles of the held leading samples, radians (kept apart so that they come back bit for bit). */
  heldAngle = new Float64Array(0);
  /** Largest change of a path value in the last iteration of the last solve, pixels. */
  lastStepPx = 0;
  /**
   * The largest eigenvalues of the operator without the step term (eigBase) and of the step term alone at
   * weight 1 (eigStep), and the (n, radius, lambda, eps) they belong to: M's is at most eigBase + mu
   * eigStep (Weyl), whatever the weight, which changes from window to window.
   */
  eigBase = 0;
  eigStep = 0;
  eigN = -1;
  eigRadius = -1;
  eigLambda = Number.NaN;
  eigEps = Number.NaN;

  /** Makes room for n samples. */
  ensure(n: number): void {
    if (n <= this.capacity) return;
    const c = Math.max(n, 2 * this.capacity);
    this.capacity = c;
    this.g = new Float64Array(3 * c);
    this.logScale = new Float64Array(c);
    this.prefix = new Float64Array(c + 1);
    this.diff = new Float64Array(c + 1);
    this.res = new Float64Array(c);
    this.vel = new Float64Array(c);
    this.smooth = new Float64Array(c);
    this.pv = new Float64Array(c);
    this.pw = new Float64Array(c);
    this.x = new Float64Array(3 * c);
    this.y = new Float64Array(3 * c);
    this.xn = new Float64Array(3 * c);
    this.grad = new Float64Array(3 * c);
    this.frame = new Float64Array(FRAME_NUMBERS * c);
    this.heldAngle = new Float64Array(c);
  }
}

/**
 * dst[d0 + j] = the mean of src[s0 + j - q .. s0 + j + q] (j < len), q = min(r, j, len - 1 - j): the centred
 * moving average whose window shrinks symmetrically at the ends (B). prefix: len + 1 scratch numbers. dst may
 * be src.
 */
function movingAverageInto(dst: Float64Array, d0: number, src: Float64Array, s0: number, len: number, r: number, prefix: Float64Array): void {
  let acc = 0;
  prefix[0] = 0;
  for (let j = 0; j < len; j++) {
    acc += src[s0 + j] as number;
    prefix[j + 1] = acc;
  }
  for (let j = 0; j < len; j++) {
    const q = Math.min(r, j, len - 1 - j);
    dst[d0 + j] = ((prefix[j + q + 1] as number) - (prefix[j - q] as number)) / (2 * q + 1);
  }
}

/** dst[d0 ..] = B^T src[s0 ..] for the B of movingAverageInto (each sample scattered over its window). diff: len + 1 scratch numbers. dst may be src. */
function movingAverageTransposeInto(dst: Float64Array, d0: number, src: Float64Array, s0: number, len: number, r: number, diff: Float64Array): void {
  for (let j = 0; j <= len; j++) diff[j] = 0;
  for (let j = 0; j < len; j++) {
    const q = Math.min(r, j, len - 1 - j);
    const val = (src[s0 + j] as number) / (2 * q + 1);
    diff[j - q] = (diff[j - q] as number) + val;
    diff[j + q + 1] = (diff[j + q + 1] as number) - val;
  }
  let acc = 0;
  for (let j = 0; j < len; j++) {
    acc += diff[j] as number;
    dst[d0 + j] = acc;
  }
}

/**
 * dst[oo + j] = ((I - B)^T clip((I - B) s))_j for the len samples s_j = src[so + j], B of movingAverageInto,
 * clip to +-huber (the gradient of the Huber loss; Infinity: none). prefix, diff: len + 1 scratch numbers
 * each; res: len. dst may be src.
 */
function movingResidualNormalInto(
  dst: Float64Array,
  oo: number,
  src: Float64Array,
  so: number,
  len: number,
  r: number,
  huber: number,
  prefix: Float64Array,
  diff: Float64Array,
  res: Float64Array,
): void {
  movingAverageInto(res, 0, src, so, len, r, prefix);
  for (let j = 0; j < len; j++) res[j] = Math.min(huber, Math.max(-huber, (src[so + j] as number) - (res[j] as number)));
  movingAverageTransposeInto(dst, oo, res, 0, len, r, diff);
  for (let j = 0; j < len; j++) dst[oo + j] = (res[j] as number) - (dst[oo + j] as number);
}

/** Radius h of the moving average that, applied twice, smooths the steps (T of the file comment). */
function stepShakeRadius(radius: number): number {
  return Math.max(1, radius >> 1);
}

/**
 * s = (I - T)^T (I - T) s in place, T = B^2 with B the moving average of radius h (T: a triangular window
 * of 4 h + 1 steps): the normal operator of the steps' shake above about 1 Hz. smooth: len scratch numbers.
 */
function stepShakeNormalInPlace(s: Float64Array, len: number, h: number, prefix: Float64Array, diff: Float64Array, smooth: Float64Array): void {
  movingAverageInto(smooth, 0, s, 0, len, h, prefix);
  movingAverageInto(smooth, 0, smooth, 0, len, h, prefix);
  for (let j = 0; j < len; j++) s[j] = (s[j] as number) - (smooth[j] as number);
  movingAverageTransposeInto(smooth, 0, s, 0, len, h, diff);
  movingAverageTransposeInto(smooth, 0, smooth, 0, len, h, diff);
  for (let j = 0; j < len; j++) s[j] = (s[j] as number) - (smooth[j] as number);
}

/**
 * out[oo .. oo + n) = M v[vo .. vo + n) for one component, M = (I - B)^T (I - B) + mu D1^T (I - T)^T
 * (I - T) D1 + lambda D2^T D2 + eps I (see the file comment), the first term clipped at huber, B of radius
 * r, T of radius stepShakeRadius(r). prefix, diff: n + 1 scratch numbers each; res, vel, smooth: n scratch
 * numbers.
 */
function applyOperatorInto(
  dst: Float64Array,
  oo: number,
  v: Float64Array,
  vo: number,
  n: number,
  r: number,
  lambda: number,
  eps: number,
  mu: number,
  huber: number,
  prefix: Float64Array,
  diff: Float64Array,
  res: Float64Array,
  vel: Float64Array,
  smooth: Float64Array,
): void {
  movingResidualNormalInto(dst, oo, v, vo, n, r, huber, prefix, diff, res);
  for (let k = 0; k < n; k++) dst[oo + k] = (dst[oo + k] as number) + eps * (v[vo + k] as number);
  if (n >= 3 && lambda > 0) {
    // D2^T D2 v: d_j = v_j - 2 v_{j+1} + v_{j+2} (j < n - 2), then each sample gathers d_i - 2 d_{i-1} + d_{i-2}.
    for (let j = 0; j < n - 2; j++) res[j] = (v[vo + j] as number) - 2 * (v[vo + j + 1] as number) + (v[vo + j + 2] as number);
    res[n - 2] = 0;
    res[n - 1] = 0;
    dst[oo] = (dst[oo] as number) + lambda * (res[0] as number);
    dst[oo + 1] = (dst[oo + 1] as number) + lambda * ((res[1] as number) - 2 * (res[0] as number));
    for (let i = 2; i < n; i++) dst[oo + i] = (dst[oo + i] as number) + lambda * ((res[i] as number) - 2 * (res[i - 1] as number) + (res[i - 2] as number));
  }
  if (n >= 3 && mu > 0) {
    // The steps s_j = v_{j+1} - v_j (j < n - 1) through their own moving-average residual and back, then
    // D1^T: each sample gathers e_{i-1} - e_i.
    const m = n - 1;
    for (let j = 0; j < m; j++) vel[j] = (v[vo + j + 1] as number) - (v[vo + j] as number);
    stepShakeNormalInPlace(vel, m, stepShakeRadius(r), prefix, diff, smooth);
    dst[oo] = (dst[oo] as number) - mu * (vel[0] as number);
    for (let i = 1; i < m; i++) dst[oo + i] = (dst[oo + i] as number) + (mu * (vel[i - 1] as number) - mu * (vel[i] as number));
    dst[oo + m] = (dst[oo + m] as number) + mu * (vel[m - 1] as number);
  }
}

/** What projectPath needs of one optimizePathInto call (plain values; no closure per call). */
interface ProjectionState {
  readonly n: number;
  readonly fixed: number;
  readonly kappa: number;
  readonly noFill: boolean;
  readonly capped: boolean;
  readonly constraint: PathConstraint | null;
  /** Rewritten per sample (zoom, anglePx). */
  readonly limits: { -readonly [K in keyof PullLimits]: PullLimits[K] };
  readonly g: Float64Array;
  readonly frame: Float64Array;
  readonly pulled: Float64Array;
}

/**
 * Projects the iterate v (component-major) onto the constraint: the held leading samples back to their
 * values, every other sample onto its frame's crop polytope and caps.
 */
function projectPath(v: Float64Array, p: ProjectionState): void {
  const { n, fixed, kappa, noFill, capped, constraint, limits, g, frame, pulled } = p;
  for (let k = 0; k < fixed; k++) {
    v[k] = g[k] as number;
    v[n + k] = g[n + k] as number;
    v[2 * n + k] = g[2 * n + k] as number;
  }
  if (constraint === null || (!noFill && !capped)) return;
  const geom = constraint.geometry;
  for (let k = fixed; k < n; k++) {
    const o = FRAME_NUMBERS * k;
    const px = frame[o] as number;
    const py = frame[o + 1] as number;
    const pa = frame[o + 2] as number;
    const s = frame[o + 3] as number;
    const c = frame[o + 4] as number;
    const sn = frame[o + 5] as number;
    const dx = (v[k] as number) - px;
    const dy = (v[n + k] as number) - py;
    const ax = (c * dx + sn * dy) / s;
    const ay = (-sn * dx + c * dy) / s;
    const beta = (v[2 * n + k] as number) / kappa - pa;
    // Inside the polytope and the caps: the projection leaves the sample as it is.
    if (noFill && !capped) {
      const t = beta < 0 ? -beta : beta;
      if ((ax < 0 ? -ax : ax) + (frame[o + 8] as number) * t <= (frame[o + 10] as number) && (ay < 0 ? -ay : ay) + (frame[o + 9] as number) * t <= (frame[o + 11] as number)) continue;
    }
    limits.zoom = noFill ? (frame[o + 7] as number) : 1;
    limits.anglePx = kappa / s;
    pullCorrectionInto(pulled, geom, ax, ay, beta, frame[o + 6] as number, limits);
    const qx = pulled[0] as number;
    const qy = pulled[1] as number;
    v[k] = px + s * (c * qx - sn * qy);
    v[n + k] = py + s * (sn * qx + c * qy);
    v[2 * n + k] = kappa * (pa + (pulled[2] as number));
  }
  }

/**
 * FISTA from ws.x (projected): gradient steps on the quadratic, each followed by the projection, with
 * adaptive restart. Leaves the last projected iterate in ws.x and its last step in ws.lastStepPx (set in
 * the loop); returns the iterations run. (Nothing but the return after the loop: V8 first optimises this
 * function on stack, in its loop, and code after the loop that had not run yet had no type feedback, which
 * threw the optimised code away on every call.)
 */
function fistaLoop(ws: PathOptimizeWorkspace, p: ProjectionState, m: number, step: number, maxIt: number, tol: number, lambda: number, eps: number, huber: number, mu: number, radius: number): number {
  const { x, y, xn, grad, g, prefix, diff, res, vel, smooth } = ws;
  const n = p.n;
  for (let i = 0; i < m; i++) y[i] = x[i] as number;
  let t = 1;
  let iterations = 0;
  ws.lastStepPx = 0;
  for (let it = 0; it < maxIt; it++) {
    for (let c = 0; c < 3; c++) applyOperatorInto(grad, c * n, y, c * n, n, radius, lambda, eps, c === 2 ? Math.min(mu, ROLL_VELOCITY_WEIGHT) : mu, huber, prefix, diff, res, vel, smooth);
    for (let i = 0; i < m; i++) xn[i] = (y[i] as number) - step * ((grad[i] as number) - eps * (g[i] as number));
    projectPath(xn, p);
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
    ws.lastStepPx = maxStep;
    if (it >= 10 && maxStep < tol) break;
  }
  return iterations;
}

/** Largest eigenvalue of the operator of applyOperatorInto with these weights (40 power iterations). */
function largestEigenvalue(ws: PathOptimizeWorkspace, n: number, r: number, lambda: number, eps: number, mu: number, huber: number): number {
  const { pv, pw } = ws;
  // The start holds every frequency, the fastest alternation (where the curvature and step terms put the
  // top eigenvector) included.
  for (let k = 0; k < n; k++) pv[k] = 1 + 0.5 * Math.sin(1.7 * k) + ((k * 7919) % 13) / 13 + (k % 2 === 0 ? 0.5 : -0.5);
  let eig = 1;
  for (let it = 0; it < 40; it++) {
    let norm = 0;
    for (let k = 0; k < n; k++) norm += (pv[k] as number) * (pv[k] as number);
    norm = Math.sqrt(norm);
    for (let k = 0; k < n; k++) pv[k] = (pv[k] as number) / norm;
    applyOperatorInto(pw, 0, pv, 0, n, r, lambda, eps, mu, huber, ws.prefix, ws.diff, ws.res, ws.vel, ws.smooth);
    let dot = 0;
    for (let k = 0; k < n; k++) dot += (pv[k] as number) * (pw[k] as number);
    eig = dot;
    for (let k = 0; k < n; k++) pv[k] = pw[k] as number;
  }
  return eig;
}

/**
 * The raw path's own balance of sway against shake over frames first .. first + n - 1 (its shift, x and y
 * together): the energy of its moving-average residual (radius r, the first term of the file comment)
 * over the energy of its steps' shake (the step term at weight 1). The planner's velocity weight is the
 * shake weight times this (see DEFAULT_SHAKE_WEIGHT in options.ts), so that the path is asked to keep the
 * same shares of the raw path's own sway and shake whatever their sizes in pixels. 1 where the path has no
 * steps' shake at all (a steady pan).
 */
/** Most velocity weight the balance gives (a larger one needs more iterations to converge). */
export const MAX_VELOCITY_WEIGHT = 1000;

/** The velocity weight for a shake weight over raw frames first .. first + n - 1 (see rawShakeBalance). */
export function balancedVelocityWeight(shakeWeight: number, raw: PathBuffer, first: number, n: number, radius: number, ws: PathOptimizeWorkspace): number {
  return shakeWeight > 0 ? Math.min(MAX_VELOCITY_WEIGHT, shakeWeight * rawShakeBalance(raw, first, n, radius, ws)) : 0;
}

export function rawShakeBalance(raw: PathBuffer, first: number, n: number, radius: number, ws: PathOptimizeWorkspace): number {
  if (n < 3) return 1;
  ws.ensure(n);
  const { x, smooth, vel, prefix } = ws;
  const r = Math.max(0, Math.floor(radius));
  const h = stepShakeRadius(r);
  let sway = 0;
  let shake = 0;
  for (let c = 0; c < 2; c++) {
    const dim = c === 0 ? PATH_X : PATH_Y;
    for (let k = 0; k < n; k++) x[k] = raw.get(first + k, dim);
    movingAverageInto(smooth, 0, x, 0, n, r, prefix);
    for (let k = 0; k < n; k++) {
      const d = (x[k] as number) - (smooth[k] as number);
      sway += d * d;
    }
    for (let k = 0; k < n - 1; k++) vel[k] = (x[k + 1] as number) - (x[k] as number);
    movingAverageInto(smooth, 0, vel, 0, n - 1, h, prefix);
    movingAverageInto(smooth, 0, smooth, 0, n - 1, h, prefix);
    for (let k = 0; k < n - 1; k++) {
      const d = (vel[k] as number) - (smooth[k] as number);
      shake += d * d;
    }
  }
  return shake > 1e-12 * (sway + 1) ? sway / shake : 1;
}

/**
 * Optimises the path of n frames (see the file comment). raw: the raw poses (frames firstFrame ..
 * firstFrame + n - 1 held); target: the anchor path g (PATH_DIMS numbers per frame; its first
 * fixedLeading samples are the held ones); out: the optimised path (PATH_DIMS per frame; may alias
 * target or initial). With constraint null the problem is unconstrained.
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
  const mu = options.velocityWeight ?? PATH_OPTIMIZE_DEFAULTS.velocityWeight;
  const eps = options.anchorWeight ?? PATH_OPTIMIZE_DEFAULTS.anchorWeight;
  // Only a crop window gives edges to leap between: without one, the plain squared term.
  const huber = options.huberPx ?? (constraint === null ? Number.POSITIVE_INFINITY : HUBER_WIDTH_SHARE * constraint.geometry.width);
  const maxIt = options.maxIterations ?? PATH_OPTIMIZE_DEFAULTS.maxIterations;
  const tol = options.tolerancePx ?? PATH_OPTIMIZE_DEFAULTS.tolerancePx;
  const r = Math.max(0, Math.floor(options.radius));
  const f0 = options.firstFrame ?? 0;
  const fixed = Math.max(0, Math.min(n, Math.floor(options.fixedLeading ?? 0)));
  const kappa = constraint?.anglePx ?? 1;
  if (n === 0) return { iterations: 0, lastStepPx: 0 };
  const ws = options.workspace ?? new PathOptimizeWorkspace();
  ws.ensure(n);
  // Component-major variables: [x_0..x_{n-1}, y_0.., psi_0..].
  const m = 3 * n;
  const { g, logScale, frame, pulled, heldAngle } = ws;
  for (let k = 0; k < fixed; k++) heldAngle[k] = target[k * PATH_DIMS + PATH_ANGLE] as number;
  for (let k = 0; k < n; k++) {
    const o = k * PATH_DIMS;
    g[k] = target[o + PATH_X] as number;
    g[n + k] = target[o + PATH_Y] as number;
    g[2 * n + k] = kappa * (target[o + PATH_ANGLE] as number);
    logScale[k] = target[o + PATH_LOG_SCALE] as number;
  }
  // Largest eigenvalues by power iteration (the same operator for every component), kept for the next
  // call of the same size.
  if (ws.eigN !== n || ws.eigRadius !== r || ws.eigLambda !== lambda || ws.eigEps !== eps) {
    ws.eigBase = largestEigenvalue(ws, n, r, lambda, eps, 0, Number.POSITIVE_INFINITY);
    // Huber width 0 takes the residual term out: the step term alone.
    ws.eigStep = n >= 3 ? largestEigenvalue(ws, n, r, 0, 0, 1, 0) : 0;
    ws.eigN = n;
    ws.eigRadius = r;
    ws.eigLambda = lambda;
    ws.eigEps = eps;
  }
  const step = 1 / (1.1 * (ws.eigBase + mu * ws.eigStep)); // gradient of 1/2 v^T M v - eps g^T v is M v - eps g

  // Per frame, once per call rather than once per iteration: the raw pose, its trigonometry, and the
  // crop polytope of path-constraints.ts in closed form. The log scale is not optimised, so the relative
  // scale sigma (held at the zoom by the first projection) and the polytope stay fixed.
  const noFill = constraint?.noFill ?? false;
  const maxShift = constraint?.maxShiftPx ?? Number.POSITIVE_INFINITY;
  const maxAngle = constraint?.maxAngleRad ?? Number.POSITIVE_INFINITY;
  const limits: ProjectionState['limits'] = { zoom: 1, maxShiftPx: maxShift, maxAngleRad: maxAngle, anglePx: kappa, noFill };
  for (let k = 0; k < n; k++) {
    const o = FRAME_NUMBERS * k;
    const pa = raw.get(f0 + k, PATH_ANGLE);
    const pls = raw.get(f0 + k, PATH_LOG_SCALE);
    let sigma = Math.exp((logScale[k] as number) - pls);
    if (constraint !== null && noFill) {
      const z = constraint.zoom[k] as number;
      const sigmaMax = maxRelativeScale(z);
      if (sigma > sigmaMax) {
        sigma = sigmaMax;
        logScale[k] = pls + Math.log(sigmaMax);
      }
      const kz = sigma / z;
      const geom = constraint.geometry;
      frame[o + 7] = z;
      frame[o + 8] = kz * geom.halfHeight;
      frame[o + 9] = kz * geom.halfWidth;
      frame[o + 10] = geom.halfWidth * (1 - kz);
      frame[o + 11] = geom.halfHeight * (1 - kz);
    }
    frame[o] = raw.get(f0 + k, PATH_X);
    frame[o + 1] = raw.get(f0 + k, PATH_Y);
    frame[o + 2] = pa;
    frame[o + 3] = Math.exp(pls);
    frame[o + 4] = Math.cos(pa);
    frame[o + 5] = Math.sin(pa);
    frame[o + 6] = sigma;
  }
  const capped = maxShift !== Number.POSITIVE_INFINITY || maxAngle !== Number.POSITIVE_INFINITY;

  const x = ws.x;
  const init = options.initial;
  if (init === undefined) for (let i = 0; i < m; i++) x[i] = g[i] as number;
  else {
    for (let k = 0; k < n; k++) {
      const o = k * PATH_DIMS;
      x[k] = init[o + PATH_X] as number;
      x[n + k] = init[o + PATH_Y] as number;
      x[2 * n + k] = kappa * (init[o + PATH_ANGLE] as number);
    }
  }
  const p: ProjectionState = { n, fixed, kappa, noFill, capped, constraint, limits, g, frame, pulled };
  projectPath(x, p);
  // The iteration is a function of its own: V8 then optimises the loop once, not the whole optimizer
  // again for each call that enters it (an on-stack replacement that left for the code after the loop).
  const iterations = fistaLoop(ws, p, m, step, maxIt, tol, lambda, eps, huber, mu, r);
  // The loop's y carries the momentum; x is the last projected (feasible) iterate.
  for (let k = 0; k < n; k++) {
    const o = k * PATH_DIMS;
    out[o + PATH_X] = x[k] as number;
    out[o + PATH_Y] = x[n + k] as number;
    out[o + PATH_ANGLE] = k < fixed ? (heldAngle[k] as number) : (x[2 * n + k] as number) / kappa;
    out[o + PATH_LOG_SCALE] = logScale[k] as number;
  }
  return { iterations, lastStepPx: ws.lastStepPx };
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
