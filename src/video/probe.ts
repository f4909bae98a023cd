/**
 * What a video is: size, frame rate, frame count, duration, pixel format, bit depth, display rotation,
 * audio, container and codec, read with ffprobe.
 *
 * ffprobe is spawned directly rather than through fluent-ffmpeg's `ffprobe()`: fluent parses ffprobe's
 * flat text output and flattens nested sections, so the display-matrix side data (the rotation of phone
 * videos) lands as loose keys on the stream; its child process is invisible to our process registry; and
 * it cannot give back the bytes it consumed from a pipe, which standard-input probing needs. ffprobe's
 * JSON writer gives every field with its structure.
 *
 * Rotation convention: `rotationDeg` is the clockwise rotation a player applies to the stored frames to
 * show them (the meaning of the classic `rotate` tag; a portrait phone video stored landscape has 90).
 * ffprobe's display-matrix `rotation` is counter-clockwise, hence the sign flip.
 */
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { InputError, InterruptedError, RuntimeError } from '../errors.js';
import { resolveFfprobe } from './binaries.js';
import { killAndWait, registerCleanup, runCapture, spawnTracked, TailBuffer, waitForExit, whenAborted } from './process-registry.js';
import { sweepLeftovers } from './temp-output.js';
import { ffmpegInputPath } from './ffmpeg-path.js';

/** A display rotation in clockwise degrees. */
export type Rotation = 0 | 90 | 180 | 270;

/** Everything steady needs to know about a video before decoding it. */
export interface VideoProbe {
  /** The input as given (a path, a URL, '-' for standard input, a lavfi graph...). */
  readonly input: string;
  /** Container (ffprobe format_name, e.g. `mov,mp4,m4a,3gp,3g2,mj2`, `matroska,webm`). */
  readonly format: string;
  /** Video codec name (e.g. `h264`). */
  readonly codec: string;
  /**
   * `-map` specifier of the video stream described here (`0:<index>`): the first video stream that is
   * not cover art, which need not be ffmpeg's `0:v:0`.
   */
  readonly videoMap: string;
  /** Stored frame width in pixels (before display rotation). */
  readonly width: number;
  /** Stored frame height in pixels (before display rotation). */
  readonly height: number;
  /** Width as displayed: `height` when the rotation is 90 or 270. */
  readonly displayWidth: number;
  /** Height as displayed. */
  readonly displayHeight: number;
  /** Frames per second used for timing (avg_frame_rate when known, else r_frame_rate). */
  readonly fps: number;
  /** The same rate as an exact rational `num/den` (e.g. `30000/1001`), for ffmpeg's `-r`. */
  readonly fpsRational: string;
  /** ffprobe's r_frame_rate (the rate that represents every timestamp exactly). */
  readonly rFrameRate: string;
  /** ffprobe's avg_frame_rate (frames / duration); `0/0` when unknown. */
  readonly avgFrameRate: string;
  /** r_frame_rate and avg_frame_rate disagree: probably variable frame rate. A guess, not a proof. */
  readonly variableFrameRate: boolean;
  /** The video stream's time base as `num/den` (its timestamps count in these units); null when not given. */
  readonly timeBase: string | null;
  /** Exact number of frames when the container says so (or when packets were counted); else null. */
  readonly frameCount: number | null;
  /** frameCount, or duration x fps rounded, or null when neither is known (live streams, pipes). */
  readonly estimatedFrameCount: number | null;
  /** Duration in seconds, or null when unknown. */
  readonly durationSec: number | null;
  /** Start time of the video stream in seconds (often 0). */
  readonly startTimeSec: number;
  /**
   * Start time of the whole input, seconds: its earliest stream's (ffmpeg counts output times from it).
   * A video that starts later than this (startTimeSec larger) starts later than the audio.
   */
  readonly formatStartSec: number;
  /**
   * The input carries global metadata worth keeping (a creation time, location, title, a camera's keys):
   * format tags other than the container's own (brand, version) and the writing program's name.
   */
  readonly hasGlobalMetadata: boolean;
  /** Subtitle streams in the input (the encoder carries them where the output's container holds them). */
  readonly subtitleStreams: number;
  /** Codec of each subtitle stream (e.g. `subrip`, `mov_text`, `dvd_subtitle`), in stream order. */
  readonly subtitleCodecs: readonly string[];
  /**
   * Shape of a stored pixel, `N:D` (width over height, e.g. `8:9` for 4:3 DV at 720x480), or null for square
   * pixels (or none stated). The outputs carry it over, so the picture keeps its display shape.
   */
  readonly sampleAspectRatio: string | null;
  /** Pixel format (e.g. `yuv420p`, `yuv420p10le`). */
  readonly pixFmt: string;
  /** Bits per sample of the source (8, 10, 12, 16). The decoder always delivers 8-bit. */
  readonly bitDepth: number;
  /** Colour tags of the stream (null where ffprobe says none or unknown). The decoder keeps the samples in them. */
  readonly colour: VideoColour;
  /** Clockwise display rotation of the stored frames. */
  readonly rotationDeg: Rotation;
  /** The input has at least one audio stream. */
  readonly hasAudio: boolean;
  /** Codec of the first audio stream (e.g. `aac`), or null. */
  readonly audioCodec: string | null;
  /**
   * Only for standard input ('-'): a stream that yields every byte of standard input, including the
   * ones the probe consumed. Decode from this, not from process.stdin.
   */
  readonly stdin?: Readable;
  /**
   * Only for standard input that cannot be read as a stream (an MP4/MOV with its index after its media):
   * the whole input, kept in this temporary file (removed when the process exits). Decode, and take the
   * audio, from it.
   */
  readonly spooledPath?: string;
}

