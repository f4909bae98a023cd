/**
 * Output files are written under a temporary name beside the final path and renamed over it only when
 * complete, so a crash, an error or Ctrl-C never leaves a truncated file under the name the user asked
 * for (rename within one directory is atomic). The temporary name keeps the final extension because
 * ffmpeg picks the container from it. Temporary files still pending when the process exits or is
 * stopped by SIGINT / SIGTERM / SIGHUP are removed (after the ffmpeg children writing them are killed).
 */
import { accessSync, constants, readdirSync, realpathSync, rmSync, statSync, unlinkSync } from 'node:fs';
import { rename, unlink } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { InputError, RuntimeError } from '../errors.js';
import { registerCleanup } from './process-registry.js';

const pending = new Set<string>();
let cleanupRegistered = false;
let counter = 0;

function removePendingSync(): void {
  for (const p of pending) {
    try {
      unlinkSync(p);
    } catch {
      // Never written, or already gone.
    }
  }
  pending.clear();
}

/**
 * Checks, before any work starts, that `finalPath` can be written: its directory exists, is a
 * directory and is writable, and the path itself is not a directory.
 * @throws InputError E_OUTPUT_UNWRITABLE (exit 2) saying which of these failed.
 */
export function checkOutputWritable(finalPath: string): void {
  const dir = dirname(resolve(finalPath));
  let dirStat: ReturnType<typeof statSync>;
  try {
    dirStat = statSync(dir);
  } catch {
    throw new InputError('E_OUTPUT_UNWRITABLE', `Cannot write ${JSON.stringify(finalPath)}: directory ${JSON.stringify(dir)} does not exist; create it first or choose another output path`);
  }
  if (!dirStat.isDirectory()) {
    throw new InputError('E_OUTPUT_UNWRITABLE', `Cannot write ${JSON.stringify(finalPath)}: ${JSON.stringify(dir)} is not a directory`);
  }
  try {
    accessSync(dir, constants.W_OK);
  } catch (cause) {
    throw new InputError('E_OUTPUT_UNWRITABLE', `Cannot write ${JSON.stringify(finalPath)}: directory ${JSON.stringify(dir)} is not writable; choose another output path`, { cause });
  }
  try {
    if (statSync(finalPath).isDirectory()) {
      throw new InputError('E_OUTPUT_UNWRITABLE', `Cannot write ${JSON.stringify(finalPath)}: it is a directory; give a file name`);
    }
  } catch (err) {
    if (err instanceof InputError) throw err;
    // Does not exist yet: fine.
  }
}

/** Where a path leads: its real path, or for a file not written yet, its folder's real path and its name. */
function canonicalPath(p: string): string {
  // The system's realpath: Node's own normalises the text first, and `link/../x` is the parent of where
  // `link` points, not the folder holding `link`.
  try {
    return realpathSync.native(p);
  } catch {
    // Not there yet: its folder may still be reached through a symbolic link.
  }
  try {
    return join(realpathSync.native(dirname(p)), basename(p));
  } catch {
    return resolve(p);
  }
}

/**
 * True when two paths name one file: the same real path (symbolic links followed, in the folders too, for
 * a file not written yet) or, for existing files, the same inode (hard links). '-' (a standard stream)
 * is no file.
 */
export function samePath(a: string, b: string): boolean {
  if (a === '-' || b === '-') return false;
  if (canonicalPath(a) === canonicalPath(b)) return true;
  try {
    const sa = statSync(a);
    const sb = statSync(b);
    return sa.dev === sb.dev && sa.ino === sb.ino;
  } catch {
    return false;
  }
}

/** A leftover is removed only when it has not been written to for this long (ms): see sweepLeftovers. */
export const LEFTOVER_MIN_AGE_MS = 60_000;

