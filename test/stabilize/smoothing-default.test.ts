/**
 * The default smoothing radius is half a second above 30 fps (60 fps: 30 frames), not 15 frames whatever
 * the rate: a 60 fps clip was smoothed over half the time, a slow-motion clip hardly at all. A radius
 * given is taken as it is.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultSmoothingRadius } from '../../src/pipeline/stabilize-file.js';
import { parseMotionFile } from '../../src/track/motion-file.js';
import { runCli } from '../support/cli.js';
import { makeTempDir, removeTempDir } from '../support/ffmpeg-fixtures.js';
import { makeShakyClip } from '../support/shaky-clip.js';

let dir = '';
beforeAll(async () => {
  dir = await makeTempDir('steady-radius-');
});
afterAll(async () => {
  if (dir) await removeTempDir(dir);
});

describe('defaultSmoothingRadius', () => {
  it('15 frames up to 30 fps, half a second above, within 120 frames and about 1 GiB of held 4:2:0 frames', () => {
    expect([24, 25, 29.97, 30].map((fps) => defaultSmoothingRadius(fps, 640, 360))).toEqual([15, 15, 15, 15]);
    expect(defaultSmoothingRadius(50, 640, 360)).toBe(25);
    expect(defaultSmoothingRadius(60, 640, 360)).toBe(30);
    expect(defaultSmoothingRadius(240, 640, 360)).toBe(120);
    expect(defaultSmoothingRadius(1000, 640, 360)).toBe(120);
    // 4K: a frame is 12.4 MB; 4 radii + 4 frames within 2^30 bytes gives 20.
    expect(defaultSmoothingRadius(60, 3840, 2160)).toBe(20);
    expect(defaultSmoothingRadius(24, 3840, 2160)).toBe(15);
  });
});

describe('steady stabilize on a 60 fps clip', () => {
  it('plans with 30 frames by default (as --smoothing 30 does, not as --smoothing 15), and says so', async () => {
    const clip = await makeShakyClip(join(dir, 'sixty.mkv'), { seed: 60, width: 160, height: 90, frames: 90, fps: 60 });
    const run = async (name: string, extra: string[]) => {
      const motion = join(dir, `${name}.json`);
      const r = await runCli(['stabilize', clip.path, '-o', join(dir, `${name}.mp4`), '--transforms', motion, '--json', ...extra]);
      expect(r.code, r.stderr).toBe(0);
      return { notes: (JSON.parse(r.stdout) as { notes: string[] }).notes.join('\n'), frames: parseMotionFile(await readFile(motion, 'utf8')).frames };
    };
    const [def, r30, r15] = await Promise.all([run('default', []), run('r30', ['--smoothing', '30']), run('r15', ['--smoothing', '15'])]);
    const same = (a: typeof def.frames, b: typeof def.frames) => a.every((f, k) => f.correction?.every((v, i) => v === b[k]?.correction?.[i]) === true);
    expect(same(def.frames, r30.frames)).toBe(true);
    expect(same(def.frames, r15.frames)).toBe(false);
    expect(def.notes).toMatch(/smoothing radius 30 frames: half a second at 60 fps/);
    expect(r30.notes).not.toMatch(/smoothing radius/);
  });
});
