/**
 * Registration of `moving` onto `fixed`: pyramid ECC (register/ecc-pyramid.ts) with robust starts for
 * large motions, masks, and images of different sizes.
 *
 * Conventions: the result's W maps pixel coordinates of `fixed` to pixel coordinates of `moving` (OpenCV
 * findTransformECC's warp; pixel centres at integers), always in each image's own, original pixel grid.
 *
 * Images of different sizes: `moving` (wm x hm) is first resampled to fixed's size (wf x hf) by
 * image/resize.ts (area when shrinking, bilinear when enlarging, pixel-centre correct), which maps
 * moving pixel coordinates by R: x_r = (x_m + 0.5) wf / wm - 0.5 (and likewise in y). ECC finds W_r from
 * fixed to the resampled moving; the result is W = R^-1 W_r. The motion model constrains W_r (in fixed's
 * grid); with anisotropic resampling (wf / wm != hf / hm) a euclidean or similarity W_r gives a W with
 * unequal axis scales. A seed given in original coordinates is carried in by W_r = R W.
 *
 * Robust starts ('auto', the default): ECC converges only inside a basin around the truth (a few
 * coarsest-level pixels of shift, some degrees of rotation). Without a seed it first runs from the
 * identity; if that fails, ends with cc below POOR_CC, or its cc fell by more than SUSPECT_CC_FALL from
 * the coarsest to the finest level, it also runs from a phase-correlation translation
 * (register/phase-correlation.ts) and, for models with a rotation, from a log-polar rotation + scale
 * estimate, and keeps the result with the best cc (a later start must beat an earlier one by
 * START_CC_MARGIN). With a seed, the seeded run comes first and the same fallbacks follow when it fails
 * or is poor. The starts are computed on the pyramid's pre-filtered images.
 *
 * Video: `Registrar.registerNext(moving)` registers each frame onto the previous one, reusing the
 * previous frame's pyramid (one pyramid per frame instead of two).
 *
 * Reference: G. D. Evangelidis and E. Z. Psarakis, IEEE TPAMI 30(10), 2008.
 */
import { InputError } from '../errors.js';
import { createGrayImage, type GrayImage } from '../image/gray-image.js';
import { levelSide } from '../image/pyramid.js';
import { createResizer, type Resizer, resizeMatrixInto } from '../image/resize.js';
import { invertInto, type Mat3, multiplyInto, normalizeInto, rescaleInto } from '../motion/mat3.js';
import { getMotionModel } from '../motion/models.js';
import type { ModelName } from '../motion/model-name.js';
import type { MotionModel } from '../motion/motion-model.js';
import { createEccPyramid, type EccPyramid } from './ecc-pyramid.js';
import { createObjectFinder, OBJECT_BLOCK_PX, objectBlocksInto, type ObjectFinder, objectMaskInto } from './moving-objects.js';
import { type RegisterOptions, type ResolvedRegisterOptions, resolveRegisterOptions } from './options.js';
import { createLogPolarEstimator, type LogPolarEstimator } from './log-polar.js';
import { createPhaseCorrelator, MIN_PHASE_SIDE_PX, type PhaseCorrelation, type PhaseCorrelator } from './phase-correlation.js';
import type { RegisterResult, StartKind } from './result.js';

/**
 * A correlation coefficient below which a converged registration is suspected to sit in a wrong basin,
 * so the robust starts are tried too. Correct alignments of textured images score well above it (the
 * synthetic anchor cases about 0.99, real pairs with viewpoint and lighting change 0.9..0.97), while
 * wrong local optima of natural images land far lower (0.2..0.7); the price of a false alarm is only
 * time, as the best cc is kept.
 */
export const POOR_CC = 0.8;

/**
 * A fall of cc from the coarsest to the finest level larger than this also marks a result as suspect.
 * A wrong basin decorrelates as finer detail is added (observed falls of 0.05..0.25 on the anchor
 * cases where ECC from the identity went astray), while correct alignments keep their cc (at most
 * 0.0012 on 280 anchor cases; 0.01..0.025 on the real boat and Prokudin-Gorskii pairs, whose fine
 * detail differs between the images).
 */
export const SUSPECT_CC_FALL = 0.04;

