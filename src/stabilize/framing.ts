/**
 * Framing: from frame-to-frame motions to each frame's correction (output pixel -> input pixel, the
 * inverse map the warp uses) and zoom, with no fill by default. This is the path planner the per-frame
 * pipeline calls.
 *
 *   motion[k] ─► CameraTrajectory (raw pose P_k, trajectory.ts)
 *             ─► smoother (gaussian | causal | two-pass; smoother.ts) ─► target pose G_k
 *             ─► zoom z_k (none | percent | adaptive | auto)
 *             ─► pull toward the raw pose where the crop window would leave the frame (path-constraints.ts;
 *                for two-pass, the constraint is part of the whole-clip optimisation) ─► final pose Q_k
 *             ─► correction C_k = P_k^-1 Q_k Z_k^-1,  Z_k^-1(u) = c + (u - c) / z_k
 *
 * Zoom (about the frame centre, z >= 1 zooms in):
 *   'none'      z = 1 and no pull: a stabilized frame shows fill wherever the correction uncovers it
 *               (reported per frame); at zoom 1 the only fill-free correction is none at all.
 *   <percent>   z = 1 + percent / 100 (as vid.stab's zoom), the path pulled so that no frame shows fill.
 *   'adaptive'  per-frame zoom that follows the zoom the target path needs, rate-limited (rising at most
 *               ZOOM_RATE_PER_FRAME and falling at most ZOOM_RELEASE_PER_FRAME per frame, so it holds near
 *               the recent peak need) and at most maxZoom; the pull covers the rest. Streaming, it rises
 *               when the need arrives; with the whole clip known (motions up front) it rises ahead of the
 *               need (under every frame's need, a ramp of slope ZOOM_RATE_PER_FRAME before and
 *               ZOOM_RELEASE_PER_FRAME after it).
 *   'auto'      one static zoom for the clip: the zoom budget is the root-mean-square of the zoom the
 *               target path needs over the clip (1 + RMS of z_need - 1, within maxZoom): frames that need
 *               more than the typical frame are pulled toward the raw path instead of zooming the whole
 *               clip for them (vid.stab's optzoom=1 also sizes its zoom for the bulk of the frames, 90 %,
 *               but then shows fill on the rest). With every motion up front the zoom reported is then the
 *               smallest static zoom that hides every border of the final path. Streaming, the same RMS
 *               over the frames known so far (look-ahead included), followed within ZOOM_RATE_PER_FRAME /
 *               ZOOM_RELEASE_PER_FRAME per frame (see WindowedPlan).
 *               With the two-pass path, where the path optimised at that zoom still keeps more than
 *               AUTO_SHAKE_RATIO of the input's high-frequency shake, the zoom is raised until it keeps that
 *               share, if a zoom no larger than the AUTO_NEED_QUANTILE quantile of the frames' needs gets
 *               there (steadierZoom; streaming, judged over each re-plan's window, which needs a look-ahead
 *               of at least 3 radii, the default's half). The share is that of the path optimised for its
 *               moving-average residual alone (PROBE_VELOCITY_WEIGHT); the path the output follows also
 *               weighs the fast shake of its steps (shakeWeight) and keeps a little more of the residual
 *               (on the large synthetic shakes of the tests: sized for 0.2, 0.25-0.28 kept). Large shakes within the
 *               crop margin get the zoom that removes them; shakes larger than the margin (walking) keep
 *               the RMS zoom, where more zoom would buy little.
 * Caps: maxShiftPx (length of the correction's shift) and maxAngleRad bound every correction.
 *
 * Tripod (option `tripod`, the stabilizer's reference 'first'): the target pose of every frame is the pose
 * of frame 0 (G_k = P_0, the identity), not a smoothed path, in every plan (whole clip, receding horizon,
 * per frame): the correction C_k = P_k^-1 Z_k^-1 maps frame k back onto frame 0's view, so slow drift and
 * pans are removed along with the shake (as vid.stab's tripod mode: absolute transforms, no smoothing).
 * The framing rules hold unchanged: where the held view would show fill at the frame's zoom, the pull moves
 * it toward the raw pose just enough (per frame; the two-pass optimiser is not used: its moving-average
 * cost leaves slow motion free and would let the whole view slide, where the pull moves only the frames
 * that need it); zoom 'none' shows the fill. Zoom 'auto' sizes its static zoom from the largest need of the
 * held view (within maxZoom), not the RMS: every frame pulled moves the view the user asked to hold. The
 * per-frame streaming plan needs no look-ahead (latency 0); relock() makes a later frame the view held
 * (a new reference).
 *
 * Latency (frames between push(motion k) and the pull that returns frame k): gaussian = its look-ahead
 * (the radius by default); causal = 0; with every motion known up front (two-pass, or zoom 'auto'), the
 * plan is made at construction and frames come out as soon as they are asked for. Without the motions up
 * front, 'two-pass' (any zoom) and 'gaussian' with zoom 'auto' are planned by a receding horizon
 * (WindowedPlan): the whole-clip plan of a window reaching L frames ahead (two-pass: L = 4 radii by
 * default, windowLookaheadFor; gaussian: its look-ahead), re-planned every L / 4 frames; latency L.
 *
 * Per-frame cost of the streaming plan: gaussian, the Gaussian window sums (O(radius)), a closed-form
 * projection and a 3x3 matrix; no allocation but the returned PlannedFrame. Receding horizon, two-pass:
 * a warm-started FISTA solve over 6 radii of frames every radius frames (on real clips' motions 0.03 ms per
 * frame on average at radius 15).
 */
import { UsageError } from '../errors.js';
import type { Mat3 } from '../motion/mat3.js';
import { expectInteger, expectNumber, expectOneOf } from '../validate.js';
import { composeMotionInto } from './motion-params.js';
import { DEFAULT_ROTATION_WEIGHT, DEFAULT_SHAKE_WEIGHT, SMOOTHERS, type SmootherName, type ZoomSetting } from './options.js';
import { type CropGeometry, cornerExcursionPx, createCropGeometry, FILL_TOLERANCE_PX, type PullLimits, pullCorrectionInto, requiredZoom } from './path-constraints.js';
import type { PathSmoother } from './smoother.js';
import { CausalSmoother, causalSmoothPathInto } from './smoother-causal.js';
import { GaussianSmoother, gaussianFitAt, gaussianSmoothPathInto, gaussianWeights } from './smoother-gaussian.js';
import { balancedVelocityWeight, optimizePathInto, PathOptimizeWorkspace } from './smoother-two-pass.js';
import { CameraTrajectory, PATH_ANGLE, PATH_DIMS, PATH_LOG_SCALE, PATH_X, PATH_Y, PathBuffer } from './trajectory.js';

/** The largest radius setRadius accepts, frames (the ring of raw poses is sized by it). */
export const MAX_RADIUS = 300;
/** Default smoothing radius, frames. */
export const DEFAULT_RADIUS = 15;
export { DEFAULT_ROTATION_WEIGHT };
/** Default most zoom 'auto' and 'adaptive' may use (1.15 = 15 % in). */
export const DEFAULT_MAX_ZOOM = 1.15;
/** 'adaptive': most rise of the zoom per frame (0.002 = 0.2 % of the frame per frame, 6 % per second at 30 fps). */
export const ZOOM_RATE_PER_FRAME = 0.002;
/**
 * 'adaptive': most fall of the zoom per frame. Slower than the rise: the zoom holds near the recent peak
 * need instead of dropping between the peaks of a shake, which would let the pull follow the shake.
 */
