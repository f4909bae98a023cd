/**
 * `steady stabilize` on a variable-frame-rate clip (frames 0-9 and 25-49 of a 25 fps source, so a 0.64 s
 * gap): with ffmpeg 5.1 or later every output frame keeps its input time (as ffprobe reads the input's
 * frames; the bundled 2018 ffmpeg that makes the clip shifts them a little from keep[j] / 25 s), in the
 * output, the side-by-side and the motion file; with an older ffmpeg the output's frames are evenly
 * spaced and a note says so, and the motion file still has each frame's time (so has `steady track`'s).
 *
 * The run with a modern ffmpeg uses FFMPEG_PATH / FFPROBE_PATH when they name one, else Debian's
 * /usr/bin/ffmpeg (.ci/run installs it). With CI=true a missing one fails; elsewhere that test is skipped
 * with the reason printed.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseMotionFile } from '../../src/track/motion-file.js';
import { ffmpegFeatures, resolveFfmpeg } from '../../src/video/binaries.js';
import { probeVideo } from '../../src/video/probe.js';
import { OLD_FFMPEG_VFR_NOTE } from '../../src/video/vfr.js';
import { runCli } from '../support/cli.js';
import { ffmpeg as ffmpegRun, ffprobeJson, listStreams, makeTempDir, makeVfrClip, removeTempDir, videoFrameTimes } from '../support/ffmpeg-fixtures.js';

/** The output keeps the input's time base, so its times are the input's to ffprobe's 6 decimals. */
const TIME_TOL_SEC = 1e-6;

/** An ffmpeg 5.1+ with its ffprobe: FFMPEG_PATH / FFPROBE_PATH, else Debian's; null when there is none. */
function modernFfmpeg(): { ffmpeg: string; ffprobe: string } | null {
  const pairs = [
    { ffmpeg: process.env.FFMPEG_PATH, ffprobe: process.env.FFPROBE_PATH },
    { ffmpeg: '/usr/bin/ffmpeg', ffprobe: '/usr/bin/ffprobe' },
  ];
  for (const p of pairs) {
    if (p.ffmpeg && p.ffprobe && existsSync(p.ffmpeg) && existsSync(p.ffprobe) && ffmpegFeatures(p.ffmpeg).fpsMode) return { ffmpeg: p.ffmpeg, ffprobe: p.ffprobe };
  }
  return null;
}

const modern = modernFfmpeg();
if (modern === null) {
  if (process.env.CI === 'true') throw new Error('no ffmpeg 5.1 or later for the variable-frame-rate test: install Debian ffmpeg or set FFMPEG_PATH / FFPROBE_PATH');
  console.warn('skipping the variable-frame-rate run with a modern ffmpeg: none found (set FFMPEG_PATH / FFPROBE_PATH)');
}

let dir = '';
let clip: { path: string; timesSec: number[] } = { path: '', timesSec: [] };
/** The input's frame times as ffprobe reads them. */
let inputTimes: number[] = [];
beforeAll(async () => {
  dir = await makeTempDir('steady-vfr-');
  clip = await makeVfrClip(join(dir, 'vfr.mp4'), { audio: true });
  inputTimes = await videoFrameTimes(clip.path);
  // The premise: every frame is there, and the gap of 15 frames is (0.64 s between two frames).
  expect(inputTimes.length).toBe(clip.timesSec.length);
  expect(Math.max(...inputTimes.slice(1).map((t, k) => t - (inputTimes[k] as number)))).toBeGreaterThan(0.6);
});
afterAll(async () => {
  await removeTempDir(dir);
});

/** Stabilizes the clip with the given ffmpeg; returns the summary, the output's and the side-by-side's frame times, and the motion file's. */
async function stabilize(name: string, env: NodeJS.ProcessEnv) {
  const out = join(dir, `${name}.mp4`);
  const side = join(dir, `${name}-side.mp4`);
  const transforms = join(dir, `${name}.json`);
  const r = await runCli(['stabilize', clip.path, '-o', out, '--compare', side, '--transforms', transforms, '--json'], { env });
  if (r.code !== 0) throw new Error(`steady stabilize exited ${r.code}: ${r.stderr}`);
  const summary = JSON.parse(r.stdout.trim()) as { frames: number; audio: string; notes: string[] };
  const motion = parseMotionFile(await readFile(transforms, 'utf8'));
  return { summary, out: await videoFrameTimes(out), side: await videoFrameTimes(side), motion: motion.frames.map((f) => f.timeSec), streams: await listStreams(out) };
}