/** A stream's colour tags, as ffmpeg names them (`-color_primaries`, `-color_trc`, `-colorspace`, `-color_range`). */
export interface VideoColour {
  /** e.g. `bt709`, `bt2020`, `smpte170m`. */
  readonly primaries: string | null;
  /** Transfer: e.g. `bt709`, `smpte2084` (PQ), `arib-std-b67` (HLG). */
  readonly transfer: string | null;
  /** Matrix: e.g. `bt709`, `bt2020nc`, `smpte170m`. */
  readonly matrix: string | null;
  /** `tv` (limited) or `pc` (full). */
  readonly range: string | null;
}

/** Options of probeVideo. */
export interface ProbeOptions {
  /** Input format (ffmpeg `-f`), e.g. `lavfi`, `v4l2`, `image2`. @default guessed by ffprobe */
  readonly inputFormat?: string;
  /** Frame rate of an image sequence (ffmpeg `-framerate`), frames per second. @default 25 (ffmpeg's) */
  readonly framerate?: number | string;
  /** Extra input options placed before `-i` (e.g. `['-video_size', '640x480']` for a device). @default [] */
  readonly inputOptions?: readonly string[];
  /** Count packets (demuxes the whole file; exact frame count for containers that do not store it). @default false */
  readonly countPackets?: boolean;
  /** Standard input to probe when the input is '-'. @default process.stdin */
  readonly stdin?: Readable;
  /**
   * Stops probing standard input when aborted (Ctrl-C while the pipe's writer has not sent enough yet):
   * ffprobe is killed and the probe rejects with InterruptedError (reason 'SIGTERM' or 'SIGINT').
   * @default none
   */
  readonly signal?: AbortSignal;
  /** Stop probing standard input after this many bytes without an answer. @default 67108864 (64 MiB) */
  readonly maxProbeBytes?: number;
  /** Give up after this many milliseconds (E_PROBE_TIMEOUT). @default 30000 */
  readonly timeoutMs?: number;
  /** ffprobe to run. @default resolveFfprobe().path */
  readonly ffprobePath?: string;
}

interface FfStream {
  index?: number;
  codec_type?: string;
  codec_name?: string;
  width?: number;
  height?: number;
  pix_fmt?: string;
  sample_aspect_ratio?: string;
  r_frame_rate?: string;
  avg_frame_rate?: string;
  time_base?: string;
  nb_frames?: string;
  nb_read_packets?: string;
  duration?: string;
  start_time?: string;
  bits_per_raw_sample?: string;
  color_range?: string;
  color_space?: string;
  color_transfer?: string;
  color_primaries?: string;
  tags?: Record<string, string>;
  side_data_list?: { side_data_type?: string; rotation?: number | string }[];
  disposition?: Record<string, number>;
}

interface FfProbeJson {
  streams?: FfStream[];
  format?: { format_name?: string; duration?: string; start_time?: string; tags?: Record<string, string> };
}

