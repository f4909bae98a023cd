import { describe, expect, it } from 'vitest';
import { createGrayImage, type GrayImage } from '../../src/image/gray-image.js';
import {
  type BorderMode,
  chromaMatrixInto,
  type Interpolation,
  warpInto,
  warpPlaneU8Into,
} from '../../src/image/warp.js';
import { invertInto, type Mat3, mat3Identity, multiplyInto, transformPointInto } from '../../src/motion/mat3.js';
import { createRng, renderScene, similarityAbout, texture } from '../support/fourier-fixtures.js';

/** Float kernels vs the slow reference: only summation order differs. */
const TOL_FLOAT = 1e-3;
/** Fixed-point 8-bit kernel vs the rounded exact float result. */
const TOL_U8_LEVELS = 1;
/** Exact cases (integer shifts, linear images through bilinear). */
const TOL_EXACT = 1e-3;

// ---- slow, obviously correct reference -------------------------------------------------------------

/** Border index by repeated reflection / clamping, written independently of the code under test. */
function refIndex(i: number, n: number, border: BorderMode): number {
  if (i >= 0 && i < n) return i;
  if (border === 'constant') return -1;
  if (border === 'reflect') {
    if (n === 1) return 0;
    let j = i;
    while (j < 0 || j >= n) j = j < 0 ? -j : 2 * (n - 1) - j;
    return j;
  }
  return Math.min(n - 1, Math.max(0, i));
}

function refKernel(t: number, interp: Interpolation): number {
  const a = Math.abs(t);
  if (interp === 'bilinear') return a < 1 ? 1 - a : 0;
  // Keys (1981) with a = -0.5
  const k = -0.5;
  if (a <= 1) return (k + 2) * a ** 3 - (k + 3) * a ** 2 + 1;
  if (a < 2) return k * a ** 3 - 5 * k * a ** 2 + 8 * k * a - 4 * k;
  return 0;
}

/** Samples a w x h array at (sx, sy): sum over taps of kernel(dx) kernel(dy) pixel. */
function refSample(
  data: ArrayLike<number>,
  w: number,
  h: number,
  sx: number,
  sy: number,
  interp: Interpolation,
  border: BorderMode,
  value: number,
): number {
  const read = (ix: number, iy: number) => {
    const bx = refIndex(ix, w, border);
    const by = refIndex(iy, h, border);
    return bx < 0 || by < 0 ? value : (data[by * w + bx] as number);
  };
  if (interp === 'nearest') return read(Math.floor(sx + 0.5), Math.floor(sy + 0.5));
  let acc = 0;
  for (let iy = Math.floor(sy) - 2; iy <= Math.floor(sy) + 3; iy++) {
    for (let ix = Math.floor(sx) - 2; ix <= Math.floor(sx) + 3; ix++) {
      const k = refKernel(sx - ix, interp) * refKernel(sy - iy, interp);
      if (k !== 0) acc += k * read(ix, iy);
    }
  }
  return acc;
}

const EPS = 1e-6;

/** Reference warp: per pixel, W·p by transformPointInto, then refSample. NaN marks "left unchanged". */
function refWarp(
  src: ArrayLike<number>,
  sw: number,
  sh: number,
  ow: number,
  oh: number,
  W: Mat3,
  interp: Interpolation,
  border: BorderMode,
  value: number,
): { values: Float64Array; mask: Uint8Array } {
  const values = new Float64Array(ow * oh);
  const mask = new Uint8Array(ow * oh);
  const p = [0, 0];
  for (let y = 0; y < oh; y++) {
    for (let x = 0; x < ow; x++) {
      const i = y * ow + x;
      const wq = W[6]! * x + W[7]! * y + W[8]!;
      transformPointInto(p, W, x, y);
      const sx = p[0]!;
      const sy = p[1]!;
      const inside = wq > 0 && sx >= -EPS && sx <= sw - 1 + EPS && sy >= -EPS && sy <= sh - 1 + EPS;
      mask[i] = inside ? 1 : 0;
      if (border === 'keep' && !inside) values[i] = Number.NaN;
      else if (!(wq > 0)) values[i] = value;
      else values[i] = refSample(src, sw, sh, sx, sy, interp, border === 'keep' ? 'replicate' : border, value);
    }
  }
  return { values, mask };
}

