/**
 * The file job behind `steady stabilize`: decode once (ffmpeg, YUV 4:2:0 at full resolution, stored
 * orientation), stabilize frame by frame, encode with ffmpeg (audio kept, timing and display rotation
 * carried over), optionally a side-by-side comparison and a motion file.
 *
 * Every mode decodes the input once by default: the 'two-pass' path optimisation and 'auto' zoom (the
 * file defaults) then plan over a bounded look-ahead window, re-planned as frames arrive (framing.ts).
 * With `wholeClip`, every frame is registered first (decode + analysis only, the motions are tiny), the
 * path is planned over the whole clip, and the input is decoded again to warp and encode: the exact
 * whole-clip plan, for a second decode's cost (more CPU than the rest of the job on 720p H.264).
 */
import { existsSync } from 'node:fs';
import { totalmem } from 'node:os';
import { open as openFile, readFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import { InputError, InterruptedError, RuntimeError } from '../errors.js';
import type { Mat3 } from '../motion/mat3.js';
import { downscaleYInto } from '../video/analysis.js';
import { loadFfmpegFeatures } from '../video/binaries.js';
import { conversionNote, type Decoder, type DecoderOptions, deliveredColour, openDecoder } from '../video/decoder.js';
import { checkOutputContainer, containerKeepsColourTags, type Encoder, openEncoder } from '../video/encoder.js';
import { keepsInputAudio, metadataSourceOf, probeVideo, rawStreamFrameRate, type VideoProbe } from '../video/probe.js';
import { checkOutputWritable, createTempOutput, samePath } from '../video/temp-output.js';
import { cutReadsFrameTimes, evenSpacingWatch, firstFrameOffsetFromProbe, variableTimingFor } from '../video/vfr.js';
import { createFrameAnalyzer, type FrameAnalyzer } from '../stabilize/frame-analyzer.js';
import type { FrameMotion, StabilizedFrame, YuvFrame } from '../stabilize/frame-types.js';
import { MAX_SMOOTHING_RADIUS, type ResolvedStabilizeOptions, resolveStabilizeOptions, STABILIZE_DEFAULTS, type StabilizeOptions } from '../stabilize/options.js';
import { createStabilizer, type KnownAnalysis, type Stabilizer, stabilizerSettingsFor } from '../stabilize/stabilizer.js';
import { MotionFileEncoder, motionFormatFromPath, parseMotionFile } from '../track/motion-file.js';

/** Progress of a running job. */
export interface StabilizeProgress {
  readonly phase: 'analyse' | 'stabilize';
  readonly framesDone: number;
  /** Expected frames, when known. */
  readonly framesTotal: number | null;
  readonly elapsedSec: number;
}

/** Options of stabilizeFile. */
export interface StabilizeFileOptions extends StabilizeOptions {
  readonly input: string;
  /** Output file, or '-' for standard output (Matroska). */
  readonly output: string;
  readonly overwrite?: boolean;
  /** Also write input and output side by side to this file. */
  readonly compare?: string;
  /** Write the motion file (JSON or CSV by extension). */
  readonly transforms?: string;
  /** Reuse the motion of a motion file instead of registering. */
  readonly transformsIn?: string;
  /**
   * Register the whole clip first and plan the camera path over all of it (decodes the input twice;
   * not for standard input). @default false (one decode; the path is planned over a look-ahead window)
   */
  readonly wholeClip?: boolean;
  readonly crf?: number;
  readonly preset?: string;
  readonly codec?: string;
  readonly threads?: number;
  readonly framerate?: number;
  readonly startSec?: number;
  readonly durationSec?: number;
  /** On abort, finish the frames done so far as a playable file. @default false */
  readonly keepPartial?: boolean;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: StabilizeProgress) => void;
  /** Called for every stabilized frame (the live preview of a file job). */
  readonly onFrame?: (f: StabilizedFrame) => void;
  /** Called once with the job's stabilizer (the live preview's controls act on it). */
  readonly onStabilizer?: (s: Stabilizer) => void;
}

/** What a finished job reports (the `--json` summary). */
export interface StabilizeSummary {
  readonly frames: number;
  readonly failedFrames: number;
  readonly fps: number;
  /** Mean zoom factor over the frames (1 = none). */
  readonly zoom: number;
  readonly maxZoom: number;
  readonly seconds: number;
  readonly output: string;
  readonly audio: 'none' | 'copied' | 'reencoded';
  readonly notes: readonly string[];
  /** True when the job was interrupted and a partial file was kept. */
  readonly partial: boolean;
}

/**
 * Share of the machine's memory the frames held for the look-ahead may take. Beyond it the job would
 * swap or be killed part-way; refusing up front says why and what to change.
 */
export const HELD_FRAMES_MEMORY_SHARE = 0.5;

/**
 * The memory this process may use: the machine's, or less where a container or cgroup limits it
 * (process.constrainedMemory; a limit above the machine's memory means none).
 */
export function usableMemory(): number {
  const machine = totalmem();
  const constrained = (process as { constrainedMemory?: () => number | undefined }).constrainedMemory?.() ?? 0;
  return constrained > 0 && constrained < machine ? constrained : machine;
}

/**
 * Refuses (E_MEMORY, exit 2) a look-ahead whose held frames would not fit in memory.
 * @param memoryBytes the memory this process may use. @default usableMemory()
 */
