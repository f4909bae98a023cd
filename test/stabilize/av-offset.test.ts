/**
 * The pictures stay in step with the sound when the video does not start where the audio does: a video
 * stream that starts after its file's audio (an MP4 edit list, a camera that starts audio first), and a
 * --start point whose first frame comes later than the point itself. Ground truth from the construction:
 * solid frames whose gray level encodes their index (a flat frame is its own stabilized image), so each
 * output frame says which source frame it shows, and the output's times say when.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { ffmpeg, listStreams, makeClipFromYuvFrames, makeTempDir, removeTempDir, solidYuvFrame, videoFrameTimes, yuv420pBytes } from '../support/ffmpeg-fixtures.js';

const WIDTH = 64;
const HEIGHT = 48;
const FPS = 10;
const FRAMES = 20;
/** The video starts this long after the audio (construction), seconds. */
const VIDEO_DELAY_SEC = 0.5;
/** Source frame k has luma level LEVEL0 + LEVEL_STEP * k. */
const LEVEL0 = 40;
const LEVEL_STEP = 8;
/** The MPEG-TS clip's 60 frames step by this many levels. */
const TS_LEVEL_STEP = 3;
/** Decoded levels within this of the construction (lossless source, flat frames; x264 at crf 18 out), gray levels. */
const LEVEL_TOL = 2;
/** Stream start times within this of the construction (MP4 edit lists count in 1/1000 s, AAC frames), seconds. */
const START_TOL_SEC = 0.03;

let dir = '';
let delayed = '';

