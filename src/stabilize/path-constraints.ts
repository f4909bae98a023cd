/**
 * The crop-window constraint: does the output frame, mapped through a frame's correction, stay inside the
 * input frame (no fill)? What zoom would make it? And the smallest pull of the smoothed path toward the raw
 * path that makes it.
 *
 * A correction (output pixel -> input pixel of frame k) built from the raw pose P_k and the smoothed pose
 * Q_k (trajectory.ts) with zoom z about the centre c is the similarity
 *   C(u) = c + a + (sigma / z) R(beta) (u - c),
 *   a = exp(-ls_P) R(-angle_P) (q - p)   (the smoothed centre seen in frame k's pixels),
 *   beta = angle_Q - angle_P,  sigma = exp(ls_Q - ls_P).
 * The output corners are c + h with h = (+-W, +-H), W = (width - 1) / 2, H = (height - 1) / 2 (pixel
 * centres, as everywhere). The corners map inside the input frame iff
 *   |a_x| + k (|cos beta| W + |sin beta| H) <= W  and  |a_y| + k (|sin beta| W + |cos beta| H) <= H,  k = sigma / z
 * (the rectangle is convex, so its corners decide; by symmetry the worst corner on each axis is the one
 * named). This is exact, and gives the zoom each frame needs in closed form.
 *
 * The pull: replacing |sin beta| by |beta| and |cos beta| by 1 gives a convex (slightly conservative, by
 * (1 - cos beta) k W <= 0.2 px at 2 degrees and 640 px) polytope in (a_x, a_y, beta), which contains the raw
 * pose (a = 0, beta = 0) whenever sigma <= z. The pull is the Euclidean projection onto it in the metric
 * |da|^2 + (kappa dbeta)^2, kappa in pixels per radian: with kappa small, rotation is given up before
 * translation (rotating about the centre moves the picture's centre by nothing, while its corners eat the
 * margin). The projection is solved exactly: for a fixed |beta| = t the best a is a clamp, and the cost's
 * derivative in t is piecewise linear and increasing, so its root is found segment by segment. Caps on the
 * correction's shift and angle are applied first; the projection only shrinks each component, so the caps
 * still hold after it.
 *
 * Reference for the idea of a camera path constrained to keep the crop window inside every frame:
 * M. Grundmann, V. Kwatra, I. Essa, "Auto-directed video stabilization with robust L1 optimal camera
 * paths", CVPR 2011.
 */

/** A corner may map this far outside the input frame before a frame counts as showing fill, pixels. */
export const FILL_TOLERANCE_PX = 1e-6;

/** The frame geometry the constraint needs. */
export interface CropGeometry {
  readonly width: number;
  readonly height: number;
  /** (width - 1) / 2: from the centre to the outermost pixel centre, pixels. */
  readonly halfWidth: number;
  /** (height - 1) / 2, pixels. */
  readonly halfHeight: number;
  /** hypot(halfWidth, halfHeight): how far a corner moves per radian of rotation, pixels. */
  readonly cornerRadius: number;
}

/** The geometry of width x height frames. */
export function createCropGeometry(width: number, height: number): CropGeometry {
  const halfWidth = (width - 1) / 2;
  const halfHeight = (height - 1) / 2;
  return { width, height, halfWidth, halfHeight, cornerRadius: Math.hypot(halfWidth, halfHeight) };
}

/**
 * How far the worst output corner maps outside the input frame, pixels (<= 0: inside, by that much).
 * (ax, ay): correction shift, input pixels; beta: rotation, radians; sigma: relative scale; zoom: > 0.
 */
export function cornerExcursionPx(g: CropGeometry, ax: number, ay: number, beta: number, sigma: number, zoom: number): number {
  const k = sigma / zoom;
  const c = Math.abs(Math.cos(beta));
  const s = Math.abs(Math.sin(beta));
  const ex = Math.abs(ax) + k * (c * g.halfWidth + s * g.halfHeight) - g.halfWidth;
  const ey = Math.abs(ay) + k * (s * g.halfWidth + c * g.halfHeight) - g.halfHeight;
  return Math.max(ex, ey);
}

/** True when a correction with these parameters shows pixels from outside the input frame. */
export function showsFill(g: CropGeometry, ax: number, ay: number, beta: number, sigma: number, zoom: number): boolean {
  return !(cornerExcursionPx(g, ax, ay, beta, sigma, zoom) <= FILL_TOLERANCE_PX);
}

/**
 * The smallest zoom at which a correction with these parameters shows no fill (exact; may be below 1 when
 * sigma < 1); Infinity when no zoom can hide the border (the shift alone reaches the frame's edge).
 */
export function requiredZoom(g: CropGeometry, ax: number, ay: number, beta: number, sigma: number): number {
  const c = Math.abs(Math.cos(beta));
  const s = Math.abs(Math.sin(beta));
  const roomX = g.halfWidth - Math.abs(ax);
  const roomY = g.halfHeight - Math.abs(ay);
  if (!(roomX > 0) || !(roomY > 0)) return Number.POSITIVE_INFINITY;
  const zx = (sigma * (c * g.halfWidth + s * g.halfHeight)) / roomX;
  const zy = (sigma * (s * g.halfWidth + c * g.halfHeight)) / roomY;
  return Math.max(zx, zy);
}

