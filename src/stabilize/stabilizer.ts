/**
 * The per-frame stabilizer: decode order in, stabilized frames out after a fixed latency.
 *
 *   push(frame) ─► analyzer (gray analysis image, pyramid ECC vs previous/reference, seeded)
 *               ─► path planner (camera path, smoothing with bounded look-ahead, framing/zoom)
 *               ─► frame ring (the colour planes wait here for the planner's look-ahead)
 *   pull()      ◄─ warper (all three planes by the correction, border fill)
 *
 * Every buffer is made once for the clip's size: the ring holds `latency + 1` frames, the warper one
 * output frame. Nothing is allocated per frame except the small result objects handed to the caller.
 */
import type { GrayImage } from '../image/gray-image.js';
import { type Mat3, multiplyInto, setIdentityInto } from '../motion/mat3.js';
import type { FrameMotion, StabilizedFrame, YuvFrame } from './frame-types.js';
import { createFrameAnalyzer, type FrameAnalyzerSettings } from './frame-analyzer.js';
import { type BorderFill, createFrameWarper, type FrameInterpolation } from './frame-warper.js';
import { analysisSize } from '../video/analysis.js';
import type { ResolvedStabilizeOptions, ZoomSetting } from './options.js';
import { createPathPlanner, type PathPlanner, type PathPlannerOptions } from './framing.js';

/** 'keyframe' re-anchors when the correlation with the keyframe falls below this. */
export const KEYFRAME_MIN_CC = 0.85;
/**
 * 'keyframe' re-anchors when less than this share of the keyframe's area is still in view. Requiring
 * all of it (1) re-anchors on every frame of any shaky clip, which makes 'keyframe' a slower 'previous';
 * at three quarters the registration still has most of the frame to work with.
 */
export const KEYFRAME_MIN_OVERLAP = 0.75;

/** Settings of a stabilizer (validated by the caller; see stabilize/options.ts). */
export interface StabilizerSettings {
  readonly analyzer: FrameAnalyzerSettings;
  readonly planner: PathPlannerOptions;
  readonly border: BorderFill;
  readonly interpolation: FrameInterpolation;
  /**
   * Size of the stabilized planes, pixels, when not the input size (a live preview): the warp then writes
   * them at this size directly (frame-warper.ts). The motion data (correction, path, zoom) stays in input
   * pixels. @default the input size
   */
  readonly output?: { readonly width: number; readonly height: number };
}

/**
 * Stabilizer settings for frames of width x height from resolved options.
 * @param output size of the stabilized planes, pixels. @default the input size
 */
export function stabilizerSettingsFor(
  o: ResolvedStabilizeOptions,
  width: number,
  height: number,
  knownMotions: readonly Mat3[] | null,
  output?: { readonly width: number; readonly height: number },
): StabilizerSettings {
  const a = analysisSize(width, height, o.analysisWidth);
  return {
    analyzer: {
      width,
      height,
      analysisWidth: a.width,
      analysisHeight: a.height,
      model: o.model,
      reference: o.reference,
      iterations: o.iterations,
      epsilonPx: o.epsilonPx,
      keyframeMinCc: KEYFRAME_MIN_CC,
      keyframeMinOverlap: KEYFRAME_MIN_OVERLAP,
    },
    planner: {
      width,
      height,
      smoother: o.smoother,
      radius: o.smoothingRadius,
      rotationWeight: o.rotationWeight,
      shakeWeight: o.shakeWeight,
      zoom: o.zoom,
      maxShiftPx: o.maxShiftPx < 0 ? Number.POSITIVE_INFINITY : o.maxShiftPx,
      maxAngleRad: o.maxAngleRad < 0 ? Number.POSITIVE_INFINITY : o.maxAngleRad,
      knownMotions,
      // 'first' (tripod): the output holds the reference frame's view instead of a smoothed path.
      tripod: o.reference === 'first',
    },
    border: o.border,
    interpolation: o.interpolation,
    ...(output !== undefined ? { output } : {}),
  };
}