export const ZOOM_RELEASE_PER_FRAME = 0.0005;
/**
 * Zoom 'auto' with the two-pass path: the share of the input's high-frequency shake (the moving-average
 * residual the path optimiser minimises, xy, in output pixels) the output may keep before the zoom is
 * raised above the RMS rule to bring it down to this share. Chosen on the benchmark clips (bench/RESULTS.md,
 * motions from steady's registration): at the RMS zoom the anchors' synthetic clips keep 0.13 of their
 * shake, the Seattle clip 0.32 and the NUS clip 0.25; at 0.2 the latter two come out with half of vid.stab's
 * jitter or less at less zoom than vid.stab uses, and the synthetic clips keep their zoom. The walking clips
 * (park, forest) keep 0.49 and 0.51 and cannot reach it within their needs' quantile.
 */
export const AUTO_SHAKE_RATIO = 0.2;
/**
 * Zoom 'auto': the most the raise may zoom is the zoom that hides the target path of this share of the
 * frames (their need); when even that zoom leaves more than AUTO_SHAKE_RATIO of the shake (walking clips,
 * where the shake is larger than the crop margin) the zoom stays at the RMS rule: spending zoom there buys
 * little steadiness.
 */
export const AUTO_NEED_QUANTILE = 0.9;

/** Squared high-frequency residual (sample minus its centred (2r+1)-sample mean, x and y) summed over samples [a, b) of a path; samples a - r .. b - 1 + r are read. */
function shakeEnergy(p: Float64Array, r: number, a: number, b: number): number {
  const w = 2 * r + 1;
  let sx = 0;
  let sy = 0;
  for (let j = a - r; j <= a + r; j++) {
    sx += p[j * PATH_DIMS + PATH_X] as number;
    sy += p[j * PATH_DIMS + PATH_Y] as number;
  }
  let e = 0;
  for (let j = a; j < b; j++) {
    if (j > a) {
      sx += (p[(j + r) * PATH_DIMS + PATH_X] as number) - (p[(j - r - 1) * PATH_DIMS + PATH_X] as number);
      sy += (p[(j + r) * PATH_DIMS + PATH_Y] as number) - (p[(j - r - 1) * PATH_DIMS + PATH_Y] as number);
    }
    const dx = (p[j * PATH_DIMS + PATH_X] as number) - sx / w;
    const dy = (p[j * PATH_DIMS + PATH_Y] as number) - sy / w;
    e += dx * dx + dy * dy;
  }
  return e;
}

/** Share of the raw path's high-frequency shake a path keeps in output pixels (at that zoom), samples [a, b). */
function shakeRatio(path: Float64Array, raw: Float64Array, r: number, a: number, b: number, zoom: number): number {
  const er = shakeEnergy(raw, r, a, b);
  return er > 0 ? zoom * Math.sqrt(shakeEnergy(path, r, a, b) / er) : 0;
}

/**
 * Zoom 'auto', two-pass: the probes of steadierZoom solve the path without the term on the steps' fast
 * shake (smoother-two-pass.ts, velocityWeight), whose shake ratio is that of the moving-average residual
 * alone: the zoom is sized as it was before that term, and the path then spends the same crop margin on
 * both. Sized with the term, the ratio the rule reads rose on every clip (the margin went to the fast
 * shake, which the ratio does not count) and the rule gave up its raise where it had reached it.
 */
const PROBE_VELOCITY_WEIGHT = 0;

/** What the 'auto' rule asks of a plan: the shake ratio its optimised path keeps at a static zoom. */
interface ShakeProbe {
  shakeRatioAt(zoom: number): number;
}

/**
 * Zoom 'auto', two-pass: the RMS-rule zoom est, raised toward cap (the need quantile) until the optimised
 * path keeps AUTO_SHAKE_RATIO of the shake, when cap reaches it; two secant steps on the ratio (it falls
 * with the zoom), so at most four solves.
 */
function steadierZoom(est: number, cap: number, probe: ShakeProbe): number {
  if (!(cap > est + 1e-4)) return est;
  const rho = AUTO_SHAKE_RATIO;
  const rEst = probe.shakeRatioAt(est);
  if (rEst <= rho) return est;
  const rCap = probe.shakeRatioAt(cap);
  if (rCap > rho) return est;
  const z1 = est + ((cap - est) * (rEst - rho)) / (rEst - rCap);
  const r1 = probe.shakeRatioAt(z1);
  if (r1 > rho) return r1 > rCap ? z1 + ((cap - z1) * (r1 - rho)) / (r1 - rCap) : cap;
  return r1 < rEst ? est + ((z1 - est) * (rEst - rho)) / (rEst - r1) : z1;
}

/** Counts of zoom needs in steps of NEED_BIN from 1 (needs above the top bin count in it), for their quantiles while streaming. */
const NEED_BIN = 0.0005;
class NeedHistogram {
  private readonly counts: Float64Array;
  total = 0;
  constructor(maxZoom: number) {
    this.counts = new Float64Array(Math.ceil((maxZoom - 1) / NEED_BIN) + 1);
  }
  add(need: number, count: number): void {
    const b = Math.min(this.counts.length - 1, Math.max(0, Math.ceil((need - 1) / NEED_BIN - 1e-9)));
    this.counts[b] = (this.counts[b] as number) + count;
    this.total += count;
  }
  /** The smallest bin top at or under which a share q of the needs lies. */
  quantile(q: number): number {
    const want = q * this.total;
    let c = 0;
    for (let b = 0; b < this.counts.length; b++) {
      c += this.counts[b] as number;
      if (c >= want) return 1 + b * NEED_BIN;
    }
    return 1 + (this.counts.length - 1) * NEED_BIN;
  }
}

/** Options of a path planner (the settings object of path-planner.ts, PlannerSettings, is accepted as it is). */
export interface PathPlannerOptions {
  /** Frame width, pixels (>= 2). */
  readonly width: number;
  /** Frame height, pixels (>= 2). */
  readonly height: number;
  /** Camera-path smoother. @default 'gaussian' */
  readonly smoother?: SmootherName;
  /** Smoothing radius, frames (0..MAX_RADIUS). @default 15 */
  readonly radius?: number;
  /**
   * Look-ahead, frames (0..MAX_RADIUS; the latency of a streaming plan). gaussian: most look-ahead, the
   * window is [k - radius, k + min(radius, lookahead)]; @default radius. Streaming 'two-pass': the
   * receding horizon's look-ahead; @default windowLookaheadFor(radius) (4 radii). Ignored by causal and
   * by whole-clip plans.
   */
  readonly lookahead?: number;
  /** Framing (see the file comment). @default 'auto' */
  readonly zoom?: ZoomSetting;
  /** Most zoom 'auto' and 'adaptive' use (>= 1). @default 1.15 */
  readonly maxZoom?: number;
  /** Most correction shift, pixels (Infinity = no cap). @default Infinity */
  readonly maxShiftPx?: number;
  /** Most correction rotation, radians (Infinity = no cap). @default Infinity */
  readonly maxAngleRad?: number;
  /** Weight of rotation against translation in the pull (> 0; see DEFAULT_ROTATION_WEIGHT). @default 0.1 */
  readonly rotationWeight?: number;
  /**
   * Two-pass: weight of the steps' fast shake against the moving-average residual, relative to the raw
   * path's own balance of the two (>= 0; the optimiser's velocityWeight is this times rawShakeBalance of
   * the window planned, smoother-two-pass.ts). @default DEFAULT_SHAKE_WEIGHT (5)
   */
  readonly shakeWeight?: number;
  /**
   * Every motion of the clip (motion[0] is frame 0's, ignored), when known up front: the plan is made for
   * the whole clip at once (two-pass optimisation, zoom 'auto'). null: motions come through push().
   * @default null
   */
  readonly knownMotions?: readonly Mat3[] | null;
  /**
   * Tripod: hold frame 0's view (the target pose of every frame is frame 0's) instead of smoothing the
   * path; see the file comment. @default false
   */
  readonly tripod?: boolean;
}

