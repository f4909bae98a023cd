/**
 * The gray analysis image registration works on: the decoded Y plane shrunk by an area average (box
 * filter), in-process.
 *
 * Why in-process rather than a second ffmpeg output (`-filter_complex split` with scale + format=gray to
 * a pipe on fd 3): one pipe means one frame boundary to keep in step, no risk of the two pipes
 * deadlocking when the consumer reads one faster than the other, the same code path for every input
 * (files, devices, stdin), and an exact, documented filter instead of ffmpeg's version-dependent
 * swscale area filter. Shrinking 1920x1080 to 480x270 reads each Y sample once.
 *
 * Geometry: pixel centres at integer coordinates, so source pixel i covers [i - 0.5, i + 0.5] and
 * output pixel o covers source [o*s - 0.5, (o+1)*s - 0.5] with s = sourceSize / outputSize; the output
 * pixel is the mean of the source over that interval, each source pixel weighted by its overlap. Output
 * centre o therefore sits at source coordinate (o + 0.5) * s - 0.5: a point x in the source maps to
 * (x + 0.5) / s - 0.5 in the output, which is what callers must use to scale motion back up.
 */
import type { GrayImage } from '../image/gray-image.js';

/**
 * The analysis size for a frame: scaled down (never up) so that the longer side is at most `maxSide`,
 * keeping the aspect ratio, each side at least 1.
 * @param maxSide longest side of the analysis image, pixels.
 */
export function analysisSize(width: number, height: number, maxSide: number): { width: number; height: number } {
  const longest = Math.max(width, height);
  if (longest <= maxSide) return { width, height };
  const s = maxSide / longest;
  return { width: Math.max(1, Math.round(width * s)), height: Math.max(1, Math.round(height * s)) };
}

/**
 * Shrinks an 8-bit plane (`width` x `height`, tightly packed) into `out` by area averaging; `out`'s size
 * picks the scale (not larger than the source). Gray levels stay 0..255. No allocation. Returns `out`.
 */
export function downscaleYInto(out: GrayImage, y: Uint8Array, width: number, height: number): GrayImage {
  const ow = out.width;
  const oh = out.height;
  const dst = out.data;
  if (ow > width || oh > height) throw new RangeError(`cannot downscale ${width}x${height} to a larger ${ow}x${oh}`);
  if (y.length < width * height) throw new RangeError(`expected ${width * height} samples (${width}x${height}), got ${y.length}`);
  const sx = width / ow;
  const sy = height / oh;
  if (Number.isInteger(sx) && Number.isInteger(sy)) {
    // Whole blocks: every weight is 1.
    const inv = 1 / (sx * sy);
    for (let oy = 0; oy < oh; oy++) {
      const y0 = oy * sy;
      for (let ox = 0; ox < ow; ox++) {
        const x0 = ox * sx;
        let sum = 0;
        for (let j = 0; j < sy; j++) {
          const row = (y0 + j) * width + x0;
          for (let i = 0; i < sx; i++) sum += y[row + i] as number;
        }
        dst[oy * ow + ox] = sum * inv;
      }
    }
    return out;
  }
  // Fractional footprints, in edge coordinates (source pixel i spans [i, i+1)).
  const inv = 1 / (sx * sy);
  for (let oy = 0; oy < oh; oy++) {
    const top = oy * sy;
    const bottom = top + sy;
    const j0 = Math.floor(top);
    const j1 = Math.min(height, Math.ceil(bottom));
    for (let ox = 0; ox < ow; ox++) {
      const left = ox * sx;
      const right = left + sx;
      const i0 = Math.floor(left);
      const i1 = Math.min(width, Math.ceil(right));
      let sum = 0;
      for (let j = j0; j < j1; j++) {
        const wy = Math.min(j + 1, bottom) - Math.max(j, top);
        const row = j * width;
        let rowSum = 0;
        for (let i = i0; i < i1; i++) {
          const wx = Math.min(i + 1, right) - Math.max(i, left);
          rowSum += wx * (y[row + i] as number);
        }
        sum += wy * rowSum;
      }
      dst[oy * ow + ox] = sum * inv;
    }
  }
  return out;
}
