/**
 * The `steady` command line (testable core; the executable is main.ts): dispatches to one file per command, prints errors as one line
 * `steady: <CODE>: <message>` on stderr (never a stack trace), and maps them to exit codes:
 * 0 success, 1 runtime failure, 2 bad usage or input, 3 registration did not converge,
 * 130/143 after SIGINT/SIGTERM.
 */
import { readFileSync } from 'node:fs';
import { EXIT, InterruptedError, RuntimeError, SteadyError, UsageError } from '../errors.js';
import { formatHelp, parseArgs } from './args.js';
import type { Command, CommandContext } from './command.js';

/** Commands, loaded on demand so `steady --help` stays fast. */
const COMMANDS: Record<string, { summary: string; load: () => Promise<Command>; prefetch?: (args: readonly string[]) => Promise<void> }> = {
  stabilize: {
    summary: 'Stabilize a shaky video: steady colour video out, audio kept',
    load: async () => (await import('./stabilize.js')).command,
    prefetch: prefetchInput,
  },
  register: { summary: 'Align one image onto another (ECC) and report MSE/PSNR/NCC/SSIM', load: async () => (await import('./register.js')).command },
  track: { summary: 'Track motion through a clip (and a region of interest) as data', load: async () => (await import('./track.js')).command },
  metrics: { summary: 'Measure steadiness: ITF, stability, cropping, distortion', load: async () => (await import('./metrics.js')).command },
  serve: { summary: 'Live stabilization with a browser viewer over WebSocket', load: async () => (await import('./serve.js')).command },
  doctor: { summary: 'Show which ffmpeg/ffprobe binaries are used and whether they work', load: async () => (await import('./doctor.js')).command },
};

/**
 * Starts what a video command asks ffmpeg first (ffprobe on the input, ffmpeg's option check) while the
 * command's modules load: each takes 0.05-0.1 s, mostly the start of a dynamically linked binary, and so
 * does loading the modules. The input is taken to be the first argument when it is not a flag (the usual
 * `steady stabilize in.mp4 -o out.mp4`); otherwise, or with --framerate (an image sequence, probed with
 * it), nothing starts early. Only a speed-up: the command asks for its own probe as always and gets
 * this one only when it is of the same input with the same options (see prefetchProbe).
 */
async function prefetchInput(args: readonly string[]): Promise<void> {
  const input = args[0];
  if (input === undefined || input.startsWith('-') || args.some((a) => a === '--framerate' || a.startsWith('--framerate='))) return;
  const [{ prefetchProbe }, { loadFfmpegFeatures }] = await Promise.all([import('../video/probe.js'), import('../video/binaries.js')]);
  prefetchProbe(input);
  try {
    loadFfmpegFeatures().catch(() => {});
  } catch {
    // No ffmpeg found: the command reports it when it needs one.
  }
}

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
  return pkg.version;
}

function mainHelp(): string {
  const names = Object.keys(COMMANDS);
  const width = Math.max(...names.map((n) => n.length)) + 2;
  return [
    `steady ${version()}: video stabilization and motion tracking by pyramid ECC image registration`,
    '',
    'Usage: steady <command> [options]',
    '',
    'Commands:',
    ...names.map((n) => `  ${n.padEnd(width)}${COMMANDS[n]?.summary}`),
    '',
    'Run `steady <command> --help` for its options and examples.',
    '',
    'Examples:',
    '  steady stabilize shaky.mp4 -o steady.mp4          # stabilize, keep colour and audio',
    '  steady register a.jpg b.jpg -o aligned.jpg         # align photo b onto photo a',
    '  steady track clip.mp4 -o motion.json --roi 100,80,64,64',
    '  steady serve shaky.mp4 --loop                      # live preview in the browser',
    '',
    'Exit codes: 0 ok, 1 runtime failure, 2 bad usage or input, 3 registration did not converge,',
    '130/143 interrupted by SIGINT/SIGTERM, 141 (no message) when the reader of standard output closed it',
    'early (`-o - | head`, as SIGPIPE). Errors: one line `steady: <CODE>: <message>` on stderr.',
    '',
  ].join('\n');
}