/**
 * The model with fewer parameters that runs first on the coarsest pyramid level(s), before the
 * requested model refines the same level. Perspective (and anisotropy, shear) are weakly observable on
 * a 40-80 px image: fitting them there from a far start lets ECC slide into degenerate warps that
 * correlate well on a shrunken, distorted overlap. On the anchor cases (3 seeds, 24 large motions per
 * model) this raised the successes from the identity start from 18 to 22 of 24 for homography and from
 * 23 to 24 for affine, for a few more iterations on the coarsest level; a translation-first euclidean
 * did worse, so the other models run as they are.
 */
export const COARSE_MODEL: Readonly<Partial<Record<ModelName, ModelName>>> = { homography: 'affine', affine: 'similarity' };
/** Levels, counted from the coarsest, where COARSE_MODEL runs first (never the finest). */
export const COARSE_MODEL_LEVELS = 1;

/** Smallest side (px) steady registers. */
export const MIN_REGISTER_SIDE_PX = 8;

/**
 * Frames a moving object's mask is kept once the object is no longer seen (it can move with the camera for
 * a frame or two, and is then back; the mask covers a block more than the object on every side).
 */
export const OBJECT_HOLD_FRAMES = 3;

/** Phase correlation runs at the coarsest pyramid level whose short side is still at least this. */
const PHASE_LEVEL_MIN_SIDE_PX = 256;

/** A registrar for one fixed-image size: every buffer made once, reused for each pair. */
export interface Registrar {
  /** Size of the fixed images it accepts. */
  readonly width: number;
  readonly height: number;
  /** The options, defaults filled in. */
  readonly options: ResolvedRegisterOptions;
  /**
   * Registers `moving` onto `fixed` (width x height; `moving` may have another size). `seed` replaces
   * options.init for this call when given (null = none). `robust` false leaves out robustStart 'auto''s
   * further starts for this call (the seed or identity start only). @default true
   */
  register(fixed: GrayImage, moving: GrayImage, seed?: Mat3 | null, robust?: boolean): RegisterResult;
  /**
   * Registers `moving` onto the moving image of the previous call (for a video: frame k onto frame
   * k - 1), reusing that image's pyramid instead of building it again; otherwise as `register`. The
   * previous image is not read again (its pyramid is held), so its buffer may have been reused.
   * @throws RangeError when no image was registered before.
   */
  registerNext(moving: GrayImage, seed?: Mat3 | null): RegisterResult;
  /**
   * Registers `moving` onto a reference `fixed` (for a video: frame k onto a tripod's or a keyframe's
   * reference frame), otherwise as `register`. With options.movingObjects, what moves on its own is left out
   * as registerNext leaves it out (measured under the first registration, masked, registered again), but
   * found afresh on each call and never carried: against a reference some way back, what differs from it
   * grows as the view changes (parallax, new content), and a carried mask grows with it (the NUS walk in
   * 'first' mode: from 3 % of the blocks to over 70 % within its first 84 frames, and 4 more of them refused).
   * Found afresh, an object is at most half the frame (moving-objects.ts).
   * @default robust true
   */
  registerOnReference(fixed: GrayImage, moving: GrayImage, seed?: Mat3 | null, robust?: boolean): RegisterResult;
  /** Registrations by registerNext and registerOnReference that left a moving object out (options.movingObjects): with a carried object's masks, or registered again without one found. */
  readonly objectFrames: number;
}

function checkImage(name: string, img: GrayImage): void {
  if (
    typeof img !== 'object' ||
    img === null ||
    !(img.data instanceof Float32Array) ||
    img.data.length !== img.width * img.height ||
    !(img.width >= MIN_REGISTER_SIDE_PX && img.height >= MIN_REGISTER_SIDE_PX)
  ) {
    const size = typeof img === 'object' && img !== null ? `${img.width}x${img.height}` : String(img);
    throw new InputError(
      'E_IMAGE_SIZE',
      `Expected ${name} as a GrayImage of at least ${MIN_REGISTER_SIDE_PX}x${MIN_REGISTER_SIDE_PX} pixels with width * height samples but received ${size}`,
    );
  }
}

function maskBytesInto(out: Uint8Array, mask: GrayImage): Uint8Array {
  const d = mask.data;
  for (let i = 0; i < d.length; i++) out[i] = (d[i] as number) > 127 ? 1 : 0;
  return out;
}