/** A rational `num/den` (or a plain number) as {num, den}; null when absent, zero-denominator or invalid. */
export function parseRational(text: string | undefined): { num: number; den: number } | null {
  if (text === undefined) return null;
  const m = /^\s*(-?\d+(?:\.\d+)?)\s*(?:[/:]\s*(\d+(?:\.\d+)?))?\s*$/.exec(text);
  if (m === null) return null;
  const num = Number(m[1]);
  const den = m[2] === undefined ? 1 : Number(m[2]);
  if (!Number.isFinite(num) || !Number.isFinite(den) || den === 0 || num <= 0) return null;
  return { num, den };
}

/** Rounds any angle in degrees to the nearest of 0/90/180/270 (clockwise stays clockwise). */
export function normaliseRotation(deg: number): Rotation {
  if (!Number.isFinite(deg)) return 0;
  const q = ((Math.round(deg / 90) % 4) + 4) % 4;
  return (q * 90) as Rotation;
}

function bitDepthOf(stream: FfStream): number {
  const raw = Number(stream.bits_per_raw_sample);
  if (Number.isInteger(raw) && raw > 0) return raw;
  const m = /(\d+)(?:le|be)$/.exec(stream.pix_fmt ?? '');
  if (m !== null) {
    const n = Number(m[1]);
    // Packed formats like rgb565 / rgb48 name the bits per pixel, not per sample.
    if (/^(gray|yuv|yuva|gbr|gbrap|p0|nv)/.test(stream.pix_fmt ?? '') && n <= 16) return n;
    if (/^rgb(a)?64|^bgr(a)?64|^rgb48|^bgr48/.test(stream.pix_fmt ?? '')) return 16;
  }
  return 8;
}

function colourOf(stream: FfStream): VideoColour {
  const tag = (v: string | undefined): string | null => (v === undefined || v === '' || v === 'unknown' || v === 'reserved' || !/^[a-z0-9-]+$/.test(v) ? null : v);
  return { primaries: tag(stream.color_primaries), transfer: tag(stream.color_transfer), matrix: tag(stream.color_space), range: tag(stream.color_range) };
}

function rotationOf(stream: FfStream): Rotation {
  for (const sd of stream.side_data_list ?? []) {
    if (sd.side_data_type === 'Display Matrix' && sd.rotation !== undefined) {
      // ffprobe reports the display matrix angle counter-clockwise.
      return normaliseRotation(-Number(sd.rotation));
    }
  }
  const tag = stream.tags?.rotate;
  if (tag !== undefined) return normaliseRotation(Number(tag));
  return 0;
}

function parseDurationTag(text: string | undefined): number | null {
  if (text === undefined) return null;
  const m = /^(\d+):(\d+):(\d+(?:\.\d+)?)$/.exec(text.trim());
  if (m === null) return null;
  return Number(m[1]) * 3600 + Number(m[2]) * 60 + Number(m[3]);
}

function positive(text: string | undefined): number | null {
  const n = Number(text);
  return text !== undefined && Number.isFinite(n) && n > 0 ? n : null;
}

/** Format tags that say only how the file was written (not worth an extra input to carry over). */
const CONTAINER_TAGS = new Set(['major_brand', 'minor_version', 'compatible_brands', 'encoder', 'duration']);

