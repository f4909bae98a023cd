/**
 * Finds the ffmpeg and ffprobe executables steady runs, in a fixed order, and remembers the answer.
 *
 * ffmpeg: env FFMPEG_PATH, then the optional package `ffmpeg-static` (its export is a path or null; its
 * install step downloads a binary and often fails, leaving no package or a path to nothing), then
 * `@ffmpeg-installer/ffmpeg` (`.path`), then `ffmpeg` on PATH.
 * ffprobe: env FFPROBE_PATH, then `@ffprobe-installer/ffprobe` (`.path`), then `ffprobe` on PATH.
 *
 * An environment variable that names a missing or non-executable file is an error, not a reason to fall
 * back: the user asked for that binary. The packages are CommonJS, loaded with createRequire so that a
 * missing package is an ordinary, catchable failure.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { delimiter, join } from 'node:path';
import { RuntimeError } from '../errors.js';
import { runCapture } from './process-registry.js';

/** Where a binary was found. */
export type BinarySource = 'env' | 'ffmpeg-static' | '@ffmpeg-installer/ffmpeg' | '@ffprobe-installer/ffprobe' | 'PATH';

/** A resolved executable. */
export interface BinaryInfo {
  /** Absolute (or PATH-resolved) path of the executable. */
  readonly path: string;
  /** Which rule of the search order found it. */
  readonly source: BinarySource;
}

/** The outside world the resolver looks at; injectable so tests can fake every rule. */
export interface ResolveEnvironment {
  /** Environment variables (FFMPEG_PATH, FFPROBE_PATH, PATH). @default process.env */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /**
   * Loads a CommonJS package by name and returns its export; throws when the package is missing.
   * @default createRequire(import.meta.url)
   */
  readonly requireModule?: (name: string) => unknown;
  /** True when `path` is an executable regular file. @default a check with fs.accessSync(X_OK) */
  readonly isExecutable?: (path: string) => boolean;
}

const nodeRequire = createRequire(import.meta.url);

function defaultIsExecutable(path: string): boolean {
  try {
    if (!statSync(path).isFile()) return false;
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The path a package exports: a string, `{ path }`, or `{ default }` (an ESM-compiled CJS default). */
function exportedPath(mod: unknown): string | null {
  if (typeof mod === 'string') return mod;
  if (mod !== null && typeof mod === 'object') {
    const o = mod as { path?: unknown; default?: unknown };
    if (typeof o.path === 'string') return o.path;
    if (o.default !== undefined && o.default !== mod) return exportedPath(o.default);
  }
  return null;
}

function fromPackage(name: string, requireModule: (n: string) => unknown, isExecutable: (p: string) => boolean): string | null {
  let mod: unknown;
  try {
    mod = requireModule(name);
  } catch {
    // Not installed, or its index throws (both installers throw when their binary is missing).
    return null;
  }
  const p = exportedPath(mod);
  return p !== null && isExecutable(p) ? p : null;
}

function fromPath(command: string, env: Readonly<Record<string, string | undefined>>, isExecutable: (p: string) => boolean): string | null {
  const dirs = (env.PATH ?? '').split(delimiter).filter((d) => d.length > 0);
  const names = process.platform === 'win32' ? [`${command}.exe`, command] : [command];
  for (const dir of dirs) {
    for (const n of names) {
      const p = join(dir, n);
      if (isExecutable(p)) return p;
    }
  }
  return null;
}

function resolveBinary(
  tool: 'ffmpeg' | 'ffprobe',
  envVar: string,
  packages: readonly (BinarySource & string)[],
  where: ResolveEnvironment,
): BinaryInfo {
  const env = where.env ?? process.env;
  const requireModule = where.requireModule ?? nodeRequire;
  const isExecutable = where.isExecutable ?? defaultIsExecutable;
  const fromEnv = env[envVar];
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!isExecutable(fromEnv)) {
      throw new RuntimeError(
        'E_FFMPEG_NOT_FOUND',
        `${envVar} is set to ${JSON.stringify(fromEnv)} but that is not an executable file; point ${envVar} at a working ${tool} binary or unset it to use the bundled one`,
      );
    }
    return { path: fromEnv, source: 'env' };
  }
  for (const pkg of packages) {
    const p = fromPackage(pkg, requireModule, isExecutable);
    if (p !== null) return { path: p, source: pkg };
  }
  const p = fromPath(tool, env, isExecutable);
  if (p !== null) return { path: p, source: 'PATH' };
  throw new RuntimeError(
    'E_FFMPEG_NOT_FOUND',
    `${tool} was not found (tried ${envVar}, ${packages.join(', ')} and PATH); install ${tool} (e.g. apt-get install ffmpeg) or set ${envVar} to the path of a ${tool} binary`,
  );
}