/** A stabilizer for one clip. */
export interface Stabilizer {
  /** Frames between a push and the pull that returns that frame (the planner's look-ahead). */
  readonly latencyFrames: number;
  readonly failedFrames: number;
  /** Frames registered with a moving object (a person, a car crossing the frame) left out. */
  readonly objectFrames: number;
  /**
   * Analyses a frame and queues its planes. Call pull() until it returns null before the next push.
   * With `knownMotion` (a first pass, a motion file) the frame is not registered; `known` then gives
   * what that registration said (else ok, no cc, fromReference chained from frame 0).
   */
  push(frame: YuvFrame, decodedAtMs: number, knownMotion?: Mat3 | null, known?: KnownAnalysis | null): void;
  /**
   * The buffer the next push keeps its frame in (the planes y, u, v one after another, as a decoder
   * writes them; Decoder.setFrameBuffer). Write only the next frame into it and push that frame as views of
   * it: it is then kept with no copy. After the next push (of any frame) it belongs to the stabilizer again.
   */
  nextFrameBuffer(): Uint8Array;
  /** The next stabilized frame when its look-ahead is complete, else null. Its planes are valid until the next pull. */
  pull(): StabilizedFrame | null;
  /** No more frames: the planner may release the frames it held back. */
  finish(): void;
  /** Live changes (the server's controls). */
  setBorder(border: BorderFill): void;
  setSmoothingRadius(radius: number): void;
  setZoom(zoom: ZoomSetting): void;
  resetReference(): void;
}

/** The registration outcome of a frame whose motion is known already (a first pass or a motion file). */
export interface KnownAnalysis {
  readonly ok: boolean;
  /** Correlation coefficient (NaN when none). */
  readonly cc: number;
  /** Reference frame -> this frame, input pixels. */
  readonly fromReference: Mat3;
  readonly referenceIndex: number;
}

interface Slot {
  /** Push order (the planner's frame number); frame.index may skip when a live source drops frames. */
  seq: number;
  data: Uint8Array;
  frame: YuvFrame;
  decodedAtMs: number;
  analysis: { ok: boolean; cc: number; motion: Mat3; fromReference: Mat3; referenceIndex: number };
}

/** Whether two byte arrays are the same view of the same memory. */
function sameView(a: Uint8Array, b: Uint8Array): boolean {
  return a.buffer === b.buffer && a.byteOffset === b.byteOffset && a.length === b.length;
}

