/**
 * Every ffmpeg / ffprobe child steady starts goes through `spawnTracked`, so that none outlives its use:
 * the registry knows the live children, kills them all when the process exits, and on SIGINT / SIGTERM /
 * SIGHUP. A signal handler only kills children; when it was the only listener for that signal it then
 * re-raises the signal so that Node's default behaviour (exit) still happens, and when the application
 * has its own handler (the CLI aborts its work and exits 130/143) that handler decides.
 * An application that handles these signals itself (the CLI: it aborts its work, finishing or removing
 * the output, then exits) calls `handleSignalsInApplication()`; then only the exit hook remains, killing
 * whatever is still running and running the cleanups when the process exits.
 * Other cleanups that must happen on exit and on those signals (removing temporary output files) are
 * registered with `registerCleanup`: a process killed by a signal emits no 'exit' event, so they hang
 * on the same hooks and run right after the children are killed.
 */
import { type ChildProcess, type SpawnOptions, spawn } from 'node:child_process';
import { binaryEnv } from './static-binary.js';

const live = new Set<ChildProcess>();
const cleanups = new Set<() => void>();
/** Children whose spawn failed (their 'error' may fire before anyone waits on them). */
const spawnErrors = new WeakMap<ChildProcess, Error>();
let hooksInstalled = false;
/** When true the application handles SIGINT/SIGTERM/SIGHUP itself (see handleSignalsInApplication). */
let signalsInApplication = false;

/**
 * Lets the application handle SIGINT / SIGTERM / SIGHUP itself: the registry then neither kills the
 * children nor runs the cleanups on those signals, so the application can finish an encode (e.g.
 * `--keep-partial`) before it exits. Children and cleanups are still handled on process exit.
 */
export function handleSignalsInApplication(): void {
  signalsInApplication = true;
}

const SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;

function killAllSync(): void {
  for (const child of live) {
    try {
      child.kill('SIGKILL');
    } catch {
      // Already gone.
    }
  }
  live.clear();
  for (const fn of cleanups) {
    try {
      fn();
    } catch {
      // A cleanup must not stop the others.
    }
  }
}

/**
 * Runs `fn` (synchronously) when the process exits or gets SIGINT / SIGTERM / SIGHUP, after the
 * children are killed. Returns a function that unregisters it.
 */
export function registerCleanup(fn: () => void): () => void {
  installHooks();
  cleanups.add(fn);
  return () => {
    cleanups.delete(fn);
  };
}

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', killAllSync);
  for (const sig of SIGNALS) {
    const onSignal = (): void => {
      // The application's own handler decides; if it has gone, fall back to killing and dying.
      if (signalsInApplication && process.listenerCount(sig) > 1) return;
      killAllSync();
      if (process.listenerCount(sig) === 1) {
        // We were the only listener: behave as if there had been none.
        process.removeListener(sig, onSignal);
        process.kill(process.pid, sig);
      }
    };
    process.on(sig, onSignal);
  }
}

/**
 * Pass as spawnTracked's `detached` for a decoder or an encoder: it runs in a process group of its own
 * (POSIX; on Windows `detached` would open a console). A terminal's Ctrl-C goes to its whole foreground
 * group: ffmpeg in steady's group would quit at once, before steady could finish a --keep-partial file
 * (a decoder that died first made the job fail instead). steady stops them itself (on a signal, SIGQUIT
 * included, an error, at exit); if steady dies outright, a decoder's output pipe breaks and an encoder's
 * input ends, so they exit too, except a decoder blocked on an input that never comes (a FIFO with no
 * writer). ffprobe and the other short runs stay in steady's group, so a signal to the whole group
 * (`timeout -s KILL`) ends a probe blocked so.
 */
export const OWN_PROCESS_GROUP = process.platform !== 'win32';

/**
 * Calls `onAbort` once when `signal` aborts, or at once when it has aborted already (a listener added
 * then would never fire). No signal: never.
 */
export function whenAborted(signal: AbortSignal | undefined, onAbort: () => void): void {
  if (signal?.aborted === true) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });
}

/**
 * Spawns a child process and tracks it until it exits. Same arguments as child_process.spawn; stdio
 * defaults to three pipes.
 */
export function spawnTracked(command: string, args: readonly string[], options: SpawnOptions = {}): ChildProcess {
  installHooks();
  const env = options.env === undefined ? binaryEnv(command) : options.env;
  const child = spawn(command, args, { stdio: 'pipe', windowsHide: true, ...options, ...(env !== undefined ? { env } : {}) });
  live.add(child);
  const forget = (): void => {
    live.delete(child);
  };
  child.once('exit', forget);
  // A spawn failure (ENOENT, EACCES) emits 'error' and never 'exit'.
  child.once('error', (error: Error) => {
    if (child.pid === undefined) spawnErrors.set(child, error);
    forget();
  });
  return child;
}

