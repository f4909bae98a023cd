/**
 * The 8-bit bilinear warp's fast kernels (16.16 stepping with 16-bit tap-pair reads, the unit-step
 * kernel for translations, the border sampler) against a straightforward per-pixel implementation of
 * the same fixed-point contract, byte for byte: interior pixels (every tap inside, with the 1/1024 px
 * margin) take the 16.16 coordinate of the pixel, computed from the exact float position of the first
 * pixel of its 32-pixel block (blocks counted from the row's first interior pixel) plus whole steps,
 * and 1/2048 px weights; other pixels take float bilinear with per-tap borders, rounded half up.
 */
import { describe, expect, it } from 'vitest';
import { type BorderMode, borderIndex, warpPlaneU8Into } from '../../src/image/warp.js';
import type { Mat3 } from '../../src/motion/mat3.js';
import { mulberry32 } from '../support/rng.js';

/** The kernels must reproduce the reference exactly. */
const TOL_LEVELS = 0;

const EDGE_MARGIN_PX = 1 / 1024;
const INSIDE_EPS_PX = 1e-6;
const BLOCK = 32;

/** Float bilinear with per-tap borders, rounded half up and clamped: the contract for non-interior pixels. */
function floatBilinear(src: Uint8Array, sw: number, sh: number, sx: number, sy: number, border: BorderMode, value: number): number {
  const x0 = Math.floor(sx);
  const y0 = Math.floor(sy);
  const fx = sx - x0;
  const fy = sy - y0;
  const tap = (ix: number, iy: number): number => {
    const bx = borderIndex(ix, sw, border);
    const by = borderIndex(iy, sh, border);
    return bx < 0 || by < 0 ? value : src[by * sw + bx]!;
  };
  const a = tap(x0, y0);
  const b = tap(x0 + 1, y0);
  const c = tap(x0, y0 + 1);
  const d = tap(x0 + 1, y0 + 1);
  const top = a + (b - a) * fx;
  const bot = c + (d - c) * fx;
  const v = top + (bot - top) * fy;
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.floor(v + 0.5);
}

/** Reference of warpPlaneU8Into for an affine W, bilinear, planes up to 16384 px. */
function referenceWarp(
  out: Uint8Array,
  ow: number,
  oh: number,
  src: Uint8Array,
  sw: number,
  sh: number,
  W: Mat3,
  border: BorderMode,
  value: number,
): void {
  const [m0, m1, m2, m3, m4, m5] = [W[0]!, W[1]!, W[2]!, W[3]!, W[4]!, W[5]!];
  const dX = Math.round(m0 * 65536) | 0;
  const dY = Math.round(m3 * 65536) | 0;
  for (let y = 0; y < oh; y++) {
    const bx = m1 * y + m2;
    const by = m4 * y + m5;
    const interior = (x: number): boolean => {
      const sx = bx + m0 * x;
      const sy = by + m3 * x;
      return sx >= EDGE_MARGIN_PX && sx <= sw - 1 - EDGE_MARGIN_PX && sy >= EDGE_MARGIN_PX && sy <= sh - 1 - EDGE_MARGIN_PX;
    };
    let first = -1;
    for (let x = 0; x < ow && first < 0; x++) if (interior(x)) first = x;
    for (let x = 0; x < ow; x++) {
      const sx = bx + m0 * x;
      const sy = by + m3 * x;
      if (interior(x)) {
        const x0 = first + BLOCK * Math.floor((x - first) / BLOCK);
        const X = (((bx + m0 * x0) * 65536) | 0) + (x - x0) * dX;
        const Y = (((by + m3 * x0) * 65536) | 0) + (x - x0) * dY;
        const i = Math.floor(Y / 65536) * sw + Math.floor(X / 65536);
        const fx = Math.floor(X / 32) % 2048;
        const fy = Math.floor(Y / 32) % 2048;
        const p00 = src[i]!;
        const p01 = src[i + 1]!;
        const p10 = src[i + sw]!;
        const p11 = src[i + sw + 1]!;
        const top = p00 * 2048 + (p01 - p00) * fx;
        const bot = p10 * 2048 + (p11 - p10) * fx;
        out[y * ow + x] = Math.floor((top * 2048 + (bot - top) * fy + 2 ** 21) / 2 ** 22);
        continue;
      }
      if (border === 'keep') {
        const inside = sx >= -INSIDE_EPS_PX && sx <= sw - 1 + INSIDE_EPS_PX && sy >= -INSIDE_EPS_PX && sy <= sh - 1 + INSIDE_EPS_PX;
        if (inside) out[y * ow + x] = floatBilinear(src, sw, sh, sx, sy, 'replicate', value);
        continue;
      }
      if (border === 'constant' && (sx < -1 || sy < -1 || sx > sw || sy > sh)) {
        out[y * ow + x] = value;
        continue;
      }
      out[y * ow + x] = floatBilinear(src, sw, sh, sx, sy, border, value);
    }
  }
}

