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

/**
 * A plane of `w * h` seeded random samples at byte `offset` of a larger buffer (as decoders hand them out:
 * views that need not be aligned), with a few bytes after it that a kernel must not read as samples.
 */
export function planeAt(w: number, h: number, offset: number, seed: number): Uint8Array {
  const rng = mulberry32(seed);
  const buffer = new Uint8Array(offset + w * h + 5);
  for (let i = 0; i < buffer.length; i++) buffer[i] = randomInt(rng, 0, 255);
  return buffer.subarray(offset, offset + w * h);
}
