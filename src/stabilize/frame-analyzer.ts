/**
 * Per-frame motion analysis for video: shrinks the Y plane to the analysis image, registers it by pyramid
 * ECC against the previous frame or a reference frame, seeded with the last transform, and gives the
 * motion in full-resolution pixels.
 *
 * Reference modes:
 * - 'previous' (default): frame k onto frame k-1; motion[k] is the registration itself.
 * - 'first' (tripod): frame k onto frame 0; fromReference[k] is the registration and
 *   motion[k] = fromReference[k] · fromReference[k-1]^-1. The stabilizer then holds frame 0's view
 *   instead of smoothing the path (framing.ts, Tripod).
 * - 'keyframe': like 'first' against a keyframe, re-anchored on the previous frame when the registration
 *   fails, the correlation falls below `keyframeMinCc` or less than `keyframeMinOverlap` of the keyframe
 *   stays in view.
 * A failed frame never stops the run: the registrar already retries from a phase-correlation start; if
 * that fails too, the last motion is held ('first': the camera is held still) and the frame is reported
 * with ok = false; after HELD_MOTION_FULL_FRAMES such frames in a row the held motion fades to rest. After `ROBUST_RETRY_AFTER` failures in a row against the reference (a cut, or a pan away
 * from it, in 'first' mode), those further starts run on one frame in `ROBUST_RETRY_EVERY` only, the seeded
 * start on every frame: on a cut clip this took 'first' from 26 to 50 fps.
 *
 * A registration the registrar calls a success is still refused when it cannot be camera motion between two
 * neighbouring frames (framePlausible; in 'first' mode also referenceStepPlausible, a tighter bound on the
 * change of shape below TRUSTED_FRAME_CC, as the correlation against a distant reference says little): below a correlation of `TRUSTED_FRAME_CC`, a frame-to-frame motion
 * that turns, scales or shears the frame by more than `MAX_FRAME_DEFORMATION` (frameDeformation), or, below
 * `MIN_FRAME_CC`, one that moves it by more than `LOW_CC_MAX_MOVE` at all, and below `NO_MATCH_CC` any. At a scene cut, ECC and its robust
 * starts find no true match and can settle on a wild warp (on a real cut: 144 degrees of rotation at twice
 * the scale, cc 0.43); taken as motion, that one frame would tilt and zoom the whole smoothed path around
 * it. Refused, the frame counts as failed and holds the last motion like any other failure. A well
 * correlated registration is always taken: a fast pan through a wide lens changes the frame's shape by
 * perspective (0.3 at 8.5 degrees per frame with a 110 degree lens), and noisy, flat footage registers
 * correctly at a low correlation (0.29 on a darkened, noisy forest clip registered at full size).
 *
 * In 'previous' mode the registrar also leaves out what moves on its own (a person or a car crossing the
 * frame: register/moving-objects.ts), so that the motion is the camera's, not a blend with the object's.
 *
 * Conventions: motion[k] maps pixel coordinates of frame k-1 to frame k; fromReference[k] maps the
 * reference frame's pixel coordinates to frame k's (steady's registration convention, motion/mat3.ts).
 */
import { createGrayImage, type GrayImage } from '../image/gray-image.js';
import { invertInto, type Mat3, multiplyInto, setIdentityInto, transformPointInto } from '../motion/mat3.js';
import type { ModelName } from '../motion/model-name.js';
import { createRegistrar, type Registrar } from '../register/register.js';
import { type AnalysisGrid, createAnalysisGrid, motionToFullInto } from './analysis-grid.js';

/**
 * A registration at or above this correlation coefficient is taken whatever its motion (the registrar's
 * own mark of a good result, register.ts POOR_CC). Cuts scored 0.34-0.58 (a real one and eight synthetic).
 */
export const TRUSTED_FRAME_CC = 0.8;

/**
 * Below this correlation a registration may move the frame only a little (LOW_CC_MAX_MOVE). Neighbouring
 * frames of the shaky clips in ../shared score 0.95 and up at the stabilizer's analysis size.
 */
