/**
 * The WebAssembly kernel of the [1 4 6 4 1] / 16 blur (src/image/wasm/blur5.c through wasm-blur.ts, the
 * default of blurInto) against the JavaScript binomial5 it replaces and against a slow, obviously correct
 * reference (a direct 2-D sum over the 5 x 5 outer product with reflect-101 indices, in double), on seeded
 * random planes of the smallest sizes the kernel takes, odd and even sizes, every remainder of the width
 * modulo the vector width, frame and pyramid-level sizes, and a sequence of sizes that makes the module's
 * memory grow and its layout change. Also: in place (out = src), bit-identical on integer-valued planes,
 * and the counter shows which kernel ran.
 */
import { describe, expect, it } from 'vitest';
import { blurInto, blurScratchSize, gaussianKernel, reflect101 } from '../../src/image/blur.js';
import { createGrayImage, type GrayImage } from '../../src/image/gray-image.js';
import { wasmBlurAvailable, wasmBlurRuns } from '../../src/image/wasm-blur.js';
import { mulberry32 } from '../support/rng.js';

/** Unit roundoff of float32. */
const F32_UNIT = 2 ** -24;
/**
 * Float32 arithmetic on gray levels 0..255: the kernel rounds four times per horizontal sum and four times
 * per vertical one, every term non-negative, so it is within 8 units of roundoff of the output's magnitude
 * (<= 255) from the exact blur; the JavaScript and the reference are within one unit (their results are
 * rounded to float32 once or twice). Ten units of 255 leave room for second-order terms: 1.5e-4 gray levels.
 */
const TOL_GRAY = 10 * F32_UNIT * 255;
/** Integer-valued planes are summed exactly in float32 by the kernel: the same floats as the JavaScript. */
const TOL_INTEGER = 0;

const KERNEL = gaussianKernel(5);

function randomImage(rng: () => number, w: number, h: number): GrayImage {
  const img = createGrayImage(w, h);
  for (let i = 0; i < w * h; i++) img.data[i] = rng() * 255;
  return img;
}

/** The obviously correct blur: a direct 2-D sum of the outer product of the kernel, mirrored indices, in double. */
function slowBlur(src: GrayImage): Float64Array {
  const { width: w, height: h } = src;
  const k = [1 / 16, 4 / 16, 6 / 16, 4 / 16, 1 / 16];
  const out = new Float64Array(w * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let j = -2; j <= 2; j++) {
        for (let i = -2; i <= 2; i++) s += k[j + 2]! * k[i + 2]! * src.data[reflect101(y + j, h) * w + reflect101(x + i, w)]!;
      }
      out[y * w + x] = s;
    }
  }
  return out;
}

function worstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = a.length === b.length ? 0 : Number.POSITIVE_INFINITY;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

/** Blurs with the JavaScript kernel; checks that the WebAssembly kernel did not run. */
function blurJs(src: GrayImage): GrayImage {
  const before = wasmBlurRuns();
  const out = blurInto(createGrayImage(src.width, src.height), src, KERNEL, new Float32Array(blurScratchSize(src.width, src.height, 5)), {
    kernel: 'js',
  });
  expect(wasmBlurRuns(), `${src.width}x${src.height}: the JavaScript kernel was asked for`).toBe(before);
  return out;
}

/** Blurs with the default kernel into `out` (may be `src`); checks that the WebAssembly kernel ran once. */
function blurWasm(out: GrayImage, src: GrayImage): GrayImage {
  const before = wasmBlurRuns();
  blurInto(out, src, KERNEL, new Float32Array(blurScratchSize(src.width, src.height, 5)));
  expect(wasmBlurRuns(), `${src.width}x${src.height}: the WebAssembly kernel ran`).toBe(before + 1);
  return out;
}

/** Smallest sizes, every width modulo 4, odd and even heights, frame and pyramid-level sizes, wide strips. */
const SIZES: readonly (readonly [number, number])[] = [
  [5, 3],
  [6, 4],
  [7, 5],
  [8, 3],
  [5, 8],
  [9, 7],
  [10, 6],
  [11, 9],
  [13, 4],
  [40, 30],
  [80, 60],
  [160, 120],
  [320, 240],
  [161, 121],
  [641, 361],
  // After the largest plane: a wider row (the ring grows, the plane region moves) in a smaller plane.
  [1500, 3],
  [37, 23],
];