/** What a pull must respect. */
export interface PullLimits {
  /** Zoom of the frame (> 0); the constraint is enforced at this zoom. */
  readonly zoom: number;
  /** Most correction shift (length of a), input pixels; Infinity = no cap. */
  readonly maxShiftPx: number;
  /** Most correction rotation |beta|, radians; Infinity = no cap. */
  readonly maxAngleRad: number;
  /**
   * Weight of rotation against translation in the pull, pixels per radian (kappa in the file comment):
   * the pull minimises |da|^2 + (kappa dbeta)^2. Must be >= 0.
   */
  readonly anglePx: number;
  /** Enforce the crop constraint (false: only the caps apply, fill may show). */
  readonly noFill: boolean;
}

/** Share of the zoom's room (in log scale) a relative scale of the smoothed path may take. */
export const RELATIVE_SCALE_SHARE = 0.5;

/**
 * The largest relative scale (smoothed over raw) the crop allows at `zoom`: zoom^RELATIVE_SCALE_SHARE, so
 * that a smoothed zoom change never takes the whole crop margin and leaves the frame with no room to hold
 * its shift (a false scale estimate, as a large object crossing the frame gives, did that).
 */
export function maxRelativeScale(zoom: number): number {
  return zoom ** RELATIVE_SCALE_SHARE;
}

/**
 * Pulls a correction (ax, ay, beta, sigma) toward the raw pose (0, 0, 0, 1) just enough to respect the
 * caps and, with limits.noFill, to show no fill at limits.zoom (see the file comment). Writes the pulled
 * (ax, ay, beta, sigma) into out[0..3] and returns out.
 */
export function pullCorrectionInto(out: Float64Array, g: CropGeometry, ax: number, ay: number, beta: number, sigma: number, limits: PullLimits): Float64Array {
  // Caps first: the shift as a length, the angle as a magnitude.
  const shift = Math.hypot(ax, ay);
  if (shift > limits.maxShiftPx) {
    const f = limits.maxShiftPx / shift;
    ax *= f;
    ay *= f;
  }
  if (beta > limits.maxAngleRad) beta = limits.maxAngleRad;
  else if (beta < -limits.maxAngleRad) beta = -limits.maxAngleRad;
  if (!limits.noFill) {
    out[0] = ax;
    out[1] = ay;
    out[2] = beta;
    out[3] = sigma;
    return out;
  }
  // A relative scale may take half the zoom's room (a relative scale of the whole zoom would leave no
  // margin at all for shift and rotation: an uncropped, unstabilized frame amid cropped ones).
  const sigmaMax = maxRelativeScale(limits.zoom);
  if (sigma > sigmaMax) sigma = sigmaMax;
  const k = sigma / limits.zoom;
  const A = k * g.halfHeight; // x-extent per radian
  const B = k * g.halfWidth; // y-extent per radian
  const mx = g.halfWidth * (1 - k);
  const my = g.halfHeight * (1 - k);
  const X = Math.abs(ax);
  const Y = Math.abs(ay);
  const T0 = Math.abs(beta);
  const kk = limits.anglePx * limits.anglePx;
  let t = T0;
  if (X + A * T0 > mx || Y + B * T0 > my) {
    let tMax = T0;
    if (A > 0 && mx / A < tMax) tMax = mx / A;
    if (B > 0 && my / B < tMax) tMax = my / B;
    if (tMax < 0) tMax = 0;
    const deriv = (u: number): number => {
      let d = kk * (u - T0);
      const ex = X - mx + A * u;
      if (ex > 0) d += A * ex;
      const ey = Y - my + B * u;
      if (ey > 0) d += B * ey;
      return d;
    };
    if (deriv(0) >= 0) t = 0;
    else if (deriv(tMax) <= 0) t = tMax;
    else {
      // Piecewise linear, increasing: walk the segments between the breakpoints inside (0, tMax).
      let b1 = A > 0 ? (mx - X) / A : Number.POSITIVE_INFINITY;
      let b2 = B > 0 ? (my - Y) / B : Number.POSITIVE_INFINITY;
      if (b1 > b2) {
        const tmp = b1;
        b1 = b2;
        b2 = tmp;
      }
      let lo = 0;
      let dLo = deriv(0);
      t = tMax;
      for (let i = 0; i < 3; i++) {
        const hi = i === 0 ? Math.min(Math.max(b1, 0), tMax) : i === 1 ? Math.min(Math.max(b2, 0), tMax) : tMax;
        if (hi <= lo) continue;
        const dHi = deriv(hi);
        if (dHi >= 0) {
          t = lo - (dLo * (hi - lo)) / (dHi - dLo);
          break;
        }
        lo = hi;
        dLo = dHi;
      }
    }
    const bx = Math.max(0, mx - A * t);
    const by = Math.max(0, my - B * t);
    if (ax > bx) ax = bx;
    else if (ax < -bx) ax = -bx;
    if (ay > by) ay = by;
    else if (ay < -by) ay = -by;
    beta = beta < 0 ? -t : t;
  }
  out[0] = ax;
  out[1] = ay;
  out[2] = beta;
  out[3] = sigma;
  return out;
}
