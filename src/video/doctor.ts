/**
 * `steady doctor`: which ffmpeg and ffprobe steady runs, where they came from, whether they run, and
 * whether ffmpeg has what steady and its comparisons need (the libx264 encoder, the vidstab and
 * deshake filters, the version-dependent options).
 */
import { wasmWarpAvailable } from '../image/wasm-warp.js';
import { wasmEccAvailable } from '../register/wasm-ecc.js';
import { wasmBlurAvailable } from '../image/wasm-blur.js';
import { wasmDownscaleAvailable } from './wasm-downscale.js';
import { type BinaryInfo, type BinarySource, ffmpegFeatures, resolveFfmpeg, resolveFfprobe } from './binaries.js';
import { runCapture } from './process-registry.js';

/** What doctor found for one binary. */
export interface BinaryCheck {
  /** Path used, or null when none was found. */
  readonly path: string | null;
  /** Which rule found it, or null. */
  readonly source: BinarySource | null;
  /** First line of `-version`, or null. */
  readonly version: string | null;
  /** It ran `-version` and exited 0. */
  readonly usable: boolean;
  /** Why it is not usable (not found, failed to start, exit code). */
  readonly error?: string;
}

/** What doctor found for ffmpeg. */
export interface FfmpegCheck extends BinaryCheck {
  /** The libx264 encoder (the default video codec). */
  readonly libx264: boolean;
  /** The vidstabdetect and vidstabtransform filters (the two-pass stabilizer steady is compared with). */
  readonly vidstab: boolean;
  /** The deshake filter. */
  readonly deshake: boolean;
  /** `-fps_mode` exists (else `-vsync` is used). */
  readonly fpsMode: boolean;
  /** `-display_rotation` exists (else rotation is stored by a remux). */
  readonly displayRotation: boolean;
}

/** The whole report. */
export interface DoctorReport {
  readonly ffmpeg: FfmpegCheck;
  readonly ffprobe: BinaryCheck;
  /**
   * Which kernel warps the output frames: 'wasm-simd' (WebAssembly with 128-bit SIMD, src/image/wasm) or
   * 'javascript' (the fallback where the engine lacks either; the same bytes, about 2.5x slower).
   */
  readonly warpKernel: 'wasm-simd' | 'javascript';
  /** Which kernels run ECC's per-pixel passes in registration (template, Hessian, row spans): as warpKernel (src/register/wasm). */
  readonly eccKernel: 'wasm-simd' | 'javascript';
  /** Which kernel blurs the pyramid levels (the [1 4 6 4 1] / 16 blur): as warpKernel (src/image/wasm). */
  readonly blurKernel: 'wasm-simd' | 'javascript';
  /** Which kernel shrinks the Y plane into the analysis image: as warpKernel (src/video/wasm; the same floats). */
  readonly downscaleKernel: 'wasm-simd' | 'javascript';
  /** Both binaries are usable and ffmpeg has libx264. */
  readonly ok: boolean;
}

/** Options of runDoctor. */
export interface DoctorOptions {
  /** Give up on a binary after this many milliseconds. @default 15000 */
  readonly timeoutMs?: number;
}

async function checkBinary(resolve: () => BinaryInfo, timeoutMs: number): Promise<BinaryCheck> {
  let info: BinaryInfo;
  try {
    info = resolve();
  } catch (err) {
    return { path: null, source: null, version: null, usable: false, error: err instanceof Error ? err.message : String(err) };
  }
  const r = await runCapture(info.path, ['-version'], { timeoutMs });
  const first = r.stdout.toString('utf8').split('\n')[0]?.trim() ?? '';
  const version = first === '' ? null : first;
  if (r.spawnError !== undefined) return { ...info, version, usable: false, error: `cannot start it: ${r.spawnError.message}` };
  if (r.code !== 0) return { ...info, version, usable: false, error: `-version exited with ${r.signal ?? `code ${r.code}`}: ${r.stderr.split('\n').slice(-2).join(' | ')}` };
  return { ...info, version, usable: true };
}

function listed(text: string, name: string): boolean {
  // `ffmpeg -encoders` / `-filters` print one entry per line: flags, name, description.
  return new RegExp(`^\\s*[A-Z.|]+\\s+${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\s`, 'm').test(text);
}

/** How a kernel runs: 'wasm-simd' where its WebAssembly module loads, else 'javascript'. */
function simd(available: boolean): 'wasm-simd' | 'javascript' {
  return available ? 'wasm-simd' : 'javascript';
}