export const MIN_FRAME_CC = 0.5;

/**
 * Most change of shape between neighbouring frames (frameDeformation) below TRUSTED_FRAME_CC, as a share of
 * the distance from the centre to a corner: 0.25 allows about 14 degrees of rotation or a 25 % change of
 * scale in one frame. Real handheld footage stays below 0.02 (1 degree, 0.5 % of scale per frame).
 */
export const MAX_FRAME_DEFORMATION = 0.25;

/**
 * Most motion below MIN_FRAME_CC: the larger of frameDeformation and the centre's displacement, both as a
 * share of the centre-to-corner distance (0.1: 37 px at 640x360, about 6 degrees).
 */
export const LOW_CC_MAX_MOVE = 0.1;

/**
 * Below this correlation a registration is refused whatever its motion: the two images share no structure
 * the warp explains (after a cut, a start that goes nowhere ends near cc 0 with a small motion; frames of
 * pure noise, encoded, gave spurious 7.6 px moves at cc 0.105-0.11, and a needless 12.5 % crop). The
 * darkened, noisy forest clip registered at full size, the lowest true match seen, scores 0.29.
 */
export const NO_MATCH_CC = 0.2;

/**
 * 'first': below TRUSTED_FRAME_CC, most change of shape (frameDeformation) of the frame-to-frame motion a
 * registration onto the reference implies, per frame since the last frame that registered (the bound grows
 * with each refused frame, up to MAX_FRAME_DEFORMATION, so a true motion the held frames missed is taken
 * again). Against a distant reference the correlation of a correct registration is low by itself (0.7 on
 * the NUS walking clip), so the correlation rules alone pass a registration that settled on another match:
 * on that clip frame 79 registered at cc 0.75 with a 6 % change of scale from frame 78 and frame 80 jumped
 * back, a one-frame jolt of 14 px in the held view. Correct neighbours in 'keyframe' mode on the real clips
 * in ../shared change shape by 0.015 at most (and 'first''s registrations by 0.019 at cc 0.8 and up); the
 * wrong ones seen in 'first' mode by 0.057 and more: 0.04 lies between, twice the 0.02 of handheld footage.
 */
export const REFERENCE_MAX_STEP_DEFORMATION = 0.04;

/**
 * Whether frame-to-frame motion `m` implied by a registration onto the reference at correlation `cc` can be
 * camera motion, `framesSinceOk` frames after the last frame that registered ('first' mode; on top of
 * framePlausible). See REFERENCE_MAX_STEP_DEFORMATION.
 */
export function referenceStepPlausible(m: Mat3, cc: number, width: number, height: number, framesSinceOk: number): boolean {
  if (cc >= TRUSTED_FRAME_CC) return true;
  return frameDeformation(m, width, height) <= Math.min(MAX_FRAME_DEFORMATION, REFERENCE_MAX_STEP_DEFORMATION * Math.max(1, framesSinceOk));
}

/** How far a motion moves the frame's centre, as a share of the centre-to-corner distance (Infinity if it goes to infinity). */
export function frameShift(m: Mat3, width: number, height: number): number {
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  const w = (m[6] as number) * cx + (m[7] as number) * cy + (m[8] as number);
  if (!(w > 0)) return Number.POSITIVE_INFINITY;
  const dx = ((m[0] as number) * cx + (m[1] as number) * cy + (m[2] as number)) / w - cx;
  const dy = ((m[3] as number) * cx + (m[4] as number) * cy + (m[5] as number)) / w - cy;
  const d = Math.hypot(dx, dy) / Math.hypot(cx, cy);
  return Number.isFinite(d) ? d : Number.POSITIVE_INFINITY;
}

