/**
 * Draws tracking results into a YUV 4:2:0 8-bit frame, in place: the region's quadrilateral and,
 * optionally, the camera's motion as short vectors on a grid. Lines are burnt into the Y plane (and the
 * chroma planes, for colour) with a square brush; no anti-aliasing, no allocation.
 *
 * Coordinates are luma pixels, pixel centres at integers; chroma pixel (i, j) covers luma 2i..2i+1,
 * 2j..2j+1 (4:2:0 with ceil sizes, as the decoder delivers).
 */
import { type Mat3, transformPointInto } from '../motion/mat3.js';
import type { Corners } from './motion-file.js';

/** A colour as limited-range Y, U, V (8-bit). */
export interface YuvColor {
  readonly y: number;
  readonly u: number;
  readonly v: number;
}

/** Bright green (BT.601 limited range, RGB 0, 255, 0). */
export const OVERLAY_GREEN: YuvColor = { y: 145, u: 54, v: 34 };
/** Yellow (RGB 255, 255, 0), for motion vectors. */
export const OVERLAY_YELLOW: YuvColor = { y: 210, u: 16, v: 146 };
/** Red (RGB 255, 0, 0), for a lost region's last known place. */
export const OVERLAY_RED: YuvColor = { y: 81, u: 90, v: 240 };

/** The planes of one frame (views may point into one buffer). */
export interface YuvTarget {
  readonly width: number;
  readonly height: number;
  readonly y: Uint8Array;
  readonly u: Uint8Array;
  readonly v: Uint8Array;
}

function plot(f: YuvTarget, x: number, y: number, c: YuvColor, half: number): void {
  const cw = (f.width + 1) >> 1;
  for (let dy = -half; dy <= half; dy++) {
    const yy = y + dy;
    if (yy < 0 || yy >= f.height) continue;
    for (let dx = -half; dx <= half; dx++) {
      const xx = x + dx;
      if (xx < 0 || xx >= f.width) continue;
      f.y[yy * f.width + xx] = c.y;
      const ci = (yy >> 1) * cw + (xx >> 1);
      f.u[ci] = c.u;
      f.v[ci] = c.v;
    }
  }
}

/**
 * Draws the segment (x0, y0)-(x1, y1) with a brush of `thicknessPx` (rounded to an odd width).
 * Segments far outside the frame are clipped by skipping off-frame samples.
 */
export function drawLine(f: YuvTarget, x0: number, y0: number, x1: number, y1: number, c: YuvColor, thicknessPx = 2): void {
  if (![x0, y0, x1, y1].every(Number.isFinite)) return;
  const half = Math.max(0, Math.round((thicknessPx - 1) / 2));
  const len = Math.hypot(x1 - x0, y1 - y0);
  // Limit the work for absurd coordinates (a degenerate warp): at most a few frame diagonals of samples.
  const steps = Math.min(Math.ceil(len * 2), 4 * (f.width + f.height));
  if (steps === 0) {
    plot(f, Math.round(x0), Math.round(y0), c, half);
    return;
  }
  for (let s = 0; s <= steps; s++) {
    const t = s / steps;
    plot(f, Math.round(x0 + (x1 - x0) * t), Math.round(y0 + (y1 - y0) * t), c, half);
  }
}

/** Draws a closed quadrilateral through its four corners. */
export function drawQuad(f: YuvTarget, corners: Corners, c: YuvColor, thicknessPx = 2): void {
  for (let i = 0; i < 4; i++) {
    const a = corners[i] as readonly [number, number];
    const b = corners[(i + 1) % 4] as readonly [number, number];
    drawLine(f, a[0], a[1], b[0], b[1], c, thicknessPx);
  }
}

/**
 * Draws the camera motion `motion` (frame k-1 -> frame k) as vectors on a cols x rows grid: from each
 * grid point p to p + gain * (motion(p) - p), with a dot at p.
 */
export function drawMotionVectors(f: YuvTarget, motion: Mat3, c: YuvColor, cols = 8, rows = 6, gain = 4): void {
  const q = [0, 0];
  for (let j = 0; j < rows; j++) {
    for (let i = 0; i < cols; i++) {
      const x = ((i + 0.5) * f.width) / cols;
      const y = ((j + 0.5) * f.height) / rows;
      transformPointInto(q, motion, x, y);
      plot(f, Math.round(x), Math.round(y), c, 1);
      drawLine(f, x, y, x + gain * ((q[0] as number) - x), y + gain * ((q[1] as number) - y), c, 1);
    }
  }
}
