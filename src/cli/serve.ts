/**
 * `steady serve <source>`: stabilizes a live source as it arrives and serves a browser viewer that shows
 * the original and the stabilized stream side by side, with the camera path plotted live.
 *
 * Order of events: options are validated, then the source is opened (a source that cannot be opened is a
 * one-line error, exit 2, before any URL is printed), then the server listens and prints two lines on
 * stdout, the page URL and the WebSocket URL, with the actual port. SIGINT / SIGTERM (ctx.signal) stop the
 * source, the preview encoder and the viewer connections, and the command exits 130 / 143. When a source
 * that is not looped ends, viewers are told and the command exits 0.
 */
import { borderFromViewer, type LiveStabilizer, openLiveStabilizer, zoomFromFactor } from '../pipeline/live-source.js';
import { REFERENCE_MODES } from '../stabilize/frame-analyzer.js';
import { MAX_SMOOTHING_RADIUS, STABILIZE_DEFAULTS, type StabilizeOptions } from '../stabilize/options.js';
import { existsSync } from 'node:fs';
import { InputError, InterruptedError, UsageError } from '../errors.js';
import { MODEL_NAMES, type ModelName } from '../motion/model-name.js';
import { MAX_ZOOM, MIN_ZOOM } from '../server/control.js';
import { LiveSession, type LiveSource } from '../server/live-session.js';
import { DEFAULT_JPEG_QUALITY, DEFAULT_PREVIEW_MAX_WIDTH } from '../server/preview-encoder.js';
import { BORDER_MODES, type BorderMode, type LiveSettings } from '../server/protocol.js';
import { DEFAULT_HOST, DEFAULT_MAX_VIEWERS, DEFAULT_PORT, startLiveServer } from '../server/server.js';
import { expectInteger, expectNumber, expectOneOf, expectString } from '../validate.js';
import { resolveFfmpeg } from '../video/binaries.js';
import { type CommandSpec, flagBool, flagString, type ParsedArgs } from './args.js';
import type { Command, CommandContext } from './command.js';

/** The camera path smoothers a live source can use (two-pass plans over seconds of look-ahead). */
const LIVE_SMOOTHERS = ['gaussian', 'causal'] as const;

/** Settings shown to viewers when the source does not report its own. */
const FALLBACK_SETTINGS: Omit<LiveSettings, 'paused'> = { smoothingRadius: 15, zoom: 1, border: 'black' };

