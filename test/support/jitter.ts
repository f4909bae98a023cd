/**
 * The anchors' high-frequency jitter measure (../shared/anchors/metrics.py `hf_jitter`, with
 * bench_common.py's `center_motion`, `trajectory` and `hf_jitter`), in TypeScript, with steady's own
 * registration in place of OpenCV's findTransformECC.
 *
 * Per video: gray frames (the decoded Y plane), shrunk by an area average to at most 640 px wide as the
 * anchors do (INTER_AREA); frame k registered onto frame k-1 by pyramid ECC, euclidean, 3 levels, at most
 * 50 iterations per level, Gaussian pre-filter of 5 taps (the anchors' settings), each pair started from
 * the identity (no seed from the last frame, as the anchors). A failed pair counts as no motion (the
 * anchors' identity on cv2.error). Steady's registrar also tries its robust starts when the identity
 * start fails or ends poor; OpenCV has none, so on such pairs the anchors would report a failure or a
 * wrong basin.
 * Each motion W (frame k-1 -> frame k) gives the displacement of the image centre and the angle
 * atan2(W10, W00) in degrees; translations are scaled back to the video's pixels. The per-frame values are
 * summed into a trajectory (x, y, angle), and the jitter is the RMS of the trajectory minus its centred
 * 31-frame moving average over the frames where the window fits: x, y, xy = hypot(x, y), angle (deg).
 */
import { createGrayImage, type GrayImage } from '../../src/image/gray-image.js';
import { type Mat3, multiplyInto } from '../../src/motion/mat3.js';
import { createRegistrar, type Registrar } from '../../src/register/register.js';
import { downscaleYInto } from '../../src/video/analysis.js';
import { openDecoder } from '../../src/video/decoder.js';

/** The anchors' moving-average window, frames. */
export const JITTER_WINDOW = 31;
/** Frames wider than this are shrunk before registration (the anchors' 640). */
export const JITTER_MAX_WIDTH = 640;

/** High-frequency jitter of a trajectory: RMS residuals in pixels and degrees. */
export interface JitterMeasure {
  readonly xPx: number;
  readonly yPx: number;
  /** hypot(xPx, yPx): the RMS of the 2-D residual. */
  readonly xyPx: number;
  readonly thetaDeg: number;
}

/** [dx px, dy px, dtheta deg] of a frame-to-frame motion: the image centre's displacement and the angle. */
export function centerMotion(W: Mat3, width: number, height: number): [number, number, number] {
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  const z = (W[6] as number) * cx + (W[7] as number) * cy + (W[8] as number);
  const px = ((W[0] as number) * cx + (W[1] as number) * cy + (W[2] as number)) / z;
  const py = ((W[3] as number) * cx + (W[4] as number) * cy + (W[5] as number)) / z;
  return [px - cx, py - cy, (Math.atan2(W[3] as number, W[0] as number) * 180) / Math.PI];
}

/**
 * The anchors' hf_jitter of per-frame motions [dx, dy, dtheta deg] (the first row is frame 0's, zero):
 * trajectory = running sum; residual = trajectory - centred moving average of `win` frames, over the
 * frames where the whole window fits. Needs at least `win` frames.
 */
export function hfJitter(motions: readonly (readonly [number, number, number])[], win = JITTER_WINDOW): JitterMeasure {
  const n = motions.length;
  if (n < win) throw new RangeError(`the jitter measure needs at least ${win} frames, got ${n}`);
  const traj: number[][] = [[], [], []];
  const acc = [0, 0, 0];
  for (const m of motions) {
    for (let i = 0; i < 3; i++) {
      acc[i] = (acc[i] as number) + (m[i] as number);
      (traj[i] as number[]).push(acc[i] as number);
    }
  }
  const half = Math.floor(win / 2);
  const rms = [0, 0, 0].map((_, i) => {
    const t = traj[i] as number[];
    let ss = 0;
    let count = 0;
    for (let k = half; k < n - half; k++) {
      let s = 0;
      for (let d = -half; d <= half; d++) s += t[k + d] as number;
      const r = (t[k] as number) - s / win;
      ss += r * r;
      count++;
    }
    return Math.sqrt(ss / count);
  });
  const [x, y, th] = rms as [number, number, number];
  return { xPx: x, yPx: y, xyPx: Math.hypot(x, y), thetaDeg: th };
}

