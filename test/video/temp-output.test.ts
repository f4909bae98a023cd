import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { link, mkdir, readdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError, RuntimeError } from '../../src/errors.js';
import { checkOutputWritable, createTempOutput, LEFTOVER_MIN_AGE_MS, samePath, sweepLeftovers, tempPathFor } from '../../src/video/temp-output.js';
import { makeTempDir, removeTempDir } from '../support/ffmpeg-fixtures.js';

let dir = '';
beforeAll(async () => {
  dir = await makeTempDir();
});
afterAll(async () => {
  await removeTempDir(dir);
});

function codeOf(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    return err instanceof InputError ? err.code : `other: ${String(err)}`;
  }
  return 'no error';
}

/** The id of a process that has run and exited (ids are not reused so soon on any system these tests run on). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', '']);
  if (r.pid === undefined) throw new Error('could not start node');
  return r.pid;
}

describe('temp output', () => {
  it('a run to the same output removes what a killed run left (a dead process, not written to for a minute), nothing else', async () => {
    const sub = join(dir, 'leftovers');
    await mkdir(sub);
    const dead = deadPid();
    const old = new Date(Date.now() - 2 * LEFTOVER_MIN_AGE_MS);
    const names = {
      stale: `.out.tmp-${dead}-1.mp4`,
      recent: `.out.tmp-${dead}-2.mp4`,
      alive: `.out.tmp-${process.pid}-900.mp4`,
      otherOutput: `.other.tmp-${dead}-1.mp4`,
      otherExtension: `.out.tmp-${dead}-1.mkv`,
    };
    for (const [key, name] of Object.entries(names)) {
      await writeFile(join(sub, name), 'x');
      if (key !== 'recent') await utimes(join(sub, name), old, old);
    }
    const t = createTempOutput(join(sub, 'out.mp4'));
    await t.discard();
    const left = (await readdir(sub)).sort();
    expect(left).toEqual([names.recent, names.alive, names.otherOutput, names.otherExtension].sort());
  });

  it('sweepLeftovers removes the folders of dead processes that match, and keeps those of live ones', async () => {
    const sub = join(dir, 'spools');
    await mkdir(sub);
    const dead = deadPid();
    const now = Date.now() + 2 * LEFTOVER_MIN_AGE_MS;
    await mkdir(join(sub, `steady-stdin-${dead}-abc123`));
    await writeFile(join(sub, `steady-stdin-${dead}-abc123`, 'input.mp4'), 'x');
    await mkdir(join(sub, `steady-stdin-${process.pid}-def456`));
    await mkdir(join(sub, 'steady-stdin-old-style'));
    // A folder whose file is still being written (another PID namespace sharing the folder): its own time
    // is old, its file's is not.
    const busy = `steady-stdin-${dead}-busy99`;
    await mkdir(join(sub, busy));
    await writeFile(join(sub, busy, 'input.mp4'), 'x');
    await utimes(join(sub, busy), new Date(0), new Date(0));
    await utimes(join(sub, busy, 'input.mp4'), new Date(now), new Date(now));
    const removed = sweepLeftovers(sub, /^steady-stdin-(\d+)-[^/]+$/, now);
    expect(removed).toEqual([`steady-stdin-${dead}-abc123`]);
    expect((await readdir(sub)).sort()).toEqual([busy, `steady-stdin-${process.pid}-def456`, 'steady-stdin-old-style'].sort());
  });
  it('names the temporary file beside the final one, hidden, with the same extension', () => {
    const t = tempPathFor('/a/b/clip.mp4');
    expect(t.startsWith('/a/b/.clip.tmp-')).toBe(true);
    expect(t.endsWith('.mp4')).toBe(true);
    expect(tempPathFor('/a/b/clip.mp4')).not.toBe(t);
  });

  it('commit renames the temporary file over the final path', async () => {
    const sub = join(dir, 'commit');
    await mkdir(sub);
    const final = join(sub, 'out.txt');
    await writeFile(final, 'old');
    const t = createTempOutput(final);
    await writeFile(t.tempPath, 'new');
    expect(await readFile(final, 'utf8')).toBe('old');
    await t.commit();
    expect(await readFile(final, 'utf8')).toBe('new');
    expect(await readdir(sub)).toEqual(['out.txt']);
  });

  it('commit into a folder removed meanwhile fails with E_OUTPUT_WRITE naming the file, not an internal error', async () => {
    const sub = join(dir, 'vanishing');
    await mkdir(sub);
    const t = createTempOutput(join(sub, 'out.mp4'));
    await writeFile(t.tempPath, 'done');
    await rm(sub, { recursive: true });
    const err = await t.commit().then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(RuntimeError);
    expect((err as RuntimeError).code).toBe('E_OUTPUT_WRITE');
    expect((err as RuntimeError).message).toMatch(/Cannot put ".*out\.mp4" in place \(ENOENT.*check that its folder still exists/);
  });

  it('discard leaves nothing under the final name and removes the temporary file', async () => {
    const sub = join(dir, 'discard');
    await mkdir(sub);
    const t = createTempOutput(join(sub, 'out.mp4'));
    await writeFile(t.tempPath, 'partial');
    await t.discard();
    expect(await readdir(sub)).toEqual([]);
    // Discarding something never written is fine, and commit after discard does nothing.
    const u = createTempOutput(join(sub, 'other.mp4'));
    await u.discard();
    await u.commit();
    expect(existsSync(join(sub, 'other.mp4'))).toBe(false);
  });

  it('checks writability: E_OUTPUT_UNWRITABLE for a missing directory, a file as directory, a directory as output', async () => {
    const file = join(dir, 'plain-file');
    await writeFile(file, 'x');
    expect(codeOf(() => checkOutputWritable(join(dir, 'missing', 'out.mp4')))).toBe('E_OUTPUT_UNWRITABLE');
    expect(codeOf(() => checkOutputWritable(join(file, 'out.mp4')))).toBe('E_OUTPUT_UNWRITABLE');
    expect(codeOf(() => checkOutputWritable(dir))).toBe('E_OUTPUT_UNWRITABLE');
    expect(codeOf(() => checkOutputWritable(join(dir, 'fine.mp4')))).toBe('no error');
  });
});

describe('samePath', () => {
  it('tells one file under two names: a folder reached by a symbolic link (file not written yet), a hard link, a relative path', async () => {
    const real = join(dir, 'same-real');
    await mkdir(real, { recursive: true });
    await symlink(real, join(dir, 'same-link'));
    // Not written yet: only the folders say it is one file.
    expect(samePath(join(dir, 'same-link', 'x.mp4'), join(real, 'x.mp4'))).toBe(true);
    expect(samePath(join(dir, 'same-link', 'x.mp4'), join(real, 'y.mp4'))).toBe(false);
    await writeFile(join(real, 'a.mp4'), 'a');
    await link(join(real, 'a.mp4'), join(real, 'hard.mp4'));
    expect(samePath(join(real, 'a.mp4'), join(real, 'hard.mp4'))).toBe(true);
    expect(samePath(relative(process.cwd(), join(real, 'a.mp4')), join(dir, 'same-link', 'a.mp4'))).toBe(true);
    await writeFile(join(real, 'b.mp4'), 'a');
    expect(samePath(join(real, 'a.mp4'), join(real, 'b.mp4'))).toBe(false);
    expect(samePath('-', '-')).toBe(false);
    // `link/../x` is the parent of where the link points, not the folder that holds the link.
    await mkdir(join(real, 'sub'));
    await symlink(join(real, 'sub'), join(dir, 'same-sub-link'));
    expect(samePath(join(dir, 'same-sub-link') + '/../y.mp4', join(real, 'y.mp4'))).toBe(true);
  });
});
