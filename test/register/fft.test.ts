import { describe, expect, it } from 'vitest';
import { createFft2dPlan, createFftPlan, fft2dInPlace, fftInPlace, floorPowerOfTwo, isPowerOfTwo } from '../../src/register/fft.js';
import { createRng } from '../support/fourier-fixtures.js';

/** Relative to the largest magnitude of the spectrum; doubles give ~1e-15, radix-2 adds log2(N) roundings. */
const TOL_REL = 1e-11;

/** Slow O(N^2) DFT, straight from the definition. */
function slowDft(re: Float64Array, im: Float64Array, inverse: boolean): [Float64Array, Float64Array] {
  const n = re.length;
  const outRe = new Float64Array(n);
  const outIm = new Float64Array(n);
  const sgn = inverse ? 1 : -1;
  for (let k = 0; k < n; k++) {
    let sr = 0;
    let si = 0;
    for (let t = 0; t < n; t++) {
      const a = (sgn * 2 * Math.PI * ((k * t) % n)) / n;
      sr += re[t]! * Math.cos(a) - im[t]! * Math.sin(a);
      si += re[t]! * Math.sin(a) + im[t]! * Math.cos(a);
    }
    outRe[k] = inverse ? sr / n : sr;
    outIm[k] = inverse ? si / n : si;
  }
  return [outRe, outIm];
}

/** Slow 2-D DFT from the definition (double sum per output). */
function slowDft2d(re: Float64Array, im: Float64Array, w: number, h: number): [Float64Array, Float64Array] {
  const outRe = new Float64Array(w * h);
  const outIm = new Float64Array(w * h);
  for (let ky = 0; ky < h; ky++) {
    for (let kx = 0; kx < w; kx++) {
      let sr = 0;
      let si = 0;
      for (let y = 0; y < h; y++) {
        for (let x = 0; x < w; x++) {
          const a = -2 * Math.PI * ((kx * x) / w + (ky * y) / h);
          const i = y * w + x;
          sr += re[i]! * Math.cos(a) - im[i]! * Math.sin(a);
          si += re[i]! * Math.sin(a) + im[i]! * Math.cos(a);
        }
      }
      outRe[ky * w + kx] = sr;
      outIm[ky * w + kx] = si;
    }
  }
  return [outRe, outIm];
}

function randomComplex(n: number, seed: number): [Float64Array, Float64Array] {
  const rng = createRng(seed);
  const re = new Float64Array(n);
  const im = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    re[i] = rng() * 2 - 1;
    im[i] = rng() * 2 - 1;
  }
  return [re, im];
}

function maxAbsDiff(a: Float64Array, b: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

function maxAbs(a: Float64Array, b: Float64Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!), Math.abs(b[i]!));
  return m;
}

describe('fft', () => {
  it('power-of-two helpers', () => {
    expect([1, 2, 4, 1024].every(isPowerOfTwo)).toBe(true);
    expect([0, 3, 6, 1.5, -4].some(isPowerOfTwo)).toBe(false);
    expect(floorPowerOfTwo(640)).toBe(512);
    expect(floorPowerOfTwo(256)).toBe(256);
    expect(() => createFftPlan(12)).toThrow(RangeError);
  });

  it('matches the slow DFT, forward and inverse, for N = 1 .. 128', () => {
    for (let n = 1; n <= 128; n *= 2) {
      const plan = createFftPlan(n);
      for (const inverse of [false, true]) {
        const [re, im] = randomComplex(n, 1000 + n + (inverse ? 1 : 0));
        const [er, ei] = slowDft(re, im, inverse);
        fftInPlace(plan, re, im, inverse);
        const scale = maxAbs(er, ei);
        expect(maxAbsDiff(re, er)).toBeLessThanOrEqual(TOL_REL * scale);
        expect(maxAbsDiff(im, ei)).toBeLessThanOrEqual(TOL_REL * scale);
      }
    }
  });

  it('transforms a segment at an offset and leaves the rest alone', () => {
    const n = 16;
    const plan = createFftPlan(n);
    const [re, im] = randomComplex(3 * n, 7);
    const before = [re.slice(), im.slice()];
    const [er, ei] = slowDft(re.slice(n, 2 * n), im.slice(n, 2 * n), false);
    fftInPlace(plan, re, im, false, n);
    expect(maxAbsDiff(re.subarray(n, 2 * n), er)).toBeLessThanOrEqual(TOL_REL * maxAbs(er, ei));
    expect(maxAbsDiff(im.subarray(n, 2 * n), ei)).toBeLessThanOrEqual(TOL_REL * maxAbs(er, ei));
    expect(Array.from(re.subarray(0, n))).toEqual(Array.from(before[0]!.subarray(0, n)));
    expect(Array.from(im.subarray(2 * n))).toEqual(Array.from(before[1]!.subarray(2 * n)));
  });

  it('2-D transform matches the slow 2-D DFT (non-square 16 x 8)', () => {
    const w = 16;
    const h = 8;
    const plan = createFft2dPlan(w, h);
    const [re, im] = randomComplex(w * h, 42);
    const [er, ei] = slowDft2d(re, im, w, h);
    fft2dInPlace(plan, re, im);
    const scale = maxAbs(er, ei);
    expect(maxAbsDiff(re, er)).toBeLessThanOrEqual(TOL_REL * scale);
    expect(maxAbsDiff(im, ei)).toBeLessThanOrEqual(TOL_REL * scale);
  });

  it('property: inverse(forward(x)) = x and Parseval holds (seeded, several sizes)', () => {
    for (const [w, h, seed] of [
      [64, 32, 1],
      [8, 128, 2],
      [256, 256, 3],
    ] as const) {
      const plan = createFft2dPlan(w, h);
      const [re, im] = randomComplex(w * h, seed);
      const [r0, i0] = [re.slice(), im.slice()];
      let energy = 0;
      for (let i = 0; i < w * h; i++) energy += re[i]! ** 2 + im[i]! ** 2;
      fft2dInPlace(plan, re, im);
      let specEnergy = 0;
      for (let i = 0; i < w * h; i++) specEnergy += re[i]! ** 2 + im[i]! ** 2;
      expect(Math.abs(specEnergy / (w * h) - energy)).toBeLessThanOrEqual(TOL_REL * energy);
      fft2dInPlace(plan, re, im, true);
      expect(maxAbsDiff(re, r0)).toBeLessThanOrEqual(TOL_REL);
      expect(maxAbsDiff(im, i0)).toBeLessThanOrEqual(TOL_REL);
    }
  });

  it('property: a circular shift multiplies the spectrum by a phase ramp', () => {
    const n = 32;
    const d = 5;
    const plan = createFftPlan(n);
    const [re, im] = randomComplex(n, 9);
    const sr = new Float64Array(n);
    const si = new Float64Array(n);
    for (let t = 0; t < n; t++) {
      sr[(t + d) % n] = re[t]!;
      si[(t + d) % n] = im[t]!;
    }
    fftInPlace(plan, re, im);
    fftInPlace(plan, sr, si);
    const scale = maxAbs(re, im);
    for (let k = 0; k < n; k++) {
      const a = (-2 * Math.PI * k * d) / n;
      const er = re[k]! * Math.cos(a) - im[k]! * Math.sin(a);
      const ei = re[k]! * Math.sin(a) + im[k]! * Math.cos(a);
      expect(Math.abs(sr[k]! - er)).toBeLessThanOrEqual(TOL_REL * scale);
      expect(Math.abs(si[k]! - ei)).toBeLessThanOrEqual(TOL_REL * scale);
    }
  });
});