/**
 * How much higher a later start's cc must be to replace an earlier result: two different warps whose cc
 * differ by less are equally plausible, and the earlier start (the seed or the identity: temporal
 * continuity in a video) is kept.
 */
export const START_CC_MARGIN = 0.005;

/**
 * A coarse pyramid level ending below this cc ends an attempt early when another start will follow:
 * correct alignments of coarse, blurred levels score far higher, and a start that bad is not rescued
 * by the finer levels.
 */
export const ABORT_CC = 0.5;

/** cc of the coarsest level that reported one (NaN when none did). */
function coarsestCc(r: RegisterResult): number {
  for (const l of r.levels) if (!Number.isNaN(l.cc)) return l.cc;
  return Number.NaN;
}

function better(a: RegisterResult | null, b: RegisterResult): boolean {
  if (a === null) return true;
  if (b.ok !== a.ok) return b.ok;
  if (Number.isNaN(a.cc)) return !Number.isNaN(b.cc);
  return b.cc > a.cc + START_CC_MARGIN;
}

/** Makes a registrar for fixed images of width x height. Validates the options once. */
export function createRegistrar(width: number, height: number, options: RegisterOptions = {}): Registrar {
  const opts = resolveRegisterOptions(options);
  if (!(Number.isInteger(width) && Number.isInteger(height) && width >= MIN_REGISTER_SIDE_PX && height >= MIN_REGISTER_SIDE_PX)) {
    throw new InputError('E_IMAGE_SIZE', `Expected a size of at least ${MIN_REGISTER_SIDE_PX}x${MIN_REGISTER_SIDE_PX} pixels but received ${width}x${height}`);
  }
  const model: MotionModel = getMotionModel(opts.model);
  const ep: EccPyramid = createEccPyramid(width, height, {
    model,
    levels: opts.levels,
    iterations: opts.iterations,
    epsilonPx: opts.epsilon,
    gaussianSize: opts.gaussianSize,
    coarseModel: COARSE_MODEL[model.name] === undefined ? null : getMotionModel(COARSE_MODEL[model.name] as ModelName),
    coarseModelLevels: COARSE_MODEL_LEVELS,
  });
  let templateMask: Uint8Array | null = null;
  if (opts.templateMask !== null) {
    if (opts.templateMask.width !== width || opts.templateMask.height !== height) {
      throw new InputError(
        'E_MASK_SIZE',
        `Expected templateMask of ${width}x${height} pixels (the fixed image's size) but received ${opts.templateMask.width}x${opts.templateMask.height}`,
      );
    }
    templateMask = maskBytesInto(new Uint8Array(width * height), opts.templateMask);
  }
  // Resampling of moving (and its mask) to fixed's size, made for the last moving size seen.
  let resizer: Resizer | null = null;
  let resized: GrayImage | null = null;
  let resizedMask: GrayImage | null = null;
  let inputMaskBytes: Uint8Array | null = null;
  let inputMaskKey = '';
  const rMat = new Float64Array(9);
  const rInv = new Float64Array(9);
  const seedIn = new Float64Array(9);
  const params = new Float64Array(model.paramCount);
  // Phase correlation at a pyramid level (made on first use).
  let phaseLevel = 0;
  while (phaseLevel + 1 < ep.levelCount && Math.min(levelSide(width, phaseLevel + 1), levelSide(height, phaseLevel + 1)) >= PHASE_LEVEL_MIN_SIDE_PX) phaseLevel++;
  let correlator: PhaseCorrelator | null = null;
  const phase: PhaseCorrelation = { dx: 0, dy: 0, peak: 0 };
  const start = new Float64Array(9);
  let logPolar: LogPolarEstimator | null = null;

  function inputMaskBytesFor(moving: GrayImage): Uint8Array | null {
    const m = opts.inputMask;
    if (m === null) return null;
    if (m.width !== moving.width || m.height !== moving.height) {
      throw new InputError(
        'E_MASK_SIZE',
        `Expected inputMask of ${moving.width}x${moving.height} pixels (the moving image's size) but received ${m.width}x${m.height}`,
      );
    }
    const key = `${moving.width}x${moving.height}`;
    if (inputMaskBytes === null || inputMaskKey !== key) {
      inputMaskBytes = new Uint8Array(width * height);
      resizedMask ??= createGrayImage(width, height);
      const src = moving.width === width && moving.height === height ? m : (resizer as Resizer).resizeInto(resizedMask, m);
      maskBytesInto(inputMaskBytes, src);
      inputMaskKey = key;
    }
    return inputMaskBytes;
  }

  /** Projects a full-resolution warp onto the model (homography: normalised). */
  function projectInto(out: Mat3, m: Mat3): Mat3 {
    normalizeInto(out, m);
    model.fromMatrixInto(params, out);
    return model.toMatrixInto(out, params);
  }

  // The robust starts read the pre-filtered pyramid images ECC reads (owned buffers, so that
  // registerNext works after the caller reused its buffers); the common blur does not move a peak.
  function phaseStart(): boolean {
    const f = ep.fixedAt(phaseLevel);
    const m = ep.movingAt(phaseLevel);
    if (Math.min(f.width, f.height) < MIN_PHASE_SIDE_PX) return false;
    correlator ??= createPhaseCorrelator(f.width, f.height);
    correlator.correlate(f, m, phase);
    if (!Number.isFinite(phase.dx) || !Number.isFinite(phase.dy)) return false;
    const k = 2 ** phaseLevel;
    start.set([1, 0, phase.dx * k, 0, 1, phase.dy * k, 0, 0, 1]);
    return true;
  }

  /** Fourier-Mellin similarity start from the full-resolution pair (moving already at fixed's size). */
  function logPolarStart(): boolean {
    logPolar ??= createLogPolarEstimator(width, height);
    const r = logPolar.estimate(ep.fixedAt(0), ep.movingAt(0));
    if (r === null) return false;
    start.set(r.matrix);
    for (let i = 0; i < 9; i++) if (!Number.isFinite(start[i] as number)) return false;
    return true;
  }

  /** Resamples `moving` to fixed's size when needed (R: moving -> resampled pixel coordinates). */
  function prepareMoving(moving: GrayImage): { movingIn: GrayImage; sameSize: boolean } {
    checkImage('moving', moving);
    const sameSize = moving.width === width && moving.height === height;
    if (sameSize) return { movingIn: moving, sameSize };
    if (resizer === null || resizer.srcWidth !== moving.width || resizer.srcHeight !== moving.height) {
      resizer = createResizer(moving.width, moving.height, width, height, 'auto');
    }
    resized ??= createGrayImage(width, height);
    resizeMatrixInto(rMat, moving.width, moving.height, width, height);
    invertInto(rInv, rMat);
    return { movingIn: resizer.resizeInto(resized, moving), sameSize };
  }

  /** The seed in the resampled grid, projected onto the model; null for none. */
  function seedFor(seed: Mat3 | null | undefined, sameSize: boolean): Mat3 | null {
    const init = seed === undefined ? opts.init : seed;
    if (init === null) return null;
    if (sameSize) seedIn.set(init);
    else multiplyInto(seedIn, rMat, init);
    return projectInto(seedIn, seedIn);
  }

  /** Runs the starts of options.robustStart on the pair set in `ep`; W back in original coordinates. */
  function solve(seedMat: Mat3 | null, sameSize: boolean, robust = true): RegisterResult {
    let best: RegisterResult | null = null;
    const attempt = (startMat: Mat3 | null, kind: StartKind, more: boolean): boolean => {
      const r = ep.run(startMat, kind, more ? ABORT_CC : Number.NEGATIVE_INFINITY);
      if (better(best, r)) best = r;
      return r.ok && r.cc >= POOR_CC && !(coarsestCc(r) - r.cc > SUSPECT_CC_FALL);
    };
    const rs = opts.robustStart;
    const rotates = model.name !== 'translation';
    if (rs === 'phase') {
      if (phaseStart()) attempt(projectInto(start, start), 'phase', false);
      else attempt(null, 'identity', false);
    } else if (rs === 'log-polar') {
      if (logPolarStart()) attempt(projectInto(start, start), 'log-polar', false);
      else attempt(null, 'identity', false);
    } else {
      const auto = rs === 'auto';
      let good = seedMat !== null ? attempt(seedMat, 'seed', auto) : attempt(null, 'identity', auto);
      if (!good && auto && robust && phaseStart()) good = attempt(projectInto(start, start), 'phase', rotates);
      if (!good && auto && robust && rotates && logPolarStart()) attempt(projectInto(start, start), 'log-polar', false);
    }
    const result = best as unknown as RegisterResult;
    if (!result.ok || sameSize) return result;
    const m = multiplyInto(new Float64Array(9), rInv, result.matrix);
    normalizeInto(m, m);
    return { ...result, matrix: m };
  }

  let hasPrevious = false;

  function checkFixed(fixed: GrayImage): void {
    checkImage('fixed', fixed);
    if (fixed.width !== width || fixed.height !== height) {
      throw new InputError('E_IMAGE_SIZE', `Expected fixed of ${width}x${height} pixels (the registrar's size) but received ${fixed.width}x${fixed.height}`);
    }
  }

  /** Gives the workspaces a new pair (nothing carried from the last one): the seed to start from, and whether `moving` is of the fixed image's size. */
  function setPair(fixed: GrayImage, moving: GrayImage, seed: Mat3 | null | undefined): { seedMat: Mat3 | null; sameSize: boolean } {
    checkFixed(fixed);
    const { movingIn, sameSize } = prepareMoving(moving);
    const seedMat = seedFor(seed, sameSize);
    ep.setFixed(fixed, templateMask);
    ep.setMoving(movingIn, inputMaskBytesFor(moving));
    hasPrevious = true;
    objectCarried = false;
    return { seedMat, sameSize };
  }

  function register(fixed: GrayImage, moving: GrayImage, seed?: Mat3 | null, robust = true): RegisterResult {
    const { seedMat, sameSize } = setPair(fixed, moving, seed);
    return solve(seedMat, sameSize, robust);
  }

  // Moving objects (options.movingObjects): measured on the finest level as ECC sees it when a pre-filter
  // blurs it, else on the next level (which the pyramid blurred); the masks made for every level from the
  // blocks (no erosion), carried to the next frames while the object is seen, moved with the camera.
  const objectLevel = opts.gaussianSize > 1 || ep.levelCount === 1 ? 0 : 1;
  const objects: ObjectFinder | null =
    opts.movingObjects && templateMask === null ? createObjectFinder(levelSide(width, objectLevel), levelSide(height, objectLevel)) : null;
  const blockCount = objects === null ? 0 : objects.blocks.cols * objects.blocks.rows;
  /** The carried object: its blocks as measured, and how far the camera took them since (level 0 px). */
  const carriedState = new Uint8Array(blockCount);
  let carriedDx = 0;
  let carriedDy = 0;
  /** The carried object's blocks where they are now (left out of the typical correlation). */
  const excluded = new Uint8Array(blockCount);
  /** The blocks of an object just found, while the pair is registered again without it. */
  const foundState = new Uint8Array(blockCount);
  const levelMasks = (): Uint8Array[] => Array.from({ length: ep.levelCount }, (_, l) => new Uint8Array(levelSide(width, l) * levelSide(height, l)));
  // Two sets of level masks: the one the ECC workspaces were last given is never written until replaced.
  let objectMasks: Uint8Array[] = objects === null ? [] : levelMasks();
  let spareMasks: Uint8Array[] = objects === null ? [] : levelMasks();
  const objectWarp = new Float64Array(9);
  const shift = new Float64Array(2);
  /** An object's masks are carried to the next registration. */
  let objectCarried = false;
  /** Frames the carried masks are still kept while no object is seen. */
  let objectHold = 0;
  let objectFrames = 0;

  /** The spare masks become the ones the workspaces were given last (and those the spare). */
  function swapMasks(): void {
    const t = objectMasks;
    objectMasks = spareMasks;
    spareMasks = t;
  }

  /** Where W (level 0) moves the frame's centre, into `shift`. */
  function centreShift(W: Mat3): void {
    const cx = (width - 1) / 2;
    const cy = (height - 1) / 2;
    const z = (W[6] as number) * cx + (W[7] as number) * cy + (W[8] as number);
    shift[0] = ((W[0] as number) * cx + (W[1] as number) * cy + (W[2] as number)) / z - cx;
    shift[1] = ((W[3] as number) * cx + (W[4] as number) * cy + (W[5] as number)) / z - cy;
  }

  /** Measures the blocks of the current pair under `W` (level 0 pixels); true when an object is seen. */
  function seesObject(W: Mat3, exclude: Uint8Array | null): boolean {
    rescaleInto(objectWarp, W, 0.5 ** objectLevel);
    return (objects as ObjectFinder).measure(ep.fixedAt(objectLevel), ep.movingAt(objectLevel), objectWarp, exclude).object;
  }

  /** Writes the level masks of block states `state` moved by (dx, dy) level-0 px. */
  function objectMasksInto(masks: Uint8Array[], state: Uint8Array, dx: number, dy: number): Uint8Array[] {
    const { cols, rows } = (objects as ObjectFinder).blocks;
    for (let l = 0; l < masks.length; l++) {
      const k = 0.5 ** l;
      objectMaskInto(masks[l] as Uint8Array, levelSide(width, l), levelSide(height, l), state, cols, rows, 2 ** (objectLevel - l), dx * k, dy * k);
    }
    return masks;
  }

  /** The carried object's blocks where the camera has taken them, into `excluded`. */
  function carriedBlocks(): Uint8Array {
    const { cols, rows } = (objects as ObjectFinder).blocks;
    const px = OBJECT_BLOCK_PX * 2 ** objectLevel;
    return objectBlocksInto(excluded, carriedState, cols, rows, carriedDx / px, carriedDy / px);
  }

  /** Whether mask `a` leaves out a pixel that mask `b` uses. */
  function leavesOutMore(a: Uint8Array, b: Uint8Array): boolean {
    for (let i = 0; i < a.length; i++) if (a[i] === 0 && b[i] !== 0) return true;
    return false;
  }

  /** Carries the object just measured (blocks in the template's coordinates) on to the next frame, after `W`. */
  function carryMeasured(W: Mat3): void {
    carriedState.set((objects as ObjectFinder).blocks.state);
    centreShift(W);
    carriedDx = shift[0] as number;
    carriedDy = shift[1] as number;
    objectHold = OBJECT_HOLD_FRAMES;
    objectCarried = true;
  }

  /**
   * The registration of the current pair with what moves on its own left out (file comment of
   * moving-objects.ts). `carried`: an object was carried to this pair; `masked`: `r` was registered with its
   * masks (else with none). The blocks are measured under r's warp (a carried object's blocks left out of
   * the typical correlation, so that it is still seen once it fills most of the frame). When they show an
   * object that the masks used do not already leave out, the pair is registered again from the same seed
   * with it masked out. The object seen is carried on to the next frame; when none is seen, or the masked
   * registration fails, a carried one is kept OBJECT_HOLD_FRAMES frames (moved with the camera), then dropped.
   */
  function withoutObjects(r: RegisterResult, seedMat: Mat3 | null, carried: boolean, masked: boolean): RegisterResult {
    if (!r.ok) {
      objectCarried = false;
      return r;
    }
    if (!seesObject(r.matrix, carried ? carriedBlocks() : null)) return holdCarried(r, carried, masked);
    const { cols, rows, state } = (objects as ObjectFinder).blocks;
    objectMasksInto(spareMasks, state, 0, 0);
    if (masked && !leavesOutMore(spareMasks[0] as Uint8Array, objectMasks[0] as Uint8Array)) {
      carryMeasured(r.matrix);
      objectFrames++;
      return r;
    }
    // The workspaces take the spare masks; the others become the spare.
    ep.setFixedLevelMasks(spareMasks);
    swapMasks();
    foundState.set(state);
    const again = solve(seedMat, true, false);
    // Masked out, too little is left to register: r stands, and the object found is not carried.
    if (!again.ok) return holdCarried(r, carried, masked);
    // Measured again under the better warp, the object found left out of the typical correlation.
    if (!seesObject(again.matrix, objectBlocksInto(excluded, foundState, cols, rows, 0, 0))) state.set(foundState);
    carryMeasured(again.matrix);
    objectFrames++;
    return again;
  }

  /**
   * No object (or none that can be masked) in this pair, registered as `r`: a carried object is kept
   * OBJECT_HOLD_FRAMES frames more (it can move with the camera for a frame or two), moved by r's motion.
   */
  function holdCarried(r: RegisterResult, carried: boolean, masked: boolean): RegisterResult {
    objectCarried = carried && objectHold-- > 0;
    if (objectCarried && r.ok) {
      centreShift(r.matrix);
      carriedDx += shift[0] as number;
      carriedDy += shift[1] as number;
    }
    if (masked) objectFrames++;
    return r;
  }

  function registerNext(moving: GrayImage, seed?: Mat3 | null): RegisterResult {
    if (!hasPrevious) throw new RangeError('registerNext needs a previous register or registerNext call');
    const { movingIn, sameSize } = prepareMoving(moving);
    const seedMat = seedFor(seed, sameSize);
    const carried = objects !== null && objectCarried && sameSize;
    if (carried) {
      // Written into the spare masks: the workspaces may still hold the others until the template is set.
      ep.adoptMovingAsFixed(null, objectMasksInto(spareMasks, carriedState, carriedDx, carriedDy));
      swapMasks();
    } else ep.adoptMovingAsFixed(templateMask);
    ep.setMoving(movingIn, inputMaskBytesFor(moving));
    let r = solve(seedMat, sameSize);
    let masked = carried;
    if (carried && !r.ok) {
      // The object's masks left too little: the whole template again.
      ep.setFixedMask(templateMask);
      r = solve(seedMat, sameSize);
      masked = false;
    }
    if (objects === null) return r;
    if (!sameSize) {
      objectCarried = false;
      return r;
    }
    return withoutObjects(r, seedMat, carried, masked);
  }

  function registerOnReference(fixed: GrayImage, moving: GrayImage, seed?: Mat3 | null, robust = true): RegisterResult {
    const { seedMat, sameSize } = setPair(fixed, moving, seed);
    const r = solve(seedMat, sameSize, robust);
    if (objects === null || !sameSize || !r.ok || !seesObject(r.matrix, null)) return r;
    ep.setFixedLevelMasks(objectMasksInto(spareMasks, objects.blocks.state, 0, 0));
    swapMasks();
    const again = solve(seedMat, true, false);
    // Masked out, too little is left to register: r stands.
    if (!again.ok) return r;
    objectFrames++;
    return again;
  }

  return {
    width,
    height,
    options: opts,
    register,
    registerNext,
    registerOnReference,
    get objectFrames() {
      return objectFrames;
    },
  };
}

