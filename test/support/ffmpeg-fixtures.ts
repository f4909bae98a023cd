/**
 * Small test clips and images made with ffmpeg on the fly, so tests need no binary files in the
 * repository: lavfi sources (testsrc, testsrc2, mandelbrot, solid colour, smptebars), optional sine-wave
 * audio, any size (odd ones included), any pixel format (10-bit), any codec/container, display
 * rotation metadata, and clips made from exact YUV frames given by the test.
 *
 * Defaults are tiny (64x48, 10 frames at 10 fps) so a clip takes a few tens of milliseconds.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { extname, join } from 'node:path';
import { resolveFfmpeg, resolveFfprobe } from '../../src/video/binaries.js';
import { runCapture } from '../../src/video/process-registry.js';

/** Makes a fresh temporary directory (remove it with removeTempDir in afterAll). */
export async function makeTempDir(prefix = 'steady-test-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** Removes a directory made by makeTempDir, with everything in it. */
export async function removeTempDir(dir: string): Promise<void> {
  await rm(dir, { recursive: true, force: true });
}

/** Runs ffmpeg with the given arguments (after -hide_banner -loglevel error -y); throws with its stderr on failure. */
export async function ffmpeg(args: readonly string[], input?: Uint8Array): Promise<Buffer> {
  const bin = resolveFfmpeg().path;
  const r = await runCapture(bin, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...args], input === undefined ? {} : { input });
  if (r.code !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed (code ${r.code}): ${r.stderr}`);
  return r.stdout;
}

/** Runs ffprobe -print_format json with the given arguments and parses its answer. */
export async function ffprobeJson(args: readonly string[]): Promise<Record<string, unknown>> {
  const r = await runCapture(resolveFfprobe().path, ['-v', 'error', '-print_format', 'json', ...args]);
  if (r.code !== 0) throw new Error(`ffprobe ${args.join(' ')} failed (code ${r.code}): ${r.stderr}`);
  return JSON.parse(r.stdout.toString('utf8')) as Record<string, unknown>;
}

/** What makeClip produces. */
export interface ClipSpec {
  /** Frame width, pixels. @default 64 */
  readonly width?: number;
  /** Frame height, pixels. @default 48 */
  readonly height?: number;
  /** Number of frames. @default 10 */
  readonly frames?: number;
  /** Frame rate, a number or a rational such as '30000/1001'. @default 10 */
  readonly fps?: number | string;
  /** lavfi video source. @default 'testsrc' */
  readonly source?: 'testsrc' | 'testsrc2' | 'mandelbrot' | 'color' | 'smptebars' | 'rgbtestsrc';
  /** Colour for source 'color' (ffmpeg colour syntax, e.g. 'gray', '0x336699'). @default 'gray' */
  readonly color?: string;
  /** A full lavfi video graph; replaces source/color/size/rate when given. */
  readonly lavfi?: string;
  /** Pixel format stored in the file (e.g. 'yuv420p10le'). @default 'yuv420p' */
  readonly pixFmt?: string;
  /**
   * Video codec. @default 'libx264' for .mp4/.mov, 'ffv1' (lossless, any size and bit depth) for
   * .mkv/.nut/.avi, 'mjpeg' otherwise
   */
  readonly codec?: string;
  /** Add a sine-wave audio track. `true` = 440 Hz, 8 kHz mono in the container's usual codec. @default false */
  readonly audio?: boolean | { readonly frequencyHz?: number; readonly sampleRate?: number; readonly codec?: string };
  /** Store this clockwise display rotation (MP4/MOV only; checked with ffprobe). @default 0 */
  readonly rotationDeg?: 0 | 90 | 180 | 270;
  /** Extra output arguments (before the file name). @default [] */
  readonly extraArgs?: readonly string[];
}

function defaultCodec(ext: string): string {
  if (ext === '.mp4' || ext === '.mov' || ext === '.m4v') return 'libx264';
  if (ext === '.mkv' || ext === '.nut' || ext === '.avi') return 'ffv1';
  if (ext === '.webm') return 'libvpx-vp9';
  if (ext === '.ts') return 'mpeg2video';
  return 'mjpeg';
}

function defaultAudioCodec(ext: string): string {
  if (ext === '.mkv' || ext === '.nut') return 'flac';
  if (ext === '.webm') return 'libopus';
  if (ext === '.avi') return 'pcm_s16le';
  return 'aac';
}

/** Makes a clip at `path` (container from the extension) and returns `path`. */
export async function makeClip(path: string, spec: ClipSpec = {}): Promise<string> {
  const width = spec.width ?? 64;
  const height = spec.height ?? 48;
  const frames = spec.frames ?? 10;
  const fps = String(spec.fps ?? 10);
  const ext = extname(path).toLowerCase();
  const source = spec.source ?? 'testsrc';
  const graph =
    spec.lavfi ??
    (source === 'color'
      ? `color=c=${spec.color ?? 'gray'}:size=${width}x${height}:rate=${fps}`
      : source === 'mandelbrot'
        ? `mandelbrot=size=${width}x${height}:rate=${fps}`
        : `${source}=size=${width}x${height}:rate=${fps}`);
  const args = ['-f', 'lavfi', '-i', graph];
  const audio = spec.audio === true ? {} : spec.audio === false || spec.audio === undefined ? null : spec.audio;
  if (audio !== null) {
    args.push('-f', 'lavfi', '-i', `sine=frequency=${audio.frequencyHz ?? 440}:sample_rate=${audio.sampleRate ?? 8000}`);
  }
  const codec = spec.codec ?? defaultCodec(ext);
  args.push('-map', '0:v:0', '-frames:v', String(frames), '-c:v', codec, '-pix_fmt', spec.pixFmt ?? 'yuv420p');
  if (codec === 'libx264') args.push('-preset', 'ultrafast');
  if (codec === 'mjpeg') args.push('-q:v', '3');
  if (audio !== null) {
    // The audio lasts as long as the video.
    args.push('-map', '1:a:0', '-c:a', audio.codec ?? defaultAudioCodec(ext), '-t', String(frames / evalRate(fps)));
  }
  args.push(...(spec.extraArgs ?? []));
  const rotation = spec.rotationDeg ?? 0;
  if (rotation === 0) {
    await ffmpeg([...args, path]);
    return path;
  }
  const plain = `${path}.norot${ext}`;
  await ffmpeg([...args, plain]);
  await setDisplayRotation(plain, path, rotation);
  await rmQuiet(plain);
  return path;
}

function evalRate(fps: string): number {
  const [n, d] = fps.split('/');
  return Number(n) / (d === undefined ? 1 : Number(d));
}

async function rmQuiet(path: string): Promise<void> {
  await rm(path, { force: true });
}

/** The clockwise display rotation ffprobe reads from a file (display matrix, else rotate tag). */
export async function readDisplayRotation(path: string): Promise<number> {
  const json = (await ffprobeJson(['-show_streams', '-select_streams', 'v:0', path])) as {
    streams?: { side_data_list?: { rotation?: number }[]; tags?: { rotate?: string } }[];
  };
  const s = json.streams?.[0];
  const sd = s?.side_data_list?.find((d) => d.rotation !== undefined);
  // ffprobe's matrix angle is counter-clockwise.
  const cw = sd !== undefined ? -Number(sd.rotation) : Number(s?.tags?.rotate ?? 0);
  return ((Math.round(cw / 90) * 90) % 360 + 360) % 360;
}

/**
 * Copies `src` to `dst` (MP4/MOV) with a display rotation of `rotationDeg` clockwise. ffmpeg builds
 * differ in which way the `rotate` tag turns, so both signs are tried and the one ffprobe confirms is kept.
 */
export async function setDisplayRotation(src: string, dst: string, rotationDeg: 0 | 90 | 180 | 270): Promise<void> {
  for (const tag of [(360 - rotationDeg) % 360, rotationDeg]) {
    await ffmpeg(['-i', src, '-map', '0', '-c', 'copy', '-metadata:s:v:0', `rotate=${tag}`, dst]);
    if ((await readDisplayRotation(dst)) === rotationDeg) return;
  }
  throw new Error(`could not store a display rotation of ${rotationDeg} deg in ${dst}`);
}

/** Bytes of one yuv420p frame (chroma rounded up for odd sizes). */
export function yuv420pBytes(width: number, height: number): number {
  return width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2);
}

/** A yuv420p frame of one colour: every Y sample `y`, every U `u`, every V `v`. */
export function solidYuvFrame(width: number, height: number, y: number, u: number, v: number): Uint8Array {
  const luma = width * height;
  const chroma = Math.ceil(width / 2) * Math.ceil(height / 2);
  const f = new Uint8Array(luma + 2 * chroma);
  f.fill(y, 0, luma);
  f.fill(u, luma, luma + chroma);
  f.fill(v, luma + chroma);
  return f;
}

/**
 * Makes a clip from exact yuv420p frames (each `yuv420pBytes(width, height)` long). With the default
 * lossless codec (ffv1 in .mkv/.nut, or rawvideo in .nut/.avi) decoding gives the same bytes back.
 */
export async function makeClipFromYuvFrames(
  path: string,
  frames: readonly Uint8Array[],
  spec: { width: number; height: number; fps?: number | string; codec?: string; extraArgs?: readonly string[] },
): Promise<string> {
  const ext = extname(path).toLowerCase();
  const all = Buffer.concat(frames.map((f) => Buffer.from(f.buffer, f.byteOffset, f.byteLength)));
  await ffmpeg(
    [
      '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${spec.width}x${spec.height}`, '-framerate', String(spec.fps ?? 10), '-i', 'pipe:0',
      '-c:v', spec.codec ?? defaultCodec(ext), '-pix_fmt', 'yuv420p', ...(spec.extraArgs ?? []), path,
    ],
    all,
  );
  return path;
}

