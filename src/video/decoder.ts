/**
 * Decodes a video into raw YUV 4:2:0 8-bit frames by running ffmpeg with its stdout as a pipe of raw
 * frames, cut into exact-size frames by frame-splitter.ts.
 *
 * ffmpeg is spawned directly, not through fluent-ffmpeg: fluent builds command lines for files and
 * streams it manages itself, hides the child's stdout behind its own stream plumbing and gives no
 * handle to pause it frame by frame or kill it when the consumer stops; a raw frame pipe needs exactly
 * those. Every child goes through the process registry.
 *
 * Frame layout: one contiguous buffer per frame, Y (width x height), then U, then V (each
 * ceil(width/2) x ceil(height/2): ffmpeg rounds chroma up for odd sizes), all tightly packed. The plane
 * views are valid only until the next frame is pulled (the buffer is reused): copy to keep.
 *
 * Pixel formats: ffmpeg converts whatever the source is (10-bit, 4:2:2, 4:4:4, RGB, full-range JPEG
 * YUV) to limited-range yuv420p, 8 bits; 10-bit sources lose their two low bits there.
 *
 * Timestamps: frames are passed through as decoded (`-fps_mode passthrough`, `-vsync passthrough` on
 * ffmpeg before 5.1: no frame dropped or duplicated) and frame k is given ptsSec = start + k / fps with
 * the probed average frame rate. That is exact for constant-frame-rate input. For variable-frame-rate
 * input, ask for `timestamps`: the same ffmpeg then also writes each frame's own timestamp, in the
 * source's time base, as one line of its `framecrc` format (the frame itself wrapped, not copied) to a
 * third pipe (fd 3), flushed per frame; frame k's timeSec is its timestamp less the first frame's, and
 * `timeOffsetSec` says where the first frame is on the audio's clock (after the start point, by up to a gap
 * of the source). A timestamp that is missing or not after the previous one is replaced by the previous
 * time + 1 / fps.
 */
