/**
 * `steady metrics <video> [--original <input>]`: how steady a video is, as numbers (ITF, stability,
 * and with the original also cropping and distortion; formulas in docs/metrics.md and
 * metrics/video-metrics.ts) and, with `--plot`, as a picture of its camera path.
 *
 * Frames are decoded once as 8-bit full-range gray (ffmpeg `-pix_fmt gray`, the frames the ITF is defined
 * on), each ffmpeg spawned directly through the process registry and cut into frames by the frame
 * splitter. Registration runs on an analysis copy shrunk by area averaging to at most
 * `--analysis-width` px wide; motions are carried back to the video's pixels exactly.
 */
import { writeFile } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { InputError, InterruptedError, RuntimeError, SteadyError, UsageError } from '../errors.js';
import { createGrayImage, type GrayImage, grayFromBytesInto } from '../image/gray-image.js';
import { resizeMatrixInto } from '../image/resize.js';
import { renderMotionPlotSvg } from '../metrics/plot-svg.js';
import { cameraPathFromMotions, croppingAndDistortion, ItfAccumulator, stabilityScore } from '../metrics/video-metrics.js';
import { invertInto, type Mat3, multiplyInto } from '../motion/mat3.js';
import { getMotionModel } from '../motion/models.js';
import type { ModelName } from '../motion/model-name.js';
import { createEccPyramid, type EccPyramid } from '../register/ecc-pyramid.js';
import { expectInteger } from '../validate.js';
import { downscaleYInto } from '../video/analysis.js';
import { ffmpegFeatures, passthroughArgs, resolveFfmpeg } from '../video/binaries.js';
import { PartialFrameError, splitFrames } from '../video/frame-splitter.js';
import { probeVideo, type VideoProbe } from '../video/probe.js';
import { killAndWait, spawnTracked, TailBuffer, waitForExit, whenAborted } from '../video/process-registry.js';
import { checkOutputWritable, createTempOutput } from '../video/temp-output.js';
import { type CommandSpec, flagBool, flagString, type ParsedArgs } from './args.js';
import type { Command, CommandContext } from './command.js';
import { ffmpegInputPath } from '../video/ffmpeg-path.js';

const spec: CommandSpec = {
  name: 'metrics',
  usage: 'metrics <video> [--original <input video>] [--json] [--plot plot.svg]',
  summary: 'measure how steady a video is: ITF, stability, cropping, distortion',
  description: [
    'itf: mean PSNR (dB) of consecutive 8-bit gray frames, whole frame, each pair capped at 100 dB.',
    'stability: the frame-to-frame euclidean motion (steady\'s ECC) accumulated into a camera path (x, y,',
    'angle); per component the energy in FFT bins 1-5 over bins 1..N/2; the minimum of the three (1 = steady).',
    'cropping and distortion need --original (the video this one was made from, same size and length): each',
    'output frame is registered onto its input frame (affine); with A the input-to-output transform, cropping is',
    'the mean of 1/sqrt(|det A|) (a 1.25 zoom gives 0.8) and distortion the smallest ratio of its singular values.',
    'Without --original they are null. Formulas: docs/metrics.md (after Liu et al. 2013, "Bundled camera paths").',
  ].join('\n'),
  flags: [
    { name: 'original', type: 'string', value: 'VIDEO', help: 'the input the video was made from (enables cropping and distortion)' },
    { name: 'json', type: 'boolean', help: 'print one JSON line with the metrics and nothing else on stdout' },
    { name: 'plot', type: 'string', value: 'FILE.svg', help: 'write an SVG picture of the camera path (x, y, angle) and per-frame cc' },
    { name: 'analysis-width', type: 'string', value: 'PX', help: 'register frames shrunk to at most this width (32..4096)', defaultText: '640' },
  ],
  examples: [
    'steady metrics steady.mp4 --original shaky.mp4           # all four numbers, before and after',
    'steady metrics shaky.mp4 --json                          # ITF and stability as one JSON line',
    'steady metrics steady.mp4 --original shaky.mp4 --plot path.svg',
  ],
  positionals: { min: 1, max: 1, names: '<video>' },
};

/**
 * A measured path component that stays within this many pixels of its mean (the angle: this many pixels
 * of motion at the frame's corner) did not move: its stability is 1, not a ratio of noise energies.
 */
export const MEASURED_PATH_TOL_PX = 0.02;

