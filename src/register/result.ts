/**
 * The result of a registration, as a value: a failure is not an exception.
 * `matrix` follows steady's convention (motion/mat3.ts): it maps pixel coordinates of `fixed` to
 * pixel coordinates of `moving`.
 */
import type { Mat3 } from '../motion/mat3.js';

/** Why a registration failed. */
export type FailureReason = 'diverged' | 'low-texture' | 'nan' | 'no-overlap' | 'not-converged';

/** What happened at one pyramid level (coarsest first). */
export interface LevelReport {
  readonly width: number;
  readonly height: number;
  /** ECC iterations (warps of the input) at this level, a coarse-model stage included. */
  readonly iterations: number;
  /** Correlation coefficient reached at this level (-1..1). */
  readonly cc: number;
}

export interface RegisterSuccess {
  readonly ok: true;
  /** 3x3 row-major; for non-homography models the third row is [0, 0, 1]. */
  readonly matrix: Mat3;
  /** Final enhanced correlation coefficient at the finest level (-1..1). */
  readonly cc: number;
  /** Iterations over all levels together. */
  readonly iterations: number;
  readonly levels: readonly LevelReport[];
  /** Which robust start was used, if any: 'seed' | 'identity' | 'phase' | 'log-polar'. */
  readonly start: StartKind;
}

export interface RegisterFailure {
  readonly ok: false;
  readonly reason: FailureReason;
  /** Best correlation coefficient seen (NaN when none could be computed). */
  readonly cc: number;
  readonly iterations: number;
  readonly levels: readonly LevelReport[];
}

export type StartKind = 'seed' | 'identity' | 'phase' | 'log-polar';

export type RegisterResult = RegisterSuccess | RegisterFailure;
