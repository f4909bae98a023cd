/**
 * Encodes raw YUV 4:2:0 8-bit frames with ffmpeg reading them from its stdin, optionally taking the
 * audio of the original input, and writes the result under a temporary name that is renamed over the
 * output path only when ffmpeg succeeded (temp-output.ts), or to standard output.
 *
 * Timing: the frame rate is given as a rational (`30000/1001`), so frame k is at k / fps exactly, the
 * clock the decoder's timestamps use. With `timeBase` (variable frame rate input) each frame is written
 * at its own time instead: the frames go to ffmpeg as a Matroska stream with a timestamp each
 * (mkv-raw.ts), passed through unchanged (`-fps_mode passthrough`) in the source's time base
 * (`-enc_time_base`), so the output keeps the source's spacing and its timestamps.
 *
 * Audio: the original's audio is mapped with `-map 1:a?` (no error when it has none) and copied when
 * the output container can hold its codec, else re-encoded to AAC (Opus for WebM), which is reported in
 * `notes`. Give the decoder's trim (startSec / durationSec) as audioStartSec / audioDurationSec so the
 * audio is cut the same way. The original's subtitles come from the same input (`-map 1:s?`, cut the same
 * way) where the container holds them (subtitlePlan).
 *
 * Display rotation: ffmpeg 6+ takes `-display_rotation` on the raw input. Older ffmpeg (the bundled
 * 2018 build, Debian's 5.1) ignores a `rotate` tag on an encoded stream and honours it only when stream
 * copying, so the file is encoded first and then remuxed with the tag. Those builds write the tag's
 * matrix turned the other way (tag X is shown X degrees counter-clockwise), so the remux writes
 * 360 - N for a clockwise N, checks the result with ffprobe, and tries the other sign if a build
 * behaves differently. Only MP4 / MOV store the rotation; for other containers a note says so.
 */