/** Smallest frame side measured, pixels (as `steady stabilize` and `steady track`: registration needs some pixels). */
const MIN_SIDE_PX = 16;

/** What `steady metrics --json` prints. */
export interface MetricsReport {
  readonly video: string;
  readonly original: string | null;
  readonly frames: number;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  /** Mean PSNR of consecutive frames, dB. */
  readonly itf: number;
  /** min(x, y, angle) stability, 0..1. */
  readonly stability: number;
  readonly stabilityXYAngle: { readonly x: number; readonly y: number; readonly angle: number };
  /** Mean 1/sqrt(|det A|) (null without --original). */
  readonly cropping: number | null;
  /** Min sigma_min/sigma_max of A (null without --original). */
  readonly distortion: number | null;
  /** Frame pairs whose frame-to-frame registration failed (their motion counts as none). */
  readonly failedRegistrations: number;
  /** Output frames that could not be registered onto their input frame (left out of cropping/distortion). */
  readonly failedCropRegistrations: number | null;
  /** Stability of the original, when given (for comparison). */
  readonly originalStability: number | null;
  /** ITF of the original, when given. */
  readonly originalItf: number | null;
}

/** Registers consecutive analysis frames with warm start (the last motion), falling back to the identity. */
class PairRegistrar {
  private readonly ecc: EccPyramid;
  private readonly last = Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);
  constructor(width: number, height: number, model: ModelName) {
    this.ecc = createEccPyramid(width, height, { model: getMotionModel(model), levels: 'auto', iterations: 50, epsilonPx: 0.01, gaussianSize: 5 });
  }
  /** W (fixed -> moving pixel coordinates) or null, and cc. */
  register(fixed: GrayImage, moving: GrayImage, setFixed = true): { matrix: Mat3 | null; cc: number } {
    if (setFixed) this.ecc.setFixed(fixed, null);
    this.ecc.setMoving(moving, null);
    let r = this.ecc.run(this.last, 'seed');
    if (!r.ok || r.cc < 0.5) {
      const r2 = this.ecc.run(null, 'identity');
      if (r2.ok && (!r.ok || r2.cc > r.cc)) r = r2;
    }
    if (!r.ok) return { matrix: null, cc: Number.NaN };
    this.last.set(r.matrix);
    return { matrix: r.matrix, cc: r.cc };
  }
}

