/**
 * An input's subtitle streams go into the output where its container holds them: as they are in Matroska,
 * as mov_text in MP4 (said in a note); a container with no subtitles gets a note instead. Ground truth: the
 * cue written into the input (its text and times), read back from the output.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { subtitlePlan } from '../../src/video/encoder.js';
import { runCli } from '../support/cli.js';
import { ffmpeg, ffprobeJson, listStreams, makeClip, makeTempDir, removeTempDir } from '../support/ffmpeg-fixtures.js';

/** The cue of the input: from 0.3 s to 0.8 s. */
const CUE = { text: 'hello', start: '00:00:00,300', end: '00:00:00,800' };
const CUE_START_SEC = 0.3;
const CUE_END_SEC = 0.8;
/** SRT times are whole milliseconds, and Matroska's clock ticks in them. */
const TOL_CUE_SEC = 0.002;

let dir = '';
let plain = '';
let withSubs = '';
beforeAll(async () => {
  dir = await makeTempDir('steady-subtitles-');
  plain = await makeClip(join(dir, 'plain.mkv'), { width: 96, height: 64, frames: 10, fps: 10, source: 'testsrc2', audio: true });
  const srt = join(dir, 'subs.srt');
  await writeFile(srt, `1\n${CUE.start} --> ${CUE.end}\n${CUE.text}\n`);
  withSubs = join(dir, 'subs.mkv');
  await ffmpeg(['-i', plain, '-i', srt, '-map', '0', '-map', '1', '-c', 'copy', withSubs]);
}, 60_000);
afterAll(async () => {
  if (dir) await removeTempDir(dir);
});

async function stabilize(input: string, out: string): Promise<{ path: string; notes: string[] }> {
  const path = join(dir, out);
  const r = await runCli(['stabilize', input, '-o', path, '--json']);
  if (r.code !== 0) throw new Error(`steady stabilize exited ${r.code}: ${r.stderr}`);
  return { path, notes: (JSON.parse(r.stdout.trim()) as { notes: string[] }).notes };
}

/** The output's subtitles as SRT text (ffmpeg converts whatever it holds). */
async function subtitlesOf(path: string): Promise<string> {
  return (await ffmpeg(['-i', path, '-map', '0:s:0', '-f', 'srt', 'pipe:1'])).toString('utf8');
}

