/**
 * Warps a YUV 4:2:0 frame by a correction matrix (output pixel -> input pixel, the inverse map) into
 * output planes owned by the warper and reused for every frame. Chroma planes use the matching
 * half-resolution matrix (image/warp.ts chromaMatrixInto, MPEG-2/H.264 'left' siting).
 *
 * Border fill where the source point falls outside the input frame: 'black' (Y 16, chroma 128, video
 * black), 'edge' (replicate the nearest edge pixel), 'reflect' (mirror), 'keep' (leave the previous
 * output frame's pixel there).
 */
import { chromaMatrixInto, warpPlaneU8Into } from '../image/warp.js';
import type { Mat3 } from '../motion/mat3.js';
import type { YuvFrame } from './frame-types.js';

/** How pixels with no source are filled. */
export type BorderFill = 'black' | 'edge' | 'reflect' | 'keep';

/** The border fills, for validation and help. */
export const BORDER_FILLS: readonly BorderFill[] = ['black', 'edge', 'reflect', 'keep'];

/** Interpolation of the output warp (bicubic is several times slower than bilinear). */
export type FrameInterpolation = 'nearest' | 'bilinear' | 'bicubic';

/** The interpolations, for validation and help. */
export const FRAME_INTERPOLATIONS: readonly FrameInterpolation[] = ['nearest', 'bilinear', 'bicubic'];

/** Warps frames of one size; holds the output planes. */
export interface FrameWarper {
  readonly width: number;
  readonly height: number;
  /** Y, U, V of the last warped frame, back to back (valid until the next warp). */
  readonly data: Uint8Array;
  readonly y: Uint8Array;
  readonly u: Uint8Array;
  readonly v: Uint8Array;
  /** Warps `frame` by `correction` into the output planes; returns the whole buffer. */
  warp(frame: YuvFrame, correction: Mat3, border: BorderFill, interpolation: FrameInterpolation): Uint8Array;
}

/** Makes a warper for frames of width x height. */
export function createFrameWarper(width: number, height: number): FrameWarper {
  const cw = Math.ceil(width / 2);
  const ch = Math.ceil(height / 2);
  const data = new Uint8Array(width * height + 2 * cw * ch);
  const y = data.subarray(0, width * height);
  const u = data.subarray(width * height, width * height + cw * ch);
  const v = data.subarray(width * height + cw * ch);
  // Start from video black so that 'keep' shows black before any content was kept.
  y.fill(16);
  u.fill(128);
  v.fill(128);
  const chroma = new Float64Array(9);
  return {
    width,
    height,
    data,
    y,
    u,
    v,
    warp(frame, correction, border, interpolation) {
      const mode = border === 'black' ? 'constant' : border === 'edge' ? 'replicate' : border;
      const interp = interpolation;
      warpPlaneU8Into(y, width, height, frame.y, width, height, correction, { interpolation: interp, border: mode, borderValue: 16 });
      chromaMatrixInto(chroma, correction, 'left');
      warpPlaneU8Into(u, cw, ch, frame.u, cw, ch, chroma, { interpolation: interp, border: mode, borderValue: 128 });
      warpPlaneU8Into(v, cw, ch, frame.v, cw, ch, chroma, { interpolation: interp, border: mode, borderValue: 128 });
      return data;
    },
  };
}
