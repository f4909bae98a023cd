/**
 * Finds what a registration did not explain: blocks of the template whose content the warped input does not
 * match, where the rest of the frame does. In a video that is an object moving on its own (a person, a car
 * crossing the frame): ECC weighs every pixel alike, so a large one pulls the camera's motion toward its
 * own. The registrar (register.ts) masks those blocks out of the template and registers again, and carries
 * the mask to the next frame, so that an object that grows past half the frame stays out once it was seen
 * entering.
 *
 * The measure is each block's normalised cross-correlation between the template and the input warped onto
 * it, on a blurred pyramid level (the finest as ECC sees it when its pre-filter blurs it, else the next:
 * noise and the last fraction of a pixel hardly lower it). A block is an outlier when it is textured (its
 * template varies: a flat block is noise, and says nothing) and its correlation is far below the frame's
 * typical one. An object that moves a pixel of that level against the background is found (1.5 px per
 * frame at 320 px wide on the tests' clips). Pure numerics, no allocation per call.
 */
import type { GrayImage } from '../image/gray-image.js';
import type { Mat3 } from '../motion/mat3.js';

/** Block side, pixels of the level measured. */
export const OBJECT_BLOCK_PX = 8;

/**
 * Every this many pixels of a block are sampled, across and down (16 of 64): the level is blurred, so that
 * neighbours say much the same, and the measure costs a quarter.
 */
export const OBJECT_SAMPLE_STEP = 2;

/**
 * A textured block is an outlier when its correlation is below this share of the median correlation of
 * the textured blocks. Blocks of a background the warp aligns score 0.95 and up; blocks of an object that
 * moved a pixel or more against it, about 0.5 and below (smooth content can match by chance: an object's
 * blocks are found with gaps, which the mask's margin closes).
 */
export const OUTLIER_CC_SHARE = 0.6;

/** Below this median correlation of the textured blocks the frame is judged too noisy or blurred to tell. */
export const MIN_MEDIAN_BLOCK_CC = 0.7;

/**
 * A block is textured when its template's standard deviation is at least this many gray levels (0-255, on the
 * blurred level). Flatter blocks (sky, a lawn, a wall) are mostly noise and compression: their correlation
 * from frame to frame falls to 0.1-0.6 without anything moving (on the Seattle clip: blocks of 0.5-1 level
 * score 0.1-0.9, blocks of 2.5 and up 0.97 and up).
 */
export const MIN_BLOCK_STD = 2.5;

/** Outliers count as an object when they are at least this share of the textured blocks (and this many). */
export const MIN_OBJECT_SHARE = 0.03;
export const MIN_OBJECT_BLOCKS = 3;

/**
 * Pixels of a level left out around an outlier block beyond a block's width: on a coarse level a block is a
 * few pixels, and the pyramid's blur carries the object's content about this far into its neighbours.
 */
export const MIN_OBJECT_MARGIN_PX = 4;

/** Block states of a measure. */
export const BLOCK_UNKNOWN = 0;
export const BLOCK_INLIER = 1;
export const BLOCK_OUTLIER = 2;

/** What a measure found. */
export interface ObjectBlocks {
  readonly cols: number;
  readonly rows: number;
  /** BLOCK_UNKNOWN, BLOCK_INLIER or BLOCK_OUTLIER per block, row-major. */
  readonly state: Uint8Array;
  /** Textured blocks measured, and outliers among them. */
  textured: number;
  outliers: number;
  /** Median correlation of the textured blocks not excluded (NaN when none). */
  medianCc: number;
  /**
   * Whether the outliers are an object to mask (see MIN_OBJECT_SHARE, MIN_MEDIAN_BLOCK_CC). Outliers lie below a
   * share of the median, so without `exclude` they are at most half the textured blocks: an object that fills
   * more of the frame than the background is never found from one frame (which is which cannot be told),
   * only kept once it was seen smaller (the registrar excludes its blocks from the median).
   */
  object: boolean;
}

/** Measures block agreement for one level size; every buffer made once. */
export interface ObjectFinder {
  readonly blocks: ObjectBlocks;
  /**
   * Measures `fixed` (the template) against `moving` warped by `warp` (fixed -> moving pixel coordinates of
   * this level) and classifies the blocks. `exclude` (nonzero per block, or null): blocks left out of the
   * typical correlation the others are judged against (those of an object already known), still classified.
   * Returns `blocks`.
   */
  measure(fixed: GrayImage, moving: GrayImage, warp: Mat3, exclude?: Uint8Array | null): ObjectBlocks;
}