export function checkHeldFrameMemory(width: number, height: number, latencyFrames: number, memoryBytes: number = usableMemory()): void {
  // Each held frame keeps its YUV 4:2:0 planes; a few more are in flight (decoder, warp, encoder).
  const frameBytes = width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2);
  const need = (latencyFrames + 4) * frameBytes;
  const limit = HELD_FRAMES_MEMORY_SHARE * memoryBytes;
  if (need > limit) {
    const gb = (b: number) => (b / 2 ** 30).toFixed(1);
    throw new InputError(
      'E_MEMORY',
      `Frames of ${width}x${height} with a look-ahead of ${latencyFrames} frames need about ${gb(need)} GiB held in memory, more than ${gb(limit)} GiB (half of the ${gb(memoryBytes)} GiB this process may use); lower --smoothing or use --smoother causal`,
    );
  }
}

function checkOutputs(o: StabilizeFileOptions): void {
  checkOutputContainer(o.output, undefined);
  if (o.compare !== undefined) checkOutputContainer(o.compare, undefined);
  // Standard output carries one stream: the video's (-o -).
  for (const [flag, p] of [
    ['--compare', o.compare],
    ['--transforms', o.transforms],
  ] as const) {
    if (p === '-') throw new InputError('E_BAD_OPTION', `${flag} needs a file name, not '-': standard output carries the video only (with -o -)`);
  }
  const named = [
    ['-o', o.output],
    ['--compare', o.compare],
    ['--transforms', o.transforms],
  ].filter((e): e is [string, string] => e[1] !== undefined && e[1] !== '-');
  for (let i = 0; i < named.length; i++) {
    for (let j = i + 1; j < named.length; j++) {
      const [fa, pa] = named[i] as [string, string];
      const [fb, pb] = named[j] as [string, string];
      if (samePath(pa, pb)) throw new InputError('E_BAD_OPTION', `${fa} and ${fb} name the same file ${JSON.stringify(pb)}; give each output its own path`);
    }
  }
  const outputs = named.map((e) => e[1]);
  for (const p of outputs) {
    if (o.input !== '-' && samePath(o.input, p)) {
      throw new InputError('E_OUTPUT_IS_INPUT', `Output ${JSON.stringify(p)} is the input file; choose another output path`);
    }
    // First: a folder or a read-only place cannot be written, --overwrite or not.
    checkOutputWritable(p);
    if (!o.overwrite && existsSync(p)) {
      throw new InputError('E_OUTPUT_EXISTS', `Output ${JSON.stringify(p)} exists; pass --overwrite to replace it`);
    }
  }
}

/**
 * A video that starts at least this many frame periods after its sound is said so in the notes (an .mp4
 * shows its first frame until then). The offset itself always goes to the encoder, which keeps it whole
 * periods at a fixed rate (video/encoder.ts).
 */
const NOTED_VIDEO_OFFSET_FRAMES = 1;

/** The audio of the input goes into the outputs (video/probe.ts keepsInputAudio). */
function keepsAudio(o: StabilizeFileOptions, probe: VideoProbe): boolean {
  return keepsInputAudio(o.input, probe);
}

/** The decoder reads each frame's timestamp: for a variable frame rate (video/vfr.ts), and for a cut with sound. */
function decoderReadsTimes(o: StabilizeFileOptions, probe: VideoProbe): boolean {
  return variableTimingFor(probe, o.framerate !== undefined).decoderTimestamps || cutReadsFrameTimes(o.startSec, o.durationSec, keepsAudio(o, probe));
}

function decoderOptions(o: StabilizeFileOptions, probe: VideoProbe): DecoderOptions {
  const readsTimes = decoderReadsTimes(o, probe);
  const firstOffset = readsTimes && keepsAudio(o, probe) ? firstFrameOffsetFromProbe(probe, o.startSec) : undefined;
  return {
    autorotate: false,
    probe,
    ...(readsTimes ? { timestamps: true } : {}),
    ...(firstOffset !== undefined ? { firstFrameOffsetSec: firstOffset } : {}),
    ...(o.startSec !== undefined ? { startSec: o.startSec } : {}),
    ...(o.durationSec !== undefined ? { durationSec: o.durationSec } : {}),
    ...(o.framerate !== undefined ? { framerate: o.framerate } : {}),
    ...(o.signal !== undefined && !o.keepPartial ? { signal: o.signal } : {}),
  };
}

/** A frame's motion known before warping, with what its registration said. */
interface KnownFrame extends KnownAnalysis {
  readonly motion: Mat3;
}

/** Reads the motions of a motion file made for a clip of this size. */
async function readMotions(path: string, probe: VideoProbe): Promise<KnownFrame[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    throw new InputError('E_INPUT_NOT_FOUND', `Cannot read motion file ${JSON.stringify(path)}`);
  }
  const file = parseMotionFile(text, path);
  if (file.width !== probe.width || file.height !== probe.height) {
    throw new InputError('E_MOTION_FILE_SIZE', `Motion file ${JSON.stringify(path)} is for ${file.width}x${file.height} frames but the input is ${probe.width}x${probe.height}`);
  }
  // The same clip gives the same rate; another rate is another clip (the frames' times would not match).
  if (Number.isFinite(file.fps) && file.fps > 0 && Math.abs(file.fps - probe.fps) > MOTION_FILE_FPS_TOLERANCE * probe.fps) {
    throw new InputError('E_MOTION_FILE_MISMATCH', `Motion file ${JSON.stringify(path)} was made from a clip at ${file.fps} fps but the input is at ${probe.fps} fps; write it from the same clip`);
  }
  return file.frames.map((f) => ({ motion: f.motion, ok: f.ok, cc: f.cc, fromReference: f.fromReference, referenceIndex: f.referenceIndex }));
}

