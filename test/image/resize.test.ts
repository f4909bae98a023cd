import { describe, expect, it } from 'vitest';
import { createGrayImage, type GrayImage } from '../../src/image/gray-image.js';
import { createResizer, resizeInto, resizeMatrixInto } from '../../src/image/resize.js';
import { createRng } from '../support/synthetic.js';

/** Float32 sums of a few 0..255 values. */
const TOL_GRAY = 1e-3;
/**
 * Area shrinking by a non-integer factor r averages piecewise-constant pixels over boxes that cut the end
 * pixels partially; the box's weighted centre then sits up to about 0.1 / r pixel off the mapped centre
 * (0.04 px for r = 2.35), alternating in sign from pixel to pixel (exact for integer factors).
 */
const TOL_AREA_PX = 0.05;

function ramp(w: number, h: number, a: number, b: number, c: number): GrayImage {
  const img = createGrayImage(w, h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) img.data[y * w + x] = a * x + b * y + c;
  return img;
}

describe('resizeInto', () => {
  it('is pixel-centre correct: a ramp a x + b y + c resamples to its value at the mapped centre', () => {
    // Enlarging (bilinear) and shrinking (area) both preserve linear functions, evaluated at
    // u = (x + 0.5) srcW / dstW - 0.5, away from the clamped border.
    const src = ramp(40, 30, 2, -1, 100);
    for (const [dw, dh, tol] of [
      [100, 70, TOL_GRAY],
      [17, 13, TOL_AREA_PX * 3],
      [23, 11, TOL_AREA_PX * 3],
      [20, 15, TOL_GRAY],
      [40, 45, TOL_GRAY],
    ] as const) {
      const out = resizeInto(createGrayImage(dw, dh), src);
      const m = resizeMatrixInto(new Float64Array(9), 40, 30, dw, dh);
      for (let y = 0; y < dh; y++) {
        for (let x = 0; x < dw; x++) {
          // Source position of this destination pixel: invert x_dst = sx x_src + ox.
          const u = (x - (m[2] as number)) / (m[0] as number);
          const v = (y - (m[5] as number)) / (m[4] as number);
          const margin = Math.max(1, 40 / dw, 30 / dh);
          if (u < margin || v < margin || u > 39 - margin || v > 29 - margin) continue;
          // |a| + |b| = 3 gray levels per pixel of displacement.
          expect(Math.abs((out.data[y * dw + x] as number) - (2 * u - v + 100))).toBeLessThan(tol);
        }
      }
    }
  });

  it('averages 2x2 blocks when halving with area', () => {
    const rng = createRng(9);
    const src = createGrayImage(8, 6);
    for (let i = 0; i < 48; i++) src.data[i] = rng.uniform(0, 255);
    const out = resizeInto(createGrayImage(4, 3), src, 'area');
    for (let y = 0; y < 3; y++) {
      for (let x = 0; x < 4; x++) {
        const s = (xx: number, yy: number) => src.data[yy * 8 + xx] as number;
        const mean = (s(2 * x, 2 * y) + s(2 * x + 1, 2 * y) + s(2 * x, 2 * y + 1) + s(2 * x + 1, 2 * y + 1)) / 4;
        expect(Math.abs((out.data[y * 4 + x] as number) - mean)).toBeLessThan(TOL_GRAY);
      }
    }
  });

  it('keeps the mean of an image under area shrinking by a non-integer factor (weights sum to 1)', () => {
    const rng = createRng(10);
    const src = createGrayImage(50, 40);
    for (let i = 0; i < 2000; i++) src.data[i] = rng.uniform(0, 255);
    const out = resizeInto(createGrayImage(20, 16), src, 'area');
    const mean = (d: Float32Array) => d.reduce((a, b) => a + b, 0) / d.length;
    expect(Math.abs(mean(out.data) - mean(src.data))).toBeLessThan(1e-2);
    const flat = resizeInto(createGrayImage(23, 7), createGrayImage(50, 40, new Float32Array(2000).fill(42)));
    for (const v of flat.data) expect(v).toBeCloseTo(42, 4);
  });

  it('is the identity at the same size, and a reused resizer equals the one-shot call', () => {
    const rng = createRng(11);
    const src = createGrayImage(21, 13);
    for (let i = 0; i < src.data.length; i++) src.data[i] = rng.uniform(0, 255);
    const same = resizeInto(createGrayImage(21, 13), src);
    for (let i = 0; i < src.data.length; i++) expect(Math.abs((same.data[i] as number) - (src.data[i] as number))).toBeLessThan(TOL_GRAY);
    const r = createResizer(21, 13, 9, 30);
    const a = r.resizeInto(createGrayImage(9, 30), src);
    const b = resizeInto(createGrayImage(9, 30), src);
    expect(Array.from(a.data)).toEqual(Array.from(b.data));
    expect(() => r.resizeInto(createGrayImage(9, 30), createGrayImage(20, 13))).toThrow(RangeError);
  });

  it('maps pixel centres and image edges as documented', () => {
    const m = resizeMatrixInto(new Float64Array(9), 100, 50, 25, 200);
    // Edges: x_src = -0.5 -> x_dst = -0.5, x_src = 99.5 -> 24.5.
    expect((m[0] as number) * -0.5 + (m[2] as number)).toBeCloseTo(-0.5, 12);
    expect((m[0] as number) * 99.5 + (m[2] as number)).toBeCloseTo(24.5, 12);
    expect((m[4] as number) * 49.5 + (m[5] as number)).toBeCloseTo(199.5, 12);
  });
});
