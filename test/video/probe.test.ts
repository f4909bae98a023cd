import { createReadStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError, InterruptedError } from '../../src/errors.js';
import { interpretProbe, mediaBeforeIndex, normaliseRotation, parseRational, prefetchProbe, probeStream, probeVideo } from '../../src/video/probe.js';
import { liveChildCount } from '../../src/video/process-registry.js';
import { ffmpeg, makeClip, makeTempDir, removeTempDir } from '../support/ffmpeg-fixtures.js';

const TOL_SEC = 0.05;

let dir = '';
let mp4 = '';
let mkv10 = '';
beforeAll(async () => {
  dir = await makeTempDir();
  mp4 = await makeClip(join(dir, 'av.mp4'), { width: 64, height: 48, frames: 10, fps: 10, audio: true });
  mkv10 = await makeClip(join(dir, 'odd10.mkv'), { width: 65, height: 49, frames: 10, fps: 10, pixFmt: 'yuv420p10le' });
});
afterAll(async () => {
  await removeTempDir(dir);
});

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    return err instanceof InputError ? `${err.code}: ${err.message}` : `other: ${String(err)}`;
  }
  return 'no error';
}

describe('probeVideo', () => {
  it('reads size, rate, count, duration, format, codec and audio of an MP4', async () => {
    const p = await probeVideo(mp4);
    expect(p.width).toBe(64);
    expect(p.height).toBe(48);
    expect(p.fps).toBe(10);
    expect(p.fpsRational).toBe('10/1');
    expect(p.frameCount).toBe(10);
    expect(Math.abs((p.durationSec as number) - 1)).toBeLessThan(TOL_SEC);
    expect(p.pixFmt).toBe('yuv420p');
    expect(p.bitDepth).toBe(8);
    expect(p.rotationDeg).toBe(0);
    expect(p.hasAudio).toBe(true);
    expect(p.audioCodec).toBe('aac');
    expect(p.format).toContain('mp4');
    expect(p.codec).toBe('h264');
    expect(p.variableFrameRate).toBe(false);
  });

  it('reads bit depth 10 and an odd size; counts packets when the container stores no count', async () => {
    const p = await probeVideo(mkv10);
    expect([p.width, p.height]).toEqual([65, 49]);
    expect(p.pixFmt).toBe('yuv420p10le');
    expect(p.bitDepth).toBe(10);
    expect(p.hasAudio).toBe(false);
    expect(p.estimatedFrameCount).toBe(10);
    const counted = await probeVideo(mkv10, { countPackets: true });
    expect(counted.frameCount).toBe(10);
  });

  it('keeps an NTSC rate exact as a rational', async () => {
    const clip = await makeClip(join(dir, 'ntsc.mkv'), { frames: 3, fps: '30000/1001' });
    const p = await probeVideo(clip);
    expect(p.fpsRational).toBe('30000/1001');
    expect(p.fps).toBeCloseTo(30000 / 1001, 9);
  });

  it('reads a 90 degree display rotation and swaps the display size', async () => {
    const clip = await makeClip(join(dir, 'rot90.mp4'), { frames: 2, rotationDeg: 90 });
    const p = await probeVideo(clip);
    expect(p.rotationDeg).toBe(90);
    expect([p.width, p.height, p.displayWidth, p.displayHeight]).toEqual([64, 48, 48, 64]);
  });

  it('probes a lavfi graph', async () => {
    const p = await probeVideo('testsrc=size=32x24:rate=5', { inputFormat: 'lavfi' });
    expect([p.width, p.height, p.fps]).toEqual([32, 24, 5]);
  });

  it('fails E_INPUT_NOT_FOUND for a missing file, E_INPUT_EMPTY for an empty one', async () => {
    expect(await codeOf(probeVideo(join(dir, 'missing.mp4')))).toMatch(/^E_INPUT_NOT_FOUND: .*missing\.mp4/);
    const empty = join(dir, 'empty.mp4');
    await writeFile(empty, '');
    expect(await codeOf(probeVideo(empty))).toMatch(/^E_INPUT_EMPTY: .*empty\.mp4/);
  });

  it('fails E_NOT_VIDEO naming the file for text, audio-only files and directories', async () => {
    const text = join(dir, 'notes.mp4');
    await writeFile(text, 'this is not a video\n'.repeat(50));
    expect(await codeOf(probeVideo(text))).toMatch(/^E_NOT_VIDEO: .*notes\.mp4/);
    const wav = join(dir, 'tone.wav');
    await ffmpeg(['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=8000', '-t', '0.2', wav]);
    expect(await codeOf(probeVideo(wav))).toMatch(/^E_NOT_VIDEO: .*tone\.wav.*no video stream/);
    const sub = join(dir, 'a-directory');
    await mkdir(sub);
    expect(await codeOf(probeVideo(sub))).toMatch(/^E_NOT_VIDEO: .*a-directory/);
  });
});