/** The children started by spawnTracked that have not exited yet. */
export function liveChildren(): readonly ChildProcess[] {
  return [...live];
}

/** How many tracked children are still running. */
export function liveChildCount(): number {
  return live.size;
}

/** Kills every tracked child now (SIGKILL by default). */
export function killAllChildren(signal: NodeJS.Signals = 'SIGKILL'): void {
  for (const child of live) {
    try {
      child.kill(signal);
    } catch {
      // Already gone.
    }
  }
}

/**
 * Resolves when `child` has exited (immediately if it already has), with its exit code and signal.
 * A child that failed to spawn resolves with code null and the spawn error.
 */
export function waitForExit(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  const failed = spawnErrors.get(child);
  if (failed !== undefined) return Promise.resolve({ code: null, signal: null, error: failed });
  return new Promise((resolve) => {
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void => {
      child.removeListener('error', onError);
      resolve({ code, signal });
    };
    const onError = (error: Error): void => {
      child.removeListener('exit', onExit);
      resolve({ code: null, signal: null, error });
    };
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

/**
 * Kills `child` (SIGKILL: ffmpeg ignores nothing it is sent, but SIGTERM makes it finish writing the
 * output, which is pointless when we abandon it) and waits until it has exited.
 */
export async function killAndWait(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || spawnErrors.has(child)) return;
  const done = waitForExit(child);
  try {
    child.kill('SIGKILL');
  } catch {
    // Already gone.
  }
  await done;
}

/** Keeps the last `maxBytes` of a text stream (ffmpeg's stderr) for error messages. */
export class TailBuffer {
  private text = '';
  /** @param maxBytes characters kept. @default 4096 */
  constructor(private readonly maxBytes: number = 4096) {}
  /** Appends a chunk, dropping the oldest text beyond the limit. */
  push(chunk: Buffer | string): void {
    this.text += typeof chunk === 'string' ? chunk : chunk.toString('utf8');
    if (this.text.length > 2 * this.maxBytes) this.text = this.text.slice(-this.maxBytes);
  }
  /** The kept text, trimmed, last `maxBytes` characters at most. */
  toString(): string {
    return this.text.slice(-this.maxBytes).trim();
  }
}

/** What runCapture returns. */
export interface CaptureResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: Buffer;
  /** Last 8 KiB of stderr. */
  readonly stderr: string;
  /** Set when the process could not be started. */
  readonly spawnError?: Error;
}

/** Options of runCapture. */
export interface CaptureOptions {
  /** Bytes written to the child's stdin, then stdin is closed. @default nothing (stdin closed at once) */
  readonly input?: Uint8Array;
  /** Kill the child after this many milliseconds. @default no limit */
  readonly timeoutMs?: number;
  /** Kill the child when this signal aborts. */
  readonly signal?: AbortSignal;
}

/** Runs a tracked child to completion, collecting stdout and the tail of stderr. Never rejects. */
export async function runCapture(command: string, args: readonly string[], options: CaptureOptions = {}): Promise<CaptureResult> {
  const child = spawnTracked(command, args);
  const out: Buffer[] = [];
  const err = new TailBuffer(8192);
  child.stdout?.on('data', (c: Buffer) => out.push(c));
  child.stderr?.on('data', (c: Buffer) => err.push(c));
  // EPIPE when the child exits before reading all its input is expected and harmless.
  child.stdin?.on('error', () => {});
  if (options.input !== undefined) child.stdin?.end(options.input);
  else child.stdin?.end();
  let timer: NodeJS.Timeout | undefined;
  if (options.timeoutMs !== undefined) timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
  const onAbort = (): void => {
    child.kill('SIGKILL');
  };
  // A signal that came before the start stops the child at once.
  whenAborted(options.signal, onAbort);
  const exit = waitForExit(child);
  // Wait for the pipes to be drained too, so stdout is complete.
  const closed = new Promise<void>((resolve) => {
    if (child.stdout === null) resolve();
    else child.once('close', () => resolve());
  });
  const { code, signal, error } = await exit;
  if (error === undefined) await closed;
  if (timer !== undefined) clearTimeout(timer);
  options.signal?.removeEventListener('abort', onAbort);
  const result: CaptureResult = { code, signal, stdout: Buffer.concat(out), stderr: err.toString() };
  return error === undefined ? result : { ...result, spawnError: error };
}
