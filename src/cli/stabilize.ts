/** `steady stabilize <input> -o <output>`: shaky footage in, steady colour video out. */
import { InterruptedError, UsageError } from '../errors.js';
import { MODEL_NAMES } from '../motion/model-name.js';
import { type StabilizeFileOptions, stabilizeFile } from '../pipeline/stabilize-file.js';
import { BORDER_FILLS, FRAME_INTERPOLATIONS } from '../stabilize/frame-warper.js';
import { MAX_SMOOTHING_RADIUS, STABILIZE_DEFAULTS } from '../stabilize/options.js';
import { expectInteger, expectNumber, expectPositive, expectSeconds, MIN_DURATION_SEC } from '../validate.js';
import { type CommandSpec, flagBool, flagString, type ParsedArgs } from './args.js';
import type { Command, CommandContext } from './command.js';
import { createProgressLine } from './progress.js';

const d = STABILIZE_DEFAULTS;

const spec: CommandSpec = {
  name: 'stabilize',
  usage: 'stabilize <input> -o <output> [options]',
  summary: 'stabilize a shaky video: steady colour video out, audio and timing kept',
  description: [
    'Each frame is registered onto the previous one (or a reference frame) by pyramid ECC on a small gray',
    'analysis image, seeded with the last motion; what moves on its own (a person or a car crossing the frame)',
    'is found block by block and left out. A frame that does not register (a scene cut, a flash) holds',
    'the last motion and is counted as failed. The input is decoded once: the camera path is optimised',
    'over a look-ahead window (6 smoothing radii, re-planned as frames arrive) so that the crop window stays',
    'inside every frame at a zoom sized for the clip (no fill in any frame). --whole-clip registers the whole',
    'clip first and plans over all of it (exact whole-clip plan, one static zoom; decodes the input twice).',
    'All colour planes are warped and re-encoded by ffmpeg (H.264 by default). Audio is copied when the',
    'container takes it, re-encoded otherwise. Frame rate, timestamps and display rotation are kept.',
    'Inputs: anything ffmpeg reads (10-bit and other formats are converted to 8-bit 4:2:0), image sequences',
    "(with --framerate), '-' for standard input. Output '-' writes Matroska to standard output.",
    'The output is written under a temporary name and renamed when complete.',
  ].join('\n'),
  flags: [
    { name: 'output', short: 'o', type: 'string', value: 'FILE', help: "output video ('-' = standard output, Matroska)" },
    { name: 'overwrite', short: 'y', type: 'boolean', help: 'replace an existing output file' },
    { name: 'model', type: 'string', value: 'NAME', help: `motion model: ${MODEL_NAMES.join('|')}`, defaultText: d.model },
    { name: 'reference', type: 'string', value: 'MODE', help: 'register onto: previous (chain) | first (tripod: hold the view of the first frame) | keyframe (re-anchor)', defaultText: d.reference },
    { name: 'smoother', type: 'string', value: 'NAME', help: 'camera path: two-pass (optimised within the crop window) | gaussian (look-ahead N frames) | causal (no look-ahead)', defaultText: 'two-pass' },
    { name: 'smoothing', type: 'string', value: 'N', help: `smoothing radius in frames (0..${MAX_SMOOTHING_RADIUS}): gaussian, the half-width of its window and its look-ahead; two-pass, the half-width of the moving average whose residual it removes (a stronger smoothing at the same N); causal, the time scale of its follower (2N+1 frames)`, defaultText: `${d.smoothingRadius}, or half a second above 30 fps` },
    { name: 'rotation-weight', type: 'string', value: 'W', help: 'where the crop margin cannot hold both, rotation against shift: higher keeps the horizon steadier, the centre a little less (0.01..100)', defaultText: String(d.rotationWeight) },
    { name: 'shake-weight', type: 'string', value: 'W', help: 'two-pass: where the crop margin cannot hold both, frame-to-frame shake (2-8 Hz) against slow sway (about 1 Hz), each counted as a share of the clip\'s own: higher steadies the picture from frame to frame and lets it sway a little more; 0 weighs only the one-second residual (0..1000)', defaultText: String(d.shakeWeight) },
    { name: 'max-shift', type: 'string', value: 'PX', help: 'largest correction shift in pixels', defaultText: 'no limit' },
    { name: 'max-angle', type: 'string', value: 'DEG', help: 'largest correction rotation in degrees', defaultText: 'no limit' },
    { name: 'zoom', type: 'string', value: 'MODE', help: 'auto (sized for the clip, further in for a large shake) | adaptive (follows need) | none | <percent> in; never shows fill except none', defaultText: 'auto' },
    { name: 'whole-clip', type: 'boolean', help: 'register the whole clip first, plan the path over all of it (decodes twice; not for standard input)' },
    { name: 'border', type: 'string', value: 'FILL', help: `fill where no input pixel maps (with --zoom none): ${BORDER_FILLS.join('|')}; keep shows the last output there, black where no frame has covered yet`, defaultText: d.border },
    { name: 'interpolation', type: 'string', value: 'NAME', help: `output warp: ${FRAME_INTERPOLATIONS.join('|')}`, defaultText: d.interpolation },
    { name: 'analysis-width', type: 'string', value: 'PX', help: 'longest side of the gray image registration works on', defaultText: String(d.analysisWidth) },
    { name: 'crf', type: 'string', value: 'N', help: 'constant rate factor of the encoder (lower = better, bigger): x264/x265 0-51, VP8/VP9/AV1 0-63; other encoders have none (a note says so)', defaultText: '18' },
    { name: 'preset', type: 'string', value: 'NAME', help: 'x264/x265 speed preset: ultrafast .. veryslow, placebo', defaultText: 'veryfast' },
    { name: 'codec', type: 'string', value: 'NAME', help: 'ffmpeg video encoder (ffmpeg -encoders lists them; h264, hevc, vp9 name libx264, libx265, libvpx-vp9)', defaultText: 'libx264' },
    { name: 'threads', type: 'string', value: 'N', help: 'encoder threads', defaultText: "ffmpeg's choice" },
    { name: 'framerate', type: 'string', value: 'FPS', help: 'frame rate of an image-sequence input (e.g. frames/%04d.png) or of a raw .h264/.hevc stream' },
    { name: 'start', type: 'string', value: 'SEC', help: 'start at this time: seconds or [HH:]MM:SS[.fff] (as ffmpeg -ss)' },
    { name: 'duration', type: 'string', value: 'SEC', help: 'stabilize at most this long: seconds or [HH:]MM:SS[.fff] (as ffmpeg -t)' },
    { name: 'transforms', type: 'string', value: 'FILE', help: 'write the motion file (.json or .csv, steady-motion v1)' },
    { name: 'transforms-in', type: 'string', value: 'FILE', help: 'reuse the motion of a motion file (same clip, same --start/--duration) instead of registering; the path is planned over the whole clip' },
    { name: 'compare', type: 'string', value: 'FILE', help: 'also write input and output side by side' },
    { name: 'keep-partial', type: 'boolean', help: 'on Ctrl-C/SIGTERM, finish the frames done so far as a playable file' },
    { name: 'preview', type: 'boolean', help: 'watch the job live in a browser (prints the page URL on stderr)' },
    { name: 'preview-port', type: 'string', value: 'N', help: 'port of the --preview page (0 picks a free one)', defaultText: '0' },
    { name: 'quiet', short: 'q', type: 'boolean', help: 'no progress line and no summary' },
    { name: 'json', type: 'boolean', help: 'print the summary as one JSON line' },
  ],
  examples: [
    'steady stabilize shaky.mp4 -o steady.mp4                       # defaults: no borders, audio kept',
    'steady stabilize shaky.mp4 -o steady.mp4 --compare side.mp4 --transforms motion.json',
    'steady stabilize tripod.mov -o locked.mov --reference first --whole-clip',
    'steady stabilize clip.mp4 -o out.mp4 --zoom 5 --border reflect --smoothing 30',
    'steady stabilize walk.mp4 -o out.mp4 --zoom 8 --shake-weight 20  # a walk: more crop room, footsteps first',
    'steady stabilize frames/%04d.png --framerate 30 -o out.mp4',
    'cat shaky.mp4 | steady stabilize - -o - > steady.mkv',
    'steady stabilize long.mp4 -o out.mp4 --preview                # watch it in the browser while it encodes',
  ],
  positionals: { min: 1, max: 1, names: '<input>' },
};