/** A random affine map of the kinds a stabilizer makes (and a few it does not), seeded. */
function randomMatrix(rng: () => number, sw: number, sh: number): Float64Array {
  const kind = Math.floor(rng() * 6);
  const tx = (rng() - 0.5) * 0.3 * sw;
  const ty = (rng() - 0.5) * 0.3 * sh;
  switch (kind) {
    case 0: // fractional translation: the unit-step kernel
      return Float64Array.of(1, 0, tx, 0, 1, ty, 0, 0, 1);
    case 1: // whole-pixel translation
      return Float64Array.of(1, 0, Math.round(tx), 0, 1, Math.round(ty), 0, 0, 1);
    case 2: // near identity: m0, m3 round to 1, 0 in 16.16 but are not exactly that; shear in m1
      return Float64Array.of(1 + (rng() - 0.5) * 1e-5, (rng() - 0.5) * 0.02, tx, (rng() - 0.5) * 1e-5, 1 + (rng() - 0.5) * 1e-3, ty, 0, 0, 1);
    case 3: {
      // small rotation and zoom about the centre, the usual correction
      const a = (rng() - 0.5) * 0.1;
      const z = 0.9 + 0.2 * rng();
      const c = Math.cos(a) * z;
      const s = Math.sin(a) * z;
      return Float64Array.of(c, -s, sw / 2 - c * (sw / 2) + s * (sh / 2) + tx * 0.1, s, c, sh / 2 - s * (sw / 2) - c * (sh / 2) + ty * 0.1, 0, 0, 1);
    }
    case 4: // general affine, zooming out (steps over a pixel) or in
      return Float64Array.of(0.5 + rng(), (rng() - 0.5) * 0.6, tx, (rng() - 0.5) * 0.6, 0.5 + rng(), ty, 0, 0, 1);
    default: // mirrored: negative steps
      return Float64Array.of(-1 + (rng() - 0.5) * 0.1, (rng() - 0.5) * 0.1, sw - 1 + tx * 0.2, (rng() - 0.5) * 0.1, 1, ty * 0.2, 0, 0, 1);
  }
}

const BORDERS: readonly BorderMode[] = ['constant', 'replicate', 'reflect', 'keep'];

// 'auto' runs the WebAssembly kernel where the engine has it; 'js' forces the JavaScript kernel.
describe.each(['auto', 'js'] as const)('warpPlaneU8Into bilinear fixed point, kernel %s (exact against a per-pixel reference)', (kernel) => {
  it('random sizes, matrices, borders and plane offsets (seeded)', () => {
    const rng = mulberry32(20240611);
    let pixels = 0;
    for (let t = 0; t < 120; t++) {
      const sw = 1 + Math.floor(rng() * 90);
      const sh = 1 + Math.floor(rng() * 50);
      const ow = 1 + Math.floor(rng() * 90);
      const oh = 1 + Math.floor(rng() * 50);
      // Planes at any byte offset inside a larger buffer, as a decoder hands them out.
      const offset = Math.floor(rng() * 4);
      const buffer = new Uint8Array(offset + sw * sh + 3);
      for (let i = 0; i < buffer.length; i++) buffer[i] = Math.floor(rng() * 256);
      const src = buffer.subarray(offset, offset + sw * sh);
      const W = randomMatrix(rng, sw, sh);
      const border = BORDERS[t % BORDERS.length]!;
      const value = Math.floor(rng() * 256);
      const got = new Uint8Array(ow * oh).fill(7);
      const want = new Uint8Array(ow * oh).fill(7);
      warpPlaneU8Into(got, ow, oh, src, sw, sh, W, { border, borderValue: value, kernel });
      referenceWarp(want, ow, oh, src, sw, sh, W, border, value);
      let worst = 0;
      for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
      expect(worst, `case ${t}: ${sw}x${sh} -> ${ow}x${oh}, ${border}, W=${Array.from(W).slice(0, 6)}`).toBeLessThanOrEqual(TOL_LEVELS);
      pixels += got.length;
    }
    expect(pixels).toBeGreaterThan(100_000);
  });

  it('long rows (many 32-pixel blocks) at a frame-like size, every border mode', () => {
    const rng = mulberry32(77);
    const sw = 321;
    const sh = 97;
    const src = new Uint8Array(sw * sh);
    for (let i = 0; i < src.length; i++) src[i] = Math.floor(rng() * 256);
    for (let t = 0; t < 8; t++) {
      const W = randomMatrix(rng, sw, sh);
      for (const border of BORDERS) {
        const got = new Uint8Array(sw * sh).fill(3);
        const want = new Uint8Array(sw * sh).fill(3);
        warpPlaneU8Into(got, sw, sh, src, sw, sh, W, { border, borderValue: 16, kernel });
        referenceWarp(want, sw, sh, src, sw, sh, W, border, 16);
        let worst = 0;
        for (let i = 0; i < got.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
        expect(worst, `${border}, W=${Array.from(W).slice(0, 6)}`).toBeLessThanOrEqual(TOL_LEVELS);
      }
    }
  });
});
