import { describe, expect, it } from 'vitest';
import { createGrayImage } from '../../src/image/gray-image.js';
import { analysisSize, downscaleYInto } from '../../src/video/analysis.js';
import { mulberry32, randomInt } from '../support/video-rng.js';

const TOL_LEVEL = 1e-3;

function randomPlane(w: number, h: number, seed: number): Uint8Array {
  const rng = mulberry32(seed);
  const p = new Uint8Array(w * h);
  for (let i = 0; i < p.length; i++) p[i] = randomInt(rng, 0, 255);
  return p;
}

/**
 * Slow reference: replicate every source pixel k x k times (k a common multiple of the output sizes'
 * denominators) so that every output footprint covers whole replicated pixels, then average blocks.
 */
function slowDownscale(y: Uint8Array, w: number, h: number, ow: number, oh: number): Float64Array {
  const kx = ow; // w * ow / ow: footprint w/ow source px = w replicated px when each is split ow times
  const ky = oh;
  const bw = w; // block width in replicated pixels: (w / ow) * kx = w
  const bh = h;
  const out = new Float64Array(ow * oh);
  for (let oy = 0; oy < oh; oy++) {
    for (let ox = 0; ox < ow; ox++) {
      let sum = 0;
      for (let ry = oy * bh; ry < (oy + 1) * bh; ry++) {
        for (let rx = ox * bw; rx < (ox + 1) * bw; rx++) sum += y[Math.floor(ry / ky) * w + Math.floor(rx / kx)] as number;
      }
      out[oy * ow + ox] = sum / (bw * bh);
    }
  }
  return out;
}

describe('downscaleYInto', () => {
  it('matches the replicate-and-average reference for fractional and integer factors', () => {
    const cases: [number, number, number, number][] = [
      [10, 7, 4, 3],
      [13, 11, 5, 4],
      [16, 12, 8, 6],
      [9, 9, 9, 9],
      [7, 5, 1, 1],
      [31, 17, 12, 10],
    ];
    for (const [w, h, ow, oh] of cases) {
      const y = randomPlane(w, h, w * 100 + h);
      const out = downscaleYInto(createGrayImage(ow, oh), y, w, h);
      const ref = slowDownscale(y, w, h, ow, oh);
      for (let i = 0; i < ref.length; i++) expect(Math.abs((out.data[i] as number) - (ref[i] as number))).toBeLessThan(TOL_LEVEL);
    }
  });

  it('keeps a constant plane constant and a horizontal ramp centred (pixel-centre convention)', () => {
    const w = 30;
    const h = 6;
    const flat = new Uint8Array(w * h).fill(77);
    const outFlat = downscaleYInto(createGrayImage(7, 4), flat, w, h);
    for (const v of outFlat.data) expect(Math.abs(v - 77)).toBeLessThan(TOL_LEVEL);
    // A ramp y = x with whole-pixel footprints (s = 2 and s = 3): output pixel o is the mean of its
    // block, the source value at the block centre (o + 0.5) * s - 0.5, not at o * s.
    const ramp = new Uint8Array(w * h);
    for (let j = 0; j < h; j++) for (let i = 0; i < w; i++) ramp[j * w + i] = i;
    for (const ow of [15, 10]) {
      const out = downscaleYInto(createGrayImage(ow, 3), ramp, w, h);
      const s = w / ow;
      for (let o = 0; o < ow; o++) expect(Math.abs((out.data[o] as number) - ((o + 0.5) * s - 0.5))).toBeLessThan(TOL_LEVEL);
    }
  });

  it('gives the same result when called again with the same sizes (reused workspace holds no state)', () => {
    const y = randomPlane(23, 19, 9);
    const first = Array.from(downscaleYInto(createGrayImage(10, 7), y, 23, 19).data);
    downscaleYInto(createGrayImage(5, 5), randomPlane(11, 13, 2), 11, 13);
    const again = Array.from(downscaleYInto(createGrayImage(10, 7), y, 23, 19).data);
    const twice = Array.from(downscaleYInto(createGrayImage(10, 7), y, 23, 19).data);
    expect(again).toEqual(first);
    expect(twice).toEqual(first);
  });

  it('refuses to upscale', () => {
    expect(() => downscaleYInto(createGrayImage(8, 8), new Uint8Array(16), 4, 4)).toThrow(RangeError);
  });
});

describe('analysisSize', () => {
  it('keeps the aspect ratio and never upscales', () => {
    expect(analysisSize(1920, 1080, 480)).toEqual({ width: 480, height: 270 });
    expect(analysisSize(1080, 1920, 480)).toEqual({ width: 270, height: 480 });
    expect(analysisSize(320, 240, 480)).toEqual({ width: 320, height: 240 });
  });
});