/**
 * The registrar of the last one-shot `register` call without masks, kept for the next call of the same
 * size and options: its buffers (pyramids, gradients, ECC workspaces: about 12 MB at 640x480) are then
 * reused instead of being allocated and zero-filled again, which costs 10-25 % of a 640x480
 * registration. One entry only, so a program alternating sizes pays as before and holds at most one.
 */
let lastRegistrar: { key: string; registrar: Registrar } | null = null;

/** The cache key of a one-shot call, or null when it must not be cached (masks are per call). */
function registrarKey(width: number, height: number, o: ResolvedRegisterOptions): string | null {
  if (o.templateMask !== null || o.inputMask !== null) return null;
  return `${width}x${height}|${o.model}|${o.levels}|${o.iterations}|${o.epsilon}|${o.gaussianSize}|${o.robustStart}`;
}

/**
 * Registers `moving` onto `fixed` in one call: W maps pixel coordinates of `fixed` to pixel coordinates
 * of `moving` (see the file comment). The workspace of the previous call is reused when the size and
 * options are the same (masks excepted); for many pairs, a `createRegistrar` states that intent.
 */
export function register(fixed: GrayImage, moving: GrayImage, options: RegisterOptions = {}): RegisterResult {
  checkImage('fixed', fixed);
  const opts = resolveRegisterOptions(options);
  const key = registrarKey(fixed.width, fixed.height, opts);
  if (key === null) return createRegistrar(fixed.width, fixed.height, options).register(fixed, moving);
  if (lastRegistrar === null || lastRegistrar.key !== key) {
    lastRegistrar = null; // the old buffers can go before the new ones are made
    lastRegistrar = { key, registrar: createRegistrar(fixed.width, fixed.height, { ...options, init: null }) };
  }
  return lastRegistrar.registrar.register(fixed, moving, opts.init);
}

/** Drops the workspace `register` keeps between calls (its memory is then free to be collected). */
export function releaseRegisterWorkspace(): void {
  lastRegistrar = null;
}
