/**
 * Every output extension steady accepts gets a file ffmpeg reads back: the video encoder each container
 * takes, every frame there with its content, and the input's AAC audio copied, re-encoded to what the
 * container holds, or left out (with a note) where the format holds one video stream only.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDecoder } from '../../src/video/decoder.js';
import { openEncoder, VIDEO_OUTPUT_EXTENSIONS } from '../../src/video/encoder.js';
import { probeVideo } from '../../src/video/probe.js';
import { ffmpeg, ffprobeJson, listStreams, makeClip, makeTempDir, removeTempDir, solidYuvFrame } from '../support/ffmpeg-fixtures.js';

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
