/**
 * Every output extension steady accepts gets a file ffmpeg reads back: the video encoder each container
 * takes, every frame there with its content, and the input's AAC audio copied, re-encoded to what the
 * container holds, or left out (with a note) where the format holds one video stream only.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegFeatures, resolveFfmpeg } from '../../src/video/binaries.js';
import { openDecoder } from '../../src/video/decoder.js';
import { openEncoder, VIDEO_OUTPUT_EXTENSIONS } from '../../src/video/encoder.js';
import { probeVideo } from '../../src/video/probe.js';
import { ffmpeg, ffprobeJson, listStreams, makeClip, makeTempDir, removeTempDir, solidYuvFrame, videoFrameTimes } from '../support/ffmpeg-fixtures.js';

/**
 * Mean luma of a solid frame read back: lossy encoders keep a flat frame to within a level or two; a GIF
 * maps it to the nearest of its 256 palette colours (gray levels 16 apart at worst) and back to YUV.
 */
const TOL_LEVELS = 3;
const TOL_LEVELS_GIF = 8;

/** What each extension must give: the video codec ffprobe names, and the audio (null: none). */
const EXPECTED: Readonly<Record<string, { video: string; audio: string | null }>> = {
  mp4: { video: 'h264', audio: 'aac' },
  m4v: { video: 'h264', audio: 'aac' },
  ismv: { video: 'h264', audio: 'aac' },
  mov: { video: 'h264', audio: 'aac' },
  qt: { video: 'h264', audio: 'aac' },
  mkv: { video: 'h264', audio: 'aac' },
  mka: { video: 'h264', audio: 'aac' },
  webm: { video: 'vp9', audio: 'opus' },
  ts: { video: 'h264', audio: 'aac' },
  mts: { video: 'h264', audio: 'aac' },
  m2ts: { video: 'h264', audio: 'aac' },
  avi: { video: 'h264', audio: 'mp3' },
  nut: { video: 'h264', audio: 'aac' },
  flv: { video: 'h264', audio: 'aac' },
  ogv: { video: 'theora', audio: 'vorbis' },
  ogg: { video: 'theora', audio: 'vorbis' },
  '3gp': { video: 'h264', audio: 'aac' },
  '3g2': { video: 'h264', audio: 'aac' },
  mpg: { video: 'mpeg2video', audio: 'mp2' },
  mpeg: { video: 'mpeg2video', audio: 'mp2' },
  vob: { video: 'mpeg2video', audio: 'mp2' },
  wmv: { video: 'h264', audio: 'wmav2' },
  asf: { video: 'h264', audio: 'wmav2' },
  y4m: { video: 'rawvideo', audio: null },
  gif: { video: 'gif', audio: null },
  h264: { video: 'h264', audio: null },
  '264': { video: 'h264', audio: null },
  hevc: { video: 'hevc', audio: null },
  h265: { video: 'hevc', audio: null },
  ivf: { video: 'vp9', audio: null },
};

const W = 64;
const H = 48;
const LEVELS = [40, 90, 140, 190, 235];
let dir = '';
let withAudio = '';
beforeAll(async () => {
  dir = await makeTempDir('steady-containers-');
  withAudio = await makeClip(join(dir, 'src.mp4'), { width: W, height: H, frames: 5, fps: 10, audio: { codec: 'aac', sampleRate: 48000 } });
});
afterAll(async () => {
  await removeTempDir(dir);
});