/** Builds a VideoProbe from ffprobe's JSON; throws E_NOT_VIDEO when there is no video stream. */
export function interpretProbe(input: string, json: FfProbeJson): VideoProbe {
  const streams = json.streams ?? [];
  // Cover art in audio files is a one-picture "video" stream flagged attached_pic: not a video.
  const video = streams.find((s) => s.codec_type === 'video' && s.disposition?.attached_pic !== 1 && (s.width ?? 0) > 0);
  if (video === undefined) {
    throw new InputError('E_NOT_VIDEO', `${describeInput(input)} has no video stream (ffprobe found ${streams.length === 0 ? 'no streams' : streams.map((s) => s.codec_type ?? '?').join(', ')}); give a video file`);
  }
  const audio = streams.find((s) => s.codec_type === 'audio');
  const avg = parseRational(video.avg_frame_rate);
  const r = parseRational(video.r_frame_rate);
  const chosen = avg ?? r;
  const fps = chosen === null ? 25 : chosen.num / chosen.den;
  const fpsRational = chosen === null ? '25/1' : `${chosen.num}/${chosen.den}`;
  const variableFrameRate = avg !== null && r !== null && Math.abs(avg.num / avg.den - r.num / r.den) > 1e-3 * (r.num / r.den);
  const durationSec =
    positive(video.duration) ?? parseDurationTag(video.tags?.DURATION) ?? positive(json.format?.duration) ?? null;
  const frameCount =
    positive(video.nb_frames) ?? positive(video.nb_read_packets) ?? positive(video.tags?.NUMBER_OF_FRAMES) ?? positive(video.tags?.['NUMBER_OF_FRAMES-eng']) ?? null;
  const rotationDeg = rotationOf(video);
  const width = video.width ?? 0;
  const height = video.height ?? 0;
  const swap = rotationDeg === 90 || rotationDeg === 270;
  return {
    input,
    format: json.format?.format_name ?? 'unknown',
    codec: video.codec_name ?? 'unknown',
    videoMap: `0:${video.index ?? streams.indexOf(video)}`,
    width,
    height,
    displayWidth: swap ? height : width,
    displayHeight: swap ? width : height,
    fps,
    fpsRational,
    rFrameRate: video.r_frame_rate ?? '0/0',
    avgFrameRate: video.avg_frame_rate ?? '0/0',
    variableFrameRate,
    timeBase: parseRational(video.time_base) === null ? null : (video.time_base as string),
    frameCount,
    estimatedFrameCount: frameCount ?? (durationSec === null ? null : Math.round(durationSec * fps)),
    durationSec,
    startTimeSec: Number(video.start_time) || 0,
    formatStartSec: Number(json.format?.start_time ?? video.start_time) || 0,
    hasGlobalMetadata: Object.keys(json.format?.tags ?? {}).some((k) => !CONTAINER_TAGS.has(k.toLowerCase())),
    subtitleStreams: streams.filter((s) => s.codec_type === 'subtitle').length,
    subtitleCodecs: streams.filter((s) => s.codec_type === 'subtitle').map((s) => s.codec_name ?? 'unknown'),
    sampleAspectRatio: sampleAspectOf(video.sample_aspect_ratio),
    pixFmt: video.pix_fmt ?? 'unknown',
    bitDepth: bitDepthOf(video),
    colour: colourOf(video),
    rotationDeg,
    hasAudio: audio !== undefined,
    audioCodec: audio?.codec_name ?? null,
  };
}

/** ffprobe's sample_aspect_ratio as `N:D` in lowest terms, or null for square, unknown (0:1, N/A) or absent. */
export function sampleAspectOf(text: string | undefined): string | null {
  const m = /^(\d+):(\d+)$/.exec(text ?? '');
  if (m === null) return null;
  let n = Number(m[1]);
  let d = Number(m[2]);
  if (n === 0 || d === 0 || n === d) return null;
  const gcd = (a: number, b: number): number => (b === 0 ? a : gcd(b, a % b));
  const g = gcd(n, d);
  n /= g;
  d /= g;
  return `${n}:${d}`;
}

function describeInput(input: string): string {
  return input === '-' ? 'standard input' : JSON.stringify(input);
}

/** True for inputs that are not plain files: URLs (`rtsp://`, `http://`), devices, lavfi graphs, patterns. */
function isPlainFile(input: string, options: ProbeOptions): boolean {
  if (options.inputFormat !== undefined) return false;
  // A URL (`http://`, `rtsp:`), unless a file of that name exists (`pipe:1.mp4`, `file:x.mp4`).
  if (/^[a-z][a-z0-9+.-]+:/i.test(input)) return existsSync(input);
  return true;
}

/**
 * Checks that a plain file exists, is a file and is not empty.
 * @throws InputError E_INPUT_NOT_FOUND / E_INPUT_EMPTY / E_NOT_VIDEO (a directory).
 */
export function checkInputFile(input: string, kind: 'video' | 'image' = 'video'): void {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(input);
  } catch {
    throw new InputError('E_INPUT_NOT_FOUND', `Input file ${JSON.stringify(input)} does not exist; check the path`);
  }
  if (st.isDirectory()) {
    throw new InputError(kind === 'video' ? 'E_NOT_VIDEO' : 'E_NOT_IMAGE', `Input ${JSON.stringify(input)} is a directory; give ${kind === 'image' ? 'an' : 'a'} ${kind} file`);
  }
  if (st.isFile() && st.size === 0) {
    throw new InputError('E_INPUT_EMPTY', `Input file ${JSON.stringify(input)} is empty (0 bytes)`);
  }
}

