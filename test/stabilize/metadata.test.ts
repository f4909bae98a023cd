/**
 * A phone clip's global metadata reaches the outputs: its creation time (photo libraries date clips by it),
 * location, title and the phone's own keys (make, model), with and without a display rotation (which
 * takes a second write of the file with the bundled ffmpeg), and in the compare video.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { ffmpeg, ffprobeJson, makeClip, makeTempDir, readDisplayRotation, removeTempDir, setDisplayRotation } from '../support/ffmpeg-fixtures.js';

/** What the input says (the ground truth, written here). */
const TAGS = {
  creation_time: '2024-06-01T10:20:30.000000Z',
  title: 'Harbour walk',
  'com.apple.quicktime.make': 'Apple',
  'com.apple.quicktime.model': 'iPhone 15',
} as const;

let dir = '';
beforeAll(async () => {
  dir = await makeTempDir('steady-metadata-');
});
afterAll(async () => {
  if (dir) await removeTempDir(dir);
});

async function formatTags(path: string): Promise<Record<string, string>> {
  const json = (await ffprobeJson(['-show_entries', 'format_tags', path])) as { format?: { tags?: Record<string, string> } };
  return json.format?.tags ?? {};
}

describe('steady stabilize keeps the input\'s metadata', () => {
  it('creation time, title, make and model reach the output and the compare video, upright or turned', async () => {
    const plain = await makeClip(join(dir, 'plain.mp4'), { width: 96, height: 64, frames: 10, fps: 10, source: 'testsrc2', audio: true });
    const tag = async (src: string, dst: string) => {
      await ffmpeg(['-i', src, '-map', '0', '-c', 'copy', ...Object.entries(TAGS).flatMap(([k, v]) => ['-metadata', `${k}=${v}`]), '-movflags', 'use_metadata_tags', dst]);
      expect(await formatTags(dst)).toMatchObject(TAGS);
    };
    const tagged = join(dir, 'tagged.mov');
    await tag(plain, tagged);
    // Turned first, tagged after: a copy of a file written with mdta tags loses its creation time.
    const turnedBare = join(dir, 'turned-bare.mov');
    await setDisplayRotation(plain, turnedBare, 90);
    const turned = join(dir, 'turned.mov');
    await tag(turnedBare, turned);
    expect(await readDisplayRotation(turned)).toBe(90);
    for (const input of [tagged, turned]) {
      const name = input === tagged ? 'upright' : 'turned';
      const out = join(dir, `${name}-out.mov`);
      const side = join(dir, `${name}-side.mp4`);
      const r = await runCli(['stabilize', input, '-o', out, '--compare', side, '--quiet']);
      expect(r.code, r.stderr).toBe(0);
      expect(await formatTags(out)).toMatchObject(TAGS);
      expect(await formatTags(side)).toMatchObject(TAGS);
    }
  });

  it('steady track --overlay keeps them too', async () => {
    const plain = await makeClip(join(dir, 'plain-t.mp4'), { width: 96, height: 64, frames: 10, fps: 10, source: 'testsrc2' });
    const tagged = join(dir, 'tagged-t.mov');
    await ffmpeg(['-i', plain, '-map', '0', '-c', 'copy', ...Object.entries(TAGS).flatMap(([k, v]) => ['-metadata', `${k}=${v}`]), '-movflags', 'use_metadata_tags', tagged]);
    const overlay = join(dir, 'overlay.mov');
    const r = await runCli(['track', tagged, '--overlay', overlay, '-o', join(dir, 'track.json')]);
    expect(r.code, r.stderr).toBe(0);
    expect(await formatTags(overlay)).toMatchObject(TAGS);
  });

  it('a clip without such tags gets none made up', async () => {
    const plain = await makeClip(join(dir, 'bare.mp4'), { width: 96, height: 64, frames: 10, fps: 10, source: 'testsrc2' });
    const out = join(dir, 'bare-out.mp4');
    const r = await runCli(['stabilize', plain, '-o', out, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const tags = await formatTags(out);
    for (const k of Object.keys(TAGS)) expect(tags[k]).toBeUndefined();
  });
});