describe('steady stabilize and subtitles', () => {
  it('Matroska keeps the subtitle stream as it is, cue text and times unchanged, without a note', async () => {
    expect((await listStreams(withSubs)).filter((s) => s.codec_type === 'subtitle').length).toBe(1);
    const { path, notes } = await stabilize(withSubs, 'with.mkv');
    const subs = (await listStreams(path)).filter((s) => s.codec_type === 'subtitle');
    expect(subs.map((s) => s.codec_name)).toEqual(['subrip']);
    const srt = await subtitlesOf(path);
    expect(srt).toContain(`${CUE.start} --> ${CUE.end}`);
    expect(srt).toContain(CUE.text);
    expect(notes.join('\n')).not.toMatch(/subtitle/);
  });

  it('MP4 gets them as mov_text, with the same cue, and a note says they were converted', async () => {
    const { path, notes } = await stabilize(withSubs, 'with.mp4');
    expect((await listStreams(path)).filter((s) => s.codec_type === 'subtitle').map((s) => s.codec_name)).toEqual(['mov_text']);
    const srt = await subtitlesOf(path);
    expect(srt).toContain(`${CUE.start} --> ${CUE.end}`);
    expect(srt).toContain(CUE.text);
    expect(notes.join('\n')).toMatch(/subtitles converted from subrip to mov_text/);
  });

  it('a container with no subtitles (AVI): none written, and a note says so; an input without any: no note', async () => {
    const { path, notes } = await stabilize(withSubs, 'with.avi');
    expect((await listStreams(path)).filter((s) => s.codec_type === 'subtitle').length).toBe(0);
    expect(notes.join('\n')).toMatch(/subtitles not kept: a \.avi file holds no subtitles/);
    expect((await stabilize(plain, 'without.mkv')).notes.join('\n')).not.toMatch(/subtitle/);
  });

  it('from standard input (not kept in a file): none, and a note says why', async () => {
    const r = await runCli(['stabilize', '-', '-o', join(dir, 'piped.mkv'), '--json'], { input: await readFile(withSubs) });
    expect(r.code, r.stderr).toBe(0);
    expect((await listStreams(join(dir, 'piped.mkv'))).filter((s) => s.codec_type === 'subtitle').length).toBe(0);
    expect((JSON.parse(r.stdout.trim()) as { notes: string[] }).notes.join('\n')).toMatch(/subtitles not kept: standard input cannot be read a second time for its subtitle stream/);
  });

  it('mov_text from an MP4 into Matroska: converted to SubRip (Matroska holds no mov_text), the cue in its place against the sound', async () => {
    const { path: mp4 } = await stabilize(withSubs, 'for-mkv.mp4');
    const { path, notes } = await stabilize(mp4, 'from-mp4.mkv');
    expect((await listStreams(path)).filter((s) => s.codec_type === 'subtitle').map((s) => s.codec_name)).toEqual(['subrip']);
    // The cue keeps its place against the sound (the clock the output follows; the bundled 2018 ffmpeg
    // moves a copied AAC track's priming, and the cue moves with it).
    const cueAgainstSound = async (file: string): Promise<{ start: number; end: number }> => {
      const srt = await subtitlesOf(file);
      const m = /(\d\d):(\d\d):(\d\d),(\d\d\d) --> (\d\d):(\d\d):(\d\d),(\d\d\d)/.exec(srt);
      if (m === null) throw new Error(`no cue in ${srt}`);
      const sec = (i: number) => Number(m[i]) * 3600 + Number(m[i + 1]) * 60 + Number(m[i + 2]) + Number(m[i + 3]) / 1000;
      const packets = ((await ffprobeJson(['-select_streams', 'a:0', '-show_entries', 'packet=pts_time', '-read_intervals', '%+#1', file])) as { packets?: { pts_time: string }[] }).packets ?? [];
      const sound = Number(packets[0]?.pts_time ?? Number.NaN);
      return { start: sec(1) - sound, end: sec(5) - sound };
    };
    const before = await cueAgainstSound(mp4);
    const after = await cueAgainstSound(path);
    expect(Math.abs(after.start - before.start)).toBeLessThanOrEqual(TOL_CUE_SEC);
    expect(Math.abs(after.end - after.start - (CUE_END_SEC - CUE_START_SEC))).toBeLessThanOrEqual(TOL_CUE_SEC);
    expect(await subtitlesOf(path)).toContain(CUE.text);
    expect(notes.join('\n')).toMatch(/subtitles converted from mov_text to SubRip/);
  });

  it('subtitlePlan: pictures only into Matroska, text into WebM as WebVTT, closed captions nowhere, a mix one codec cannot serve left out', () => {
    expect(subtitlePlan('mp4', ['dvd_subtitle'], 'mp4')).toEqual({ codec: null, note: expect.stringMatching(/dvd_subtitle subtitles do not go into a \.mp4 file/) });
    expect(subtitlePlan('matroska', ['hdmv_pgs_subtitle', 'subrip'], 'mkv')).toEqual({ codec: 'copy', note: null });
    expect(subtitlePlan('webm', ['subrip'], 'webm')).toEqual({ codec: 'webvtt', note: 'subtitles converted from subrip to WebVTT' });
    expect(subtitlePlan('mp4', ['mov_text'], 'mp4')).toEqual({ codec: 'mov_text', note: null });
    expect(subtitlePlan('matroska', ['eia_608'], 'mkv').codec).toBeNull();
    expect(subtitlePlan('matroska', ['mov_text', 'dvd_subtitle'], 'mkv')).toEqual({ codec: null, note: expect.stringMatching(/mov_text, dvd_subtitle subtitles do not go into a \.mkv file together/) });
    expect(subtitlePlan('mp4', [], 'mp4')).toEqual({ codec: null, note: null });
  });
});