/** Checks ffmpeg and ffprobe; never throws (a problem is reported in the result). */
export async function runDoctor(options: DoctorOptions = {}): Promise<DoctorReport> {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const [ff, probe] = await Promise.all([checkBinary(() => resolveFfmpeg(), timeoutMs), checkBinary(() => resolveFfprobe(), timeoutMs)]);
  let libx264 = false;
  let vidstab = false;
  let deshake = false;
  let fpsMode = false;
  let displayRotation = false;
  if (ff.usable && ff.path !== null) {
    const [enc, fil] = await Promise.all([
      runCapture(ff.path, ['-hide_banner', '-encoders'], { timeoutMs }),
      runCapture(ff.path, ['-hide_banner', '-filters'], { timeoutMs }),
    ]);
    const encoders = enc.stdout.toString('utf8');
    const filters = fil.stdout.toString('utf8');
    libx264 = listed(encoders, 'libx264');
    vidstab = listed(filters, 'vidstabdetect') && listed(filters, 'vidstabtransform');
    deshake = listed(filters, 'deshake');
    const features = ffmpegFeatures(ff.path);
    fpsMode = features.fpsMode;
    displayRotation = features.displayRotation;
  }
  const ffmpeg: FfmpegCheck = { ...ff, libx264, vidstab, deshake, fpsMode, displayRotation };
  return {
    ffmpeg,
    ffprobe: probe,
    warpKernel: simd(wasmWarpAvailable()), eccKernel: simd(wasmEccAvailable()),
    blurKernel: simd(wasmBlurAvailable()),
    downscaleKernel: simd(wasmDownscaleAvailable()),
    ok: ff.usable && probe.usable && libx264 };
}

/** The report as text for people, one fact per line, ending with what to do when something is wrong. */
export function formatDoctor(report: DoctorReport): string {
  const yes = (b: boolean): string => (b ? 'yes' : 'no');
  const lines: string[] = [];
  const binary = (name: string, c: BinaryCheck): void => {
    lines.push(`${name}:`);
    lines.push(`  path:     ${c.path ?? '(not found)'}`);
    lines.push(`  source:   ${c.source ?? '-'}`);
    lines.push(`  version:  ${c.version ?? '-'}`);
    lines.push(`  usable:   ${yes(c.usable)}${c.error !== undefined ? ` (${c.error})` : ''}`);
  };
  binary('ffmpeg', report.ffmpeg);
  lines.push(`  libx264:  ${yes(report.ffmpeg.libx264)}`);
  lines.push(`  vidstab:  ${yes(report.ffmpeg.vidstab)}`);
  lines.push(`  deshake:  ${yes(report.ffmpeg.deshake)}`);
  lines.push(`  -fps_mode: ${yes(report.ffmpeg.fpsMode)}   -display_rotation: ${yes(report.ffmpeg.displayRotation)}`);
  binary('ffprobe', report.ffprobe);
  const kernel = (k: DoctorReport['warpKernel']): string => (k === 'wasm-simd' ? 'WebAssembly SIMD' : 'JavaScript (this Node has no WebAssembly SIMD; same results, slower)');
  lines.push(`frame warp: ${kernel(report.warpKernel)}`);
  lines.push(`registration (ECC passes): ${kernel(report.eccKernel)}`);
  lines.push(`pyramid blur: ${kernel(report.blurKernel)}`);
  lines.push(`analysis downscale: ${kernel(report.downscaleKernel)}`);
  if (report.ok) {
    lines.push('ok: steady can decode, probe and encode');
  } else {
    lines.push('NOT OK:');
    if (!report.ffmpeg.usable) lines.push('  - ffmpeg is missing or broken: install ffmpeg (e.g. apt-get install ffmpeg) or set FFMPEG_PATH to a working binary');
    else if (!report.ffmpeg.libx264) lines.push('  - this ffmpeg has no libx264 encoder: use a build with libx264 (set FFMPEG_PATH) or choose another codec');
    if (!report.ffprobe.usable) lines.push('  - ffprobe is missing or broken: install ffmpeg (it ships ffprobe) or set FFPROBE_PATH to a working binary');
  }
  if (report.ffmpeg.usable && !report.ffmpeg.vidstab) lines.push('note: no vidstab filters: the comparison with ffmpeg vidstab is not available');
  return `${lines.join('\n')}\n`;
}
