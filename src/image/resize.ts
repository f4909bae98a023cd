/**
 * Resampling a gray image to another size, separable (x then y), pixel-centre correct: the centre of
 * destination pixel x sits at source coordinate u = (x + 0.5) * (srcWidth / dstWidth) - 0.5 (pixel
 * centres at integers, image edges at -0.5 and size - 0.5), so both images cover the same scene area.
 *
 * Methods, chosen per axis:
 * - 'area': each destination pixel is the mean of the source area it covers (exact box overlap; the
 *   right filter when shrinking, like OpenCV's INTER_AREA);
 * - 'bilinear': linear interpolation between the two nearest source centres, the edges clamped;
 * - 'auto' (default): 'area' along an axis that shrinks, 'bilinear' along one that grows or stays.
 *
 * The map from source to destination pixel coordinates is x_dst = (x_src + 0.5) * dstW / srcW - 0.5
 * (`resizeMatrixInto`).
 */
import type { Mat3 } from '../motion/mat3.js';
import type { GrayImage } from './gray-image.js';

/** How to resample: see the file comment. */
export type ResizeMethod = 'auto' | 'area' | 'bilinear';

/** Separable weights along one axis: destination i reads source starts[i] + t with weights[i * taps + t]. */
interface AxisWeights {
  readonly taps: number;
  readonly starts: Int32Array;
  readonly weights: Float32Array;
}

/** A resampler for one (source size, destination size, method): tables and scratch made once. */
export interface Resizer {
  readonly srcWidth: number;
  readonly srcHeight: number;
  readonly dstWidth: number;
  readonly dstHeight: number;
  /** Resamples `src` (srcWidth x srcHeight) into `out` (dstWidth x dstHeight). Returns `out`. */
  resizeInto(out: GrayImage, src: GrayImage): GrayImage;
}

function axisWeights(srcN: number, dstN: number, method: ResizeMethod): AxisWeights {
  const r = srcN / dstN;
  const area = method === 'area' || (method === 'auto' && r > 1);
  if (area) {
    const taps = Math.ceil(r) + 1;
    const starts = new Int32Array(dstN);
    const weights = new Float32Array(dstN * taps);
    for (let i = 0; i < dstN; i++) {
      const a = i * r;
      const b = Math.min(srcN, (i + 1) * r);
      const j0 = Math.min(Math.max(srcN - taps, 0), Math.floor(a));
      starts[i] = j0;
      for (let t = 0; t < taps; t++) {
        const j = j0 + t;
        if (j >= srcN) break;
        const overlap = Math.min(b, j + 1) - Math.max(a, j);
        weights[i * taps + t] = overlap > 0 ? overlap / (b - a) : 0;
      }
    }
    return { taps, starts, weights };
  }
  const taps = srcN === 1 ? 1 : 2;
  const starts = new Int32Array(dstN);
  const weights = new Float32Array(dstN * taps);
  for (let i = 0; i < dstN; i++) {
    if (taps === 1) {
      weights[i] = 1;
      continue;
    }
    const u = Math.min(srcN - 1, Math.max(0, (i + 0.5) * r - 0.5));
    const j0 = Math.min(srcN - 2, Math.floor(u));
    const f = u - j0;
    starts[i] = j0;
    weights[2 * i] = 1 - f;
    weights[2 * i + 1] = f;
  }
  return { taps, starts, weights };
}

/** Makes a reusable resampler from srcWidth x srcHeight to dstWidth x dstHeight. */
export function createResizer(srcWidth: number, srcHeight: number, dstWidth: number, dstHeight: number, method: ResizeMethod = 'auto'): Resizer {
  const wx = axisWeights(srcWidth, dstWidth, method);
  const wy = axisWeights(srcHeight, dstHeight, method);
  const tmp = new Float32Array(dstWidth * srcHeight);
  return {
    srcWidth,
    srcHeight,
    dstWidth,
    dstHeight,
    resizeInto(out: GrayImage, src: GrayImage): GrayImage {
      if (src.width !== srcWidth || src.height !== srcHeight || out.width !== dstWidth || out.height !== dstHeight) {
        throw new RangeError(
          `resizer made for ${srcWidth}x${srcHeight} -> ${dstWidth}x${dstHeight}, got ${src.width}x${src.height} -> ${out.width}x${out.height}`,
        );
      }
      const s = src.data;
      const { taps: tx, starts: sx, weights: kx } = wx;
      for (let y = 0; y < srcHeight; y++) {
        const row = y * srcWidth;
        const orow = y * dstWidth;
        for (let x = 0; x < dstWidth; x++) {
          const j = row + (sx[x] as number);
          const k = x * tx;
          let acc = 0;
          for (let t = 0; t < tx; t++) {
            const wgt = kx[k + t] as number;
            if (wgt !== 0) acc += wgt * (s[j + t] as number);
          }
          tmp[orow + x] = acc;
        }
      }
      const o = out.data;
      const { taps: ty, starts: sy, weights: ky } = wy;
      for (let y = 0; y < dstHeight; y++) {
        const orow = y * dstWidth;
        const base = (sy[y] as number) * dstWidth;
        for (let x = 0; x < dstWidth; x++) o[orow + x] = 0;
        for (let t = 0; t < ty; t++) {
          const wgt = ky[y * ty + t] as number;
          if (wgt === 0) continue;
          const r = base + t * dstWidth;
          for (let x = 0; x < dstWidth; x++) o[orow + x] = (o[orow + x] as number) + wgt * (tmp[r + x] as number);
        }
      }
      return out;
    },
  };
}

/** One-shot resampling of `src` into `out` (sizes taken from both). Returns `out`. */
export function resizeInto(out: GrayImage, src: GrayImage, method: ResizeMethod = 'auto'): GrayImage {
  return createResizer(src.width, src.height, out.width, out.height, method).resizeInto(out, src);
}

/**
 * The matrix R mapping source pixel coordinates to destination pixel coordinates of a resize from
 * srcWidth x srcHeight to dstWidth x dstHeight: x_dst = (x_src + 0.5) * dstW / srcW - 0.5. Returns `out`.
 */
export function resizeMatrixInto(out: Mat3, srcWidth: number, srcHeight: number, dstWidth: number, dstHeight: number): Mat3 {
  const sx = dstWidth / srcWidth;
  const sy = dstHeight / srcHeight;
  out[0] = sx;
  out[1] = 0;
  out[2] = 0.5 * (sx - 1);
  out[3] = 0;
  out[4] = sy;
  out[5] = 0.5 * (sy - 1);
  out[6] = 0;
  out[7] = 0;
  out[8] = 1;
  return out;
}
