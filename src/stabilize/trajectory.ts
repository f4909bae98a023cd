/**
 * The camera path: per-frame motions accumulated into poses, stored as samples (x, y, angle, ln scale).
 *
 * Pose. The pose of frame k maps frame-k pixel coordinates to frame-0 pixel coordinates (the "world"):
 *   P_k(u) = c + (x_k, y_k) + exp(ls_k) R(angle_k) (u - c),  c = ((width - 1) / 2, (height - 1) / 2),
 * so (x_k, y_k) is where the centre of frame k lies in frame 0: the motion of the image centre, the path a
 * stabilizer smooths. With motion[k] mapping frame k-1 to frame k (steady's convention),
 * P_k = P_{k-1} · S(motion[k])^-1, S(.) the similarity part about the centre (motion-params.ts). The
 * composition is done on the parameters, exactly: with S(motion[k])^-1 = (t', angle', scale'),
 *   (x, y)_k = (x, y)_{k-1} + exp(ls_{k-1}) R(angle_{k-1}) t',  angle_k = angle_{k-1} + angle',
 *   ls_k = ls_{k-1} + ln scale'.
 * Angles add up without wrapping, so the angle is continuous however far the camera rolls. For euclidean
 * and similarity motions the path is exact; for affine and homography motions it follows their similarity
 * part (the rest is not part of the camera path a 2-D stabilizer smooths).
 *
 * Storage: samples in one Float64Array, 4 numbers per frame, addressed by absolute frame index. A growable
 * buffer doubles its capacity (amortised, no allocation per frame); a ring keeps only the newest
 * `capacity` samples, for live use with a bounded look-ahead.
 */
import type { Mat3 } from '../motion/mat3.js';
import { composeMotionInto, createMotionParams, decomposeMotionInto } from './motion-params.js';

/** Numbers per path sample. */
export const PATH_DIMS = 4;
/** Offset of x (pixels) in a path sample. */
export const PATH_X = 0;
/** Offset of y (pixels) in a path sample. */
export const PATH_Y = 1;
/** Offset of the angle (radians, unwrapped) in a path sample. */
export const PATH_ANGLE = 2;
/** Offset of the natural log of the scale in a path sample. */
export const PATH_LOG_SCALE = 3;

/** Path samples addressed by absolute frame index: growable, or a ring holding the newest frames. */
export class PathBuffer {
  /** Samples, PATH_DIMS numbers each; in a ring, frame i lives at slot i % capacity. */
  private data: Float64Array;
  private cap: number;
  private readonly ring: boolean;
  private count = 0;

  /**
   * @param capacity frames held before growing (growable) or the frames kept (ring), at least 1
   * @param ring keep only the newest `capacity` frames instead of growing
   */
  constructor(capacity: number, ring = false) {
    this.cap = Math.max(1, Math.floor(capacity));
    this.ring = ring;
    this.data = new Float64Array(this.cap * PATH_DIMS);
  }

  /** Frames pushed so far (the index the next push gets). */
  get length(): number {
    return this.count;
  }

  /** Oldest frame index still held. */
  get first(): number {
    return this.ring ? Math.max(0, this.count - this.cap) : 0;
  }

  /** Frames the buffer holds without growing (ring: the frames it keeps). */
  get capacity(): number {
    return this.cap;
  }

  /** Forgets every sample (capacity is kept). */
  clear(): void {
    this.count = 0;
  }

  /** Appends one sample and returns its frame index. */
  push(x: number, y: number, angleRad: number, logScale: number): number {
    if (!this.ring && this.count === this.cap) this.grow(this.cap * 2);
    const o = (this.ring ? this.count % this.cap : this.count) * PATH_DIMS;
    const d = this.data;
    d[o] = x;
    d[o + 1] = y;
    d[o + 2] = angleRad;
    d[o + 3] = logScale;
    return this.count++;
  }

  /** Component `dim` (PATH_X ...) of frame `index` (which must be held: first <= index < length). */
  get(index: number, dim: number): number {
    return this.data[(this.ring ? index % this.cap : index) * PATH_DIMS + dim] as number;
  }

  /** Overwrites component `dim` of a held frame. */
  set(index: number, dim: number, value: number): void {
    this.data[(this.ring ? index % this.cap : index) * PATH_DIMS + dim] = value;
  }