/** Whether a frame-to-frame motion `m` registered at correlation `cc` can be camera motion (file comment). */
export function framePlausible(m: Mat3, cc: number, width: number, height: number): boolean {
  if (cc >= TRUSTED_FRAME_CC) return true;
  if (cc < NO_MATCH_CC) return false;
  const deformation = frameDeformation(m, width, height);
  if (!(deformation <= MAX_FRAME_DEFORMATION)) return false;
  return cc >= MIN_FRAME_CC || Math.max(deformation, frameShift(m, width, height)) <= LOW_CC_MAX_MOVE;
}

/**
 * How much a motion changes the frame's shape, without its translation: the four corners of a
 * width x height frame are mapped by `m`, each is taken relative to where the centre goes, and the largest
 * distance from where it started (relative to the centre) is divided by the centre-to-corner distance.
 * 0 for a pure translation; 2 sin(a/2) for a rotation by a; |s - 1| for a scale s. Infinity when a corner
 * or the centre maps to infinity or behind the camera (a homography's w <= 0).
 */
export function frameDeformation(m: Mat3, width: number, height: number): number {
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  const m0 = m[0] as number, m1 = m[1] as number, m2 = m[2] as number;
  const m3 = m[3] as number, m4 = m[4] as number, m5 = m[5] as number;
  const m6 = m[6] as number, m7 = m[7] as number, m8 = m[8] as number;
  const wc = m6 * cx + m7 * cy + m8;
  if (!(wc > 0)) return Number.POSITIVE_INFINITY;
  const qcx = (m0 * cx + m1 * cy + m2) / wc;
  const qcy = (m3 * cx + m4 * cy + m5) / wc;
  const radius = Math.hypot(cx, cy);
  let worst = 0;
  for (let c = 0; c < 4; c++) {
    const x = c & 1 ? width - 1 : 0;
    const y = c & 2 ? height - 1 : 0;
    const w = m6 * x + m7 * y + m8;
    if (!(w > 0)) return Number.POSITIVE_INFINITY;
    const dx = (m0 * x + m1 * y + m2) / w - qcx - (x - cx);
    const dy = (m3 * x + m4 * y + m5) / w - qcy - (y - cy);
    const d = Math.hypot(dx, dy) / radius;
    if (!(d <= worst)) worst = d;
  }
  return Number.isFinite(worst) ? worst : Number.POSITIVE_INFINITY;
}

/** How frames are registered. */
export type ReferenceMode = 'previous' | 'first' | 'keyframe';

/** The reference modes, for validation and help. */
export const REFERENCE_MODES: readonly ReferenceMode[] = ['previous', 'first', 'keyframe'];

/** Settings of the analyzer (validated by the caller). */
export interface FrameAnalyzerSettings {
  /** Full-resolution frame size, pixels. */
  readonly width: number;
  readonly height: number;
  /** Analysis image size, pixels (at most the frame size). */
  readonly analysisWidth: number;
  readonly analysisHeight: number;
  readonly model: ModelName;
  readonly reference: ReferenceMode;
  /** Most ECC iterations per pyramid level. */
  readonly iterations: number;
  /** ECC stop criterion: corner displacement of an update, analysis pixels. */
  readonly epsilonPx: number;
  /** 'keyframe' re-anchors when the correlation falls below this. */
  readonly keyframeMinCc: number;
  /** 'keyframe' re-anchors when less than this share of the keyframe stays in view. */
  readonly keyframeMinOverlap: number;
  /**
   * Taps of ECC's Gaussian pre-filter (0 = none; see register/options.ts). None suits full-resolution
   * analysis of sharp frames best (car sequence against the gyroscope: 0.66 px with none, 0.71 px with 5).
   * @default the registrar's (5)
   */
  readonly gaussianSize?: number;
  /**
   * Leave out what moves on its own (a person or a car crossing the frame), in every reference mode: the
   * registrar's movingObjects (register/moving-objects.ts). @default true
   */
  readonly movingObjects?: boolean;
}

/** What the analyzer found for one frame (matrices are the analyzer's own buffers: copy to keep). */
export interface FrameAnalysis {
  readonly ok: boolean;
  readonly cc: number;
  /** Frame k-1 -> frame k, full-resolution pixels. */
  readonly motion: Mat3;
  /** Reference frame -> frame k, full-resolution pixels. */
  readonly fromReference: Mat3;
  readonly referenceIndex: number;
}

