/**
 * Follows a region of interest through a clip: the rectangle x, y, w, h chosen in one frame ("the chosen
 * frame") is found in every later frame as a quadrilateral, by ECC on the region alone (a mask), with a
 * homography (or affine) warp from the chosen frame to frame k.
 *
 * The template is the chosen frame's region and is never replaced: a warp from the chosen frame cannot
 * drift the way chained frame-to-frame warps do. Each frame:
 * 1. Predict: the last warp carried by the frame's global (camera) motion, m_k W_{k-1}; also the last
 *    warp itself (for a region that moves against the camera). ECC runs from the prediction, then from
 *    the other start when the first result is not good enough, and keeps the better.
 * 2. Judge: a result counts only when it is plausible (`judge`): cc at least `minCc` (`recoverCc` when
 *    coming back), corners within `maxJumpPx` of the prediction, a convex quadrilateral whose area is
 *    within a factor `maxAreaChange` of the chosen one, and at least `minInsideShare` of the region
 *    inside the frame. Otherwise the frame is `lost` and the corners are not reported: an honest gap
 *    instead of a drifting box.
 * 3. While lost, the prediction keeps following the camera; each frame the region is looked for with
 *    phase correlation of the template against the frame rectified by the prediction (a search window
 *    `searchRadiusPx` around it), then refined by ECC and judged with the stricter `recoverCc`; the
 *    first frame that passes is `recovered`.
 *
 * Work is done on crops: the template crop (the region's bounding box plus a margin, fixed size) and, per
 * frame, a crop of the same size from frame k around the predicted region at an integer offset (no
 * resampling of the input). The ECC pyramid is built once for that size and the template's pyramid and
 * Hessian are computed once for the clip (register/ecc-pyramid.ts).
 *
 * Conventions: frames are GrayImage at input resolution; matrices map pixel coordinates of the chosen
 * frame to frame k (motion/mat3.ts); corners are top-left, top-right, bottom-right, bottom-left of the
 * rectangle (x, y), (x + w, y), (x + w, y + h), (x, y + h).
 * Reference: ECC, Evangelidis & Psarakis, IEEE TPAMI 30(10), 2008; phase correlation, Kuglin & Hines 1975.
 */
import { UsageError } from '../errors.js';
import { createGrayImage, type GrayImage } from '../image/gray-image.js';
import { warpInto } from '../image/warp.js';
import { type Mat3, multiplyInto, transformPointInto } from '../motion/mat3.js';
import { getMotionModel } from '../motion/models.js';
import { createEccPyramid, type EccPyramid } from '../register/ecc-pyramid.js';
import { createPhaseCorrelator, type PhaseCorrelation } from '../register/phase-correlation.js';
import type { Corners, RoiStatus } from './motion-file.js';

/** A region in the chosen frame, pixels. */
export interface RoiRect {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
}

/** Smallest side of a region steady tracks, px: fewer pixels cannot pin down 8 homography parameters. */
export const ROI_MIN_SIDE_PX = 16;
/** Smallest gray-level standard deviation inside a region: flatter regions cannot be tracked. */
export const ROI_MIN_STD = 2;

/** Options of the tracker. */
export interface RoiTrackerOptions {
  /** Warp of the region: 'homography' (a planar patch under perspective) or 'affine'. @default 'homography' */
  readonly model?: 'homography' | 'affine';
  /** Lowest ECC correlation coefficient of a tracked frame. @default 0.8 */
  readonly minCc?: number;
  /** Lowest cc to come back after a loss (above minCc: a lost region must be found convincingly). @default 0.88 */
  readonly recoverCc?: number;
  /** Largest distance of a corner from its predicted position, px. @default max(24, the region's diagonal / 2) */
  readonly maxJumpPx?: number;
  /** Largest factor by which the region's area may change from the chosen frame. @default 3 */
  readonly maxAreaChange?: number;
  /** Smallest share of the region (sampled on a 5x5 grid) that must lie inside the frame. @default 0.5 */
  readonly minInsideShare?: number;
  /** Radius of the re-detection search around the predicted position, px. @default max(32, the region's diagonal) */
  readonly searchRadiusPx?: number;
  /** Most ECC iterations per pyramid level. @default 100 */
  readonly iterations?: number;
  /** ECC stop: largest corner move of an update, px of the level. @default 0.001 */
  readonly epsilonPx?: number;
}