/** The plan for one frame (fresh objects the caller may keep). */
export interface PlannedFrame {
  /** Frame number in push order (0-based). */
  readonly index: number;
  /** Output pixel -> input pixel of this frame, zoom included. */
  readonly correction: Mat3;
  /** Zoom of this frame (1 = none, 1.03 = 3 % in). */
  readonly zoom: number;
  /**
   * Raw camera path: where the centre of this frame lies in frame 0's pixels, and the frame's rotation
   * against frame 0: [x px, y px, angle rad] (trajectory.ts).
   */
  readonly rawPath: [number, number, number];
  /** The path the output follows (after smoothing and any pull), same units. */
  readonly smoothedPath: [number, number, number];
  /** Part of the output shows no pixel of this frame (the warp's border fill shows). */
  readonly fill: boolean;
}

/** A running planner: push motions in order, pull plans once their look-ahead is complete. */
export interface PathPlanner {
  /** Frames between pushing motion k and pulling frame k's plan, at the current settings. */
  readonly latencyFrames: number;
  /** The most latency live setting changes can lead to (for buffer sizing). */
  readonly maxLatencyFrames: number;
  /** Frames pulled so far whose output shows fill. */
  readonly fillFrames: number;
  /** Appends frame k's motion (frame k-1 -> frame k; frame 0's is ignored). Ignored when motions were known up front. */
  push(motion: Mat3): void;
  /** The next frame's plan, or null while its look-ahead is incomplete. */
  pull(): PlannedFrame | null;
  /** No more motions: the frames held back can be pulled. */
  finish(): void;
  /** Live change of the radius (streaming plans; a whole-clip plan is already made). */
  setRadius(radius: number): void;
  /**
   * Live change of the framing (streaming plans; from the next re-plan on). In a per-frame streaming plan
   * (gaussian made with a zoom other than 'auto', causal) 'auto' acts as 'adaptive'.
   */
  setZoom(zoom: ZoomSetting): void;
  /**
   * Tripod: the next frame pushed becomes the view held from that frame on (a new reference). A second
   * call before that frame is planned replaces the first. No-op without tripod and in a whole-clip plan.
   */
  relock(): void;
}

interface Resolved {
  readonly width: number;
  readonly height: number;
  readonly smoother: SmootherName;
  readonly radius: number;
  /** null: the smoother's default (see PathPlannerOptions.lookahead). */
  readonly lookahead: number | null;
  readonly zoom: ZoomSetting;
  readonly maxZoom: number;
  readonly maxShiftPx: number;
  readonly maxAngleRad: number;
  readonly rotationWeight: number;
  readonly shakeWeight: number;
  readonly knownMotions: readonly Mat3[] | null;
  readonly tripod: boolean;
}

/**
 * Tripod: the pose every frame's target holds, the pose of the lock frame (frame 0 at first), and a lock
 * frame asked for by relock() that takes over once it is planned. Poses are copied when their frame is
 * pushed, so the raw ring need not keep the lock frame.
 */
class ViewLock {
  private readonly pose = new Float64Array(PATH_DIMS);
  private readonly nextPose = new Float64Array(PATH_DIMS);
  /** Frame whose pose becomes the lock (-1: none asked for), and whether it was pushed yet. */
  private nextFrame = 0;
  private nextKnown = false;

  /** Frame `frame` (not pushed yet) becomes the lock from that frame on. */
  request(frame: number): void {
    this.nextFrame = frame;
    this.nextKnown = false;
  }

  /** Frame k's raw pose is now in raw. */
  pushed(k: number, raw: PathBuffer): void {
    if (k === this.nextFrame) {
      raw.read(k, this.nextPose, 0);
      this.nextKnown = true;
    }
  }

  /** Every frame before k is planned: a requested lock frame at or before k takes over. */
  advance(k: number): void {
    if (this.nextFrame >= 0 && this.nextKnown && k >= this.nextFrame) {
      this.pose.set(this.nextPose);
      this.nextFrame = -1;
    }
  }

  /** The target pose of frame j (pushed, and not before the frame last given to advance) into out[o..]. */
  targetInto(out: Float64Array, o: number, j: number): Float64Array {
    const p = this.nextFrame >= 0 && this.nextKnown && j >= this.nextFrame ? this.nextPose : this.pose;
    for (let c = 0; c < PATH_DIMS; c++) out[o + c] = p[c] as number;
    return out;
  }
}

function validateZoom(zoom: unknown): ZoomSetting {
  if (zoom === 'none' || zoom === 'auto' || zoom === 'adaptive') return zoom;
  if (typeof zoom === 'object' && zoom !== null && 'percent' in zoom) {
    return { percent: expectNumber('zoom.percent', (zoom as { percent: unknown }).percent, 0, 100) };
  }
  throw new UsageError('E_BAD_OPTION', `Expected none|auto|adaptive|{percent} for zoom but received ${JSON.stringify(zoom)}`);
}

/** Validates planner options (the public API's edge) and fills in the defaults. */
export function resolvePathPlannerOptions(o: PathPlannerOptions): Resolved {
  const width = expectInteger('width', o.width, 2, 1 << 16);
  const height = expectInteger('height', o.height, 2, 1 << 16);
  const radius = o.radius === undefined ? DEFAULT_RADIUS : expectInteger('radius', o.radius, 0, MAX_RADIUS);
  const cap = (name: string, v: number | undefined) => (v === undefined || v === Number.POSITIVE_INFINITY ? Number.POSITIVE_INFINITY : expectNumber(name, v, 0, Number.POSITIVE_INFINITY));
  return {
    width,
    height,
    smoother: o.smoother === undefined ? 'gaussian' : expectOneOf('smoother', o.smoother, SMOOTHERS),
    radius,
    lookahead: o.lookahead === undefined ? null : expectInteger('lookahead', o.lookahead, 0, MAX_RADIUS),
    zoom: o.zoom === undefined ? 'auto' : validateZoom(o.zoom),
    maxZoom: o.maxZoom === undefined ? DEFAULT_MAX_ZOOM : expectNumber('maxZoom', o.maxZoom, 1, 10),
    maxShiftPx: cap('maxShiftPx', o.maxShiftPx),
    maxAngleRad: cap('maxAngleRad', o.maxAngleRad),
    rotationWeight: o.rotationWeight === undefined ? DEFAULT_ROTATION_WEIGHT : expectNumber('rotationWeight', o.rotationWeight, 1e-6, 1e6),
    shakeWeight: o.shakeWeight === undefined ? DEFAULT_SHAKE_WEIGHT : expectNumber('shakeWeight', o.shakeWeight, 0, 1000),
    knownMotions: o.knownMotions ?? null,
    tripod: o.tripod ?? false,
  };
}

