/**
 * Camera path planning: from frame-to-frame motions to per-frame corrections, with smoothing, a
 * no-fill constraint within a zoom budget, and framing.
 *
 * Path. The camera of frame k is C_k = motion_k · ... · motion_1 (frame-0 pixel coordinates -> frame k),
 * composed exactly as matrices. Its similarity part about the image centre c, C(x) ≈ c + t + s R(a) (x - c),
 * gives the path sample P_k = (t_x, t_y, a, ln s) (angle unwrapped, never from acos). The smoothed path
 * S_k is a filter of P (below); the virtual camera is M(S_k), and the correction (output pixel -> input
 * pixel, the inverse map of the warp) is E_k · Z_k with the excursion E_k = C_k · M(S_k)^-1 and Z_k the
 * zoom about the centre. This is exact for any model, however far the camera pans.
 *
 * Smoothers. 'gaussian': a Gaussian window (sigma = radius / 2) over [k - m, k + m] with m = min(radius,
 * frames available on each side), symmetric so the ends are not pulled anywhere; look-ahead = radius.
 * 'causal': a critically damped second-order follower (two cascaded exponential filters with a velocity
 * term), zero look-ahead, for live use. 'two-pass': the Gaussian over the whole known clip (motions are
 * given up front), which also allows the static 'auto' zoom.
 *
 * No fill. A frame shows fill when a corner of the output maps (through the correction) more than
 * MARGIN_PX outside the input frame. For each frame the needed zoom z_need(E) is found by bisection on the
 * exact corner test. When it exceeds the zoom budget, the excursion is shrunk toward the raw camera:
 * E(λ) = M(λ e) · M(e)^-1 · E with e the similarity parameters of E, λ in [0, 1] the largest value that
 * fits (bisection); λ is then made smooth over time (a running minimum then a Gaussian, never above the
 * frame's own λ), so the path is pulled toward the raw path gradually, in the spirit of the
 * crop-window-constrained paths of Grundmann et al. 2011 (CVPR, "Auto-directed video stabilization with
 * robust L1 optimal camera paths").
 *
 * Framing. 'none': zoom 1 (the border fill shows where the frame is uncovered). A percent: that fixed zoom,
 * the budget of the constraint. 'adaptive': zoom that follows need (a running maximum of z_need then a
 * Gaussian, never below the frame's need), within ADAPTIVE_MAX_ZOOM. 'auto' (whole clip known): one
 * static zoom, the largest z_need over the clip within ADAPTIVE_MAX_ZOOM.
 *
 * Latency: the path look-ahead (radius) plus the constraint and zoom windows (radius / 2 each), i.e.
 * about 2 x radius frames for 'gaussian'; 0 for 'causal'; whole-clip modes know every motion up front.
 * Memory: a ring of a few numbers per frame over the latency window, so live runs stay flat.
 */
import { invertInto, type Mat3, multiplyInto, setIdentityInto } from '../motion/mat3.js';

/** Framing settings. */
export type PlannerZoom = 'none' | 'auto' | 'adaptive' | { readonly percent: number };

/** Settings of a path planner (validated by the caller). */
export interface PlannerSettings {
  readonly width: number;
  readonly height: number;
  readonly smoother: 'gaussian' | 'causal' | 'two-pass';
  /** Smoothing radius, frames. */
  readonly radius: number;
  readonly zoom: PlannerZoom;
  /** Most correction shift, pixels (Infinity = none). */
  readonly maxShiftPx: number;
  /** Most correction rotation, radians (Infinity = none). */
  readonly maxAngleRad: number;
  /** Every motion of the clip, when known up front (two-pass, auto zoom, --transforms-in). */
  readonly knownMotions: readonly Mat3[] | null;
}

/** The plan for one frame (matrices and tuples are fresh objects the caller may keep). */
export interface PlannedFrame {
  readonly index: number;
  /** Output pixel -> input pixel. */
  readonly correction: Mat3;
  readonly zoom: number;
  /** Raw and smoothed camera path of the image centre: [x px, y px, angle rad]. */
  readonly rawPath: [number, number, number];
  readonly smoothedPath: [number, number, number];
  /** The output would show pixels from outside the input frame (only possible with zoom 'none'). */
  readonly fill: boolean;
}

/** A running planner: push motions in order, pull plans when their look-ahead is complete. */
export interface PathPlanner {
  /** Frames between pushing a motion and pulling its plan (grows to maxLatencyFrames at most). */
  readonly latencyFrames: number;
  /** The most latency settings changes may lead to (for buffer sizing). */
  readonly maxLatencyFrames: number;
  push(motion: Mat3): void;
  pull(): PlannedFrame | null;
  /** No more motions: the remaining frames can be planned. */
  finish(): void;
  setRadius(radius: number): void;
  setZoom(zoom: PlannerZoom): void;
}

