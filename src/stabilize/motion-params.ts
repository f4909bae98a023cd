/**
 * Motion parameters about the frame centre: a 3x3 motion decomposed into the displacement of the image
 * centre (dx, dy), a rotation angle and an isotropic scale, and the similarity built back from them.
 *
 * Convention: with c = ((width - 1) / 2, (height - 1) / 2) (pixel centres at integers), the similarity of
 * parameters (dx, dy, angleRad, scale) maps u to  c + (dx, dy) + scale R(angleRad) (u - c),  R the
 * counter-clockwise rotation in pixel coordinates (x right, y down, so it turns clockwise on screen).
 * For a motion of frame k-1 -> frame k (steady's motion convention) these are the content's motion: the
 * point at the centre of frame k-1 is found at c + (dx, dy) in frame k, as the anchors' `center_motion`.
 *
 * Decomposition of a general matrix (affine, homography): (dx, dy) is the exact displacement of the centre
 * (with the perspective division); angle and scale are those of the similarity closest (least squares) to
 * the map's Jacobian J at the centre: angle = atan2(J10 - J01, J00 + J11), scale = |(J00 + J11, J10 - J01)| / 2.
 * Angles come from atan2 of matrix entries, never acos (it loses the sign). For a similarity the round trip
 * is exact.
 */
import type { Mat3 } from '../motion/mat3.js';

/** Similarity parameters about the frame centre (a reusable value: write into it with decomposeMotionInto). */
export interface MotionParams {
  /** Displacement of the image centre along x, pixels. */
  dx: number;
  /** Displacement of the image centre along y, pixels. */
  dy: number;
  /** Rotation, radians, in (-pi, pi]. */
  angleRad: number;
  /** Isotropic scale (1 = none). */
  scale: number;
}

/** A new parameter value of the identity motion. */
export function createMotionParams(): MotionParams {
  return { dx: 0, dy: 0, angleRad: 0, scale: 1 };
}

/**
 * Decomposes `m` about the centre (cx, cy) into `out` (see the file comment) and returns `out`.
 * A degenerate matrix (the centre maps to infinity) gives NaN displacements; the caller checks.
 */
export function decomposeMotionInto(out: MotionParams, m: Mat3, cx: number, cy: number): MotionParams {
  const m0 = m[0] as number, m1 = m[1] as number, m2 = m[2] as number;
  const m3 = m[3] as number, m4 = m[4] as number, m5 = m[5] as number;
  const m6 = m[6] as number, m7 = m[7] as number, m8 = m[8] as number;
  const w = m6 * cx + m7 * cy + m8;
  const px = (m0 * cx + m1 * cy + m2) / w;
  const py = (m3 * cx + m4 * cy + m5) / w;
  // Jacobian of the projective map at the centre: (A - p h^T) / w with h the perspective row.
  const j00 = (m0 - px * m6) / w;
  const j01 = (m1 - px * m7) / w;
  const j10 = (m3 - py * m6) / w;
  const j11 = (m4 - py * m7) / w;
  const a = j00 + j11;
  const b = j10 - j01;
  out.dx = px - cx;
  out.dy = py - cy;
  out.angleRad = Math.atan2(b, a);
  out.scale = 0.5 * Math.hypot(a, b);
  return out;
}

/** Writes the similarity  u -> c + (dx, dy) + scale R(angleRad) (u - c)  into `out` and returns it. */
export function composeMotionInto(out: Mat3, dx: number, dy: number, angleRad: number, scale: number, cx: number, cy: number): Mat3 {
  const c = scale * Math.cos(angleRad);
  const s = scale * Math.sin(angleRad);
  out[0] = c;
  out[1] = -s;
  out[2] = cx + dx - (c * cx - s * cy);
  out[3] = s;
  out[4] = c;
  out[5] = cy + dy - (s * cx + c * cy);
  out[6] = 0;
  out[7] = 0;
  out[8] = 1;
  return out;
}