/** Registers a stream of frames; holds every buffer. */
export interface FrameAnalyzer {
  readonly grid: AnalysisGrid;
  /** Frames whose registration failed (the last motion was held). */
  readonly failedFrames: number;
  /** Frames registered with a moving object left out (settings.movingObjects). */
  readonly objectFrames: number;
  /** Analyses the next frame's Y plane (width x height bytes). */
  analyze(index: number, y: Uint8Array): FrameAnalysis;
  /** Analyses the next frame given as a gray image already of the analysis size. */
  analyzeGray(index: number, image: GrayImage): FrameAnalysis;
  /** Makes the next frame the new reference ('first' and 'keyframe' modes; 'previous' ignores it). */
  resetReference(): void;
}

/** Shrinks the Y plane into an analysis image (video/analysis.ts's area average). */
export type Downscaler = (out: GrayImage, y: Uint8Array, width: number, height: number) => GrayImage;

/**
 * Failed frames in a row that hold the last motion whole ('previous' and 'keyframe'); after them the held
 * motion fades toward rest by HELD_MOTION_FADE per frame. A short gap (a cut, a flash, a few blurred frames
 * of a pan) keeps the camera's motion going; a long one (a fade to black, a lens cap) comes to rest instead
 * of adding up to a pan nobody made (45 black frames built a 166 px one that the smoother anticipated).
 */
export const HELD_MOTION_FULL_FRAMES = 3;
/** Share of the held motion's departure from rest kept per further failed frame (half after 3 frames). */
export const HELD_MOTION_FADE = 0.8;

/** out = I + f (m - I): the motion m scaled toward rest (identity) by the factor f in 0..1. */
function fadeTowardRestInto(out: Mat3, m: Mat3, f: number): Mat3 {
  for (let i = 0; i < 9; i++) {
    const id = i === 0 || i === 4 || i === 8 ? 1 : 0;
    out[i] = id + f * ((m[i] as number) - id);
  }
  return out;
}

/** After this many frames in a row fail against the reference, the robust starts are tried less often. */
export const ROBUST_RETRY_AFTER = 3;
/** ...on one frame in this many. */
export const ROBUST_RETRY_EVERY = 8;