/** The correction's parameters (ax, ay, beta, sigma) of path sample q against raw sample p (path-constraints.ts). */
export function correctionParamsInto(out: Float64Array, p: Float64Array, po: number, q: Float64Array, qo: number): Float64Array {
  const pa = p[po + PATH_ANGLE] as number;
  const pls = p[po + PATH_LOG_SCALE] as number;
  const is = Math.exp(-pls);
  const c = Math.cos(pa);
  const s = Math.sin(pa);
  const dx = (q[qo + PATH_X] as number) - (p[po + PATH_X] as number);
  const dy = (q[qo + PATH_Y] as number) - (p[po + PATH_Y] as number);
  out[0] = is * (c * dx + s * dy);
  out[1] = is * (-s * dx + c * dy);
  out[2] = (q[qo + PATH_ANGLE] as number) - pa;
  out[3] = Math.exp((q[qo + PATH_LOG_SCALE] as number) - pls);
  return out;
}

/** The path sample q (into out[o..]) whose correction against raw sample p has parameters e = (ax, ay, beta, sigma). */
export function pathFromCorrectionInto(out: Float64Array, o: number, p: Float64Array, po: number, e: Float64Array): Float64Array {
  const pa = p[po + PATH_ANGLE] as number;
  const pls = p[po + PATH_LOG_SCALE] as number;
  const sc = Math.exp(pls);
  const c = Math.cos(pa);
  const s = Math.sin(pa);
  const ax = e[0] as number;
  const ay = e[1] as number;
  out[o + PATH_X] = (p[po + PATH_X] as number) + sc * (c * ax - s * ay);
  out[o + PATH_Y] = (p[po + PATH_Y] as number) + sc * (s * ax + c * ay);
  out[o + PATH_ANGLE] = pa + (e[2] as number);
  out[o + PATH_LOG_SCALE] = pls + Math.log(e[3] as number);
  return out;
}

/** The correction matrix C(u) = c + a + (sigma / zoom) R(beta) (u - c) of parameters e = (ax, ay, beta, sigma). */
export function correctionMatrixInto(out: Mat3, e: Float64Array, zoom: number, width: number, height: number): Mat3 {
  return composeMotionInto(out, e[0] as number, e[1] as number, e[2] as number, (e[3] as number) / zoom, (width - 1) / 2, (height - 1) / 2);
}

/** The zoom a frame's target correction needs, with the caps applied first (Infinity: no zoom hides it). */
function neededZoom(g: CropGeometry, e: Float64Array, maxShiftPx: number, maxAngleRad: number): number {
  let ax = e[0] as number;
  let ay = e[1] as number;
  const sh = Math.hypot(ax, ay);
  if (sh > maxShiftPx) {
    ax *= maxShiftPx / sh;
    ay *= maxShiftPx / sh;
  }
  const b = Math.max(-maxAngleRad, Math.min(maxAngleRad, e[2] as number));
  return requiredZoom(g, ax, ay, b, e[3] as number);
}

/** The shake ratio of the whole-clip optimised path at a static zoom (ShakeProbe of planClip). */
class ClipShakeProbe implements ShakeProbe {
  private readonly out: Float64Array;
  private readonly zoom: Float64Array;
  constructor(
    private readonly o: Resolved,
    private readonly geom: CropGeometry,
    private readonly anglePx: number,
    private readonly raw: PathBuffer,
    private readonly rawFlat: Float64Array,
    private readonly target: Float64Array,
    private readonly n: number,
  ) {
    this.out = new Float64Array(n * PATH_DIMS);
    this.zoom = new Float64Array(n);
  }
  shakeRatioAt(z: number): number {
    const { o, n } = this;
    this.zoom.fill(z);
    const constraint = { geometry: this.geom, zoom: this.zoom, maxShiftPx: o.maxShiftPx, maxAngleRad: o.maxAngleRad, anglePx: this.anglePx, noFill: true };
    optimizePathInto(this.out, this.raw, this.target, n, constraint, { radius: o.radius, velocityWeight: PROBE_VELOCITY_WEIGHT });
    return shakeRatio(this.out, this.rawFlat, o.radius, o.radius, n - o.radius, z);
  }
}

/** Whole-clip plan: every frame's final path sample, correction parameters and zoom. */
interface ClipPlan {
  readonly raw: PathBuffer;
  readonly rawFlat: Float64Array;
  readonly path: Float64Array;
  readonly params: Float64Array;
  readonly zoom: Float64Array;
}

