import { existsSync } from 'node:fs';
import { link, mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { checkOutputWritable, createTempOutput, samePath, tempPathFor } from '../../src/video/temp-output.js';
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

describe('temp output', () => {
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
