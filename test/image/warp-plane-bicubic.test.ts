// The 8-bit plane warp's bicubic mode against the float GrayImage warp (an independent path of warp.ts with
// the same Keys kernel), and against bilinear (it must differ: the option changes the output).
import { describe, expect, it } from 'vitest';
import { createGrayImage } from '../../src/image/gray-image.js';
import { warpInto, warpPlaneU8Into } from '../../src/image/warp.js';

/** Rounding of the float result to 8 bits: at most half a level, plus float noise. */
const TOL_LEVELS = 0.5 + 1e-6;

function texture(w: number, h: number): Uint8Array {
  const p = new Uint8Array(w * h);
  let s = 12345;
  for (let i = 0; i < p.length; i++) {
    s = (s * 48271) % 2147483647;
    p[i] = s % 256;
  }
  return p;
}

describe('warpPlaneU8Into bicubic', () => {
  const w = 37;
  const h = 23;
  const src = texture(w, h);
  const gray = createGrayImage(w, h);
  for (let i = 0; i < src.length; i++) gray.data[i] = src[i] as number;
  const W = Float64Array.of(Math.cos(0.1) * 0.97, -Math.sin(0.1), 2.3, Math.sin(0.1), Math.cos(0.1) * 1.02, -1.7, 0, 0, 1);

  for (const border of ['constant', 'replicate', 'reflect'] as const) {
    it(`matches the float bicubic warp within rounding (${border})`, () => {
      const out = new Uint8Array(w * h);
      warpPlaneU8Into(out, w, h, src, w, h, W, { interpolation: 'bicubic', border, borderValue: 16 });
      const ref = createGrayImage(w, h);
      warpInto(ref, gray, W, { interpolation: 'bicubic', border, borderValue: 16 });
      let worst = 0;
      for (let i = 0; i < out.length; i++) {
        const r = Math.min(255, Math.max(0, ref.data[i] as number));
        worst = Math.max(worst, Math.abs((out[i] as number) - r));
      }
      expect(worst).toBeLessThanOrEqual(TOL_LEVELS);
    });
  }

  it('keeps the previous pixels outside the source with border keep, and differs from bilinear', () => {
    const shift = Float64Array.of(1, 0, 5.5, 0, 1, 0.25, 0, 0, 1);
    const cubic = new Uint8Array(w * h).fill(7);
    warpPlaneU8Into(cubic, w, h, src, w, h, shift, { interpolation: 'bicubic', border: 'keep' });
    for (let y = 0; y < h; y++) for (let x = w - 5; x < w; x++) expect(cubic[y * w + x]).toBe(7);
    const linear = new Uint8Array(w * h).fill(7);
    warpPlaneU8Into(linear, w, h, src, w, h, shift, { interpolation: 'bilinear', border: 'keep' });
    let differ = 0;
    for (let i = 0; i < cubic.length; i++) if (cubic[i] !== linear[i]) differ++;
    expect(differ).toBeGreaterThan(100);
  });
});