/** The whole-clip plan of resolved options with knownMotions (see the file comment). */
function planClip(o: Resolved, motions: readonly Mat3[]): ClipPlan {
  const n = motions.length;
  const geom = createCropGeometry(o.width, o.height);
  const anglePx = Math.sqrt(o.rotationWeight) * geom.cornerRadius;
  const raw = new PathBuffer(Math.max(1, n));
  const traj = new CameraTrajectory(o.width, o.height, raw);
  for (const m of motions) traj.push(m);
  const rawFlat = new Float64Array(n * PATH_DIMS);
  for (let k = 0; k < n; k++) raw.read(k, rawFlat, k * PATH_DIMS);
  const target = new Float64Array(n * PATH_DIMS);
  if (o.tripod) for (let k = 0; k < n; k++) raw.read(0, target, k * PATH_DIMS);
  else if (o.smoother === 'causal') causalSmoothPathInto(target, raw, n, o.radius);
  else gaussianSmoothPathInto(target, raw, n, o.radius, o.smoother === 'gaussian' ? (o.lookahead ?? o.radius) : o.radius);
  // The zoom each frame's target correction needs.
  const e = new Float64Array(4);
  const need = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    correctionParamsInto(e, rawFlat, k * PATH_DIMS, target, k * PATH_DIMS);
    need[k] = neededZoom(geom, e, o.maxShiftPx, o.maxAngleRad);
  }
  const zoom = new Float64Array(n);
  const zs = o.zoom;
  if (zs === 'none') zoom.fill(1);
  else if (typeof zs === 'object') zoom.fill(1 + zs.percent / 100);
  else if (zs === 'auto' && o.tripod) {
    // The largest need of the held view (file comment, Tripod).
    let z = 1;
    for (let k = 0; k < n; k++) z = Math.max(z, Math.min(need[k] as number, o.maxZoom));
    zoom.fill(z);
  } else if (zs === 'auto') {
    let ss = 0;
    for (let k = 0; k < n; k++) {
      const ex = Math.min(need[k] as number, o.maxZoom) - 1;
      ss += ex > 0 ? ex * ex : 0;
    }
    let z = Math.min(o.maxZoom, 1 + Math.sqrt(ss / Math.max(1, n)));
    if (o.smoother === 'two-pass' && n >= 4 * o.radius + 2) {
      const sorted = Float64Array.from(need, (v) => Math.min(v, o.maxZoom)).sort();
      const cap = sorted[Math.min(n - 1, Math.floor(AUTO_NEED_QUANTILE * n))] as number;
      z = steadierZoom(z, cap, new ClipShakeProbe(o, geom, anglePx, raw, rawFlat, target, n));
    }
    zoom.fill(z);
  } else {
    // Tent dilation: z_k = max_j (need_j - rate |j - k|), in two linear passes; then the cap.
    let run = 1;
    for (let k = 0; k < n; k++) {
      run = Math.max(Math.min(need[k] as number, o.maxZoom), run - ZOOM_RELEASE_PER_FRAME, 1);
      zoom[k] = run;
    }
    run = 1;
    for (let k = n - 1; k >= 0; k--) {
      run = Math.max(Math.min(need[k] as number, o.maxZoom), run - ZOOM_RATE_PER_FRAME, 1);
      if (run > (zoom[k] as number)) zoom[k] = run;
    }
  }
  const noFill = zs !== 'none';
  const path = new Float64Array(n * PATH_DIMS);
  if (o.smoother === 'two-pass' && !o.tripod) {
    const ws = new PathOptimizeWorkspace();
    const velocityWeight = balancedVelocityWeight(o.shakeWeight, raw, 0, n, o.radius, ws);
    optimizePathInto(path, raw, target, n, { geometry: geom, zoom, maxShiftPx: o.maxShiftPx, maxAngleRad: o.maxAngleRad, anglePx, noFill }, { radius: o.radius, velocityWeight, workspace: ws });
  } else path.set(target);
  // Per-frame pull (for two-pass a no-op up to rounding: its path is feasible already) and final params.
  const params = new Float64Array(n * 4);
  const pulled = new Float64Array(4);
  for (let k = 0; k < n; k++) {
    const po = k * PATH_DIMS;
    correctionParamsInto(e, rawFlat, po, path, po);
    const sc = Math.exp(rawFlat[po + PATH_LOG_SCALE] as number);
    pullCorrectionInto(pulled, geom, e[0] as number, e[1] as number, e[2] as number, e[3] as number, {
      zoom: zoom[k] as number,
      maxShiftPx: o.maxShiftPx,
      maxAngleRad: o.maxAngleRad,
      anglePx: anglePx / sc,
      noFill,
    });
    params.set(pulled, k * 4);
    pathFromCorrectionInto(path, po, rawFlat, po, pulled);
  }
  if (zs === 'auto') {
    // The smallest static zoom that hides every border of the final path.
    let z = 1;
    for (let k = 0; k < n; k++) {
      const zk = requiredZoom(geom, params[k * 4] as number, params[k * 4 + 1] as number, params[k * 4 + 2] as number, params[k * 4 + 3] as number);
      if (zk > z) z = zk;
    }
    // The pull was made at the budget, so z never exceeds it (up to rounding).
    zoom.fill(Math.min(z, zoom[0] as number));
  }
  return { raw, rawFlat, path, params, zoom };
}

/**
 * Receding-horizon plan: frames held fixed before the frame being planned, in radii. The moving-average
 * term of a frame reaches radius frames back, and those terms' windows another radius: with two radii held
 * every term that touches a frame being planned is the whole clip's term.
 */
export const WINDOW_HISTORY_RADII = 2;
/**
 * Receding-horizon plan: default look-ahead, in radii (see windowLookaheadFor): 90 frames, 3 s at 30 fps,
 * at the default radius. The 'auto' zoom is estimated from the frames known so far, look-ahead included,
 * so a longer look-ahead starts it closer to the whole clip's: on the anchors' four synthetic clips a
 * look-ahead of 30 / 45 / 60 / 90 frames gave a mean zoom of 1.0313 / 1.0312 / 1.0311 / 1.0308 (the
 * whole-clip plan 1.0304, vidstab 1.0310-1.0313) and the same jitter within 0.03 px. Frames waiting for
 * it are held in memory (90 frames of 1080p: 280 MB).
 */
export const WINDOW_LOOKAHEAD_RADII = 6;
/**
 * Receding-horizon plan: share of the look-ahead committed from each solution (a re-plan every
 * L / 4 frames; every committed frame had at least three quarters of the look-ahead). On the anchors'
 * synthetic recipe (5 seeds, look-ahead 60) committing 8, 16, 24 or 32 frames per re-plan leaves the same
 * jitter (0.545 +- 0.001 px) and a re-plan per frame no less, while the cost falls with the share.
 */
export const WINDOW_COMMIT_SHARE = 0.25;
/** Receding-horizon plan: most FISTA iterations per re-plan (each starts from the last solution). */
export const WINDOW_MAX_ITERATIONS = 200;
/** Receding-horizon plan: a re-plan stops when no path value moves by more than this, pixels. */
export const WINDOW_TOLERANCE_PX = 0.01;

/** Receding-horizon plan: the default look-ahead for a radius, frames (the latency of a streaming 'two-pass'). */
export function windowLookaheadFor(radius: number): number {
  return Math.min(MAX_RADIUS, WINDOW_LOOKAHEAD_RADII * Math.max(0, Math.floor(radius)));
}

/** Receding-horizon plan: frames committed per re-plan at a look-ahead of L frames (at least 1). */
export function windowCommitFrames(lookahead: number): number {
  return Math.max(1, Math.round(WINDOW_COMMIT_SHARE * lookahead));
}

/** Numbers kept per committed frame: path (4), correction parameters (4), zoom, raw pose (4). */
const REC = 13;
const REC_PARAMS = 4;
const REC_ZOOM = 8;
const REC_RAW = 9;

/**
 * The streaming plan of 'two-pass' (and of zoom 'auto' with the gaussian smoother): a receding-horizon
 * version of the whole-clip plan. When frame k is due and frames up to k + L are known (L the look-ahead,
 * or the clip ended), the window [k - H, min(known, k + L + 1)) is planned as the whole clip would be
 * (two-pass: optimizePathInto under the crop constraint; gaussian: the Gaussian path, pulled), with its
 * first H samples held at the path already committed for them; frames [k, k + B) are committed from the
 * solution, and the next re-plan starts from it. Every decision depends only on the frames up to k + L, so
 * the plan is the same however pushes and pulls interleave.
 *
 * Zoom 'auto' streaming: the whole-clip rule (1 + RMS of the zoom each frame's target path needs) over the
 * frames known at the re-plan (the needs of committed frames as they were at their commit, those of the
 * window from its target path), followed by the zoom within ZOOM_RATE_PER_FRAME / ZOOM_RELEASE_PER_FRAME
 * per frame; the first frame starts at the estimate. 'adaptive': the whole-clip tent over the window's
 * needs, reached from the last committed zoom within the same rates.
 */