// ---- helpers ------------------------------------------------------------------------------------------

function randomImage(w: number, h: number, seed: number): GrayImage {
  const rng = createRng(seed);
  const img = createGrayImage(w, h);
  for (let i = 0; i < w * h; i++) img.data[i] = 255 * rng();
  return img;
}

function randomBytes(n: number, seed: number): Uint8Array {
  const rng = createRng(seed);
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(256 * rng());
  return b;
}

/**
 * A handful of transforms that cross every border: rotation+scale, shear, big shift, homography.
 * Translations carry odd decimals so that no source point falls exactly halfway between two pixels,
 * where 'nearest' could round either way depending on the order of the floating-point operations.
 */
function testMatrices(w: number, h: number): Mat3[] {
  return [
    mat3Identity(),
    similarityAbout(0.4, 1.3, w / 2, h / 2, 3.3, -2.7),
    similarityAbout(-2.5, 0.7, w / 2, h / 2, -0.25, 0.6),
    Float64Array.of(1.1, 0.2, -4.513, -0.15, 0.9, 2.2371, 0, 0, 1),
    Float64Array.of(1, 0, -w * 0.6 + 0.0137, 0, 1, h * 0.3 + 0.0291, 0, 0, 1),
    Float64Array.of(0.95, 0.05, 1.5137, -0.04, 1.05, -2.0113, 0.004, -0.003, 1),
    Float64Array.of(1, 0, 0.0123, 0, 1, 0.0171, 0.02, 0.01, 1), // part of the plane behind the horizon
  ];
}

const INTERPS: Interpolation[] = ['nearest', 'bilinear', 'bicubic'];
const BORDERS: BorderMode[] = ['constant', 'replicate', 'reflect', 'keep'];

