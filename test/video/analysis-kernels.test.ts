/**
 * The downscale kernels of video/analysis.ts against slow, obviously correct references: the exact area
 * average (overlap-weighted sum) for any scale, the plain k x k block mean for an explicit factor. Sizes
 * are chosen to reach every kernel: word-aligned planes (read in place four samples at a time), the same
 * planes one to three bytes off and widths that are not multiples of 4 (copied to an aligned scratch
 * first), 2x2, k x 2, k x 4, 3 x k, 6 x k and other block widths, ratio 4:3 and other fractional ratios
 * with and without the two-rows-in-one-int32 packing, and sizes whose sums overflow 16-bit lanes
 * (byte kernels).
 */
import { describe, expect, it } from 'vitest';
import { createGrayImage } from '../../src/image/gray-image.js';
import { downscaleYInto, integerAnalysisSize } from '../../src/video/analysis.js';
import { mulberry32, planeAt, randomInt } from '../support/video-rng.js';

/** Float32 output of an exact mean of 8-bit samples. */
const TOL_LEVEL = 1e-4;

/** The same samples at another offset. */
function copyAt(src: Uint8Array, offset: number): Uint8Array {
  const buffer = new Uint8Array(offset + src.length + 4);
  buffer.set(src, offset);
  return buffer.subarray(offset, offset + src.length);
}

/**
 * Exact area average: source pixel i spans [i*ow, (i+1)*ow) and output o spans [o*w, (o+1)*w) (both in
 * units of 1/(w*ow) of the frame width), the output is the overlap-weighted mean.
 */
function areaReference(y: Uint8Array, w: number, h: number, ow: number, oh: number): Float64Array {
  const out = new Float64Array(ow * oh);
  const overlap = (i: number, o: number, n: number, on: number) => Math.max(0, Math.min((i + 1) * on, (o + 1) * n) - Math.max(i * on, o * n));
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      let sum = 0;
      for (let j = 0; j < h; j++) {
        const wy = overlap(j, oy, h, oh);
        if (wy === 0) continue;
        for (let i = 0; i < w; i++) sum += wy * overlap(i, ox, w, ow) * y[j * w + i]!;
      }
      out[oy * ow + ox] = sum / (w * h);
    }
  }
  return out;
}

