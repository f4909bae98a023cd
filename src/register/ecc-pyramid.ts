/**
 * Coarse-to-fine ECC: registers `moving` onto `fixed` over a Gaussian pyramid (image/pyramid.ts), from
 * the coarsest level to full resolution, each level started from the previous level's warp.
 *
 * Conventions: W maps pixel coordinates of `fixed` to pixel coordinates of `moving` (motion/mat3.ts).
 * Coarse pixel i is fine pixel 2i, so a warp moves one level finer by S W S^-1 with S = diag(2, 2, 1)
 * (rescaleInto), for every model, homography included; the seed `init` is carried down to the coarsest
 * level by the inverse. Each level pre-filters both images with a Gaussian of `gaussianSize` taps (as
 * OpenCV's findTransformECC does with gaussFiltSize; size 5 reuses the pyramid's own blur), then runs
 * one level of inverse-compositional ECC (register/ecc.ts).
 *
 * A coarse level whose template is too flat or too small (low texture, tiny mask) is skipped: the
 * next finer level starts from the same warp. Any other failure ends the registration with its reason.
 * Optionally a model with fewer parameters runs first on the coarsest levels (settings.coarseModel).
 *
 * Reference: G. D. Evangelidis and E. Z. Psarakis, IEEE TPAMI 30(10), 2008; OpenCV findTransformECC used
 * per level over a pyrDown pyramid.
 */
import { blurInto, blurScratchSize, gaussianKernel } from '../image/blur.js';
import { createGrayImage, type GrayImage } from '../image/gray-image.js';
import { buildPyramidInto, createPyramid, downsampleMaskInto, levelSide, type Pyramid, pyramidLevelCount } from '../image/pyramid.js';
import { type Mat3, rescaleInto } from '../motion/mat3.js';
import type { MotionModel } from '../motion/motion-model.js';
import { createEccWorkspace, type EccWorkspace } from './ecc.js';
import type { FailureReason, LevelReport, RegisterResult, StartKind } from './result.js';

/**
 * Smallest per-level stop (pixels of that level): below it the updates of a coarse level are at its
 * noise level, and a stricter stop only spends iterations that the next level redoes anyway.
 */
export const MIN_LEVEL_EPSILON_PX = 0.01;

/** Settings of the coarse-to-fine driver (validated by the caller). */
export interface EccPyramidSettings {
  readonly model: MotionModel;
  /** Number of levels, or 'auto' (coarsest short side 40-80 px; image/pyramid.ts pyramidLevelCount). */
  readonly levels: number | 'auto';
  /** Most iterations per level. */
  readonly iterations: number;
  /**
   * A level stops when an update moves every warped corner by less than this many pixels of that level:
   * at full resolution the final accuracy; on a coarse level the warp only has to come well inside the
   * next level's reach, which refines it anyway (not below MIN_LEVEL_EPSILON_PX there).
   */
  readonly epsilonPx: number;
  /** Gaussian pre-filter taps per level (odd; 0 or 1 = none). */
  readonly gaussianSize: number;
  /**
   * A model with fewer parameters run first on the coarsest levels (its updates W <- W D^-1 keep the
   * warp's extra freedom fixed), before `model` refines the same level (register.ts COARSE_MODEL).
   * @default null (none)
   */
  readonly coarseModel?: MotionModel | null;
  /**
   * How many levels, from the coarsest, run `coarseModel` first; never the finest level.
   * @default all but the finest
   */
  readonly coarseModelLevels?: number;
}