class WindowedPlan implements ShakeProbe {
  private radius: number;
  zoomSetting: ZoomSetting;
  private readonly explicitLookahead: number | null;
  private readonly raw: PathBuffer;
  private readonly traj: CameraTrajectory;
  private finished = false;
  /** Next frame to commit; next frame to pull. */
  private next = 0;
  private out = 0;
  /** Committed frames, REC numbers each, frame i at slot i % recCap. */
  private readonly recCap = 2 * MAX_RADIUS + MAX_RADIUS + 4;
  private readonly rec = new Float64Array(this.recCap * REC);
  /** Sum over committed frames of (min(need, maxZoom) - 1)^2 where positive ('auto'). */
  private ssNeed = 0;
  private weights: Float64Array;
  private weightsRadius: number;
  // Window buffers (grown on demand).
  private cap = 0;
  private tgt = new Float64Array(0);
  private sol = new Float64Array(0);
  private init = new Float64Array(0);
  private zoomW = new Float64Array(0);
  private needW = new Float64Array(0);
  /** 'auto', two-pass: the window's raw path, a probe solution and its zoom; the needs of committed frames; the last goal. */
  private rawW = new Float64Array(0);
  private probeSol = new Float64Array(0);
  private probeZoom = new Float64Array(0);
  private readonly needs: NeedHistogram;
  private autoGoal = 1;
  /** Tripod: the held view; the largest need (within maxZoom) of the committed frames. */
  private readonly lock = new ViewLock();
  private maxNeed = 1;
  /** The window the probe solves: first frame, samples, held samples, shake measured over samples [a, b). */
  private probeS = 0;
  private probeN = 0;
  private probeHeld = 0;
  private probeA = 0;
  private probeB = 0;
  private prevSol = new Float64Array(0);
  private prevStart = 0;
  private prevEnd = 0;
  private readonly ws = new PathOptimizeWorkspace();
  /** The auto zoom's probes: a workspace of their own, as they solve another problem (no step term) whose step size the window's solve would otherwise estimate again each re-plan. */
  private readonly probeWs = new PathOptimizeWorkspace();
  private readonly e4 = new Float64Array(4);
  private readonly p4 = new Float64Array(4);
  private readonly limits: { -readonly [K in keyof PullLimits]: PullLimits[K] };

  constructor(
    private readonly o: Resolved,
    private readonly geom: CropGeometry,
    private readonly anglePx: number,
  ) {
    this.radius = o.radius;
    this.zoomSetting = o.zoom;
    this.explicitLookahead = o.lookahead;
    // Raw poses from the oldest frame a window can reach (2 MAX_RADIUS back) to the newest; grown when
    // pushes run ahead of pulls.
    this.raw = new PathBuffer(4 * MAX_RADIUS + 64, true);
    this.traj = new CameraTrajectory(o.width, o.height, this.raw);
    this.weights = gaussianWeights(this.radius);
    this.weightsRadius = this.radius;
    this.limits = { zoom: 1, maxShiftPx: o.maxShiftPx, maxAngleRad: o.maxAngleRad, anglePx, noFill: true };
    this.needs = new NeedHistogram(o.maxZoom);
  }

  /** ShakeProbe: the window (as set up by plan()) solved at a static zoom; the shake ratio of its solution. */
  shakeRatioAt(z: number): number {
    const { o, probeN: wn, probeZoom, probeSol } = this;
    probeZoom.fill(z, 0, wn);
    const constraint = { geometry: this.geom, zoom: probeZoom, maxShiftPx: o.maxShiftPx, maxAngleRad: o.maxAngleRad, anglePx: this.anglePx, noFill: true };
    optimizePathInto(probeSol, this.raw, this.tgt, wn, constraint, {
      radius: this.radius,
      velocityWeight: PROBE_VELOCITY_WEIGHT,
      firstFrame: this.probeS,
      fixedLeading: this.probeHeld,
      initial: this.init,
      workspace: this.probeWs,
      maxIterations: WINDOW_MAX_ITERATIONS,
      tolerancePx: WINDOW_TOLERANCE_PX,
    });
    return shakeRatio(probeSol, this.rawW, this.radius, this.probeA, this.probeB, z);
  }

  /** The current look-ahead L, frames. */
  get lookahead(): number {
    if (this.o.smoother === 'gaussian') return Math.min(this.radius, this.explicitLookahead ?? this.radius);
    return this.explicitLookahead ?? windowLookaheadFor(this.radius);
  }

  /** The most look-ahead a live radius change can lead to, frames. */
  get maxLookahead(): number {
    if (this.o.smoother === 'gaussian') return Math.min(MAX_RADIUS, this.explicitLookahead ?? MAX_RADIUS);
    return this.explicitLookahead ?? windowLookaheadFor(MAX_RADIUS);
  }

  setRadius(r: number): void {
    this.radius = r;
  }

  push(motion: Mat3): void {
    const oldest = Math.max(0, this.next - 2 * MAX_RADIUS);
    if (this.raw.length + 1 - oldest > this.raw.capacity) this.raw.resizeRing(2 * this.raw.capacity);
    this.lock.pushed(this.traj.push(motion), this.raw);
  }

  /** Tripod: the next frame pushed becomes the view held (PathPlanner.relock). */
  relock(): void {
    this.lock.request(this.raw.length);
  }

  finish(): void {
    this.finished = true;
  }

  /** The committed record of the next frame (its index), or -1 while its look-ahead is incomplete. */
  pull(): number {
    if (this.out >= this.next) {
      const n = this.raw.length;
      if (this.next >= n || (!this.finished && n < this.next + this.lookahead + 1)) return -1;
      this.plan();
    }
    return this.out++;
  }

  /** Offset in records of a committed frame's numbers (held until the frame is 3 MAX_RADIUS frames old). */
  record(index: number): number {
    return (index % this.recCap) * REC;
  }

  /** The committed frames (see record). */
  get records(): Float64Array {
    return this.rec;
  }

  private ensure(wn: number): void {
    if (wn <= this.cap) return;
    const c = Math.max(wn, 2 * this.cap, 64);
    const prev = this.prevSol;
    this.cap = c;
    this.tgt = new Float64Array(c * PATH_DIMS);
    this.sol = new Float64Array(c * PATH_DIMS);
    this.init = new Float64Array(c * PATH_DIMS);
    this.zoomW = new Float64Array(c);
    this.needW = new Float64Array(c);
    this.rawW = new Float64Array(c * PATH_DIMS);
    this.probeSol = new Float64Array(c * PATH_DIMS);
    this.probeZoom = new Float64Array(c);
    this.prevSol = new Float64Array(c * PATH_DIMS);
    this.prevSol.set(prev);
  }

