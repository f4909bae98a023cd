/**
 * The window path of the WebAssembly warp kernel (src/image/wasm/warp-u8.c, block_window: whole
 * 32-pixel blocks when the 16.16 column step dX lies in [0, 2 px]) against the JavaScript kernel,
 * byte for byte. The cases are built from the path's own conditions, so that each of its branches
 * runs: column steps at and around the ends of its range (0, 1/4, 1/2, just under and over one
 * pixel, 2 px exactly, and just past 2 px, which goes by the general path), row steps dY of both
 * signs from none through small (groups of sixteen pixels that stay on one source row, or cross one
 * row boundary at any pixel) to steep (a group spanning three or more rows), and spans that end in a
 * partial block. The JavaScript kernels are checked against a per-pixel reference in
 * warp-fixed-point.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { type BorderMode, chromaMatrixInto, warpPlaneU8Into } from '../../src/image/warp.js';
import { wasmWarpAvailable, wasmWarpRuns } from '../../src/image/wasm-warp.js';
import { mulberry32 } from '../support/rng.js';

/** The WebAssembly kernel must give the JavaScript kernel's bytes exactly. */
const TOL_LEVELS = 0;
/** One pixel in the kernel's 16.16 fixed point. */
const COORD_ONE = 65536;

function randomPlane(rng: () => number, length: number): Uint8Array {
  const p = new Uint8Array(length);
  for (let i = 0; i < p.length; i++) p[i] = Math.floor(rng() * 256);
  return p;
}

/** Number of bytes that differ by more than `tol` between a and b (and any length mismatch). */
function countDifferent(a: Uint8Array, b: Uint8Array, tol: number): number {
  let n = Math.abs(a.length - b.length);
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (Math.abs(a[i]! - b[i]!) > tol) n++;
  return n;
}

/** Warps by both kernels from the same starting bytes; expects the same bytes and that WebAssembly ran. */
function expectSameBytes(
  src: Uint8Array,
  sw: number,
  sh: number,
  ow: number,
  oh: number,
  W: Float64Array,
  border: BorderMode,
  label: string,
): void {
  const js = new Uint8Array(ow * oh).fill(77);
  const wasm = js.slice();
  warpPlaneU8Into(js, ow, oh, src, sw, sh, W, { border, kernel: 'js' });
  const runsBefore = wasmWarpRuns();
  warpPlaneU8Into(wasm, ow, oh, src, sw, sh, W, { border });
  expect(wasmWarpRuns(), `${label}: the WebAssembly kernel ran`).toBe(runsBefore + 1);
  expect(countDifferent(wasm, js, TOL_LEVELS), `${label}: W=${Array.from(W).slice(0, 6)}`).toBe(0);
}

describe('warpPlaneU8Into WebAssembly window path (byte-identical to the JavaScript kernel)', () => {
  it('is available in this engine', () => {
    expect(wasmWarpAvailable()).toBe(true);
  });

  it('column steps at and around the ends of the window range, row steps of both signs from none to steep', () => {
    const rng = mulberry32(31337);
    const [sw, sh] = [700, 300];
    const [ow, oh] = [330, 96];
    const src = randomPlane(rng, sw * sh);
    const columnSteps = [0, 0.25, 0.5, 1 - 3 / COORD_ONE, 0.97, 1, 1.03, 1.5, 2 - 1 / COORD_ONE, 2, 2 + 1 / COORD_ONE, 2.1];
    // Per output pixel: none, one crossing per ~200 px (0.3 degree), a few per block, and steep ones
    // (16 pixels spanning three or more rows: |dY| above 1/7.5 px).
    const rowSteps = [0, 0.0051, -0.0051, 0.021, -0.033, 0.07, -0.09, 0.2, -0.25];
    let cases = 0;
    for (const m0 of columnSteps) {
      for (const m3 of rowSteps) {
        // Rows map to a spread of source rows with fractional anchors of every kind; the shift
        // keeps most of each row inside (the spans then hold many whole blocks and a partial one).
        const m1 = (rng() - 0.5) * 0.05;
        const m4 = 0.9 + 0.3 * rng();
        const m2 = 3 + 20 * rng();
        const m5 = sh / 2 - m3 * (ow / 2) - (m4 * oh) / 2 + rng();
        const W = Float64Array.of(m0, m1, m2, m3, m4, m5, 0, 0, 1);
        expectSameBytes(src, sw, sh, ow, oh, W, cases % 2 === 0 ? 'replicate' : 'keep', `m0=${m0} m3=${m3}`);
        cases++;
      }
    }
    expect(cases).toBe(columnSteps.length * rowSteps.length);
  });

  it("a stabilizer's corrections on a frame's luma and chroma planes: small rotations of both signs, zoom 1-5 %", () => {
    const rng = mulberry32(2024);
    const [lw, lh] = [640, 360];
    const luma = randomPlane(rng, lw * lh);
    const [cw, ch] = [lw / 2, lh / 2];
    const chroma = randomPlane(rng, cw * ch);
    for (const deg of [-1.3, -0.3, -0.05, 0.05, 0.3, 1.3]) {
      const a = (deg * Math.PI) / 180;
      const z = 1 / (1 + 0.05 * rng());
      const W = Float64Array.of(Math.cos(a) * z, -Math.sin(a) * z, 10 * rng(), Math.sin(a) * z, Math.cos(a) * z, 8 * rng(), 0, 0, 1);
      expectSameBytes(luma, lw, lh, lw, lh, W, 'replicate', `luma ${deg} deg`);
      const C = chromaMatrixInto(new Float64Array(9), W);
      expectSameBytes(chroma, cw, ch, cw, ch, C, 'keep', `chroma ${deg} deg`);
    }
  });

  it('the widest windows: dX = 2 px with the first pixel just short of the next column, and dX just past 2 px', () => {
    // The first block of each row starts at x = 0 on the column fraction of m2 (m1 = 0): 65535/65536
    // puts pixel 7's left tap 14 columns (the window's last pair) after pixel 0's at dX = 2 px, and
    // 65520/65536 with dX = 2 px + 8/65536 would put a weighted tap outside a 16-byte window (such
    // steps take the general path).
    const rng = mulberry32(4);
    const [sw, sh] = [300, 60];
    const src = randomPlane(rng, sw * sh);
    for (const [dX, frac] of [
      [2 * COORD_ONE, 65535],
      [2 * COORD_ONE + 8, 65520],
      [2 * COORD_ONE + 8, 65535],
    ] as const) {
      for (const m3 of [0, 0.01, -0.01]) {
        const W = Float64Array.of(dX / COORD_ONE, 0, 5 + frac / COORD_ONE, m3, 0.9, 3.3, 0, 0, 1);
        expectSameBytes(src, sw, sh, 130, 60, W, 'replicate', `dX=${dX} frac=${frac} m3=${m3}`);
      }
    }
  });

  it('row boundaries crossed at every pixel of a group: one row per output row, slowly drifting rows', () => {
    // dY = 1/64 px per pixel: a group of 16 crosses a source row boundary at most once, and the
    // fractional row offsets of the output rows (steps of 1/97 px) put that crossing at every
    // position of the group over the plane.
    const rng = mulberry32(99);
    const [w, h] = [200, 120];
    const src = randomPlane(rng, w * h);
    for (const sign of [1, -1]) {
      const W = Float64Array.of(0.99, 0, 1.5, sign / 64, 1 / 97, 40 + rng(), 0, 0, 1);
      expectSameBytes(src, w, h, 192, 120, W, 'replicate', `drifting rows, sign ${sign}`);
    }
  });
});