/** Writes a still image from a lavfi source (first frame), e.g. `makeImage(p, 'testsrc=size=32x24')`. */
export async function makeImage(path: string, lavfi: string, pixFmt?: string): Promise<string> {
  await ffmpeg(['-f', 'lavfi', '-i', lavfi, '-frames:v', '1', ...(pixFmt !== undefined ? ['-pix_fmt', pixFmt] : []), '-update', '1', path]);
  return path;
}

/** Counts the video frames of a file by decoding it (ffprobe -count_frames): ground truth for tests. */
export async function countFrames(path: string): Promise<number> {
  const json = (await ffprobeJson(['-count_frames', '-select_streams', 'v:0', '-show_entries', 'stream=nb_read_frames', path])) as {
    streams?: { nb_read_frames?: string }[];
  };
  return Number(json.streams?.[0]?.nb_read_frames ?? Number.NaN);
}

/** Lists the streams of a file as ffprobe sees them: codec_type, codec_name, r_frame_rate, avg_frame_rate, duration. */
export async function listStreams(
  path: string,
): Promise<{ codec_type: string; codec_name: string; codec_tag_string?: string; r_frame_rate: string; avg_frame_rate: string; duration?: string; nb_frames?: string; width?: number; height?: number; sample_aspect_ratio?: string }[]> {
  const json = (await ffprobeJson(['-show_streams', path])) as { streams?: { codec_type: string; codec_name: string; r_frame_rate: string; avg_frame_rate: string; duration?: string; nb_frames?: string }[] };
  return json.streams ?? [];
}