import type { ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import { InputError, InterruptedError, RuntimeError } from '../errors.js';
import type { YuvFrame } from '../stabilize/frame-types.js';
import { expectNumber, expectPositive, ffmpegSeconds } from '../validate.js';
import { ffmpegFeatures, passthroughArgs, resolveFfmpeg } from './binaries.js';
import { PartialFrameError, splitFrames } from './frame-splitter.js';
import { parseRational, type ProbeOptions, probeVideo, type VideoColour, type VideoProbe } from './probe.js';
import { killAndWait, OWN_PROCESS_GROUP, spawnTracked, TailBuffer, waitForExit, whenAborted } from './process-registry.js';
import { ffmpegInputPath } from './ffmpeg-path.js';

/** One decoded frame: YUV 4:2:0, 8-bit planes in one buffer. Valid until the next frame is pulled. */
export interface DecodedFrame extends YuvFrame {
  /** 0-based index in decode order (continues across loops with `loop`). */
  readonly index: number;
  /** Presentation time in the source, seconds: start + index / fps (with `timestamps`: start + timeOffsetSec + timeSec). */
  readonly ptsSec: number;
  /** Time from the first decoded frame, seconds: index / fps (with `timestamps`: the frame's own, less the first's). */
  readonly timeSec: number;
  readonly width: number;
  readonly height: number;
  /** ceil(width / 2). */
  readonly chromaWidth: number;
  /** ceil(height / 2). */
  readonly chromaHeight: number;
  /** The whole frame: Y, U, V back to back. */
  readonly data: Uint8Array;
  /** width * height luma samples, row-major. */
  readonly y: Uint8Array;
  /** chromaWidth * chromaHeight samples. */
  readonly u: Uint8Array;
  /** chromaWidth * chromaHeight samples. */
  readonly v: Uint8Array;
}

/** Frame times this close below a --duration's end count as at it, seconds (rounding of the time base). */
const DURATION_EPS_SEC = 1e-6;

/** Options of openDecoder. */
export interface DecoderOptions {
  /** Start decoding at this time, seconds (ffmpeg input `-ss`: accurate, decodes and drops earlier frames). @default 0 */
  readonly startSec?: number;
  /** Decode at most this many seconds (ffmpeg input `-t`). @default to the end */
  readonly durationSec?: number;
  /** Frame rate of an image sequence such as `frames/%04d.png` (ffmpeg `-framerate`), frames per second. */
  readonly framerate?: number | string;
  /** Input format (ffmpeg `-f`), e.g. `v4l2` for a camera, `lavfi` for a filter graph. @default guessed */
  readonly inputFormat?: string;
  /** Extra input options placed before `-i` (e.g. `['-video_size', '1280x720']`). @default [] */
  readonly inputOptions?: readonly string[];
  /** Read the input at its native frame rate (ffmpeg `-re`), as a live source would deliver it. @default false */
  readonly realtime?: boolean;
  /** Loop the input forever (ffmpeg `-stream_loop -1`); frame indices keep counting. @default false */
  readonly loop?: boolean;
  /**
   * Rotate frames to their display orientation (ffmpeg's autorotate). With false (`-noautorotate`)
   * frames come in stored orientation and the caller carries `probe.rotationDeg` to the output.
   * @default true
   */
  readonly autorotate?: boolean;
  /** Decoder threads (ffmpeg `-threads` on the input). @default ffmpeg's choice */
  readonly threads?: number;
  /** The probe of this input, when already done (saves one ffprobe run). @default probed here */
  readonly probe?: VideoProbe;
  /** Standard input to decode when the input is '-' (probed here unless `probe` is given, whose `stdin` replay is then used). @default process.stdin */
  readonly stdin?: Readable;
  /**
   * Accept a file that ends early. ffmpeg exits 0 on a truncated or corrupt file after decoding what
   * it can; without this option, when ffmpeg logged errors and fewer frames came than the probe
   * announced, the iteration ends with E_DECODE_FAILED (after the frames that did decode).
   * @default false
   */
  readonly allowPartial?: boolean;
  /**
   * Give each frame its own timestamp from the source (variable frame rate) instead of k / fps; see the
   * file comment. @default false
   */
  readonly timestamps?: boolean;
  /**
   * With `timestamps`: where the first frame is on the audio's clock, seconds, when the caller knows it
   * (from the probe, for an input read from its start): timeOffsetSec and the --duration cut use it. ffmpeg
   * starts its clock for a video-only output of some containers (MPEG-TS) at the first video frame, so
   * the first timestamp alone does not tell a video that starts after its sound. @default read from the
   * first frame's timestamp
   */
  readonly firstFrameOffsetSec?: number;
  /** Kills ffmpeg and ends the iteration with an error when aborted. */
  readonly signal?: AbortSignal;
  /** ffmpeg to run. @default resolveFfmpeg().path */
  readonly ffmpegPath?: string;
}

/** A video being decoded. Iterate it once (`for await (const f of decoder)`); breaking stops ffmpeg. */
export interface Decoder extends AsyncIterable<DecodedFrame> {
  /** What ffprobe said about the input. */
  readonly probe: VideoProbe;
  /** Width of the delivered frames (display width with autorotate, else stored width), pixels. */
  readonly width: number;
  /** Height of the delivered frames, pixels. */
  readonly height: number;
  readonly chromaWidth: number;
  readonly chromaHeight: number;
  /** Bytes per frame: width*height + 2*chromaWidth*chromaHeight. */
  readonly frameBytes: number;
  /** Frames per second of the timestamps. */
  readonly fps: number;
  /** The same rate as `num/den`, for the encoder. */
  readonly fpsRational: string;
  /** Display rotation still to apply to the delivered frames (0 with autorotate). */
  readonly rotationDeg: VideoProbe['rotationDeg'];
  /** The ffmpeg arguments (for logs and bug reports). */
  readonly args: readonly string[];
  /** Frames handed out so far. */
  readonly framesDecoded: number;
  /**
   * With `timestamps`: when the first frame comes after the start point (the source's start, or
   * startSec), seconds; frame times count from the first frame, so a frame is at timeOffsetSec + timeSec
   * on the audio's clock. 0 otherwise, or before the first frame.
   */
  readonly timeOffsetSec: number;
  /** The last few KiB of what ffmpeg logged (errors only), for warnings; empty when all went well. */
  readonly stderrTail: string;
  /** The frames; may be called once. */
  frames(): AsyncGenerator<DecodedFrame, void, undefined>;
  /**
   * Where the next frames are put together: `provider` is asked, as each frame is about to be assembled,
   * for a buffer of at least frameBytes (a frame's planes in yuv420p order) that the frame is written
   * into; the frame's data and planes are then views of it. The frame is read from the pipe into it once,
   * with no second copy by a consumer that keeps frames (the stabilizer's look-ahead ring). A frame that
   * arrived in one piece may still come as a view of the pipe's chunk. null: the decoder's own buffer.
   */
  setFrameBuffer(provider: (() => Uint8Array) | null): void;
  /** Stops ffmpeg if it runs and waits for it to exit. Safe to call at any time, more than once. */
  close(): Promise<void>;
}

/**
 * Reads ffmpeg's framecrc lines (`#tb 0: num/den`, then `stream, dts, pts, duration, size, crc` per frame)
 * and hands out each frame's pts in seconds, in order; null for a frame with no usable pts, or once the
 * stream has ended.
 */
class TimestampReader {
  private readonly times: (number | null)[] = [];
  private head = 0;
  private text = '';
  private tb = Number.NaN;
  private ended = false;
  private waiter: (() => void) | null = null;

  attach(stream: Readable): void {
    stream.setEncoding('utf8');
    stream.on('data', (chunk: string) => {
      this.text += chunk;
      let nl = this.text.indexOf('\n');
      while (nl >= 0) {
        this.line(this.text.slice(0, nl));
        this.text = this.text.slice(nl + 1);
        nl = this.text.indexOf('\n');
      }
      this.wake();
    });
    const end = (): void => {
      this.ended = true;
      this.wake();
    };
    stream.on('end', end);
    stream.on('close', end);
    stream.on('error', end);
  }

  private line(l: string): void {
    const tb = /^#tb 0: (\d+)\/(\d+)/.exec(l);
    if (tb !== null) {
      this.tb = Number(tb[1]) / Number(tb[2]);
      return;
    }
    if (l.startsWith('#') || l.trim() === '') return;
    const pts = Number(l.split(',')[2]);
    // AV_NOPTS_VALUE prints as -2^63: no usable time.
    this.times.push(Number.isFinite(pts) && pts > -(2 ** 62) && Number.isFinite(this.tb) ? pts * this.tb : null);
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = null;
    w?.();
  }

  /** The next frame's time, seconds (waits for its line). */
  async next(): Promise<number | null> {
    while (this.head >= this.times.length && !this.ended) await new Promise<void>((resolve) => (this.waiter = resolve));
    if (this.head >= this.times.length) return null;
    const t = this.times[this.head++] ?? null;
    if (this.head > 1024) {
      this.times.splice(0, this.head);
      this.head = 0;
    }
    return t;
  }
}

/** True for a source stored as RGB (or gray, or a palette): the decoder makes its YUV. */
function isRgbSource(probe: VideoProbe): boolean {
  return /^(rgb|bgr|gbr|argb|abgr|pal8|gray|ya|monob|monow)/.test(probe.pixFmt) || probe.colour.matrix === 'gbr';
}

/**
 * The matrix the decoder makes the YUV of an RGB source with: BT.709 for HD (720 lines or more), BT.601
 * below, as players take an untagged video of that size to be (ffmpeg's own default is BT.601 for all).
 */
export function rgbSourceMatrix(probe: VideoProbe): 'bt709' | 'smpte170m' {
  return (probe.height ?? 0) >= 720 ? 'bt709' : 'smpte170m';
}

/** True for a YUV source in full range (0-255 levels: yuvj formats, MJPEG, some phones): the decoder brings it to limited range. */
export function fullRangeSource(probe: VideoProbe): boolean {
  return !isRgbSource(probe) && (probe.pixFmt.startsWith('yuvj') || probe.colour.range === 'pc');
}

/**
 * The colour tags of the frames the decoder delivers: the source's primaries and transfer; its matrix,
 * or for an RGB source the one the decoder converts it with (rgbSourceMatrix);
 * limited range whenever the source says anything of its range (the decoder converts full range).
 */
export function deliveredColour(probe: VideoProbe): VideoColour {
  const c = probe.colour;
  const rgb = isRgbSource(probe);
  return {
    primaries: c.primaries,
    transfer: c.transfer,
    matrix: rgb ? rgbSourceMatrix(probe) : c.matrix,
    range: probe.pixFmt.startsWith('yuvj') || rgb || c.range !== null ? 'tv' : null,
  };
}

/**
 * What the conversion to 8-bit 4:2:0 takes from a source, for the user: a note when the source has more
 * than 8 bits or more chroma than 4:2:0 (HDR said as such: it stays tagged PQ / HLG, in 8 bits, except in
 * `untaggedFiles`, outputs whose format keeps no colour tags), or is in full range (brought to limited
 * range: 256 levels become 220); none for limited-range 8-bit 4:2:0 and for RGB images (their conversion
 * is expected).
 */
export function conversionNote(probe: VideoProbe, untaggedFiles: readonly string[] = []): string | null {
  const chroma = /^yuva?j?(4\d\d)/.exec(probe.pixFmt)?.[1] ?? null;
  const deeper = probe.bitDepth > 8;
  const richer = chroma !== null && chroma !== '420';
  // Full range is brought to limited range (what players expect of video): 256 levels become 220.
  const range = fullRangeSource(probe) ? `the input is full range (0-255): written as limited range (16-235), as players expect of video` : null;
  if (!deeper && !richer) return range;
  const hdr = probe.colour.transfer === 'smpte2084' ? 'PQ' : probe.colour.transfer === 'arib-std-b67' ? 'HLG' : null;
  const what = [deeper ? `${probe.bitDepth}-bit` : '', richer ? `${chroma?.[0]}:${chroma?.[1]}:${chroma?.[2]}` : ''].filter((x) => x !== '').join(' ');
  const untagged = untaggedFiles.map((f) => JSON.stringify(f)).join(' and ');
  const hdrText =
    hdr === null
      ? ''
      : `; it is HDR (${hdr}) and stays tagged as such, so smooth gradients may show banding${hdr === "PQ" ? "; its mastering-display and light-level metadata (HDR10), if any, are not carried over" : ""}${untaggedFiles.length === 0 ? '' : `, except in ${untagged}, whose format keeps no colour tags: its colours are converted there as if SDR and look flat (write .mp4, .mkv or .mov)`}`;
  return `the input is ${what} (${probe.pixFmt}): processed and written as 8-bit 4:2:0${hdrText}${range === null ? '' : `; it is full range (0-255), written as limited range (16-235)`}`;
}

/** Longest part of ffmpeg's log an error message quotes (characters). */
const MAX_QUOTED_LOG = 300;

/**
 * The last three different lines of an ffmpeg log, in order, joined by ' | ' and cut to MAX_QUOTED_LOG
 * characters: a damaged file makes ffmpeg repeat one complaint per packet.
 */
export function lastDistinctLines(log: string): string {
  const lines = log.split('\n').map((l) => l.trim()).filter((l) => l !== '');
  const kept: string[] = [];
  for (let i = lines.length - 1; i >= 0 && kept.length < 3; i--) {
    const l = lines[i] as string;
    if (!kept.includes(l)) kept.unshift(l);
  }
  const text = kept.join(' | ');
  return text.length > MAX_QUOTED_LOG ? `...${text.slice(text.length - MAX_QUOTED_LOG + 3)}` : text;
}

/** Bytes of one yuv420p frame of the given size (chroma planes rounded up for odd sizes). */
export function yuv420pFrameBytes(width: number, height: number): number {
  return width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2);
}