/** What the tracker says about one frame. */
export interface RoiFrameResult {
  readonly status: RoiStatus;
  /** The region's corners in this frame; null when lost (or before the chosen frame). */
  readonly corners: Corners | null;
  /** Correlation coefficient of the accepted (or best rejected) ECC result; NaN when none. */
  readonly cc: number;
  /** Chosen frame -> this frame pixel coordinates when tracked or recovered; else null. */
  readonly matrix: Mat3 | null;
  /** Why the frame is lost (e.g. `low cc 0.41`, `left the frame`); undefined when found. */
  readonly reason?: string;
}

/**
 * Checks a region against its frame: wholly inside, each side at least ROI_MIN_SIDE_PX.
 * Throws UsageError E_BAD_ROI (exit 2) with the numbers involved.
 */
export function validateRoi(roi: RoiRect, frameWidth: number, frameHeight: number, frameIndex = 0): void {
  const { x, y, width, height } = roi;
  const text = `${x},${y},${width},${height}`;
  if (![x, y, width, height].every(Number.isFinite)) {
    throw new UsageError('E_BAD_ROI', `Expected --roi x,y,w,h as four numbers but received ${JSON.stringify(text)}`);
  }
  if (width < ROI_MIN_SIDE_PX || height < ROI_MIN_SIDE_PX) {
    throw new UsageError('E_BAD_ROI', `--roi ${text} is ${width}x${height} px; a region must be at least ${ROI_MIN_SIDE_PX}x${ROI_MIN_SIDE_PX} px to be tracked`);
  }
  if (x < 0 || y < 0 || x + width > frameWidth || y + height > frameHeight) {
    throw new UsageError(
      'E_BAD_ROI',
      `--roi ${text} is not wholly inside frame ${frameIndex} (${frameWidth}x${frameHeight}): it spans x ${x}..${x + width}, y ${y}..${y + height}`,
    );
  }
}

/** Parses `x,y,w,h` (numbers, commas). Throws UsageError E_BAD_ROI. */
export function parseRoi(text: string): RoiRect {
  const parts = text.split(',').map((s) => s.trim());
  const nums = parts.map((s) => (/^[+-]?(\d+\.?\d*|\.\d+)$/.test(s) ? Number(s) : Number.NaN));
  if (parts.length !== 4 || nums.some((v) => !Number.isFinite(v))) {
    throw new UsageError('E_BAD_ROI', `Expected --roi x,y,w,h (four numbers in pixels, e.g. 100,80,64,48) but received ${JSON.stringify(text)}`);
  }
  return { x: nums[0] as number, y: nums[1] as number, width: nums[2] as number, height: nums[3] as number };
}

/** The rectangle's corners: top-left, top-right, bottom-right, bottom-left. */
export function roiCorners(roi: RoiRect): Corners {
  const { x, y, width: w, height: h } = roi;
  return [
    [x, y],
    [x + w, y],
    [x + w, y + h],
    [x, y + h],
  ];
}

/** Maps the four corners through m. */
export function mapCorners(m: Mat3, c: Corners): Corners {
  const p = [0, 0];
  const out: [number, number][] = [];
  for (const [x, y] of c) {
    transformPointInto(p, m, x, y);
    out.push([p[0] as number, p[1] as number]);
  }
  return out as unknown as Corners;
}

/** Signed area of a quadrilateral (shoelace), px^2; positive for the corner order above (y down). */
export function quadArea(c: Corners): number {
  let s = 0;
  for (let i = 0; i < 4; i++) {
    const [x0, y0] = c[i] as readonly [number, number];
    const [x1, y1] = c[(i + 1) % 4] as readonly [number, number];
    s += x0 * y1 - x1 * y0;
  }
  return s / 2;
}

/** True when the quadrilateral is convex with the chosen orientation (no fold, no flip). */
export function isConvexQuad(c: Corners): boolean {
  for (let i = 0; i < 4; i++) {
    const [ax, ay] = c[i] as readonly [number, number];
    const [bx, by] = c[(i + 1) % 4] as readonly [number, number];
    const [cx, cy] = c[(i + 2) % 4] as readonly [number, number];
    if ((bx - ax) * (cy - by) - (by - ay) * (cx - bx) <= 0) return false;
  }
  return true;
}

/** Pyramid levels for a region: its short side stays at least 24 px at the coarsest level; 1..4. */
function levelsFor(shortSide: number): number {
  let levels = 1;
  while (levels < 4 && shortSide / 2 ** levels >= 24) levels++;
  return levels;
}