  /** One re-plan at the next frame to commit, and its commits. */
  private plan(): void {
    const o = this.o;
    const r = this.radius;
    const L = this.lookahead;
    const gaussian = o.smoother === 'gaussian';
    // Tripod: the target is the held view and no solve is made (file comment, Tripod).
    const tripod = o.tripod;
    const k = this.next;
    const n = this.raw.length;
    const e = Math.min(n, k + L + 1);
    const s = Math.max(0, k - (gaussian ? 0 : WINDOW_HISTORY_RADII * r));
    const wn = e - s;
    const held = k - s;
    this.ensure(wn);
    const { tgt, sol, zoomW, needW, rec, raw, geom } = this;
    if (this.weightsRadius !== r) {
      this.weights = gaussianWeights(r, this.weights);
      this.weightsRadius = r;
    }
    // Target: the committed path for the held frames, the Gaussian path (as far as it is known) after
    // (tripod: the held view).
    for (let j = s; j < k; j++) {
      const ro = this.record(j);
      for (let c = 0; c < PATH_DIMS; c++) tgt[(j - s) * PATH_DIMS + c] = rec[ro + c] as number;
      zoomW[j - s] = rec[ro + REC_ZOOM] as number;
    }
    const la = gaussian ? Math.min(r, L) : r;
    const e4 = this.e4;
    let ss = this.ssNeed;
    if (tripod) this.lock.advance(k);
    for (let j = k; j < e; j++) {
      const wo = (j - s) * PATH_DIMS;
      if (tripod) this.lock.targetInto(tgt, wo, j);
      else gaussianFitAt(raw, j, Math.max(0, j - r), Math.min(e - 1, j + la), this.weights, tgt, wo);
      raw.read(j, sol, wo);
      correctionParamsInto(e4, sol, wo, tgt, wo);
      const need = neededZoom(geom, e4, o.maxShiftPx, o.maxAngleRad);
      needW[j - s] = need;
      const ex = Math.min(need, o.maxZoom) - 1;
      if (ex > 0) ss += ex * ex;
    }
    // Where the solves start: the previous window's solution where it reaches, the target after.
    if (!gaussian && !tripod) {
      const init = this.init;
      for (let j = s; j < e; j++) {
        const src = j >= this.prevStart && j < this.prevEnd ? this.prevSol : tgt;
        const so = src === tgt ? (j - s) * PATH_DIMS : (j - this.prevStart) * PATH_DIMS;
        for (let c = 0; c < PATH_DIMS; c++) init[(j - s) * PATH_DIMS + c] = src[so + c] as number;
      }
    }
    // Zoom of the frames to plan: from the last committed zoom toward the setting's goal, within the rates.
    const zs = this.zoomSetting;
    const noFill = zs !== 'none';
    if (zs === 'none' || typeof zs === 'object') {
      const z = zs === 'none' ? 1 : 1 + zs.percent / 100;
      for (let j = k; j < e; j++) zoomW[j - s] = z;
    } else {
      if (zs === 'auto' && tripod) {
        // The largest need known so far (file comment, Tripod).
        let est = this.maxNeed;
        for (let j = k; j < e; j++) est = Math.max(est, Math.min(needW[j - s] as number, o.maxZoom));
        for (let j = k; j < e; j++) zoomW[j - s] = est;
      } else if (zs === 'auto') {
        let est = Math.min(o.maxZoom, 1 + Math.sqrt(ss / e));
        if (!gaussian) est = this.raisedAutoZoom(est, s, e, k);
        for (let j = k; j < e; j++) zoomW[j - s] = est;
      } else {
        // Tent dilation of the window's needs (as the whole-clip 'adaptive').
        let run = 1;
        for (let j = k; j < e; j++) {
          run = Math.max(Math.min(needW[j - s] as number, o.maxZoom), run - ZOOM_RELEASE_PER_FRAME, 1);
          zoomW[j - s] = run;
        }
        run = 1;
        for (let j = e - 1; j >= k; j--) {
          run = Math.max(Math.min(needW[j - s] as number, o.maxZoom), run - ZOOM_RATE_PER_FRAME, 1);
          if (run > (zoomW[j - s] as number)) zoomW[j - s] = run;
        }
      }
      if (k > 0) {
        let zPrev = rec[this.record(k - 1) + REC_ZOOM] as number;
        for (let j = k; j < e; j++) {
          const goal = zoomW[j - s] as number;
          zPrev = Math.max(zPrev - ZOOM_RELEASE_PER_FRAME, Math.min(zPrev + ZOOM_RATE_PER_FRAME, goal));
          zoomW[j - s] = zPrev;
        }
      }
    }
    // The path of the window.
    if (gaussian || tripod) sol.set(tgt.subarray(0, wn * PATH_DIMS));
    else {
      const init = this.init;
      optimizePathInto(
        sol,
        raw,
        tgt,
        wn,
        { geometry: geom, zoom: zoomW, maxShiftPx: o.maxShiftPx, maxAngleRad: o.maxAngleRad, anglePx: this.anglePx, noFill },
        {
          radius: r,
          velocityWeight: balancedVelocityWeight(o.shakeWeight, raw, s, wn, r, this.ws),
          firstFrame: s,
          fixedLeading: held,
          initial: init,
          workspace: this.ws,
          maxIterations: WINDOW_MAX_ITERATIONS,
          tolerancePx: WINDOW_TOLERANCE_PX,
        },
      );
      this.prevSol.set(sol.subarray(0, wn * PATH_DIMS));
      this.prevStart = s;
      this.prevEnd = e;
    }
    // Commit: B frames, or the rest of the clip once it is all in the window.
    const last = this.finished && e === n ? e : Math.min(e, k + (gaussian ? 1 : windowCommitFrames(L)));
    const lim = this.limits;
    const p4 = this.p4;
    for (let j = k; j < last; j++) {
      const wo = (j - s) * PATH_DIMS;
      const ro = this.record(j);
      raw.read(j, rec, ro + REC_RAW);
      const z = zoomW[j - s] as number;
      correctionParamsInto(e4, rec, ro + REC_RAW, sol, wo);
      lim.zoom = z;
      lim.noFill = noFill;
      lim.anglePx = this.anglePx / Math.exp(rec[ro + REC_RAW + PATH_LOG_SCALE] as number);
      pullCorrectionInto(p4, geom, e4[0] as number, e4[1] as number, e4[2] as number, e4[3] as number, lim);
      for (let c = 0; c < 4; c++) rec[ro + REC_PARAMS + c] = p4[c] as number;
      pathFromCorrectionInto(rec, ro, rec, ro + REC_RAW, p4);
      rec[ro + REC_ZOOM] = z;
      const ex = Math.min(needW[j - s] as number, o.maxZoom) - 1;
      if (ex > 0) this.ssNeed += ex * ex;
      if (ex + 1 > this.maxNeed) this.maxNeed = ex + 1;
      this.needs.add(ex + 1, 1);
    }
    this.next = last;
  }

  /**
   * Zoom 'auto', two-pass: the RMS-rule zoom est raised by steadierZoom over the window [s, e) (frame k
   * the first to commit), the cap the need quantile over the committed frames and the window's. Where the
   * window is too short to measure the shake (the clip's last frames; a look-ahead under 3 radii, where
   * the zoom stays at the RMS rule) the last goal holds. Radius 0 smooths nothing: no raise.
   */
  private raisedAutoZoom(est: number, s: number, e: number, k: number): number {
    const r = this.radius;
    const wn = e - s;
    const a = Math.max(r, k - s);
    const b = wn - r;
    if (r === 0) {
      this.autoGoal = est;
      return est;
    }
    if (b - a < 2 * r + 1) return Math.max(est, this.autoGoal);
    const { needs, needW, rawW, o } = this;
    for (let j = k; j < e; j++) needs.add(Math.min(needW[j - s] as number, o.maxZoom), 1);
    const cap = Math.min(o.maxZoom, needs.quantile(AUTO_NEED_QUANTILE));
    for (let j = k; j < e; j++) needs.add(Math.min(needW[j - s] as number, o.maxZoom), -1);
    for (let j = s; j < e; j++) this.raw.read(j, rawW, (j - s) * PATH_DIMS);
    this.probeS = s;
    this.probeN = wn;
    this.probeHeld = k - s;
    this.probeA = a;
    this.probeB = b;
    this.autoGoal = steadierZoom(est, cap, this);
    return this.autoGoal;
  }
}

