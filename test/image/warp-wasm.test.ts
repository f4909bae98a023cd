/**
 * The WebAssembly kernel of the 8-bit bilinear warp (src/image/wasm/warp-u8.c through wasm-warp.ts)
 * against the JavaScript kernels it replaces, byte for byte, on seeded random affine maps of every kind
 * its code paths distinguish: unit steps (translations), one-row and two-row source windows (small
 * rotations, scales near one), gathers (larger rotations and scales, mirrored maps), partial blocks
 * and rows, spans touching both ends of the row, rows with no interior, every border mode, odd and
 * chroma-size planes, planes inside larger buffers, and plane sizes that make the module's memory grow
 * and then reuse it. The JavaScript kernels are themselves checked against a per-pixel reference in
 * warp-fixed-point.test.ts. Each comparison also checks that the WebAssembly kernel really ran.
 */
import { describe, expect, it } from 'vitest';
import { type BorderMode, chromaMatrixInto, warpPlaneU8Into } from '../../src/image/warp.js';
import { wasmWarpAvailable, wasmWarpRuns } from '../../src/image/wasm-warp.js';
import { mulberry32 } from '../support/rng.js';

/** The WebAssembly kernel must give the JavaScript kernel's bytes exactly. */
const TOL_LEVELS = 0;

const BORDERS: readonly BorderMode[] = ['constant', 'replicate', 'reflect', 'keep'];

function randomPlane(rng: () => number, length: number): Uint8Array {
  const p = new Uint8Array(length);
  for (let i = 0; i < p.length; i++) p[i] = Math.floor(rng() * 256);
  return p;
}

/** Largest absolute difference between two planes. */
function worstDifference(a: Uint8Array, b: Uint8Array): number {
  let worst = a.length === b.length ? 0 : 256;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

/** Rotation by angleRad and scale about the source centre, then a shift (output -> source coordinates). */
function rotationAbout(sw: number, sh: number, angleRad: number, scale: number, tx: number, ty: number): Float64Array {
  const c = Math.cos(angleRad) * scale;
  const s = Math.sin(angleRad) * scale;
  const cx = (sw - 1) / 2;
  const cy = (sh - 1) / 2;
  return Float64Array.of(c, -s, cx - c * cx + s * cy + tx, s, c, cy - s * cx - c * cy + ty, 0, 0, 1);
}

/** Seeded affine maps of the kinds listed in the file comment. */
function randomAffine(rng: () => number, sw: number, sh: number, kind: number): Float64Array {
  const tx = (rng() - 0.5) * 0.2 * sw;
  const ty = (rng() - 0.5) * 0.2 * sh;
  const deg = Math.PI / 180;
  switch (kind % 8) {
    case 0:
      return Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);
    case 1: // fractional translation
      return Float64Array.of(1, 0, tx, 0, 1, ty, 0, 0, 1);
    case 2: // a stabilizer's correction: rotation below 1 degree, zoom 1-5 %
      return rotationAbout(sw, sh, (rng() - 0.5) * 2 * deg, 1 / (1 + 0.05 * rng()), tx * 0.1, ty * 0.1);
    case 3: // rotation up to +-10 degrees, scale 0.8-1.25
      return rotationAbout(sw, sh, (rng() - 0.5) * 20 * deg, 0.8 * 1.5625 ** rng(), tx * 0.2, ty * 0.2);
    case 4: // zoom in (every output pixel inside: spans from the first to the last pixel of each row)
      return rotationAbout(sw, sh, (rng() - 0.5) * 0.5 * deg, 0.8 + 0.1 * rng(), 0, 0);
    case 5: // general affine with shear
      return Float64Array.of(0.8 + 0.45 * rng(), (rng() - 0.5) * 0.3, tx, (rng() - 0.5) * 0.3, 0.8 + 0.45 * rng(), ty, 0, 0, 1);
    case 6: // mirrored: columns run backwards
      return Float64Array.of(-1 + (rng() - 0.5) * 0.05, (rng() - 0.5) * 0.05, sw - 1 + tx * 0.2, (rng() - 0.5) * 0.05, 1, ty * 0.2, 0, 0, 1);
    default: // steps that round to one pixel in 16.16 without being exactly one (and a vertical shear)
      return Float64Array.of(1 + (rng() - 0.5) * 1e-5, (rng() - 0.5) * 0.02, tx, (rng() - 0.5) * 1e-5, 1, ty, 0, 0, 1);
  }
}

interface Case {
  readonly src: Uint8Array;
  readonly sw: number;
  readonly sh: number;
  readonly ow: number;
  readonly oh: number;
  readonly W: Float64Array;
  readonly border: BorderMode;
  readonly value: number;
  /** What `out` holds before the warp ('keep' leaves outside pixels as they were). */
  readonly before: Uint8Array;
}

/** Warps with the JavaScript kernel and with the default one; checks the bytes and that WebAssembly ran. */
function expectSameBytes(c: Case, label: string): void {
  const js = c.before.slice();
  const wasm = c.before.slice();
  const runsBefore = wasmWarpRuns();
  warpPlaneU8Into(js, c.ow, c.oh, c.src, c.sw, c.sh, c.W, { border: c.border, borderValue: c.value, kernel: 'js' });
  expect(wasmWarpRuns(), `${label}: the JavaScript kernel was asked for`).toBe(runsBefore);
  warpPlaneU8Into(wasm, c.ow, c.oh, c.src, c.sw, c.sh, c.W, { border: c.border, borderValue: c.value });
  expect(wasmWarpRuns(), `${label}: the WebAssembly kernel ran`).toBe(runsBefore + 1);
  expect(worstDifference(wasm, js), `${label}: ${c.sw}x${c.sh} -> ${c.ow}x${c.oh}, ${c.border}, W=${Array.from(c.W).slice(0, 6)}`).toBeLessThanOrEqual(
    TOL_LEVELS,
  );
}

