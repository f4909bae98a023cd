import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError, RuntimeError } from '../../src/errors.js';
import { openDecoder } from '../../src/video/decoder.js';
import { canCopyAudio, containerOf, openEncoder } from '../../src/video/encoder.js';
import { probeVideo } from '../../src/video/probe.js';
import { liveChildCount } from '../../src/video/process-registry.js';
import { countFrames, listStreams, makeClip, makeTempDir, removeTempDir, solidYuvFrame, videoFrameTimes } from '../support/ffmpeg-fixtures.js';

const TOL_SEC = 0.05;

let dir = '';
let withAudio = '';
beforeAll(async () => {
  dir = await makeTempDir();
  withAudio = await makeClip(join(dir, 'src.mp4'), { width: 64, height: 48, frames: 10, fps: 10, audio: true });
});
afterAll(async () => {
  await removeTempDir(dir);
});

/** Decodes `input` and re-encodes every frame to `output`; returns the encode result. */
async function transcode(input: string, output: string, extra: Partial<Parameters<typeof openEncoder>[1]> = {}, decodeOptions = {}) {
  const dec = await openDecoder(input, decodeOptions);
  const enc = await openEncoder(output, { width: dec.width, height: dec.height, fps: dec.fpsRational, audioFrom: input, ...extra });
  for await (const f of dec) await enc.write(f);
  return enc.finish();
}