const spec: CommandSpec = {
  name: 'serve',
  usage: 'serve <source> [options]',
  summary: 'stabilize a live source and watch it in the browser, original and stabilized side by side',
  description: [
    '<source> is a video file (played at its own frame rate unless --no-realtime), any ffmpeg input URL',
    '(rtsp://, udp://, http://), a device with --input-format (e.g. v4l2 /dev/video0), a lavfi graph with',
    "--input-format lavfi, or '-' for standard input. Open the printed http:// URL in a browser; frames and",
    'controls travel over the printed ws:// URL (protocol: docs/protocol.md). The server binds 127.0.0.1',
    'unless --host says otherwise. When processing falls behind, frames are dropped and counted rather than',
    'delayed; a slow viewer misses frames without slowing the others.',
    '',
    'Exit codes: 0 the source ended, 1 runtime failure, 2 bad usage or a source that cannot be opened,',
    '130/143 stopped by SIGINT/SIGTERM.',
  ].join('\n'),
  flags: [
    { name: 'port', short: 'p', type: 'string', value: 'N', help: 'TCP port 0..65535 (0 picks a free one)', defaultText: String(DEFAULT_PORT) },
    { name: 'host', type: 'string', value: 'ADDR', help: 'interface to bind (0.0.0.0 opens it to the network)', defaultText: DEFAULT_HOST },
    { name: 'loop', type: 'boolean', help: 'replay a file source forever' },
    {
      name: 'realtime',
      type: 'boolean',
      help: 'play a file at its own frame rate, dropping frames the stabilizer has no time for (--no-realtime: as fast as the stabilizer goes, no frame dropped)',
      defaultText: 'on',
    },
    { name: 'input-format', type: 'string', value: 'FMT', help: 'ffmpeg input format, e.g. v4l2, lavfi, mpegts' },
    { name: 'max-viewers', type: 'string', value: 'N', help: 'most viewers at once; more are refused with HTTP 503', defaultText: String(DEFAULT_MAX_VIEWERS) },
    { name: 'origin', type: 'list', value: 'URL', help: 'also let pages from this origin connect (repeatable; * for any)' },
    { name: 'preview-width', type: 'string', value: 'PX', help: 'largest width of the preview images, 16..4096', defaultText: String(DEFAULT_PREVIEW_MAX_WIDTH) },
    { name: 'jpeg-quality', type: 'string', value: 'Q', help: 'preview JPEG quality, 2 (best) .. 31', defaultText: String(DEFAULT_JPEG_QUALITY) },
    { name: 'model', type: 'string', value: 'NAME', help: `motion model: ${MODEL_NAMES.join('|')}` },
    { name: 'reference', type: 'string', value: 'MODE', help: `frame each frame is registered onto: ${REFERENCE_MODES.join('|')}`, defaultText: STABILIZE_DEFAULTS.reference },
    { name: 'smoother', type: 'string', value: 'NAME', help: `camera path smoother: ${LIVE_SMOOTHERS.join('|')} (causal: no look-ahead, least latency)`, defaultText: STABILIZE_DEFAULTS.smoother },
    { name: 'smoothing', type: 'string', value: 'N', help: `smoothing radius, frames 0..${MAX_SMOOTHING_RADIUS} (as in steady stabilize)`, defaultText: String(STABILIZE_DEFAULTS.smoothingRadius) },
    { name: 'radius', type: 'string', value: 'N', help: 'alias of --smoothing' },
    { name: 'zoom', type: 'string', value: 'Z', help: `zoom factor ${MIN_ZOOM}..${MAX_ZOOM}` },
    { name: 'border', type: 'string', value: 'MODE', help: `border fill: ${BORDER_MODES.join('|')}` },
  ],
  examples: [
    'steady serve shaky.mp4 --loop                               # watch at http://127.0.0.1:8080/',
    'steady serve shaky.mp4 --port 0 --smoothing 30 --zoom 1.1   # pick a free port, smoother output',
    'steady serve /dev/video0 --input-format v4l2                # a webcam',
    'steady serve "testsrc2=size=1280x720:rate=30" --input-format lavfi',
    'steady serve rtsp://camera.local/stream --host 0.0.0.0 --origin http://dashboard.local',
  ],
  positionals: { min: 1, max: 1, names: '<source>' },
};

/** How the source is opened: the stabilize options plus live playback options. */
export interface LiveSourceOptions {
  /** Replay a file source forever. */
  readonly loop: boolean;
  /** Read a file at its own frame rate (ffmpeg -re). */
  readonly realtime: boolean;
  /** ffmpeg input format (-f). */
  readonly inputFormat?: string;
  readonly model?: ModelName;
  /** Reference frame mode, as the stabilizer names it. */
  readonly reference?: string;
  /** Path smoother, as the stabilizer names it. */
  readonly smoother?: string;
  /** Smoothing radius, frames (`--smoothing`, alias `--radius`). */
  readonly radius?: number;
  /** Zoom factor (1 = none). */
  readonly zoom?: number;
  readonly border?: BorderMode;
  /**
   * Largest width of the viewer's images, pixels (`--preview-width`): the stabilizer warps straight to the
   * preview size, since the viewer never sees more. @default DEFAULT_PREVIEW_MAX_WIDTH (as `steady serve`)
   */
  readonly previewWidth?: number;
  /** ffmpeg executable. */
  readonly ffmpegPath: string;
  /** Aborted on SIGINT / SIGTERM. */
  readonly signal: AbortSignal;
}

/** Every validated option of `steady serve`. */
export interface ServeOptions {
  readonly source: string;
  readonly port: number;
  readonly host: string;
  readonly maxViewers: number;
  readonly origins: readonly string[];
  readonly previewWidth: number;
  readonly jpegQuality: number;
  readonly sourceOptions: Omit<LiveSourceOptions, 'ffmpegPath' | 'signal' | 'previewWidth'>;
}

/** A function that opens a live source (tests inject a synthetic one). */
export type OpenLiveSource = (source: string, options: LiveSourceOptions) => Promise<LiveSource>;

/**
 * The smoothing radius from `--smoothing N` or its alias `--radius N` (the name the first version of serve
 * used). Both at once are accepted only when they agree.
 */