  /** Copies the PATH_DIMS numbers of a held frame into out at offset o; returns out. */
  read(index: number, out: Float64Array, o = 0): Float64Array {
    const s = (this.ring ? index % this.cap : index) * PATH_DIMS;
    const d = this.data;
    out[o] = d[s] as number;
    out[o + 1] = d[s + 1] as number;
    out[o + 2] = d[s + 2] as number;
    out[o + 3] = d[s + 3] as number;
    return out;
  }

  /** A growable buffer: makes room for at least `frames` frames (kept samples are preserved). */
  reserve(frames: number): void {
    if (!this.ring && frames > this.cap) this.grow(frames);
  }

  /** A ring: a new capacity, keeping the newest min(old, new) samples. */
  resizeRing(capacity: number): void {
    if (!this.ring) return;
    const cap = Math.max(1, Math.floor(capacity));
    if (cap === this.cap) return;
    const next = new Float64Array(cap * PATH_DIMS);
    const from = Math.max(this.first, this.count - cap);
    for (let i = from; i < this.count; i++) {
      const s = (i % this.cap) * PATH_DIMS;
      next.set(this.data.subarray(s, s + PATH_DIMS), (i % cap) * PATH_DIMS);
    }
    this.data = next;
    this.cap = cap;
  }

  private grow(cap: number): void {
    const next = new Float64Array(cap * PATH_DIMS);
    next.set(this.data.subarray(0, this.count * PATH_DIMS));
    this.data = next;
    this.cap = cap;
  }
}

/**
 * Accumulates frame-to-frame motions into poses (see the file comment). The first motion pushed is frame
 * 0's and is ignored (frame 0 is the world). A motion that is not finite (a failed registration that was
 * not replaced upstream) counts as no motion.
 */
export class CameraTrajectory {
  /** The poses, one sample per frame pushed. */
  readonly path: PathBuffer;
  private readonly cx: number;
  private readonly cy: number;
  private readonly params = createMotionParams();
  private x = 0;
  private y = 0;
  private angle = 0;
  private logScale = 0;

  /**
   * @param width frame width, pixels
   * @param height frame height, pixels
   * @param path where the poses go (a growable buffer for whole clips, a ring for live use)
   */
  constructor(width: number, height: number, path: PathBuffer) {
    this.cx = (width - 1) / 2;
    this.cy = (height - 1) / 2;
    this.path = path;
  }

  /** Forgets the path: the next motion pushed is frame 0 again. */
  reset(): void {
    this.path.clear();
    this.x = 0;
    this.y = 0;
    this.angle = 0;
    this.logScale = 0;
  }

  /** Adds frame k's motion (frame k-1 -> frame k) and returns k. */
  push(motion: Mat3): number {
    if (this.path.length > 0) {
      const p = decomposeMotionInto(this.params, motion, this.cx, this.cy);
      if (Number.isFinite(p.dx) && Number.isFinite(p.dy) && Number.isFinite(p.angleRad) && p.scale > 0 && Number.isFinite(p.scale)) {
        // Inverse of the frame's similarity: t' = -(1/s) R(-a) d, angle' = -a, scale' = 1/s.
        const ca = Math.cos(p.angleRad);
        const sa = Math.sin(p.angleRad);
        const tx = -(ca * p.dx + sa * p.dy) / p.scale;
        const ty = -(-sa * p.dx + ca * p.dy) / p.scale;
        const s = Math.exp(this.logScale);
        const cb = Math.cos(this.angle);
        const sb = Math.sin(this.angle);
        this.x += s * (cb * tx - sb * ty);
        this.y += s * (sb * tx + cb * ty);
        this.angle -= p.angleRad;
        this.logScale -= Math.log(p.scale);
      }
    }
    return this.path.push(this.x, this.y, this.angle, this.logScale);
  }
}

/** Writes the pose matrix of a path sample (frame pixel -> frame-0 pixel, see the file comment) into out. */
export function poseMatrixInto(out: Mat3, x: number, y: number, angleRad: number, logScale: number, cx: number, cy: number): Mat3 {
  return composeMotionInto(out, x, y, angleRad, Math.exp(logScale), cx, cy);
}