/** Mean of the k x k block at (k*ox, k*oy). */
function blockReference(y: Uint8Array, w: number, k: number, ow: number, oh: number): Float64Array {
  const out = new Float64Array(ow * oh);
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      let sum = 0;
      for (let j = 0; j < k; j++) for (let i = 0; i < k; i++) sum += y[(k * oy + j) * w + k * ox + i]!;
      out[oy * ow + ox] = sum / (k * k);
    }
  }
  return out;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('downscaleYInto kernels', () => {
  // [w, h, ow, oh]: at offset 0 a multiple-of-4 width is read in place, other widths and offsets are copied.
  const SCALES: [number, number, number, number][] = [
    // fractional
    [64, 36, 48, 27], // 4:3 both axes, packed rows, the 4:3 column kernel, odd row count
    [60, 36, 45, 27], // 4:3 again at another width
    [128, 72, 48, 27], // 8:3, packed rows in chunks of 4 + 2
    [96, 64, 36, 24], // 8:3 both axes, even row count
    [64, 30, 48, 30], // no vertical scale: pairs of single rows
    [40, 50, 16, 20], // 5:2, row pairs of 5 source rows (chunks of 3 + 2)
    [28, 49, 12, 21], // 7:3 both axes, row pairs of 5 or 6 rows (3 + 2, 4 + 2)
    [40, 30, 7, 5], // 40:7 and 6:1, packed, generic column taps
    [100, 100, 37, 37], // Px * Py too large to pack: one output row at a time
    [132, 131, 7, 5], // Py = 131 too large for 16-bit lanes: byte kernels even when aligned
    // whole-number scales
    [64, 36, 32, 18], // 2 x 2
    [64, 36, 16, 9], // 4 x 4
    [48, 36, 16, 12], // 3 x 3
    [64, 36, 32, 12], // 2 x 3
    [64, 40, 64, 20], // 1 x 2
    [60, 36, 12, 6], // 5 x 6: column sums unpacked
    [96, 24, 16, 4], // 6 x 6
    [40, 20, 10, 10], // 4 x 2
    [64, 36, 64, 36], // 1 x 1
    [8, 260, 8, 2], // 1 x 130: more rows than 16-bit lanes allow, byte kernels
    [12, 140, 6, 2], // 2 x 70: byte kernels
    [9, 130, 3, 2], // 3 x 65: byte kernels
    [30, 260, 7, 2], // Py = 130: byte kernels, fractional
    // widths that are not multiples of 4
    [54, 36, 27, 18], // 2 x 2
    [57, 33, 19, 11], // 3 x 3
    [66, 40, 11, 10], // 6 x 4
    [854, 48, 320, 18], // 427:160 across, 8:3 down
    [70, 36, 52, 27], // 35:26, 4:3
  ];

  it('in place, copied and byte kernels give identical results, equal to the exact area average', () => {
    for (const [w, h, ow, oh] of SCALES) {
      const aligned = planeAt(w, h, 0, w * 1000 + h);
      const ref = areaReference(aligned, w, h, ow, oh);
      const fromWords = downscaleYInto(createGrayImage(ow, oh), aligned, w, h);
      for (const offset of [1, 2, 3]) {
        const fromBytes = downscaleYInto(createGrayImage(ow, oh), copyAt(aligned, offset), w, h);
        expect(Array.from(fromBytes.data), `${w}x${h} -> ${ow}x${oh} at offset ${offset}`).toEqual(Array.from(fromWords.data));
      }
      expect(maxDiff(fromWords.data, ref), `${w}x${h} -> ${ow}x${oh}`).toBeLessThan(TOL_LEVEL);
    }
  });

  it('keeps constant planes constant at every scale and gray level', () => {
    for (const [w, h, ow, oh] of SCALES) {
      for (const level of [0, 1, 128, 255]) {
        const out = downscaleYInto(createGrayImage(ow, oh), new Uint8Array(w * h).fill(level), w, h);
        expect(maxDiff(out.data, new Float64Array(ow * oh).fill(level)), `${w}x${h} -> ${ow}x${oh} at ${level}`).toBeLessThan(TOL_LEVEL);
      }
    }
  });

  it('gives the same results when more sizes alternate than it keeps tables for', () => {
    const planes = SCALES.slice(0, 6).map(([w, h], i) => planeAt(w, h, 0, 50 + i));
    const first = SCALES.slice(0, 6).map(([w, h, ow, oh], i) => Array.from(downscaleYInto(createGrayImage(ow, oh), planes[i]!, w, h).data));
    for (let round = 0; round < 3; round++) {
      SCALES.slice(0, 6).forEach(([w, h, ow, oh], i) => {
        expect(Array.from(downscaleYInto(createGrayImage(ow, oh), planes[i]!, w, h).data)).toEqual(first[i]);
      });
    }
  });
});