/** True when a process with this id runs (one of another user counts: EPERM). */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes what an earlier run of steady left in `dir` when it was killed outright (SIGKILL, a power cut:
 * no exit handler runs): entries whose name matches `pattern`, whose first capture group is the id of the
 * process that made them, when that process no longer runs and the entry has not been written to for
 * LEFTOVER_MIN_AGE_MS (a process of the same id in another PID namespace sharing the folder keeps
 * writing). Only this user's own entries; errors are ignored (a sweep is a courtesy, never a failure).
 * @returns the names removed.
 */
export function sweepLeftovers(dir: string, pattern: RegExp, now: number = Date.now()): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  const uid = typeof process.getuid === 'function' ? process.getuid() : undefined;
  for (const name of names) {
    const m = pattern.exec(name);
    if (m === null || m[1] === undefined) continue;
    const pid = Number(m[1]);
    if (!Number.isSafeInteger(pid) || pid <= 0 || pid === process.pid || processAlive(pid)) continue;
    const full = join(dir, name);
    try {
      const st = statSync(full);
      // A folder's own time does not change while a file in it is written: take its newest entry's.
      let newest = st.mtimeMs;
      if (st.isDirectory()) for (const inner of readdirSync(full)) newest = Math.max(newest, statSync(join(full, inner)).mtimeMs);
      if ((uid !== undefined && st.uid !== uid) || now - newest < LEFTOVER_MIN_AGE_MS) continue;
      rmSync(full, { recursive: true, force: true });
      removed.push(name);
    } catch {
      // Gone meanwhile, or not ours to remove.
    }
  }
  return removed;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** The names tempPathFor gives `finalPath` in any process: the first group is the process id. */
export function tempNamePattern(finalPath: string): RegExp {
  const ext = extname(finalPath);
  const stem = basename(finalPath, ext);
  return new RegExp(`^\\.${escapeRegExp(stem)}\\.tmp-(\\d+)-\\d+${escapeRegExp(ext)}$`);
}

/**
 * The temporary name for `finalPath`: hidden, in the same directory, unique to this process, same
 * extension (`out/clip.mp4` -> `out/.clip.tmp-<pid>-<n>.mp4`).
 */
export function tempPathFor(finalPath: string): string {
  const ext = extname(finalPath);
  const stem = basename(finalPath, ext);
  counter += 1;
  return join(dirname(finalPath), `.${stem}.tmp-${process.pid}-${counter}${ext}`);
}

/** A file being written under a temporary name. */
export interface TempOutput {
  /** The name the file gets on commit. */
  readonly finalPath: string;
  /** Where to write meanwhile. */
  readonly tempPath: string;
  /** Renames the temporary file over the final path. */
  commit(): Promise<void>;
  /** Removes the temporary file (no error if it was never written). */
  discard(): Promise<void>;
}

/**
 * Reserves a temporary name beside `finalPath` after checking the output can be written.
 * @throws InputError E_OUTPUT_UNWRITABLE when it cannot.
 */
export function createTempOutput(finalPath: string): TempOutput {
  checkOutputWritable(finalPath);
  // A run killed outright (SIGKILL) left its temporary file: the next run to the same output removes it.
  sweepLeftovers(dirname(resolve(finalPath)), tempNamePattern(finalPath));
  const tempPath = tempPathFor(finalPath);
  if (!cleanupRegistered) {
    cleanupRegistered = true;
    registerCleanup(removePendingSync);
  }
  pending.add(tempPath);
  let settled = false;
  return {
    finalPath,
    tempPath,
    async commit() {
      if (settled) return;
      try {
        await rename(tempPath, finalPath);
      } catch (cause) {
        // The folder removed or made read-only meanwhile, the file removed by someone else.
        throw new RuntimeError('E_OUTPUT_WRITE', `Cannot put ${JSON.stringify(finalPath)} in place (${(cause as Error).message}); check that its folder still exists and is writable`, { cause });
      }
      settled = true;
      pending.delete(tempPath);
    },
    async discard() {
      if (settled) return;
      settled = true;
      pending.delete(tempPath);
      try {
        await unlink(tempPath);
      } catch {
        // Never written.
      }
    },
  };
}