function smoothingRadius(args: ParsedArgs): number | undefined {
  const read = (name: string): number | undefined => {
    const v = flagString(args, name);
    return v === undefined ? undefined : expectInteger(`--${name}`, v, 0, MAX_SMOOTHING_RADIUS);
  };
  const smoothing = read('smoothing');
  const alias = read('radius');
  if (smoothing !== undefined && alias !== undefined && smoothing !== alias) {
    throw new UsageError('E_BAD_OPTION', `Expected one smoothing radius but received --smoothing ${smoothing} and --radius ${alias}; give --smoothing only (--radius is its alias)`);
  }
  return smoothing ?? alias;
}

/** Validates the parsed arguments of `steady serve`. */
export function resolveServeOptions(args: ParsedArgs): ServeOptions {
  const source = expectString('<source>', args.positionals[0]);
  const num = (name: string, parse: (v: string) => number): number | undefined => {
    const v = flagString(args, name);
    return v === undefined ? undefined : parse(v);
  };
  const model = flagString(args, 'model');
  const border = flagString(args, 'border');
  const reference = flagString(args, 'reference');
  const smoother = flagString(args, 'smoother');
  const inputFormat = flagString(args, 'input-format');
  const radius = smoothingRadius(args);
  const zoom = num('zoom', (v) => expectNumber('--zoom', v, MIN_ZOOM, MAX_ZOOM));
  const origins = args.flags.get('origin');
  for (const o of Array.isArray(origins) ? origins : []) {
    if (o !== '*' && !/^[a-z][a-z0-9+.-]*:\/\/[^/\s]+\/?$/i.test(o)) {
      expectOneOf('--origin', o, ['scheme://host[:port]', '*']);
    }
  }
  return {
    source,
    port: num('port', (v) => expectInteger('--port', v, 0, 65535)) ?? DEFAULT_PORT,
    host: flagString(args, 'host') ?? DEFAULT_HOST,
    maxViewers: num('max-viewers', (v) => expectInteger('--max-viewers', v, 1, 1000)) ?? DEFAULT_MAX_VIEWERS,
    origins: Array.isArray(origins) ? origins : [],
    previewWidth: num('preview-width', (v) => expectInteger('--preview-width', v, 16, 4096)) ?? DEFAULT_PREVIEW_MAX_WIDTH,
    jpegQuality: num('jpeg-quality', (v) => expectInteger('--jpeg-quality', v, 2, 31)) ?? DEFAULT_JPEG_QUALITY,
    sourceOptions: {
      loop: flagBool(args, 'loop'),
      realtime: flagBool(args, 'realtime', true),
      ...(inputFormat !== undefined ? { inputFormat } : {}),
      ...(model !== undefined ? { model: expectOneOf('--model', model, MODEL_NAMES) } : {}),
      ...(reference !== undefined ? { reference: expectOneOf('--reference', reference, REFERENCE_MODES) } : {}),
      ...(smoother !== undefined ? { smoother: expectOneOf('--smoother', smoother, LIVE_SMOOTHERS) } : {}),
      ...(radius !== undefined ? { radius } : {}),
      ...(zoom !== undefined ? { zoom } : {}),
      ...(border !== undefined ? { border: expectOneOf('--border', border, BORDER_MODES) } : {}),
    },
  };
}

/** A source that names a local file (not a URL, device format, lavfi graph or standard input). */
function isLocalFile(source: string, inputFormat: string | undefined): boolean {
  return inputFormat === undefined && source !== '-' && !/^[a-z][a-z0-9+.-]*:/i.test(source);
}

// ---------------------------------------------------------------------------------------------------
// THE SOURCE: the one place where the live stabilizer is built.

/**
 * Opens `source` and returns the stabilizer's live output with its control surface
 * (pipeline/live-source.ts: ffmpeg read in a worker thread, a bounded pool of frames whose oldest is
 * dropped when stabilizing falls behind, stabilizer).
 * @throws InputError when the source cannot be opened (exit 2, before any URL is printed).
 */