/** Makes an analyzer. `downscale` is injected so that this module stays free of I/O modules. */
export function createFrameAnalyzer(settings: FrameAnalyzerSettings, downscale: Downscaler): FrameAnalyzer {
  const { width, height, analysisWidth: aw, analysisHeight: ah } = settings;
  const grid = createAnalysisGrid(width, height, aw, ah);
  const registrar: Registrar = createRegistrar(aw, ah, {
    model: settings.model,
    iterations: settings.iterations,
    epsilon: settings.epsilonPx,
    robustStart: 'auto',
    movingObjects: settings.movingObjects !== false,
    ...(settings.gaussianSize !== undefined ? { gaussianSize: settings.gaussianSize } : {}),
  });
  let cur = createGrayImage(aw, ah);
  let prev = createGrayImage(aw, ah);
  const ref = createGrayImage(aw, ah);
  // Analysis-grid matrices.
  const seedA = new Float64Array(9);
  const lastMotionA = setIdentityInto(new Float64Array(9));
  const fromRefA = setIdentityInto(new Float64Array(9));
  const prevFromRefA = setIdentityInto(new Float64Array(9));
  const inv = new Float64Array(9);
  const motionA = new Float64Array(9);
  // Full-grid outputs.
  const motion = setIdentityInto(new Float64Array(9));
  const fromReference = setIdentityInto(new Float64Array(9));
  const pt = new Float64Array(2);
  let referenceIndex = 0;
  let failedFrames = 0;
  /** Frames in a row whose registration onto the reference failed ('first', 'keyframe'). */
  let failedInARow = 0;
  /** Frames in a row whose motion was held ('previous'). */
  let heldInARow = 0;
  let resetPending = true;
  let havePrev = false;
  /** Index of the frame analysed last (the reference of the next one in 'previous' mode). */
  let lastIndex = -1;
  /** The previous frame registered ('keyframe' re-anchors only on a frame that did). */
  let prevOk = true;
  /** The registrar holds the previous frame's pyramid ('previous' mode). */
  let chained = false;

  const result = { ok: true, cc: 1, motion, fromReference, referenceIndex: 0 };

  /** Sample points per side of the grid overlapShare maps. */
  const OVERLAP_GRID = 8;

  function overlapShare(W: Mat3): number {
    // Share of the reference frame still in view in frame k: an 8x8 grid of points spread over the
    // reference, mapped by W (reference -> frame k), counted when they land inside frame k. Four corners
    // alone would only say whether the whole reference is in view, which any shake breaks.
    let inside = 0;
    for (let j = 0; j < OVERLAP_GRID; j++) {
      const y = ((j + 0.5) * ah) / OVERLAP_GRID - 0.5;
      for (let i = 0; i < OVERLAP_GRID; i++) {
        transformPointInto(pt, W, ((i + 0.5) * aw) / OVERLAP_GRID - 0.5, y);
        const px = pt[0] as number;
        const py = pt[1] as number;
        if (px >= 0 && px <= aw - 1 && py >= 0 && py <= ah - 1) inside++;
      }
    }
    return inside / (OVERLAP_GRID * OVERLAP_GRID);
  }

  /** Whether a registration's frame-to-frame motion `m` (analysis grid) can be camera motion (file comment). */
  function plausible(m: Mat3, cc: number): boolean {
    return framePlausible(m, cc, aw, ah);
  }

  /** plausible() for a registration onto the reference: judges the motion from the previous frame it implies. */
  function plausibleFromReference(fromRef: Mat3, cc: number): boolean {
    if (invertInto(inv, prevFromRefA) === null) return false;
    multiplyInto(motionA, fromRef, inv);
    if (!plausible(motionA, cc)) return false;
    // 'first': the frames since the last one that registered are what the implied motion spans.
    return settings.reference !== 'first' || referenceStepPlausible(motionA, cc, aw, ah, failedInARow + 1);
  }

  function finish(ok: boolean, cc: number): FrameAnalysis {
    motionToFullInto(motion, grid, motionA);
    motionToFullInto(fromReference, grid, fromRefA);
    result.ok = ok;
    result.cc = cc;
    result.referenceIndex = referenceIndex;
    return result;
  }

  function analyze(index: number, y: Uint8Array): FrameAnalysis {
    const t = prev;
    prev = cur;
    cur = t;
    downscale(cur, y, width, height);
    return step(index);
  }

  function analyzeGray(index: number, image: GrayImage): FrameAnalysis {
    const t = prev;
    prev = cur;
    cur = t;
    cur.data.set(image.data);
    return step(index);
  }

  /** Registers `cur` (frame `index`) against the previous frame or the reference. */
  function step(index: number): FrameAnalysis {
    const result = stepReference(index);
    lastIndex = index;
    return result;
  }

  function stepReference(index: number): FrameAnalysis {
    if (!havePrev || (resetPending && settings.reference !== 'previous')) {
      // The first frame (or a reset): it becomes the reference; no motion is known to it.
      ref.data.set(cur.data);
      referenceIndex = index;
      setIdentityInto(fromRefA);
      setIdentityInto(prevFromRefA);
      if (!havePrev) setIdentityInto(motionA);
      havePrev = true;
      resetPending = false;
      failedInARow = 0;
      prevOk = true;
      return finish(true, 1);
    }
    if (settings.reference === 'previous') {
      seedA.set(lastMotionA);
      // Frame to frame: the registrar keeps frame k-1's pyramid from the last call (no rebuild).
      const r = chained ? registrar.registerNext(cur, seedA) : registrar.register(prev, cur, seedA);
      chained = true;
      const ok = r.ok && plausible(r.matrix, r.cc);
      if (ok) {
        heldInARow = 0;
        motionA.set(r.matrix);
        lastMotionA.set(r.matrix);
      } else {
        failedFrames++;
        heldInARow++;
        // The last motion, whole for a short gap, then fading to rest (HELD_MOTION_FULL_FRAMES).
        fadeTowardRestInto(motionA, lastMotionA, HELD_MOTION_FADE ** Math.max(0, heldInARow - HELD_MOTION_FULL_FRAMES));
      }
      // The reference of frame k is frame k-1: fromReference is the motion itself.
      fromRefA.set(motionA);
      referenceIndex = lastIndex;
      return finish(ok, r.cc);
    }
    // 'first' or 'keyframe': register onto the reference, seeded with the last frame's fromReference.
    prevFromRefA.set(fromRefA);
    seedA.set(fromRefA);
    // Once the reference has been lost for a while ('first' after a cut, or a pan away from it), the robust
    // starts run on every failing frame and each costs several registrations: they are then tried on one
    // frame in ROBUST_RETRY_EVERY only, the seeded start on every frame (it finds a camera that comes back).
    const robust = failedInARow < ROBUST_RETRY_AFTER || failedInARow % ROBUST_RETRY_EVERY === 0;
    let r = registrar.registerOnReference(ref, cur, seedA, robust);
    let ok = r.ok && plausibleFromReference(r.matrix, r.cc);
    if (
      settings.reference === 'keyframe' &&
      // The keyframe is lost: re-anchor even on a previous frame that failed (after a scene cut, that frame
      // is the first of the new shot, and the old keyframe never comes back). A merely weak registration
      // re-anchors only on a previous frame that registered: a blank or corrupt frame is a worse keyframe.
      (!ok || !r.ok || (prevOk && (r.cc < settings.keyframeMinCc || overlapShare(r.matrix) < settings.keyframeMinOverlap)))
    ) {
      // Re-anchor on the previous frame: its motion to this frame is a short, easy registration.
      ref.data.set(prev.data);
      referenceIndex = index - 1;
      setIdentityInto(prevFromRefA);
      seedA.set(lastMotionA);
      r = registrar.registerOnReference(ref, cur, seedA);
      ok = r.ok && plausibleFromReference(r.matrix, r.cc);
    }
    prevOk = ok;
    if (ok && r.ok) {
      failedInARow = 0;
      fromRefA.set(r.matrix);
    } else {
      failedFrames++;
      failedInARow++;
      // 'first' (tripod): the camera is taken to be still, fromRef[k] = fromRef[k-1]. Once the reference is
      // gone for good (a cut, a pan away from it) every later frame fails, and repeating the last motion
      // would drift the path further with each one. Otherwise hold the last motion:
      // fromRef[k] = lastMotion · fromRef[k-1] (keyframe mode re-anchors on the next frame).
      if (settings.reference === 'first') fromRefA.set(prevFromRefA);
      else {
        // The last motion, fading to rest after a short gap as in 'previous' mode (lastMotion is the motion
        // held on the frame before, already faded: one more step of the fade).
        fadeTowardRestInto(inv, lastMotionA, failedInARow > HELD_MOTION_FULL_FRAMES ? HELD_MOTION_FADE : 1);
        multiplyInto(fromRefA, inv, prevFromRefA);
      }
    }
    // motion[k] = fromRef[k] · fromRef[k-1]^-1
    if (invertInto(inv, prevFromRefA) === null) setIdentityInto(inv);
    multiplyInto(motionA, fromRefA, inv);
    lastMotionA.set(motionA);
    return finish(ok, r.cc);
  }

  return {
    grid,
    get failedFrames() {
      return failedFrames;
    },
    get objectFrames() {
      return registrar.objectFrames;
    },
    analyze,
    analyzeGray,
    resetReference() {
      resetPending = true;
    },
  };
}
