import { describe, expect, it } from 'vitest';
import { blurInto, gaussianKernel } from '../../src/image/blur.js';
import { createGrayImage, type GrayImage } from '../../src/image/gray-image.js';
import { createRegistrar } from '../../src/register/register.js';
import {
  BLOCK_INLIER,
  BLOCK_OUTLIER,
  BLOCK_UNKNOWN,
  createObjectFinder,
  MIN_MEDIAN_BLOCK_CC,
  MIN_OBJECT_MARGIN_PX,
  OBJECT_BLOCK_PX,
  objectBlocksInto,
  objectMaskInto,
} from '../../src/register/moving-objects.js';
import { centreError, crossingShot, quantile } from '../support/crossing.js';
import { addGainBiasNoise, renderScene, texture } from '../support/fourier-fixtures.js';

const W = 320;
const H = 180;

/** The blurred image the finder is given in the registrar (the pyramid's 5-tap pre-filter). */
function blurred(img: GrayImage): GrayImage {
  return blurInto(createGrayImage(img.width, img.height), img, gaussianKernel(5), new Float32Array(img.width * img.height));
}

/** Frames k -> k+1 of a shift (dx, dy) with the rectangle [x0, x1) x [y0, y1) of frame k+1 replaced by other content. */
function pairWithObject(dx: number, dy: number, box: readonly [number, number, number, number]) {
  // Texture periods 3.5-24 px (as crossingShot's).
  const coarse = texture(5);
  const coarseOther = texture(77);
  const scene = (x: number, y: number) => coarse(2 * x, 2 * y);
  const other = (x: number, y: number) => coarseOther(2 * x, 2 * y);
  const fixed = blurred(renderScene(W, H, scene));
  const [x0, y0, x1, y1] = box;
  const moving = blurred(renderScene(W, H, (x, y) => (x >= x0 && x < x1 && y >= y0 && y < y1 ? other(x, y) : scene(x - dx, y - dy))));
  // fixed -> moving: x + (dx, dy).
  const warp = Float64Array.of(1, 0, dx, 0, 1, dy, 0, 0, 1);
  return { fixed, moving, warp };
}

