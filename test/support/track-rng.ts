/** Seeded random numbers for the track and metrics tests (mulberry32: small, fast, reproducible). */

import { mulberry32 } from './rng.js';

/** Uniform numbers in [0, 1) from a 32-bit seed (mulberry32, test/support/rng.ts). */
export const createRng: (seed: number) => () => number = mulberry32;

/** Uniform in [lo, hi). */
export function uniform(rng: () => number, lo: number, hi: number): number {
  return lo + (hi - lo) * rng();
}

/** Standard normal (Box-Muller). */
export function gaussian(rng: () => number): number {
  const u = Math.max(rng(), 1e-12);
  const v = rng();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}