/** Quickselect median of the first n values of `a` (reorders them). */
function medianInPlace(a: Float64Array, n: number): number {
  if (n === 0) return Number.NaN;
  const k = n >> 1;
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const pivot = a[(lo + hi) >> 1] as number;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while ((a[i] as number) < pivot) i++;
      while ((a[j] as number) > pivot) j--;
      if (i <= j) {
        const t = a[i] as number;
        a[i] = a[j] as number;
        a[j] = t;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else break;
  }
  return a[k] as number;
}

/** Whether template point (x, y) maps by `warp` inside [0, xMax) x [0, yMax) (bilinear taps inside the image). */
function mapsInside(warp: Mat3, x: number, y: number, xMax: number, yMax: number): boolean {
  const z = (warp[6] as number) * x + (warp[7] as number) * y + (warp[8] as number);
  const X = ((warp[0] as number) * x + (warp[1] as number) * y + (warp[2] as number)) / z;
  const Y = ((warp[3] as number) * x + (warp[4] as number) * y + (warp[5] as number)) / z;
  return z > 0 && X >= 0 && X < xMax && Y >= 0 && Y < yMax;
}

/** Makes a finder for a level of width x height pixels (blocks of OBJECT_BLOCK_PX; a partial last block is left out). */
export function createObjectFinder(width: number, height: number): ObjectFinder {
  const cols = Math.max(1, Math.floor(width / OBJECT_BLOCK_PX));
  const rows = Math.max(1, Math.floor(height / OBJECT_BLOCK_PX));
  const n = cols * rows;
  const state = new Uint8Array(n);
  const cc = new Float64Array(n);
  const sd = new Float64Array(n);
  const scratch = new Float64Array(n);
  const blocks: ObjectBlocks = { cols, rows, state, textured: 0, outliers: 0, medianCc: Number.NaN, object: false };

  function measure(fixed: GrayImage, moving: GrayImage, warp: Mat3, exclude: Uint8Array | null = null): ObjectBlocks {
    const t = fixed.data;
    const img = moving.data;
    const w = fixed.width;
    const mw = moving.width;
    const xMax = mw - 1;
    const yMax = moving.height - 1;
    const w0 = warp[0] as number, w1 = warp[1] as number, w2 = warp[2] as number;
    const w3 = warp[3] as number, w4 = warp[4] as number, w5 = warp[5] as number;
    const w6 = warp[6] as number, w7 = warp[7] as number, w8 = warp[8] as number;
    const m = (OBJECT_BLOCK_PX / OBJECT_SAMPLE_STEP) ** 2;
    const projective = w6 !== 0 || w7 !== 0 || w8 !== 1;
    const last = OBJECT_BLOCK_PX - 1;
    const dX = OBJECT_SAMPLE_STEP * w0;
    const dY = OBJECT_SAMPLE_STEP * w3;
    const dZ = OBJECT_SAMPLE_STEP * w6;
    for (let by = 0; by < rows; by++) {
      const yb = by * OBJECT_BLOCK_PX;
      for (let bx = 0; bx < cols; bx++) {
        const b = by * cols + bx;
        const xb = bx * OBJECT_BLOCK_PX;
        // The warp maps the block to a convex quadrilateral: inside when its four corners are.
        if (
          !(
            mapsInside(warp, xb, yb, xMax, yMax) &&
            mapsInside(warp, xb + last, yb, xMax, yMax) &&
            mapsInside(warp, xb, yb + last, xMax, yMax) &&
            mapsInside(warp, xb + last, yb + last, xMax, yMax)
          )
        ) {
          sd[b] = -1;
          cc[b] = 0;
          continue;
        }
        let st = 0, stt = 0, si = 0, sii = 0, sti = 0;
        for (let y = yb; y <= yb + last; y += OBJECT_SAMPLE_STEP) {
          const row = y * w;
          let XN = w0 * xb + w1 * y + w2;
          let YN = w3 * xb + w4 * y + w5;
          let ZN = w6 * xb + w7 * y + w8;
          for (let x = xb; x <= xb + last; x += OBJECT_SAMPLE_STEP, XN += dX, YN += dY, ZN += dZ) {
            let X = XN;
            let Y = YN;
            if (projective) {
              X /= ZN;
              Y /= ZN;
            }
            const xi = X | 0;
            const yi = Y | 0;
            const fx = X - xi;
            const fy = Y - yi;
            const o = yi * mw + xi;
            const v00 = img[o] as number;
            const v10 = img[o + mw] as number;
            const top = v00 + fx * ((img[o + 1] as number) - v00);
            const iv = top + fy * (v10 + fx * ((img[o + mw + 1] as number) - v10) - top);
            const tv = t[row + x] as number;
            st += tv;
            stt += tv * tv;
            si += iv;
            sii += iv * iv;
            sti += tv * iv;
          }
        }
        const vt = stt - (st * st) / m;
        const vi = sii - (si * si) / m;
        const cov = sti - (st * si) / m;
        sd[b] = Math.sqrt(Math.max(0, vt) / m);
        cc[b] = vt > 0 && vi > 0 ? cov / Math.sqrt(vt * vi) : 0;
      }
    }
    const minSd = MIN_BLOCK_STD;
    let textured = 0;
    let typical = 0;
    for (let b = 0; b < n; b++) {
      if (!((sd[b] as number) >= minSd)) continue;
      textured++;
      if (exclude === null || exclude[b] === 0) scratch[typical++] = cc[b] as number;
    }
    const median = medianInPlace(scratch, typical);
    const limit = OUTLIER_CC_SHARE * median;
    let outliers = 0;
    for (let b = 0; b < n; b++) {
      if (!((sd[b] as number) >= minSd)) state[b] = BLOCK_UNKNOWN;
      else if ((cc[b] as number) < limit) {
        state[b] = BLOCK_OUTLIER;
        outliers++;
      } else state[b] = BLOCK_INLIER;
    }
    blocks.textured = textured;
    blocks.outliers = outliers;
    blocks.medianCc = median;
    blocks.object = typical >= MIN_OBJECT_BLOCKS && median >= MIN_MEDIAN_BLOCK_CC && outliers >= MIN_OBJECT_BLOCKS && outliers >= MIN_OBJECT_SHARE * textured;
    return blocks;
  }

  return { blocks, measure };
}