/** Pyramid ECC for one resolution: pyramids, masks and ECC workspaces made once, reused per pair. */
export interface EccPyramid {
  readonly width: number;
  readonly height: number;
  readonly levelCount: number;
  /** The fixed image's pyramid (levels[0] = the last fixed image given; blurred[l] are owned copies). */
  readonly fixedPyramid: Pyramid;
  /** The moving image's pyramid (levels[0] = the last moving image given; blurred[l] are owned copies). */
  readonly movingPyramid: Pyramid;
  /**
   * Sets the fixed (template) image and its optional mask (nonzero = used; width * height bytes).
   * Builds its pyramid and every level's template data.
   */
  setFixed(fixed: GrayImage, mask: Uint8Array | null): void;
  /** Sets the moving (input) image and its optional mask (nonzero = used). Builds its pyramid. */
  setMoving(moving: GrayImage, mask: Uint8Array | null): void;
  /**
   * Makes the current moving image the fixed one, reusing its pyramid (video: frame k - 1 becomes the
   * template for frame k), with the fixed mask `mask`; the template data of every level is recomputed.
   * Needs a previous setMoving. Its levels[0] is no longer read afterwards (only owned buffers are).
   * `levelMasks`, when given, replaces `mask` by a mask per level (as setFixedLevelMasks).
   */
  adoptMovingAsFixed(mask: Uint8Array | null, levelMasks?: readonly Uint8Array[]): void;
  /**
   * Replaces the fixed image's mask (nonzero = used; width * height bytes, or null for none) and recomputes
   * the template data of every level from the pyramid already built (a second registration of the same pair
   * with part of the template left out).
   */
  setFixedMask(mask: Uint8Array | null): void;
  /**
   * As setFixedMask with a mask given for every level (levels[l] of that level's size), used as given: the
   * caller has left out what each level's pre-filter carries from the pixels it masks (no erosion here).
   */
  setFixedLevelMasks(masks: readonly Uint8Array[]): void;
  /** The fixed image as ECC sees it at level l (pre-filtered, an owned buffer; 0 = full size). */
  fixedAt(l: number): GrayImage;
  /** The moving image as ECC sees it at level l (pre-filtered, an owned buffer). */
  movingAt(l: number): GrayImage;
  /**
   * Registers the current pair from the full-resolution seed `init` (null = identity). With
   * `abortBelowCc`, a coarse level ending below that cc ends the run as 'diverged' (used when another
   * start will be tried anyway, so a hopeless start does not pay for the fine levels).
   */
  run(init: Mat3 | null, start: StartKind, abortBelowCc?: number): RegisterResult;
}

/** Exchanges the contents of two arrays of equal length. */
function swap<T>(a: T[], b: T[]): void {
  for (let i = 0; i < a.length; i++) {
    const t = a[i] as T;
    a[i] = b[i] as T;
    b[i] = t;
  }
}

/**
 * Square erosion of a mask (nonzero = used) by `radius` pixels into 0/1 (a radius of 0 copies it as it is): out = 1 where no zero of `src` lies
 * within `radius` pixels across and down. Separable, each direction in two sweeps that remember the nearest
 * zero: along each row, then down the columns a row at a time (`near`: per column, the nearest zero row seen;
 * w values).
 */
function erodeMaskInto(out: Uint8Array, src: Uint8Array, w: number, h: number, radius: number, tmp: Uint8Array, near: Float64Array): Uint8Array {
  if (radius <= 0) {
    out.set(src.subarray(0, w * h));
    return out;
  }
  for (let y = 0; y < h; y++) {
    const row = y * w;
    let last = Number.NEGATIVE_INFINITY;
    for (let x = 0; x < w; x++) {
      if (src[row + x] === 0) last = x;
      tmp[row + x] = x - last > radius ? 1 : 0;
    }
    let next = Number.POSITIVE_INFINITY;
    for (let x = w - 1; x >= 0; x--) {
      if (src[row + x] === 0) next = x;
      if (next - x <= radius) tmp[row + x] = 0;
    }
  }
  near.fill(Number.NEGATIVE_INFINITY, 0, w);
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      if (tmp[row + x] === 0) near[x] = y;
      out[row + x] = y - (near[x] as number) > radius ? 1 : 0;
    }
  }
  near.fill(Number.POSITIVE_INFINITY, 0, w);
  for (let y = h - 1; y >= 0; y--) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      if (tmp[row + x] === 0) near[x] = y;
      if ((near[x] as number) - y <= radius) out[row + x] = 0;
    }
  }
  return out;
}