function probeArgs(input: string, options: ProbeOptions): string[] {
  const args = ['-v', 'error', '-print_format', 'json', '-show_streams', '-show_format'];
  if (options.countPackets === true) args.push('-count_packets');
  if (options.inputFormat !== undefined) args.push('-f', options.inputFormat);
  if (options.framerate !== undefined) args.push('-framerate', String(options.framerate));
  args.push(...(options.inputOptions ?? []));
  args.push('-i', input === '-' ? 'pipe:0' : ffmpegInputPath(input));
  return args;
}

function parseJson(input: string, stdout: Buffer): FfProbeJson {
  try {
    return JSON.parse(stdout.toString('utf8')) as FfProbeJson;
  } catch (cause) {
    throw new RuntimeError('E_PROBE_FAILED', `ffprobe gave unreadable output for ${describeInput(input)}`, { cause });
  }
}

function notVideo(input: string, stderr: string): InputError {
  const reason = stderr.split('\n').filter((l) => l.trim() !== '').slice(-3).join(' | ') || 'no reason given';
  return new InputError('E_NOT_VIDEO', `${describeInput(input)} is not a video ffprobe can read (${reason})`);
}

/**
 * Probes a video file, URL, device or lavfi graph, or standard input ('-').
 * For '-', the result carries `stdin`: a stream replaying every byte, to decode from.
 * @throws InputError E_INPUT_NOT_FOUND (missing file), E_INPUT_EMPTY (0 bytes), E_NOT_VIDEO (not a
 *   video, or no video stream; names the input); RuntimeError E_FFMPEG_NOT_FOUND, E_PROBE_TIMEOUT.
 */
