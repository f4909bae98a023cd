/**
 * One interface for the camera-path smoothers: push raw path samples (x, y, angle, ln scale; trajectory.ts)
 * in frame order, pull smoothed samples in the same order once their look-ahead has arrived, finish() at
 * the end of the clip to release the rest.
 *
 *   gaussian  (smoother-gaussian.ts)  Gaussian-weighted local linear fit over [k - radius, k + look-ahead];
 *                                     look-ahead = radius by default (latency radius frames).
 *   causal    (smoother-causal.ts)    Brown's double exponential smoothing: zero look-ahead, for live use.
 *   two-pass  (smoother-two-pass.ts)  The whole clip: a path optimised over every frame (a quadratic
 *                                     high-frequency energy, optionally under the crop-window constraint);
 *                                     every sample comes out after finish().
 */
import type { SmootherName } from './options.js';
import { CausalSmoother } from './smoother-causal.js';
import { GaussianSmoother } from './smoother-gaussian.js';
import { TwoPassSmoother } from './smoother-two-pass.js';

/** A camera-path smoother (see the file comment). */
export interface PathSmoother {
  /** Which smoother this is. */
  readonly kind: SmootherName;
  /**
   * Frames between pushing sample k and pulling smoothed sample k: pull() returns sample k once sample
   * k + lookahead has been pushed (or after finish()). Infinity: nothing comes out before finish().
   */
  readonly lookahead: number;
  /** Appends the raw path sample of the next frame. */
  push(x: number, y: number, angleRad: number, logScale: number): void;
  /**
   * Writes the smoothed sample of the next frame into out[o .. o + 3] and returns its frame index, or
   * returns -1 (out untouched) when its look-ahead is not complete yet.
   */
  pull(out: Float64Array, o?: number): number;
  /** No more samples: the frames held back for their look-ahead can be pulled. */
  finish(): void;
  /** A new radius, frames, from the next frame pulled on (live control). */
  setRadius(radius: number): void;
}

/** What createSmoother needs. */
export interface SmootherOptions {
  /** Smoothing radius, frames (>= 0). */
  readonly radius: number;
  /**
   * gaussian only: most frames of look-ahead (the window is [k - radius, k + min(radius, lookahead)]).
   * @default radius
   */
  readonly lookahead?: number;
}

/** A smoother of the given kind. */
export function createSmoother(kind: SmootherName, options: SmootherOptions): PathSmoother {
  switch (kind) {
    case 'gaussian':
      return new GaussianSmoother(options.radius, options.lookahead);
    case 'causal':
      return new CausalSmoother(options.radius);
    case 'two-pass':
      return new TwoPassSmoother(options.radius);
  }
}