/** What measureVideoJitter found. */
export interface VideoJitter {
  readonly width: number;
  readonly height: number;
  readonly frames: number;
  /** Per-frame [dx px, dy px, dtheta deg], frame 0 zero. */
  readonly motions: readonly [number, number, number][];
  /** Measured frame-to-frame motions in the video's pixels (identity for frame 0 and failed pairs). */
  readonly matrices: readonly Mat3[];
  /** Pairs whose registration failed (counted as no motion). */
  readonly failures: number;
  readonly jitter: JitterMeasure;
}

/** The anchors' registration settings (bench_common.ecc_pyramid as metrics.py calls it). */
function makeRegistrar(width: number, height: number): Registrar {
  return createRegistrar(width, height, { model: 'euclidean', levels: 3, iterations: 50, epsilon: 0.001, gaussianSize: 5, robustStart: 'auto' });
}

/**
 * Measures a video's jitter: decodes it (ffmpeg, display orientation as a player shows it), registers
 * consecutive frames and applies hfJitter. `options.startSec`/`durationSec` trim as ffmpeg -ss/-t.
 */
export async function measureVideoJitter(path: string, options: { startSec?: number; durationSec?: number } = {}): Promise<VideoJitter> {
  const decoder = await openDecoder(path, {
    ...(options.startSec !== undefined ? { startSec: options.startSec } : {}),
    ...(options.durationSec !== undefined ? { durationSec: options.durationSec } : {}),
  });
  const { width, height } = decoder;
  const f = width > JITTER_MAX_WIDTH ? JITTER_MAX_WIDTH / width : 1;
  const sw = f === 1 ? width : JITTER_MAX_WIDTH;
  const sh = f === 1 ? height : Math.max(1, Math.round(height * f));
  let prev: GrayImage = createGrayImage(sw, sh);
  let cur: GrayImage = createGrayImage(sw, sh);
  const registrar = makeRegistrar(sw, sh);
  const motions: [number, number, number][] = [];
  const matrices: Mat3[] = [];
  let failures = 0;
  for await (const frame of decoder) {
    downscaleYInto(cur, frame.y, width, height);
    if (motions.length === 0) {
      motions.push([0, 0, 0]);
      matrices.push(Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1));
    } else {
      const r = registrar.register(prev, cur, null);
      const W = r.ok ? r.matrix : Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);
      if (!r.ok) failures++;
      const m = centerMotion(W, sw, sh);
      m[0] /= f;
      m[1] /= f;
      motions.push(m);
      // Back to the video's pixels (x_small = f (x + 0.5) - 0.5 in each axis).
      matrices.push(toVideoPixels(W, width / sw, height / sh));
    }
    const t = prev;
    prev = cur;
    cur = t;
  }
  return { width, height, frames: motions.length, motions, matrices, failures, jitter: hfJitter(motions) };
}

/** A motion between shrunk frames as a motion between the original frames (scale sx, sy: original / small). */
function toVideoPixels(W: Mat3, sx: number, sy: number): Mat3 {
  if (sx === 1 && sy === 1) return Float64Array.from(W);
  // A: original -> small, x_s = (x + 0.5) / sx - 0.5; M = A^-1 W A.
  const a = Float64Array.of(1 / sx, 0, 0.5 / sx - 0.5, 0, 1 / sy, 0.5 / sy - 0.5, 0, 0, 1);
  const ai = Float64Array.of(sx, 0, sx * 0.5 - 0.5, 0, sy, sy * 0.5 - 0.5, 0, 0, 1);
  return multiplyInto(new Float64Array(9), ai, multiplyInto(new Float64Array(9), W, a));
}
