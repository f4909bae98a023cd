import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { createGrayImage } from '../../src/image/gray-image.js';
import {
  correlateArraysInto,
  createCorrelationCore,
  createPhaseCorrelator,
  phaseCorrelate,
} from '../../src/register/phase-correlation.js';
import { addGainBiasNoise, createRng, renderScene, texture } from '../support/fourier-fixtures.js';

/**
 * Large shifts with gain, bias and noise at 640x480 (working grid 256x256, 2.5 / 1.9 px per working px).
 * The requirement is 1 px (ECC refines the rest); 0.25 px pins what the method achieves (about 0.05).
 */
const TOL_LARGE_SHIFT_PX = 0.25;
/** Sub-pixel shifts without noise on the working grid itself (measured error under 0.01 px). */
const TOL_SUBPIXEL_PX = 0.02;
/** A true match must stand out: peak height at least this (about 0.9 measured)... */
const MIN_TRUE_PEAK = 0.5;
/** ...while unrelated images stay below this (0.06..0.11 measured at 320x240 and 640x480). */
const MAX_UNRELATED_PEAK = 0.2;

describe('phase correlation', () => {
  it('recovers shifts up to a quarter of a 640x480 image under gain, bias and noise', () => {
    const w = 640;
    const h = 480;
    const scene = texture(21);
    const fixed = renderScene(w, h, scene);
    addGainBiasNoise(fixed, 1, 0, 3, 1);
    const correlator = createPhaseCorrelator(w, h);
    const rng = createRng(99);
    const cases: [number, number][] = [
      [160, 120],
      [-160, -120],
      [160, -120],
      [-157.3, 118.6],
      [0.4, -0.7],
    ];
    for (let t = 0; t < 5; t++) cases.push([(rng() * 2 - 1) * 160, (rng() * 2 - 1) * 120]);
    for (const [dx, dy] of cases) {
      // moving(x + dx, y + dy) = fixed(x, y)  <=>  moving(q) = scene(q - d)
      const moving = renderScene(w, h, (x, y) => scene(x - dx, y - dy));
      addGainBiasNoise(moving, 0.7, 25, 5, 2 + dx);
      const r = correlator.correlate(fixed, moving);
      expect(Math.abs(r.dx - dx)).toBeLessThanOrEqual(TOL_LARGE_SHIFT_PX);
      expect(Math.abs(r.dy - dy)).toBeLessThanOrEqual(TOL_LARGE_SHIFT_PX);
      expect(r.peak).toBeGreaterThan(MIN_TRUE_PEAK);
      expect(r.peak).toBeLessThanOrEqual(1);
    }
  });

  it('is sub-pixel accurate on a working-size image (no resampling)', () => {
    const n = 128;
    const scene = texture(3);
    const fixed = renderScene(n, n, scene);
    const out = { dx: 0, dy: 0, peak: 0 };
    const correlator = createPhaseCorrelator(n, n);
    for (const [dx, dy] of [
      [0.25, -0.5],
      [3.7, 1.1],
      [-12.45, 20.8],
    ] as const) {
      const moving = renderScene(n, n, (x, y) => scene(x - dx, y - dy));
      correlator.correlate(fixed, moving, out);
      expect(Math.abs(out.dx - dx)).toBeLessThanOrEqual(TOL_SUBPIXEL_PX);
      expect(Math.abs(out.dy - dy)).toBeLessThanOrEqual(TOL_SUBPIXEL_PX);
    }
  });

  it('a circular shift of the working grid gives the exact shift and a peak of 1', () => {
    const n = 64;
    const core = createCorrelationCore(n, n, false, false);
    const rng = createRng(5);
    const a = new Float64Array(n * n);
    for (let i = 0; i < a.length; i++) a[i] = rng() * 255;
    const b = new Float64Array(n * n);
    const [dx, dy] = [7, -13];
    for (let y = 0; y < n; y++) {
      for (let x = 0; x < n; x++) b[((y + dy + n) % n) * n + ((x + dx + n) % n)] = a[y * n + x]!;
    }
    const p = correlateArraysInto({ dx: 0, dy: 0, peak: 0 }, core, a, b);
    expect(Math.abs(p.dx - dx)).toBeLessThanOrEqual(1e-9);
    expect(Math.abs(p.dy - dy)).toBeLessThanOrEqual(1e-9);
    expect(Math.abs(p.peak - 1)).toBeLessThanOrEqual(1e-9);
  });

  it('unrelated images give a low peak', () => {
    for (const [w, h, seed] of [
      [320, 240, 1],
      [640, 480, 2],
    ] as const) {
      const r = phaseCorrelate(renderScene(w, h, texture(seed)), renderScene(w, h, texture(seed + 10)));
      expect(r.peak).toBeLessThan(MAX_UNRELATED_PEAK);
    }
  });

  it('property: swapping fixed and moving negates the shift', () => {
    const w = 200;
    const h = 150;
    const scene = texture(8);
    const a = renderScene(w, h, scene);
    const b = renderScene(w, h, (x, y) => scene(x - 17.5, y + 9.25));
    const ab = phaseCorrelate(a, b);
    const ba = phaseCorrelate(b, a);
    expect(Math.abs(ab.dx + ba.dx)).toBeLessThanOrEqual(2 * TOL_SUBPIXEL_PX);
    expect(Math.abs(ab.dy + ba.dy)).toBeLessThanOrEqual(2 * TOL_SUBPIXEL_PX);
  });

  it('rejects images that are too small or of the wrong size', () => {
    expect(() => createPhaseCorrelator(4, 100)).toThrow(InputError);
    const c = createPhaseCorrelator(64, 64);
    expect(() => c.correlate(createGrayImage(64, 64), createGrayImage(64, 32))).toThrow(/64x64/);
  });
});