describe('warpInto (GrayImage)', () => {
  it('matches the slow reference for every interpolation, border mode and transform', () => {
    const sw = 23;
    const sh = 17;
    const src = randomImage(sw, sh, 11);
    const ow = 29;
    const oh = 21;
    for (const W of testMatrices(sw, sh)) {
      for (const interp of INTERPS) {
        for (const border of BORDERS) {
          const ref = refWarp(src.data, sw, sh, ow, oh, W, interp, border, 37);
          const out = createGrayImage(ow, oh);
          out.data.fill(-1);
          const mask = new Uint8Array(ow * oh);
          warpInto(out, src, W, { interpolation: interp, border, borderValue: 37, validMask: mask });
          expect(Array.from(mask)).toEqual(Array.from(ref.mask));
          for (let i = 0; i < ow * oh; i++) {
            const r = ref.values[i]!;
            if (Number.isNaN(r)) expect(out.data[i]).toBe(-1);
            else expect(Math.abs(out.data[i]! - r)).toBeLessThanOrEqual(TOL_FLOAT);
          }
        }
      }
    }
  });

  it('identity and integer shifts reproduce the source exactly', () => {
    const src = randomImage(16, 12, 3);
    for (const interp of INTERPS) {
      const out = createGrayImage(16, 12);
      warpInto(out, src, mat3Identity(), { interpolation: interp });
      for (let i = 0; i < src.data.length; i++) expect(Math.abs(out.data[i]! - src.data[i]!)).toBeLessThanOrEqual(TOL_EXACT);
      const shift = Float64Array.of(1, 0, 3, 0, 1, -2, 0, 0, 1);
      warpInto(out, src, shift, { interpolation: interp, border: 'constant', borderValue: 0 });
      for (let y = 0; y < 12; y++) {
        for (let x = 0; x < 16; x++) {
          const sx = x + 3;
          const sy = y - 2;
          const expected = sx < 16 && sy >= 0 ? src.data[sy * 16 + sx]! : 0;
          expect(Math.abs(out.data[y * 16 + x]! - expected)).toBeLessThanOrEqual(TOL_EXACT);
        }
      }
    }
  });

  it('bilinear reproduces a linear image and bicubic a quadratic one under any inside affine map', () => {
    const w = 40;
    const h = 30;
    const lin = renderScene(w, h, (x, y) => 3 + 2.5 * x - 1.25 * y);
    const quad = renderScene(w, h, (x, y) => 10 + 0.5 * x + 0.3 * y + 0.02 * x * x - 0.01 * x * y + 0.03 * y * y);
    const W = similarityAbout(0.3, 0.6, w / 2, h / 2, 0.37, -0.81);
    const mask = new Uint8Array(w * h);
    const outL = createGrayImage(w, h);
    const outQ = createGrayImage(w, h);
    warpInto(outL, lin, W, { interpolation: 'bilinear', validMask: mask });
    warpInto(outQ, quad, W, { interpolation: 'bicubic' });
    const p = [0, 0];
    let checked = 0;
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        transformPointInto(p, W, x, y);
        const sx = p[0]!;
        const sy = p[1]!;
        if (mask[y * w + x]) {
          expect(Math.abs(outL.data[y * w + x]! - (3 + 2.5 * sx - 1.25 * sy))).toBeLessThanOrEqual(TOL_EXACT);
        }
        // bicubic taps reach 1 px further: check where all 16 taps are inside
        if (sx >= 1 && sx < w - 2 && sy >= 1 && sy < h - 2) {
          const e = 10 + 0.5 * sx + 0.3 * sy + 0.02 * sx * sx - 0.01 * sx * sy + 0.03 * sy * sy;
          expect(Math.abs(outQ.data[y * w + x]! - e)).toBeLessThanOrEqual(TOL_EXACT);
          checked++;
        }
      }
    }
    expect(checked).toBeGreaterThan(200);
  });

  it('border modes on a known row: constant, replicate, reflect-101, keep', () => {
    const src = createGrayImage(4, 1, Float32Array.of(10, 20, 30, 40));
    const W = Float64Array.of(1, 0, -2, 0, 1, 0, 0, 0, 1); // out(x) = src(x - 2)
    const out = createGrayImage(6, 1);
    const run = (border: BorderMode) => {
      out.data.fill(99);
      warpInto(out, src, W, { interpolation: 'nearest', border, borderValue: 5 });
      return Array.from(out.data);
    };
    expect(run('constant')).toEqual([5, 5, 10, 20, 30, 40]);
    expect(run('replicate')).toEqual([10, 10, 10, 20, 30, 40]);
    expect(run('reflect')).toEqual([30, 20, 10, 20, 30, 40]);
    expect(run('keep')).toEqual([99, 99, 10, 20, 30, 40]);
  });
});