export async function probeVideo(input: string, options: ProbeOptions = {}): Promise<VideoProbe> {
  const early = takePrefetched(input, options);
  if (early !== null) return early;
  if (input === '-') return probeStream(options.stdin ?? process.stdin, options);
  // A name with '%' that is not a file is an image-sequence pattern (frames/%04d.png): ffprobe expands it.
  if (isPlainFile(input, options) && !(input.includes('%') && !existsSync(input))) checkInputFile(input, 'video');
  const ffprobe = options.ffprobePath ?? resolveFfprobe().path;
  const timeoutMs = options.timeoutMs ?? 30_000;
  // A signal stops a probe that waits (a FIFO, a slow network source) at once.
  const r = await runCapture(ffprobe, probeArgs(input, options), { timeoutMs, ...(options.signal !== undefined ? { signal: options.signal } : {}) });
  if (options.signal?.aborted === true) throw new InterruptedError(options.signal.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT');
  if (r.spawnError !== undefined) {
    throw new RuntimeError('E_FFMPEG_NOT_FOUND', `could not run ffprobe at ${JSON.stringify(ffprobe)} (${r.spawnError.message}); set FFPROBE_PATH to a working ffprobe`, { cause: r.spawnError });
  }
  if (r.signal === 'SIGKILL') {
    throw new RuntimeError('E_PROBE_TIMEOUT', `ffprobe did not answer within ${timeoutMs} ms for ${describeInput(input)}`);
  }
  if (r.code !== 0) throw notVideo(input, r.stderr);
  return interpretProbe(input, parseJson(input, r.stdout));
}

/** ffprobe's names of the raw elementary-stream demuxers whose frame rate is read from the stream's own timing. */
const RAW_STREAM_FORMATS = new Set(['h264', 'hevc']);

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

/**
 * The frame rate a raw H.264/HEVC elementary stream (no container, so no timestamps) declares in its own
 * timing information, read from the durations of its first packets; null when the input is not such a
 * stream, a frame rate was given, the packets disagree or carry no duration. ffprobe's own r_frame_rate for
 * these streams is the field rate in some builds (60 for a 30 fps stream: the bundled one) and the demuxer's
 * guess of 25 in avg_frame_rate, so a stream decoded on either gets each frame twice, or the wrong clock.
 * @returns frames per second (30000/1001 as 29.97002997...), or null.
 */
export async function rawStreamFrameRate(input: string, probe: VideoProbe, options: ProbeOptions = {}): Promise<number | null> {
  if (options.framerate !== undefined || options.inputFormat !== undefined || !RAW_STREAM_FORMATS.has(probe.format)) return null;
  const path = probe.spooledPath ?? input;
  if (path === '-') return null;
  const ffprobe = options.ffprobePath ?? resolveFfprobe().path;
  const r = await runCapture(ffprobe, ['-v', 'error', '-select_streams', 'v:0', '-read_intervals', '%+#12', '-show_entries', 'stream=time_base:packet=duration', '-of', 'json', ffmpegInputPath(path)], { timeoutMs: options.timeoutMs ?? 30_000 });
  if (r.code !== 0) return null;
  let json: { streams?: { time_base?: string }[]; packets?: { duration?: number | string }[] };
  try {
    json = JSON.parse(r.stdout.toString('utf8'));
  } catch {
    return null;
  }
  const tb = parseRational(json.streams?.[0]?.time_base);
  const durations = (json.packets ?? []).map((p) => Number(p.duration)).filter((d) => Number.isSafeInteger(d) && d > 0);
  if (tb === null || durations.length < 2 || durations.some((d) => d !== durations[0])) return null;
  // One packet lasts d time-base units: the rate is den / (num * d), reduced (1/1200000 and 40040 give 30000/1001).
  const num = tb.den;
  const den = tb.num * (durations[0] as number);
  const g = gcd(num, den);
  const fps = num / g / (den / g);
  return fps > 0 && fps <= 1000 ? fps : null;
}

/** A probe started before anyone asked for it (see prefetchProbe); taken at most once. */
let prefetched: { input: string; ffprobe: string; startedMs: number; result: Promise<VideoProbe> } | null = null;
/** A prefetched probe older than this is not used: the file may have changed since. */
const PREFETCH_MAX_AGE_MS = 10_000;

/**
 * Starts probing a plain file now, so that the first probeVideo(input) with default options gets the
 * answer without waiting for it. ffprobe takes 0.05-0.1 s only to start (a dynamically linked build);
 * the command line starts it while the command's modules load, which takes about as long. Only a file
 * that exists is probed; anything else (a URL, a pattern, standard input) is left to probeVideo.
 * An answer nobody takes is dropped, and its ffprobe is killed at exit like every tracked child.
 */
export function prefetchProbe(input: string): void {
  let ffprobe: string;
  try {
    if (input === '-' || !isPlainFile(input, {}) || !statSync(input).isFile()) return;
    ffprobe = resolveFfprobe().path;
  } catch {
    // probeVideo reports a missing input or ffprobe with its own error when it is asked.
    return;
  }
  prefetched = null;
  const result = probeVideo(input);
  // The answer (or its error) belongs to whoever takes it; untaken, it must not be an unhandled rejection.
  result.catch(() => {});
  prefetched = { input, ffprobe, startedMs: performance.now(), result };
}

/** The prefetched probe of `input` when it answers exactly this call (same input, ffprobe and default options). */
function takePrefetched(input: string, options: ProbeOptions): Promise<VideoProbe> | null {
  const p = prefetched;
  // A signal changes nothing in the answer (it only stops a probe of standard input).
  if (p === null || p.input !== input || Object.keys(options).some((k) => k !== 'signal')) return null;
  prefetched = null;
  if (performance.now() - p.startedMs > PREFETCH_MAX_AGE_MS) return null;
  let ffprobe: string;
  try {
    ffprobe = resolveFfprobe().path;
  } catch {
    return null;
  }
  return ffprobe === p.ffprobe ? p.result : null;
}

/**
 * True when the input's sound can go to an output: it has audio, and a file to read it from (the input
 * itself, or the copy standard input was kept in; a pipe cannot be read a second time).
 */
export function keepsInputAudio(input: string, probe: VideoProbe): boolean {
  return probe.hasAudio && (input !== '-' || probe.spooledPath !== undefined);
}

/**
 * The file whose global metadata (creation time, location, make and model) the outputs take: the input, or
 * the copy standard input was kept in; undefined when it has none, for a pipe, a URL or device (it would be
 * opened again), and an image sequence or raw stream (`framerateGiven`).
 */
export function metadataSourceOf(input: string, probe: VideoProbe, framerateGiven: boolean): string | undefined {
  // Nothing to keep: no extra input for the encoder to open (about 0.06 s of CPU).
  if (!probe.hasGlobalMetadata) return undefined;
  if (probe.spooledPath !== undefined) return probe.spooledPath;
  return input !== '-' && !framerateGiven && (!/^[a-z][a-z0-9+.-]+:/i.test(input) || existsSync(input)) ? input : undefined;
}

/**
 * The rest of `source` after the `kept` chunks (`keptBytes` long), all in one buffer; null when it runs past
 * `limit` bytes. Rejects with InterruptedError when `signal` aborts meanwhile.
 */
async function readToEnd(source: Readable, kept: Buffer[], keptBytes: number, ended: boolean, limit: number, signal?: AbortSignal): Promise<Buffer | null> {
  if (ended || source.readableEnded) return Buffer.concat(kept);
  let bytes = keptBytes;
  return new Promise<Buffer | null>((resolve, reject) => {
    const finish = (result: Buffer | null | Error): void => {
      source.removeListener('data', onData);
      source.removeListener('end', onEnd);
      source.removeListener('error', onEnd);
      signal?.removeEventListener('abort', onAbort);
      source.pause();
      if (result instanceof Error) reject(result);
      else resolve(result);
    };
    const onData = (chunk: Buffer | string): void => {
      const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      kept.push(b);
      bytes += b.length;
      if (bytes > limit) finish(null);
    };
    const onEnd = (): void => finish(Buffer.concat(kept));
    const onAbort = (): void => finish(new InterruptedError(signal?.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT'));
    source.on('data', onData);
    source.once('end', onEnd);
    source.once('error', onEnd);
    if (signal?.aborted === true) {
      onAbort();
      return;
    }
    signal?.addEventListener('abort', onAbort, { once: true });
    source.resume();
  });
}

/**
 * Writes a whole standard input to a temporary file and probes that file. The file is made in a folder of
 * its own (mkdtemp: a name nobody can have placed a link at), readable by this user only, and removed at
 * exit (also when writing it fails part-way).
 */
async function spool(bytes: Buffer, options: ProbeOptions): Promise<VideoProbe> {
  let folder: string;
  try {
    // A copy left by a run killed outright (SIGKILL) is removed by the next one; the process id in the name says whose it is.
    sweepLeftovers(tmpdir(), /^steady-stdin-(\d+)-[^/]+$/);
    folder = mkdtempSync(join(tmpdir(), `steady-stdin-${process.pid}-`));
  } catch (cause) {
    throw new RuntimeError('E_OUTPUT_WRITE', `Cannot keep standard input in a temporary file in ${JSON.stringify(tmpdir())} (${(cause as Error).message}); set TMPDIR to a writable folder, or give the file path instead of -`, { cause });
  }
  const path = join(folder, 'input.mp4');
  registerCleanup(() => {
    rmSync(folder, { recursive: true, force: true });
  });
  try {
    writeFileSync(path, bytes, { flag: 'wx', mode: 0o600 });
  } catch (cause) {
    rmSync(folder, { recursive: true, force: true });
    throw new RuntimeError('E_OUTPUT_WRITE', `Cannot keep standard input in a temporary file in ${JSON.stringify(folder)} (${(cause as Error).message}); free some space there or set TMPDIR to another folder, or give the file path instead of -`, { cause });
  }
  const { stdin: _ignored, signal: _signal, ...fileOptions } = options;
  let probe: VideoProbe;
  try {
    probe = await probeVideo(path, fileOptions);
  } catch (err) {
    // Say what the user gave, not the temporary name.
    if (err instanceof InputError) throw new InputError(err.code, err.message.split(JSON.stringify(path)).join('standard input'));
    throw err;
  }
  return { ...probe, input: '-', spooledPath: path };
}

/**
 * True when `head`, the first bytes of a stream, is an ISO media file (MP4, MOV: its first box `ftyp`)
 * whose top-level boxes reach `mdat`, the media data, before `moov`, the index: a player needs the index
 * to find the frames, so such a file can only be read by seeking back to its start (from a file, not a
 * pipe). Fast-start and fragmented files have their `moov` first.
 */
export function mediaBeforeIndex(head: Uint8Array): boolean {
  const view = new DataView(head.buffer, head.byteOffset, head.byteLength);
  const type = (at: number): string => String.fromCharCode(head[at] as number, head[at + 1] as number, head[at + 2] as number, head[at + 3] as number);
  if (head.length < 8 || type(4) !== 'ftyp') return false;
  let at = 0;
  while (at + 8 <= head.length) {
    const box = type(at + 4);
    if (box === 'moov') return false;
    if (box === 'mdat') return true;
    const size32 = view.getUint32(at);
    // 1: a 64-bit size follows the type; 0: the box runs to the end of the file.
    const size = size32 === 1 ? (at + 16 <= head.length ? Number(view.getBigUint64(at + 8)) : 0) : size32;
    if (size < 8) return false;
    at += size;
  }
  return false;
}

/**
 * Probes a byte stream (standard input, a socket) by feeding it to ffprobe while keeping every byte
 * read, and returns the probe with `stdin`: a stream that yields the kept bytes, then the rest.
 * A container that needs seeking (MP4 with its index at the end) cannot be probed from a pipe: use a
 * fragmented / fast-start MP4, Matroska, MPEG-TS or NUT on pipes.
 */
export async function probeStream(source: Readable, options: ProbeOptions = {}): Promise<VideoProbe> {
  const ffprobe = options.ffprobePath ?? resolveFfprobe().path;
  const maxProbeBytes = options.maxProbeBytes ?? 64 << 20;
  const timeoutMs = options.timeoutMs ?? 30_000;
  const child = spawnTracked(ffprobe, probeArgs('-', options));
  const kept: Buffer[] = [];
  let keptBytes = 0;
  let sourceEnded = false;
  let tooMuch = false;
  const out: Buffer[] = [];
  const err = new TailBuffer(8192);
  child.stdout?.on('data', (c: Buffer) => out.push(c));
  child.stderr?.on('data', (c: Buffer) => err.push(c));
  // ffprobe stops reading once it knows enough: EPIPE on its stdin is the normal end.
  child.stdin?.on('error', () => {});
  const onData = (chunk: Buffer | string): void => {
    const b = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    kept.push(b);
    keptBytes += b.length;
    if (keptBytes > maxProbeBytes) {
      tooMuch = true;
      child.kill('SIGKILL');
      return;
    }
    if (child.stdin !== null && !child.stdin.destroyed && !child.stdin.write(b)) {
      source.pause();
      child.stdin.once('drain', () => source.resume());
    }
  };
  const onEnd = (): void => {
    sourceEnded = true;
    child.stdin?.end();
  };
  source.on('data', onData);
  source.once('end', onEnd);
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  let aborted = false;
  const onAbort = (): void => {
    aborted = true;
    child.kill('SIGKILL');
  };
  whenAborted(options.signal, onAbort);
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const { code, signal, error } = await waitForExit(child);
  if (error === undefined) await closed;
  clearTimeout(timer);
  options.signal?.removeEventListener('abort', onAbort);
  source.removeListener('data', onData);
  source.removeListener('end', onEnd);
  source.pause();
  await killAndWait(child);
  if (error !== undefined) {
    throw new RuntimeError('E_FFMPEG_NOT_FOUND', `could not run ffprobe at ${JSON.stringify(ffprobe)} (${error.message}); set FFPROBE_PATH to a working ffprobe`, { cause: error });
  }
  if (aborted) throw new InterruptedError(options.signal?.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT');
  if (mediaBeforeIndex(Buffer.concat(kept))) {
    // ffmpeg needs to seek back to the media once it has read the index: keep the whole input in a file.
    const whole = tooMuch ? null : await readToEnd(source, kept, keptBytes, sourceEnded, maxProbeBytes, options.signal);
    if (whole === null) {
      throw new InputError(
        'E_INPUT_NOT_STREAMABLE',
        `standard input is an MP4/MOV file with its index (moov) after its media data, longer than ${maxProbeBytes} bytes: ffmpeg cannot read that from a pipe; give the file path instead of -, or remux it first (ffmpeg -i in.mp4 -c copy -movflags +faststart out.mp4)`,
      );
    }
    return spool(whole, options);
  }
  if (tooMuch) throw new InputError('E_NOT_VIDEO', `standard input: ffprobe found no video stream in the first ${maxProbeBytes} bytes`);
  if (signal === 'SIGKILL') throw new RuntimeError('E_PROBE_TIMEOUT', `ffprobe did not answer within ${timeoutMs} ms for standard input`);
  if (keptBytes === 0 && sourceEnded) throw new InputError('E_INPUT_EMPTY', 'standard input is empty (0 bytes)');
  if (code !== 0) throw notVideo('-', err.toString());
  const probe = interpretProbe('-', parseJson('-', Buffer.concat(out)));
  const head = Buffer.concat(kept);
  let replay: Readable;
  if (sourceEnded || source.readableEnded) {
    replay = Readable.from(head.length > 0 ? [head] : []);
  } else {
    if (head.length > 0) source.unshift(head);
    replay = source;
  }
  return { ...probe, stdin: replay };
}