/**
 * Makes a variable-frame-rate clip: testsrc2 at 25 fps (96x64) of which only frames `keep` (default: 0-9
 * and 25-49, a 0.64 s gap) are kept with their original times, so frame j is at keep[j] / 25 s. Returns
 * the path and those times (the ground truth, fixed by the construction). The probe tells such a clip
 * by its r_frame_rate and avg_frame_rate, which MP4 fills in and Matroska does not (there both say 25).
 */
export async function makeVfrClip(path: string, options: { audio?: boolean; keep?: readonly number[] } = {}): Promise<{ path: string; timesSec: number[] }> {
  const keep = options.keep ?? [...Array.from({ length: 10 }, (_, i) => i), ...Array.from({ length: 25 }, (_, i) => 25 + i)];
  const last = keep[keep.length - 1] as number;
  const select = keep.map((n) => `eq(n\\,${n})`).join('+');
  await ffmpeg([
    '-f', 'lavfi', '-i', `testsrc2=size=96x64:rate=25:duration=${(last + 1) / 25}`,
    ...(options.audio === true ? ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=8000:duration=${(last + 1) / 25}`] : []),
    '-vf', `select='${select}'`, '-vsync', 'vfr',
    '-c:v', 'libx264', '-preset', 'veryfast', '-pix_fmt', 'yuv420p',
    // MP4 from ffmpeg before 5 (the bundled build): without B-frames and an edit list, every frame shows.
    ...(path.endsWith('.mp4') ? ['-bf', '0', '-use_editlist', '0'] : []),
    ...(options.audio === true ? ['-c:a', 'aac'] : []),
    path,
  ]);
  return { path, timesSec: keep.map((n) => n / 25) };
}

/** The presentation times of a file's video frames in seconds, as ffprobe reads them (display order). */
export async function videoFrameTimes(path: string): Promise<number[]> {
  const json = (await ffprobeJson(['-select_streams', 'v:0', '-show_entries', 'frame=pts_time,best_effort_timestamp_time', path])) as {
    frames?: { pts_time?: string; best_effort_timestamp_time?: string }[];
  };
  return (json.frames ?? []).map((f) => Number(f.pts_time ?? f.best_effort_timestamp_time));
}