/**
 * A fixed rate (every step the same, within the output's 1 ms ticks) over the input's span (from its first
 * frame to its last, within two steps): frames repeated or dropped, each in step with the audio.
 */
function expectFixedRate(got: number[], truth: number[]): void {
  const steps = got.slice(1).map((t, k) => t - (got[k] as number));
  const step = steps.reduce((a, b) => a + b, 0) / steps.length;
  expect(Math.max(...steps.map((d) => Math.abs(d - step)))).toBeLessThan(1.5e-3);
  expect(Math.abs((got[0] as number) - (truth[0] as number))).toBeLessThan(1.5e-3);
  // (The last input frame lasts one step: the fixed rate may give it a second frame.)
  expect(Math.abs((got[got.length - 1] as number) - (truth[truth.length - 1] as number))).toBeLessThan(2 * step + 1.5e-3);
  // More frames than the input's: the gap (a quarter of the span and more) is filled.
  expect(got.length).toBeGreaterThan(truth.length);
}

function expectTimes(got: number[], truth: number[]): void {
  expect(got.length).toBe(truth.length);
  for (let k = 0; k < truth.length; k++) expect(Math.abs((got[k] as number) - (truth[k] as number))).toBeLessThan(TIME_TOL_SEC);
}

describe('steady stabilize on a variable-frame-rate clip', () => {
  it.skipIf(modern === null)('with ffmpeg 5.1+, every frame keeps its time in the output, the side-by-side and the motion file; audio is kept', async () => {
    const m = modern as { ffmpeg: string; ffprobe: string };
    const r = await stabilize('modern', { FFMPEG_PATH: m.ffmpeg, FFPROBE_PATH: m.ffprobe });
    expect(r.summary.frames).toBe(clip.timesSec.length);
    expect(r.summary.notes).not.toContain(OLD_FFMPEG_VFR_NOTE);
    expect(r.summary.audio).toBe('copied');
    expect(r.streams.map((s) => s.codec_type).sort()).toEqual(['audio', 'video']);
    expectTimes(r.out, inputTimes);
    expectTimes(r.side, inputTimes);
    // The motion file counts from the first frame.
    expectTimes(r.motion, inputTimes.map((t) => t - (inputTimes[0] as number)));
  });

  it('with the ffmpeg steady finds by itself: its own times (5.1+), or the nominal rate with the gap filled and a note (older)', async () => {
    const r = await stabilize('default', {});
    expect(r.summary.frames).toBe(clip.timesSec.length);
    expectTimes(r.motion, inputTimes.map((t) => t - (inputTimes[0] as number)));
    if (ffmpegFeatures(resolveFfmpeg().path).fpsMode) {
      expect(r.summary.notes).not.toContain(OLD_FFMPEG_VFR_NOTE);
      expectTimes(r.out, inputTimes);
    } else {
      expect(r.summary.notes).toContain(OLD_FFMPEG_VFR_NOTE);
      // A fixed rate from the first frame to the last, frames repeated or dropped: every frame stays in
      // step with its time (and the audio).
      expectFixedRate(r.out, inputTimes);
    }
  });

  it('steady track writes each frame\'s own time into the motion file (any ffmpeg)', async () => {
    const out = join(dir, 'track.json');
    const r = await runCli(['track', clip.path, '-o', out, '--quiet']);
    if (r.code !== 0) throw new Error(`steady track exited ${r.code}: ${r.stderr}`);
    expectTimes(
      parseMotionFile(await readFile(out, 'utf8')).frames.map((f) => f.timeSec),
      inputTimes.map((t) => t - (inputTimes[0] as number)),
    );
  });

  it.skipIf(modern === null)('with ffmpeg 5.1+, steady track --overlay keeps each frame\'s time in the overlay video', async () => {
    const m = modern as { ffmpeg: string; ffprobe: string };
    const overlay = join(dir, 'overlay.mp4');
    const r = await runCli(['track', clip.path, '-o', join(dir, 'track-overlay.json'), '--overlay', overlay, '--quiet'], { env: { FFMPEG_PATH: m.ffmpeg, FFPROBE_PATH: m.ffprobe } });
    if (r.code !== 0) throw new Error(`steady track exited ${r.code}: ${r.stderr}`);
    expectTimes(await videoFrameTimes(overlay), inputTimes);
  });

  it('a Matroska clip, which reports one rate for both of ffprobe\'s rates, keeps its gap too (5.1+), or gets the note (older)', async () => {
    const mkv = await makeVfrClip(join(dir, 'vfr.mkv'));
    const mkvTimes = await videoFrameTimes(mkv.path);
    // The premise: ffprobe sees nothing variable in it.
    const probe = await probeVideo(mkv.path);
    expect(probe.variableFrameRate).toBe(false);
    const runWith = async (name: string, env: NodeJS.ProcessEnv) => {
      const out = join(dir, `${name}.mp4`);
      const r = await runCli(['stabilize', mkv.path, '-o', out, '--json'], { env });
      if (r.code !== 0) throw new Error(`steady stabilize exited ${r.code}: ${r.stderr}`);
      return { summary: JSON.parse(r.stdout.trim()) as { frames: number; notes: string[] }, times: await videoFrameTimes(out) };
    };
    if (modern !== null) {
      const r = await runWith('mkv-modern', { FFMPEG_PATH: modern.ffmpeg, FFPROBE_PATH: modern.ffprobe });
      expect(r.summary.notes).not.toContain(OLD_FFMPEG_VFR_NOTE);
      expectTimes(r.times, mkvTimes);
    }
    if (!ffmpegFeatures(resolveFfmpeg().path).fpsMode) {
      const r = await runWith('mkv-old', {});
      expect(r.summary.notes).toContain(OLD_FFMPEG_VFR_NOTE);
      expectFixedRate(r.times, mkvTimes);
    }
  });

  it.skipIf(modern === null)('with ffmpeg 5.1+, an output with a fixed rate (.avi) keeps the clip\'s length: frames repeated in the gap, and a note that says so', async () => {
    const m = modern as { ffmpeg: string; ffprobe: string };
    const mkv = await makeVfrClip(join(dir, 'vfr-even.mkv'));
    const out = join(dir, 'main.mp4');
    const side = join(dir, 'side.avi');
    const r = await runCli(['stabilize', mkv.path, '-o', out, '--compare', side, '--json'], { env: { FFMPEG_PATH: m.ffmpeg, FFPROBE_PATH: m.ffprobe } });
    if (r.code !== 0) throw new Error(`steady stabilize exited ${r.code}: ${r.stderr}`);
    const summary = JSON.parse(r.stdout.trim()) as { frames: number; notes: string[] };
    expect(summary.frames).toBe(mkv.timesSec.length);
    expect(summary.notes.join('\n')).toContain(`${JSON.stringify(side)} holds a fixed rate`);
    // The main output keeps each frame's own time.
    expectTimes(await videoFrameTimes(out), await videoFrameTimes(mkv.path));
    // The AVI: 25 fps from the first frame to the last (frames 0-49 of the source's clock, the gap filled),
    // one frame period apart; ffprobe gives an AVI's last B-frames no time.
    const last = mkv.timesSec[mkv.timesSec.length - 1] as number;
    const json = (await ffprobeJson(['-select_streams', 'v:0', '-show_entries', 'frame=best_effort_timestamp_time', side])) as { frames: { best_effort_timestamp_time: string }[] };
    const times = json.frames.map((f) => Number(f.best_effort_timestamp_time));
    expect(times.length).toBe(Math.round(last * 25) + 1);
    const known = times.filter((t) => Number.isFinite(t));
    expect(known.length).toBeGreaterThan(times.length - 3);
    const steps = known.slice(1).map((t, k) => t - (known[k] as number));
    expect(Math.max(...steps.map((d) => Math.abs(d - 0.04)))).toBeLessThan(2e-3);
  });

  it('a clip at 30 fps, then 15 fps (r_frame_rate 30, average 22.5): no frame of the 30 fps part is lost, with the ffmpeg steady finds by itself', async () => {
    const src = join(dir, 'thirty-fifteen.mp4');
    // 3 s at 30 fps, then every other frame for 3 s (bundled-ffmpeg MP4 settings as makeVfrClip's).
    await ffmpegRun(['-f', 'lavfi', '-i', 'testsrc=size=96x64:rate=30:duration=6', '-vf', "select='lt(t\\,3)+not(mod(n\\,2))'", '-vsync', 'vfr', '-c:v', 'libx264', '-preset', 'veryfast', '-bf', '0', '-use_editlist', '0', src]);
    const inTimes = await videoFrameTimes(src);
    expect(inTimes.filter((t) => t < 3 - 1e-6).length).toBe(90);
    const out = join(dir, 'thirty-fifteen-out.mp4');
    const r = await runCli(['stabilize', src, '-o', out, '--quiet']);
    if (r.code !== 0) throw new Error(`steady stabilize exited ${r.code}: ${r.stderr}`);
    const outTimes = await videoFrameTimes(out);
    // Each of the 90 frames of the first 3 s still has a slot of its own there (own times, or 30 fps).
    const first = outTimes[0] as number;
    expect(outTimes.filter((t) => t - first < 3 - 1e-6).length).toBe(90);
  });

  it.skipIf(modern === null)('with ffmpeg 5.1+, a constant 29.97 fps Matroska clip (1 ms times) comes out at exactly 30000/1001', async () => {
    const m = modern as { ffmpeg: string; ffprobe: string };
    const src = join(dir, 'ntsc.mkv');
    await ffmpegRun(['-f', 'lavfi', '-i', 'testsrc2=size=96x64:rate=30000/1001', '-frames:v', '30', '-c:v', 'libx264', '-preset', 'veryfast', src]);
    const out = join(dir, 'ntsc.mp4');
    const r = await runCli(['stabilize', src, '-o', out, '--quiet'], { env: { FFMPEG_PATH: m.ffmpeg, FFPROBE_PATH: m.ffprobe } });
    if (r.code !== 0) throw new Error(`steady stabilize exited ${r.code}: ${r.stderr}`);
    expectTimes(await videoFrameTimes(out), Array.from({ length: 30 }, (_, k) => (k * 1001) / 30000));
    const outProbe = await probeVideo(out);
    expect(outProbe.avgFrameRate).toBe('30000/1001');
  });

  it.skipIf(modern === null)('with ffmpeg 5.1+ and --start inside the gap, the first frame stays where it was against the audio', async () => {
    const m = modern as { ffmpeg: string; ffprobe: string };
    // The gap runs from 0.36 s to 1.0 s (construction): from 0.5 s the first frame kept is 0.5 s later.
    const start = 0.5;
    const out = join(dir, 'from-gap.mp4');
    const r = await runCli(['stabilize', clip.path, '-o', out, '--start', String(start), '--quiet'], { env: { FFMPEG_PATH: m.ffmpeg, FFPROBE_PATH: m.ffprobe } });
    if (r.code !== 0) throw new Error(`steady stabilize exited ${r.code}: ${r.stderr}`);
    // The offset goes through ffmpeg's -itsoffset (microseconds) and the MP4 edit list (the movie's 1/1000 s
    // timescale): within a millisecond; the spacing stays exact.
    const OFFSET_TOL_SEC = 1e-3;
    const truth = inputTimes.filter((t) => t >= start).map((t) => t - start);
    const got = await videoFrameTimes(out);
    expect(got.length).toBe(truth.length);
    expect(Math.abs((got[0] as number) - (truth[0] as number))).toBeLessThan(OFFSET_TOL_SEC);
    expect((truth[0] as number) > 0.6).toBe(true);
    expectTimes(
      got.map((t) => t - (got[0] as number)),
      truth.map((t) => t - (truth[0] as number)),
    );
  });
});