describe('openEncoder: every accepted extension', () => {
  it('the table covers exactly the accepted extensions', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual([...VIDEO_OUTPUT_EXTENSIONS].sort());
  });

  it('constantRate: frames with their own times go out at the fixed rate, repeated in a gap; without it (ffmpeg 5.1+) at their times', async () => {
    /** Output times are in 1 ms ticks here (the time base given), ffprobe prints 6 decimals. */
    const TOL_SEC = 1e-3;
    // Frames 0-4 at 0.1 s steps, then a 0.5 s gap: frames 5-9 from 1.0 s.
    const times = [0, 0.1, 0.2, 0.3, 0.4, 1.0, 1.1, 1.2, 1.3, 1.4];
    const write = async (name: string, constantRate: boolean) => {
      const out = join(dir, name);
      const enc = await openEncoder(out, { width: W, height: H, fps: 10, timeBase: '1/1000', constantRate });
      for (const [k, t] of times.entries()) await enc.write(solidYuvFrame(W, H, 40 + 10 * k, 128, 128), t);
      await enc.finish();
      return videoFrameTimes(out);
    };
    const fixed = await write('constant.mp4', true);
    // 10 fps from 0 to 1.4 s: 15 frames (the gap's 0.5 s filled with 5 repeats).
    expect(fixed.length).toBe(15);
    for (let k = 0; k < fixed.length; k++) expect(Math.abs((fixed[k] as number) - k / 10)).toBeLessThan(TOL_SEC);
    if (ffmpegFeatures(resolveFfmpeg().path).fpsMode) {
      const own = await write('own.mp4', false);
      expect(own.length).toBe(times.length);
      for (let k = 0; k < own.length; k++) expect(Math.abs((own[k] as number) - (times[k] as number))).toBeLessThan(TOL_SEC);
    }
  });

  it('.wmv takes 5.1 audio at 96 kHz: WMA, which holds at most stereo at 48 kHz, gets that', async () => {
    const src = join(dir, 'surround.mov');
    await ffmpeg(['-f', 'lavfi', '-i', `testsrc=size=${W}x${H}:rate=10`, '-f', 'lavfi', '-i', 'sine=sample_rate=96000', '-ac', '6', '-frames:v', '5', '-t', '0.5', '-c:v', 'libx264', '-c:a', 'pcm_s24le', src]);
    const out = join(dir, 'surround.wmv');
    const enc = await openEncoder(out, { width: W, height: H, fps: 10, audioFrom: src });
    for (const y of LEVELS) await enc.write(solidYuvFrame(W, H, y, 128, 128));
    await enc.finish();
    const audio = (await ffprobeJson(['-show_streams', '-select_streams', 'a', out])) as { streams: { codec_name: string; channels: number; sample_rate: string }[] };
    expect(audio.streams.map((a) => [a.codec_name, a.channels, a.sample_rate])).toEqual([['wmav2', 2, '48000']]);
  });

  for (const ext of VIDEO_OUTPUT_EXTENSIONS) {
    it(`.${ext}: ${EXPECTED[ext]?.video} video, every frame, audio ${EXPECTED[ext]?.audio ?? 'left out with a note'}`, async () => {
      const want = EXPECTED[ext] as { video: string; audio: string | null };
      const out = join(dir, `out.${ext}`);
      const enc = await openEncoder(out, { width: W, height: H, fps: 10, audioFrom: withAudio });
      for (const y of LEVELS) await enc.write(solidYuvFrame(W, H, y, 128, 128));
      const result = await enc.finish();
      const streams = await listStreams(out);
      expect(streams.filter((s) => s.codec_type === 'video').map((s) => s.codec_name)).toEqual([want.video]);
      expect(streams.filter((s) => s.codec_type === 'audio').map((s) => s.codec_name)).toEqual(want.audio === null ? [] : [want.audio]);
      if (want.audio === null) expect(result.notes.join('\n')).toMatch(/audio not kept: a \.\S+ file holds one video stream only/);
      // Every frame, with its level.
      const probe = await probeVideo(out);
      const got: number[] = [];
      for await (const f of await openDecoder(out, { probe })) {
        let sum = 0;
        for (const v of f.y) sum += v;
        got.push(sum / f.y.length);
      }
      expect(got.length).toBe(LEVELS.length);
      const tol = ext === 'gif' ? TOL_LEVELS_GIF : TOL_LEVELS;
      for (let k = 0; k < LEVELS.length; k++) expect(Math.abs((got[k] as number) - (LEVELS[k] as number))).toBeLessThan(tol);
    });
  }
});