/** Relative difference of frame rates above which a motion file is taken to come from another clip. */
const MOTION_FILE_FPS_TOLERANCE = 1e-4;
/** Frame pairs re-registered to check that a motion file belongs to the input (spread over the clip). */
const MOTION_CHECK_PAIRS = 8;
/**
 * Distance between where the motion found again and the file's take the frame's centre above which a pair
 * disagrees, pixels. The same clip and settings give the same motion; other analysis settings (size,
 * model) differ by at most about half a pixel on real clips (the NUS clip: median 0.11 px, largest 0.52
 * between analysis widths 160 and 320), another --start of the forest clip by 1.8 px (median).
 */
const MOTION_CHECK_TOLERANCE_PX = 0.75;
/** Correlation a fresh registration needs for its pair to count in the check. */
const MOTION_CHECK_MIN_CC = 0.8;

/**
 * Distance, pixels, between where two frame-to-frame motions take the centre of a w x h frame. The centre,
 * not the corners: a file written with another --model (translation against similarity) moves the corners
 * of a turning or zooming clip differently, and is still this clip's motion.
 */
function centreDistancePx(a: Mat3, b: Mat3, w: number, h: number): number {
  const x = (w - 1) / 2;
  const y = (h - 1) / 2;
  const wa = (a[6] as number) * x + (a[7] as number) * y + (a[8] as number);
  const wb = (b[6] as number) * x + (b[7] as number) * y + (b[8] as number);
  const dx = ((a[0] as number) * x + (a[1] as number) * y + (a[2] as number)) / wa - ((b[0] as number) * x + (b[1] as number) * y + (b[2] as number)) / wb;
  const dy = ((a[3] as number) * x + (a[4] as number) * y + (a[5] as number)) / wa - ((b[3] as number) * x + (b[4] as number) * y + (b[5] as number)) / wb;
  return Math.hypot(dx, dy);
}

/**
 * Checks a motion file against the input as it is decoded: a few frame pairs (k - 1, k) spread over the
 * clip are registered again and compared with the file's motion of frame k. A file from another clip of
 * the same size and length, or from another --start, disagrees on most pairs; it is refused before the
 * output is finished, not used to make a wrong stabilization. Pairs where either registration is unsure
 * (failed, or a fresh correlation below MOTION_CHECK_MIN_CC) do not count; a near-still clip, where any
 * file's motions are about right, passes. Motions with no correlation (cc null: not found by registration,
 * e.g. a camera's own record or motions a program wrote) are taken as given.
 */
class MotionFileCheck {
  private readonly pairs = new Set<number>();
  private analyzer: FrameAnalyzer | null = null;
  private agree = 0;
  private disagree = 0;
  private worst: { index: number; px: number } | null = null;

  constructor(
    private readonly path: string,
    private readonly known: readonly KnownFrame[],
    private readonly makeAnalyzer: () => FrameAnalyzer,
    private readonly width: number,
    private readonly height: number,
  ) {
    const n = known.length;
    for (let j = 1; j <= MOTION_CHECK_PAIRS; j++) {
      const k = Math.round((n * j) / (MOTION_CHECK_PAIRS + 1));
      if (k >= 1 && k < n) this.pairs.add(k);
    }
  }

  /** Sees decoded frame `index` (luma plane y); throws E_MOTION_FILE_MISMATCH once most pairs disagree. */
  see(index: number, y: Uint8Array): void {
    if (this.pairs.has(index + 1)) {
      // A fresh analyzer per pair: its first frame is the pair's first, with no seed from elsewhere.
      this.analyzer = this.makeAnalyzer();
      this.analyzer.analyze(index, y);
    }
    if (!this.pairs.has(index) || this.analyzer === null) return;
    const fresh = this.analyzer.analyze(index, y);
    this.analyzer = null;
    const given = this.known[index];
    if (given === undefined || !given.ok || !Number.isFinite(given.cc) || !fresh.ok || !(fresh.cc >= MOTION_CHECK_MIN_CC)) return;
    const px = centreDistancePx(fresh.motion, given.motion, this.width, this.height);
    if (px <= MOTION_CHECK_TOLERANCE_PX) {
      this.agree++;
      return;
    }
    this.disagree++;
    if (this.worst === null || px > this.worst.px) this.worst = { index, px };
    if (this.disagree >= 2 && this.disagree > this.agree) {
      const w = this.worst as { index: number; px: number };
      throw new InputError(
        'E_MOTION_FILE_MISMATCH',
        `Motion file ${JSON.stringify(this.path)} does not match the input: registered again, the motion into frame ${w.index} moves the centre ${w.px.toFixed(1)} px away from where the file's does (${this.disagree} of ${this.agree + this.disagree} frames checked disagree); write it from the same clip with the same --start/--duration`,
      );
    }
  }
}

