import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GrayImage } from '../../src/image/gray-image.js';
import { runCli } from '../support/cli.js';
import { crossingShot } from '../support/crossing.js';
import { makeClipFromYuvFrames, makeTempDir, removeTempDir } from '../support/ffmpeg-fixtures.js';

const W = 320;
const H = 180;

/** Gray frames as yuv420p (neutral chroma). */
function yuvFrames(frames: readonly GrayImage[]): Uint8Array[] {
  return frames.map((f) => {
    const out = new Uint8Array(W * H + 2 * (W / 2) * (H / 2)).fill(128);
    for (let i = 0; i < W * H; i++) out[i] = Math.max(0, Math.min(255, Math.round(f.data[i] as number)));
    return out;
  });
}

describe('steady stabilize says when it left parts of the frame that moved on their own out of the registration', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await makeTempDir();
  });
  afterAll(async () => {
    await removeTempDir(dir);
  });

  const NOTE = /parts of the frame that moved otherwise than the rest .* were left out of the registration in (\d+) frames?/;

  it('a clip with an object crossing it: a note with the frames; the same shot without the object: none', async () => {
    const notes = async (size: number, name: string) => {
      const shot = crossingShot({ width: W, height: H, frames: 45, size, speedPx: 5 });
      const clip = await makeClipFromYuvFrames(join(dir, `${name}.mkv`), yuvFrames(shot.frames), { width: W, height: H, fps: 30 });
      const r = await runCli(['stabilize', clip, '-o', join(dir, `${name}.out.mkv`), '--json']);
      expect(r.code).toBe(0);
      return { notes: (JSON.parse(r.stdout.trim().split('\n').pop() as string) as { notes: string[] }).notes, shot };
    };
    const withObject = await notes(0.35, 'crossing');
    const note = withObject.notes.find((n) => NOTE.test(n));
    expect(note).toBeDefined();
    // The object is in view from frame 1 on (it enters at the left edge): most frames leave it out.
    const count = Number(NOTE.exec(note as string)?.[1]);
    const inView = withObject.shot.covered.filter((c) => c > 0.02).length;
    expect(count).toBeGreaterThan(0.5 * inView);
    expect(count).toBeLessThanOrEqual(withObject.shot.frames.length - 1);
    const without = await notes(0, 'plain');
    expect(without.notes.some((n) => NOTE.test(n))).toBe(false);
  });
});
