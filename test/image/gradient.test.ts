import { describe, expect, it } from 'vitest';
import { gradientInto } from '../../src/image/gradient.js';
import { createGrayImage } from '../../src/image/gray-image.js';
import { createRng } from '../support/synthetic.js';

/** Float32 results of sums of a few 0..255 values. */
const TOL_GRAY = 1e-4;

describe('gradientInto', () => {
  it('gives the exact slope of a linear ramp everywhere, borders included', () => {
    const w = 17;
    const h = 11;
    const img = createGrayImage(w, h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) img.data[y * w + x] = 2.5 * x - 1.25 * y + 40;
    const gx = createGrayImage(w, h);
    const gy = createGrayImage(w, h);
    gradientInto(gx, gy, img);
    for (let i = 0; i < w * h; i++) {
      expect(gx.data[i]).toBeCloseTo(2.5, 4);
      expect(gy.data[i]).toBeCloseTo(-1.25, 4);
    }
    gradientInto(gx, gy, img, 10);
    expect(gx.data[5 * w + 5]).toBeCloseTo(25, 3);
  });

  it('matches central differences inside and one-sided differences at the border', () => {
    const rng = createRng(3);
    const w = 13;
    const h = 9;
    const img = createGrayImage(w, h);
    for (let i = 0; i < w * h; i++) img.data[i] = rng.uniform(0, 255);
    const gx = createGrayImage(w, h);
    const gy = createGrayImage(w, h);
    gradientInto(gx, gy, img);
    const at = (x: number, y: number) => img.data[y * w + x] as number;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const ex = x === 0 ? at(1, y) - at(0, y) : x === w - 1 ? at(w - 1, y) - at(w - 2, y) : (at(x + 1, y) - at(x - 1, y)) / 2;
        const ey = y === 0 ? at(x, 1) - at(x, 0) : y === h - 1 ? at(x, h - 1) - at(x, h - 2) : (at(x, y + 1) - at(x, y - 1)) / 2;
        expect(Math.abs((gx.data[y * w + x] as number) - ex)).toBeLessThan(TOL_GRAY);
        expect(Math.abs((gy.data[y * w + x] as number) - ey)).toBeLessThan(TOL_GRAY);
      }
    }
  });

  it('gives zero along an axis of size 1', () => {
    const img = createGrayImage(5, 1, Float32Array.of(1, 4, 9, 16, 25));
    const gx = createGrayImage(5, 1);
    const gy = createGrayImage(5, 1);
    gradientInto(gx, gy, img);
    expect(Array.from(gy.data)).toEqual([0, 0, 0, 0, 0]);
    expect(Array.from(gx.data)).toEqual([3, 4, 6, 8, 9]);
  });
});
