/**
 * Types shared by the stabilizer pipeline, the live server and the track command.
 * A frame travels as YUV 4:2:0, 8-bit planes (Y full size, U and V at ceil(w/2) x ceil(h/2)).
 */
import type { Mat3 } from '../motion/mat3.js';

/** One decoded colour frame. Planes may be views into a buffer reused for the next frame: copy to keep. */
export interface YuvFrame {
  /** 0-based index in decode order. */
  readonly index: number;
  /** Presentation time in seconds from the first frame. */
  readonly timeSec: number;
  readonly width: number;
  readonly height: number;
  readonly y: Uint8Array;
  readonly u: Uint8Array;
  readonly v: Uint8Array;
}

/** What the stabilizer decided for one frame; all matrices in input pixels. */
export interface FrameMotion {
  readonly index: number;
  readonly timeSec: number;
  /** Registration succeeded for this frame (a failed frame holds the last motion). */
  readonly ok: boolean;
  /** Correlation coefficient of the registration (NaN when none). */
  readonly cc: number;
  /** Maps pixel coordinates of frame k-1 to frame k (identity for frame 0). */
  readonly motion: Mat3;
  /** Maps pixel coordinates of the reference frame to frame k. */
  readonly fromReference: Mat3;
  readonly referenceIndex: number;
  /** Camera path (x px, y px, angle rad) of the image centre, raw and smoothed. */
  readonly path: readonly [number, number, number];
  readonly smoothedPath: readonly [number, number, number];
  /** Maps output pixel coordinates to input pixel coordinates (the inverse map the warp uses). */
  readonly correction: Mat3;
  /** Zoom factor (1 = none). */
  readonly zoom: number;
}

/** A stabilized frame: the input frame, its stabilized planes and the motion data. */
export interface StabilizedFrame {
  readonly input: YuvFrame;
  readonly output: YuvFrame;
  readonly motion: FrameMotion;
  /** Milliseconds (performance.now clock) when the decoder handed this frame over. */
  readonly decodedAtMs: number;
}