/** Builds ffmpeg's input arguments shared by the decoder and image reader. */
function inputArgs(input: string, options: DecoderOptions): string[] {
  const args: string[] = [];
  if (options.realtime === true) args.push('-re');
  if (options.loop === true) args.push('-stream_loop', '-1');
  if (options.autorotate === false) args.push('-noautorotate');
  if (options.threads !== undefined) args.push('-threads', String(options.threads));
  if (options.inputFormat !== undefined) args.push('-f', options.inputFormat);
  if (options.framerate !== undefined) args.push('-framerate', String(options.framerate));
  args.push(...(options.inputOptions ?? []));
  if (options.startSec !== undefined && options.startSec > 0) args.push('-ss', ffmpegSeconds(options.startSec));
  if (options.durationSec !== undefined) args.push('-t', ffmpegSeconds(options.durationSec));
  args.push('-i', input === '-' ? 'pipe:0' : ffmpegInputPath(input));
  return args;
}

/**
 * How many frames a clean decode should give, from the probe and the trim; null when unknown (live
 * inputs, loops, no count in the container). `exact` when the container stores the count and no trim
 * applies; otherwise a rounded estimate.
 */
function expectedFrames(input: string, probe: VideoProbe, options: DecoderOptions): { count: number; exact: boolean } | null {
  if (options.loop === true || input === '-' || options.inputFormat !== undefined) return null;
  const total = probe.frameCount ?? probe.estimatedFrameCount;
  if (total === null) return null;
  const start = options.startSec ?? 0;
  if (start === 0 && options.durationSec === undefined) return { count: total, exact: probe.frameCount !== null };
  let n = total - start * probe.fps;
  if (options.durationSec !== undefined) n = Math.min(n, options.durationSec * probe.fps);
  return { count: Math.max(0, Math.round(n)), exact: false };
}