describe('moving objects: the block measure', () => {
  it('marks the blocks an object covers as outliers and the background around it as inliers', () => {
    const box = [96, 40, 176, 136] as const;
    const { fixed, moving, warp } = pairWithObject(2.5, -1.5, box);
    const finder = createObjectFinder(W, H);
    const b = finder.measure(fixed, moving, warp);
    expect(b.cols).toBe(W / OBJECT_BLOCK_PX);
    expect(b.object).toBe(true);
    let outliersInside = 0;
    let insideBlocks = 0;
    for (let by = 0; by < b.rows; by++) {
      for (let bx = 0; bx < b.cols; bx++) {
        const s = b.state[by * b.cols + bx];
        // Template block [x, x + 8) x [y, y + 8) sees the moving image at + (2.5, -1.5), 1 px of bilinear reach.
        const mx0 = bx * OBJECT_BLOCK_PX + 2.5;
        const my0 = by * OBJECT_BLOCK_PX - 1.5;
        const inside = mx0 >= box[0] && mx0 + OBJECT_BLOCK_PX + 1 <= box[2] && my0 >= box[1] && my0 + OBJECT_BLOCK_PX + 1 <= box[3];
        // Two blocks or more from the box (its blur reaches 2 px): pure background.
        const far = mx0 + OBJECT_BLOCK_PX + 2 < box[0] - OBJECT_BLOCK_PX || mx0 - 2 > box[2] + OBJECT_BLOCK_PX || my0 + OBJECT_BLOCK_PX + 2 < box[1] - OBJECT_BLOCK_PX || my0 - 2 > box[3] + OBJECT_BLOCK_PX;
        if (inside) {
          insideBlocks++;
          if (s === BLOCK_OUTLIER) outliersInside++;
        }
        if (far && s !== BLOCK_UNKNOWN) expect(s).toBe(BLOCK_INLIER);
      }
    }
    expect(insideBlocks).toBeGreaterThan(60);
    // Unrelated smooth texture can match an 8 px block by chance (both ramps the same way); most are found,
    // and the mask's margin of a block closes the gaps.
    expect(outliersInside).toBeGreaterThanOrEqual(0.7 * insideBlocks);
    expect(b.medianCc).toBeGreaterThan(0.95);
  });

  it('sees no object in a frame that moved as a whole, in a flat noisy frame, or when most of the frame differs', () => {
    const finder = createObjectFinder(W, H);
    const still = pairWithObject(1.25, 0.5, [0, 0, 0, 0]);
    const b = finder.measure(still.fixed, still.moving, still.warp);
    expect(b.object).toBe(false);
    expect(b.outliers).toBe(0);
    expect(b.textured).toBeGreaterThan(0.9 * b.cols * b.rows);
    // A flat frame with noise (sky, a wall): no block is textured, nothing to judge.
    const flat = (seed: number) => blurred(addGainBiasNoise(renderScene(W, H, () => 128), 1, 0, 2, seed));
    const f = finder.measure(flat(1), flat(2), still.warp);
    expect(f.textured).toBe(0);
    expect(f.object).toBe(false);
    // Seven eighths of the frame changed: which part is the background cannot be told from one frame.
    const most = pairWithObject(0, 0, [0, 0, 280, 180]);
    const m = finder.measure(most.fixed, most.moving, most.warp);
    // The typical block no longer matches: no background to measure the object against.
    expect(m.medianCc).toBeLessThan(MIN_MEDIAN_BLOCK_CC);
    expect(m.object).toBe(false);
  });

  it('masks each outlier block with a block and MIN_OBJECT_MARGIN_PX around it, on every pyramid level, moved as asked', () => {
    const cols = 12;
    const rows = 9;
    const state = new Uint8Array(cols * rows).fill(BLOCK_INLIER);
    // Block (3, 2): pixels [24, 32) x [16, 24) of the measured level (96 x 72).
    state[2 * cols + 3] = BLOCK_OUTLIER;
    for (const [scale, w, h, dx, dy] of [
      [1, 96, 72, 0, 0],
      [0.5, 48, 36, 0, 0],
      [1, 96, 72, 5, -3],
    ] as const) {
      const mask = new Uint8Array(w * h);
      const side = OBJECT_BLOCK_PX * scale;
      const margin = side + MIN_OBJECT_MARGIN_PX;
      const out = objectMaskInto(mask, w, h, state, cols, rows, scale, dx, dy);
      const x0 = Math.max(0, 3 * side - margin + dx);
      const x1 = Math.min(w, 4 * side + margin + dx);
      const y0 = Math.max(0, 2 * side - margin + dy);
      const y1 = Math.min(h, 3 * side + margin + dy);
      expect(out).toBe((x1 - x0) * (y1 - y0));
      for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) expect(mask[y * w + x]).toBe(x >= x0 && x < x1 && y >= y0 && y < y1 ? 0 : 1);
    }
    // A block next to the last whole one: the mask goes on to the frame's edge (a partial block there).
    state.fill(BLOCK_INLIER);
    state[2 * cols + (cols - 2)] = BLOCK_OUTLIER;
    const mask = new Uint8Array(100 * 72);
    objectMaskInto(mask, 100, 72, state, cols, rows, 1);
    expect(mask[20 * 100 + 99]).toBe(0);
    // The blocks of a known object, moved and grown by a block.
    const marked = objectBlocksInto(new Uint8Array(cols * rows), state, cols, rows, -1.2, 0.6);
    for (let by = 0; by < rows; by++) for (let bx = 0; bx < cols; bx++) expect(marked[by * cols + bx]).toBe(Math.abs(bx - (cols - 3)) <= 1 && Math.abs(by - 3) <= 1 ? 1 : 0);
  });

  it('judges the blocks against the background only when a known object is excluded: an object over half the frame is still seen', () => {
    // Two thirds of the frame changed (as in the case above, too much to tell from one frame alone).
    const box = [0, 0, 214, 180] as const;
    const { fixed, moving, warp } = pairWithObject(1, 1, box);
    const finder = createObjectFinder(W, H);
    const exclude = new Uint8Array(finder.blocks.cols * finder.blocks.rows);
    for (let by = 0; by < finder.blocks.rows; by++) for (let bx = 0; bx < finder.blocks.cols; bx++) exclude[by * finder.blocks.cols + bx] = bx * OBJECT_BLOCK_PX < box[2] ? 1 : 0;
    const b = finder.measure(fixed, moving, warp, exclude);
    expect(b.object).toBe(true);
    expect(b.medianCc).toBeGreaterThan(0.95);
    expect(b.outliers).toBeGreaterThan(0.5 * b.textured);
  });
});

