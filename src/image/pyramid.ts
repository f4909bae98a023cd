/**
 * Gaussian pyramid: level l + 1 is level l blurred by [1 4 6 4 1] / 16 (separable, reflect-101 border)
 * keeping the even samples, so coarse pixel (i, j) sits exactly on fine pixel (2i, 2j) and a warp moves
 * between levels with S = diag(2, 2, 1) (motion/mat3.ts rescaleInto), homographies included.
 * A level of size w x h has a coarser level of size ceil(w / 2) x ceil(h / 2).
 * This is OpenCV's pyrDown sampling (Burt & Adelson, "The Laplacian Pyramid as a Compact Image Code",
 * IEEE Trans. Communications 1983).
 *
 * Buffers are made once per resolution (createPyramid) and refilled for every frame (buildPyramidInto).
 * The blurred copy of every level is kept: the ECC pre-filter of size 5 is this very blur.
 */
import { blurInto, blurScratchSize, gaussianKernel } from './blur.js';
import { createGrayImage, type GrayImage } from './gray-image.js';

/** The pyramid kernel, [1 4 6 4 1] / 16. */
export const PYRAMID_KERNEL: Float64Array = gaussianKernel(5);

/** Default smallest short side (pixels) of the coarsest level chosen by `pyramidLevelCount`. */
export const MIN_COARSE_SIDE_PX = 40;

/** Largest number of levels steady builds. */
export const MAX_PYRAMID_LEVELS = 8;

/** Size of one side at pyramid level `level` (0 = full size). */
export function levelSide(side: number, level: number): number {
  let s = side;
  for (let l = 0; l < level; l++) s = (s + 1) >> 1;
  return s;
}

/**
 * How many levels to build so that the coarsest level's short side is at least `minSidePx` and below
 * 2 * minSidePx (40-80 px by default; 640x480 gives 4 levels down to 80x60), at most 8, at least 1.
 */
export function pyramidLevelCount(width: number, height: number, minSidePx: number = MIN_COARSE_SIDE_PX): number {
  let levels = 1;
  while (levels < MAX_PYRAMID_LEVELS && Math.min(levelSide(width, levels), levelSide(height, levels)) >= minSidePx) levels++;
  return levels;
}

/** Buffers of a pyramid for one resolution. */
export interface Pyramid {
  readonly width: number;
  readonly height: number;
  /** levels[0] is the input image itself (not copied); levels[l] for l > 0 are owned buffers. */
  readonly levels: GrayImage[];
  /** blurred[l] = levels[l] blurred by the pyramid kernel (filled when `buildPyramidInto` is asked to). */
  readonly blurred: GrayImage[];
  /** Scratch for the separable blur (5 rows of the widest level). */
  readonly scratch: Float32Array;
}

/** Makes the buffers of a `levelCount`-level pyramid for images of width x height. */
export function createPyramid(width: number, height: number, levelCount: number): Pyramid {
  const levels: GrayImage[] = [];
  const blurred: GrayImage[] = [];
  for (let l = 0; l < levelCount; l++) {
    const w = levelSide(width, l);
    const h = levelSide(height, l);
    // Level 0 is the caller's image; until one is given it is an empty stand-in of the right size.
    levels.push(l === 0 ? { width: w, height: h, data: new Float32Array(0) } : createGrayImage(w, h));
    blurred.push(createGrayImage(w, h));
  }
  return { width, height, levels, blurred, scratch: new Float32Array(blurScratchSize(width, height, PYRAMID_KERNEL.length)) };
}

/**
 * Fills `pyr` from `image` (which must be pyr.width x pyr.height; it becomes levels[0], not copied).
 * With `blurAll`, blurred[l] holds every level blurred by the pyramid kernel, the coarsest included;
 * otherwise only the levels that feed a coarser one are blurred. Returns `pyr`.
 */
export function buildPyramidInto(pyr: Pyramid, image: GrayImage, blurAll = true): Pyramid {
  if (image.width !== pyr.width || image.height !== pyr.height) {
    throw new RangeError(`pyramid built for ${pyr.width}x${pyr.height}, got an image of ${image.width}x${image.height}`);
  }
  const n = pyr.levels.length;
  pyr.levels[0] = image;
  for (let l = 0; l < n; l++) {
    const src = pyr.levels[l] as GrayImage;
    const blurred = pyr.blurred[l] as GrayImage;
    if (l < n - 1 || blurAll) blurInto(blurred, src, PYRAMID_KERNEL, pyr.scratch);
    if (l < n - 1) decimateInto(pyr.levels[l + 1] as GrayImage, blurred);
  }
  return pyr;
}

/** out(i, j) = src(2i, 2j): keeps the even samples. `out` must be ceil(w/2) x ceil(h/2). Returns `out`. */
export function decimateInto(out: GrayImage, src: GrayImage): GrayImage {
  const { width: w } = src;
  const { width: ow, height: oh, data: o } = out;
  const s = src.data;
  for (let y = 0; y < oh; y++) {
    const sr = 2 * y * w;
    const or = y * ow;
    for (let x = 0; x < ow; x++) o[or + x] = s[sr + 2 * x] as number;
  }
  return out;
}

/**
 * Downsamples a 0/1 mask to the next pyramid level: a coarse pixel is used (1) only when the fine
 * pixel under it and its 8 neighbours are all used, so masked-out content never leaks in through the
 * pyramid blur's central weights. `out` is ceil(w/2) x ceil(h/2). Returns `out`.
 */
export function downsampleMaskInto(out: Uint8Array, src: Uint8Array, width: number, height: number): Uint8Array {
  const ow = (width + 1) >> 1;
  const oh = (height + 1) >> 1;
  for (let y = 0; y < oh; y++) {
    const fy = 2 * y;
    const r0 = Math.max(0, fy - 1) * width;
    const r1 = fy * width;
    const r2 = Math.min(height - 1, fy + 1) * width;
    for (let x = 0; x < ow; x++) {
      const fx = 2 * x;
      const x0 = Math.max(0, fx - 1);
      const x1 = Math.min(width - 1, fx + 1);
      const used =
        src[r0 + x0] !== 0 &&
        src[r0 + fx] !== 0 &&
        src[r0 + x1] !== 0 &&
        src[r1 + x0] !== 0 &&
        src[r1 + fx] !== 0 &&
        src[r1 + x1] !== 0 &&
        src[r2 + x0] !== 0 &&
        src[r2 + fx] !== 0 &&
        src[r2 + x1] !== 0;
      out[y * ow + x] = used ? 1 : 0;
    }
  }
  return out;
}
