/**
 * Checks shared by the hardening tests: an error is one line `steady: <CODE>: <message>` and no stack
 * trace; nothing is left under the final output name nor as a temporary file; no ffmpeg / ffprobe process
 * mentioning a test's folder is still running (found through /proc, Linux).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { expect } from 'vitest';
import type { CommandContext } from '../../src/cli/command.js';
import { main } from '../../src/cli/run.js';

/** What a command run gave back. */
export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Hang guard for waits (not a timing assertion), ms. */
export const WAIT_MS = 30_000;

/** A Writable that keeps what is written. */
export class TextSink extends Writable {
  text = '';
  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.text += chunk.toString();
    cb();
  }
}

/**
 * Runs `steady <argv>` in this process (the CLI's testable core, src/cli/run.ts main): exit code, stdout
 * and stderr as the executable would give them, without starting Node once per case. `signal` stands for
 * SIGINT / SIGTERM (its reason names which).
 */
export async function runInProcess(argv: readonly string[], signal: AbortSignal = new AbortController().signal): Promise<RunResult> {
  const stdout = new TextSink();
  const stderr = new TextSink();
  const ctx: CommandContext = { stdout, stderr, signal };
  const code = await main(argv, ctx);
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** Lines that only a stack trace or an unhandled error prints. */
const STACK_TRACE = /(^|\n)\s+at .+[(:]\d+|node:internal|Unhandled|^\s*\^\s*$|Error: .*\n\s+at /m;

/**
 * Expects a failed run: the exit code, stderr exactly one line `steady: <code>: <message>` (the message
 * matching `message` when given), no stack trace anywhere, nothing on stdout.
 */
export function expectOneLineError(r: RunResult, exit: number, code: string, message?: RegExp, what = ''): void {
  const label = `${what} -> exit ${r.code}, stderr ${JSON.stringify(r.stderr.slice(0, 400))}`;
  expect(r.code, label).toBe(exit);
  expect(r.stderr, label).toMatch(new RegExp(`^steady: ${code}: [^\\n]+\\n$`));
  if (message !== undefined) expect(r.stderr, label).toMatch(message);
  expect(r.stderr, label).not.toMatch(STACK_TRACE);
  expect(r.stdout, label).toBe('');
}

/** Expects a successful run: exit 0 and no error line or stack trace on stderr. */
export function expectSuccess(r: RunResult, what = ''): void {
  const label = `${what} -> exit ${r.code}, stderr ${JSON.stringify(r.stderr.slice(0, 400))}`;
  expect(r.code, label).toBe(0);
  expect(r.stderr, label).not.toMatch(/^steady: E_/m);
  expect(r.stderr, label).not.toMatch(STACK_TRACE);
}

/** Names in `dir` (hidden temporary files included). */
export function listDir(dir: string): string[] {
  return readdirSync(dir).sort();
}

/** Temporary output names (`.<stem>.tmp-<pid>-<n>.<ext>`, see src/video/temp-output.ts) in `dir`. */
export function tempFilesIn(dir: string): string[] {
  return listDir(dir).filter((n) => /^\..+\.tmp-\d+-\d+/.test(n));
}

/** A process found through /proc. */
export interface ProcessInfo {
  readonly pid: number;
  readonly cmdline: string;
}

/** Live (not zombie) processes, of any parent, whose command line contains `needle`. */
export function processesMentioning(needle: string): ProcessInfo[] {
  const out: ProcessInfo[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name) || Number(name) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // The state follows the command name, which may hold spaces: it starts after the last ')'.
      if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')) continue;
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
      if (cmdline.includes(needle)) out.push({ pid: Number(name), cmdline });
    } catch {
      // It ended while we looked.
    }
  }
  return out;
}

/** ffmpeg / ffprobe processes whose command line mentions `needle` (a test's unique folder). */
export function ffmpegProcessesMentioning(needle: string): ProcessInfo[] {
  return processesMentioning(needle).filter((p) => /ff(mpeg|probe)/.test(p.cmdline));
}

/** Waits until `cond()` holds; throws after WAIT_MS (a hang guard, not a timing assertion). */
export async function waitFor(cond: () => boolean, what: string, stepMs = 20): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/** Runs `tasks` with at most `limit` of them at once; resolves with their results in order. */
export async function withLimit<T>(limit: number, tasks: readonly (() => Promise<T>)[]): Promise<T[]> {
  const results: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, tasks.length) }, async () => {
      for (let i = next++; i < tasks.length; i = next++) results[i] = await (tasks[i] as () => Promise<T>)();
    }),
  );
  return results;
}