describe('warpPlaneU8Into (8-bit planes)', () => {
  it(`fast kernels are within ${TOL_U8_LEVELS} gray level of the slow reference`, () => {
    const sw = 37;
    const sh = 26;
    const src = randomBytes(sw * sh, 5);
    for (const [ow, oh] of [
      [41, 29],
      [19, 13],
    ] as const) {
      for (const W of testMatrices(sw, sh)) {
        for (const interp of ['nearest', 'bilinear'] as const) {
          for (const border of BORDERS) {
            const ref = refWarp(src, sw, sh, ow, oh, W, interp, border, 128);
            const out = new Uint8Array(ow * oh).fill(7);
            warpPlaneU8Into(out, ow, oh, src, sw, sh, W, { interpolation: interp, border, borderValue: 128 });
            for (let i = 0; i < ow * oh; i++) {
              const r = ref.values[i]!;
              if (Number.isNaN(r)) expect(out[i]).toBe(7);
              else expect(Math.abs(out[i]! - Math.round(r))).toBeLessThanOrEqual(interp === 'nearest' ? 0 : TOL_U8_LEVELS);
            }
          }
        }
      }
    }
  });

  it('property: random affine maps (seeded) stay within 1 gray level, large plane', () => {
    const sw = 160;
    const sh = 90;
    const src = randomBytes(sw * sh, 8);
    const rng = createRng(77);
    for (let t = 0; t < 6; t++) {
      const W = similarityAbout((rng() - 0.5) * 0.4, 0.9 + 0.2 * rng(), sw / 2, sh / 2, (rng() - 0.5) * 20, (rng() - 0.5) * 20);
      const ref = refWarp(src, sw, sh, sw, sh, W, 'bilinear', 'reflect', 0);
      const out = new Uint8Array(sw * sh);
      warpPlaneU8Into(out, sw, sh, src, sw, sh, W, { border: 'reflect' });
      let maxDiff = 0;
      for (let i = 0; i < sw * sh; i++) maxDiff = Math.max(maxDiff, Math.abs(out[i]! - Math.round(ref.values[i]!)));
      expect(maxDiff).toBeLessThanOrEqual(TOL_U8_LEVELS);
    }
  });

  it('long rows (fixed-point stepping over 1920 px) and planes too wide for 16.16 (float kernel)', () => {
    for (const [sw, sh, ow] of [
      [1920, 8, 1920],
      [16500, 4, 300],
    ] as const) {
      const oh = 4;
      const src = randomBytes(sw * sh, sw);
      const W = Float64Array.of(0.9731, 0.0113, sw - ow - 30.37, -0.0021, 0.9817, 1.123, 0, 0, 1);
      const ref = refWarp(src, sw, sh, ow, oh, W, 'bilinear', 'replicate', 0);
      const out = new Uint8Array(ow * oh);
      warpPlaneU8Into(out, ow, oh, src, sw, sh, W, { border: 'replicate' });
      let maxDiff = 0;
      for (let i = 0; i < ow * oh; i++) maxDiff = Math.max(maxDiff, Math.abs(out[i]! - Math.round(ref.values[i]!)));
      expect(maxDiff).toBeLessThanOrEqual(TOL_U8_LEVELS);
    }
  });

  it('identity copies the plane', () => {
    const src = randomBytes(64 * 48, 9);
    const out = new Uint8Array(64 * 48);
    warpPlaneU8Into(out, 64, 48, src, 64, 48, mat3Identity());
    expect(Array.from(out)).toEqual(Array.from(src));
  });
});

