import { describe, expect, it } from 'vitest';
import { blurInto, gaussianKernel } from '../../src/image/blur.js';
import { createGrayImage, type GrayImage } from '../../src/image/gray-image.js';
import { buildPyramidInto, createPyramid, decimateInto, downsampleMaskInto, levelSide, pyramidLevelCount } from '../../src/image/pyramid.js';
import { rescaleInto } from '../../src/motion/mat3.js';
import { createRng } from '../support/synthetic.js';

/** Float32 samples of 0..255 values through several blurs. */
const TOL_GRAY = 1e-3;

function randomImage(w: number, h: number, seed: number): GrayImage {
  const rng = createRng(seed);
  const img = createGrayImage(w, h);
  for (let i = 0; i < w * h; i++) img.data[i] = rng.uniform(0, 255);
  return img;
}

describe('pyramid sizes', () => {
  it('halves each side rounding up', () => {
    expect([0, 1, 2, 3].map((l) => levelSide(640, l))).toEqual([640, 320, 160, 80]);
    expect([0, 1, 2, 3].map((l) => levelSide(101, l))).toEqual([101, 51, 26, 13]);
  });

  it('chooses levels so that the coarsest short side is 40..80 px', () => {
    expect(pyramidLevelCount(640, 480)).toBe(4); // 80x60
    expect(pyramidLevelCount(1920, 1080)).toBe(5); // 120x68
    expect(pyramidLevelCount(320, 240)).toBe(3); // 80x60
    expect(pyramidLevelCount(60, 50)).toBe(1);
    expect(pyramidLevelCount(30, 20)).toBe(1);
    for (const [w, h] of [
      [640, 480],
      [1280, 720],
      [850, 680],
      [390, 341],
    ] as const) {
      const l = pyramidLevelCount(w, h) - 1;
      const short = Math.min(levelSide(w, l), levelSide(h, l));
      expect(short).toBeGreaterThanOrEqual(40);
      expect(short).toBeLessThan(80);
    }
    expect(pyramidLevelCount(100000, 100000)).toBe(8);
  });
});

describe('buildPyramidInto', () => {
  it('equals blur-then-keep-even-samples at every level, computed the slow way', () => {
    const img = randomImage(45, 31, 5);
    const pyr = buildPyramidInto(createPyramid(45, 31, 3), img, true);
    expect(pyr.levels[0]).toBe(img);
    const k = gaussianKernel(5);
    let cur = img;
    for (let l = 0; l < 3; l++) {
      const blurred = blurInto(createGrayImage(cur.width, cur.height), cur, k, new Float32Array(cur.width * cur.height));
      const got = pyr.blurred[l] as GrayImage;
      for (let i = 0; i < blurred.data.length; i++) expect(Math.abs((got.data[i] as number) - (blurred.data[i] as number))).toBeLessThan(TOL_GRAY);
      if (l < 2) {
        const next = createGrayImage((cur.width + 1) >> 1, (cur.height + 1) >> 1);
        for (let y = 0; y < next.height; y++) for (let x = 0; x < next.width; x++) next.data[y * next.width + x] = blurred.data[2 * y * cur.width + 2 * x] as number;
        const lv = pyr.levels[l + 1] as GrayImage;
        expect([lv.width, lv.height]).toEqual([next.width, next.height]);
        for (let i = 0; i < next.data.length; i++) expect(Math.abs((lv.data[i] as number) - (next.data[i] as number))).toBeLessThan(TOL_GRAY);
        cur = next;
      }
    }
  });

  it('puts coarse pixel i on fine pixel 2i: a ramp keeps its slope doubled, and S = diag(2,2,1) carries a warp', () => {
    // A linear ramp survives the (symmetric, normalised) blur inside; after decimation coarse (i, j)
    // holds the fine value at (2i, 2j).
    const w = 64;
    const h = 48;
    const ramp = createGrayImage(w, h);
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) ramp.data[y * w + x] = 1.5 * x + 0.5 * y;
    const pyr = buildPyramidInto(createPyramid(w, h, 3), ramp);
    const c = pyr.levels[2] as GrayImage;
    for (let j = 2; j < c.height - 2; j++) for (let i = 2; i < c.width - 2; i++) expect(c.data[j * c.width + i]).toBeCloseTo(1.5 * 4 * i + 0.5 * 4 * j, 3);
    // A translation by (8, -4) fine pixels is (2, -1) pixels two levels down.
    const wFine = Float64Array.of(1, 0, 8, 0, 1, -4, 0, 0, 1);
    const wCoarse = rescaleInto(new Float64Array(9), wFine, 0.25);
    expect([wCoarse[2], wCoarse[5]]).toEqual([2, -1]);
  });

  it('refuses an image of another size', () => {
    expect(() => buildPyramidInto(createPyramid(20, 20, 2), randomImage(21, 20, 1))).toThrow(RangeError);
  });
});

describe('decimateInto and downsampleMaskInto', () => {
  it('keeps the even samples', () => {
    const src = createGrayImage(5, 3, Float32Array.from({ length: 15 }, (_, i) => i));
    const out = decimateInto(createGrayImage(3, 2), src);
    expect(Array.from(out.data)).toEqual([0, 2, 4, 10, 12, 14]);
  });

  it('marks a coarse pixel used only when its 3x3 fine neighbourhood is used', () => {
    const w = 9;
    const h = 7;
    const mask = new Uint8Array(w * h).fill(1);
    mask[3 * w + 5] = 0; // fine (5, 3): neighbour of coarse (2, 1) = fine (4, 2) and (3, 2) = fine (6, 2)... and (2, 2) = (4, 4)
    const out = downsampleMaskInto(new Uint8Array(5 * 4), mask, w, h);
    const expected = new Uint8Array(20);
    for (let y = 0; y < 4; y++) {
      for (let x = 0; x < 5; x++) {
        let used = 1;
        for (let yy = Math.max(0, 2 * y - 1); yy <= Math.min(h - 1, 2 * y + 1); yy++) {
          for (let xx = Math.max(0, 2 * x - 1); xx <= Math.min(w - 1, 2 * x + 1); xx++) if (mask[yy * w + xx] === 0) used = 0;
        }
        expected[y * 5 + x] = used;
      }
    }
    expect(Array.from(out)).toEqual(Array.from(expected));
    expect(out[1 * 5 + 2]).toBe(0);
    expect(out[0]).toBe(1);
  });
});
