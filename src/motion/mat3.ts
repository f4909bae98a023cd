/**
 * 3x3 matrices, row-major in a Float64Array(9): m = [m00 m01 m02; m10 m11 m12; m20 m21 m22].
 * Output argument first, returned (gl-matrix style); `out` may alias an input.
 *
 * Convention (everywhere in steady): registering `moving` onto `fixed` gives W mapping pixel
 * coordinates of `fixed` to pixel coordinates of `moving` (OpenCV findTransformECC's warp matrix).
 * Pixel centres are at integer coordinates.
 */
export type Mat3 = Float64Array;

/** A new identity matrix. */
export function mat3Identity(): Mat3 {
  return Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);
}

/** Sets `out` to identity. */
export function setIdentityInto(out: Mat3): Mat3 {
  out.fill(0);
  out[0] = 1;
  out[4] = 1;
  out[8] = 1;
  return out;
}

/** out = a * b. */
export function multiplyInto(out: Mat3, a: Mat3, b: Mat3): Mat3 {
  const a0 = a[0] as number, a1 = a[1] as number, a2 = a[2] as number;
  const a3 = a[3] as number, a4 = a[4] as number, a5 = a[5] as number;
  const a6 = a[6] as number, a7 = a[7] as number, a8 = a[8] as number;
  const b0 = b[0] as number, b1 = b[1] as number, b2 = b[2] as number;
  const b3 = b[3] as number, b4 = b[4] as number, b5 = b[5] as number;
  const b6 = b[6] as number, b7 = b[7] as number, b8 = b[8] as number;
  out[0] = a0 * b0 + a1 * b3 + a2 * b6;
  out[1] = a0 * b1 + a1 * b4 + a2 * b7;
  out[2] = a0 * b2 + a1 * b5 + a2 * b8;
  out[3] = a3 * b0 + a4 * b3 + a5 * b6;
  out[4] = a3 * b1 + a4 * b4 + a5 * b7;
  out[5] = a3 * b2 + a4 * b5 + a5 * b8;
  out[6] = a6 * b0 + a7 * b3 + a8 * b6;
  out[7] = a6 * b1 + a7 * b4 + a8 * b7;
  out[8] = a6 * b2 + a7 * b5 + a8 * b8;
  return out;
}

/** out = inverse(m); returns null (out untouched) when m is singular. */
export function invertInto(out: Mat3, m: Mat3): Mat3 | null {
  const m0 = m[0] as number, m1 = m[1] as number, m2 = m[2] as number;
  const m3 = m[3] as number, m4 = m[4] as number, m5 = m[5] as number;
  const m6 = m[6] as number, m7 = m[7] as number, m8 = m[8] as number;
  const c0 = m4 * m8 - m5 * m7;
  const c1 = m5 * m6 - m3 * m8;
  const c2 = m3 * m7 - m4 * m6;
  const det = m0 * c0 + m1 * c1 + m2 * c2;
  if (!Number.isFinite(det) || Math.abs(det) < 1e-300) return null;
  const k = 1 / det;
  out[0] = c0 * k;
  out[1] = (m2 * m7 - m1 * m8) * k;
  out[2] = (m1 * m5 - m2 * m4) * k;
  out[3] = c1 * k;
  out[4] = (m0 * m8 - m2 * m6) * k;
  out[5] = (m2 * m3 - m0 * m5) * k;
  out[6] = c2 * k;
  out[7] = (m1 * m6 - m0 * m7) * k;
  out[8] = (m0 * m4 - m1 * m3) * k;
  return out;
}

/** Divides by m22 so that m22 = 1 (homographies); leaves m untouched if m22 is ~0. */
export function normalizeInto(out: Mat3, m: Mat3): Mat3 {
  const s = m[8] as number;
  if (Math.abs(s) < 1e-300) {
    if (out !== m) out.set(m);
    return out;
  }
  for (let i = 0; i < 9; i++) out[i] = (m[i] as number) / s;
  return out;
}

/** Maps the point (x, y) through m; writes [x', y'] into out (a length-2 array). */
export function transformPointInto(out: Float64Array | number[], m: Mat3, x: number, y: number): Float64Array | number[] {
  const w = (m[6] as number) * x + (m[7] as number) * y + (m[8] as number);
  out[0] = ((m[0] as number) * x + (m[1] as number) * y + (m[2] as number)) / w;
  out[1] = ((m[3] as number) * x + (m[4] as number) * y + (m[5] as number)) / w;
  return out;
}

/** Nested rows, for JSON: [[m00,m01,m02],[m10,m11,m12],[m20,m21,m22]]. */
export function toRows(m: Mat3): number[][] {
  return [
    [m[0] as number, m[1] as number, m[2] as number],
    [m[3] as number, m[4] as number, m[5] as number],
    [m[6] as number, m[7] as number, m[8] as number],
  ];
}

/** From nested rows (trusted shape). */
export function fromRows(rows: readonly (readonly number[])[]): Mat3 {
  const out = new Float64Array(9);
  for (let r = 0; r < 3; r++) for (let c = 0; c < 3; c++) out[r * 3 + c] = (rows[r] as readonly number[])[c] as number;
  return out;
}

/**
 * Expresses a transform given in one pixel grid in another, scaled grid: with S = diag(s, s, 1)
 * (pixel centres at integers, so coordinates scale by s), out = S * m * S^-1.
 * Use s = 2 to carry a warp from a pyramid level to the next finer one; this is right for every
 * model, homography included (the perspective row is divided by s, the translation multiplied).
 */
export function rescaleInto(out: Mat3, m: Mat3, s: number): Mat3 {
  return rescaleXYInto(out, m, s, s, s, s);
}

/**
 * out = S_to * m * S_from^-1 with S_from = diag(fromX, fromY, 1), S_to = diag(toX, toY, 1):
 * m maps grid A to grid B; the result maps grid A scaled by (fromX, fromY) to grid B scaled by (toX, toY).
 */
export function rescaleXYInto(out: Mat3, m: Mat3, fromX: number, fromY: number, toX: number, toY: number): Mat3 {
  const ifx = 1 / fromX, ify = 1 / fromY;
  const m0 = m[0] as number, m1 = m[1] as number, m2 = m[2] as number;
  const m3 = m[3] as number, m4 = m[4] as number, m5 = m[5] as number;
  const m6 = m[6] as number, m7 = m[7] as number, m8 = m[8] as number;
  out[0] = toX * m0 * ifx;
  out[1] = toX * m1 * ify;
  out[2] = toX * m2;
  out[3] = toY * m3 * ifx;
  out[4] = toY * m4 * ify;
  out[5] = toY * m5;
  out[6] = m6 * ifx;
  out[7] = m7 * ify;
  out[8] = m8;
  return out;
}