/** A frame's output corner may map at most this far outside the input frame, pixels. */
export const MARGIN_PX = 0.75;
/** The most zoom 'adaptive' and 'auto' use (1.15 = 15% in). */
export const ADAPTIVE_MAX_ZOOM = 1.15;
/** The largest radius setRadius accepts (sizes the ring). */
export const MAX_RADIUS = 120;

// ---------------------------------------------------------------------------------------------
// Similarity parameters about the centre.

/** Writes (tx, ty, a, ln s) of m's similarity part about (cx, cy) into p at offset o. */
function paramsOf(p: Float64Array, o: number, m: Mat3, cx: number, cy: number): void {
  const a00 = m[0] as number, a01 = m[1] as number, a10 = m[3] as number, a11 = m[4] as number;
  const w = (m[6] as number) * cx + (m[7] as number) * cy + (m[8] as number);
  const mx = ((m[0] as number) * cx + (m[1] as number) * cy + (m[2] as number)) / w;
  const my = ((m[3] as number) * cx + (m[4] as number) * cy + (m[5] as number)) / w;
  p[o] = mx - cx;
  p[o + 1] = my - cy;
  p[o + 2] = Math.atan2(a10 - a01, a00 + a11);
  p[o + 3] = 0.5 * Math.log(Math.abs(a00 * a11 - a01 * a10) || 1);
}

/** The similarity with params (tx, ty, a, ln s) about (cx, cy). */
function similarityInto(out: Mat3, tx: number, ty: number, a: number, ls: number, cx: number, cy: number): Mat3 {
  const s = Math.exp(ls);
  const c = s * Math.cos(a);
  const n = s * Math.sin(a);
  out[0] = c;
  out[1] = -n;
  out[2] = cx + tx - (c * cx - n * cy);
  out[3] = n;
  out[4] = c;
  out[5] = cy + ty - (n * cx + c * cy);
  out[6] = 0;
  out[7] = 0;
  out[8] = 1;
  return out;
}

const cornerScratch = new Float64Array(2);

/** True when every output corner mapped by E · Z(z) lies within the input frame (less MARGIN_PX). */
function fits(E: Mat3, z: number, w: number, h: number): boolean {
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  const lo = -MARGIN_PX;
  const hx = w - 1 + MARGIN_PX;
  const hy = h - 1 + MARGIN_PX;
  for (let k = 0; k < 4; k++) {
    const ox = k === 1 || k === 2 ? w - 1 : 0;
    const oy = k >= 2 ? h - 1 : 0;
    const x = cx + (ox - cx) / z;
    const y = cy + (oy - cy) / z;
    const d = (E[6] as number) * x + (E[7] as number) * y + (E[8] as number);
    const qx = ((E[0] as number) * x + (E[1] as number) * y + (E[2] as number)) / d;
    const qy = ((E[3] as number) * x + (E[4] as number) * y + (E[5] as number)) / d;
    cornerScratch[0] = qx;
    if (!(qx >= lo && qx <= hx && qy >= lo && qy <= hy)) return false;
  }
  return true;
}

/** Smallest zoom >= 1 with no fill, up to `cap` (returns Infinity when even `cap` does not fit). */
function neededZoom(E: Mat3, w: number, h: number, cap: number): number {
  if (fits(E, 1, w, h)) return 1;
  if (!fits(E, cap, w, h)) return Number.POSITIVE_INFINITY;
  let lo = 1;
  let hi = cap;
  for (let i = 0; i < 24; i++) {
    const mid = 0.5 * (lo + hi);
    if (fits(E, mid, w, h)) hi = mid;
    else lo = mid;
  }
  return hi;
}

/** Zoom matrix about the centre: output pixel -> pre-zoom pixel, x' = c + (x - c) / z. */
function zoomInto(out: Mat3, z: number, w: number, h: number): Mat3 {
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  setIdentityInto(out);
  out[0] = 1 / z;
  out[4] = 1 / z;
  out[2] = cx - cx / z;
  out[5] = cy - cy / z;
  return out;
}

function gaussianWeight(d: number, sigma: number): number {
  return Math.exp((-0.5 * d * d) / (sigma * sigma));
}

// ---------------------------------------------------------------------------------------------