describe('prefetchProbe', () => {
  it('starts ffprobe at once, and the next probeVideo of the same file takes that answer instead of starting another', async () => {
    const before = liveChildCount();
    prefetchProbe(mp4);
    expect(liveChildCount()).toBe(before + 1);
    const p = probeVideo(mp4);
    // probeVideo starts its ffprobe synchronously when it needs one: none was started.
    expect(liveChildCount()).toBe(before + 1);
    const probe = await p;
    expect([probe.width, probe.height, probe.frameCount]).toEqual([64, 48, 10]);
    // Taken once only: the next probe runs its own ffprobe.
    const again = probeVideo(mp4);
    expect(liveChildCount()).toBe(before + 1);
    expect((await again).width).toBe(64);
  });

  it('answers only the same input with default options; other probes run as before', async () => {
    const before = liveChildCount();
    prefetchProbe(mp4);
    const other = probeVideo(mkv10);
    const counted = probeVideo(mp4, { countPackets: true });
    expect(liveChildCount()).toBe(before + 3);
    expect([(await other).width, (await counted).frameCount]).toEqual([65, 10]);
    const taken = probeVideo(mp4);
    expect(liveChildCount()).toBeLessThanOrEqual(before + 1);
    expect((await taken).width).toBe(64);
  });

  it('starts nothing for a missing file or standard input; probeVideo still reports the missing file', async () => {
    const before = liveChildCount();
    prefetchProbe(join(dir, 'nowhere.mp4'));
    prefetchProbe('-');
    expect(liveChildCount()).toBe(before);
    expect(await codeOf(probeVideo(join(dir, 'nowhere.mp4')))).toMatch(/^E_INPUT_NOT_FOUND: .*nowhere\.mp4/);
  });
});

describe('probeStream (standard input)', () => {
  it('probes a pipe and gives back every byte, including those ffprobe read', async () => {
    const bytes = await readFile(mkv10);
    const p = await probeStream(createReadStream(mkv10, { highWaterMark: 1024 }));
    expect([p.width, p.height]).toEqual([65, 49]);
    const chunks: Buffer[] = [];
    for await (const c of p.stdin as Readable) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
  });

  it('keeps a still-open pipe usable: the probed head is put back in front of the rest', async () => {
    const bytes = await readFile(mkv10);
    const pipe = new PassThrough();
    const half = bytes.length >> 1;
    pipe.write(bytes.subarray(0, half));
    const probing = probeStream(pipe);
    const p = await probing;
    pipe.end(bytes.subarray(half));
    const chunks: Buffer[] = [];
    for await (const c of p.stdin as Readable) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).equals(bytes)).toBe(true);
  });

  it('fails E_INPUT_EMPTY for an empty pipe', async () => {
    expect(await codeOf(probeStream(Readable.from([])))).toMatch(/^E_INPUT_EMPTY/);
  });
});

describe('interpretProbe', () => {
  it('describes the first video stream that is not cover art, and maps exactly that stream', () => {
    const p = interpretProbe('x.mp4', {
      streams: [
        { index: 0, codec_type: 'video', codec_name: 'mjpeg', width: 300, height: 300, disposition: { attached_pic: 1 } },
        { index: 1, codec_type: 'audio', codec_name: 'aac' },
        { index: 2, codec_type: 'video', codec_name: 'h264', width: 640, height: 360, r_frame_rate: '30/1', avg_frame_rate: '30/1', time_base: '1/15360' },
      ],
    });
    expect([p.codec, p.width, p.height, p.videoMap, p.timeBase, p.variableFrameRate]).toEqual(['h264', 640, 360, '0:2', '1/15360', false]);
    const vfr = interpretProbe('y.mp4', { streams: [{ index: 0, codec_type: 'video', codec_name: 'h264', width: 64, height: 48, r_frame_rate: '30/1', avg_frame_rate: '2500/100' }] });
    expect([vfr.videoMap, vfr.variableFrameRate, vfr.timeBase]).toEqual(['0:0', true, null]);
  });

  it('tells global metadata worth keeping from the tags every writer leaves', () => {
    const video = { index: 0, codec_type: 'video', codec_name: 'h264', width: 64, height: 48, r_frame_rate: '30/1', avg_frame_rate: '30/1' };
    const withTags = (tags: Record<string, string>) => interpretProbe('x.mp4', { streams: [video], format: { format_name: 'mov,mp4', tags } }).hasGlobalMetadata;
    expect(withTags({ major_brand: 'isom', minor_version: '512', compatible_brands: 'isomiso2avc1mp41', encoder: 'Lavf59.27.100' })).toBe(false);
    expect(withTags({ major_brand: 'qt  ', creation_time: '2024-06-01T10:20:30.000000Z' })).toBe(true);
    expect(withTags({ 'com.apple.quicktime.make': 'Apple' })).toBe(true);
    expect(interpretProbe('x.mp4', { streams: [video] }).hasGlobalMetadata).toBe(false);
  });
});