describe('blurInto WebAssembly [1 4 6 4 1] / 16 kernel', () => {
  it('is available in this engine (Node 20 has WebAssembly with 128-bit SIMD)', () => {
    expect(wasmBlurAvailable()).toBe(true);
  });

  it('matches the JavaScript kernel and a direct 2-D reflect-101 convolution on seeded random planes', () => {
    const rng = mulberry32(20250301);
    for (const [w, h] of SIZES) {
      const src = randomImage(rng, w, h);
      const copy = Float32Array.from(src.data);
      const wasm = blurWasm(createGrayImage(w, h), src);
      expect(worstDifference(src.data, copy), `${w}x${h}: the source is not changed`).toBe(0);
      expect(worstDifference(wasm.data, blurJs(src).data), `${w}x${h}: WebAssembly vs JavaScript`).toBeLessThanOrEqual(TOL_GRAY);
      expect(worstDifference(wasm.data, slowBlur(src)), `${w}x${h}: WebAssembly vs direct convolution`).toBeLessThanOrEqual(TOL_GRAY);
    }
  });

  it('blurs in place (out = src) to the same values as into another image', () => {
    const rng = mulberry32(77);
    for (const [w, h] of [
      [5, 3],
      [6, 4],
      [7, 5],
      [9, 6],
      [161, 121],
      [320, 240],
    ] as const) {
      const src = randomImage(rng, w, h);
      const ref = slowBlur(src);
      const separate = blurWasm(createGrayImage(w, h), src);
      blurWasm(src, src);
      expect(worstDifference(src.data, separate.data), `${w}x${h}: in place vs separate`).toBe(0);
      expect(worstDifference(src.data, ref), `${w}x${h}: in place vs direct convolution`).toBeLessThanOrEqual(TOL_GRAY);
    }
  });

  it('gives the JavaScript kernel floats exactly on integer-valued planes (decoded 8-bit frames)', () => {
    const rng = mulberry32(4242);
    for (const [w, h] of [
      [5, 3],
      [7, 4],
      [320, 240],
      [161, 121],
    ] as const) {
      const src = createGrayImage(w, h);
      for (let i = 0; i < w * h; i++) src.data[i] = Math.floor(rng() * 256);
      const wasm = blurWasm(createGrayImage(w, h), src);
      expect(worstDifference(wasm.data, blurJs(src).data), `${w}x${h}`).toBeLessThanOrEqual(TOL_INTEGER);
    }
  });

  it('mirrors the border without repeating the edge sample (an impulse in each corner)', () => {
    // Reflect-101 maps -1 -> 1 and -2 -> 2, so a corner impulse of 256 is read once by each pixel within
    // two samples of it: pixel (dx, dy) away gets (6 4 1)[dx] * (6 4 1)[dy], exactly (integers). A border
    // that repeats the edge sample (-1 -> 0) would read it twice in the edge pixels.
    const w = 9;
    const h = 7;
    const k = [6, 4, 1];
    for (const [cx, cy] of [
      [0, 0],
      [w - 1, 0],
      [0, h - 1],
      [w - 1, h - 1],
    ] as const) {
      const src = createGrayImage(w, h);
      src.data[cy * w + cx] = 256;
      const out = blurWasm(createGrayImage(w, h), src);
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const dx = Math.abs(x - cx);
          const dy = Math.abs(y - cy);
          const expected = dx <= 2 && dy <= 2 ? k[dx]! * k[dy]! : 0;
          expect(out.data[y * w + x], `impulse at (${cx}, ${cy}), pixel (${x}, ${y})`).toBe(expected);
        }
      }
    }
  });

  it('runs only for the [1 4 6 4 1] / 16 kernel on planes of at least 5 x 3', () => {
    const rng = mulberry32(9);
    const before = wasmBlurRuns();
    for (const [w, h, k] of [
      [4, 3, KERNEL],
      [5, 2, KERNEL],
      [20, 10, gaussianKernel(5, 1.3)],
      [20, 10, gaussianKernel(3)],
      [20, 10, gaussianKernel(7)],
    ] as const) {
      const src = randomImage(rng, w, h);
      blurInto(createGrayImage(w, h), src, k, new Float32Array(blurScratchSize(w, h, k.length)));
    }
    expect(wasmBlurRuns()).toBe(before);
  });
});