/**
 * With timestamps: how many seconds of the source a clean decode covers, from the probe's duration and
 * the trim; null when unknown. `count` is in seconds here.
 */
function expectedSpan(input: string, probe: VideoProbe, options: DecoderOptions): { count: number; exact: boolean } | null {
  if (options.loop === true || input === '-' || options.inputFormat !== undefined || probe.durationSec === null) return null;
  // Matroska's duration is where the last frame ends on the file's clock, which may start after 0.
  const end = /matroska|webm/.test(probe.format) ? probe.durationSec - probe.startTimeSec : probe.durationSec;
  let span = end - (options.startSec ?? 0);
  if (options.durationSec !== undefined) span = Math.min(span, options.durationSec);
  return { count: Math.max(0, span), exact: false };
}

/** One tick of the stream's time base, seconds (1 µs when unknown). */
function tickOf(probe: VideoProbe): number {
  const tb = parseRational(probe.timeBase ?? undefined);
  return tb === null ? 1e-6 : tb.num / tb.den;
}

/**
 * With timestamps: puts a frame time (from the first frame) that lies within one tick of the source's time
 * base of the nominal rate's grid (r_frame_rate) exactly on it (what rounding to the tick moved), so that
 * a constant-rate file whose container rounds times (Matroska: 1 ms) keeps its exact rate; other times are
 * left as they are.
 */