describe('downscaleYInto with a block factor', () => {
  it('is the exact mean of k x k blocks, the last partial block ignored (seeded random sizes and offsets)', () => {
    const rng = mulberry32(4242);
    for (let t = 0; t < 200; t++) {
      const k = randomInt(rng, 1, 7);
      const w = randomInt(rng, k, 70);
      const h = randomInt(rng, k, 50);
      // Half the widths word-aligned, so that the word kernels and their row tails are reached.
      const width = t % 2 === 0 ? Math.max(4, w - (w % 4)) : w;
      const ow = Math.floor(width / k);
      const oh = Math.floor(h / k);
      if (ow === 0) continue;
      const y = planeAt(width, h, t % 4, 1000 + t);
      const out = downscaleYInto(createGrayImage(ow, oh), y, width, h, k);
      expect(maxDiff(out.data, blockReference(y, width, k, ow, oh)), `${width}x${h} by ${k}, offset ${t % 4}`).toBeLessThan(TOL_LEVEL);
    }
  });

  it('frame-sized planes with partial blocks on both axes (1288x721 and 1282x721 by 3)', () => {
    for (const w of [1288, 1282]) {
      const h = 721;
      const k = 3;
      const size = integerAnalysisSize(w, h, 480);
      expect(size).toEqual({ width: Math.floor(w / 3), height: 240, factor: k });
      const y = planeAt(w, h, 0, w);
      const out = downscaleYInto(createGrayImage(size.width, size.height), y, w, h, size.factor);
      expect(maxDiff(out.data, blockReference(y, w, k, size.width, size.height))).toBeLessThan(TOL_LEVEL);
    }
  });

  it('puts output centre o at source k*o + (k-1)/2 (a ramp y = x, width not a multiple of k)', () => {
    const w = 250;
    const h = 7;
    const ramp = new Uint8Array(w * h);
    for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) ramp[j * w + i] = i;
    for (const k of [2, 3, 4, 6]) {
      const ow = Math.floor(w / k);
      const out = downscaleYInto(createGrayImage(ow, Math.floor(h / k)), ramp, w, h, k);
      for (let o = 0; o < ow; o++) expect(Math.abs(out.data[o]! - (k * o + (k - 1) / 2))).toBeLessThan(TOL_LEVEL);
    }
  });

  it('equals the area average when k divides both sides', () => {
    const y = planeAt(48, 36, 0, 3);
    for (const k of [1, 2, 3, 4, 6, 12]) {
      const byFactor = downscaleYInto(createGrayImage(48 / k, 36 / k), y, 48, 36, k);
      const bySize = downscaleYInto(createGrayImage(48 / k, 36 / k), y, 48, 36);
      expect(Array.from(byFactor.data)).toEqual(Array.from(bySize.data));
    }
  });

  it('refuses factors that are not whole, below 1, or whose blocks leave the source', () => {
    const y = new Uint8Array(20 * 10);
    expect(() => downscaleYInto(createGrayImage(10, 5), y, 20, 10, 1.5)).toThrow(RangeError);
    expect(() => downscaleYInto(createGrayImage(10, 5), y, 20, 10, 0)).toThrow(RangeError);
    expect(() => downscaleYInto(createGrayImage(7, 3), y, 20, 10, 3)).toThrow(RangeError);
    expect(() => downscaleYInto(createGrayImage(6, 4), y, 20, 10, 3)).toThrow(RangeError);
  });
});

describe('integerAnalysisSize', () => {
  it('hand cases: the smallest factor that brings the longer side within maxSide', () => {
    expect(integerAnalysisSize(640, 360, 480)).toEqual({ width: 320, height: 180, factor: 2 });
    expect(integerAnalysisSize(1280, 720, 480)).toEqual({ width: 426, height: 240, factor: 3 });
    expect(integerAnalysisSize(1920, 1080, 480)).toEqual({ width: 480, height: 270, factor: 4 });
    expect(integerAnalysisSize(360, 640, 480)).toEqual({ width: 180, height: 320, factor: 2 });
    expect(integerAnalysisSize(480, 270, 480)).toEqual({ width: 480, height: 270, factor: 1 });
    expect(integerAnalysisSize(320, 240, 480)).toEqual({ width: 320, height: 240, factor: 1 });
    // A side shorter than k still gets one pixel.
    expect(integerAnalysisSize(2000, 2, 480)).toEqual({ width: 400, height: 1, factor: 5 });
  });

  it('property: k is minimal, and k blocks of the result fit in the frame (seeded)', () => {
    const rng = mulberry32(99);
    for (let t = 0; t < 500; t++) {
      const w = randomInt(rng, 1, 5000);
      const h = randomInt(rng, 1, 5000);
      const maxSide = randomInt(rng, 1, 1000);
      const { width, height, factor } = integerAnalysisSize(w, h, maxSide);
      const longest = Math.max(w, h);
      expect(Number.isInteger(factor) && factor >= 1).toBe(true);
      expect(longest / factor).toBeLessThanOrEqual(maxSide);
      if (factor > 1) expect(longest / (factor - 1)).toBeGreaterThan(maxSide);
      expect(Math.max(width, height)).toBeLessThanOrEqual(maxSide);
      expect(width).toBe(Math.max(1, Math.floor(w / factor)));
      expect(height).toBe(Math.max(1, Math.floor(h / factor)));
    }
  });
});
