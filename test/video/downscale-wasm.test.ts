/**
 * The WebAssembly kernel of the analysis downscale (src/video/wasm/downscale.c through wasm-downscale.ts)
 * against the JavaScript kernels it replaces, float for float, on seeded random planes of every kind its
 * code paths distinguish: fractional scales with 16-bit column sums and 2, 4, 8 and more padded taps,
 * fractional scales with 32-bit column sums (units past 128 rows), one axis whole and the other
 * fractional, whole-number blocks 1, 2 and 4 wide (pairwise sums) and of other widths (unit-weight
 * taps on column or column-pair sums), blocks too tall for the kernel (JavaScript runs), the explicit block `factor` (last partial block ignored), ratio 1, tiny planes (1xN, Nx1),
 * planes at byte offsets 1..3 of larger buffers, and sequences of sizes that make the module's memory
 * grow, reuse it and switch tap tables. The main ratios are also checked against the exact integer area
 * sum scaled once (the slow, obviously correct reference). Each comparison checks that the WebAssembly
 * kernel really ran, and that `kernel: 'js'` does not run it.
 */
import { describe, expect, it } from 'vitest';
import { createGrayImage, type GrayImage } from '../../src/image/gray-image.js';
import { downscaleYInto, integerAnalysisSize } from '../../src/video/analysis.js';
import { wasmDownscaleAvailable, wasmDownscaleRuns } from '../../src/video/wasm-downscale.js';
import { planeAt } from '../support/video-rng.js';

/** The WebAssembly kernel must give the JavaScript kernels' floats exactly (count of differing outputs). */
const TOL_MISMATCHES = 0;

/** Outputs whose float bits differ (NaN never occurs; -0 cannot either, sums are >= 0). */
function mismatches(a: GrayImage, b: GrayImage): number {
  if (a.data.length !== b.data.length) return Math.max(a.data.length, b.data.length);
  let n = 0;
  for (let i = 0; i < a.data.length; i++) if (!Object.is(a.data[i], b.data[i])) n++;
  return n;
}

/**
 * Downscales `y` by both kernels and expects the same floats; `wasm`: whether the WebAssembly kernel
 * must have run (false where the scale is outside its integer bounds). Returns the WebAssembly output.
 */
function expectSameAsJs(y: Uint8Array, w: number, h: number, ow: number, oh: number, factor: number | undefined, wasm = true): GrayImage {
  const js = createGrayImage(ow, oh);
  const fast = createGrayImage(ow, oh);
  // Stale values in `fast` must all be overwritten.
  fast.data.fill(-1);
  const before = wasmDownscaleRuns();
  downscaleYInto(js, y, w, h, factor, { kernel: 'js' });
  expect(wasmDownscaleRuns()).toBe(before);
  downscaleYInto(fast, y, w, h, factor);
  expect(wasmDownscaleRuns()).toBe(before + (wasm ? 1 : 0));
  expect(mismatches(fast, js)).toBe(TOL_MISMATCHES);
  return fast;
}

/**
 * Exact reference: the integer sum of overlap-weighted samples (source pixel i spans [i*Q, (i+1)*Q),
 * output o spans [o*P, (o+1)*P), P/Q = size/outSize in lowest terms; with a block factor k, P = k and
 * Q = 1), scaled once by the double 1 / (Px * Py) and rounded to float.
 */
function exactReference(y: Uint8Array, w: number, h: number, ow: number, oh: number, factor?: number): Float32Array {
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const axis = (n: number, on: number): [number, number] => (factor !== undefined ? [factor, 1] : [n / gcd(n, on), on / gcd(n, on)]);
  const [px, qx] = axis(w, ow);
  const [py, qy] = axis(h, oh);
  const overlap = (i: number, o: number, p: number, q: number) => Math.max(0, Math.min((i + 1) * q, (o + 1) * p) - Math.max(i * q, o * p));
  const inv = 1 / (px * py);
  const out = new Float32Array(ow * oh);
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      let s = 0;
      for (let j = Math.floor((oy * py) / qy); j < Math.min(h, Math.ceil(((oy + 1) * py) / qy)); j++) {
        const wy = overlap(j, oy, py, qy);
        for (let i = Math.floor((ox * px) / qx); i < Math.min(w, Math.ceil(((ox + 1) * px) / qx)); i++) s += wy * overlap(i, ox, px, qx) * (y[j * w + i] as number);
      }
      out[oy * ow + ox] = s * inv;
    }
  }
  return out;
}

