import { describe, expect, it } from 'vitest';
import { blurInto, blurScratchSize, gaussianKernel, reflect101 } from '../../src/image/blur.js';
import { createGrayImage, type GrayImage } from '../../src/image/gray-image.js';
import { createRng } from '../support/synthetic.js';

/** Float32 storage: fast and slow blurs agree to single precision of 0..255 values. */
const TOL_GRAY = 1e-3;

function randomImage(w: number, h: number, seed: number): GrayImage {
  const rng = createRng(seed);
  const img = createGrayImage(w, h);
  for (let i = 0; i < w * h; i++) img.data[i] = rng.uniform(0, 255);
  return img;
}

/** The obviously correct version: a direct 2-D sum over the separable kernel with mirrored indices. */
function slowBlur(src: GrayImage, k: Float64Array): GrayImage {
  const { width: w, height: h } = src;
  const r = (k.length - 1) / 2;
  const out = createGrayImage(w, h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let j = -r; j <= r; j++) {
        for (let i = -r; i <= r; i++) {
          s += (k[j + r] as number) * (k[i + r] as number) * (src.data[reflect101(y + j, h) * w + reflect101(x + i, w)] as number);
        }
      }
      out.data[y * w + x] = s;
    }
  }
  return out;
}

describe('gaussianKernel', () => {
  it('uses the binomial tables for sizes 1..7 with no sigma, as OpenCV does', () => {
    expect(Array.from(gaussianKernel(5))).toEqual([1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16]);
    expect(Array.from(gaussianKernel(3))).toEqual([0.25, 0.5, 0.25]);
    expect(Array.from(gaussianKernel(1))).toEqual([1]);
  });

  it('is normalised and symmetric for other sizes and explicit sigmas', () => {
    for (const [size, sigma] of [
      [9, 0],
      [11, 2],
      [5, 1.5],
    ] as const) {
      const k = gaussianKernel(size, sigma);
      expect(k.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
      for (let i = 0; i < size; i++) expect(k[i]).toBeCloseTo(k[size - 1 - i] as number, 15);
    }
    // OpenCV's rule for size 9: sigma = 0.3 * ((9 - 1) / 2 - 1) + 0.8 = 1.7.
    const k9 = gaussianKernel(9);
    expect((k9[4] as number) / (k9[5] as number)).toBeCloseTo(Math.exp(1 / (2 * 1.7 * 1.7)), 12);
  });

  it('rejects even sizes', () => {
    expect(() => gaussianKernel(4)).toThrow(RangeError);
  });
});

describe('reflect101', () => {
  it('mirrors without repeating the edge sample', () => {
    expect([-3, -2, -1, 0, 4, 5, 6, 7].map((i) => reflect101(i, 5))).toEqual([3, 2, 1, 0, 4, 3, 2, 1]);
    expect(reflect101(-4, 1)).toBe(0);
  });
});

describe('blurInto', () => {
  it('matches a direct 2-D convolution for several kernels and sizes', () => {
    let seed = 1;
    for (const [w, h] of [
      [37, 23],
      [5, 3],
      [6, 9],
      [64, 48],
      [8, 4],
    ] as const) {
      // Size 5 twice: the binomial table (its own fast path) and a sigma (the general 5-tap path).
      for (const [size, sigma] of [
        [3, 0],
        [5, 0],
        [5, 1.3],
        [7, 0],
        [9, 0],
      ] as const) {
        const src = randomImage(w, h, seed++);
        const k = gaussianKernel(size, sigma);
        const out = createGrayImage(w, h);
        blurInto(out, src, k, new Float32Array(blurScratchSize(w, h, size)));
        const ref = slowBlur(src, k);
        for (let i = 0; i < w * h; i++) expect(Math.abs((out.data[i] as number) - (ref.data[i] as number))).toBeLessThan(TOL_GRAY);
      }
    }
  });

  it('may blur in place (out = src)', () => {
    const src = randomImage(40, 30, 7);
    const copy = createGrayImage(40, 30, Float32Array.from(src.data));
    const k = gaussianKernel(5);
    const ref = blurInto(createGrayImage(40, 30), copy, k, new Float32Array(blurScratchSize(40, 30, 5)));
    blurInto(src, src, k, new Float32Array(blurScratchSize(40, 30, 5)));
    expect(Array.from(src.data)).toEqual(Array.from(ref.data));
  });

  it('keeps a constant image constant and a linear ramp linear away from the border', () => {
    const w = 32;
    const h = 20;
    const c = createGrayImage(w, h, new Float32Array(w * h).fill(77));
    const out = blurInto(createGrayImage(w, h), c, gaussianKernel(7), new Float32Array(w * h));
    for (const v of out.data) expect(v).toBeCloseTo(77, 4);
    const ramp = createGrayImage(w, h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) ramp.data[y * w + x] = 3 * x + 2 * y;
    const r = blurInto(createGrayImage(w, h), ramp, gaussianKernel(5), new Float32Array(blurScratchSize(w, h, 5)));
    for (let y = 2; y < h - 2; y++) for (let x = 2; x < w - 2; x++) expect(r.data[y * w + x]).toBeCloseTo(3 * x + 2 * y, 3);
  });

  it('refuses a scratch buffer that is too small', () => {
    const src = randomImage(20, 10, 3);
    expect(() => blurInto(createGrayImage(20, 10), src, gaussianKernel(5), new Float32Array(5 * 20))).toThrow(RangeError);
    expect(() => blurInto(createGrayImage(20, 10), src, gaussianKernel(7), new Float32Array(100))).toThrow(RangeError);
  });
});