/** Makes a path planner (see the file comment); validates its options. */
export function createPathPlanner(options: PathPlannerOptions): PathPlanner {
  const o = resolvePathPlannerOptions(options);
  const { width: w, height: h } = o;
  const geom = createCropGeometry(w, h);
  const anglePx = Math.sqrt(o.rotationWeight) * geom.cornerRadius;
  let zoomSetting: ZoomSetting = o.zoom;
  let radius = o.radius;
  let fillFrames = 0;
  const e = new Float64Array(4);
  const pulledE = new Float64Array(4);
  const rawS = new Float64Array(PATH_DIMS);
  const pathS = new Float64Array(PATH_DIMS);

  const frame = (index: number, p: Float64Array, po: number, q: Float64Array, qo: number, params: Float64Array, po4: number, z: number): PlannedFrame => {
    const view = params.subarray(po4, po4 + 4);
    const correction = correctionMatrixInto(new Float64Array(9), view, z, w, h);
    const fill = !(cornerExcursionPx(geom, view[0] as number, view[1] as number, view[2] as number, view[3] as number, z) <= FILL_TOLERANCE_PX);
    if (fill) fillFrames++;
    return {
      index,
      correction,
      zoom: z,
      rawPath: [p[po + PATH_X] as number, p[po + PATH_Y] as number, p[po + PATH_ANGLE] as number],
      smoothedPath: [q[qo + PATH_X] as number, q[qo + PATH_Y] as number, q[qo + PATH_ANGLE] as number],
      fill,
    };
  };

  // Whole clip known up front.
  if (o.knownMotions !== null) {
    const plan = planClip(o, o.knownMotions);
    const n = o.knownMotions.length;
    let next = 0;
    return {
      latencyFrames: 0,
      maxLatencyFrames: 0,
      get fillFrames() {
        return fillFrames;
      },
      push() {},
      pull() {
        if (next >= n) return null;
        const k = next++;
        return frame(k, plan.rawFlat, k * PATH_DIMS, plan.path, k * PATH_DIMS, plan.params, k * 4, plan.zoom[k] as number);
      },
      finish() {},
      setRadius() {},
      setZoom() {},
      relock() {},
    };
  }

  // Streaming, receding horizon ('two-pass'; 'auto' zoom with the gaussian smoother).
  if (o.smoother === 'two-pass' || (o.smoother === 'gaussian' && o.zoom === 'auto')) {
    const plan = new WindowedPlan(o, geom, anglePx);
    return {
      get latencyFrames() {
        return plan.lookahead;
      },
      maxLatencyFrames: plan.maxLookahead,
      get fillFrames() {
        return fillFrames;
      },
      push(motion) {
        plan.push(motion);
      },
      pull() {
        const k = plan.pull();
        if (k < 0) return null;
        const ro = plan.record(k);
        const rec = plan.records;
        return frame(k, rec, ro + REC_RAW, rec, ro, rec, ro + REC_PARAMS, rec[ro + REC_ZOOM] as number);
      },
      finish() {
        plan.finish();
      },
      setRadius(r) {
        plan.setRadius(Math.max(0, Math.min(MAX_RADIUS, Math.round(r))));
      },
      setZoom(z) {
        plan.zoomSetting = validateZoom(z);
      },
      relock() {
        if (o.tripod) plan.relock();
      },
    };
  }

  // Streaming, per frame. Tripod: the held view is the target, known on arrival: the smoother with no
  // look-ahead only hands the frames on in order (its path is replaced).
  const smoother: PathSmoother =
    o.smoother === 'causal' || o.tripod ? new CausalSmoother(o.tripod ? 0 : radius) : new GaussianSmoother(radius, o.lookahead ?? undefined);
  const raw = new PathBuffer(2 * MAX_RADIUS + 4, true);
  const traj = new CameraTrajectory(w, h, raw);
  const lock = new ViewLock();
  let zoomNow = 1;
  let pulled = 0;
  const limits: { -readonly [K in keyof PullLimits]: PullLimits[K] } = { zoom: 1, maxShiftPx: o.maxShiftPx, maxAngleRad: o.maxAngleRad, anglePx, noFill: true };

  return {
    get latencyFrames() {
      return smoother.lookahead;
    },
    maxLatencyFrames: o.smoother === 'causal' || o.tripod ? 0 : Math.min(MAX_RADIUS, o.lookahead ?? MAX_RADIUS),
    get fillFrames() {
      return fillFrames;
    },
    push(motion) {
      // The raw ring must still hold every frame not pulled yet: grow it if pulls fall behind.
      if (raw.length + 1 - pulled > raw.capacity) raw.resizeRing(2 * raw.capacity);
      const k = traj.push(motion);
      lock.pushed(k, raw);
      smoother.push(raw.get(k, PATH_X), raw.get(k, PATH_Y), raw.get(k, PATH_ANGLE), raw.get(k, PATH_LOG_SCALE));
    },
    pull() {
      const k = smoother.pull(pathS, 0);
      if (k < 0) return null;
      pulled = k + 1;
      if (o.tripod) {
        lock.advance(k);
        lock.targetInto(pathS, 0, k);
      }
      raw.read(k, rawS, 0);
      correctionParamsInto(e, rawS, 0, pathS, 0);
      const zs = zoomSetting;
      let z = 1;
      if (typeof zs === 'object') z = 1 + zs.percent / 100;
      else if (zs === 'auto' || zs === 'adaptive') {
        const need = Math.max(1, Math.min(o.maxZoom, neededZoom(geom, e, o.maxShiftPx, o.maxAngleRad)));
        zoomNow = need > zoomNow ? Math.min(need, zoomNow + ZOOM_RATE_PER_FRAME) : Math.max(need, zoomNow - ZOOM_RELEASE_PER_FRAME);
        z = zoomNow;
      }
      limits.zoom = z;
      limits.noFill = zs !== 'none';
      limits.anglePx = anglePx / Math.exp(rawS[PATH_LOG_SCALE] as number);
      pullCorrectionInto(pulledE, geom, e[0] as number, e[1] as number, e[2] as number, e[3] as number, limits);
      pathFromCorrectionInto(pathS, 0, rawS, 0, pulledE);
      return frame(k, rawS, 0, pathS, 0, pulledE, 0, z);
    },
    finish() {
      smoother.finish();
    },
    setRadius(r) {
      radius = Math.max(0, Math.min(MAX_RADIUS, Math.round(r)));
      // Tripod: the order-keeping smoother stays at no look-ahead.
      if (!o.tripod) smoother.setRadius(radius);
    },
    setZoom(z) {
      zoomSetting = validateZoom(z);
    },
    relock() {
      if (o.tripod) lock.request(raw.length);
    },
  };
}

/** What planCameraPath returns. */
export interface CameraPathPlan {
  /** One plan per motion, in order. */
  readonly frames: readonly PlannedFrame[];
  /** Mean zoom over the frames. */
  readonly meanZoom: number;
  /** Frames whose output shows fill. */
  readonly fillFrames: number;
}

/** Plans a whole clip at once from its motions (motion[0] is frame 0's): the whole-clip planner, pulled to the end. */
export function planCameraPath(motions: readonly Mat3[], options: Omit<PathPlannerOptions, 'knownMotions'>): CameraPathPlan {
  const planner = createPathPlanner({ ...options, knownMotions: motions });
  const frames: PlannedFrame[] = [];
  let zsum = 0;
  for (let f = planner.pull(); f !== null; f = planner.pull()) {
    frames.push(f);
    zsum += f.zoom;
  }
  return { frames, meanZoom: frames.length > 0 ? zsum / frames.length : 1, fillFrames: planner.fillFrames };
}