/** An 8-bit full-range gray frame source (ffmpeg `-pix_fmt gray`). */
async function* decodeGray(input: string, probe: VideoProbe, signal: AbortSignal): AsyncGenerator<Uint8Array, void, undefined> {
  const ffmpeg = resolveFfmpeg().path;
  const { displayWidth: w, displayHeight: h } = probe;
  const args = [
    '-hide_banner',
    '-nostats',
    '-loglevel',
    'error',
    '-nostdin',
    '-i',
    ffmpegInputPath(input),
    '-map',
    probe.videoMap,
    '-an',
    '-sn',
    '-dn',
    ...passthroughArgs(ffmpegFeatures(ffmpeg)),
    '-vf',
    `scale=${w}:${h}`,
    '-pix_fmt',
    'gray',
    '-f',
    'rawvideo',
    'pipe:1',
  ];
  const proc = spawnTracked(ffmpeg, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  const stderr = new TailBuffer(4096);
  proc.stderr?.on('data', (c: Buffer) => stderr.push(c));
  const onAbort = () => proc.kill('SIGKILL');
  whenAborted(signal, onAbort);
  // 'exit' can come before the last of stderr was read; 'close' comes after both pipes ended.
  const closed = new Promise<void>((resolve) => proc.once('close', () => resolve()));
  const spawnFailed = new Promise<void>((resolve) => proc.once('error', () => resolve()));
  let frames = 0;
  try {
    let partial: PartialFrameError | null = null;
    try {
      for await (const f of splitFrames(proc.stdout as Readable, w * h)) {
        frames++;
        yield f;
      }
    } catch (err) {
      if (!(err instanceof PartialFrameError)) throw err;
      partial = err;
    }
    const { code, signal: sig } = await waitForExit(proc);
    await Promise.race([closed, spawnFailed]);
    if (signal.aborted) return;
    const said = () => (stderr.toString() ? `; ffmpeg said: ${stderr.toString()}` : '');
    if (code !== 0 && sig === null && frames === 0) {
      throw new InputError('E_NO_FRAMES', `${JSON.stringify(input)} has a video stream but no frame could be decoded from it (ffmpeg exited with code ${code})${said()}`);
    }
    if (code !== 0) {
      throw new RuntimeError('E_DECODE_FAILED', `Decoding ${JSON.stringify(input)} failed after ${frames} frames: ffmpeg ${sig ? `was killed by ${sig}` : `exited with code ${code}`}${said()}`);
    }
    if (partial !== null) {
      throw new RuntimeError('E_DECODE_FAILED', `Decoding ${JSON.stringify(input)} failed after ${frames} frames: ffmpeg stopped inside a frame (${partial.partialBytes} of ${w * h} bytes)${said()}`);
    }
    // ffmpeg exits 0 on a truncated or corrupt file: errors in its log and frames missing from the count
    // the container announced mean the numbers would describe part of the video only. The file is
    // damaged: bad input, as the decoder of the other commands says (E_INPUT_CORRUPT, exit 2).
    if (stderr.toString() !== '' && probe.frameCount !== null && frames < probe.frameCount) {
      throw new InputError('E_INPUT_CORRUPT', `${JSON.stringify(input)} looks truncated or corrupt: ${frames} frames decoded of ${probe.frameCount}${said()}`);
    }
  } finally {
    signal.removeEventListener('abort', onAbort);
    await killAndWait(proc);
  }
}

/** Per-video measurements collected frame by frame. */
class VideoMotion {
  readonly itf = new ItfAccumulator();
  readonly motions: Mat3[] = [Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1)];
  readonly cc: number[] = [Number.NaN];
  failed = 0;
  private readonly registrar: PairRegistrar;
  private prev: GrayImage;
  private cur: GrayImage;
  private frames = 0;
  private readonly toAnalysis = new Float64Array(9);
  private readonly fromAnalysis = new Float64Array(9);
  private readonly tmp = new Float64Array(9);

  constructor(
    readonly width: number,
    readonly height: number,
    readonly aw: number,
    readonly ah: number,
  ) {
    this.registrar = new PairRegistrar(aw, ah, 'euclidean');
    this.prev = createGrayImage(aw, ah);
    this.cur = createGrayImage(aw, ah);
    resizeMatrixInto(this.toAnalysis, width, height, aw, ah);
    invertInto(this.fromAnalysis, this.toAnalysis);
  }

  /** The analysis image of the last frame added. */
  get current(): GrayImage {
    return this.cur;
  }

  /** Carries an analysis-grid matrix to the video's pixel grid. */
  toFull(m: Mat3): Mat3 {
    return multiplyInto(new Float64Array(9), this.fromAnalysis, multiplyInto(this.tmp, m, this.toAnalysis));
  }

  add(gray: Uint8Array): void {
    this.itf.add(gray);
    const swap = this.prev;
    this.prev = this.cur;
    this.cur = swap;
    if (this.aw === this.width && this.ah === this.height) grayFromBytesInto(this.cur, gray);
    else downscaleYInto(this.cur, gray, this.width, this.height);
    this.frames++;
    if (this.frames === 1) return;
    const r = this.registrar.register(this.prev, this.cur);
    if (r.matrix === null) {
      this.failed++;
      this.motions.push(Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1));
    } else {
      this.motions.push(this.toFull(r.matrix));
    }
    this.cc.push(r.cc);
  }
}

/** Centred moving average over 2r+1 samples (shrinking at the ends): the trend of a path. */
function movingAverage(v: ArrayLike<number>, r: number): Float64Array {
  const n = v.length;
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = 0;
    let c = 0;
    for (let j = Math.max(0, i - r); j <= Math.min(n - 1, i + r); j++) {
      s += v[j] as number;
      c++;
    }
    out[i] = s / c;
  }
  return out;
}

function round(x: number | null, digits: number): number | null {
  if (x === null || !Number.isFinite(x)) return null;
  const k = 10 ** digits;
  return Math.round(x * k) / k;
}