describe('warpPlaneU8Into WebAssembly kernel (byte-identical to the JavaScript kernel)', () => {
  it('is available in this engine (Node 20 has WebAssembly with 128-bit SIMD)', () => {
    expect(wasmWarpAvailable()).toBe(true);
  });

  it('frame-like and odd plane sizes, luma and chroma, every kind of map and border mode (seeded)', () => {
    const rng = mulberry32(20250117);
    const sizes: readonly (readonly [number, number])[] = [
      [17, 9],
      [641, 359],
      [320, 181],
      [321, 180],
      [64, 48],
      [33, 2],
      [2, 33],
    ];
    let pixels = 0;
    let t = 0;
    for (const [lw, lh] of sizes) {
      const luma = randomPlane(rng, lw * lh);
      const [cw, ch] = [Math.ceil(lw / 2), Math.ceil(lh / 2)];
      const chroma = randomPlane(rng, cw * ch);
      for (let kind = 0; kind < 8; kind++, t++) {
        const W = randomAffine(rng, lw, lh, kind);
        const border = BORDERS[t % BORDERS.length]!;
        const value = Math.floor(rng() * 256);
        expectSameBytes({ src: luma, sw: lw, sh: lh, ow: lw, oh: lh, W, border, value, before: randomPlane(rng, lw * lh) }, `luma case ${t}`);
        const C = chromaMatrixInto(new Float64Array(9), W);
        expectSameBytes({ src: chroma, sw: cw, sh: ch, ow: cw, oh: ch, W: C, border, value, before: randomPlane(rng, cw * ch) }, `chroma case ${t}`);
        pixels += lw * lh + cw * ch;
      }
    }
    expect(pixels).toBeGreaterThan(1_000_000);
  });

  it('random sizes (the module memory grows and is reused), output sizes unlike the source, planes inside larger buffers', () => {
    const rng = mulberry32(4242);
    for (let t = 0; t < 160; t++) {
      const sw = 1 + Math.floor(rng() * (t % 10 === 0 ? 700 : 120));
      const sh = 1 + Math.floor(rng() * (t % 10 === 0 ? 400 : 70));
      const ow = 1 + Math.floor(rng() * 130);
      const oh = 1 + Math.floor(rng() * 70);
      const offset = Math.floor(rng() * 5);
      const buffer = randomPlane(rng, offset + sw * sh + Math.floor(rng() * 8));
      const src = buffer.subarray(offset, offset + sw * sh + (t % 3 === 0 ? 2 : 0));
      const W = randomAffine(rng, sw, sh, t);
      const border = BORDERS[t % BORDERS.length]!;
      // An output plane longer than outW * outH: the bytes past it stay as they were.
      const before = randomPlane(rng, ow * oh + (t % 4 === 1 ? 5 : 0));
      expectSameBytes({ src, sw, sh, ow, oh, W, border, value: Math.floor(rng() * 256), before }, `case ${t}`);
    }
  });

  it('spans touching both ends of the row: a zoom in keeps every output pixel inside', () => {
    const rng = mulberry32(99);
    for (const [w, h] of [
      [641, 359],
      [320, 181],
      [17, 9],
    ] as const) {
      const src = randomPlane(rng, w * h);
      for (let t = 0; t < 4; t++) {
        const W = randomAffine(rng, w, h, 4);
        // Precondition: the four corners (hence every pixel) map inside, 1/1024 px from the edges.
        for (const [x, y] of [
          [0, 0],
          [w - 1, 0],
          [0, h - 1],
          [w - 1, h - 1],
        ] as const) {
          const sx = W[0]! * x + W[1]! * y + W[2]!;
          const sy = W[3]! * x + W[4]! * y + W[5]!;
          expect(sx > 0.001 && sx < w - 1.001 && sy > 0.001 && sy < h - 1.001, `corner ${x},${y} inside`).toBe(true);
        }
        expectSameBytes({ src, sw: w, sh: h, ow: w, oh: h, W, border: BORDERS[t]!, value: 16, before: new Uint8Array(w * h) }, `zoom ${w}x${h} #${t}`);
      }
    }
  });

  it('every rotation from -10 to +10 degrees in 0.5 degree steps at scales 0.8, 1 and 1.25', () => {
    const rng = mulberry32(7);
    const [w, h] = [160, 91];
    const src = randomPlane(rng, w * h);
    for (let deg = -10; deg <= 10; deg += 0.5) {
      for (const scale of [0.8, 1, 1.25]) {
        const W = rotationAbout(w, h, (deg * Math.PI) / 180, scale, 0.37, -0.61);
        expectSameBytes({ src, sw: w, sh: h, ow: w, oh: h, W, border: 'replicate', value: 0, before: new Uint8Array(w * h) }, `${deg} deg x${scale}`);
      }
    }
  });

  it("'js' and other interpolations, homographies do not run the WebAssembly kernel", () => {
    const rng = mulberry32(5);
    const [w, h] = [40, 30];
    const src = randomPlane(rng, w * h);
    const out = new Uint8Array(w * h);
    const runsBefore = wasmWarpRuns();
    const affine = rotationAbout(w, h, 0.05, 0.97, 0.3, 0.2);
    warpPlaneU8Into(out, w, h, src, w, h, affine, { interpolation: 'nearest' });
    warpPlaneU8Into(out, w, h, src, w, h, affine, { interpolation: 'bicubic' });
    warpPlaneU8Into(out, w, h, src, w, h, Float64Array.of(1, 0, 0.5, 0, 1, 0.5, 1e-4, 0, 1));
    expect(wasmWarpRuns()).toBe(runsBefore);
  });
});