const FFMPEG_PACKAGES = ['ffmpeg-static', '@ffmpeg-installer/ffmpeg'] as const;
const FFPROBE_PACKAGES = ['@ffprobe-installer/ffprobe'] as const;

let cachedFfmpeg: BinaryInfo | undefined;
let cachedFfprobe: BinaryInfo | undefined;

/**
 * The ffmpeg executable to run. Cached after the first success when `where` is not given.
 * @throws RuntimeError E_FFMPEG_NOT_FOUND when no rule finds one, or FFMPEG_PATH names no executable.
 */
export function resolveFfmpeg(where?: ResolveEnvironment): BinaryInfo {
  if (where !== undefined) return resolveBinary('ffmpeg', 'FFMPEG_PATH', FFMPEG_PACKAGES, where);
  cachedFfmpeg ??= resolveBinary('ffmpeg', 'FFMPEG_PATH', FFMPEG_PACKAGES, {});
  return cachedFfmpeg;
}

/**
 * The ffprobe executable to run. Cached after the first success when `where` is not given.
 * @throws RuntimeError E_FFMPEG_NOT_FOUND when no rule finds one, or FFPROBE_PATH names no executable.
 */
export function resolveFfprobe(where?: ResolveEnvironment): BinaryInfo {
  if (where !== undefined) return resolveBinary('ffprobe', 'FFPROBE_PATH', FFPROBE_PACKAGES, where);
  cachedFfprobe ??= resolveBinary('ffprobe', 'FFPROBE_PATH', FFPROBE_PACKAGES, {});
  return cachedFfprobe;
}

/** Forgets the cached binaries (after changing FFMPEG_PATH / FFPROBE_PATH at run time, and in tests). */
export function clearBinaryCache(): void {
  cachedFfmpeg = undefined;
  cachedFfprobe = undefined;
  featureCache.clear();
  featureLoads.clear();
}

/** Optional command-line features that differ between ffmpeg versions. */
export interface FfmpegFeatures {
  /** `-fps_mode` exists (ffmpeg 5.1+); older builds only have `-vsync`. */
  readonly fpsMode: boolean;
  /** The per-stream input option `-display_rotation` exists (ffmpeg 6+). */
  readonly displayRotation: boolean;
}

/** The output options that pass frames through with their timestamps, no frame dropped or duplicated. */
export function passthroughArgs(features: FfmpegFeatures): string[] {
  return features.fpsMode ? ['-fps_mode', 'passthrough'] : ['-vsync', 'passthrough'];
}

const featureCache = new Map<string, FfmpegFeatures>();
const featureLoads = new Map<string, Promise<FfmpegFeatures>>();
const FEATURE_ARGS = ['-hide_banner', '-h', 'long'];
const FEATURE_TIMEOUT_MS = 10_000;

function parseFeatures(help: string): FfmpegFeatures {
  return { fpsMode: /^-fps_mode\b/m.test(help), displayRotation: /^-display_rotation\b/m.test(help) };
}

/**
 * Which version-dependent options `ffmpegPath` understands, read once from `ffmpeg -h long` and cached
 * per path. A binary that cannot run gives all-false (the caller's own spawn then reports the failure).
 * Synchronous when not cached yet; loadFfmpegFeatures fills the cache without blocking.
 */
export function ffmpegFeatures(ffmpegPath: string = resolveFfmpeg().path): FfmpegFeatures {
  const hit = featureCache.get(ffmpegPath);
  if (hit !== undefined) return hit;
  const r = spawnSync(ffmpegPath, FEATURE_ARGS, { encoding: 'utf8', timeout: FEATURE_TIMEOUT_MS, maxBuffer: 8 << 20 });
  const features = parseFeatures(`${r.stdout ?? ''}${r.stderr ?? ''}`);
  featureCache.set(ffmpegPath, features);
  return features;
}

/**
 * ffmpegFeatures without blocking the event loop: the same answer, cached the same way. Starting it next
 * to other start-up work (the input's probe) hides its cost: a dynamically linked ffmpeg takes about
 * 0.1 s only to start.
 */
export function loadFfmpegFeatures(ffmpegPath: string = resolveFfmpeg().path): Promise<FfmpegFeatures> {
  const hit = featureCache.get(ffmpegPath);
  if (hit !== undefined) return Promise.resolve(hit);
  const pending = featureLoads.get(ffmpegPath);
  if (pending !== undefined) return pending;
  const load = runCapture(ffmpegPath, FEATURE_ARGS, { timeoutMs: FEATURE_TIMEOUT_MS }).then((r) => {
    const features = parseFeatures(`${r.stdout.toString('utf8')}${r.stderr}`);
    featureCache.set(ffmpegPath, features);
    featureLoads.delete(ffmpegPath);
    return features;
  });
  featureLoads.set(ffmpegPath, load);
  return load;
}