/** Makes a stabilizer; `downscale` shrinks a Y plane into the analysis image (video/analysis.ts). */
export function createStabilizer(
  settings: StabilizerSettings,
  downscale: (out: GrayImage, y: Uint8Array, width: number, height: number) => GrayImage,
): Stabilizer {
  const { width, height } = settings.analyzer;
  const cw = Math.ceil(width / 2);
  const ch = Math.ceil(height / 2);
  const lumaBytes = width * height;
  const chromaBytes = cw * ch;
  const frameBytes = lumaBytes + 2 * chromaBytes;
  const analyzer = createFrameAnalyzer(settings.analyzer, downscale);
  // Whole-clip plans (two-pass, auto zoom) take every motion up front and can plan any frame at once, so
  // frames are released only once pushed, and one slot besides the frame in hand is enough. Otherwise
  // known motions (a motion file) are fed one per frame like measured ones: the one-pass planner plans
  // with a bounded look-ahead and must not be handed the whole clip at once.
  const knownMotions = settings.planner.knownMotions;
  const plannedUpFront = knownMotions !== null && (settings.planner.smoother === 'two-pass' || settings.planner.zoom === 'auto');
  const planner: PathPlanner = createPathPlanner(plannedUpFront ? settings.planner : { ...settings.planner, knownMotions: null });
  const ringSize = () => (plannedUpFront ? 2 : planner.latencyFrames + 2);
  let pushedFrames = 0;
  let pulledFrames = 0;
  const warper = createFrameWarper(width, height, settings.output?.width ?? width, settings.output?.height ?? height);
  let border = settings.border;
  const knownFromRef = setIdentityInto(new Float64Array(9));
  let seq = 0;
  // The ring may need to grow if the look-ahead grows live; frames are addressed by index % size.
  let ring: Slot[] = [];
  const ensureRing = (n: number) => {
    if (ring.length >= n) return;
    const old = ring;
    ring = [];
    for (let i = 0; i < n; i++) {
      const data = new Uint8Array(frameBytes);
      ring.push({
        seq: -1,
        data,
        frame: { index: -1, timeSec: 0, width, height, y: data.subarray(0, lumaBytes), u: data.subarray(lumaBytes, lumaBytes + chromaBytes), v: data.subarray(lumaBytes + chromaBytes) },
        decodedAtMs: 0,
        analysis: { ok: true, cc: 1, motion: new Float64Array(9), fromReference: new Float64Array(9), referenceIndex: 0 },
      });
    }
    // Keep frames already waiting.
    for (const s of old) {
      if (s.seq < 0) continue;
      copySlot(ring[s.seq % n] as Slot, s);
    }
  };
  // Sized by the current look-ahead (not the largest a live change could ask for: that would hold
  // hundreds of full frames); ensureRing grows it when the radius grows.
  ensureRing(ringSize());

  function copySlot(t: Slot, s: Slot): void {
    t.seq = s.seq;
    t.data.set(s.data);
    t.frame = { ...s.frame, y: t.frame.y, u: t.frame.u, v: t.frame.v };
    t.decodedAtMs = s.decodedAtMs;
    t.analysis.ok = s.analysis.ok;
    t.analysis.cc = s.analysis.cc;
    t.analysis.motion.set(s.analysis.motion);
    t.analysis.fromReference.set(s.analysis.fromReference);
    t.analysis.referenceIndex = s.analysis.referenceIndex;
  }

  const outFrame = (index: number, timeSec: number): YuvFrame => ({ index, timeSec, width: warper.width, height: warper.height, y: warper.y, u: warper.u, v: warper.v });

  return {
    get latencyFrames() {
      return plannedUpFront ? 0 : planner.latencyFrames;
    },
    get objectFrames() {
      return analyzer.objectFrames;
    },
    get failedFrames() {
      return analyzer.failedFrames;
    },
    nextFrameBuffer() {
      ensureRing(ringSize());
      return (ring[seq % ring.length] as Slot).data;
    },
    push(frame, decodedAtMs, knownMotion = null, known = null) {
      ensureRing(ringSize());
      pushedFrames++;
      const slot = ring[seq % ring.length] as Slot;
      slot.seq = seq;
      seq++;
      // A frame decoded straight into this slot (nextFrameBuffer) is in place already.
      if (!sameView(frame.y, slot.frame.y) || !sameView(frame.u, slot.frame.u) || !sameView(frame.v, slot.frame.v)) {
        slot.frame.y.set(frame.y);
        slot.frame.u.set(frame.u);
        slot.frame.v.set(frame.v);
      }
      slot.frame = { index: frame.index, timeSec: frame.timeSec, width, height, y: slot.frame.y, u: slot.frame.u, v: slot.frame.v };
      slot.decodedAtMs = decodedAtMs;
      if (knownMotion !== null) {
        // Motion from a motion file or a first pass: no registration in this pass.
        slot.analysis.ok = known?.ok ?? true;
        slot.analysis.cc = known?.cc ?? Number.NaN;
        slot.analysis.motion.set(knownMotion);
        if (slot.seq === 0) setIdentityInto(knownFromRef);
        else multiplyInto(knownFromRef, knownMotion, knownFromRef);
        slot.analysis.fromReference.set(known?.fromReference ?? knownFromRef);
        slot.analysis.referenceIndex = known?.referenceIndex ?? 0;
        if (!plannedUpFront) planner.push(knownMotion);
        return;
      }
      const a = analyzer.analyze(frame.index, frame.y);
      slot.analysis.ok = a.ok;
      slot.analysis.cc = a.cc;
      slot.analysis.motion.set(a.motion);
      slot.analysis.fromReference.set(a.fromReference);
      slot.analysis.referenceIndex = a.referenceIndex;
      if (!plannedUpFront) planner.push(a.motion);
    },
    pull() {
      if (pulledFrames >= pushedFrames) return null;
      const p = planner.pull();
      if (p === null) return null;
      pulledFrames++;
      const slot = ring[p.index % ring.length] as Slot;
      if (slot.seq !== p.index) throw new Error(`internal: frame ${p.index} is no longer in the ring (holds ${slot.seq})`);
      warper.warp(slot.frame, p.correction, border, settings.interpolation);
      const motion: FrameMotion = {
        index: slot.frame.index,
        timeSec: slot.frame.timeSec,
        ok: slot.analysis.ok,
        cc: slot.analysis.cc,
        motion: Float64Array.from(slot.analysis.motion),
        fromReference: Float64Array.from(slot.analysis.fromReference),
        referenceIndex: slot.analysis.referenceIndex,
        path: p.rawPath,
        smoothedPath: p.smoothedPath,
        correction: Float64Array.from(p.correction),
        zoom: p.zoom,
      };
      return { input: slot.frame, output: outFrame(slot.frame.index, slot.frame.timeSec), motion, decodedAtMs: slot.decodedAtMs };
    },
    finish() {
      planner.finish();
    },
    setBorder(b) {
      border = b;
    },
    setSmoothingRadius(r) {
      planner.setRadius(r);
    },
    setZoom(z) {
      planner.setZoom(z);
    },
    resetReference() {
      analyzer.resetReference();
      // The planner holds the new reference's view from the same frame on ('first' only).
      planner.relock();
    },
  };
}