describe('openEncoder', () => {
  it('round trip keeps frame count, frame rate and audio (AAC copied into MP4)', async () => {
    const out = join(dir, 'out.mp4');
    const res = await transcode(withAudio, out);
    expect(res).toMatchObject({ frames: 10, audio: 'copied', notes: [] });
    expect(await countFrames(out)).toBe(10);
    const p = await probeVideo(out);
    expect([p.width, p.height, p.fpsRational, p.hasAudio, p.audioCodec]).toEqual([64, 48, '10/1', true, 'aac']);
    const audio = (await listStreams(out)).find((s) => s.codec_type === 'audio');
    expect(Math.abs(Number(audio?.duration) - 1)).toBeLessThan(TOL_SEC * 2);
  });

  it('cuts the audio like the decoder trim (audioStartSec / audioDurationSec)', async () => {
    const out = join(dir, 'trim.mp4');
    const res = await transcode(withAudio, out, { audioStartSec: 0.3, audioDurationSec: 0.5 }, { startSec: 0.3, durationSec: 0.5 });
    expect(res.frames).toBe(5);
    const streams = await listStreams(out);
    const audio = streams.find((s) => s.codec_type === 'audio');
    // AAC frames are 1024 samples (0.128 s at 8 kHz): the copied audio ends on a frame boundary.
    const TOL_AAC_SEC = 0.13;
    expect(Math.abs(Number(audio?.duration) - 0.5)).toBeLessThan(TOL_AAC_SEC);
    // The audio before the start point is not carried along as a hidden pre-roll (which ffprobe 5.1
    // and players count in the file's length): the packets hold the trim's 0.5 s, give or take a packet
    // at each end.
    const AAC_PACKET_SEC = 1024 / 8000;
    expect(Number(audio?.nb_frames) * AAC_PACKET_SEC).toBeLessThanOrEqual(0.5 + 2 * AAC_PACKET_SEC);
    expect(await countFrames(out)).toBe(5);
  });

  it('keeps an NTSC rate as the exact rational', async () => {
    const src = await makeClip(join(dir, 'ntsc.mkv'), { frames: 5, fps: '30000/1001' });
    const out = join(dir, 'ntsc-out.mp4');
    const res = await transcode(src, out);
    expect(res.audio).toBe('none');
    const video = (await listStreams(out)).find((s) => s.codec_type === 'video');
    expect(video?.avg_frame_rate).toBe('30000/1001');
    expect(await countFrames(out)).toBe(5);
  });

  it('re-encodes audio the container cannot hold (FLAC into MP4 -> AAC) and says so', async () => {
    const src = await makeClip(join(dir, 'flac.mkv'), { frames: 10, audio: { codec: 'flac' } });
    const out = join(dir, 'flac-out.mp4');
    const res = await transcode(src, out);
    expect(res.audio).toBe('reencoded');
    expect(res.notes.join(' ')).toMatch(/re-encoded from flac to AAC/);
    expect((await probeVideo(out)).audioCodec).toBe('aac');
  });

  it('carries the display rotation: a portrait clip decoded in stored orientation stays portrait', async () => {
    const src = await makeClip(join(dir, 'portrait.mp4'), { frames: 4, rotationDeg: 90 });
    const decodeOptions = { autorotate: false };
    const probe = await probeVideo(src);
    const out = join(dir, 'portrait-out.mp4');
    const res = await transcode(src, out, { rotationDeg: probe.rotationDeg }, decodeOptions);
    expect(res.rotationDeg).toBe(90);
    const p = await probeVideo(out);
    expect([p.rotationDeg, p.width, p.height, p.displayWidth, p.displayHeight]).toEqual([90, 64, 48, 48, 64]);
    expect(await countFrames(out)).toBe(4);
    // Only the final file is left: no temporary files from the encode and the remux.
    expect((await readdir(dir)).filter((n) => n.includes('portrait-out'))).toEqual(['portrait-out.mp4']);
  });

  it('turns the pictures upright where the container keeps no rotation (.mkv): exactly what ffmpeg\'s autorotate shows', async () => {
    for (const rotationDeg of [90, 180, 270] as const) {
      const src = await makeClip(join(dir, `turned-${rotationDeg}.mp4`), { frames: 3, rotationDeg });
      const probe = await probeVideo(src);
      expect(probe.rotationDeg).toBe(rotationDeg);
      const out = join(dir, `turned-${rotationDeg}.mkv`);
      // Lossless, so that the only change is the turn.
      const res = await transcode(src, out, { rotationDeg, codec: 'ffv1' }, { autorotate: false });
      expect(res.rotationDeg).toBe(0);
      expect(res.notes.join(' ')).toMatch(new RegExp(`display rotation ${rotationDeg} deg: the pictures are turned upright`));
      const p = await probeVideo(out);
      expect([p.rotationDeg, p.width, p.height]).toEqual([0, probe.displayWidth, probe.displayHeight]);
      // Ground truth: ffmpeg's own autorotate of the source (the decoder's default).
      const shown: Buffer[] = [];
      for await (const f of await openDecoder(src)) shown.push(Buffer.from(f.data));
      const written: Buffer[] = [];
      for await (const f of await openDecoder(out)) written.push(Buffer.from(f.data));
      expect(written.length).toBe(3);
      for (const [k, w] of written.entries()) expect(w.equals(shown[k] as Buffer), `${rotationDeg} deg, frame ${k}`).toBe(true);
    }
  });

  it('writes exactly the frames given (lossless FFV1), as contiguous buffers or separate planes', async () => {
    const out = join(dir, 'exact.mkv');
    const enc = await openEncoder(out, { width: 33, height: 17, fps: 25, codec: 'ffv1' });
    for (let k = 0; k < 6; k++) {
      const f = solidYuvFrame(33, 17, 30 + k, 90 + k, 200 - k);
      if (k % 2 === 0) await enc.write(f);
      else await enc.write({ y: f.subarray(0, 33 * 17), u: f.subarray(33 * 17, 33 * 17 + 17 * 9), v: f.subarray(33 * 17 + 17 * 9) });
    }
    await enc.finish();
    let k = 0;
    for await (const f of await openDecoder(out)) {
      expect(Buffer.from(f.data).equals(Buffer.from(solidYuvFrame(33, 17, 30 + k, 90 + k, 200 - k)))).toBe(true);
      k += 1;
    }
    expect(k).toBe(6);
  });

  it('timeBase: each frame is written at its own time (variable frame rate); a time that goes back moves after the last', async () => {
    /** Matroska keeps milliseconds: the output time base here, so times come back exactly. */
    const TIME_TOL_SEC = 1e-6;
    const out = join(dir, 'vfr-out.mkv');
    const enc = await openEncoder(out, { width: 32, height: 24, fps: 25, timeBase: '1/1000' });
    expect(enc.args).toContain('matroska');
    const given = [0, 0.04, 0.08, 1.0, 1.04, 1.04, 1.02, 2.5];
    // The duplicate and the step back are moved one tick (1 ms) after the time before them.
    const truth = [0, 0.04, 0.08, 1.0, 1.04, 1.041, 1.042, 2.5];
    for (let k = 0; k < given.length; k++) {
      const f = solidYuvFrame(32, 24, 20 + 20 * k, 128, 128);
      // As a frame with its own timeSec, or as bytes with the time given.
      if (k % 2 === 0) await enc.write(Object.assign({ data: f, y: f.subarray(0, 768), u: f.subarray(768, 960), v: f.subarray(960) }, { timeSec: given[k] as number }));
      else await enc.write(f, given[k] as number);
    }
    await enc.finish();
    const got = await videoFrameTimes(out);
    expect(got.length).toBe(truth.length);
    for (let k = 0; k < truth.length; k++) expect(Math.abs((got[k] as number) - (truth[k] as number))).toBeLessThan(TIME_TOL_SEC);
    // Without timeBase the same frames are evenly spaced at 1 / fps.
    const even = join(dir, 'even-out.mkv');
    const enc2 = await openEncoder(even, { width: 32, height: 24, fps: 25 });
    for (let k = 0; k < given.length; k++) await enc2.write(solidYuvFrame(32, 24, 20 + 20 * k, 128, 128), given[k] as number);
    await enc2.finish();
    expect((await videoFrameTimes(even)).map((t) => Math.round(t * 1000))).toEqual(given.map((_, k) => 40 * k));
  });

  it('timeOffsetSec: with timeBase, the first frame goes that late and the spacing stays', async () => {
    /** ffmpeg takes the offset in microseconds; Matroska keeps milliseconds. */
    const TIME_TOL_SEC = 1e-3;
    const out = join(dir, 'vfr-offset.mkv');
    const enc = await openEncoder(out, { width: 32, height: 24, fps: 25, timeBase: '1/1000', timeOffsetSec: 0.5 });
    const given = [0, 0.04, 0.5, 0.54];
    for (let k = 0; k < given.length; k++) await enc.write(solidYuvFrame(32, 24, 40 + 30 * k, 128, 128), given[k] as number);
    await enc.finish();
    const got = await videoFrameTimes(out);
    expect(got.length).toBe(given.length);
    for (let k = 0; k < given.length; k++) expect(Math.abs((got[k] as number) - 0.5 - (given[k] as number))).toBeLessThan(TIME_TOL_SEC);
  });

  it('timeBase: refuses a malformed time base, and a frame without a time', async () => {
    await expect(openEncoder(join(dir, 'bad-tb.mkv'), { width: 32, height: 24, fps: 25, timeBase: 'fast' })).rejects.toMatchObject({ code: 'E_BAD_OPTION' });
    const enc = await openEncoder(join(dir, 'no-time.mkv'), { width: 32, height: 24, fps: 25, timeBase: '1/1000' });
    await expect(enc.write(solidYuvFrame(32, 24, 50, 128, 128))).rejects.toThrow(RangeError);
    await enc.abort();
    expect(liveChildCount()).toBe(0);
  });

  it('crops odd sizes to even for libx264 and notes it', async () => {
    const out = join(dir, 'odd.mp4');
    const enc = await openEncoder(out, { width: 33, height: 17, fps: 10 });
    for (let k = 0; k < 3; k++) await enc.write(solidYuvFrame(33, 17, 128, 128, 128));
    const res = await enc.finish();
    expect(res.notes.join(' ')).toMatch(/32x16/);
    const p = await probeVideo(out);
    expect([p.width, p.height]).toEqual([32, 16]);
  });

  it('codec, preset and crf are judged against the encoder before any frame: unknown encoders, copy, unknown x264 presets and crf past x264\'s 51 are refused', async () => {
    for (const [name, o] of [
      ['no-such-codec', { codec: 'nosuchcodec' }],
      ['copy', { codec: 'copy' }],
      ['bad-preset', { preset: 'warp' }],
      ['crf-60', { crf: 60 }],
    ] as const) {
      await expect(openEncoder(join(dir, `${name}.mp4`), { width: 32, height: 24, fps: 10, ...o })).rejects.toMatchObject({ code: 'E_BAD_OPTION' });
    }
    expect(await readdir(dir).then((names) => names.filter((n) => /^(no-such-codec|copy|bad-preset|crf-60)/.test(n)))).toEqual([]);
    expect(liveChildCount()).toBe(0);
  });

  it('a crf or preset the encoder has no use for is said to be unused; with x264 both are used', async () => {
    const run = async (name: string, o: { codec?: string; crf?: number; preset?: string }) => {
      const enc = await openEncoder(join(dir, name), { width: 32, height: 24, fps: 10, ...o });
      for (let k = 0; k < 3; k++) await enc.write(solidYuvFrame(32, 24, 100, 128, 128));
      return (await enc.finish()).notes.join('\n');
    };
    const mpeg4 = await run('mpeg4b.mkv', { codec: 'mpeg4', crf: 5, preset: 'slow' });
    expect(mpeg4).toMatch(/crf 5 not used: mpeg4 has no constant rate factor/);
    expect(mpeg4).toMatch(/preset slow not used: mpeg4 has no presets/);
    expect(await run('x264.mp4', { crf: 30, preset: 'slow' })).not.toMatch(/not used/);
  });

  it('HEVC in MP4 is tagged hvc1 (what Apple players take), not ffmpeg\'s default hev1', async () => {
    const out = join(dir, 'hevc.mp4');
    const enc = await openEncoder(out, { width: 64, height: 48, fps: 10, codec: 'libx265' });
    for (let k = 0; k < 3; k++) await enc.write(solidYuvFrame(64, 48, 90 + k, 128, 128));
    await enc.finish();
    const v = (await listStreams(out)).find((s) => s.codec_type === 'video');
    expect([v?.codec_name, v?.codec_tag_string]).toEqual(['hevc', 'hvc1']);
  });

  it('writes to standard output ("-") as Matroska', async () => {
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (c: Buffer) => chunks.push(c));
    const enc = await openEncoder('-', { width: 32, height: 24, fps: 10, stdout: sink });
    for (let k = 0; k < 7; k++) await enc.write(solidYuvFrame(32, 24, 50 + k, 128, 128));
    await enc.finish();
    const file = join(dir, 'from-stdout.mkv');
    await writeFile(file, Buffer.concat(chunks));
    expect(await countFrames(file)).toBe(7);
  });

  it('to standard output, AAC from an MPEG-TS file is re-encoded and said so (Matroska needs its configuration up front); into a file it is copied', async () => {
    const ts = await makeClip(join(dir, 'cam.ts'), { width: 32, height: 24, frames: 10, fps: 10, codec: 'libx264', audio: { codec: 'aac' } });
    expect((await probeVideo(ts)).audioCodec).toBe('aac');
    const sink = new PassThrough();
    const chunks: Buffer[] = [];
    sink.on('data', (c: Buffer) => chunks.push(c));
    const enc = await openEncoder('-', { width: 32, height: 24, fps: 10, stdout: sink, audioFrom: ts });
    for (let k = 0; k < 10; k++) await enc.write(solidYuvFrame(32, 24, 50 + k, 128, 128));
    const res = await enc.finish();
    expect(res.audio).toBe('reencoded');
    expect(res.notes.join('\n')).toMatch(/AAC from an MPEG-TS stream cannot be copied into matroska on standard output/);
    const file = join(dir, 'ts-to-stdout.mkv');
    await writeFile(file, Buffer.concat(chunks));
    expect((await listStreams(file)).map((s) => `${s.codec_type}:${s.codec_name}`)).toEqual(['video:h264', 'audio:aac']);
    expect((await transcode(ts, join(dir, 'ts-to-file.mkv'))).audio).toBe('copied');
  });

  it('abort() kills ffmpeg and leaves nothing under the final name, nor a temporary file', async () => {
    const sub = join(dir, 'aborted');
    await mkdir(sub);
    const before = liveChildCount();
    const enc = await openEncoder(join(sub, 'never.mp4'), { width: 32, height: 24, fps: 10 });
    for (let k = 0; k < 3; k++) await enc.write(solidYuvFrame(32, 24, 100, 128, 128));
    await enc.abort();
    expect(await readdir(sub)).toEqual([]);
    expect(liveChildCount()).toBe(before);
    await expect(enc.write(solidYuvFrame(32, 24, 100, 128, 128))).rejects.toThrow(/aborted/);
  });

  it('fails E_OUTPUT_UNWRITABLE (exit 2) before starting ffmpeg when the directory does not exist', async () => {
    const before = liveChildCount();
    let error: unknown;
    try {
      await openEncoder(join(dir, 'no-such-dir', 'x.mp4'), { width: 32, height: 24, fps: 10 });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).code).toBe('E_OUTPUT_UNWRITABLE');
    expect((error as InputError).exitCode).toBe(2);
    expect(liveChildCount()).toBe(before);
  });

  it('fails E_ENCODE_FAILED with ffmpeg stderr when ffmpeg dies; temp file removed, no child left', async () => {
    const sub = join(dir, 'failed');
    await mkdir(sub);
    const before = liveChildCount();
    const enc = await openEncoder(join(sub, 'bad.mp4'), { width: 32, height: 24, fps: 10, outputOptions: ['-profile:v', 'no-such-profile'] });
    let error: unknown;
    try {
      for (let k = 0; k < 50; k++) await enc.write(solidYuvFrame(32, 24, 100, 128, 128));
      await enc.finish();
    } catch (err) {
      error = err;
      await enc.abort();
    }
    expect(error).toBeInstanceOf(RuntimeError);
    expect((error as RuntimeError).code).toBe('E_ENCODE_FAILED');
    expect((error as RuntimeError).message).toMatch(/ffmpeg said: .*profile/i);
    expect(await readdir(sub)).toEqual([]);
    expect(liveChildCount()).toBe(before);
  });

  it('rejects a frame of the wrong size with the numbers', async () => {
    const enc = await openEncoder(join(dir, 'size.mkv'), { width: 32, height: 24, fps: 10 });
    await expect(enc.write(new Uint8Array(10))).rejects.toThrow(/expected 1152 bytes per frame \(32x24 yuv420p\), got 10/);
    await enc.abort();
  });
});

describe('container rules', () => {
  it('maps extensions to containers and knows which audio it can copy', () => {
    expect(containerOf('a.MP4', undefined)).toBe('mp4');
    expect(containerOf('-', undefined)).toBe('matroska');
    expect(containerOf('a.mp4', 'matroska')).toBe('matroska');
    expect(canCopyAudio('mp4', 'aac')).toBe(true);
    expect(canCopyAudio('mp4', 'flac')).toBe(false);
    expect(canCopyAudio('matroska', 'flac')).toBe(true);
    expect(canCopyAudio('webm', 'aac')).toBe(false);
  });
});