/** Makes the pyramid ECC machinery for images of width x height. */
export function createEccPyramid(width: number, height: number, settings: EccPyramidSettings): EccPyramid {
  const levelCount = settings.levels === 'auto' ? pyramidLevelCount(width, height) : settings.levels;
  const fixedPyramid = createPyramid(width, height, levelCount);
  const movingPyramid = createPyramid(width, height, levelCount);
  const gsize = settings.gaussianSize;
  const usePyramidBlur = gsize === 5;
  const kernel = gsize > 1 && !usePyramidBlur ? gaussianKernel(gsize) : null;
  const blurRadius = gsize > 1 ? (gsize - 1) >> 1 : 0;
  const ownFixed: GrayImage[] = [];
  const ownMoving: GrayImage[] = [];
  const workspaces: EccWorkspace[] = [];
  const coarseModel = settings.coarseModel ?? null;
  const coarseFrom = coarseModel === null ? levelCount : Math.max(1, levelCount - (settings.coarseModelLevels ?? levelCount));
  const coarseWorkspaces: (EccWorkspace | null)[] = [];
  const sizes: { w: number; h: number }[] = [];
  for (let l = 0; l < levelCount; l++) {
    const w = levelSide(width, l);
    const h = levelSide(height, l);
    sizes.push({ w, h });
    workspaces.push(createEccWorkspace(w, h, settings.model));
    coarseWorkspaces.push(coarseModel !== null && l >= coarseFrom ? createEccWorkspace(w, h, coarseModel) : null);
    if (kernel !== null) {
      ownFixed.push(createGrayImage(w, h));
      ownMoving.push(createGrayImage(w, h));
    }
  }
  const blurScratch = new Float32Array(kernel === null ? 0 : blurScratchSize(width, height, kernel.length));
  // Masks per level: raw (downsampled) and eroded by the pre-filter's reach.
  let movingMasks: Uint8Array[] | null = null;
  let maskScratch: Uint8Array[] | null = null;
  let erodeScratch: Uint8Array | null = null;
  const erodeNear = new Float64Array(width);
  const templateStatus: (FailureReason | null)[] = new Array(levelCount).fill('low-texture');
  const warp = new Float64Array(9);

  function levelMasksInto(masks: Uint8Array[] | null, src: Uint8Array, erodeBy: number): Uint8Array[] {
    const out = masks ?? sizes.map(({ w, h }) => new Uint8Array(w * h));
    maskScratch ??= sizes.map(({ w, h }) => new Uint8Array(w * h));
    erodeScratch ??= new Uint8Array(width * height);
    const tmp = erodeScratch;
    // Level 0 from the caller's mask, then each level from the finer raw one.
    let raw = (maskScratch[0] as Uint8Array).subarray(0, width * height);
    raw.set(src.subarray(0, width * height));
    for (let l = 0; l < levelCount; l++) {
      const { w, h } = sizes[l] as { w: number; h: number };
      raw = maskScratch[l] as Uint8Array;
      erodeMaskInto(out[l] as Uint8Array, raw, w, h, erodeBy, tmp, erodeNear);
      if (l < levelCount - 1) downsampleMaskInto(maskScratch[l + 1] as Uint8Array, raw, w, h);
    }
    return out;
  }

  // Without a pre-filter ECC reads the pyramid's raw levels; level 0 is then copied, so that every
  // image ECC reads is owned (the caller may reuse its buffer before adoptMovingAsFixed).
  const rawCopy = kernel === null && !usePyramidBlur;
  const copyFixed0 = rawCopy ? createGrayImage(width, height) : null;
  const copyMoving0 = rawCopy ? createGrayImage(width, height) : null;
  let fixed0 = copyFixed0;
  let moving0 = copyMoving0;

  function prefiltered(pyr: Pyramid, own: GrayImage[], l: number): GrayImage {
    if (usePyramidBlur) return pyr.blurred[l] as GrayImage;
    if (kernel === null) return pyr.levels[l] as GrayImage;
    return blurInto(own[l] as GrayImage, pyr.levels[l] as GrayImage, kernel, blurScratch);
  }

  function setFixed(fixed: GrayImage, mask: Uint8Array | null): void {
    if (fixed0 !== null) {
      fixed0.data.set(fixed.data);
      fixed = fixed0;
    }
    buildPyramidInto(fixedPyramid, fixed, usePyramidBlur);
    if (kernel !== null) for (let l = 0; l < levelCount; l++) prefiltered(fixedPyramid, ownFixed, l);
    setFixedMask(mask);
  }

  let movingMaskSet = false;
  function setMoving(moving: GrayImage, mask: Uint8Array | null): void {
    if (moving0 !== null) {
      moving0.data.set(moving.data);
      moving = moving0;
    }
    buildPyramidInto(movingPyramid, moving, usePyramidBlur);
    if (kernel !== null) for (let l = 0; l < levelCount; l++) prefiltered(movingPyramid, ownMoving, l);
    movingMaskSet = mask !== null;
    if (mask !== null) movingMasks = levelMasksInto(movingMasks, mask, blurRadius);
  }

  function imageAt(pyr: Pyramid, own: GrayImage[], l: number): GrayImage {
    return usePyramidBlur ? (pyr.blurred[l] as GrayImage) : kernel === null ? (pyr.levels[l] as GrayImage) : (own[l] as GrayImage);
  }

  function run(init: Mat3 | null, start: StartKind, abortBelowCc = Number.NEGATIVE_INFINITY): RegisterResult {
    const reports: LevelReport[] = [];
    if (init === null) {
      warp.fill(0);
      warp[0] = 1;
      warp[4] = 1;
      warp[8] = 1;
    } else {
      rescaleInto(warp, init, 0.5 ** (levelCount - 1));
    }
    let total = 0;
    let lastCc = Number.NaN;
    let bestCc = Number.NaN;
    let finestDone = false;
    for (let l = levelCount - 1; l >= 0; l--) {
      const { w, h } = sizes[l] as { w: number; h: number };
      const tStatus = templateStatus[l];
      if (tStatus === null) {
        const image = imageAt(movingPyramid, ownMoving, l);
        const mask = movingMaskSet && movingMasks !== null ? (movingMasks[l] as Uint8Array) : null;
        const criteria = {
          maxIterations: settings.iterations,
          // Stricter coarse stops (epsilonPx full-resolution pixels on every level) buy nothing: on the
          // stabilizer's clips they took the two coarse levels from 1-2 iterations per frame to about 13
          // each, and the motions found agreed within 0.004 px at the 95th percentile.
          epsilonPx: l === 0 ? settings.epsilonPx : Math.max(settings.epsilonPx, MIN_LEVEL_EPSILON_PX),
        };
        const coarse = coarseWorkspaces[l] ?? null;
        // The fewer-parameter model first; its result only seeds this level's full model.
        const coarseIterations = coarse === null ? 0 : coarse.align(image, mask, warp, criteria, settings.model).iterations;
        const r = (workspaces[l] as EccWorkspace).align(image, mask, warp, criteria);
        total += coarseIterations + r.iterations;
        reports.push({ width: w, height: h, iterations: coarseIterations + r.iterations, cc: r.cc });
        if (!Number.isNaN(r.cc)) {
          lastCc = r.cc;
          if (!(r.cc <= bestCc)) bestCc = r.cc;
        }
        if (r.status !== 'converged' && r.status !== 'max-iterations') {
          // A flat warped input at a coarse level is survivable; anything else ends the run.
          if (!(r.status === 'low-texture' && l > 0)) {
            return { ok: false, reason: r.status, cc: bestCc, iterations: total, levels: reports };
          }
        } else if (l === 0) {
          finestDone = true;
        } else if (r.cc < abortBelowCc) {
          return { ok: false, reason: 'diverged', cc: bestCc, iterations: total, levels: reports };
        }
      } else {
        reports.push({ width: w, height: h, iterations: 0, cc: Number.NaN });
        if (l === 0) return { ok: false, reason: tStatus, cc: bestCc, iterations: total, levels: reports };
      }
      if (l > 0) rescaleInto(warp, warp, 2);
    }
    if (!finestDone) return { ok: false, reason: 'low-texture', cc: bestCc, iterations: total, levels: reports };
    return { ok: true, matrix: Float64Array.from(warp), cc: lastCc, iterations: total, levels: reports, start };
  }

  let movingSet = false;
  function adoptMovingAsFixed(mask: Uint8Array | null, levelMasks?: readonly Uint8Array[]): void {
    if (!movingSet) throw new RangeError('adoptMovingAsFixed needs a moving image first (setMoving)');
    // Swap the buffers: the moving pyramid (and pre-filtered copies) become the fixed ones.
    swap(fixedPyramid.levels, movingPyramid.levels);
    swap(fixedPyramid.blurred, movingPyramid.blurred);
    swap(ownFixed, ownMoving);
    const t0 = fixed0;
    fixed0 = moving0;
    moving0 = t0;
    if (levelMasks !== undefined) setFixedLevelMasks(checkedLevelMasks(levelMasks));
    else setFixedMask(mask);
    movingSet = false;
  }

  /** The fixed image's level masks made here from a caller's mask (never the arrays of setFixedLevelMasks). */
  let ownFixedMasks: Uint8Array[] | null = null;

  /** Prepares every level's template data of the current fixed pyramid with `mask`. */
  function setFixedMask(mask: Uint8Array | null): void {
    if (mask !== null) ownFixedMasks = levelMasksInto(ownFixedMasks, mask, blurRadius + 1);
    setFixedLevelMasks(mask === null ? null : ownFixedMasks);
  }

  function checkedLevelMasks(masks: readonly Uint8Array[]): Uint8Array[] {
    if (masks.length !== levelCount) throw new RangeError(`expected ${levelCount} level masks, received ${masks.length}`);
    for (let l = 0; l < levelCount; l++) {
      const { w, h } = sizes[l] as { w: number; h: number };
      const bytes = (masks[l] as Uint8Array).length;
      if (bytes < w * h) throw new RangeError(`level ${l} mask has ${bytes} bytes, expected ${w * h}`);
    }
    return masks as Uint8Array[];
  }

  /** Prepares every level's template data of the current fixed pyramid with the level masks `masks`. */
  function setFixedLevelMasks(masks: Uint8Array[] | null): void {
    for (let l = 0; l < levelCount; l++) {
      const t = imageAt(fixedPyramid, ownFixed, l);
      const mask = masks === null ? null : (masks[l] as Uint8Array);
      templateStatus[l] = (workspaces[l] as EccWorkspace).setTemplate(t, mask);
      coarseWorkspaces[l]?.setTemplate(t, mask);
    }
  }

  return {
    width,
    height,
    levelCount,
    fixedPyramid,
    movingPyramid,
    setFixed,
    setMoving(moving: GrayImage, mask: Uint8Array | null): void {
      setMoving(moving, mask);
      movingSet = true;
    },
    adoptMovingAsFixed,
    setFixedMask,
    setFixedLevelMasks: (masks: readonly Uint8Array[]) => setFixedLevelMasks(checkedLevelMasks(masks)),
    fixedAt: (l: number) => imageAt(fixedPyramid, ownFixed, l),
    movingAt: (l: number) => imageAt(movingPyramid, ownMoving, l),
    run,
  };
}