/** Per-frame stored values (ring slots). */
const F_CAM = 0; // 9: camera C_k
const F_P = 9; // 4: raw path params
const F_S = 13; // 4: smoothed params
const F_E = 17; // 9: excursion after the caps and lambda
const F_E0 = 26; // 9: excursion before lambda (after caps)
const F_LRAW = 35; // lambda needed by this frame
const F_L = 36; // smoothed lambda
const F_ZN = 37; // needed zoom with the final lambda
const STRIDE = 38;

/** Makes a planner. */
export function createPathPlanner(settings: PlannerSettings): PathPlanner {
  const { width: w, height: h } = settings;
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  let radius = settings.radius;
  let zoom = settings.zoom;
  const causal = settings.smoother === 'causal';
  const known = settings.knownMotions;
  const wholeClip = known !== null && (settings.smoother === 'two-pass' || zoom === 'auto');
  const total = known?.length ?? 0;
  const maxLatency = wholeClip ? total + 1 : causal ? 0 : 2 * MAX_RADIUS + 2;
  const cap = wholeClip ? total + 4 : causal ? 8 : 4 * MAX_RADIUS + 16;
  const ring = new Float64Array(cap * STRIDE);
  const slot = (k: number) => (k % cap) * STRIDE;

  const cam = setIdentityInto(new Float64Array(9));
  const tmpA = new Float64Array(9);
  const tmpB = new Float64Array(9);
  const tmpC = new Float64Array(9);
  const tmpZ = new Float64Array(9);
  let pushed = 0; // motions received
  let pulled = 0; // frames released
  let finished = false;
  let prevAngle = 0;
  // Causal follower state.
  const f1 = new Float64Array(4);
  const f2 = new Float64Array(4);
  let causalZoom = 1;
  let staticZoom = 1;

  const budget = (): number => (typeof zoom === 'object' ? 1 + zoom.percent / 100 : zoom === 'none' ? Number.POSITIVE_INFINITY : ADAPTIVE_MAX_ZOOM);
  const pathLatency = () => (causal ? 0 : radius);
  const halfWindow = () => (causal ? 0 : Math.max(1, Math.ceil(radius / 4)));
  const latency = () => (wholeClip ? total : causal ? 0 : pathLatency() + 4 * halfWindow());

  const lastIndex = () => (finished ? pushed - 1 : Number.POSITIVE_INFINITY);

  function pushMotion(motion: Mat3): void {
    const k = pushed;
    const o = slot(k);
    if (k === 0) setIdentityInto(cam);
    else multiplyInto(cam, motion, cam);
    ring.set(cam, o + F_CAM);
    paramsOf(ring, o + F_P, cam, cx, cy);
    // Unwrap the angle against the previous frame.
    let a = ring[o + F_P + 2] as number;
    if (k > 0) {
      while (a - prevAngle > Math.PI) a -= 2 * Math.PI;
      while (a - prevAngle < -Math.PI) a += 2 * Math.PI;
    }
    ring[o + F_P + 2] = a;
    prevAngle = a;
    if (causal) {
      // Critically damped follower: two cascaded one-pole filters.
      const alpha = 2 / (radius + 2);
      for (let i = 0; i < 4; i++) {
        const p = ring[o + F_P + i] as number;
        if (k === 0) {
          f1[i] = p;
          f2[i] = p;
        } else {
          f1[i] = (f1[i] as number) + alpha * (p - (f1[i] as number));
          f2[i] = (f2[i] as number) + alpha * ((f1[i] as number) - (f2[i] as number));
        }
        // 2 f1 - f2 removes the cascade's lag on a steady pan (double exponential smoothing).
        ring[o + F_S + i] = 2 * (f1[i] as number) - (f2[i] as number);
      }
    }
    pushed++;
  }

  /** Smoothed params of frame k (non-causal), from the raw path within the window. */
  function smoothFrame(k: number): void {
    const o = slot(k);
    const last = finished ? pushed - 1 : pushed - 1;
    const m = Math.min(radius, k, last - k);
    const sigma = Math.max(0.5, radius / 2);
    for (let i = 0; i < 4; i++) {
      let sw = 0;
      let sv = 0;
      for (let d = -m; d <= m; d++) {
        const wt = gaussianWeight(d, sigma);
        sw += wt;
        sv += wt * (ring[slot(k + d) + F_P + i] as number);
      }
      ring[o + F_S + i] = sv / sw;
    }
  }

  /** Excursion with caps (F_E0) and the lambda this frame needs (F_LRAW). */
  function constrainFrame(k: number): void {
    const o = slot(k);
    similarityInto(tmpA, ring[o + F_S] as number, ring[o + F_S + 1] as number, ring[o + F_S + 2] as number, ring[o + F_S + 3] as number, cx, cy);
    if (invertInto(tmpB, tmpA) === null) setIdentityInto(tmpB);
    multiplyInto(tmpC, ring.subarray(o + F_CAM, o + F_CAM + 9), tmpB); // E = C · S^-1
    // Caps on the correction's shift and angle: shrink the excursion's parameters.
    const e = tmpA;
    paramsOf(e, 0, tmpC, cx, cy);
    let capScale = 1;
    const shift = Math.hypot(e[0] as number, e[1] as number);
    if (shift > settings.maxShiftPx) capScale = Math.min(capScale, settings.maxShiftPx / shift);
    if (Math.abs(e[2] as number) > settings.maxAngleRad) capScale = Math.min(capScale, settings.maxAngleRad / Math.abs(e[2] as number));
    const E0 = ring.subarray(o + F_E0, o + F_E0 + 9);
    if (capScale < 1) excursionScaledInto(E0, tmpC, capScale);
    else E0.set(tmpC);
    const b = budget();
    let lam = 1;
    if (Number.isFinite(b) && !Number.isFinite(neededZoom(E0, w, h, b))) {
      let lo = 0;
      let hi = 1;
      for (let i = 0; i < 16; i++) {
        const mid = 0.5 * (lo + hi);
        excursionScaledInto(tmpB, E0, mid);
        if (Number.isFinite(neededZoom(tmpB, w, h, b))) lo = mid;
        else hi = mid;
      }
      lam = lo;
    }
    ring[o + F_LRAW] = lam;
  }

  const eParams = new Float64Array(4);
  const sA = new Float64Array(9);
  const sB = new Float64Array(9);
  /** out = M(λ e) · M(e)^-1 · E, e = similarity params of E (out may not alias E). */
  function excursionScaledInto(out: Mat3, E: Mat3, lam: number): Mat3 {
    if (lam >= 1) {
      out.set(E);
      return out;
    }
    paramsOf(eParams, 0, E, cx, cy);
    similarityInto(sA, eParams[0] as number, eParams[1] as number, eParams[2] as number, eParams[3] as number, cx, cy);
    invertInto(sB, sA);
    multiplyInto(sA, sB, E);
    similarityInto(sB, lam * (eParams[0] as number), lam * (eParams[1] as number), lam * (eParams[2] as number), lam * (eParams[3] as number), cx, cy);
    return multiplyInto(out, sB, sA);
  }

  /** Smoothed lambda of frame k (running minimum then Gaussian, never above its own), final E and z_need. */
  function lambdaFrame(k: number): void {
    const o = slot(k);
    const hw = halfWindow();
    const sigma = Math.max(0.5, hw / 2);
    let sw = 0;
    let sv = 0;
    for (let d = -hw; d <= hw; d++) {
      const j = k + d;
      if (j < 0 || j >= nConstrain) continue;
      // running minimum over [j - hw, j + hw] of the raw lambdas known
      let mn = 1;
      for (let q = j - hw; q <= j + hw; q++) {
        if (q < 0 || q >= nConstrain || q < k - 2 * hw) continue;
        const v = ring[slot(q) + F_LRAW] as number;
        if (v < mn) mn = v;
      }
      const wt = gaussianWeight(d, sigma);
      sw += wt;
      sv += wt * mn;
    }
    const lam = Math.min(sw > 0 ? sv / sw : 1, ring[o + F_LRAW] as number);
    ring[o + F_L] = lam;
    const E = ring.subarray(o + F_E, o + F_E + 9);
    excursionScaledInto(E, ring.subarray(o + F_E0, o + F_E0 + 9), lam);
    ring[o + F_ZN] = neededZoom(E, w, h, Math.max(budget() === Number.POSITIVE_INFINITY ? 4 : budget(), 1) + 1e-9);
  }

  /** Zoom of frame k. */
  function zoomOf(k: number): number {
    const zn = Math.min(ring[slot(k) + F_ZN] as number, 4);
    if (zoom === 'none') return 1;
    if (typeof zoom === 'object') return 1 + zoom.percent / 100;
    if (zoom === 'auto' && wholeClip) return staticZoom;
    if (causal) {
      // Fast attack, slow release.
      causalZoom = Math.max(zn, causalZoom - 0.002);
      return causalZoom;
    }
    const hw = halfWindow();
    const sigma = Math.max(0.5, hw / 2);
    let sw = 0;
    let sv = 0;
    for (let d = -hw; d <= hw; d++) {
      const j = k + d;
      if (j < 0 || j >= nLambda) continue;
      let mx = 1;
      for (let q = j - hw; q <= j + hw; q++) {
        if (q < 0 || q >= nLambda || q < k - 2 * hw) continue;
        const v = Math.min(ring[slot(q) + F_ZN] as number, 4);
        if (v > mx) mx = v;
      }
      const wt = gaussianWeight(d, sigma);
      sw += wt;
      sv += wt * mx;
    }
    return Math.max(zn, sw > 0 ? sv / sw : 1);
  }

  // Stage pointers: next frame to smooth / constrain / lambda.
  let nSmooth = 0;
  let nConstrain = 0;
  let nLambda = 0;

  function advance(): void {
    const last = lastIndex();
    const hw = halfWindow();
    while (nSmooth < pushed && (causal || finished || nSmooth + radius < pushed)) {
      if (!causal) smoothFrame(nSmooth);
      nSmooth++;
    }
    while (nConstrain < nSmooth) constrainFrame(nConstrain++);
    while (nLambda < nConstrain && (causal || nLambda + 2 * hw < nConstrain || nConstrain > last)) lambdaFrame(nLambda++);
  }

  function ready(k: number): boolean {
    if (k >= pushed) return false;
    if (causal) return k < nLambda;
    const hw = halfWindow();
    const last = lastIndex();
    return k < nLambda && (k + 2 * hw < nLambda || nLambda > last);
  }

  if (known !== null) {
    for (const m of known) pushMotion(m);
    if (wholeClip) {
      finished = true;
      advance();
      if (zoom === 'auto') {
        let mx = 1;
        for (let k = 0; k < pushed; k++) mx = Math.max(mx, Math.min(ring[slot(k) + F_ZN] as number, ADAPTIVE_MAX_ZOOM));
        staticZoom = mx;
      }
    }
  }
  let knownFed = known !== null;

  function pull(): PlannedFrame | null {
    const k = pulled;
    if (!ready(k)) return null;
    const o = slot(k);
    const z = zoomOf(k);
    const E = ring.subarray(o + F_E, o + F_E + 9);
    const correction = multiplyInto(new Float64Array(9), E, zoomInto(tmpZ, z, w, h));
    similarityInto(tmpA, 0, 0, 0, 0, cx, cy);
    const fill = !fits(E, z, w, h);
    pulled++;
    const sx = ring[o + F_S] as number;
    const sy = ring[o + F_S + 1] as number;
    const sa = ring[o + F_S + 2] as number;
    // Report the path actually followed: the raw path less the applied excursion's parameters.
    paramsOf(eParams, 0, E, cx, cy);
    return {
      index: k,
      correction,
      zoom: z,
      rawPath: [ring[o + F_P] as number, ring[o + F_P + 1] as number, ring[o + F_P + 2] as number],
      smoothedPath: Number.isFinite(sx) ? [(ring[o + F_P] as number) - (eParams[0] as number), (ring[o + F_P + 1] as number) - (eParams[1] as number), (ring[o + F_P + 2] as number) - (eParams[2] as number)] : [sx, sy, sa],
      fill,
    };
  }

  return {
    get latencyFrames() {
      return latency();
    },
    maxLatencyFrames: maxLatency,
    push(motion) {
      if (knownFed) {
        // Motions were given up front; the frames still come one by one.
        if (pushed === total) knownFed = false;
        return;
      }
      if (pushed - pulled >= cap - 2) throw new Error(`internal: path planner ring overflow (${pushed - pulled} frames waiting)`);
      pushMotion(motion);
      advance();
    },
    pull,
    finish() {
      finished = true;
      advance();
    },
    setRadius(r) {
      radius = Math.max(0, Math.min(MAX_RADIUS, Math.round(r)));
    },
    setZoom(z) {
      zoom = z;
    },
  };
}

/** Planner settings from resolved stabilize options (limits of -1 mean none). */
export function plannerSettingsFor(
  o: { smoother: PlannerSettings['smoother']; smoothingRadius: number; zoom: PlannerZoom; maxShiftPx: number; maxAngleRad: number },
  width: number,
  height: number,
  knownMotions: readonly Mat3[] | null,
): PlannerSettings {
  return {
    width,
    height,
    smoother: o.smoother,
    radius: o.smoothingRadius,
    zoom: o.zoom,
    maxShiftPx: o.maxShiftPx < 0 ? Number.POSITIVE_INFINITY : o.maxShiftPx,
    maxAngleRad: o.maxAngleRad < 0 ? Number.POSITIVE_INFINITY : o.maxAngleRad,
    knownMotions,
  };
}