describe('moving objects: registerNext leaves them out', () => {
  /** Median and 90th percentile centre error (px) of registerNext over a crossing shot. */
  function errors(size: number, speedPx: number, movingObjects: boolean) {
    const shot = crossingShot({ width: W, height: H, frames: 70, size, speedPx });
    const registrar = createRegistrar(W, H, { model: 'similarity', iterations: 30, epsilon: 0.05, movingObjects });
    const errs: number[] = [];
    let seed = Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);
    registrar.register(shot.frames[0] as GrayImage, shot.frames[0] as GrayImage);
    for (let k = 1; k < shot.frames.length; k++) {
      const r = registrar.registerNext(shot.frames[k] as GrayImage, seed);
      expect(r.ok).toBe(true);
      if (!r.ok) continue;
      seed = Float64Array.from(r.matrix);
      // Frames with the object in view only.
      if ((shot.covered[k] as number) > 0.02) errs.push(centreError(r.matrix, shot.truth[k] as Float64Array, W, H));
    }
    return { median: quantile(errs, 0.5), p90: quantile(errs, 0.9), objectFrames: registrar.objectFrames, n: errs.length };
  }

  /** The background's motion is recovered to this (px, median over the frames with the object in view)... */
  const TOL_MEDIAN_PX = 0.05;
  /** ...and to this at the 90th percentile (the frames where the object enters are found one frame late). */
  const TOL_P90_PX = 0.25;

  for (const [size, speed] of [
    [0.33, 4],
    [0.33, 1.5],
    [0.5, 4],
  ] as const) {
    it(`an object ${Math.round(size * 100)} % of the frame wide at ${speed} px/frame: the background's motion, not a blend`, () => {
      const on = errors(size, speed, true);
      expect(on.n).toBeGreaterThan(30);
      expect(on.median).toBeLessThan(TOL_MEDIAN_PX);
      expect(on.p90).toBeLessThan(TOL_P90_PX);
      // A slow object is seen only in the frames where the camera's shake moves it against the background.
      expect(on.objectFrames).toBeGreaterThan(0.25 * on.n);
      // Without the option the object pulls the registration (what the option is for).
      const off = errors(size, speed, false);
      expect(off.objectFrames).toBe(0);
      expect(off.median).toBeGreaterThan(3 * TOL_MEDIAN_PX);
    });
  }

  it('an object that grows to fill 60 % of the frame stays left out once it was seen entering', () => {
    // 0.62 of the width and nearly the whole height at its widest. (Past about two thirds, the strip of
    // background left, less the mask's margins, no longer holds the registration.)
    const shot = crossingShot({ width: W, height: H, frames: 70, size: 0.62, speedPx: 4 });
    const run = (movingObjects: boolean) => {
      const registrar = createRegistrar(W, H, { model: 'similarity', iterations: 30, epsilon: 0.05, movingObjects });
      registrar.register(shot.frames[0] as GrayImage, shot.frames[0] as GrayImage);
      const big: number[] = [];
      let seed: Float64Array | null = null;
      for (let k = 1; k < shot.frames.length; k++) {
        const r = registrar.registerNext(shot.frames[k] as GrayImage, seed);
        if (!r.ok) continue;
        seed = Float64Array.from(r.matrix);
        if ((shot.covered[k] as number) > 0.5) big.push(centreError(r.matrix, shot.truth[k] as Float64Array, W, H));
      }
      return big;
    };
    const on = run(true);
    expect(on.length).toBeGreaterThan(10);
    expect(quantile(on, 0.5)).toBeLessThan(TOL_MEDIAN_PX);
    expect(quantile(run(false), 0.5)).toBeGreaterThan(3 * TOL_MEDIAN_PX);
  });

  it('changes nothing where nothing moves on its own', () => {
    const shot = crossingShot({ width: W, height: H, frames: 20, size: 0, speedPx: 0 });
    const run = (movingObjects: boolean) => {
      const registrar = createRegistrar(W, H, { model: 'similarity', movingObjects });
      registrar.register(shot.frames[0] as GrayImage, shot.frames[0] as GrayImage);
      const out = shot.frames.slice(1).map((f) => {
        const r = registrar.registerNext(f);
        return r.ok ? Array.from(r.matrix) : null;
      });
      return { out, objectFrames: registrar.objectFrames };
    };
    const on = run(true);
    const off = run(false);
    expect(on.objectFrames).toBe(0);
    expect(on.out).toEqual(off.out);
    for (let k = 1; k < shot.frames.length; k++) expect(centreError(Float64Array.from(on.out[k - 1] as number[]), shot.truth[k] as Float64Array, W, H)).toBeLessThan(TOL_MEDIAN_PX);
  });
});
