import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createGrayImage, type GrayImage } from '../../src/image/gray-image.js';
import { register } from '../../src/register/register.js';
import { decodeGray } from '../support/decode-gray.js';
import { readPgm } from '../support/pgm.js';
import { meanCornerError } from '../support/synthetic.js';

/** Real pairs: recovered to this mean corner error / per-axis shift (px), as the truths are good to ~1 px. */
const TOL_REAL_PX = 1;

const PAIRS = path.resolve(process.env.STEADY_SHARED ?? '../shared', 'data/real/pairs');

/** The pairs folder, or null with a printed reason when it is missing outside CI (an error with CI=true). */
function pairsDir(): string | null {
  if (existsSync(PAIRS)) return PAIRS;
  if (process.env.CI === 'true') throw new Error(`real test data missing: ${PAIRS} (set STEADY_SHARED)`);
  console.warn(`skipping real-pair registration tests: ${PAIRS} not found (set STEADY_SHARED)`);
  return null;
}

const dir = pairsDir();

function crop(img: GrayImage, x0: number, y0: number, w: number, h: number): GrayImage {
  const out = createGrayImage(w, h);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out.data[y * w + x] = img.data[(y0 + y) * img.width + x0 + x] as number;
  return out;
}

describe.skipIf(dir === null)('register: real pairs', () => {
  // Prokudin-Gorskii plates, stacked blue / green / red from the top. SOURCES.md lists the shift (dx, dy)
  // that moves each plate onto blue; with blue as fixed, W maps blue pixels to plate pixels, so W's
  // translation is minus that shift (moving(x + t) = fixed(x) with t = -shift).
  const plates = [
    { name: 'cathedral', g: [2, 5], r: [3, 12] },
    { name: 'monastery', g: [2, -3], r: [2, 3] },
  ];
  for (const p of plates) {
    it(`aligns the ${p.name} plates (translation) to the published shifts`, () => {
      const img = decodeGray(path.join(dir as string, 'prokudin_gorskii', `${p.name}_BGR_plates.jpg`));
      const third = Math.floor(img.height / 3);
      const mx = Math.round(0.1 * img.width);
      const my = Math.round(0.1 * third);
      const plate = (k: number) => crop(img, mx, k * third + my, img.width - 2 * mx, third - 2 * my);
      const blue = plate(0);
      for (const [k, shift] of [
        [1, p.g],
        [2, p.r],
      ] as const) {
        const r = register(blue, plate(k), { model: 'translation' });
        expect(r.ok).toBe(true);
        if (!r.ok) continue;
        expect(Math.abs((r.matrix[2] as number) + (shift[0] as number))).toBeLessThan(TOL_REAL_PX);
        expect(Math.abs((r.matrix[5] as number) + (shift[1] as number))).toBeLessThan(TOL_REAL_PX);
      }
    });
  }

  // Oxford boat: H1toKp maps img1 pixel coordinates to imgK's, so with img1 as fixed it is W (up to scale).
  for (const k of [2, 3]) {
    it(`registers Oxford boat img1 -> img${k} (homography) to the ground truth${k === 3 ? ' (39 degrees, scale 0.74: log-polar start)' : ''}`, () => {
      const boat = path.join(dir as string, 'oxford_boat');
      const img1 = readPgm(path.join(boat, 'img1.pgm'));
      const imgK = readPgm(path.join(boat, `img${k}.pgm`));
      const truth = Float64Array.from(readFileSync(path.join(boat, `H1to${k}p`), 'utf8').trim().split(/\s+/).map(Number));
      const r = register(img1, imgK, { model: 'homography' });
      expect(r.ok).toBe(true);
      if (!r.ok) return;
      expect(meanCornerError(r.matrix, truth, img1.width, img1.height)).toBeLessThan(TOL_REAL_PX);
      if (k === 3) expect(r.start).toBe('log-polar');
    });
  }
});