/** Runs the CLI with the given arguments; returns the exit code. */
export async function main(argv: readonly string[], ctx: CommandContext): Promise<number> {
  try {
    const [first, ...rest] = argv;
    if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
      if (first === 'help' && rest[0] && COMMANDS[rest[0]]) {
        ctx.stdout.write(formatHelp((await (COMMANDS[rest[0]] as { load: () => Promise<Command> }).load()).spec));
        return EXIT.ok;
      }
      ctx.stdout.write(mainHelp());
      return first === undefined ? EXIT.usage : EXIT.ok;
    }
    if (first === '--version' || first === '-v' || first === '-V') {
      ctx.stdout.write(`${version()}\n`);
      return EXIT.ok;
    }
    const entry = COMMANDS[first];
    if (!entry) {
      throw new UsageError('E_UNKNOWN_COMMAND', `Unknown command ${JSON.stringify(first)}; expected one of ${Object.keys(COMMANDS).join(', ')} (see steady --help)`);
    }
    const wantsHelp = rest.includes('--help') || rest.includes('-h');
    if (!wantsHelp) await entry.prefetch?.(rest);
    const command = await entry.load();
    if (wantsHelp) {
      ctx.stdout.write(formatHelp(command.spec));
      return EXIT.ok;
    }
    const args = parseArgs(command.spec, rest);
    // A result that cannot be written (stdout redirected to a full disk) must not exit 0. Writes to a
    // file or pipe report their failure as an 'error' event a tick later; a closed pipe (EPIPE) is the
    // reader's choice, not a failure to report (main.ts exits quietly with 141 on it).
    let stdoutError: Error | null = null;
    const onStdoutError = (e: NodeJS.ErrnoException): void => {
      if (e.code !== 'EPIPE') stdoutError ??= e;
    };
    ctx.stdout.on('error', onStdoutError);
    try {
      const code = await command.run(args, ctx);
      await new Promise((resolve) => setImmediate(resolve));
      if (stdoutError !== null) {
        throw new RuntimeError('E_OUTPUT_WRITE', `Cannot write standard output: ${(stdoutError as Error).message}`, { cause: stdoutError });
      }
      return code;
    } finally {
      ctx.stdout.removeListener('error', onStdoutError);
    }
  } catch (err) {
    return reportError(err, ctx);
  }
}

/** System errors that mean an output could not be written (the disk, not steady, is at fault). */
const OUTPUT_ERRNOS = new Set(['ENOSPC', 'EDQUOT', 'EFBIG', 'EROFS', 'EIO']);

/** Prints an error as one line and returns its exit code. Unexpected errors are bugs: exit 1, still one line. */
export function reportError(err: unknown, ctx: Pick<CommandContext, 'stderr' | 'signal'>): number {
  // After a signal, what failed failed because of it (ffmpeg stopped by the signal or by steady on it):
  // say the interruption, with its exit code, whatever the error says.
  if (ctx.signal.aborted && !(err instanceof InterruptedError)) {
    const interrupted = new InterruptedError(ctx.signal.reason === 'SIGTERM' ? 'SIGTERM' : 'SIGINT');
    // What failed after it is said too (a full disk that kept --keep-partial from keeping anything).
    if (err instanceof SteadyError) interrupted.message += `; then ${err.code}: ${err.message}`;
    err = interrupted;
  }
  if (err instanceof SteadyError) {
    ctx.stderr.write(`steady: ${err.code}: ${err.message.replace(/\s*\n\s*/g, ' | ')}\n`);
    return err.exitCode;
  }
  const errno = (err as NodeJS.ErrnoException | null)?.code;
  if (err instanceof Error && typeof errno === 'string' && OUTPUT_ERRNOS.has(errno)) {
    ctx.stderr.write(`steady: E_OUTPUT_WRITE: ${err.message.replace(/\s*\n\s*/g, ' | ')}\n`);
    return EXIT.runtime;
  }
  // A buffer the memory limit (ulimit -v, a container) did not allow: not a bug, a limit.
  if (err instanceof RangeError && /allocation failed|out of memory/i.test(err.message)) {
    ctx.stderr.write(`steady: E_MEMORY: out of memory (${err.message}); free memory or raise the limit, or lower --smoothing (fewer frames held)\n`);
    return EXIT.runtime;
  }
  const msg = err instanceof Error ? err.message : String(err);
  ctx.stderr.write(`steady: E_INTERNAL: ${msg.replace(/\s*\n\s*/g, ' | ')} (this is a bug in steady; please report it)\n`);
  if (process.env.STEADY_DEBUG && err instanceof Error && err.stack) ctx.stderr.write(`${err.stack}\n`);
  return EXIT.runtime;
}