/** Frame rate up to which the default smoothing radius is its number of frames (15: half a second at 30 fps). */
const DEFAULT_RADIUS_FPS = 30;
/** Most memory the frames held for a scaled default radius may take (the look-ahead of 4 radii). */
const DEFAULT_RADIUS_HELD_BYTES = 2 ** 30;

/**
 * The smoothing radius when none is given: the default's frames up to DEFAULT_RADIUS_FPS, above it the same
 * time (60 fps: 30 frames, 240 fps: 120): a radius in frames would smooth a 60 fps clip over half the time
 * and a slow-motion clip hardly at all. Within MAX_SMOOTHING_RADIUS, and at most what keeps the held
 * look-ahead (4 radii) under DEFAULT_RADIUS_HELD_BYTES (4K at 60 fps: 20 frames), never below the default.
 */
export function defaultSmoothingRadius(fps: number, width: number, height: number): number {
  const base = STABILIZE_DEFAULTS.smoothingRadius;
  if (!(fps > DEFAULT_RADIUS_FPS)) return base;
  const frameBytes = width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2);
  const byMemory = Math.floor((DEFAULT_RADIUS_HELD_BYTES / frameBytes - 4) / 4);
  return Math.max(base, Math.min(Math.round((base * fps) / DEFAULT_RADIUS_FPS), MAX_SMOOTHING_RADIUS, byMemory));
}

