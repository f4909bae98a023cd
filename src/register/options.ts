/**
 * Options of `register` / `createRegistrar` (register/register.ts), their defaults, and their validation
 * (done once, at the public edge, with the project's message shape from validate.ts).
 */
import { InputError, UsageError } from '../errors.js';
import type { GrayImage } from '../image/gray-image.js';
import type { Mat3 } from '../motion/mat3.js';
import { MODEL_NAMES, type ModelName } from '../motion/model-name.js';
import { expectInteger, expectMatrix3, expectNumber, expectOneOf } from '../validate.js';

/** How a registration finds a start far from the identity (see register/register.ts). */
export type RobustStart = 'auto' | 'none' | 'phase' | 'log-polar';

/** The robust-start choices. */
export const ROBUST_STARTS: readonly RobustStart[] = ['auto', 'none', 'phase', 'log-polar'];

/** Options of a registration of `moving` onto `fixed`. */
export interface RegisterOptions {
  /**
   * Motion model of W.
   * @default 'affine'
   */
  readonly model?: ModelName;
  /**
   * Pyramid levels: 'auto' (the coarsest level's short side is 40-80 px; 4 levels for 640x480) or 1..8.
   * @default 'auto'
   */
  readonly levels?: 'auto' | number;
  /**
   * Most ECC iterations per pyramid level (1..10000).
   * @default 50
   */
  readonly iterations?: number;
  /**
   * Convergence threshold in full-resolution pixels: a pyramid level stops when an update moves every
   * warped corner of the fixed image by less than this (epsilon / 2^l pixels of level l, at least
   * 0.01 px of that level). A criterion on the warp, not on the correlation coefficient: the last update
   * is always applied, so the estimate is typically well inside epsilon (0.05 gives median corner
   * errors of 0.002-0.01 px on the anchor cases).
   * @default 0.05 (pixels)
   */
  readonly epsilon?: number;
  /**
   * Taps of the Gaussian pre-filter applied to both images at every level, as OpenCV's gaussFiltSize:
   * 0 (or 1) = none, else an odd number 3..31 (5 = [1 4 6 4 1] / 16).
   * @default 5
   */
  readonly gaussianSize?: number;
  /** Mask of `fixed` (same size): pixels above 127 are used, the others ignored. @default null (all) */
  readonly templateMask?: GrayImage | null;
  /** Mask of `moving` (same size): warped positions on pixels of 127 or less are ignored. @default null (all) */
  readonly inputMask?: GrayImage | null;
  /**
   * Start warp (fixed -> moving pixel coordinates, 3x3 row-major). For models other than homography
   * its third row must be [0, 0, 1]; it is projected onto the model.
   * @default null (identity, with the robust starts of `robustStart`)
   */
  readonly init?: Mat3 | null;
  /**
   * Robust start for large motions:
   * 'auto': with no `init`, start from the identity; if that fails or its cc is below
   * `POOR_CC` (register.ts), also try a phase-correlation translation start and, for models with a
   * rotation, a log-polar (Fourier-Mellin) rotation + scale start, and keep the best cc. With an `init`,
   * start from it and fall back to phase correlation the same way.
   * 'none': only the identity or `init`. 'phase' / 'log-polar': start from that estimate only.
   * @default 'auto'
   */
  readonly robustStart?: RobustStart;
  /**
   * Video (`registerNext`, `registerOnReference`): leave out of the template what moves on its own. After
   * each registration, blocks of the template that the warped input does not match while the rest of the
   * frame does (a person or a car crossing the frame) are masked out and the pair is registered again
   * (register/moving-objects.ts). registerNext carries the mask to the next frame while the object is seen,
   * moved with the camera; registerOnReference finds it afresh on each call. Only for `moving` of the fixed
   * image's size, and
   * not with a templateMask (ignored then: the caller's mask stands). @default false
   */
  readonly movingObjects?: boolean;
}

/** Options with every default filled in. */
export interface ResolvedRegisterOptions {
  readonly model: ModelName;
  readonly levels: 'auto' | number;
  readonly iterations: number;
  readonly epsilon: number;
  readonly gaussianSize: number;
  readonly templateMask: GrayImage | null;
  readonly inputMask: GrayImage | null;
  readonly init: Mat3 | null;
  readonly robustStart: RobustStart;
  readonly movingObjects: boolean;
}

/** Defaults of every option. */
export const REGISTER_DEFAULTS: ResolvedRegisterOptions = Object.freeze({
  model: 'affine',
  levels: 'auto',
  iterations: 50,
  epsilon: 0.05,
  gaussianSize: 5,
  templateMask: null,
  inputMask: null,
  init: null,
  robustStart: 'auto',
  movingObjects: false,
});

function expectGrayImage(name: string, value: unknown): GrayImage {
  const v = value as GrayImage;
  if (
    typeof v !== 'object' ||
    v === null ||
    !(v.data instanceof Float32Array) ||
    !Number.isInteger(v.width) ||
    !Number.isInteger(v.height) ||
    v.data.length !== v.width * v.height
  ) {
    throw new InputError('E_BAD_OPTION', `Expected a GrayImage {width, height, data: Float32Array} for ${name}`);
  }
  return v;
}

/** Validates `options` and fills in the defaults. Throws UsageError / InputError on bad values. */
export function resolveRegisterOptions(options: RegisterOptions = {}): ResolvedRegisterOptions {
  const d = REGISTER_DEFAULTS;
  const model = options.model === undefined ? d.model : expectOneOf('model', options.model, MODEL_NAMES);
  const levels = options.levels === undefined || options.levels === 'auto' ? 'auto' : expectInteger('levels', options.levels, 1, 8);
  const iterations = options.iterations === undefined ? d.iterations : expectInteger('iterations', options.iterations, 1, 10000);
  const epsilon = options.epsilon === undefined ? d.epsilon : expectNumber('epsilon', options.epsilon, 0, 100);
  let gaussianSize = d.gaussianSize;
  if (options.gaussianSize !== undefined) {
    gaussianSize = expectInteger('gaussianSize', options.gaussianSize, 0, 31);
    if (gaussianSize > 1 && gaussianSize % 2 === 0) {
      throw new UsageError('E_BAD_OPTION', `Expected 0 or an odd integer 1..31 for gaussianSize but received ${gaussianSize}`);
    }
  }
  const templateMask = options.templateMask == null ? null : expectGrayImage('templateMask', options.templateMask);
  const inputMask = options.inputMask == null ? null : expectGrayImage('inputMask', options.inputMask);
  let init: Mat3 | null = null;
  if (options.init != null) {
    init = expectMatrix3('init', options.init);
    if (model !== 'homography' && (init[6] !== 0 || init[7] !== 0 || init[8] !== 1)) {
      throw new InputError('E_BAD_OPTION', `Expected third row [0,0,1] in init for model ${model} but received [${init[6]},${init[7]},${init[8]}]`);
    }
  }
  const robustStart = options.robustStart === undefined ? d.robustStart : expectOneOf('robustStart', options.robustStart, ROBUST_STARTS);
  if (options.movingObjects !== undefined && typeof options.movingObjects !== 'boolean') {
    throw new UsageError('E_BAD_OPTION', `Expected true or false for movingObjects but received ${JSON.stringify(options.movingObjects)}`);
  }
  const movingObjects = options.movingObjects === true;
  return { model, levels, iterations, epsilon, gaussianSize, templateMask, inputMask, init, robustStart, movingObjects };
}
