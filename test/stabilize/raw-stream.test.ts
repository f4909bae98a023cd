/**
 * A raw H.264 stream (no container, no timestamps): --framerate gives its rate, as it does for an image
 * sequence; the output then has every frame once, at that rate.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { countFrames, ffmpeg, listStreams, makeTempDir, removeTempDir } from '../support/ffmpeg-fixtures.js';

/** Frames and rate of the raw stream made here (the ground truth). */
const FRAMES = 20;
const FPS = 10;
/** Duration tolerance: one frame period. */
const TOL_SEC = 1 / FPS;

let dir = '';
beforeAll(async () => {
  dir = await makeTempDir('steady-raw-stream-');
});
afterAll(async () => {
  if (dir) await removeTempDir(dir);
});

describe('steady stabilize on a raw H.264 stream', () => {
  it('--framerate sets its rate: every frame once, lasting frames / rate', async () => {
    const raw = join(dir, 'in.h264');
    await ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=96x64:rate=${FPS}`, '-frames:v', String(FRAMES), '-c:v', 'libx264', '-preset', 'ultrafast', '-bsf:v', 'h264_mp4toannexb', '-f', 'h264', raw]);
    const out = join(dir, 'out.mp4');
    const r = await runCli(['stabilize', raw, '-o', out, '--framerate', String(FPS), '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).frames).toBe(FRAMES);
    expect(await countFrames(out)).toBe(FRAMES);
    const v = (await listStreams(out)).find((s) => s.codec_type === 'video');
    expect(v?.r_frame_rate).toBe(`${FPS}/1`);
    expect(Math.abs(Number(v?.duration) - FRAMES / FPS)).toBeLessThanOrEqual(TOL_SEC);
  });
});