/** Stabilizes a video file; resolves with the summary when the output is complete. */
export async function stabilizeFile(given: StabilizeFileOptions): Promise<StabilizeSummary> {
  let o = given;
  const resolved: ResolvedStabilizeOptions = resolveStabilizeOptions(o, {
    model: '--model',
    reference: '--reference',
    smoother: '--smoother',
    smoothingRadius: '--smoothing',
    rotationWeight: '--rotation-weight',
    shakeWeight: '--shake-weight',
    maxShiftPx: '--max-shift',
    maxAngleRad: '--max-angle',
    zoom: '--zoom',
    border: '--border',
    interpolation: '--interpolation',
    analysisWidth: '--analysis-width',
  });
  checkOutputs(o);
  // ffmpeg's version-dependent options are read while ffprobe runs (each takes about 0.1 s to start).
  const probeOptions = { ...(o.framerate !== undefined ? { framerate: o.framerate } : {}), ...(o.signal !== undefined ? { signal: o.signal } : {}) };
  let [probe] = await Promise.all([probeVideo(o.input, probeOptions), loadFfmpegFeatures()]);
  // A raw H.264/HEVC stream is decoded at the rate its own timing declares, as if given with --framerate.
  const rawRate = await rawStreamFrameRate(o.input, probe, probeOptions);
  if (rawRate !== null) {
    o = { ...o, framerate: rawRate };
    probe = await probeVideo(o.input, { ...probeOptions, framerate: rawRate });
  }
  const rawRateNote = rawRate === null ? null : `frame rate ${Number(rawRate.toFixed(3))} fps, as the raw stream's own timing says (--framerate sets it)`;
  // An image sequence has no rate of its own: ffmpeg's default of 25 stands unless --framerate gives one.
  const sequenceNote = o.framerate === undefined && probe.format === 'image2' && (probe.frameCount ?? 2) > 1 ? `image sequence played at ${Number(probe.fps.toFixed(3))} fps, ffmpeg's default (--framerate sets it)` : null;
  // The motion file's format follows its extension: .csv is CSV, anything else JSON (said, unless .json).
  // With a motion file the registration options only serve its check of 8 frame pairs.
  const unusedWithFile = o.transformsIn === undefined ? [] : [o.model !== undefined ? '--model' : '', o.analysisWidth !== undefined ? '--analysis-width' : ''].filter((f) => f !== '');
  const transformsInNote = unusedWithFile.length === 0 ? null : `${unusedWithFile.join(' and ')} not used to stabilize: the motion comes from ${JSON.stringify(o.transformsIn)} (${unusedWithFile.length === 1 ? 'it serves' : 'they serve'} only its check of 8 frame pairs)`;
  const transformsNote = o.transforms !== undefined && !/\.(json|csv)$/i.test(o.transforms) ? `motion file ${JSON.stringify(o.transforms)} written as JSON (a .csv name gives CSV)` : null;
  const { width, height } = probe;
  // The default radius follows the frame rate (a radius given is taken as it is).
  const opts: ResolvedStabilizeOptions = o.smoothingRadius === undefined ? { ...resolved, smoothingRadius: defaultSmoothingRadius(probe.fps, width, height) } : resolved;
  // Frames are never enlarged for analysis: say so when the width asked for is above the frame's.
  const analysisNote =
    o.analysisWidth !== undefined && opts.analysisWidth > Math.max(width, height) ? `analysis at the frame's own size (${Math.max(width, height)} px): --analysis-width ${opts.analysisWidth} is larger, and frames are not enlarged` : null;
  const radiusNote = opts.smoothingRadius !== resolved.smoothingRadius ? `smoothing radius ${opts.smoothingRadius} frames: half a second at ${Number(probe.fps.toFixed(3))} fps (--smoothing sets it)` : null;
  if (width < 16 || height < 16) {
    throw new InputError('E_VIDEO_TOO_SMALL', `${JSON.stringify(o.input)} is ${width}x${height}; steady needs frames of at least 16x16 pixels`);
  }
  const started = performance.now();
  const total = probe.estimatedFrameCount === null ? null : estimateFrames(probe, o);
  const report = (phase: StabilizeProgress['phase'], framesDone: number) =>
    o.onProgress?.({ phase, framesDone, framesTotal: total, elapsedSec: (performance.now() - started) / 1000 });

  // Motions known before warping: from a file, or from a first pass for whole-clip modes.
  let knownFrames: KnownFrame[] | null = o.transformsIn ? await readMotions(o.transformsIn, probe) : null;
  const wholeClip = o.wholeClip === true;
  let failedFirstPass = 0;
  let objectsFirstPass = 0;
  if (knownFrames === null && wholeClip) {
    if (o.input === '-') throw new InputError('E_BAD_OPTION', '--whole-clip reads the input twice and cannot read standard input; leave it out (one decode plans over a look-ahead window)');
    const analyzer = createFrameAnalyzer(stabilizerSettingsFor(opts, width, height, null).analyzer, downscaleYInto);
    const decoder = await openDecoder(o.input, decoderOptions(o, probe));
    knownFrames = [];
    try {
      for await (const f of decoder.frames()) {
        if (o.signal?.aborted) throw new InterruptedError(o.signal.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT');
        const a = analyzer.analyze(f.index, f.y);
        // Keep the outcome too, so the motion file says which frames failed in the first pass.
        knownFrames.push({ motion: Float64Array.from(a.motion), ok: a.ok, cc: a.cc, fromReference: Float64Array.from(a.fromReference), referenceIndex: a.referenceIndex });
        if (f.index % 10 === 0) report('analyse', f.index + 1);
      }
    } finally {
      await decoder.close();
    }
    failedFirstPass = analyzer.failedFrames;
    objectsFirstPass = analyzer.objectFrames;
  }

  const known: Mat3[] | null = knownFrames === null ? null : knownFrames.map((f) => f.motion);
  const motionCheck =
    o.transformsIn && knownFrames !== null
      ? new MotionFileCheck(o.transformsIn, knownFrames, () => createFrameAnalyzer(stabilizerSettingsFor(opts, width, height, null).analyzer, downscaleYInto), width, height)
      : null;
  // Frames the motion file says failed count as failed, as they did when it was written.
  const failedInFile = o.transformsIn && knownFrames !== null ? knownFrames.filter((f) => !f.ok).length : 0;
  const decoder: Decoder = await openDecoder(o.input, decoderOptions(o, probe));
  const timing = variableTimingFor(probe, o.framerate !== undefined);
  const outputs = [o.output, ...(o.compare !== undefined ? [o.compare] : [])];
  const spacing = evenSpacingWatch(timing, outputs);
  const conversion = conversionNote(
    probe,
    outputs.filter((f) => !containerKeepsColourTags(f)),
  );
  // The input's global metadata (creation time, location, make and model) goes to the outputs.
  const metadataFrom = metadataSourceOf(o.input, probe, o.framerate !== undefined);
  const encoderCommon = {
    fps: timing.fps,
    ...(metadataFrom !== undefined ? { metadataFrom } : {}),
    colour: deliveredColour(probe),
    sampleAspectRatio: probe.sampleAspectRatio,
    ...(timing.encoderTimeBase !== null ? { timeBase: timing.encoderTimeBase, ...(timing.constantRate ? { constantRate: true } : {}) } : {}),
    ...(o.crf !== undefined ? { crf: o.crf } : {}),
    ...(o.preset !== undefined ? { preset: o.preset } : {}),
    ...(o.codec !== undefined ? { codec: o.codec } : {}),
    ...(o.threads !== undefined ? { threads: o.threads } : {}),
    ...(o.signal !== undefined && !o.keepPartial ? { signal: o.signal } : {}),
  };
  const audio = {
    // The input file, or the file standard input was kept in ('-' otherwise: the encoder says why no sound).
    audioFrom: probe.spooledPath ?? o.input,
    audioProbe: probe,
    ...(o.startSec !== undefined ? { audioStartSec: o.startSec } : {}),
    ...(o.durationSec !== undefined ? { audioDurationSec: o.durationSec } : {}),
  };
  let encoder: Encoder | null = null;
  let compare: Encoder | null = null;
  let compareBuf: Uint8Array | null = null;
  // The two views at half size, for a compare video too large at full size (reused frame to frame).
  let compareHalves: { input: YuvPlanes; output: YuvPlanes } | null = null;
  let compareNote: string | null = null;
  let motionOut: Awaited<ReturnType<typeof openMotionWriter>> | null = null;
  let frames = 0;
  let zoomSum = 0;
  let maxZoom = 1;
  let interrupted: InterruptedError | null = null;
  try {
    // Asking for the first frame starts ffmpeg now: it takes about 0.1 s to give its first frame, and the
    // encoder and the stabilizer's buffers are set up meanwhile.
    const frameSource = decoder.frames();
    const firstFrame = frameSource.next();
    // Awaited by the loop below; failing before that must not count as an unhandled rejection.
    firstFrame.catch(() => {});
    // Where the first frame goes against the audio. Read from the decoder's timestamps when it has them
    // (after the start point by up to a gap of the source): the encoder then starts once that frame is
    // here. Else from the probe: a video stream that starts after the file's audio does so in the
    // output too.
    let offsetSec = 0;
    if (decoderReadsTimes(o, probe)) {
      await firstFrame;
      offsetSec = decoder.timeOffsetSec;
    } else if (keepsAudio(o, probe)) {
      offsetSec = Math.max(0, probe.startTimeSec - probe.formatStartSec);
    }
    const offset = timing.encoderTimeBase !== null || offsetSec > 0 ? { timeOffsetSec: offsetSec } : {};
    const offsetNote = offsetSec * probe.fps >= NOTED_VIDEO_OFFSET_FRAMES ? `the first frame comes ${offsetSec.toFixed(2)} s after the start of the sound (${o.startSec !== undefined && o.startSec > 0 ? 'where the seek to --start found a frame to start from, or as the input has it' : 'as the input has it'}; an .mp4 or .mov shows the first frame until then)` : null;
    encoder = await openEncoder(o.output, { width, height, rotationDeg: probe.rotationDeg, ...encoderCommon, ...offset, ...audio });
    const stabilizer: Stabilizer = createStabilizer(stabilizerSettingsFor(opts, width, height, known), downscaleYInto);
    checkHeldFrameMemory(width, height, stabilizer.latencyFrames);
    // Frames are read from the pipe straight into the look-ahead slot they are kept in (the first one, asked
    // for before the stabilizer existed, may have been put together elsewhere: push then copies it).
    decoder.setFrameBuffer(() => stabilizer.nextFrameBuffer());
    o.onStabilizer?.(stabilizer);
    if (o.transforms) motionOut = await openMotionWriter(o.transforms, width, height, probe.fps);
    if (o.compare) {
      // Side by side as the clip displays: a clip shown turned a quarter (portrait phone video) is stacked
      // top to bottom in its stored orientation, which the display rotation turns into left and right.
      // Each half is padded to an even size so that both halves' chroma lines up (see compareInto).
      // Past what players take (4K side by side), each view at half size.
      const stacked = stackedForRotation(probe.rotationDeg);
      if (compareAtHalfSize(width, height, stacked)) {
        const full = compareSize(width, height, stacked);
        compareHalves = { input: halfSizePlanes(width, height), output: halfSizePlanes(width, height) };
        compareNote = `compare video at half size: side by side at full size it would be ${full.width}x${full.height}, more than most players and hardware decoders take`;
      }
      const size = compareHalves === null ? compareSize(width, height, stacked) : compareSize(Math.ceil(width / 2), Math.ceil(height / 2), stacked);
      compare = await openEncoder(o.compare, { width: size.width, height: size.height, rotationDeg: probe.rotationDeg, ...encoderCommon, ...offset, ...audio });
      compareBuf = new Uint8Array(size.width * size.height + 2 * (size.width / 2) * Math.ceil(size.height / 2));
    }
    const emit = async (s: StabilizedFrame) => {
      // With variable timing, each frame goes at its own time (encoder `timeBase`).
      await (encoder as Encoder).write(s.output);
      spacing.see(frames, s.output.timeSec);
      if (compare && compareBuf) {
        if (compareHalves !== null) {
          halveInto(compareHalves.input, s.input);
          halveInto(compareHalves.output, s.output);
        }
        await compare.write(compareInto(compareBuf, compareHalves ?? s, stackedForRotation(probe.rotationDeg)), s.output.timeSec);
      }
      if (motionOut) await motionOut.write(s.motion);
      o.onFrame?.(s);
      frames++;
      zoomSum += s.motion.zoom;
      if (s.motion.zoom > maxZoom) maxZoom = s.motion.zoom;
      if (frames % 10 === 0) report('stabilize', frames);
    };
    for (let next = await firstFrame; next.done !== true; next = await frameSource.next()) {
      const f = next.value;
      if (o.signal?.aborted) {
        interrupted = new InterruptedError(o.signal.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT');
        break;
      }
      if (o.transformsIn && known !== null && f.index >= known.length) {
        // Registering the rest would start from a frame the analyzer never saw; the file must cover the clip.
        throw new InputError(
          'E_MOTION_FILE_FRAMES',
          `Motion file ${JSON.stringify(o.transformsIn)} has ${known.length} frames but the input has more; write it from the same clip with the same --start/--duration`,
        );
      }
      motionCheck?.see(f.index, f.y);
      const given = knownFrames?.[f.index] ?? null;
      stabilizer.push(f, performance.now(), given === null ? null : given.motion, given);
      for (let s = stabilizer.pull(); s !== null; s = stabilizer.pull()) await emit(s);
    }
    if (!interrupted && known !== null && o.transformsIn && decoder.framesDecoded !== known.length) {
      // Motions for more frames than the clip has come from another clip or another cut of it.
      throw new InputError(
        'E_MOTION_FILE_FRAMES',
        `Motion file ${JSON.stringify(o.transformsIn)} has ${known.length} frames but the input has ${decoder.framesDecoded}; write it from the same clip with the same --start/--duration`,
      );
    }
    if (!interrupted && decoder.framesDecoded === 0) {
      // An empty output would look like success; say why there is nothing instead.
      const from = o.startSec !== undefined ? ` from ${o.startSec} s (the input lasts ${probe.durationSec === null ? 'an unknown time' : `${probe.durationSec.toFixed(3)} s`})` : '';
      // A start point at or before the last frame's time that gives nothing: the seek found no keyframe to
      // decode from. (Past the last frame's start, within its length, there is no frame to give.)
      const inside = o.startSec !== undefined && o.startSec > 0 && probe.durationSec !== null && o.startSec <= probe.durationSec - 1 / probe.fps + 1e-6;
      const why = inside ? `: ffmpeg's seek found no keyframe to start from there; start earlier, or re-encode the file with more keyframes (ffmpeg -i in -g 60 ...)` : '; check --start and --duration';
      throw new InputError('E_NO_FRAMES', `No video frames to stabilize in ${JSON.stringify(o.input)}${from}${why}`);
    }
    if (!interrupted || o.keepPartial) {
      // With --keep-partial the frames still held for the look-ahead are finished too: every frame
      // decoded before the signal is in the kept file.
      stabilizer.finish();
      for (let s = stabilizer.pull(); s !== null; s = stabilizer.pull()) await emit(s);
    }
    // Interrupted before any frame was done: an empty file is not a playable prefix, keep nothing.
    if (interrupted && (!o.keepPartial || frames === 0)) throw interrupted;
    // The motion file is completed first: if that fails, no video is left under its final name either.
    if (motionOut) await motionOut.close();
    // A kept partial file stops its sound where its pictures stop. Every file is finished before any is
    // renamed into place: a failure or a signal while one is finishing leaves none of them.
    const finishing = { ...(interrupted ? { endAudioWithVideo: true } : {}), commit: false };
    const result = await encoder.finish(finishing);
    if (compare) await compare.finish(finishing);
    await encoder.commit();
    await compare?.commit();
    if (motionOut) await motionOut.rename();
    // Of the encoder's notes, a kept prefix reports what befell it (its sound left uncut).
    if (interrupted) throw Object.assign(interrupted, { partialOutput: o.output, partialNotes: result.notes.filter((n) => /could not be cut/.test(n)) });
    const seconds = (performance.now() - started) / 1000;
    const objectFrames = stabilizer.objectFrames + objectsFirstPass;
    const objectNote =
      objectFrames === 0
        ? null
        : `parts of the frame that moved otherwise than the rest (something crossing it, near things in a pan) were left out of the registration in ${objectFrames} frame${objectFrames === 1 ? '' : 's'}: the camera's motion was measured on the rest`;
    return {
      frames,
      failedFrames: stabilizer.failedFrames + failedFirstPass + failedInFile,
      fps: frames / seconds,
      zoom: frames > 0 ? zoomSum / frames : 1,
      maxZoom,
      seconds,
      output: o.output,
      audio: result.audio,
      notes: [
        ...(conversion === null ? [] : [conversion]),
        ...result.notes,
        ...(spacing.note() === null ? [] : [spacing.note() as string]),
        ...(offsetNote === null ? [] : [offsetNote]),
        ...(rawRateNote === null ? [] : [rawRateNote]),
        ...(sequenceNote === null ? [] : [sequenceNote]),
        ...(transformsNote === null ? [] : [transformsNote]),
        ...(transformsInNote === null ? [] : [transformsInNote]),
        ...(radiusNote === null ? [] : [radiusNote]),
        ...(analysisNote === null ? [] : [analysisNote]),
        ...(compareNote === null ? [] : [compareNote]),
        ...(objectNote === null ? [] : [objectNote]),
      ],
      partial: false,
    };
  } catch (err) {
    // Only a partial file that was completed (partialOutput set) stays; anything else is removed.
    if (!(err instanceof InterruptedError && (err as { partialOutput?: string }).partialOutput !== undefined)) {
      await encoder?.abort();
      await compare?.abort();
      await motionOut?.discard();
    }
    throw err;
  } finally {
    await decoder.close();
  }
}

function estimateFrames(probe: VideoProbe, o: StabilizeFileOptions): number | null {
  const n = probe.estimatedFrameCount;
  if (n === null) return null;
  const start = Math.round((o.startSec ?? 0) * probe.fps);
  const left = Math.max(0, n - start);
  return o.durationSec !== undefined ? Math.min(left, Math.round(o.durationSec * probe.fps)) : left;
}

/** Whether the compare video stacks its halves top to bottom (stored orientation) for this display rotation. */
export function stackedForRotation(rotationDeg: number): boolean {
  return rotationDeg === 90 || rotationDeg === 270;
}

/** Size of the compare video: two halves, each padded to even sides, left and right or top and bottom. */
export function compareSize(w: number, h: number, stacked: boolean): { width: number; height: number } {
  const ew = 2 * Math.ceil(w / 2);
  const eh = 2 * Math.ceil(h / 2);
  return stacked ? { width: ew, height: 2 * eh } : { width: 2 * ew, height: h };
}

/**
 * Largest compare video made at full size, pixels: H.264 level 5.1's 4096x2304, what most players and
 * hardware decoders take. A larger one (4K side by side: 7680x2160) is made at half size.
 */
const COMPARE_MAX_WIDTH = 4096;
const COMPARE_MAX_HEIGHT = 2304;

/** Whether the compare video of w x h frames is made at half size (see COMPARE_MAX_WIDTH). */
export function compareAtHalfSize(w: number, h: number, stacked: boolean): boolean {
  const size = compareSize(w, h, stacked);
  return size.width > COMPARE_MAX_WIDTH || size.height > COMPARE_MAX_HEIGHT;
}

/** The planes of a 4:2:0 picture. */
export type YuvPlanes = Pick<YuvFrame, 'width' | 'height' | 'y' | 'u' | 'v'>;

/** Buffers for a w x h picture at half size (ceil(w / 2) x ceil(h / 2)), for halveInto. */
export function halfSizePlanes(w: number, h: number): YuvPlanes {
  const hw = Math.ceil(w / 2);
  const hh = Math.ceil(h / 2);
  const c = Math.ceil(hw / 2) * Math.ceil(hh / 2);
  return { width: hw, height: hh, y: new Uint8Array(hw * hh), u: new Uint8Array(c), v: new Uint8Array(c) };
}

/** dst = src at half size: each sample the rounded mean of a 2x2 block (an odd last row / column with itself). */
export function halveInto(dst: YuvPlanes, src: YuvPlanes): YuvPlanes {
  const halvePlane = (d: Uint8Array, s: Uint8Array, sw: number, sh: number) => {
    const dw = Math.ceil(sw / 2);
    const dh = Math.ceil(sh / 2);
    for (let y = 0; y < dh; y++) {
      const r0 = 2 * y * sw;
      const r1 = Math.min(2 * y + 1, sh - 1) * sw;
      for (let x = 0; x < dw; x++) {
        const x0 = 2 * x;
        const x1 = Math.min(x0 + 1, sw - 1);
        d[y * dw + x] = ((s[r0 + x0] as number) + (s[r0 + x1] as number) + (s[r1 + x0] as number) + (s[r1 + x1] as number) + 2) >> 2;
      }
    }
  };
  halvePlane(dst.y, src.y, src.width, src.height);
  halvePlane(dst.u, src.u, Math.ceil(src.width / 2), Math.ceil(src.height / 2));
  halvePlane(dst.v, src.v, Math.ceil(src.width / 2), Math.ceil(src.height / 2));
  return dst;
}

/**
 * Writes the input and the output of a frame as one 4:2:0 picture: left and right, or (stacked) top and
 * bottom, each half padded to even sides by repeating its last column / row, so that both halves' chroma
 * samples cover their own pixels. out: compareSize's width x height plus its chroma.
 */
export function compareInto(out: Uint8Array, s: { readonly input: YuvPlanes; readonly output: YuvPlanes }, stacked: boolean): Uint8Array {
  const { width: w, height: h } = s.input;
  const cw = Math.ceil(w / 2);
  const ch = Math.ceil(h / 2);
  const { width: ow, height: oh } = compareSize(w, h, stacked);
  const ocw = ow / 2;
  // Offsets of the second half in luma (x, y) and chroma (x, y).
  const [lx, ly, cx, cy] = stacked ? [0, 2 * ch, 0, ch] : [2 * cw, 0, cw, 0];
  const copyPlane = (src: Uint8Array, pw: number, ph: number, dst: number, stride: number, x0: number, y0: number, padW: number, padH: number) => {
    for (let y = 0; y < padH; y++) {
      const sy = y < ph ? y : ph - 1;
      const o = dst + (y0 + y) * stride + x0;
      out.set(src.subarray(sy * pw, sy * pw + pw), o);
      for (let x = pw; x < padW; x++) out[o + x] = src[sy * pw + pw - 1] as number;
    }
  };
  const uOff = ow * oh;
  const vOff = uOff + ocw * Math.ceil(oh / 2);
  const pads = stacked ? [2 * cw, 2 * ch] : [2 * cw, h];
  copyPlane(s.input.y, w, h, 0, ow, 0, 0, pads[0] as number, pads[1] as number);
  copyPlane(s.output.y, w, h, 0, ow, lx, ly, pads[0] as number, pads[1] as number);
  for (const [a, b, off] of [
    [s.input.u, s.output.u, uOff],
    [s.input.v, s.output.v, vOff],
  ] as const) {
    copyPlane(a, cw, ch, off, ocw, 0, 0, cw, ch);
    copyPlane(b, cw, ch, off, ocw, cx, cy, cw, ch);
  }
  return out;
}

/** A motion file written under a temporary name, committed at the end. */
async function openMotionWriter(path: string, width: number, height: number, fps: number) {
  const temp = createTempOutput(path);
  const enc = new MotionFileEncoder({ width, height, fps }, motionFormatFromPath(path), { stabilization: true });
  // A write that fails (a full disk, a removed folder) is a runtime failure that names the file.
  const failed = (err: unknown): RuntimeError =>
    new RuntimeError('E_OUTPUT_WRITE', `Cannot write the motion file ${JSON.stringify(path)}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  let fh: Awaited<ReturnType<typeof openFile>> | null = null;
  let closed = false;
  const discard = async () => {
    if (!closed) await fh?.close().catch(() => {});
    closed = true;
    await temp.discard();
  };
  try {
    fh = await openFile(temp.tempPath, 'w');
    await fh.write(enc.begin());
  } catch (err) {
    await discard();
    throw failed(err);
  }
  const file = fh;
  return {
    async write(m: FrameMotion) {
      await file.write(enc.encodeFrame(m)).catch((err: unknown) => {
        throw failed(err);
      });
    },
    /** Ends and closes the file (still under its temporary name). */
    async close() {
      try {
        await file.write(enc.end());
        await file.close();
        closed = true;
      } catch (err) {
        await discard();
        throw failed(err);
      }
    },
    /** Renames the closed file to its final name. */
    async rename() {
      try {
        await temp.commit();
      } catch (err) {
        await discard();
        throw failed(err);
      }
    },
    discard,
  };
}