export async function openLiveSource(source: string, options: LiveSourceOptions): Promise<LiveStabilizer> {
  const zoom = options.zoom === undefined ? undefined : zoomFromFactor(options.zoom);
  return openLiveStabilizer(source, {
    loop: options.loop,
    realtime: options.realtime,
    ffmpegPath: options.ffmpegPath,
    signal: options.signal,
    ...(options.inputFormat !== undefined ? { inputFormat: options.inputFormat } : {}),
    outputMaxWidth: options.previewWidth ?? DEFAULT_PREVIEW_MAX_WIDTH,
    ...(options.model !== undefined ? { model: options.model } : {}),
    ...(options.reference !== undefined ? { reference: options.reference as StabilizeOptions['reference'] & string } : {}),
    ...(options.smoother !== undefined ? { smoother: options.smoother as StabilizeOptions['smoother'] & string } : {}),
    ...(options.radius !== undefined ? { smoothingRadius: options.radius } : {}),
    ...(zoom !== undefined ? { zoom } : {}),
    ...(options.border !== undefined ? { border: borderFromViewer(options.border) } : {}),
  });
}

// ---------------------------------------------------------------------------------------------------

/** Dependencies of runServe (tests replace the source). */
export interface ServeDependencies {
  /** @default openLiveSource */
  readonly openSource?: OpenLiveSource;
  /** @default resolveFfmpeg().path */
  readonly ffmpegPath?: string;
  /** Folder the page is served from. @default the package's web/ */
  readonly webRoot?: string;
}

function interrupted(signal: AbortSignal): InterruptedError {
  return new InterruptedError(signal.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT');
}

/** Runs `steady serve` with validated options; returns the exit code. */
export async function runServe(options: ServeOptions, ctx: CommandContext, deps: ServeDependencies = {}): Promise<number> {
  const openSource = deps.openSource ?? openLiveSource;
  if (isLocalFile(options.source, options.sourceOptions.inputFormat) && !existsSync(options.source)) {
    throw new InputError('E_INPUT_NOT_FOUND', `${options.source}: no such file; give a video file, an ffmpeg URL, a device with --input-format, or '-' for stdin`);
  }
  const ffmpegPath = deps.ffmpegPath ?? resolveFfmpeg().path;
  const source = await openSource(options.source, { ...options.sourceOptions, previewWidth: options.previewWidth, ffmpegPath, signal: ctx.signal });
  if (ctx.signal.aborted) {
    await source.close();
    throw interrupted(ctx.signal);
  }
  const s = options.sourceOptions;
  const initialSettings = source.info?.settings ?? {
    smoothingRadius: s.radius ?? FALLBACK_SETTINGS.smoothingRadius,
    zoom: s.zoom ?? FALLBACK_SETTINGS.zoom,
    border: s.border ?? FALLBACK_SETTINGS.border,
  };
  // A file's URLs are printed once its first frame is out, so that a file with no decodable frame fails
  // (E_NO_FRAMES, exit 2) without having announced a viewer; a live source's URLs come at once (its
  // first frame may be a while coming, and the viewer shows the wait).
  const fileSource = isLocalFile(options.source, options.sourceOptions.inputFormat);
  let announce: (() => void) | null = null;
  const session = new LiveSession(source, {
    onFirstFrame: () => {
      if (fileSource) announce?.();
    },
    ffmpegPath,
    initialSettings,
    fps: source.info?.fps ?? 0,
    lookaheadFrames: source.info?.lookaheadFrames ?? 0,
    previewMaxWidth: options.previewWidth,
    jpegQuality: options.jpegQuality,
  });
  // From here on, a signal stops the session (which closes the source) wherever we are.
  const onAbort = (): void => {
    void session.stop();
  };
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    let server: Awaited<ReturnType<typeof startLiveServer>>;
    try {
      server = await startLiveServer(session, {
        host: options.host,
        port: options.port,
        maxViewers: options.maxViewers,
        allowedOrigins: options.origins,
        ...(deps.webRoot !== undefined ? { webRoot: deps.webRoot } : {}),
      });
    } catch (err) {
      await source.close();
      throw err;
    }
    try {
      if (!ctx.signal.aborted) {
        const urls = server;
        announce = () => {
          ctx.stdout.write(`viewer:    ${urls.httpUrl}\n`);
          ctx.stdout.write(`websocket: ${urls.wsUrl}\n`);
        };
        if (!fileSource) announce();
        await session.run();
      }
    } finally {
      await server.close();
      await source.close();
    }
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
  }
  if (ctx.signal.aborted) throw interrupted(ctx.signal);
  return 0;
}

/** The `steady serve` command. */
export const command: Command = {
  spec,
  async run(args: ParsedArgs, ctx: CommandContext): Promise<number> {
    return runServe(resolveServeOptions(args), ctx);
  },
};
