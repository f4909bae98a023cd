/**
 * File names that ffmpeg would read as a protocol (an ISO timestamp, `pipe:1.mp4`): given to ffmpeg as
 * `./name`, so they work as input, output, side-by-side and motion file, in the folder the command runs in.
 */
import { readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegInputPath, ffmpegOutputPath, looksLikeProtocol } from '../../src/video/ffmpeg-path.js';
import { runCli } from '../support/cli.js';
import { countFrames, makeClip, makeTempDir, removeTempDir } from '../support/ffmpeg-fixtures.js';

/** Frames of the clip made here: the ground truth of every output's length. */
const FRAMES = 12;
let dir = '';
beforeAll(async () => {
  dir = await makeTempDir('steady-colon-names-');
  await makeClip(join(dir, '2024-01-01T12:30:00.mp4'), { width: 96, height: 64, frames: FRAMES, source: 'testsrc2' });
  await makeClip(join(dir, 'pipe:1.mp4'), { width: 96, height: 64, frames: FRAMES, source: 'testsrc2' });
});
afterAll(async () => {
  await removeTempDir(dir);
});

describe('paths given to ffmpeg', () => {
  it('a relative name whose first part holds a colon gets ./; others, absolute paths and - stay', () => {
    expect(looksLikeProtocol('2024-01-01T12:30:00.mp4')).toBe(true);
    expect(looksLikeProtocol('clips/12:30.mp4')).toBe(false);
    expect(looksLikeProtocol('/tmp/a:b.mp4')).toBe(false);
    expect(ffmpegOutputPath('.out:1.tmp-5-1.mp4')).toBe('./.out:1.tmp-5-1.mp4');
    expect(ffmpegOutputPath('out.mp4')).toBe('out.mp4');
    expect(ffmpegOutputPath('-')).toBe('-');
    // Inputs: only a file that exists (a URL stays a URL).
    expect(ffmpegInputPath('http://example.com/a.mp4')).toBe('http://example.com/a.mp4');
  });

  it('steady stabilize and track read and write such names in the current folder', async () => {
    const r = await runCli(['stabilize', '2024-01-01T12:30:00.mp4', '-o', '2024-01-01T12:30:00-steady.mp4', '--compare', 'side:1.mp4', '--transforms', 'motion:1.json', '--quiet'], { cwd: dir });
    expect(r.code, r.stderr).toBe(0);
    expect(await countFrames(join(dir, '2024-01-01T12:30:00-steady.mp4'))).toBe(FRAMES);
    expect(await countFrames(join(dir, 'side:1.mp4'))).toBe(FRAMES);
    // A file named like ffmpeg's pipe protocol is read as the file, not as a pipe.
    const p = await runCli(['stabilize', 'pipe:1.mp4', '-o', 'file:out.mkv', '--quiet'], { cwd: dir });
    expect(p.code, p.stderr).toBe(0);
    expect(await countFrames(join(dir, 'file:out.mkv'))).toBe(FRAMES);
    const t = await runCli(['track', '2024-01-01T12:30:00.mp4', '-o', 'track:1.json', '--overlay', 'overlay:1.mp4', '--quiet'], { cwd: dir });
    expect(t.code, t.stderr).toBe(0);
    expect(await countFrames(join(dir, 'overlay:1.mp4'))).toBe(FRAMES);
    // Nothing else left (no temporary file).
    expect((await readdir(dir)).sort()).toEqual(['2024-01-01T12:30:00-steady.mp4', '2024-01-01T12:30:00.mp4', 'file:out.mkv', 'motion:1.json', 'overlay:1.mp4', 'pipe:1.mp4', 'side:1.mp4', 'track:1.json'].sort());
  });
});
