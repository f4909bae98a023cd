/**
 * A small seeded pseudo-random generator (mulberry32) for the video tests: the seed is in the test,
 * so a failure reproduces.
 */

import { mulberry32 } from './rng.js';
export { mulberry32 };

/** A uniform integer in [min, max] (both included). */
export function randomInt(rng: () => number, min: number, max: number): number {
  return min + Math.floor(rng() * (max - min + 1));
}