/**
 * Writes a template mask of `width` x `height` (a pyramid level; 1 = used, 0 = left out) leaving out every
 * outlier block of `state` (a measure's block states, `cols` x `rows`) and what lies next to it: a block and
 * MIN_OBJECT_MARGIN_PX more on every side (the object's edge, where it moves to in the next frame, and the
 * reach of the pyramid's blur); where that reaches the last whole block, it goes on to the frame's edge.
 * `scale` is this level's pixels per pixel of the level measured (2 for the level finer, 0.5 for the one
 * coarser); (`dx`, `dy`) moves the blocks by that many pixels of this level (where the camera took them since
 * they were measured). Returns the pixels left out.
 */
export function objectMaskInto(mask: Uint8Array, width: number, height: number, state: Uint8Array, cols: number, rows: number, scale: number, dx = 0, dy = 0): number {
  mask.fill(1, 0, width * height);
  const side = OBJECT_BLOCK_PX * scale;
  const margin = side + MIN_OBJECT_MARGIN_PX;
  const xEnd = cols * side;
  const yEnd = rows * side;
  let out = 0;
  for (let by = 0; by < rows; by++) {
    for (let bx = 0; bx < cols; bx++) {
      if (state[by * cols + bx] !== BLOCK_OUTLIER) continue;
      const x0 = Math.max(0, Math.floor(bx * side - margin + dx));
      const xr = Math.ceil((bx + 1) * side + margin + dx);
      const x1 = xr >= xEnd ? width : Math.max(0, xr);
      const y0 = Math.max(0, Math.floor(by * side - margin + dy));
      const yr = Math.ceil((by + 1) * side + margin + dy);
      const y1 = yr >= yEnd ? height : Math.max(0, yr);
      for (let y = y0; y < y1; y++) {
        const r = y * width;
        for (let x = x0; x < x1; x++) {
          if (mask[r + x] === 1) {
            mask[r + x] = 0;
            out++;
          }
        }
      }
    }
  }
  return out;
}

/**
 * Marks in `out` (per block, 1 = marked) the outlier blocks of `state` moved by (`dx`, `dy`) blocks (rounded)
 * and the blocks next to them: where a known object's blocks are now. Returns `out`.
 */
export function objectBlocksInto(out: Uint8Array, state: Uint8Array, cols: number, rows: number, dx: number, dy: number): Uint8Array {
  out.fill(0, 0, cols * rows);
  const ox = Math.round(dx);
  const oy = Math.round(dy);
  for (let by = 0; by < rows; by++) {
    for (let bx = 0; bx < cols; bx++) {
      if (state[by * cols + bx] !== BLOCK_OUTLIER) continue;
      for (let y = Math.max(0, by + oy - 1); y <= Math.min(rows - 1, by + oy + 1); y++) {
        for (let x = Math.max(0, bx + ox - 1); x <= Math.min(cols - 1, bx + ox + 1); x++) out[y * cols + x] = 1;
      }
    }
  }
  return out;
}
