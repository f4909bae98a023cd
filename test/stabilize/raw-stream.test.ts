/**
 * A raw H.264 stream (no container, no timestamps): its rate is the one its own timing information declares
 * (some ffprobe builds read it as the field rate, twice the frame rate, and the output had every frame
 * twice); --framerate gives another rate, as it does for an image sequence. The output then has every frame
 * once, at that rate.
 */
import { readFile } from 'node:fs/promises';
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

/** A raw H.264 stream of `frames` frames at `rate` (a rational text), as x264 writes it (timing in its SPS). */
async function rawStream(name: string, rate: string, frames: number): Promise<string> {
  const raw = join(dir, name);
  await ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=96x64:rate=${rate}`, '-frames:v', String(frames), '-c:v', 'libx264', '-preset', 'ultrafast', '-bsf:v', 'h264_mp4toannexb', '-f', 'h264', raw]);
  return raw;
}

describe('steady stabilize on a raw H.264 stream', () => {
  it('without --framerate, takes the rate the stream declares (12 and 30000/1001 fps): every frame once, and says so', async () => {
    for (const [rate, fps] of [
      ['12', 12],
      ['30000/1001', 30000 / 1001],
    ] as const) {
      const raw = await rawStream(`declared-${fps.toFixed(0)}.h264`, rate, FRAMES);
      const out = join(dir, `declared-${fps.toFixed(0)}.mp4`);
      const r = await runCli(['stabilize', raw, '-o', out, '--json']);
      expect(r.code, r.stderr).toBe(0);
      const summary = JSON.parse(r.stdout);
      expect(summary.frames).toBe(FRAMES);
      expect(summary.notes.join('\n')).toMatch(new RegExp(`frame rate ${Number(fps.toFixed(3))} fps, as the raw stream's own timing says`));
      expect(await countFrames(out)).toBe(FRAMES);
      const v = (await listStreams(out)).find((s) => s.codec_type === 'video');
      expect(v?.r_frame_rate).toBe(rate.includes('/') ? rate : `${rate}/1`);
      expect(Math.abs(Number(v?.duration) - FRAMES / fps)).toBeLessThanOrEqual(1 / fps);
    }
  });

  it('steady track reads it at the same rate: the motion file\'s fps and times', async () => {
    const raw = await rawStream('track.h264', '12', FRAMES);
    const motion = join(dir, 'track.json');
    const r = await runCli(['track', raw, '-o', motion, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const file = JSON.parse(await readFile(motion, 'utf8'));
    expect(file.fps).toBeCloseTo(12, 9);
    expect(file.frames.length).toBe(FRAMES);
    expect(file.frames[FRAMES - 1].time).toBeCloseTo((FRAMES - 1) / 12, 6);
  });

  it('--framerate sets another rate than the one declared: every frame once, lasting frames / rate', async () => {
    // Declared 12 fps, read at 10.
    const raw = await rawStream('in.h264', '12', FRAMES);
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