import { type ChildProcess, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { InputError, InterruptedError, RuntimeError } from '../errors.js';
import { expectInteger, expectNumber, expectString, ffmpegSeconds } from '../validate.js';
import { ffmpegFeatures, passthroughArgs, resolveFfmpeg } from './binaries.js';
import { parseRational, probeVideo, type Rotation, type VideoColour, type VideoProbe } from './probe.js';
import { MKV_FRAME_HEADER_BYTES, mkvFrameHeaderInto, mkvRawHeader } from './mkv-raw.js';
import { killAndWait, OWN_PROCESS_GROUP, runCapture, spawnTracked, TailBuffer, waitForExit, whenAborted } from './process-registry.js';
import { isobmffWhole } from './isobmff.js';
import { createTempOutput, type TempOutput } from './temp-output.js';
import { ffmpegInputPath, ffmpegOutputPath } from './ffmpeg-path.js';

/** The planes of one yuv420p frame: Y width x height, U and V ceil(width/2) x ceil(height/2). */
export interface YuvPlanes {
  readonly y: Uint8Array;
  readonly u: Uint8Array;
  readonly v: Uint8Array;
}

/** Options of openEncoder. */
export interface EncoderOptions {
  /** Frame width in pixels. */
  readonly width: number;
  /** Frame height in pixels. */
  readonly height: number;
  /** Frames per second: a rational string (`30000/1001`, keeps timing exact) or a number. */
  readonly fps: number | string;
  /**
   * Keep each frame's own time (variable frame rate): the time base of the output's video stream, as
   * `num/den` (the source's, e.g. `1/12800`). write() then needs each frame's time. `fps` is still used
   * to check and describe the rate; with `constantRate` it is the output's rate, frames repeated or
   * dropped to stay in step with their times. @default none: frame k at k / fps
   */
  readonly timeBase?: string;
  /**
   * With `timeBase`: write frames at the fixed rate `fps`, repeated or dropped to stay in step with their
   * times, instead of passing the times through. @default true for a container with a fixed rate
   * (containerKeepsFrameTimes false), else false
   */
  readonly constantRate?: boolean;
  /**
   * Where the first frame goes on the audio's clock, seconds (ffmpeg `-itsoffset` on the frames; with
   * `timeBase`, the times given to write() count from the first frame): a video that starts after its
   * audio, or a first frame after the start point, stays in step with the sound. @default 0
   */
  readonly timeOffsetSec?: number;
  /** Take the audio from this file (usually the original input). @default no audio */
  readonly audioFrom?: string;
  /** The probe of audioFrom, when already done. @default probed here */
  readonly audioProbe?: VideoProbe;
  /** Skip this many seconds of the audio (the decoder's startSec). @default 0 */
  readonly audioStartSec?: number;
  /** Take at most this many seconds of audio (the decoder's durationSec). @default all */
  readonly audioDurationSec?: number;
  /** Video encoder. @default 'libx264' ('libvpx-vp9' for .webm) */
  readonly codec?: string;
  /** Constant rate factor (lower = better, bigger), for x264/x265/vpx/aom. @default 18 */
  readonly crf?: number;
  /** x264/x265 speed preset. @default 'veryfast' */
  readonly preset?: string;
  /** Encoder threads (ffmpeg `-threads`). @default ffmpeg's choice */
  readonly threads?: number;
  /**
   * Colour tags to store (decoder.ts deliveredColour of the input: the samples keep the source's primaries,
   * transfer and matrix, which raw frames on a pipe do not carry). @default none (players assume BT.601 for
   * SD, BT.709 for HD)
   */
  readonly colour?: VideoColour;
  /** Clockwise display rotation to store (e.g. the input's, when decoding with autorotate: false). @default 0 */
  readonly rotationDeg?: Rotation;
  /**
   * Shape of a pixel, `N:D` (width over height), written to the output so that it displays at the source's
   * shape (VideoProbe.sampleAspectRatio). @default square pixels
   */
  readonly sampleAspectRatio?: string | null;
  /**
   * A file whose global metadata the output takes: creation time, location, title, make and model, a
   * phone's own keys (in MP4/MOV as `mdta` tags). Usually the input; not standard input. @default none
   */
  readonly metadataFrom?: string;
  /** Container format (ffmpeg `-f`). @default from the extension; 'matroska' for standard output */
  readonly format?: string;
  /** Extra output options placed before the output name. @default [] */
  readonly outputOptions?: readonly string[];
  /** Where '-' writes. @default process.stdout */
  readonly stdout?: Writable;
  /** Aborts the encode (kills ffmpeg, removes the temporary file) when aborted. */
  readonly signal?: AbortSignal;
  /** ffmpeg to run. @default resolveFfmpeg().path */
  readonly ffmpegPath?: string;
}

/** What happened to the audio. */
export type AudioOutcome = 'none' | 'copied' | 'reencoded';

/** The result of a finished encode. */
export interface EncodeResult {
  /** The output path ('-' for standard output). */
  readonly output: string;
  /** Frames written. */
  readonly frames: number;
  readonly audio: AudioOutcome;
  /** Clockwise rotation stored in the output (0 when none was asked or it could not be stored). */
  readonly rotationDeg: Rotation;
  /** Things the user should know (audio re-encoded, rotation not stored...). */
  readonly notes: readonly string[];
}

/** Options of Encoder.finish. */
export interface FinishOptions {
  /**
   * End the audio where the video ends. The audio is read from the input file to its end (or to
   * audioDurationSec), so a file finished early (an interrupted run kept with --keep-partial) would
   * otherwise go on with sound over a frozen last frame. The file is then remuxed once, streams copied,
   * cut at the end of its last frame. Ignored for standard output (already sent) and without audio.
   * @default false
   */
  readonly endAudioWithVideo?: boolean;
  /**
   * Rename the finished file into place now. false: it stays under its temporary name until commit()
   * (abort() then removes it), so that a job writing several files puts all of them in place or none.
   * @default true
   */
  readonly commit?: boolean;
}

/** A running encode. */
export interface Encoder {
  readonly output: string;
  /** The ffmpeg arguments (for logs and bug reports). */
  readonly args: readonly string[];
  /** What will happen to the audio. */
  readonly audio: AudioOutcome;
  /** Notes so far (more may come from finish()). */
  readonly notes: readonly string[];
  /** Frames written so far. */
  readonly framesWritten: number;
  /**
   * Writes one frame: a contiguous Y+U+V buffer or separate planes (an object that also has a `data`
   * buffer of the whole frame's size, like a DecodedFrame, is written from `data`). Resolves when ffmpeg's pipe has
   * taken all its bytes (which is also the backpressure: the buffer never holds more than one frame),
   * so the caller may reuse its buffers at once.
   * @param timeSec the frame's time from the first frame, seconds: needed with `timeBase` (taken from the
   *   frame's own `timeSec` when it has one), ignored otherwise. Times must increase; one that does not is
   *   moved just after the previous one.
   * @throws RuntimeError E_ENCODE_FAILED with ffmpeg's stderr tail when ffmpeg died.
   */
  write(frame: Uint8Array | YuvPlanes, timeSec?: number): Promise<void>;
  /** Closes ffmpeg's input, waits for it, stores the rotation, renames the file into place (unless `commit: false`). */
  finish(options?: FinishOptions): Promise<EncodeResult>;
  /** Renames a file finished with `commit: false` into place (nothing otherwise). */
  commit(): Promise<void>;
  /** Kills ffmpeg and removes the temporary file (also a finished one not committed yet). Safe to call at any time, more than once. */
  abort(): Promise<void>;
}

/**
 * What steady writes into each container family: its default video encoder (with the arguments that set
 * its quality; WMA takes at most 2 channels at 48 kHz and says so only once it runs, hence the fixed
 * stereo at 48 kHz), the audio codecs it copies as they are, what it re-encodes other audio to (null: the
 * format holds one video stream only, and audio is left out with a note), and the ffmpeg `-f` where the
 * extension alone does not name one. Video encoders are ffmpeg's own or ship with every common build.
 */
interface ContainerSpec {
  readonly video: string;
  /** Holds each frame's own time (a variable frame rate); false: frames at a fixed rate. @default true */
  readonly frameTimes?: false;
  /** Keeps colour tags (primaries, transfer, matrix); false: they are lost. @default true */
  readonly colourTags?: false;
  readonly audioCopy: ReadonlySet<string> | 'any';
  readonly audio: { readonly codec: string; readonly name: string; readonly args: readonly string[] } | null;
  readonly format?: string;
}

const AAC = { codec: 'aac', name: 'AAC', args: ['-b:a', '192k'] } as const;
const CONTAINERS: Readonly<Record<string, ContainerSpec>> = {
  mp4: { video: 'libx264', audioCopy: new Set(['aac', 'mp3', 'ac3', 'eac3', 'alac']), audio: AAC },
  mov: { video: 'libx264', audioCopy: new Set(['aac', 'mp3', 'ac3', 'eac3', 'alac', 'pcm_s16le', 'pcm_s16be', 'pcm_s24le', 'pcm_s24be', 'pcm_f32le']), audio: AAC, format: 'mov' },
  matroska: { video: 'libx264', audioCopy: 'any', audio: AAC },
  webm: { video: 'libvpx-vp9', audioCopy: new Set(['opus', 'vorbis']), audio: { codec: 'libopus', name: 'Opus', args: ['-b:a', '192k'] } },
  mpegts: { video: 'libx264', audioCopy: new Set(['aac', 'mp3', 'mp2', 'ac3', 'eac3']), audio: AAC },
  avi: { frameTimes: false, video: 'libx264', audioCopy: new Set(['mp3', 'mp2', 'ac3', 'pcm_s16le']), audio: { codec: 'libmp3lame', name: 'MP3', args: ['-b:a', '192k'] } },
  nut: { video: 'libx264', audioCopy: 'any', audio: AAC },
  flv: { video: 'libx264', audioCopy: new Set(['aac', 'mp3']), audio: AAC },
  '3gp': { video: 'libx264', audioCopy: new Set(['aac', 'amr_nb', 'amr_wb']), audio: AAC },
  asf: { video: 'libx264', audioCopy: new Set(['wmav1', 'wmav2', 'mp3']), audio: { codec: 'wmav2', name: 'WMA', args: ['-b:a', '192k', '-ac', '2', '-ar', '48000'] } },
  ogg: { frameTimes: false, colourTags: false, video: 'libtheora', audioCopy: new Set(['vorbis', 'opus', 'flac']), audio: { codec: 'libvorbis', name: 'Vorbis', args: ['-q:a', '6'] } },
  mpeg: { frameTimes: false, video: 'mpeg2video', audioCopy: new Set(['mp2', 'ac3']), audio: { codec: 'mp2', name: 'MP2', args: ['-b:a', '192k'] } },
  vob: { frameTimes: false, video: 'mpeg2video', audioCopy: new Set(['mp2', 'ac3']), audio: { codec: 'mp2', name: 'MP2', args: ['-b:a', '192k'] }, format: 'vob' },
  y4m: { frameTimes: false, colourTags: false, video: 'wrapped_avframe', audioCopy: new Set(), audio: null },
  gif: { frameTimes: false, colourTags: false, video: 'gif', audioCopy: new Set(), audio: null },
  h264: { frameTimes: false, video: 'libx264', audioCopy: new Set(), audio: null, format: 'h264' },
  hevc: { frameTimes: false, video: 'libx265', audioCopy: new Set(), audio: null, format: 'hevc' },
  ivf: { frameTimes: false, video: 'libvpx-vp9', audioCopy: new Set(), audio: null },
};

/** A path's extension, lower case, without the dot ('' when it has none). */
function extensionOf(path: string): string {
  return /\.([^./\\]+)$/.exec(path)?.[1]?.toLowerCase() ?? '';
}

/** The container family of an output: from `format`, else from the extension. */
export function containerOf(output: string, format: string | undefined): string {
  const f = format ?? (output === '-' ? 'matroska' : extensionOf(output));
  if (f === 'mp4' || f === 'm4v' || f === 'ismv') return 'mp4';
  if (f === 'mov' || f === 'qt') return 'mov';
  if (f === 'mkv' || f === 'matroska' || f === 'mka') return 'matroska';
  if (f === 'ts' || f === 'mts' || f === 'm2ts' || f === 'mpegts') return 'mpegts';
  if (f === '3g2') return '3gp';
  if (f === 'wmv') return 'asf';
  if (f === 'ogv') return 'ogg';
  if (f === 'mpg') return 'mpeg';
  if (f === 'dvd') return 'vob';
  if (f === 'yuv4mpegpipe') return 'y4m';
  if (f === '264') return 'h264';
  if (f === 'h265') return 'hevc';
  return f;
}

/**
 * Colour tag names every ffmpeg steady runs with accepts (ffprobe may name newer ones, such as ebu3213,
 * that an older ffmpeg refuses): a tag outside these is left out of the output.
 */
const KNOWN_PRIMARIES: ReadonlySet<string> = new Set(['bt709', 'bt470m', 'bt470bg', 'smpte170m', 'smpte240m', 'film', 'bt2020', 'smpte428', 'smpte431', 'smpte432']);
const KNOWN_TRANSFERS: ReadonlySet<string> = new Set([
  'bt709', 'gamma22', 'gamma28', 'smpte170m', 'smpte240m', 'linear', 'iec61966-2-4', 'bt1361e', 'iec61966-2-1', 'bt2020-10', 'bt2020-12', 'smpte2084', 'smpte428', 'arib-std-b67',
]);
const KNOWN_MATRICES: ReadonlySet<string> = new Set(['bt709', 'fcc', 'bt470bg', 'smpte170m', 'smpte240m', 'ycgco', 'bt2020nc', 'bt2020c']);
const KNOWN_RANGES: ReadonlySet<string> = new Set(['tv', 'pc']);

/** swscale's name (in_color_matrix) for a YUV matrix tag; untagged: BT.709 from 720 lines up, else BT.601. */
export function gifMatrixFor(matrix: string | null, height: number): string {
  if (matrix === 'bt709') return 'bt709';
  if (matrix === 'bt470bg' || matrix === 'smpte170m') return 'bt601';
  if (matrix === 'bt2020nc' || matrix === 'bt2020c') return 'bt2020';
  if (matrix === 'fcc' || matrix === 'smpte240m') return matrix;
  return height >= 720 ? 'bt709' : 'bt601';
}

/** Extensions ffmpeg knows that steady refuses up front, and why. */
const REFUSED_EXTENSIONS: Readonly<Record<string, string>> = {
  dv: 'DV takes only 720x576 at 25 fps or 720x480 at 29.97 fps',
  mxf: 'MXF takes only broadcast frame rates and codecs',
};

/**
 * Output extensions steady writes (each with a CONTAINERS entry): an output named otherwise is refused
 * before any work starts, instead of failing when the encoder opens. A container outside the list can
 * still be asked for with `format`.
 */
export const VIDEO_OUTPUT_EXTENSIONS: readonly string[] = [
  'mp4', 'm4v', 'ismv', 'mov', 'qt', 'mkv', 'mka', 'webm', 'ts', 'mts', 'm2ts', 'avi', 'nut', 'flv', 'ogv', 'ogg',
  '3gp', '3g2', 'mpg', 'mpeg', 'vob', 'wmv', 'asf', 'y4m', 'gif', 'h264', '264', 'hevc', 'h265', 'ivf',
];

/**
 * Checks up front that ffmpeg will find a container for `output` (E_OUTPUT_FORMAT, exit 2): standard
 * output and an explicit `format` pass; a file needs one of VIDEO_OUTPUT_EXTENSIONS.
 */
export function checkOutputContainer(output: string, format: string | undefined): void {
  if (output === '-' || format !== undefined) return;
  const ext = extensionOf(output);
  if (ext === '') {
    throw new InputError('E_OUTPUT_FORMAT', `Cannot tell the container of ${JSON.stringify(output)}: give it an extension such as .mp4 or .mkv`);
  }
  const refused = REFUSED_EXTENSIONS[ext];
  if (refused !== undefined) throw new InputError('E_OUTPUT_FORMAT', `Cannot write ${JSON.stringify(output)}: ${refused}; use .mp4, .mkv or .mov`);
  if (!VIDEO_OUTPUT_EXTENSIONS.includes(ext)) {
    throw new InputError('E_OUTPUT_FORMAT', `Unknown video extension .${ext} in ${JSON.stringify(output)}: use .mp4, .mkv, .mov, .webm or another video container's extension`);
  }
}

/**
 * Whether an output (a path, or `-` for standard output: Matroska) holds each frame's own time: AVI, MPEG
 * program streams, Ogg (Theora), raw streams, Y4M, IVF and GIF store a fixed rate: a variable frame rate
 * goes there at the nominal rate, frames repeated or dropped (`constantRate`).
 */
export function containerKeepsFrameTimes(output: string, format?: string): boolean {
  return CONTAINERS[containerOf(output, format)]?.frameTimes !== false;
}

/** Whether an output keeps colour tags (GIF, Y4M and Ogg Theora lose them). */
export function containerKeepsColourTags(output: string, format?: string): boolean {
  return CONTAINERS[containerOf(output, format)]?.colourTags !== false;
}

/** Subtitle codecs made of text, which ffmpeg converts between. */
const TEXT_SUBTITLES: ReadonlySet<string> = new Set(['subrip', 'srt', 'ass', 'ssa', 'webvtt', 'mov_text', 'text']);
/** Subtitle codecs Matroska holds as they are (text, and the pictures of DVD, Blu-ray and DVB). */
const MATROSKA_SUBTITLES: ReadonlySet<string> = new Set(['subrip', 'ass', 'ssa', 'webvtt', 'dvd_subtitle', 'hdmv_pgs_subtitle', 'dvb_subtitle']);

/**
 * What an output in `container` does with the input's subtitle streams (their codecs): Matroska keeps the
 * ones it holds as they are and takes other text as SubRip; MP4, MOV and 3GP take text as mov_text, WebM as
 * WebVTT; a note says where they are converted. One codec serves every stream, so a mix that no single one
 * serves (pictures with text it cannot hold, closed captions) is left out, as in every other container, and
 * a note says so. codec: the `-c:s` to use, null when none is kept.
 */
export function subtitlePlan(container: string, codecs: readonly string[], extension: string): { codec: string | null; note: string | null } {
  if (codecs.length === 0) return { codec: null, note: null };
  const streams = codecs.length === 1 ? 'subtitle stream' : `${codecs.length} subtitle streams`;
  const kinds = [...new Set(codecs)];
  const allText = kinds.every((c) => TEXT_SUBTITLES.has(c));
  const converted = (to: string, name: string) => {
    const from = kinds.filter((c) => c !== to);
    return { codec: to, note: from.length === 0 ? null : `subtitles converted from ${from.join(', ')} to ${name}` };
  };
  if (container === 'matroska') {
    if (kinds.every((c) => MATROSKA_SUBTITLES.has(c))) return { codec: 'copy', note: null };
    if (allText) return converted('subrip', 'SubRip');
  }
  const textTo = container === 'mp4' || container === 'mov' || container === '3gp' ? 'mov_text' : container === 'webm' ? 'webvtt' : null;
  if (textTo !== null && allText) return converted(textTo, textTo === 'mov_text' ? "mov_text (the MP4 family's text format)" : 'WebVTT');
  if (textTo === null && container !== 'matroska') return { codec: null, note: `subtitles not kept: a .${extension} file holds no subtitles (the input's ${streams} left out; .mkv or .mp4 keeps them)` };
  const other = kinds.filter((c) => (container === 'matroska' ? !MATROSKA_SUBTITLES.has(c) && !TEXT_SUBTITLES.has(c) : !TEXT_SUBTITLES.has(c)));
  const what = other.length > 0 ? `${other.join(', ')} subtitles do not go into a .${extension} file` : `${kinds.join(', ')} subtitles do not go into a .${extension} file together`;
  return { codec: null, note: `subtitles not kept: ${what} (the input's ${streams} left out${container === 'matroska' ? '' : '; .mkv keeps those of DVD and Blu-ray'})` };
}

/** Whether `audioCodec` can be copied into `container`. */
export function canCopyAudio(container: string, audioCodec: string): boolean {
  const allowed = CONTAINERS[container]?.audioCopy;
  if (allowed === undefined) return false;
  return allowed === 'any' || allowed.has(audioCodec);
}

/** A time base `num/den` (or `num:den`) checked, with its tick in nanoseconds. */
function timeBaseArg(tb: string): { text: string; tickNs: number } {
  const r = typeof tb === 'string' ? parseRational(tb) : null;
  if (r === null || !Number.isInteger(r.num) || !Number.isInteger(r.den) || r.num / r.den > 1) {
    throw new InputError('E_BAD_OPTION', `Expected a time base like 1/12800 for timeBase but received ${JSON.stringify(tb)}`);
  }
  return { text: `${r.num}:${r.den}`, tickNs: (1e9 * r.num) / r.den };
}

function fpsArg(fps: number | string): string {
  if (typeof fps === 'number') {
    expectNumber('fps', fps, 1e-6, 1e6);
    // Common NTSC rates as exact rationals; otherwise ffmpeg takes the decimal.
    for (const base of [24, 30, 60, 120]) {
      if (Math.abs(fps - (base * 1000) / 1001) < 1e-4) return `${base * 1000}/1001`;
    }
    return String(fps);
  }
  const r = parseRational(fps);
  if (r === null) throw new InputError('E_BAD_OPTION', `Expected a frame rate like 30 or 30000/1001 for fps but received ${JSON.stringify(fps)}`);
  return fps.trim();
}

function stderrReason(text: string): string {
  return text.split('\n').filter((l) => l.trim() !== '').slice(-4).join(' | ');
}

/**
 * ffmpeg filters that turn frames stored with a display rotation (clockwise degrees, as the `rotate` tag
 * says) into upright ones, as ffmpeg's own autorotate does.
 */
const UPRIGHT_FILTERS: Readonly<Record<Rotation, readonly string[]>> = { 0: [], 90: ['transpose=clock'], 180: ['hflip', 'vflip'], 270: ['transpose=cclock'] };

/**
 * Stream-copies `src` to `dst` with a `rotate` tag written so that the file displays `rotationDeg`
 * clockwise (see the file comment for why this takes a remux and a check). Returns the rotation the
 * written file has.
 */
/**
 * Copies `src` to `dst` with every stream cut at `endSec` (output time, seconds): the end of the video's
 * last frame, so the audio stops with the picture.
 */
async function remuxCut(ffmpeg: string, src: string, dst: string, endSec: number, format: string | undefined, faststart: boolean, metadataFrom: string | undefined): Promise<void> {
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-i', ffmpegOutputPath(src), ...metadataSourceArgs(metadataFrom), '-map', '0', '-c', 'copy', '-t', endSec.toFixed(6)];
  if (faststart) args.push('-movflags', MOV_FILE_FLAGS);
  if (format !== undefined) args.push('-f', format);
  args.push(ffmpegOutputPath(dst));
  const r = await runCapture(ffmpeg, args);
  if (r.code !== 0) throw new RuntimeError('E_ENCODE_FAILED', `Ending the audio with the video failed (ffmpeg exited with code ${r.code}): ${stderrReason(r.stderr)}`);
}

/**
 * A remux's global metadata from the original (`-i original -map_metadata 1`), not from the file written
 * first: a creation time that file holds as an `mdta` tag does not survive a second MP4/MOV write.
 */
function metadataSourceArgs(metadataFrom: string | undefined): string[] {
  return metadataFrom === undefined || metadataFrom === '-' ? [] : ['-i', ffmpegInputPath(metadataFrom), '-map_metadata', '1'];
}

async function remuxWithRotation(ffmpeg: string, src: string, dst: string, rotationDeg: Rotation, metadataFrom: string | undefined): Promise<Rotation> {
  for (const tag of [(360 - rotationDeg) % 360, rotationDeg]) {
    const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', '-i', ffmpegOutputPath(src), ...metadataSourceArgs(metadataFrom), '-map', '0', '-c', 'copy', '-metadata:s:v:0', `rotate=${tag}`, '-movflags', MOV_FILE_FLAGS, ffmpegOutputPath(dst)];
    const r = await runCapture(ffmpeg, args);
    if (r.code !== 0) throw new RuntimeError('E_ENCODE_FAILED', `Storing the display rotation failed (ffmpeg exited with code ${r.code}): ${stderrReason(r.stderr)}`);
    const got = (await probeVideo(dst)).rotationDeg;
    if (got === rotationDeg) return got;
  }
  return 0;
}

/**
 * MP4/MOV files: the index up front (playback starts before the whole file is read), and metadata as
 * `mdta` tags, which keep keys the classic tags have no place for (a phone's make, model, capture rate).
 */
const MOV_FILE_FLAGS = '+faststart+use_metadata_tags';

/** The presets of x264 and x265, fastest first. */
const X26X_PRESETS: readonly string[] = ['ultrafast', 'superfast', 'veryfast', 'faster', 'fast', 'medium', 'slow', 'slower', 'veryslow', 'placebo'];

const videoEncoderLists = new Map<string, ReadonlySet<string>>();
/** Names `-c:v` takes in this ffmpeg: its video encoders, and the video codecs it has an encoder for. */
function videoEncoderNames(ffmpeg: string): ReadonlySet<string> {
  const hit = videoEncoderLists.get(ffmpeg);
  if (hit !== undefined) return hit;
  const names = new Set<string>();
  const list = (flag: string) => spawnSync(ffmpeg, ['-hide_banner', flag], { encoding: 'utf8', timeout: 10_000, maxBuffer: 8 << 20 }).stdout ?? '';
  // ` V..... libx264   ...` (type first)
  for (const m of list('-encoders').matchAll(/^ V\S{5} (\S+)/gm)) names.add(m[1] as string);
  // ` DEV.LS h264   ...` (E: has an encoder; V: video)
  for (const m of list('-codecs').matchAll(/^ .EV\S{3} (\S+)/gm)) names.add(m[1] as string);
  videoEncoderLists.set(ffmpeg, names);
  return names;
}

/**
 * Refuses an encoder this ffmpeg does not have (or `copy`: decoded frames cannot be stream-copied) before
 * any work, rather than as an ffmpeg failure after the first frame. Two listings of ffmpeg per binary
 * (about 0.2 s), only when a codec is asked for.
 */
function checkEncoderExists(ffmpeg: string, codec: string): void {
  if (codec === 'copy') throw new InputError('E_BAD_OPTION', 'Expected an encoder for codec but received "copy": the frames are new pictures and cannot be stream-copied');
  const names = videoEncoderNames(ffmpeg);
  // An empty list: the listing itself failed; let ffmpeg judge.
  if (names.size > 0 && !names.has(codec)) throw new InputError('E_BAD_OPTION', `Expected a video encoder this ffmpeg has for codec but received ${JSON.stringify(codec)} (\`ffmpeg -encoders\` lists them)`);
}

/**
 * Why the video file at `path` does not read back (ffprobe cannot open it or finds no video stream in it:
 * an MP4 whose index was never written), or null when it does. An MP4/MOV whose boxes are whole and hold a
 * video track (isobmff.ts) reads back without starting ffprobe; any other file, or one whose boxes are not
 * whole, is judged by ffprobe.
 */
async function unreadableVideo(path: string): Promise<string | null> {
  if (await isobmffWhole(path)) return null;
  try {
    await probeVideo(path);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

/** Answers of checkCodecFitsContainer, by ffmpeg, codec and container. */
const codecFits = new Map<string, string | null>();

/**
 * What a muxer says when it cannot hold a codec (ffmpeg's own words, in the versions steady runs with).
 * Any other failure of the trial (an encoder that needs a device, options, a size) decides nothing: the
 * encode itself reports it.
 */
const MUXER_REFUSES = /Could not find tag for codec|not currently supported in container|Only VP8 or VP9|supported for WebM|codec not supported|Unsupported codec/i;

/**
 * Refuses (E_BAD_OPTION) an encoder whose stream the output's container cannot hold, by writing two
 * frames of a test picture of the output's size with it into a container of the same kind in the
 * temporary folder (0.01-0.15 s, once per encoder, container and size; only for an encoder asked for by
 * name). Only a muxer's refusal refuses; a trial that cannot run decides nothing.
 */
async function checkCodecFitsContainer(ffmpeg: string, codec: string, output: string, format: string | undefined, width: number, height: number, signal: AbortSignal | undefined): Promise<void> {
  const ext = output === '-' ? '.mkv' : extname(output);
  const key = `${ffmpeg}\0${codec}\0${format ?? ''}\0${ext.toLowerCase()}\0${width}x${height}`;
  let reason = codecFits.get(key);
  if (reason === undefined) {
    let folder: string;
    try {
      folder = mkdtempSync(join(tmpdir(), 'steady-codec-check-'));
    } catch {
      return;
    }
    try {
      const w = width + (width % 2);
      const h = height + (height % 2);
      const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-f', 'lavfi', '-i', `color=c=gray:s=${w}x${h}:r=25`, '-frames:v', '2', '-c:v', codec, '-pix_fmt', 'yuv420p', ...(format !== undefined ? ['-f', format] : output === '-' ? ['-f', 'matroska'] : []), '-y', join(folder, `check${ext}`)];
      const r = await runCapture(ffmpeg, args, { timeoutMs: 20_000, ...(signal !== undefined ? { signal } : {}) });
      const said = r.stderr
        .split('\n')
        .map((l) => l.replace(/^\[[^\]]* @ 0x[0-9a-f]+\]\s*/, '').trim())
        .filter((l) => l !== '' && !/^x26[45] \[/.test(l));
      const refusal = said.find((l) => MUXER_REFUSES.test(l));
      reason = r.code !== 0 && r.spawnError === undefined && r.signal === null && refusal !== undefined ? refusal : null;
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
    codecFits.set(key, reason);
  }
  if (reason !== null) {
    const where = output === '-' ? 'standard output (Matroska)' : `a ${ext || format} file`;
    throw new InputError('E_BAD_OPTION', `Expected an encoder ${where} can hold for codec but received ${JSON.stringify(codec)} (ffmpeg: ${reason}); choose another --codec or output extension`);
  }
}

/** Codec names that mean the encoder steady sets quality options for. */
const CODEC_ALIASES: Readonly<Record<string, string>> = { h264: 'libx264', hevc: 'libx265', vp9: 'libvpx-vp9', vp8: 'libvpx' };

/** Highest constant rate factor of each encoder that takes one (x264/x265: 0..51; VP8/VP9, AV1: 0..63). */
const CRF_MAX: Readonly<Record<string, number>> = { libx264: 51, libx265: 51, libvpx: 63, 'libvpx-vp9': 63, 'libaom-av1': 63, libsvtav1: 63 };

/**
 * Starts ffmpeg to encode raw yuv420p frames to `output` (a file, written under a temporary name and
 * renamed by finish(); or '-' for standard output).
 * @throws InputError E_OUTPUT_UNWRITABLE (exit 2) before starting anything when the output directory is
 *   missing or read-only; E_BAD_OPTION for invalid options; the probe's errors for audioFrom.
 */
export async function openEncoder(output: string, options: EncoderOptions): Promise<Encoder> {
  const width = expectInteger('width', options.width, 1, 65536);
  const height = expectInteger('height', options.height, 1, 65536);
  const fps = fpsArg(options.fps);
  const timeBase = options.timeBase === undefined ? null : timeBaseArg(options.timeBase);
  const givenOffsetSec = options.timeOffsetSec === undefined ? 0 : expectNumber('timeOffsetSec', options.timeOffsetSec, 0, 1e7);
  const passesTimes = timeBase !== null && !(options.constantRate ?? !containerKeepsFrameTimes(output, options.format));
  // At a fixed rate the frames sit on the rate's grid, and ffmpeg rounds an offset to it (the raw input's
  // clock is 1 / rate), up as often as down: an offset rounded up pushes the last frame of a --duration
  // cut past its end, and a fraction of a period repeats the first frame. Whole periods, rounded down,
  // keep every frame, the picture at most one period ahead of the sound.
  // fps was checked by fpsArg.
  const rate = parseRational(fps) as { num: number; den: number };
  const timeOffsetSec = passesTimes ? givenOffsetSec : (Math.floor((givenOffsetSec * rate.num) / rate.den + 1e-9) * rate.den) / rate.num;
  const crf = options.crf === undefined ? 18 : expectNumber('crf', options.crf, 0, 63);
  const preset = options.preset === undefined ? 'veryfast' : expectString('preset', options.preset);
  if (options.threads !== undefined) expectInteger('threads', options.threads, 0, 1024);
  const rotationDeg: Rotation = options.rotationDeg ?? 0;
  if (![0, 90, 180, 270].includes(rotationDeg)) {
    throw new InputError('E_BAD_OPTION', `Expected one of 0|90|180|270 for rotationDeg but received ${String(rotationDeg)}`);
  }
  const toStdout = output === '-';
  const container = containerOf(output, options.format);
  checkOutputContainer(output, options.format);
  const spec: ContainerSpec | undefined = CONTAINERS[container];
  const ffmpeg = options.ffmpegPath ?? resolveFfmpeg().path;
  if (options.codec !== undefined) checkEncoderExists(ffmpeg, options.codec);
  const asked = options.codec ?? spec?.video ?? 'libx264';
  const codec = CODEC_ALIASES[asked] !== undefined && videoEncoderNames(ffmpeg).has(CODEC_ALIASES[asked] as string) ? (CODEC_ALIASES[asked] as string) : asked;
  const features = ffmpegFeatures(ffmpeg);
  // An encoder asked for: can the container hold what it makes? (A WebM takes VP8/VP9/AV1 only, an MP4
  // no raw video.) Found now, not as an encode failure after the first frames.
  if (options.codec !== undefined && codec !== 'gif') await checkCodecFitsContainer(ffmpeg, codec, output, options.format, width, height, options.signal);
  const notes: string[] = [];
  if (/^lib(x264|x265)$/.test(codec) && !X26X_PRESETS.includes(preset)) {
    throw new InputError('E_BAD_OPTION', `Expected one of ${X26X_PRESETS.join('|')} for preset with ${codec} but received ${JSON.stringify(preset)}`);
  }
  if (!/^lib(x264|x265)$/.test(codec) && options.preset !== undefined) notes.push(`preset ${options.preset} not used: ${codec} has no presets`);
  // The crf scale is the encoder's own: x264 and x265 stop at 51 (a higher value became 51 without a
  // word); the encoders with no crf take a fixed high quality, and a crf asked for is said to be unused.
  const crfMax = CRF_MAX[codec];
  if (crfMax !== undefined && crf > crfMax) throw new InputError('E_BAD_OPTION', `Expected 0..${crfMax} for crf with ${codec} but received ${crf}`);
  if (crfMax === undefined && options.crf !== undefined) notes.push(`crf ${options.crf} not used: ${codec} has no constant rate factor`);

  // Audio: decide copy or re-encode from the original's codec.
  let audio: AudioOutcome = 'none';
  let audioArgs: string[] = [];
  let audioInput: string[] = [];
  // The original, cut as the decoder cut the frames: the second input, for its sound and its subtitles.
  const sourceInputArgs = (from: string): string[] => [
    ...(options.audioStartSec !== undefined && options.audioStartSec > 0 ? ['-ss', ffmpegSeconds(options.audioStartSec)] : []),
    ...(options.audioDurationSec !== undefined ? ['-t', ffmpegSeconds(options.audioDurationSec)] : []),
    '-i',
    ffmpegInputPath(from),
  ];
  let subtitleArgs: string[] = [];
  if (options.audioFrom === '-') {
    notes.push('audio not kept: standard input cannot be read a second time for its audio');
    const n = options.audioProbe?.subtitleStreams ?? 0;
    if (n > 0) notes.push(`subtitles not kept: standard input cannot be read a second time for ${n === 1 ? 'its subtitle stream' : `its ${n} subtitle streams`}`);
  } else if (options.audioFrom !== undefined) {
    const ap = options.audioProbe ?? (await probeVideo(options.audioFrom));
    const subs = subtitlePlan(container, ap.subtitleCodecs, extensionOf(output) || container);
    if (subs.note !== null) notes.push(subs.note);
    if (subs.codec !== null) subtitleArgs = ['-map', '1:s?', '-c:s', subs.codec];
    if (ap.hasAudio && ap.audioCodec !== null && spec !== undefined && spec.audio === null) {
      notes.push(`audio not kept: a .${extensionOf(output) || container} file holds one video stream only`);
    } else if (ap.hasAudio && ap.audioCodec !== null) {
      audioInput = sourceInputArgs(options.audioFrom);
      // AAC from an MPEG-TS, HLS or raw AAC stream (ADTS) carries its configuration in every packet, not up
      // front: Matroska writes that configuration in its header, which it can only fill in afterwards in a
      // file, not on standard output.
      const adtsToStream = toStdout && ap.audioCodec === 'aac' && /(^|,)(mpegts|aac|hls|applehttp)(,|$)/.test(ap.format);
      if (canCopyAudio(container, ap.audioCodec) && !adtsToStream) {
        audio = 'copied';
        // Input seeking lands on the video's keyframe before the start point, and a stream copy would
        // take every audio packet from there, hidden behind an edit list that players still count in
        // the length: drop the packets before the start instead.
        const trimmed = options.audioStartSec !== undefined && options.audioStartSec > 0;
        audioArgs = ['-map', '1:a?', '-c:a', 'copy', ...(trimmed ? ['-copypriorss:a', '0'] : [])];
      } else {
        audio = 'reencoded';
        const to = spec?.audio ?? AAC;
        audioArgs = ['-map', '1:a?', '-c:a', to.codec, ...to.args];
        const rate = to.args[0] === '-b:a' ? ` at ${String(to.args[1]).replace('k', '')} kb/s` : '';
        notes.push(
          adtsToStream
            ? `audio re-encoded from ${ap.audioCodec} to ${to.name}${rate}: AAC from an MPEG-TS stream cannot be copied into ${container} on standard output`
            : `audio re-encoded from ${ap.audioCodec} to ${to.name}${rate}: the ${container} container does not take ${ap.audioCodec} as it is`,
        );
      }
    }
  }

  // Subtitles without sound come from the same second input.
  if (audioInput.length === 0 && subtitleArgs.length > 0 && options.audioFrom !== undefined) audioInput = sourceInputArgs(options.audioFrom);

  // Global metadata (creation time, location, title...): from the audio's input when it is the same file,
  // else from an input of its own (no stream of it is read).
  let metadataInput: string[] = [];
  let metadataArgs: string[] = [];
  const metadataFrom = options.metadataFrom;
  if (metadataFrom !== undefined && metadataFrom !== '-') {
    if (audioInput.length > 0 && options.audioFrom === metadataFrom) metadataArgs = ['-map_metadata', '1'];
    else {
      metadataInput = ['-i', ffmpegInputPath(metadataFrom)];
      metadataArgs = ['-map_metadata', audioInput.length > 0 ? '2' : '1'];
    }
  }

  // Rotation: in the encode when ffmpeg can, else by a remux after it (files in MP4/MOV only).
  const storesRotation = container === 'mp4' || container === 'mov';
  let rotationInEncode = false;
  let rotationByRemux = false;
  if (rotationDeg !== 0) {
    if (!storesRotation) notes.push(`display rotation ${rotationDeg} deg: the pictures are turned upright, as ${toStdout ? 'standard output (Matroska)' : `a .${extensionOf(output) || container} file`} keeps no rotation`);
    else if (features.displayRotation) rotationInEncode = true;
    else if (toStdout) notes.push(`display rotation ${rotationDeg} deg not stored: this ffmpeg can only add it to a finished file, not to standard output`);
    else rotationByRemux = true;
  }

  // x264 / x265 reject odd sizes in 4:2:0: drop the last column / row rather than resample or pad.
  const needsEven = /^lib(x264|x265)$/.test(codec) && (width % 2 === 1 || height % 2 === 1);
  // A pixel shape other than square, written as a filter (raw frames carry none); valid N:D only.
  const sar = options.sampleAspectRatio;
  if (sar != null && !/^[1-9]\d*:[1-9]\d*$/.test(sar)) throw new InputError('E_BAD_OPTION', `Expected N:D for sampleAspectRatio but received ${JSON.stringify(sar)}`);
  const sarFilter = sar != null ? `setsar=${sar.replace(':', '/')}` : null;
  // A container that keeps no display rotation gets the pictures turned upright (as a player would show
  // them), last: the crop and the pixel shape apply to the frames as stored, and transpose swaps the shape.
  const upright = rotationDeg === 0 || storesRotation ? [] : UPRIGHT_FILTERS[rotationDeg];
  const videoFilters = [...(needsEven ? [`crop=${width - (width % 2)}:${height - (height % 2)}:0:0`] : []), ...(sarFilter !== null && codec !== 'gif' ? [sarFilter] : []), ...(codec === 'gif' ? [] : upright)];
  const filterArgs = videoFilters.length > 0 ? ['-vf', videoFilters.join(',')] : [];
  // The size as the file has it: turned upright (a quarter turn swaps the sides) where it was.
  const turned = upright.length === 1;
  const evenW = width - (width % 2);
  const evenH = height - (height % 2);
  if (needsEven) notes.push(`output is ${turned ? evenH : evenW}x${turned ? evenW : evenH}: ${codec} needs even sizes in 4:2:0, so the last ${width % 2 === 1 ? 'column' : ''}${width % 2 === 1 && height % 2 === 1 ? ' and ' : ''}${height % 2 === 1 ? 'row' : ''} was dropped`);

  let temp: TempOutput | null = toStdout ? null : createTempOutput(output);
  const target = toStdout ? 'pipe:1' : ffmpegOutputPath(temp!.tempPath);
  const videoCodecArgs = ['-c:v', codec];
  if (crfMax !== undefined) videoCodecArgs.push('-crf', String(crf));
  if (/^libvpx/.test(codec)) videoCodecArgs.push('-b:v', '0');
  if (/^lib(x264|x265)$/.test(codec)) videoCodecArgs.push('-preset', preset);
  // Quality for the encoders that take no crf: the high end of their scales.
  if (codec === 'mpeg2video' || codec === 'mpeg4' || codec === 'mjpeg' || codec === 'msmpeg4v3' || codec === 'msmpeg4v2' || codec === 'mpeg1video') videoCodecArgs.push('-q:v', '2');
  if (codec === 'libtheora') videoCodecArgs.push('-q:v', '8');
  // x265 logs its banner at info level whatever ffmpeg's loglevel.
  if (codec === 'libx265') videoCodecArgs.push('-x265-params', 'log-level=error');
  // HEVC in MP4/MOV as 'hvc1' (parameter sets in the sample description), the tag Apple's players require;
  // ffmpeg writes 'hev1' by default, which QuickTime, iOS and Safari refuse.
  if (codec === 'libx265' && (container === 'mp4' || container === 'mov')) videoCodecArgs.push('-tag:v', 'hvc1');
  const c = options.colour;
  const tagArg = (flag: string, known: ReadonlySet<string>, v: string | null): string[] => (v !== null && known.has(v) ? [flag, v] : []);
  const colourArgs =
    c === undefined || codec === 'gif'
      ? []
      : [
          ...tagArg('-color_primaries', KNOWN_PRIMARIES, c.primaries),
          ...tagArg('-color_trc', KNOWN_TRANSFERS, c.transfer),
          ...tagArg('-colorspace', KNOWN_MATRICES, c.matrix),
          ...tagArg('-color_range', KNOWN_RANGES, c.range),
        ];
  // GIF: RGB made with the source's matrix (raw frames carry none: untagged, HD is taken as BT.709 and SD
  // as BT.601, as players do), then a 256-colour palette per frame: one for the whole clip would make
  // ffmpeg hold every frame until the end (1 GB for 30 s at 640x360). Ordered (Bayer) dithering: its
  // pattern is fixed on the screen, where error diffusion (ffmpeg's default) spreads each frame's rounding
  // its own way, which crawls over a steadied picture. On the park walk (245 frames, 480x360) it added 0.27
  // grey levels per pixel of frame-to-frame change to the source's 7.44, error diffusion 0.57, for a
  // larger error per frame (2.5 against 1.9); and it took 9.3 s against 16.7 s.
  const gifMatrix = gifMatrixFor(c?.matrix ?? null, height);
  const gifArgs =
    codec === 'gif'
      ? ['-vf', `${upright.map((f) => `${f},`).join('')}scale=in_color_matrix=${gifMatrix}:in_range=tv:out_range=pc,format=rgb24,split[a][b];[a]palettegen=stats_mode=single[p];[b][p]paletteuse=new=1:dither=bayer:bayer_scale=3`]
      : [];
  if (codec === 'gif') notes.push('GIF: 256 colours, a palette per frame, ordered dithering');
  const args = [
    '-hide_banner',
    '-nostats',
    '-loglevel',
    'error',
    '-y',
    ...(timeOffsetSec > 0 ? ['-itsoffset', ffmpegSeconds(timeOffsetSec)] : []),
    ...(timeBase === null ? ['-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${width}x${height}`, '-framerate', fps] : ['-f', 'matroska']),
    ...(rotationInEncode ? ['-display_rotation:v:0', String((360 - rotationDeg) % 360)] : []),
    '-i',
    'pipe:0',
    ...audioInput,
    ...metadataInput,
    '-map',
    '0:v:0',
    ...audioArgs,
    ...subtitleArgs,
    ...metadataArgs,
    ...filterArgs,
    ...gifArgs,
    ...videoCodecArgs,
    ...colourArgs,
    ...(options.threads !== undefined ? ['-threads', String(options.threads)] : []),
    // With frame times: passed through in the source's time base, or, in a container with a fixed rate,
    // frames repeated or dropped to keep `fps` in step with the times (and the audio).
    ...(timeBase === null
      ? []
      : passesTimes
        ? [...passthroughArgs(features), '-enc_time_base:v', timeBase.text]
        : [...(features.fpsMode ? ['-fps_mode', 'cfr'] : ['-vsync', 'cfr']), '-r', fps]),
    // The audio's duration again on the output side: the 2018 build's input -t does not stop copied
    // MPEG-TS audio (3.4 s for a 2 s cut). Whole frame periods, rounded up: ffmpeg rounds it to the
    // frames' clock, and 2.01 s at 25 fps would drop the frame at 2.00 s that the cut holds.
    ...(audio !== 'none' && options.audioDurationSec !== undefined ? ['-t', ffmpegSeconds(Math.ceil((options.audioDurationSec * rate.num) / rate.den - 1e-9) * (rate.den / rate.num))] : []),
    ...(codec === 'gif' ? [] : ['-pix_fmt', 'yuv420p']),
    ...(!toStdout && storesRotation ? ['-movflags', MOV_FILE_FLAGS] : []),
    ...(toStdout && container === 'mp4' ? ['-movflags', 'frag_keyframe+empty_moov'] : []),
    ...(options.outputOptions ?? []),
    ...(options.format !== undefined ? ['-f', options.format] : toStdout ? ['-f', 'matroska'] : spec?.format !== undefined ? ['-f', spec.format] : []),
    target,
  ];

  const chromaBytes = Math.ceil(width / 2) * Math.ceil(height / 2);
  const lumaBytes = width * height;
  const frameBytes = lumaBytes + 2 * chromaBytes;
  const stderr = new TailBuffer(4096);
  const stdoutSink = toStdout ? (options.stdout ?? process.stdout) : null;
  // In a group of its own: a terminal's Ctrl-C reaches steady, which finishes or stops the encode itself.
  const child: ChildProcess = spawnTracked(ffmpeg, args, { stdio: ['pipe', stdoutSink === null ? 'ignore' : 'pipe', 'pipe'], detached: OWN_PROCESS_GROUP });
  child.stderr?.on('data', (c: Buffer) => stderr.push(c));
  if (stdoutSink !== null && child.stdout !== null) child.stdout.pipe(stdoutSink, { end: false });
  // Standard output that cannot be written (a full disk behind `> file`, a closed terminal) unpipes
  // ffmpeg's output: ffmpeg would then block on its full pipe forever. Stop it and say why instead.
  let sinkError: Error | null = null;
  const onSinkError = (e: Error): void => {
    sinkError ??= e;
    child.stdout?.resume();
    child.kill('SIGKILL');
  };
  stdoutSink?.on('error', onSinkError);
  const detachSink = (): void => {
    stdoutSink?.removeListener('error', onSinkError);
  };
  const stdin = child.stdin as Writable;
  let stdinError: Error | null = null;
  stdin.on('error', (e: Error) => {
    stdinError = e;
  });
  // With timestamps: the Matroska header now, then a small header before each frame (reused: each write
  // is complete before the next starts). Times are kept increasing by at least one tick of the time base.
  const frameHeader = timeBase === null ? null : new Uint8Array(MKV_FRAME_HEADER_BYTES);
  const minStepNs = timeBase === null ? 0 : Math.max(1, Math.ceil(timeBase.tickNs));
  let lastTimeNs = Number.NEGATIVE_INFINITY;
  if (timeBase !== null) {
    // fps was checked by fpsArg: the nominal frame length gives the last frame its duration.
    stdin.write(mkvRawHeader(width, height, (1e9 * rate.den) / rate.num));
  }
  let spawnError: Error | null = null;
  child.once('error', (e: Error) => {
    spawnError = e;
  });
  /** One watcher for the whole encode (a listener per write would pile up). */
  const exited = waitForExit(child).then(() => 'exited' as const);
  // 'exit' can come before the last of stderr has been read; 'close' comes after the output pipes ended.
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let framesWritten = 0;
  let state: 'open' | 'finishing' | 'done' | 'aborted' = 'open';

  const describe = (): string => (toStdout ? 'standard output' : JSON.stringify(output));
  const failure = async (what: string): Promise<RuntimeError> => {
    await waitForExit(child);
    if (spawnError === null) await closed;
    if (spawnError !== null) {
      return new RuntimeError('E_FFMPEG_NOT_FOUND', `could not run ffmpeg at ${JSON.stringify(ffmpeg)} (${(spawnError as Error).message}); set FFMPEG_PATH to a working ffmpeg`, { cause: spawnError });
    }
    if (sinkError !== null) {
      return new RuntimeError('E_OUTPUT_WRITE', `Cannot write the video to standard output after ${framesWritten} frames: ${(sinkError as Error).message}`, { cause: sinkError });
    }
    const tail = stderrReason(stderr.toString());
    return new RuntimeError('E_ENCODE_FAILED', `Encoding ${describe()} failed after ${framesWritten} frames: ${what}${tail ? `; ffmpeg said: ${tail}` : ''}`);
  };

  /** A finished file waiting for commit() (finish with `commit: false`). */
  let uncommitted: TempOutput | null = null;
  const abort = async (): Promise<void> => {
    if (state === 'done') {
      await uncommitted?.discard();
      uncommitted = null;
    }
    if (state === 'done' || state === 'aborted') return;
    state = 'aborted';
    options.signal?.removeEventListener('abort', onAbort);
    await killAndWait(child);
    if (stdoutSink !== null && child.stdout !== null) child.stdout.unpipe(stdoutSink);
    detachSink();
    await temp?.discard();
  };
  const onAbort = (): void => {
    void abort();
  };
  whenAborted(options.signal, onAbort);

  const write = async (frame: Uint8Array | YuvPlanes, timeSec?: number): Promise<void> => {
    if (state !== 'open') {
      if (state === 'aborted' && options.signal?.aborted === true) throw abortReason(options.signal);
      throw new RuntimeError('E_ENCODE_FAILED', `Cannot write a frame to ${describe()}: the encoder is ${state === 'aborted' ? 'aborted' : 'finished'}`);
    }
    const parts: Uint8Array[] = [];
    const contiguous = (frame as { data?: unknown }).data;
    if (!(frame instanceof Uint8Array) && contiguous instanceof Uint8Array && contiguous.length === frameBytes) {
      // A decoded frame carries its planes in one buffer: one write instead of three.
      parts.push(contiguous);
    } else if (frame instanceof Uint8Array) {
      if (frame.length !== frameBytes) throw new RangeError(`expected ${frameBytes} bytes per frame (${width}x${height} yuv420p), got ${frame.length}`);
      parts.push(frame);
    } else {
      if (frame.y.length !== lumaBytes || frame.u.length !== chromaBytes || frame.v.length !== chromaBytes) {
        throw new RangeError(`expected planes of ${lumaBytes}, ${chromaBytes}, ${chromaBytes} bytes (${width}x${height} yuv420p), got ${frame.y.length}, ${frame.u.length}, ${frame.v.length}`);
      }
      parts.push(frame.y, frame.u, frame.v);
    }
    if (frameHeader !== null) {
      const t = timeSec ?? (frame as { timeSec?: unknown }).timeSec;
      if (typeof t !== 'number' || !Number.isFinite(t)) throw new RangeError(`a frame time (timeSec, seconds) is needed with timeBase, got ${String(t)}`);
      const timeNs = Math.max(0, Math.round(t * 1e9), lastTimeNs + minStepNs);
      lastTimeNs = timeNs;
      mkvFrameHeaderInto(frameHeader, timeNs, frameBytes);
      parts.unshift(frameHeader);
    }
    if (stdinError !== null || spawnError !== null || stdin.destroyed) throw await failure('ffmpeg stopped reading frames');
    const written = new Promise<Error | null | undefined>((resolve) => {
      stdin.cork();
      for (let i = 0; i < parts.length - 1; i++) stdin.write(parts[i]);
      stdin.write(parts[parts.length - 1], resolve);
      stdin.uncork();
    });
    // If ffmpeg dies, the pending write's callback gets the error; its exit is watched too so that a
    // write blocked on the full pipe of a dead process cannot hang.
    const result = await Promise.race([written, exited]);
    if (result !== null && result !== undefined) {
      if ((state as string) === 'aborted') throw options.signal?.aborted === true ? abortReason(options.signal) : new RuntimeError('E_ENCODE_FAILED', `Encoding ${describe()} was aborted`);
      throw await failure(result === 'exited' ? 'ffmpeg exited while frames were still being written' : 'ffmpeg stopped reading frames');
    }
    framesWritten += 1;
  };

  const finish = async (finishOptions: FinishOptions = {}): Promise<EncodeResult> => {
    if (state !== 'open') throw new RuntimeError('E_ENCODE_FAILED', `Cannot finish ${describe()}: the encoder is ${state}`);
    state = 'finishing';
    stdin.end();
    const { code, signal } = await waitForExit(child);
    options.signal?.removeEventListener('abort', onAbort);
    if (code !== 0) {
      const err = await failure(signal !== null ? `ffmpeg was killed by ${signal}` : `ffmpeg exited with code ${code}`);
      state = 'done';
      detachSink();
      await temp?.discard();
      throw err;
    }
    if (stdoutSink !== null && child.stdout !== null) {
      await new Promise<void>((resolve) => {
        if (child.stdout?.readableEnded === true) resolve();
        else child.stdout?.once('end', () => resolve());
      });
      child.stdout.unpipe(stdoutSink);
      detachSink();
      if (sinkError !== null) {
        state = 'done';
        throw await failure('standard output could not be written');
      }
    }
    let storedRotation: Rotation = rotationDeg !== 0 && (rotationInEncode || rotationByRemux) ? rotationDeg : 0;
    try {
      if (temp !== null && finishOptions.endAudioWithVideo === true && audio !== 'none' && framesWritten > 0) {
        // The end of the last frame in output time: with frame times, the last one's (shifted by the
        // offset the input was given) plus a nominal frame; else frame count over rate.
        const frameSec = rate.den / rate.num;
        const endSec = timeOffsetSec + (frameHeader !== null ? lastTimeNs / 1e9 + frameSec : framesWritten * frameSec);
        const cut = createTempOutput(output);
        let cutDone = true;
        try {
          await remuxCut(ffmpeg, temp.tempPath, cut.tempPath, endSec, options.format ?? spec?.format, storesRotation, options.metadataFrom);
          // ffmpeg exits 0 when a stream copy meets a full disk: only a copy that reads back counts.
          const unreadable = await unreadableVideo(cut.tempPath);
          if (unreadable !== null) throw new RuntimeError('E_ENCODE_FAILED', `the copy with its sound cut cannot be read back (${unreadable})`);
        } catch (err) {
          await cut.discard();
          // A kept prefix is worth more than its cut sound: a full disk has no room for the second copy
          // the cut needs, so keep the file as written (checked below), sound running on past the pictures.
          if (!(err instanceof RuntimeError)) throw err;
          cutDone = false;
          notes.push(`its sound could not be cut where the pictures end (${err.message}): it goes on past them`);
        }
        if (cutDone) {
          await temp.discard();
          temp = cut;
        }
      }
      if (temp !== null && rotationInEncode) {
        const got = (await probeVideo(temp.tempPath)).rotationDeg;
        if (got !== rotationDeg) {
          // A build whose -display_rotation turns the other way, or ignores it: fix by a remux.
          rotationByRemux = true;
        }
      }
      if (temp !== null && rotationByRemux) {
        const second = createTempOutput(output);
        try {
          storedRotation = await remuxWithRotation(ffmpeg, temp.tempPath, second.tempPath, rotationDeg, options.metadataFrom);
          if (storedRotation === rotationDeg) {
            await temp.discard();
            temp = second;
          } else {
            notes.push(`display rotation ${rotationDeg} deg could not be stored by this ffmpeg; the frames are in stored orientation`);
            await second.discard();
          }
        } catch (err) {
          await second.discard();
          throw err;
        }
      }
      // ffmpeg exits 0 when its last write (an MP4's index) meets a full disk: a file that does not read
      // back is a failure, never a result.
      if (temp !== null) {
        const unreadable = await unreadableVideo(temp.tempPath);
        if (unreadable !== null) throw await failure(`the file written cannot be read back (${unreadable}); is the disk full?`);
      }
      if (finishOptions.commit === false) uncommitted = temp;
      else await temp?.commit();
    } catch (err) {
      await temp?.discard();
      state = 'done';
      throw err;
    }
    state = 'done';
    return { output, frames: framesWritten, audio, rotationDeg: storedRotation, notes: [...notes] };
  };

  return {
    output,
    args,
    audio,
    notes,
    get framesWritten() {
      return framesWritten;
    },
    write,
    finish,
    async commit() {
      const t = uncommitted;
      uncommitted = null;
      await t?.commit();
    },
    abort,
  };
}

function abortReason(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  if (r instanceof Error) return r;
  return new InterruptedError(r === 'SIGTERM' ? 'SIGTERM' : 'SIGINT');
}