function gridSnapper(probe: VideoProbe): (t: number) => number {
  const r = parseRational(probe.rFrameRate);
  if (r === null || probe.timeBase === null) return (t) => t;
  const rate = r.num / r.den;
  const tick = tickOf(probe);
  // A tick a sizeable part of a frame would move frames that are truly off the grid.
  if (!(tick * rate < 0.25)) return (t) => t;
  // Rounding to the tick moves a time by half a tick at most, and a time counted from the first frame
  // carries that frame's rounding too: one tick.
  const tolerance = tick * 1.000001;
  return (t) => {
    const onGrid = (Math.round(t * rate) * r.den) / r.num;
    return Math.abs(t - onGrid) <= tolerance ? onGrid : t;
  };
}

function validate(options: DecoderOptions): void {
  if (options.startSec !== undefined) expectNumber('startSec', options.startSec, 0, Number.POSITIVE_INFINITY);
  if (options.durationSec !== undefined) expectPositive('durationSec', options.durationSec);
  if (options.threads !== undefined) expectNumber('threads', options.threads, 0, 1024);
}

/** Read through a function so that TypeScript does not narrow `aborted` across awaits. */
function isAborted(signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true;
}

function abortError(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  if (r instanceof Error) return r;
  return new InterruptedError(r === 'SIGTERM' ? 'SIGTERM' : 'SIGINT');
}

/**
 * Opens a video for decoding: probes it (unless `options.probe` is given) and prepares ffmpeg, which
 * starts when the frames are first pulled and is killed when the loop ends early, throws, or `close()`
 * is called.
 * @param input a path, URL, device, lavfi graph (with inputFormat 'lavfi') or '-' for standard input.
 * @throws the probe's InputErrors (E_INPUT_NOT_FOUND, E_INPUT_EMPTY, E_NOT_VIDEO); while iterating,
 *   InputError E_NO_FRAMES when ffmpeg fails before the first frame (a stream with no decodable frame),
 *   RuntimeError E_DECODE_FAILED with ffmpeg's stderr tail when ffmpeg fails or stops mid-frame later.
 */