beforeAll(async () => {
  dir = await makeTempDir('steady-av-offset-');
  const frames = Array.from({ length: FRAMES }, (_, k) => solidYuvFrame(WIDTH, HEIGHT, LEVEL0 + LEVEL_STEP * k, 128, 128));
  const video = await makeClipFromYuvFrames(join(dir, 'video.mp4'), frames, { width: WIDTH, height: HEIGHT, fps: FPS, codec: 'libx264', extraArgs: ['-qp', '0', '-preset', 'ultrafast'] });
  const audio = join(dir, 'audio.m4a');
  await ffmpeg(['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=44100:duration=${VIDEO_DELAY_SEC + FRAMES / FPS}`, '-c:a', 'aac', audio]);
  // Streams copied: the video's later start is kept as its start time (an edit list), as cameras write it.
  delayed = join(dir, 'delayed.mp4');
  await ffmpeg(['-itsoffset', String(VIDEO_DELAY_SEC), '-i', video, '-i', audio, '-map', '0:v', '-map', '1:a', '-c', 'copy', delayed]);
}, 60_000);

afterAll(async () => {
  if (dir) await removeTempDir(dir);
});

/** Mean luma (the Y plane's own levels) of each decoded frame of `path`, in display order. */
async function frameLevels(path: string): Promise<number[]> {
  const raw = await ffmpeg(['-i', path, '-f', 'rawvideo', '-pix_fmt', 'yuv420p', 'pipe:1']);
  const n = WIDTH * HEIGHT;
  const frameBytes = yuv420pBytes(WIDTH, HEIGHT);
  const levels: number[] = [];
  for (let off = 0; off + frameBytes <= raw.length; off += frameBytes) {
    let sum = 0;
    for (let i = off; i < off + n; i++) sum += raw[i] as number;
    levels.push(sum / n);
  }
  return levels;
}

/** Stabilizes `delayed` with `extra` options; checks each output frame shows the source frame due at its time. */
async function expectInStep(name: string, extra: readonly string[], startSec: number, input = delayed): Promise<{ times: number[]; audioStart: number; audioDuration: number }> {
  const out = join(dir, `${name}.mp4`);
  const r = await runCli(['stabilize', input, '-o', out, '--quiet', ...extra]);
  if (r.code !== 0) throw new Error(`steady stabilize exited ${r.code}: ${r.stderr}`);
  const times = await videoFrameTimes(out);
  const levels = await frameLevels(out);
  expect(levels.length).toBe(times.length);
  // The first frame at or after the start point is source frame `first`, due `offset` after the start
  // point (the audio's clock). An MP4 at a fixed rate keeps that offset in whole frame periods, rounded
  // down (the picture at most one period ahead of the sound, never a frame pushed past the end): frame
  // first + j plays at floor(offset * FPS) / FPS + j / FPS, and the first frame is held before that.
  const first = Math.max(0, Math.ceil((startSec - VIDEO_DELAY_SEC) * FPS - 1e-9));
  const offset = first / FPS + VIDEO_DELAY_SEC - startSec;
  const placed = Math.floor(offset * FPS + 1e-9) / FPS;
  const due = times.map((t) => first + Math.max(0, Math.round((t - placed) * FPS)));
  const expected = due.map((k) => LEVEL0 + LEVEL_STEP * k);
  const worst = Math.max(...levels.map((l, i) => Math.abs(l - (expected[i] as number))));
  expect(worst, `levels ${levels.map((l) => l.toFixed(0)).join(' ')} against ${expected.join(' ')}`).toBeLessThanOrEqual(LEVEL_TOL);
  const audio = (await listStreams(out)).find((s) => s.codec_type === 'audio') as { start_time?: string; duration?: string } | undefined;
  return { times, audioStart: Number(audio?.start_time), audioDuration: Number(audio?.duration) };
}

describe('steady stabilize keeps pictures and sound in step', () => {
  it('a video that starts 0.5 s after its audio still does so in the output', async () => {
    const r = await expectInStep('delayed-out', [], 0);
    expect(Math.abs(r.audioStart)).toBeLessThan(START_TOL_SEC);
    // The whole source plays: its last frame at 0.5 s + 1.9 s.
    expect(Math.abs((r.times[r.times.length - 1] as number) - (VIDEO_DELAY_SEC + (FRAMES - 1) / FPS))).toBeLessThan(START_TOL_SEC);
  });

  it('--start between two frames: the first frame comes after the start point as in the source, to the frame period', async () => {
    // From 0.62 s the first frame is the one at 0.7 s: 0.08 s in (less than a period at 10 fps: at 0).
    const r = await expectInStep('start-out', ['--start', '0.62'], 0.62);
    expect(Math.abs(r.audioStart)).toBeLessThan(START_TOL_SEC);
  });

  it('--start before the video starts: its first frame comes as much later as in the source (0.3 s: three periods)', async () => {
    // ffmpeg seeks the file by its video, so the copied sound itself starts near 0.5 s of the source (a
    // limit of ffmpeg's input seeking, checked here only for the pictures' place on the clock).
    await expectInStep('early-start-out', ['--start', '0.2'], 0.2);
  });

  it('--duration alone on a video that starts after its audio: the cut is the first seconds of the file, pictures and sound', async () => {
    // 1.2 s: the video's frames from 0.5 s to 1.1 s; ffmpeg's input -t would give 1.2 s of pictures from
    // 0.5 s, past the sound's end (this stopped the encoder mid-run).
    const r = await expectInStep('duration-only-out', ['--duration', '1.2'], 0);
    expect(Math.max(...r.times)).toBeLessThan(1.2);
    expect(Math.abs(r.audioDuration - 1.2)).toBeLessThan(START_TOL_SEC);
  });

  it('--duration alone on an MPEG-TS whose video starts after its sound (ffmpeg starts such a clock at the first video frame)', async () => {
    const ts = join(dir, 'delayed.ts');
    await ffmpeg(['-i', delayed, '-map', '0', '-c', 'copy', ts]);
    const r = await expectInStep('ts-duration-out', ['--duration', '1.2'], 0, ts);
    expect(Math.max(...r.times)).toBeLessThan(1.2);
  });

  it('--duration between frame periods keeps the frame its cut holds (1.23 s at 10 fps: the frame at 1.2 s)', async () => {
    const r = await expectInStep('duration-fraction-out', ['--duration', '1.23'], 0);
    expect(Math.abs(Math.max(...r.times) - 1.2)).toBeLessThan(START_TOL_SEC);
  });

  it('steady track cuts the same frames, so its motion file serves --transforms-in on the same cut', async () => {
    const motion = join(dir, 'track-cut.json');
    const t = await runCli(['track', delayed, '-o', motion, '--quiet', '--duration', '1.2']);
    if (t.code !== 0) throw new Error(`steady track exited ${t.code}: ${t.stderr}`);
    const s = await runCli(['stabilize', delayed, '-o', join(dir, 'from-track.mp4'), '--json', '--duration', '1.2', '--transforms-in', motion]);
    expect(s.stderr).toBe('');
    expect(s.code).toBe(0);
    // From 0.5 s to 1.1 s: seven frames.
    expect((JSON.parse(s.stdout.trim()) as { frames: number }).frames).toBe(7);
  });

  it('--duration counts from the start point for the video as for the audio', async () => {
    // 1 s from 0.62 s: the frames from 0.7 s to 1.6 s, the audio's 1 s.
    const r = await expectInStep('duration-out', ['--start', '0.62', '--duration', '1'], 0.62);
    expect(Math.max(...r.times)).toBeLessThan(1);
    expect(Math.abs(r.audioDuration - 1)).toBeLessThan(START_TOL_SEC);
  });

  it('--start and --duration on an MPEG-TS file whose seek lands after the start point: the cut lasts --duration, in step', async () => {
    // 6 s at 10 fps, a keyframe every 2 s: ffmpeg's seek to 1.5 s may land on the 2 s keyframe, and its
    // input -t then counts from there (3.5 s of frames, 3.4 s of copied audio with the 2018 build).
    const levels = Array.from({ length: 60 }, (_, k) => solidYuvFrame(WIDTH, HEIGHT, LEVEL0 + TS_LEVEL_STEP * k, 128, 128));
    const video = await makeClipFromYuvFrames(join(dir, 'ts-video.mkv'), levels, { width: WIDTH, height: HEIGHT, fps: FPS });
    const ts = join(dir, 'gop.ts');
    await ffmpeg(['-i', video, '-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=44100:duration=6', '-c:v', 'libx264', '-g', '20', '-preset', 'ultrafast', '-qp', '0', '-c:a', 'aac', '-shortest', ts]);
    const out = join(dir, 'ts-out.mp4');
    const r = await runCli(['stabilize', ts, '-o', out, '--quiet', '--start', '1.5', '--duration', '2']);
    if (r.code !== 0) throw new Error(`steady stabilize exited ${r.code}: ${r.stderr}`);
    const times = await videoFrameTimes(out);
    const got = await frameLevels(out);
    expect(Math.max(...times)).toBeLessThan(2);
    // Each frame shows the source frame due at 1.5 s + t, or a later one where the seek landed later
    // (held until then): never an earlier one, never one off the clock once the frames start.
    const due = times.map((t) => Math.round((1.5 + t) * FPS));
    const shown = got.map((l) => Math.round((l - LEVEL0) / TS_LEVEL_STEP));
    const firstShown = shown[0] as number;
    for (let i = 0; i < times.length; i++) {
      const expected = Math.max(firstShown, due[i] as number);
      expect(Math.abs((got[i] as number) - (LEVEL0 + TS_LEVEL_STEP * expected)), `frame ${i} at ${times[i]} s`).toBeLessThanOrEqual(LEVEL_TOL);
    }
    expect(firstShown).toBeGreaterThanOrEqual(15);
    const audio = (await listStreams(out)).find((s) => s.codec_type === 'audio');
    expect(Math.abs(Number(audio?.duration) - 2)).toBeLessThan(START_TOL_SEC);
  });
});