async function run(args: ParsedArgs, ctx: CommandContext): Promise<number> {
  const video = args.positionals[0] as string;
  const original = flagString(args, 'original') ?? null;
  const json = flagBool(args, 'json');
  const plot = flagString(args, 'plot');
  const maxWidth = expectInteger('--analysis-width', flagString(args, 'analysis-width') ?? '640', 32, 4096);
  if (plot !== undefined && !/\.svg$/i.test(plot)) {
    throw new UsageError('E_BAD_OPTION', `Expected a file name ending in .svg for --plot but received ${JSON.stringify(plot)}`);
  }
  if (video === '-' || original === '-') throw new UsageError('E_BAD_OPTION', 'steady metrics reads files, not standard input; give a path');
  // A plot that cannot be written is found before the video is read, not after.
  if (plot !== undefined) checkOutputWritable(plot);

  const probe = await probeVideo(video, { countPackets: true });
  const oprobe = original === null ? null : await probeVideo(original, { countPackets: true });
  const width = probe.displayWidth;
  const height = probe.displayHeight;
  if (oprobe !== null && (oprobe.displayWidth !== width || oprobe.displayHeight !== height)) {
    throw new InputError(
      'E_ORIGINAL_MISMATCH',
      `--original ${JSON.stringify(original)} is ${oprobe.displayWidth}x${oprobe.displayHeight} but ${JSON.stringify(video)} is ${width}x${height}; cropping and distortion compare frames of the same size`,
    );
  }
  // Lengths are compared frame by frame while decoding, not from the containers' counts: those can be
  // wrong (a header or packet count that includes packets which do not decode to frames).
  if (width < MIN_SIDE_PX || height < MIN_SIDE_PX) {
    throw new InputError('E_VIDEO_TOO_SMALL', `${JSON.stringify(video)} is ${width}x${height}; steady needs frames of at least ${MIN_SIDE_PX}x${MIN_SIDE_PX} pixels`);
  }
  const a = width <= maxWidth ? { width, height } : { width: maxWidth, height: Math.max(1, Math.round((height * maxWidth) / width)) };
  const out = new VideoMotion(width, height, a.width, a.height);
  const inp = oprobe === null ? null : new VideoMotion(width, height, a.width, a.height);
  const crop = oprobe === null ? null : new PairRegistrar(a.width, a.height, 'affine');
  const cropTransforms: Mat3[] = [];
  const cropCc: number[] = [];
  let cropFailed = 0;

  const itOut = decodeGray(video, probe, ctx.signal)[Symbol.asyncIterator]();
  const itIn = original === null || oprobe === null ? null : decodeGray(original, oprobe, ctx.signal)[Symbol.asyncIterator]();
  let frames = 0;
  try {
    for (;;) {
      const [o, i] = await Promise.all([itOut.next(), itIn === null ? Promise.resolve(null) : itIn.next()]);
      if (i !== null && o.done !== i.done) {
        const longer = o.done ? original : video;
        throw new InputError(
          'E_ORIGINAL_MISMATCH',
          `${JSON.stringify(longer)} has more frames than ${JSON.stringify(o.done ? video : original)} (which ends after ${frames}); --original must be the input this video was made from, with the same number of frames`,
        );
      }
      if (o.done) break;
      frames++;
      out.add(o.value);
      if (i !== null && inp !== null && crop !== null && !i.done) {
        inp.add(i.value);
        // Output frame (fixed) onto input frame (moving): W maps output to input pixels; A = W^-1.
        const r = crop.register(out.current, inp.current);
        cropCc.push(r.cc);
        if (r.matrix === null) cropFailed++;
        else cropTransforms.push(invertInto(new Float64Array(9), out.toFull(r.matrix)) as Mat3);
      }
    }
  } finally {
    await Promise.all([itOut.return?.(undefined), itIn?.return?.(undefined)]);
  }
  if (ctx.signal.aborted) throw new InterruptedError(ctx.signal.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT');
  if (frames < 2) {
    throw new InputError('E_TOO_FEW_FRAMES', `${JSON.stringify(video)} has ${frames} frame${frames === 1 ? '' : 's'}; steady metrics needs at least 2 (it compares consecutive frames)`);
  }

  const path = cameraPathFromMotions(out.motions, width, height);
  // Below what registration resolves, a path component did not move (docs/metrics.md).
  const tolerance = { xyPx: MEASURED_PATH_TOL_PX, angleRad: MEASURED_PATH_TOL_PX / (0.5 * Math.hypot(width, height)) };
  const stab = stabilityScore(path, tolerance);
  const cd = croppingAndDistortion(cropTransforms);
  const ipath = inp === null ? null : cameraPathFromMotions(inp.motions, width, height);
  const report: MetricsReport = {
    video,
    original,
    frames,
    width,
    height,
    fps: probe.fps,
    itf: round(out.itf.value(), 4) as number,
    stability: round(stab.score, 6) as number,
    stabilityXYAngle: { x: round(stab.x, 6) as number, y: round(stab.y, 6) as number, angle: round(stab.angle, 6) as number },
    cropping: cd === null ? null : round(cd.cropping, 6),
    distortion: cd === null ? null : round(cd.distortion, 6),
    failedRegistrations: out.failed,
    failedCropRegistrations: oprobe === null ? null : cropFailed,
    originalStability: ipath === null ? null : round(stabilityScore(ipath, tolerance).score, 6),
    originalItf: inp === null ? null : round(inp.itf.value(), 4),
  };

  if (plot !== undefined) {
    const name = video.split(/[\\/]/).pop() ?? video;
    const paths =
      ipath !== null
        ? [
            { label: `input (${(original as string).split(/[\\/]/).pop()})`, path: ipath, color: '#c0392b' },
            { label: `output (${name})`, path, color: '#1f6fb2' },
          ]
        : [
            { label: 'measured camera path', path, color: '#c0392b' },
            { label: 'trend (31-frame mean)', path: { x: movingAverage(path.x, 15), y: movingAverage(path.y, 15), angle: movingAverage(path.angle, 15) }, color: '#1f6fb2', dashed: true },
          ];
    const cc = inp !== null ? [{ label: 'input frame-to-frame', values: inp.cc, color: '#c0392b' }, { label: 'output frame-to-frame', values: out.cc, color: '#1f6fb2' }] : [{ label: 'frame-to-frame', values: out.cc }];
    const sub = [
      `ITF ${report.itf.toFixed(2)} dB`,
      `stability ${report.stability.toFixed(3)}`,
      ...(report.cropping !== null ? [`cropping ${report.cropping.toFixed(3)}`, `distortion ${(report.distortion as number).toFixed(3)}`] : []),
      ...(report.originalItf !== null ? [`input: ITF ${report.originalItf.toFixed(2)} dB, stability ${(report.originalStability as number).toFixed(3)}`] : []),
    ].join('   ');
    // Under a temporary name, renamed when complete: a full disk leaves no half-written plot.
    const temp = createTempOutput(plot);
    try {
      await writeFile(temp.tempPath, renderMotionPlotSvg({ title: `${name}: camera path, ${frames} frames, ${width}x${height}`, subtitle: sub, fps: probe.fps, paths, cc }));
      await temp.commit();
    } catch (err) {
      await temp.discard();
      if (err instanceof SteadyError) throw err;
      throw new RuntimeError('E_OUTPUT_WRITE', `cannot write --plot ${JSON.stringify(plot)}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  if (json) {
    ctx.stdout.write(`${JSON.stringify(report)}\n`);
  } else {
    const lines = [
      `${video}: ${frames} frames, ${width}x${height}${probe.fps ? ` at ${probe.fps.toFixed(3).replace(/\.?0+$/, '')} fps` : ''}`,
      `  itf         ${report.itf.toFixed(2)} dB${report.originalItf !== null ? `   (input ${report.originalItf.toFixed(2)} dB)` : ''}`,
      `  stability   ${report.stability.toFixed(4)}  (x ${report.stabilityXYAngle.x.toFixed(3)}, y ${report.stabilityXYAngle.y.toFixed(3)}, angle ${report.stabilityXYAngle.angle.toFixed(3)})${report.originalStability !== null ? `   (input ${report.originalStability.toFixed(4)})` : ''}`,
      `  cropping    ${report.cropping === null ? 'n/a (needs --original)' : report.cropping.toFixed(4)}`,
      `  distortion  ${report.distortion === null ? 'n/a (needs --original)' : report.distortion.toFixed(4)}`,
    ];
    if (out.failed > 0) lines.push(`  ${out.failed} frame pair${out.failed === 1 ? '' : 's'} could not be registered (counted as no motion)`);
    if (cropFailed > 0) lines.push(`  ${cropFailed} output frame${cropFailed === 1 ? '' : 's'} could not be registered onto the input (left out of cropping/distortion)`);
    if (plot !== undefined) lines.push(`  wrote plot: ${plot}`);
    ctx.stdout.write(`${lines.join('\n')}\n`);
  }
  return 0;
}

export const command: Command = { spec, run };
