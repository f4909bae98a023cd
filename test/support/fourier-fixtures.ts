/**
 * Test fixtures for the Fourier starts, the warp and the similarity metrics: a seeded PRNG, a textured
 * procedural image that can be sampled at any real coordinate (so a warped copy has exact ground truth,
 * with no interpolation of a discrete image), a reader for binary PGM files and the shared data folder.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createGrayImage, type GrayImage } from '../../src/image/gray-image.js';
import { type Mat3, transformPointInto } from '../../src/motion/mat3.js';
import { mulberry32 } from './rng.js';

/** Uniform numbers in [0, 1) from a 32-bit seed (mulberry32, test/support/rng.ts). */
export const createRng: (seed: number) => () => number = mulberry32;

/** Standard normal samples (Box-Muller) from a uniform generator. */
export function createGaussian(rng: () => number): () => number {
  return () => {
    const u = Math.max(rng(), 1e-12);
    const v = rng();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
}

/** Integer lattice hash in [0, 1) for value noise; deterministic in (ix, iy, seed). */
function latticeValue(ix: number, iy: number, seed: number): number {
  let h = Math.imul(ix, 0x27d4eb2d) ^ Math.imul(iy, 0x165667b1) ^ Math.imul(seed, 0x9e3779b1);
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 4294967296;
}

/** Smooth (C2 quintic) interpolation of lattice values. */
function valueNoise(x: number, y: number, seed: number): number {
  const ix = Math.floor(x);
  const iy = Math.floor(y);
  const fx = x - ix;
  const fy = y - iy;
  const sx = fx * fx * fx * (fx * (fx * 6 - 15) + 10);
  const sy = fy * fy * fy * (fy * (fy * 6 - 15) + 10);
  const v00 = latticeValue(ix, iy, seed);
  const v10 = latticeValue(ix + 1, iy, seed);
  const v01 = latticeValue(ix, iy + 1, seed);
  const v11 = latticeValue(ix + 1, iy + 1, seed);
  const a = v00 + (v10 - v00) * sx;
  const b = v01 + (v11 - v01) * sx;
  return a + (b - a) * sy;
}

/**
 * A textured scene defined on the whole plane, gray levels about 20..235: four octaves of value noise
 * (periods 48, 24, 12 and 7 px) for texture at every scale. Smooth enough (finest period 7 px) that
 * sampling it at 1/1.45 of the pixel pitch does not alias badly.
 */
export function texture(seed: number): (x: number, y: number) => number {
  const periods = [48, 24, 12, 7];
  const amps = [0.4, 0.27, 0.2, 0.13];
  return (x, y) => {
    let v = 0;
    for (let o = 0; o < periods.length; o++) {
      const p = periods[o] as number;
      v += (amps[o] as number) * valueNoise(x / p + 17.3 * o, y / p - 9.1 * o, seed + o);
    }
    return 20 + 215 * v;
  };
}

/** Samples a scene at the pixel centres of a width x height image. */
export function renderScene(width: number, height: number, scene: (x: number, y: number) => number): GrayImage {
  const img = createGrayImage(width, height);
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) img.data[y * width + x] = scene(x, y);
  return img;
}

/**
 * Renders `moving` for a known W (fixed pixel coords -> moving pixel coords): moving(q) = scene(W^-1 q),
 * so that moving(W p) = scene(p) = fixed(p) exactly. `Winv` is W's inverse.
 */
export function renderWarped(width: number, height: number, scene: (x: number, y: number) => number, Winv: Mat3): GrayImage {
  const p = [0, 0];
  return renderScene(width, height, (x, y) => {
    transformPointInto(p, Winv, x, y);
    return scene(p[0] as number, p[1] as number);
  });
}

/** Applies gain, bias and seeded Gaussian noise (sigma in gray levels) in place. */
export function addGainBiasNoise(img: GrayImage, gain: number, bias: number, sigma: number, seed: number): GrayImage {
  const g = createGaussian(createRng(seed));
  for (let i = 0; i < img.data.length; i++) img.data[i] = gain * (img.data[i] as number) + bias + sigma * g();
  return img;
}

/** Similarity W = [s cos a, -s sin a, tx; s sin a, s cos a, ty; 0 0 1] about centre c (fixed -> moving). */
export function similarityAbout(angleRad: number, scale: number, cx: number, cy: number, tx: number, ty: number): Mat3 {
  const c = scale * Math.cos(angleRad);
  const s = scale * Math.sin(angleRad);
  // W p = A (p - c) + c + t
  return Float64Array.of(c, -s, cx - c * cx + s * cy + tx, s, c, cy - s * cx - c * cy + ty, 0, 0, 1);
}

/** Reads a binary PGM (P5, maxval <= 255, '#' comment lines allowed in the header) as a GrayImage. */
export function readPgm(path: string): GrayImage {
  const bytes = readFileSync(path);
  let pos = 0;
  const tokens: string[] = [];
  while (tokens.length < 4) {
    // skip whitespace and comments
    while (pos < bytes.length) {
      const c = bytes[pos] as number;
      if (c === 0x23) {
        while (pos < bytes.length && bytes[pos] !== 0x0a) pos++;
      } else if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09) {
        pos++;
      } else break;
    }
    let tok = '';
    while (pos < bytes.length) {
      const c = bytes[pos] as number;
      if (c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09 || c === 0x23) break;
      tok += String.fromCharCode(c);
      pos++;
    }
    tokens.push(tok);
  }
  pos++; // the single whitespace byte after maxval
  const [magic, w, h, maxval] = tokens;
  if (magic !== 'P5') throw new Error(`${path}: expected a P5 PGM, got ${magic}`);
  const width = Number(w);
  const height = Number(h);
  if (Number(maxval) > 255) throw new Error(`${path}: 16-bit PGM not supported`);
  const img = createGrayImage(width, height);
  for (let i = 0; i < width * height; i++) img.data[i] = bytes[pos + i] as number;
  return img;
}

/** Reads a 3x3 matrix written as three lines of three numbers (Oxford 'H1to3p' files). */
export function readMatrixText(path: string): Mat3 {
  const nums = readFileSync(path, 'utf8').trim().split(/\s+/).map(Number);
  if (nums.length !== 9 || nums.some((v) => !Number.isFinite(v))) throw new Error(`${path}: expected 9 numbers`);
  return Float64Array.from(nums);
}

/** The shared real-data folder: STEADY_SHARED or ../shared relative to the repository root. */
export function sharedDir(): string {
  return resolve(process.env.STEADY_SHARED ?? '../shared');
}

/**
 * The Oxford boat pair folder, or null (with a printed reason) when it is missing outside CI.
 * With CI=true a missing folder is an error, so the test fails instead of silently passing.
 */
export function oxfordBoatDir(): string | null {
  const dir = join(sharedDir(), 'data/real/pairs/oxford_boat');
  if (existsSync(join(dir, 'img1.pgm'))) return dir;
  if (process.env.CI === 'true') throw new Error(`real test data missing: ${dir} (set STEADY_SHARED)`);
  console.warn(`skipping real-image checks: ${dir} not found (set STEADY_SHARED)`);
  return null;
}