async function run(args: ParsedArgs, ctx: CommandContext): Promise<number> {
  const input = args.positionals[0] as string;
  const output = flagString(args, 'output');
  if (output === undefined) throw new UsageError('E_USAGE', 'Expected an output file for steady stabilize: give -o <output> (e.g. -o steady.mp4)');
  if (output === '-' && ctx.stdout.isTTY === true) {
    throw new UsageError('E_BAD_OPTION', '-o - writes binary video to standard output, which is a terminal here: redirect it (-o - > steady.mkv), pipe it (-o - | ffplay -), or give a file name');
  }
  const num = (name: string, f: (n: string, v: string) => number) => {
    const v = flagString(args, name);
    return v === undefined ? undefined : f(`--${name}`, v);
  };
  const maxAngleDeg = num('max-angle', (n, v) => expectNumber(n, v, 0, 180));
  const quiet = flagBool(args, 'quiet');
  const json = flagBool(args, 'json');
  const progress = createProgressLine(ctx.stderr, quiet || json);
  // String values (model, zoom, border...) are validated by resolveStabilizeOptions with these flag names.
  const opts = {
    input,
    output,
    overwrite: flagBool(args, 'overwrite'),
    keepPartial: flagBool(args, 'keep-partial'),
    signal: ctx.signal,
    onProgress: (p) => progress.update(p.framesDone, p.framesTotal, p.elapsedSec, p.phase === 'analyse' ? 'analysing' : 'stabilizing'),
    ...opt('model', flagString(args, 'model')),
    ...opt('reference', flagString(args, 'reference')),
    ...opt('smoother', flagString(args, 'smoother')),
    ...opt('smoothingRadius', num('smoothing', (n, v) => expectInteger(n, v, 0, MAX_SMOOTHING_RADIUS))),
    ...opt('rotationWeight', num('rotation-weight', (n, v) => expectNumber(n, v, 0.01, 100))),
    ...opt('shakeWeight', num('shake-weight', (n, v) => expectNumber(n, v, 0, 1000))),
    ...opt('maxShiftPx', num('max-shift', (n, v) => expectNumber(n, v, 0, 1e6))),
    ...opt('maxAngleRad', maxAngleDeg === undefined ? undefined : (maxAngleDeg * Math.PI) / 180),
    ...opt('zoom', flagString(args, 'zoom')),
    ...opt('border', flagString(args, 'border')),
    ...opt('interpolation', flagString(args, 'interpolation')),
    ...opt('analysisWidth', num('analysis-width', (n, v) => expectInteger(n, v, 64, 4096))),
    ...opt('crf', num('crf', (n, v) => expectNumber(n, v, 0, 63))),
    ...opt('preset', flagString(args, 'preset')),
    ...opt('codec', flagString(args, 'codec')),
    ...opt('threads', num('threads', (n, v) => expectInteger(n, v, 0, 256))),
    ...opt('framerate', num('framerate', (n, v) => expectPositive(n, v))),
    ...opt('startSec', num('start', (n, v) => expectSeconds(n, v, 0))),
    ...opt('durationSec', num('duration', (n, v) => expectSeconds(n, v, MIN_DURATION_SEC))),
    ...opt('transforms', flagString(args, 'transforms')),
    ...opt('transformsIn', flagString(args, 'transforms-in')),
    ...opt('compare', flagString(args, 'compare')),
    ...(flagBool(args, 'whole-clip') ? { wholeClip: true } : {}),
  } as StabilizeFileOptions;
  // Judged with or without --preview: a bad value is a mistake either way.
  const previewPort = num('preview-port', (n, v) => expectInteger(n, v, 0, 65535));
  const preview = flagBool(args, 'preview') ? await startPreview(previewPort ?? 0, opts.smoothingRadius ?? STABILIZE_DEFAULTS.smoothingRadius, ctx) : null;
  let summary: Awaited<ReturnType<typeof stabilizeFile>>;
  try {
    summary = await stabilizeFile(preview ? { ...opts, onFrame: preview.offer, onStabilizer: preview.attach } : opts);
  } catch (err) {
    await preview?.stop();
    progress.done();
    if (err instanceof InterruptedError && (err as { partialOutput?: string }).partialOutput) {
      const where = output === '-' ? 'standard output (with all of the sound: a stream cannot be cut afterwards)' : output;
      if (!quiet) {
        ctx.stderr.write(`steady: interrupted by ${err.signal}; kept the frames done so far in ${where}\n`);
        for (const n of (err as { partialNotes?: readonly string[] }).partialNotes ?? []) ctx.stderr.write(`note: ${n}\n`);
      }
      return err.exitCode;
    }
    throw err;
  }
  await preview?.stop();
  progress.done();
  const toStdout = output === '-';
  const line = {
    frames: summary.frames,
    failedFrames: summary.failedFrames,
    fps: Math.round(summary.fps * 10) / 10,
    zoom: Math.round(summary.zoom * 10000) / 10000,
    zoomMax: Math.round(summary.maxZoom * 10000) / 10000,
    seconds: Math.round(summary.seconds * 1000) / 1000,
    output: summary.output,
    audio: summary.audio,
    notes: summary.notes,
  };
  const out = toStdout ? ctx.stderr : ctx.stdout;
  if (json) out.write(`${JSON.stringify(line)}\n`);
  else if (!quiet) {
    const where = toStdout ? 'standard output' : output;
    out.write(
      `stabilized ${summary.frames} frame${summary.frames === 1 ? '' : 's'} in ${summary.seconds.toFixed(1)} s (${summary.fps.toFixed(1)} fps), ` +
        `${summary.failedFrames} failed frame${summary.failedFrames === 1 ? '' : 's'}, zoom ${(100 * (summary.zoom - 1)).toFixed(1)}% mean / ${(100 * (summary.maxZoom - 1)).toFixed(1)}% max, ` +
        `audio ${summary.audio}: ${where}\n`,
    );
    for (const n of summary.notes) out.write(`note: ${n}\n`);
  }
  return 0;
}

/** Starts the live preview page of a file job; its URL goes to stderr (stdout may carry the video). */
async function startPreview(port: number, smoothingRadius: number, ctx: CommandContext) {
  // Loaded only here: the server (and ws) would otherwise cost every plain run their load time.
  const [{ createPreviewSource }, { LiveSession }, { startLiveServer }, { resolveFfmpeg }] = await Promise.all([
    import('../pipeline/preview-source.js'),
    import('../server/live-session.js'),
    import('../server/server.js'),
    import('../video/binaries.js'),
  ]);
  const ps = createPreviewSource(0, 0);
  const session = new LiveSession(ps.source, {
    ffmpegPath: resolveFfmpeg().path,
    initialSettings: { smoothingRadius, zoom: 1, border: 'replicate' },
  });
  const server = await startLiveServer(session, { port });
  ctx.stderr.write(`preview:   ${server.httpUrl}\n`);
  const running = session.run();
  return {
    offer: ps.offer,
    attach: ps.attach,
    async stop() {
      ps.end();
      await running.catch(() => undefined);
      await server.close();
    },
  };
}

function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}

export const command: Command = { spec, run };
