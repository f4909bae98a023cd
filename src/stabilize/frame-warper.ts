/**
 * Warps a YUV 4:2:0 frame by a correction matrix (output pixel -> input pixel, the inverse map) into
 * output planes owned by the warper and reused for every frame. Chroma planes use the matching
 * half-resolution matrix (image/warp.ts chromaMatrixInto, MPEG-2/H.264 'left' siting).
 *
 * The output may be smaller (or larger) than the input: the correction, in input pixels (output pixel of
 * a frame at input size -> input pixel), is then composed with the scale from output pixels to those of
 * a frame at input size, x_in = (x_out + 0.5) * inputWidth / outputWidth - 0.5 (image/resize.ts
 * resizeMatrixInto; the geometry of the area average in frame-shrinker.ts), and the warp writes the
 * output planes at their own size directly. Shrinking by 2 this way reads 4 source samples per output
 * sample through the bilinear weights, close to the full-size warp followed by a 2x2 average, for a
 * quarter of the work.
 *
 * Border fill where the source point falls outside the input frame: 'black' (Y 16, chroma 128, video
 * black), 'edge' (replicate the nearest edge pixel), 'reflect' (mirror), 'keep' (leave the previous
 * output frame's pixel there).
 */
import { chromaMatrixInto, warpPlaneU8Into } from '../image/warp.js';
import { resizeMatrixInto } from '../image/resize.js';
import { type Mat3, multiplyInto } from '../motion/mat3.js';
import type { YuvFrame } from './frame-types.js';

/** How pixels with no source are filled. */
export type BorderFill = 'black' | 'edge' | 'reflect' | 'keep';

/** The border fills, for validation and help. */
export const BORDER_FILLS: readonly BorderFill[] = ['black', 'edge', 'reflect', 'keep'];

/** Interpolation of the output warp (bicubic is several times slower than bilinear). */
export type FrameInterpolation = 'nearest' | 'bilinear' | 'bicubic';

/** The interpolations, for validation and help. */
export const FRAME_INTERPOLATIONS: readonly FrameInterpolation[] = ['nearest', 'bilinear', 'bicubic'];

/** Warps frames of one size into output planes of one size; holds the output planes. */
export interface FrameWarper {
  /** Size of the input frames, pixels. */
  readonly inputWidth: number;
  readonly inputHeight: number;
  /** Size of the output planes, pixels. */
  readonly width: number;
  readonly height: number;
  /** Y, U, V of the last warped frame, back to back (valid until the next warp). */
  readonly data: Uint8Array;
  readonly y: Uint8Array;
  readonly u: Uint8Array;
  readonly v: Uint8Array;
  /**
   * Warps `frame` (inputWidth x inputHeight) by `correction` (output pixel -> input pixel, both in input
   * pixels) into the output planes; returns the whole buffer.
   */
  warp(frame: YuvFrame, correction: Mat3, border: BorderFill, interpolation: FrameInterpolation): Uint8Array;
}

/**
 * Makes a warper for frames of width x height, writing outputWidth x outputHeight planes.
 * @param outputWidth output width, pixels. @default width
 * @param outputHeight output height, pixels. @default height
 */
export function createFrameWarper(width: number, height: number, outputWidth: number = width, outputHeight: number = height): FrameWarper {
  const icw = Math.ceil(width / 2);
  const ich = Math.ceil(height / 2);
  const ow = outputWidth;
  const oh = outputHeight;
  const cw = Math.ceil(ow / 2);
  const ch = Math.ceil(oh / 2);
  const data = new Uint8Array(ow * oh + 2 * cw * ch);
  const y = data.subarray(0, ow * oh);
  const u = data.subarray(ow * oh, ow * oh + cw * ch);
  const v = data.subarray(ow * oh + cw * ch);
  // Start from video black so that 'keep' shows black before any content was kept.
  y.fill(16);
  u.fill(128);
  v.fill(128);
  const resized = ow !== width || oh !== height;
  // Output pixels -> pixels of a frame at input size (identity when the sizes agree).
  const scale = resizeMatrixInto(new Float64Array(9), ow, oh, width, height);
  const luma = new Float64Array(9);
  const chroma = new Float64Array(9);
  return {
    inputWidth: width,
    inputHeight: height,
    width: ow,
    height: oh,
    data,
    y,
    u,
    v,
    warp(frame, correction, border, interpolation) {
      const mode = border === 'black' ? 'constant' : border === 'edge' ? 'replicate' : border;
      const interp = interpolation;
      const m = resized ? multiplyInto(luma, correction, scale) : correction;
      warpPlaneU8Into(y, ow, oh, frame.y, width, height, m, { interpolation: interp, border: mode, borderValue: 16 });
      chromaMatrixInto(chroma, m, 'left');
      warpPlaneU8Into(u, cw, ch, frame.u, icw, ich, chroma, { interpolation: interp, border: mode, borderValue: 128 });
      warpPlaneU8Into(v, cw, ch, frame.v, icw, ich, chroma, { interpolation: interp, border: mode, borderValue: 128 });
      return data;
    },
  };
}