describe('chromaMatrixInto (4:2:0, left siting)', () => {
  it('hand-derived cases: a luma shift halves; a luma scale s about the origin shifts chroma y by (s-1)/4', () => {
    const m = new Float64Array(9);
    chromaMatrixInto(m, Float64Array.of(1, 0, 6, 0, 1, -4, 0, 0, 1));
    expect(Array.from(m)).toEqual([1, 0, 3, 0, 1, -2, 0, 0, 1]);
    const s = 1.5;
    chromaMatrixInto(m, Float64Array.of(s, 0, 0, 0, s, 0, 0, 0, 1));
    // luma y = 2 cy + 0.5, so cy' = (s (2 cy + 0.5) - 0.5) / 2 = s cy + (s - 1) / 4; x is co-sited.
    expect(Array.from(m)).toEqual([s, 0, 0, 0, s, (s - 1) / 4, 0, 0, 1]);
    chromaMatrixInto(m, Float64Array.of(s, 0, 0, 0, s, 0, 0, 0, 1), 'center');
    expect(Array.from(m)).toEqual([s, 0, (s - 1) / 4, 0, s, (s - 1) / 4, 0, 0, 1]);
  });

  it('property: the chroma matrix moves chroma sites exactly like W moves luma points (homography too)', () => {
    const rng = createRng(123);
    const toLuma = (cx: number, cy: number) => [2 * cx, 2 * cy + 0.5];
    const mc = new Float64Array(9);
    const a = [0, 0];
    const b = [0, 0];
    for (let t = 0; t < 20; t++) {
      const W = Float64Array.of(
        1 + (rng() - 0.5) * 0.3,
        (rng() - 0.5) * 0.3,
        (rng() - 0.5) * 50,
        (rng() - 0.5) * 0.3,
        1 + (rng() - 0.5) * 0.3,
        (rng() - 0.5) * 50,
        (rng() - 0.5) * 1e-3,
        (rng() - 0.5) * 1e-3,
        1,
      );
      chromaMatrixInto(mc, W);
      const cx = rng() * 300;
      const cy = rng() * 200;
      transformPointInto(a, mc, cx, cy);
      const [lx, ly] = toLuma(cx, cy);
      transformPointInto(b, W, lx!, ly!);
      const [ex, ey] = toLuma(a[0]!, a[1]!);
      expect(Math.abs(ex! - b[0]!)).toBeLessThanOrEqual(1e-9);
      expect(Math.abs(ey! - b[1]!)).toBeLessThanOrEqual(1e-9);
    }
  });

  it('warping a 4:2:0 frame: the chroma plane lands where the scene says (ground truth from the scene)', () => {
    // A smooth scene sampled at luma sites gives Y and at chroma sites (left siting) gives U.
    const lw = 96;
    const lh = 64;
    const cw = lw / 2;
    const ch = lh / 2;
    const scene = texture(4);
    const u = new Uint8Array(cw * ch);
    for (let y = 0; y < ch; y++) for (let x = 0; x < cw; x++) u[y * cw + x] = Math.round(scene(2 * x, 2 * y + 0.5));
    const W = similarityAbout(0.1, 1.1, lw / 2, lh / 2, 2.5, -1.5);
    const Wc = chromaMatrixInto(new Float64Array(9), W);
    const out = new Uint8Array(cw * ch);
    const mask = new Uint8Array(cw * ch);
    warpPlaneU8Into(out, cw, ch, u, cw, ch, Wc, { border: 'keep' });
    const tmp = createGrayImage(cw, ch);
    warpInto(tmp, createGrayImage(cw, ch, Float32Array.from(u)), Wc, { validMask: mask });
    const p = [0, 0];
    // Bilinear on a half-resolution smooth scene: about one gray level per 0.02 px of misplacement;
    // a siting error of 0.25 chroma px would give errors of tens of levels.
    const TOL_SCENE_LEVELS = 6;
    let n = 0;
    let sumErr = 0;
    for (let y = 0; y < ch; y++) {
      for (let x = 0; x < cw; x++) {
        if (!mask[y * cw + x]) continue;
        transformPointInto(p, W, 2 * x, 2 * y + 0.5);
        const e = scene(p[0]!, p[1]!);
        sumErr += Math.abs(out[y * cw + x]! - e);
        n++;
      }
    }
    expect(n).toBeGreaterThan(cw * ch * 0.6);
    expect(sumErr / n).toBeLessThanOrEqual(TOL_SCENE_LEVELS);
    // The same check with the siting ignored (W applied to chroma as if co-sited) is clearly worse.
    const naive = Float64Array.of(W[0]!, W[1]!, W[2]! / 2, W[3]!, W[4]!, W[5]! / 2, 0, 0, 1);
    const outNaive = new Uint8Array(cw * ch);
    warpPlaneU8Into(outNaive, cw, ch, u, cw, ch, naive);
    let sumNaive = 0;
    for (let y = 0; y < ch; y++) {
      for (let x = 0; x < cw; x++) {
        if (!mask[y * cw + x]) continue;
        transformPointInto(p, W, 2 * x, 2 * y + 0.5);
        sumNaive += Math.abs(outNaive[y * cw + x]! - scene(p[0]!, p[1]!));
      }
    }
    expect(sumNaive / n).toBeGreaterThan(sumErr / n);
  });

  it('out may alias W', () => {
    const W = similarityAbout(0.2, 1.2, 10, 5, 1, 2);
    const expected = chromaMatrixInto(new Float64Array(9), W);
    chromaMatrixInto(W, W);
    expect(Array.from(W)).toEqual(Array.from(expected));
    // and C^-1 W C composed back gives W: check by inverse consistency
    const inv = invertInto(new Float64Array(9), expected)!;
    const prod = multiplyInto(new Float64Array(9), expected, inv);
    for (let i = 0; i < 9; i++) expect(Math.abs(prod[i]! - (i % 4 === 0 ? 1 : 0))).toBeLessThanOrEqual(1e-12);
  });
});

describe('warpPlaneU8Into input checks', () => {
  it('rejects planes shorter than width * height with a stable code', () => {
    expect(() => warpPlaneU8Into(new Uint8Array(10), 4, 4, new Uint8Array(16), 4, 4, mat3Identity())).toThrow(
      /Expected planes of at least 16 bytes \(4x4\)/,
    );
  });
});