describe('helpers', () => {
  it('parseRational reads num/den and rejects 0/0', () => {
    expect(parseRational('30000/1001')).toEqual({ num: 30000, den: 1001 });
    expect(parseRational('25')).toEqual({ num: 25, den: 1 });
    expect(parseRational('0/0')).toBeNull();
  });
  it('normaliseRotation maps any angle to 0/90/180/270 clockwise', () => {
    expect([-90, 270, 450, -180, 0, 89.6, -270].map(normaliseRotation)).toEqual([270, 270, 90, 180, 0, 90, 90]);
  });
});

describe('mediaBeforeIndex', () => {
  /** A top-level ISO media box: 32-bit size, type, payload of `payload` zero bytes. */
  const box = (type: string, payload: number): Buffer => {
    const b = Buffer.alloc(8 + payload);
    b.writeUInt32BE(8 + payload, 0);
    b.write(type, 4, 'latin1');
    return b;
  };
  /** An `mdat` box with a 64-bit size (size field 1, then the size after the type). */
  const largeMdat = (payload: number): Buffer => {
    const b = Buffer.alloc(16 + payload);
    b.writeUInt32BE(1, 0);
    b.write('mdat', 4, 'latin1');
    b.writeBigUInt64BE(BigInt(16 + payload), 8);
    return b;
  };

  it('tells a file whose media data comes before its index from a fast-start or fragmented one', () => {
    expect(mediaBeforeIndex(Buffer.concat([box('ftyp', 24), box('free', 8), box('mdat', 100), box('moov', 40)]))).toBe(true);
    expect(mediaBeforeIndex(Buffer.concat([box('ftyp', 24), largeMdat(100), box('moov', 40)]))).toBe(true);
    // Only the start of the stream is known: the mdat header is enough.
    expect(mediaBeforeIndex(Buffer.concat([box('ftyp', 24), box('mdat', 100)]).subarray(0, 40))).toBe(true);
    expect(mediaBeforeIndex(Buffer.concat([box('ftyp', 24), box('moov', 40), box('mdat', 100)]))).toBe(false);
    expect(mediaBeforeIndex(Buffer.concat([box('ftyp', 24), box('moov', 40), box('moof', 16), box('mdat', 100)]))).toBe(false);
    // Not ISO media (Matroska's EBML header), too short, or a broken size: not this case.
    expect(mediaBeforeIndex(Buffer.from([0x1a, 0x45, 0xdf, 0xa3, 0, 0, 0, 0, 0, 0, 0, 0]))).toBe(false);
    expect(mediaBeforeIndex(Buffer.from('ftyp'))).toBe(false);
    const broken = Buffer.concat([box('ftyp', 24), box('free', 8), box('mdat', 100)]);
    broken.writeUInt32BE(3, 32);
    expect(mediaBeforeIndex(broken)).toBe(false);
  });

  it('an ffmpeg-made MP4 (index at the end) on a pipe is kept whole in a file to read from; past the size limit it is refused; a fast-start one streams', async () => {
    const bytes = await readFile(mp4);
    const spooled = await probeStream(Readable.from([bytes]));
    expect([spooled.width, spooled.height, spooled.frameCount, spooled.hasAudio]).toEqual([64, 48, 10, true]);
    expect(spooled.spooledPath).toBeDefined();
    expect(await readFile(spooled.spooledPath as string)).toEqual(bytes);
    expect(await codeOf(probeStream(Readable.from([bytes]), { maxProbeBytes: bytes.length - 1 }))).toMatch(/^E_INPUT_NOT_STREAMABLE: /);
    const fast = join(dir, 'fast.mp4');
    await ffmpeg(['-i', mp4, '-c', 'copy', '-movflags', '+faststart', fast]);
    const p = await probeStream(Readable.from([await readFile(fast)]));
    expect([p.width, p.height]).toEqual([64, 48]);
    expect(p.spooledPath).toBeUndefined();
  });
});

describe('probeStream and a signal', () => {
  it('Ctrl-C while standard input has sent nothing yet: rejects at once with InterruptedError, ffprobe stopped', async () => {
    const silent = new PassThrough();
    const controller = new AbortController();
    const probing = probeStream(silent, { signal: controller.signal });
    setTimeout(() => controller.abort('SIGINT'), 100);
    const err = await probing.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(InterruptedError);
    expect((err as InterruptedError).signal).toBe('SIGINT');
    expect(liveChildCount()).toBe(0);
    silent.destroy();
  });
});