/** Copies the w x h window at integer origin (ox, oy) of `src` into `out` (replicating outside pixels). */
function cropInto(out: GrayImage, src: GrayImage, ox: number, oy: number): void {
  const { width: w, height: h, data } = out;
  const sw = src.width;
  const sh = src.height;
  const sd = src.data;
  for (let y = 0; y < h; y++) {
    const sy = Math.min(sh - 1, Math.max(0, oy + y));
    const row = sy * sw;
    const dst = y * w;
    if (ox >= 0 && ox + w <= sw) {
      data.set(sd.subarray(row + ox, row + ox + w), dst);
    } else {
      for (let x = 0; x < w; x++) data[dst + x] = sd[row + Math.min(sw - 1, Math.max(0, ox + x))] as number;
    }
  }
}

function translation(tx: number, ty: number): Mat3 {
  return Float64Array.of(1, 0, tx, 0, 1, ty, 0, 0, 1);
}

/** A region tracker for frames of one size. */
export interface RoiTracker {
  /** The region as chosen. */
  readonly roi: RoiRect;
  /**
   * The chosen frame: builds the template. Throws UsageError E_ROI_FLAT when the region is too flat.
   * Returns status 'tracked' with the rectangle's corners.
   */
  start(frame: GrayImage): RoiFrameResult;
  /**
   * The next frame. `globalMotion` maps frame k-1 to frame k pixel coordinates (the camera's motion),
   * or null when unknown (the region is then predicted where it was).
   */
  track(frame: GrayImage, globalMotion: Mat3 | null): RoiFrameResult;
}

