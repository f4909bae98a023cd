/**
 * A shaky shot with an object crossing it, rendered exactly from procedural scenes (fourier-fixtures'
 * texture): the background seen through a camera that shakes by known translations, and a textured
 * rectangle that slides across the frame at its own speed, entering from the left edge. Ground truth: frame
 * k-1 -> frame k moves the background by (t[k-1] - t[k]) (steady's motion convention).
 */
import { createGrayImage, type GrayImage } from '../../src/image/gray-image.js';
import type { Mat3 } from '../../src/motion/mat3.js';
import { createRng, texture } from './fourier-fixtures.js';
import { centerMotion } from './jitter.js';

export interface CrossingShot {
  readonly frames: GrayImage[];
  /** True background motion of frame k (identity for frame 0). */
  readonly truth: Mat3[];
  /** Share of frame k the object covers. */
  readonly covered: number[];
}

export interface CrossingOptions {
  readonly width: number;
  readonly height: number;
  readonly frames: number;
  /** Object width as a share of the frame's (its height: 1.6 times that share of the frame's, at most all). */
  readonly size: number;
  /** Object speed, px per frame, to the right. */
  readonly speedPx: number;
  /** Shake: AR(1) translation with steps of up to this many px. @default 3 */
  readonly shakePx?: number;
  readonly seed?: number;
  /** Scene coordinates per pixel: 2 makes the texture's periods 3.5-24 px, as fine as a real frame's. @default 2 */
  readonly detail?: number;
}

/** Renders the shot (see the file comment). */
export function crossingShot(o: CrossingOptions): CrossingShot {
  const { width: W, height: H } = o;
  const d = o.detail ?? 2;
  const bgScene = texture(o.seed ?? 1);
  const objScene = texture((o.seed ?? 1) + 100);
  const bg = (x: number, y: number) => bgScene(d * x, d * y);
  const obj = (x: number, y: number) => objScene(d * x, d * y);
  const rng = createRng(o.seed ?? 3);
  const shake = o.shakePx ?? 3;
  const ow = Math.round(W * o.size);
  const oh = Math.min(H, Math.round(H * o.size * 1.6));
  const oy = Math.round((H - oh) / 2);
  const frames: GrayImage[] = [];
  const truth: Mat3[] = [];
  const covered: number[] = [];
  let tx = 0;
  let ty = 0;
  let px = 0;
  let py = 0;
  for (let k = 0; k < o.frames; k++) {
    tx = 0.7 * tx + (rng() - 0.5) * 2 * shake;
    ty = 0.7 * ty + (rng() - 0.5) * 2 * shake;
    const ox = -ow + k * o.speedPx;
    const img = createGrayImage(W, H);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const u = x - ox;
        const inObject = u >= 0 && u < ow && y >= oy && y < oy + oh;
        img.data[y * W + x] = inObject ? obj(u, y - oy) : bg(x + tx, y + ty);
      }
    }
    frames.push(img);
    truth.push(k === 0 ? Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1) : Float64Array.of(1, 0, px - tx, 0, 1, py - ty, 0, 0, 1));
    covered.push((Math.max(0, Math.min(W, ox + ow) - Math.max(0, ox)) * oh) / (W * H));
    px = tx;
    py = ty;
  }
  return { frames, truth, covered };
}

/** Translation error (px) of a motion against the truth at the frame's centre. */
export function centreError(m: Mat3, truth: Mat3, width: number, height: number): number {
  const [mx, my] = centerMotion(m, width, height);
  const [tx, ty] = centerMotion(truth, width, height);
  return Math.hypot(mx - tx, my - ty);
}

/** The q-quantile (0..1) of the values. */
export function quantile(values: readonly number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
}