function referenceMismatches(img: GrayImage, ref: Float32Array): number {
  let n = 0;
  for (let i = 0; i < ref.length; i++) if (!Object.is(img.data[i], ref[i])) n++;
  return n;
}

describe('downscaleYInto WebAssembly kernel', () => {
  it('is available here (Node has WebAssembly with 128-bit SIMD)', () => {
    expect(wasmDownscaleAvailable()).toBe(true);
  });

  it('gives the JavaScript floats and the exact area sums at the stabilizer ratios', () => {
    const sizes: readonly [number, number, number, number][] = [
      [480, 360, 320, 240], // 1.5: the weighted path, 2 taps
      [640, 360, 320, 180], // 2x2 blocks
      [1280, 720, 320, 180], // 4x4 blocks
      [1920, 1080, 320, 180], // 6x6 blocks
      [641, 361, 320, 180], // units 641 x 361: 32-bit column sums
      [854, 480, 320, 180], // 427:160 across, 8:3 down: 4 taps
      [1280, 720, 480, 270], // 8:3
    ];
    for (const [w, h, ow, oh] of sizes) {
      const y = planeAt(w, h, 0, w * 7 + h);
      const fast = expectSameAsJs(y, w, h, ow, oh, undefined);
      expect(referenceMismatches(fast, exactReference(y, w, h, ow, oh))).toBe(TOL_MISMATCHES);
    }
  });

  it('gives the JavaScript floats for odd, tiny, ratio-1 and many-tap sizes', () => {
    const sizes: readonly [number, number, number, number][] = [
      [333, 217, 100, 77],
      [97, 61, 45, 31],
      [101, 103, 100, 102], // just below ratio 1
      [35, 17, 34, 17], // fractional across, whole (1) down
      [640, 360, 320, 240], // whole (2) across, fractional down
      [1, 7, 1, 3],
      [1, 9, 1, 9],
      [7, 1, 3, 1],
      [13, 1, 13, 1],
      [1, 1, 1, 1],
      [5, 9, 5, 9], // ratio 1: no scaling
      [480, 360, 480, 360],
      [1000, 50, 37, 5], // 27+ taps across: T = 32
      [300, 70, 41, 9], // 8+ taps across: T = 8 or 16
      [50, 128, 49, 127], // Py = 128: the largest 16-bit column sums
      [50, 129, 49, 128], // Py = 129: 32-bit column sums
      [17, 500, 3, 7], // many rows per output, 32-bit sums
      [60, 140, 10, 2], // whole 6 x 70 blocks: even width, single-column sums (pair sums past 64 rows)
      [60, 128, 10, 2], // whole 6 x 64 blocks: pair sums
      [250, 300, 1, 2], // whole 250 x 150 blocks: more than 128 rows, JavaScript
    ];
    for (const [w, h, ow, oh] of sizes) {
      const y = planeAt(w, h, 0, w * 31 + h);
      expectSameAsJs(y, w, h, ow, oh, undefined, !(w === 250 && h === 300));
    }
  });

  it('gives the JavaScript floats for the block factor contract (partial last blocks ignored)', () => {
    const cases: readonly [number, number, number][] = [
      [641, 361, 2],
      [1280, 720, 3],
      [1283, 722, 3],
      [1920, 1080, 4],
      [1921, 1083, 6],
      [643, 397, 5], // 5 wide: T = 8
      [1001, 503, 9], // 9 wide: T = 16
      [1603, 805, 8], // 8 wide: 4 pair sums per output
      [1000, 500, 10], // 10 wide: 5 pair sums per output, T = 8
      [7, 5, 1],
      [13, 3, 2],
    ];
    for (const [w, h, k] of cases) {
      const y = planeAt(w, h, 0, w + 13 * h + k);
      const ow = Math.floor(w / k);
      const oh = Math.floor(h / k);
      const fast = expectSameAsJs(y, w, h, ow, oh, k);
      expect(referenceMismatches(fast, exactReference(y, w, h, ow, oh, k))).toBe(TOL_MISMATCHES);
      // A smaller output than the whole blocks allow: still the blocks from the origin.
      if (ow > 1 && oh > 1) expectSameAsJs(y, w, h, ow - 1, oh - 1, k);
    }
    const { width, height, factor } = integerAnalysisSize(1280, 720, 480);
    expectSameAsJs(planeAt(1280, 720, 0, 99), 1280, 720, width, height, factor);
  });

  it('reads planes at byte offsets 1..3 of larger buffers', () => {
    for (const [w, h, ow, oh] of [
      [480, 360, 320, 240],
      [640, 360, 320, 180],
      [641, 361, 320, 180],
      [99, 37, 40, 20],
    ] as const) {
      for (let offset = 1; offset <= 3; offset++) {
        const y = planeAt(w, h, offset, offset * 1000 + w);
        expect(y.byteOffset).toBe(offset);
        expectSameAsJs(y, w, h, ow, oh, undefined);
      }
    }
  });

  it('uses only the first width * height samples of a longer view', () => {
    const w = 96;
    const h = 54;
    const long = planeAt(w, h + 3, 2, 5);
    const exact = long.slice(0, w * h);
    const a = createGrayImage(64, 36);
    const b = createGrayImage(64, 36);
    downscaleYInto(a, long, w, h);
    downscaleYInto(b, exact, w, h, undefined, { kernel: 'js' });
    expect(mismatches(a, b)).toBe(TOL_MISMATCHES);
  });

  it('keeps giving the JavaScript floats as sizes alternate, grow and shrink (tables and memory reused)', () => {
    const sequence: readonly [number, number, number, number, number | undefined][] = [
      [480, 360, 320, 240, undefined],
      [160, 90, 120, 60, undefined],
      [480, 360, 320, 240, undefined],
      [1920, 1080, 640, 360, undefined], // memory grows
      [480, 360, 320, 240, undefined],
      [1283, 722, 427, 240, 3], // unit-weight tables over the fractional ones
      [480, 360, 320, 240, undefined],
      [641, 361, 320, 180, undefined],
      [480, 360, 320, 240, undefined],
      [160, 90, 120, 60, undefined],
    ];
    let seed = 1;
    for (const [w, h, ow, oh, factor] of sequence) expectSameAsJs(planeAt(w, h, seed % 4, seed++), w, h, ow, oh, factor);
  });

  it("does not run with kernel 'js' and still gives the exact area sums", () => {
    const y = planeAt(480, 360, 1, 77);
    const out = createGrayImage(320, 240);
    const before = wasmDownscaleRuns();
    downscaleYInto(out, y, 480, 360, undefined, { kernel: 'js' });
    expect(wasmDownscaleRuns()).toBe(before);
    expect(referenceMismatches(out, exactReference(y, 480, 360, 320, 240))).toBe(TOL_MISMATCHES);
  });

  it('refuses the same arguments as before, whichever kernel', () => {
    const y = new Uint8Array(100);
    expect(() => downscaleYInto(createGrayImage(11, 5), y, 10, 10)).toThrow(RangeError);
    expect(() => downscaleYInto(createGrayImage(5, 5), y, 10, 10, 3)).toThrow(RangeError);
    expect(() => downscaleYInto(createGrayImage(5, 5), y, 20, 10)).toThrow(RangeError);
  });
});