/** Makes a tracker for `roi` in frames of frameWidth x frameHeight (the region is validated here). */
export function createRoiTracker(frameWidth: number, frameHeight: number, roi: RoiRect, options: RoiTrackerOptions = {}): RoiTracker {
  validateRoi(roi, frameWidth, frameHeight);
  const modelName = options.model ?? 'homography';
  const diag = Math.hypot(roi.width, roi.height);
  const minCc = options.minCc ?? 0.8;
  const recoverCc = options.recoverCc ?? 0.88;
  const maxJumpPx = options.maxJumpPx ?? Math.max(24, diag / 2);
  const maxAreaChange = options.maxAreaChange ?? 3;
  const minInsideShare = options.minInsideShare ?? 0.5;
  const searchRadiusPx = options.searchRadiusPx ?? Math.max(32, diag);
  const corners0 = roiCorners(roi);
  const area0 = quadArea(corners0);

  // Template crop: the region's integer bounding box plus a margin (context for the pre-filter and room
  // for the region to move within the moving crop), clamped to the frame.
  const margin = Math.max(16, Math.ceil(0.5 * Math.min(roi.width, roi.height)));
  const bx0 = Math.floor(roi.x);
  const by0 = Math.floor(roi.y);
  const bx1 = Math.ceil(roi.x + roi.width);
  const by1 = Math.ceil(roi.y + roi.height);
  const cropW = Math.min(frameWidth, bx1 - bx0 + 2 * margin);
  const cropH = Math.min(frameHeight, by1 - by0 + 2 * margin);
  const clampX = (ox: number) => Math.min(Math.max(0, ox), frameWidth - cropW);
  const clampY = (oy: number) => Math.min(Math.max(0, oy), frameHeight - cropH);
  const tOx = clampX(bx0 - margin);
  const tOy = clampY(by0 - margin);
  const templateCrop = createGrayImage(cropW, cropH);
  const movingCrop = createGrayImage(cropW, cropH);
  const mask = new Uint8Array(cropW * cropH);
  // Mask: the pixel centres inside the region (in template-crop coordinates).
  for (let y = 0; y < cropH; y++) {
    const fy = y + tOy;
    for (let x = 0; x < cropW; x++) {
      const fx = x + tOx;
      mask[y * cropW + x] = fx >= roi.x && fx <= roi.x + roi.width - 1e-9 && fy >= roi.y && fy <= roi.y + roi.height - 1e-9 ? 1 : 0;
    }
  }
  const ecc: EccPyramid = createEccPyramid(cropW, cropH, {
    model: getMotionModel(modelName),
    levels: levelsFor(Math.min(roi.width, roi.height)),
    iterations: options.iterations ?? 100,
    epsilonPx: options.epsilonPx ?? 0.001,
    gaussianSize: 5,
  });
  const T_t = translation(tOx, tOy); // template crop -> chosen frame
  const T_tInv = translation(-tOx, -tOy);

  // Re-detection: the template crop and a same-size rectified crop of frame k, padded to the search window.
  const searchW = cropW + 2 * Math.ceil(searchRadiusPx);
  const searchH = cropH + 2 * Math.ceil(searchRadiusPx);
  const searchTemplate = createGrayImage(searchW, searchH);
  const searchFrame = createGrayImage(searchW, searchH);
  const correlator = createPhaseCorrelator(searchW, searchH);
  const pc: PhaseCorrelation = { dx: 0, dy: 0, peak: 0 };

  let W: Mat3 | null = null; // chosen frame -> previous frame (while tracked)
  let predicted: Mat3 = Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1); // carried while lost
  let lost = false;
  let started = false;
  const tmpA = new Float64Array(9);
  const tmpB = new Float64Array(9);

  /** Runs ECC from `seed` (chosen frame -> frame k); returns the frame-level matrix and cc, or null. */
  function refine(frame: GrayImage, seed: Mat3): { matrix: Mat3; cc: number } | null {
    // Moving crop around the seed's region centre, integer offset.
    const c = [0, 0];
    transformPointInto(c, seed, roi.x + roi.width / 2, roi.y + roi.height / 2);
    if (!Number.isFinite(c[0] as number) || !Number.isFinite(c[1] as number)) return null;
    const mOx = clampX(Math.round((c[0] as number) - cropW / 2));
    const mOy = clampY(Math.round((c[1] as number) - cropH / 2));
    cropInto(movingCrop, frame, mOx, mOy);
    ecc.setMoving(movingCrop, null);
    // Crop-level seed: moving crop <- frame k <- chosen frame <- template crop.
    multiplyInto(tmpA, seed, T_t);
    multiplyInto(tmpB, translation(-mOx, -mOy), tmpA);
    const r = ecc.run(tmpB, 'seed');
    if (!r.ok) return null;
    const m = multiplyInto(new Float64Array(9), translation(mOx, mOy), multiplyInto(tmpA, r.matrix, T_tInv));
    return { matrix: m, cc: r.cc };
  }

  /** Why a result is not acceptable, or null when it is. */
  function judge(m: Mat3, cc: number, prediction: Mat3, ccFloor: number, jumpLimitPx: number): string | null {
    if (!(cc >= ccFloor)) return `low cc ${Number.isFinite(cc) ? cc.toFixed(3) : 'n/a'}`;
    const q = mapCorners(m, corners0);
    if (!isConvexQuad(q)) return 'folded';
    const area = quadArea(q);
    if (!(area > area0 / maxAreaChange && area < area0 * maxAreaChange)) return `area changed ${(area / area0).toFixed(2)}x`;
    const p = mapCorners(prediction, corners0);
    for (let i = 0; i < 4; i++) {
      const d = Math.hypot((q[i] as readonly number[])[0] as number - ((p[i] as readonly number[])[0] as number), ((q[i] as readonly number[])[1] as number) - ((p[i] as readonly number[])[1] as number));
      if (!(d <= jumpLimitPx)) return `jumped ${d.toFixed(1)} px`;
    }
    let inside = 0;
    const pt = [0, 0];
    for (let j = 0; j < 5; j++) {
      for (let i = 0; i < 5; i++) {
        transformPointInto(pt, m, roi.x + (roi.width * (i + 0.5)) / 5, roi.y + (roi.height * (j + 0.5)) / 5);
        if ((pt[0] as number) >= 0 && (pt[0] as number) <= frameWidth - 1 && (pt[1] as number) >= 0 && (pt[1] as number) <= frameHeight - 1) inside++;
      }
    }
    if (inside / 25 < minInsideShare) return 'left the frame';
    return null;
  }

  /**
   * Phase correlation of the template crop against frame k rectified by `prediction`, in a window
   * searchRadiusPx larger on each side: the translation (in template-crop coordinates) that brings the
   * template onto the region, as a refined seed; null when nothing stands out.
   */
  function redetect(frame: GrayImage, prediction: Mat3): Mat3 | null {
    const pad = Math.ceil(searchRadiusPx);
    // searchFrame(p) = frame(prediction * T_t * (p - pad)): frame k in template-crop geometry.
    const toFrame = multiplyInto(new Float64Array(9), prediction, multiplyInto(tmpA, T_t, translation(-pad, -pad)));
    warpInto(searchFrame, frame, toFrame, { interpolation: 'bilinear', border: 'replicate' });
    // The template: the region's pixels (mean elsewhere), centred in the window.
    let mean = 0;
    let n = 0;
    for (let i = 0; i < mask.length; i++) {
      if (mask[i]) {
        mean += templateCrop.data[i] as number;
        n++;
      }
    }
    mean /= Math.max(1, n);
    searchTemplate.data.fill(mean);
    for (let y = 0; y < cropH; y++) {
      for (let x = 0; x < cropW; x++) {
        const i = y * cropW + x;
        if (mask[i]) searchTemplate.data[(y + pad) * searchW + x + pad] = templateCrop.data[i] as number;
      }
    }
    correlator.correlate(searchTemplate, searchFrame, pc);
    if (!Number.isFinite(pc.dx) || !Number.isFinite(pc.dy)) return null;
    if (Math.hypot(pc.dx, pc.dy) > searchRadiusPx * 1.5) return null;
    // searchFrame(p + d) ~ searchTemplate(p): frame = prediction * T_t * translate(d) in template-crop terms.
    const seed = multiplyInto(new Float64Array(9), prediction, multiplyInto(tmpB, T_t, multiplyInto(new Float64Array(9), translation(pc.dx, pc.dy), T_tInv)));
    return seed;
  }

  function start(frame: GrayImage): RoiFrameResult {
    if (frame.width !== frameWidth || frame.height !== frameHeight) throw new RangeError(`frame is ${frame.width}x${frame.height}, tracker made for ${frameWidth}x${frameHeight}`);
    cropInto(templateCrop, frame, tOx, tOy);
    // Flatness of the region itself.
    let s = 0;
    let s2 = 0;
    let n = 0;
    for (let i = 0; i < mask.length; i++) {
      if (mask[i]) {
        const v = templateCrop.data[i] as number;
        s += v;
        s2 += v * v;
        n++;
      }
    }
    const std = Math.sqrt(Math.max(0, s2 / n - (s / n) ** 2));
    if (!(std >= ROI_MIN_STD)) {
      throw new UsageError(
        'E_ROI_FLAT',
        `--roi ${roi.x},${roi.y},${roi.width},${roi.height} is too flat to track: its gray levels vary by ${std.toFixed(2)} (standard deviation); at least ${ROI_MIN_STD} is needed. Choose a region with texture or edges`,
      );
    }
    ecc.setFixed(templateCrop, mask);
    W = Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);
    predicted = Float64Array.from(W);
    lost = false;
    started = true;
    return { status: 'tracked', corners: corners0, cc: 1, matrix: Float64Array.from(W) };
  }

  function track(frame: GrayImage, globalMotion: Mat3 | null): RoiFrameResult {
    if (!started) throw new Error('RoiTracker.track() before start()');
    const base = lost ? predicted : (W as Mat3);
    const prediction = globalMotion ? multiplyInto(new Float64Array(9), globalMotion, base) : Float64Array.from(base);
    predicted = prediction;
    const floor = lost ? recoverCc : minCc;
    const seeds: Mat3[] = [prediction];
    if (globalMotion) seeds.push(Float64Array.from(base));
    let best: { matrix: Mat3; cc: number; why: string | null } | null = null;
    const consider = (seed: Mat3 | null): boolean => {
      if (seed === null) return false;
      const r = refine(frame, seed);
      if (r === null) return false;
      const why = judge(r.matrix, r.cc, prediction, floor, lost ? 1.5 * searchRadiusPx : maxJumpPx);
      // Keep an accepted result over a rejected one, else the higher cc.
      if (best === null || (best.why !== null && (why === null || r.cc > best.cc))) best = { ...r, why };
      return why === null;
    };
    let found = false;
    for (const s of seeds) {
      if (consider(s)) {
        found = true;
        break;
      }
    }
    if (!found) found = consider(redetect(frame, prediction));
    const result = best as { matrix: Mat3; cc: number; why: string | null } | null;
    if (found && result !== null) {
      const status: RoiStatus = lost ? 'recovered' : 'tracked';
      lost = false;
      W = result.matrix;
      predicted = Float64Array.from(result.matrix);
      return { status, corners: mapCorners(result.matrix, corners0), cc: result.cc, matrix: Float64Array.from(result.matrix) };
    }
    lost = true;
    W = null;
    return { status: 'lost', corners: null, cc: result === null ? Number.NaN : result.cc, matrix: null, reason: result?.why ?? 'not found' };
  }

  return { roi, start, track };
}