export async function openDecoder(inputGiven: string, options: DecoderOptions = {}): Promise<Decoder> {
  validate(options);
  const probeOptions: ProbeOptions = {
    ...(options.inputFormat !== undefined ? { inputFormat: options.inputFormat } : {}),
    ...(options.framerate !== undefined ? { framerate: options.framerate } : {}),
    ...(options.inputOptions !== undefined ? { inputOptions: options.inputOptions } : {}),
    ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
  };
  const probe = options.probe ?? (await probeVideo(inputGiven, probeOptions));
  // Standard input the probe kept in a file (an MP4 with its index at its end): decoded from the file.
  const input = inputGiven === '-' && probe.spooledPath !== undefined ? probe.spooledPath : inputGiven;
  const ffmpeg = options.ffmpegPath ?? resolveFfmpeg().path;
  const autorotate = options.autorotate !== false;
  const width = autorotate ? probe.displayWidth : probe.width;
  const height = autorotate ? probe.displayHeight : probe.height;
  const chromaWidth = Math.ceil(width / 2);
  const chromaHeight = Math.ceil(height / 2);
  const lumaBytes = width * height;
  const chromaBytes = chromaWidth * chromaHeight;
  const frameBytes = lumaBytes + 2 * chromaBytes;
  const features = ffmpegFeatures(ffmpeg);
  const passthrough = passthroughArgs(features);
  // The scale keeps every frame at the probed size even if the stream changes resolution midway (a no-op
  // otherwise); format converts 10-bit / 4:2:2 / RGB sources to 8-bit 4:2:0. Full-range sources are
  // brought to limited range, which ffmpeg versions otherwise do for some pixel formats and not others.
  // in_range: a 2018 ffmpeg skips the conversion when only the range differs unless told the input's.
  const inRange = probe.colour.range === 'pc' || probe.pixFmt.startsWith('yuvj') ? 'in_range=pc:' : '';
  // An RGB source is made YUV with the matrix players take for its size (deliveredColour tags it so).
  const rgbMatrix = isRgbSource(probe) ? `out_color_matrix=${rgbSourceMatrix(probe) === 'bt709' ? 'bt709' : 'bt601'}:` : '';
  const filters = `scale=${width}:${height}:${inRange}${rgbMatrix}out_range=tv,format=yuv420p`;
  const rawOut = [...passthrough, '-pix_fmt', 'yuv420p', '-f', 'rawvideo', 'pipe:1'];
  const args = [
    '-hide_banner',
    '-nostats',
    '-loglevel',
    'error',
    ...(input === '-' ? [] : ['-nostdin']),
    ...inputArgs(input, options),
    ...(options.timestamps === true
      ? [
          // One graph split in two, so that the frames are rotated (autorotate) and converted once: the
          // second output wraps each frame by reference (nothing copied or hashed but a small struct) and
          // writes its timestamp in the source's time base, one line per frame, flushed at once.
          '-filter_complex',
          `[${probe.videoMap}]${filters},split=2[frames][stamps]`,
          // The timestamps' output first: ffmpeg (before 6) serves its outputs in order, each with every
          // frame the graph has ready, so each frame's line is written before the frame itself. The other
          // way round, a decoder that hands out several frames at once (VP9, frame threads) had ffmpeg
          // block on the frames' pipe while steady waited for a timestamp it had not written yet.
          '-map',
          '[stamps]',
          ...passthrough,
          '-enc_time_base',
          probe.timeBase === null ? '-1' : probe.timeBase.replace('/', ':'),
          '-c:v',
          'wrapped_avframe',
          '-flush_packets',
          '1',
          '-f',
          'framecrc',
          'pipe:3',
          '-map',
          '[frames]',
          // In the source's time base: the default (1/rate) can put two frames closer than a tick on one
          // time, which the raw muxer logs as an error.
          ...(probe.timeBase === null ? [] : ['-enc_time_base', probe.timeBase.replace('/', ':')]),
          ...rawOut,
        ]
      : ['-map', probe.videoMap, '-an', '-sn', '-dn', '-vf', filters, ...rawOut]),
  ];
  const startSec = options.startSec ?? 0;
  const fps = probe.fps;
  let child: ChildProcess | null = null;
  const snap = gridSnapper(probe);
  /** With timestamps: the first frame's time on ffmpeg's output clock (0 at the start point); null until known. */
  let firstSec: number | null = null;
  /** Where the first frame is on the audio's clock: given, or as its timestamp says. */
  const offsetOf = (first: number | null): number => options.firstFrameOffsetSec ?? first ?? 0;
  let started = false;
  let framesDecoded = 0;
  /** close() was called: the end of ffmpeg's output is then expected, not an error. */
  let closing = false;
  let frameBuffer: (() => Uint8Array) | null = null;
  const stderr = new TailBuffer(4096);

  const describe = (): string => (inputGiven === '-' ? 'standard input' : JSON.stringify(input));
  const failure = (what: string): RuntimeError => {
    const tail = stderr.toString();
    return new RuntimeError('E_DECODE_FAILED', `Decoding ${describe()} failed after ${framesDecoded} frames: ${what}${tail ? `; ffmpeg said: ${tail}` : ''}`);
  };

  async function* frames(): AsyncGenerator<DecodedFrame, void, undefined> {
    if (started) throw new Error('Decoder.frames() may be iterated only once; open a new decoder');
    started = true;
    if (isAborted(options.signal)) throw abortError(options.signal as AbortSignal);
    const source = input === '-' ? (probe.stdin ?? options.stdin ?? process.stdin) : null;
    const stamps = options.timestamps === true ? new TimestampReader() : null;
    // In a group of its own, as the encoder: a terminal's Ctrl-C must not end the decode before steady
    // decides what to keep (--keep-partial).
    const proc = spawnTracked(ffmpeg, args, { stdio: [source === null ? 'ignore' : 'pipe', 'pipe', 'pipe', ...(stamps === null ? [] : ['pipe' as const])], detached: OWN_PROCESS_GROUP });
    if (stamps !== null) stamps.attach(proc.stdio[3] as Readable);
    let lastSec = Number.NEGATIVE_INFINITY;
    /** With timestamps: the last usable time read (before snapping), from the first frame. */
    let lastRaw = Number.NEGATIVE_INFINITY;
    const tickSec = tickOf(probe);
    child = proc;
    proc.stderr?.on('data', (c: Buffer) => stderr.push(c));
    if (source !== null && proc.stdin !== null) {
      // ffmpeg closes its stdin when it stops early (a -t limit, an error): EPIPE is expected then.
      proc.stdin.on('error', () => {});
      source.pipe(proc.stdin);
    }
    const onAbort = (): void => {
      proc.kill('SIGKILL');
    };
    whenAborted(options.signal, onAbort);
    const spawnFailed = new Promise<Error>((resolve) => proc.once('error', resolve));
    // 'exit' can come before the last of stderr has been read; 'close' comes after both pipes ended.
    const closed = new Promise<void>((resolve) => proc.once('close', () => resolve()));
    const ended = async (): Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }> => {
      const r = await Promise.race([waitForExit(proc), spawnFailed.then((e) => ({ code: null, signal: null, error: e }))]);
      if (r.error === undefined) await closed;
      return r;
    };
    try {
      const stdout = proc.stdout as Readable;
      try {
        for await (const buf of splitFrames(stdout, frameBytes, () => frameBuffer?.() ?? null)) {
          const index = framesDecoded;
          let timeSec = index / fps;
          if (stamps !== null) {
            const t = await stamps.next();
            const guess = index === 0 ? 0 : lastSec + 1 / fps;
            // The first usable timestamp sets the offset: this frame lands where the guess puts it.
            if (t !== null && firstSec === null) firstSec = t - guess;
            const raw = t !== null && firstSec !== null ? t - firstSec : Number.NEGATIVE_INFINITY;
            if (raw > lastRaw) {
              // A time later than the last one: its own, on the grid when within a tick of it, and never onto
              // or before the last frame's (which snapping may have moved up by a tick).
              const snapped = snap(raw);
              timeSec = snapped > lastSec ? snapped : raw > lastSec ? raw : lastSec + tickSec;
              lastRaw = raw;
            } else timeSec = guess;
            lastSec = timeSec;
            // A duration counts from the start point, as the audio's does. ffmpeg's input -t counts from
            // where its seek landed, which in an MPEG-TS file can be after the start point: the frames
            // past the duration are not delivered.
            if (options.durationSec !== undefined && offsetOf(firstSec) + timeSec >= options.durationSec - DURATION_EPS_SEC) return;
          }
          const frame: DecodedFrame = {
            index,
            ptsSec: startSec + offsetOf(firstSec) + timeSec,
            timeSec,
            width,
            height,
            chromaWidth,
            chromaHeight,
            data: buf,
            y: buf.subarray(0, lumaBytes),
            u: buf.subarray(lumaBytes, lumaBytes + chromaBytes),
            v: buf.subarray(lumaBytes + chromaBytes, frameBytes),
          };
          framesDecoded += 1;
          yield frame;
        }
      } catch (err) {
        if (err instanceof PartialFrameError) {
          await ended();
          if (closing) return;
          if (isAborted(options.signal)) throw abortError(options.signal as AbortSignal);
          throw failure(`ffmpeg stopped inside a frame (${err.partialBytes} of ${frameBytes} bytes of a ${width}x${height} yuv420p frame)`);
        }
        throw err;
      }
      const { code, signal, error } = await ended();
      if (closing) return;
      if (isAborted(options.signal)) throw abortError(options.signal as AbortSignal);
      if (error !== undefined) {
        throw new RuntimeError('E_FFMPEG_NOT_FOUND', `could not run ffmpeg at ${JSON.stringify(ffmpeg)} (${error.message}); set FFMPEG_PATH to a working ffmpeg`, { cause: error });
      }
      if (code !== 0 && signal === null && framesDecoded === 0) {
        // The probe found a video stream but ffmpeg gave up before any frame: a file with no frame in it
        // (or none it can decode) is bad input, not a failure of steady's run.
        const tail = stderr.toString();
        if (options.framerate !== undefined && /Option framerate not found/.test(tail)) {
          // The demuxer of a video file has no frame-rate option: its frames carry their own rate.
          throw new InputError('E_BAD_OPTION', `--framerate ${options.framerate} applies to image sequences and raw streams; ${describe()} (${probe.format}) has its own frame rate: leave --framerate out`);
        }
        throw new InputError('E_NO_FRAMES', `${describe()} has a video stream but no frame could be decoded from it (ffmpeg exited with code ${code})${tail ? `; ffmpeg said: ${tail}` : ''}`);
      }
      if (code !== 0) throw failure(signal !== null ? `ffmpeg was killed by ${signal}` : `ffmpeg exited with code ${code}`);
      // ffmpeg exits 0 on a truncated or corrupt file: errors in its log plus missing frames mean damage.
      if (stderr.toString() !== '' && options.allowPartial !== true) {
        // With its own times a frame count says little (a gap holds no frames): how far the frames reach does.
        const expected = stamps === null ? expectedFrames(input, probe, options) : expectedSpan(input, probe, options);
        const got = stamps === null ? framesDecoded : offsetOf(firstSec) + lastSec + 1 / fps;
        const slack = expected === null || expected.exact ? 0 : stamps === null ? 2 : 2 / fps;
        if (framesDecoded === 0 && startSec > 0) {
          // Seeking in a file with few keyframes (an MPEG-TS from a camera) can land where no frame can
          // be decoded before the cut ends: the file is not damaged, the start point is the problem.
          throw new InputError(
            'E_NO_FRAMES',
            `No frame could be decoded from --start ${startSec} s in ${describe()} (${probe.format}): ffmpeg's seek found no keyframe to start from there; start earlier, or re-encode the file with more keyframes (ffmpeg -i in -g 60 ...)${stderr.toString() ? `; ffmpeg said: ${stderr.toString()}` : ''}`,
          );
        }
        if (framesDecoded === 0 || (expected !== null && got < expected.count - slack)) {
          // ffmpeg ran to its end and said why: the file is damaged, which is bad input (exit 2). Its log
          // can run to kilobytes of one complaint per damaged packet: the last few different lines say it.
          const tail = lastDistinctLines(stderr.toString());
          const advice = '; --duration can stop before the damage, or re-encode what ffmpeg can read (ffmpeg -i in -c:v libx264 -c:a copy repaired.mp4)';
          throw new InputError(
            'E_INPUT_CORRUPT',
            stamps === null
              ? `${describe()} looks truncated or corrupt: ${framesDecoded} frames decoded${expected === null ? '' : ` of ${expected.exact ? '' : 'about '}${expected.count}`}${tail ? `; ffmpeg said: ${tail}` : ''}${advice}`
              : `${describe()} looks truncated or corrupt: ${framesDecoded} frames decoded${framesDecoded === 0 ? '' : `, reaching ${got.toFixed(2)} s`}${expected === null ? '' : ` of ${expected.count.toFixed(2)} s`}${tail ? `; ffmpeg said: ${tail}` : ''}${advice}`,
          );
        }
      }
    } finally {
      options.signal?.removeEventListener('abort', onAbort);
      if (source !== null && proc.stdin !== null) source.unpipe(proc.stdin);
      await killAndWait(proc);
      child = null;
    }
  }

  let generator: AsyncGenerator<DecodedFrame, void, undefined> | null = null;
  const decoder: Decoder = {
    probe,
    width,
    height,
    chromaWidth,
    chromaHeight,
    frameBytes,
    fps,
    fpsRational: probe.fpsRational,
    rotationDeg: autorotate ? 0 : probe.rotationDeg,
    args,
    get framesDecoded() {
      return framesDecoded;
    },
    get timeOffsetSec() {
      return offsetOf(firstSec);
    },
    get stderrTail() {
      return stderr.toString();
    },
    frames() {
      generator ??= frames();
      return generator;
    },
    setFrameBuffer(provider) {
      frameBuffer = provider;
    },
    [Symbol.asyncIterator]() {
      return decoder.frames();
    },
    async close() {
      closing = true;
      // Kill first: a pull waiting for ffmpeg's output then ends, and return() is not queued behind it.
      const c = child;
      if (c !== null) await killAndWait(c);
      if (generator !== null) await generator.return(undefined).catch(() => {});
    },
  };
  if (width <= 0 || height <= 0) {
    throw new InputError('E_NOT_VIDEO', `${describe()} reports a frame size of ${width}x${height}; cannot decode it`);
  }
  return decoder;
}
