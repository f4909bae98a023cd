/**
 * An input's subtitle streams are not carried into the output, and the summary says so (they used to go
 * without a word).
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { ffmpeg, listStreams, makeClip, makeTempDir, removeTempDir } from '../support/ffmpeg-fixtures.js';

let dir = '';
beforeAll(async () => {
  dir = await makeTempDir('steady-subtitles-');
});
afterAll(async () => {
  if (dir) await removeTempDir(dir);
});

describe('steady stabilize and subtitles', () => {
  it('an input with a subtitle stream: the summary notes it is left out; without one, no such note', async () => {
    const plain = await makeClip(join(dir, 'plain.mkv'), { width: 96, height: 64, frames: 10, fps: 10, source: 'testsrc2', audio: true });
    const srt = join(dir, 'subs.srt');
    await writeFile(srt, '1\n00:00:00,000 --> 00:00:00,800\nhello\n');
    const withSubs = join(dir, 'subs.mkv');
    await ffmpeg(['-i', plain, '-i', srt, '-map', '0', '-map', '1', '-c', 'copy', withSubs]);
    expect((await listStreams(withSubs)).filter((s) => s.codec_type === 'subtitle').length).toBe(1);
    const notes = async (input: string, out: string): Promise<string[]> => {
      const r = await runCli(['stabilize', input, '-o', join(dir, out), '--json']);
      if (r.code !== 0) throw new Error(`steady stabilize exited ${r.code}: ${r.stderr}`);
      return (JSON.parse(r.stdout.trim()) as { notes: string[] }).notes;
    };
    expect((await notes(withSubs, 'with.mkv')).join('\n')).toMatch(/subtitles not kept: the input's subtitle stream is left out/);
    expect((await notes(plain, 'without.mkv')).join('\n')).not.toMatch(/subtitle/);
  });
});
