/**
 * The MP4/MOV read-back without ffprobe (src/video/isobmff.ts): every file it calls whole, ffprobe reads as
 * a video (the ground truth); files cut short, missing their index, holding no video track or in another
 * container are not called whole (ffprobe then judges them).
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isobmffWhole, isobmffWholeFrom } from '../../src/video/isobmff.js';
import { ffprobeJson, listStreams, makeClip, makeTempDir, removeTempDir } from '../support/ffmpeg-fixtures.js';

let dir = '';
beforeAll(async () => {
  dir = await makeTempDir('steady-isobmff-');
});
afterAll(async () => {
  await removeTempDir(dir);
});

/** What ffprobe says: true when it opens the file and finds a video stream in it. */
async function ffprobeReadsVideo(path: string): Promise<boolean> {
  try {
    return (await listStreams(path)).some((s) => s.codec_type === 'video');
  } catch {
    return false;
  }
}

/** One box: 32-bit size, type, content. */
function box(type: string, ...content: Uint8Array[]): Uint8Array {
  const size = 8 + content.reduce((a, c) => a + c.length, 0);
  const out = new Uint8Array(size);
  new DataView(out.buffer).setUint32(0, size);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  let at = 8;
  for (const c of content) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

/** A `hdlr` box with this handler type (version/flags, pre_defined, handler_type, name). */
function hdlr(handler: string): Uint8Array {
  const content = new Uint8Array(25);
  for (let i = 0; i < 4; i++) content[8 + i] = handler.charCodeAt(i);
  return box('hdlr', content);
}

const inMemory = (bytes: Uint8Array) =>
  isobmffWholeFrom(async (position, into) => {
    const part = bytes.subarray(position, position + into.length);
    into.set(part);
    return part.length;
  }, bytes.length);

/** The offset of the first top-level box of this type (a walk of the box headers). */
function topLevelOffset(bytes: Uint8Array, type: string): number {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  for (let at = 0; at + 8 <= bytes.length; ) {
    const size32 = view.getUint32(at);
    const t = Buffer.from(bytes.subarray(at + 4, at + 8)).toString('latin1');
    if (t === type) return at;
    const size = size32 === 1 ? Number(view.getBigUint64(at + 8)) : size32 === 0 ? bytes.length - at : size32;
    at += size;
  }
  throw new Error(`no ${type} box`);
}

describe('isobmffWhole', () => {
  it('calls whole the MP4 and MOV files ffmpeg writes (index at the end, at the front, or fragmented), as ffprobe reads them', async () => {
    const files = [
      await makeClip(join(dir, 'plain.mp4')),
      await makeClip(join(dir, 'faststart.mp4'), { extraArgs: ['-movflags', '+faststart'] }),
      await makeClip(join(dir, 'fragmented.mp4'), { extraArgs: ['-movflags', 'frag_keyframe+empty_moov'] }),
      await makeClip(join(dir, 'sound.mov'), { audio: true }),
    ];
    for (const f of files) {
      expect(await ffprobeReadsVideo(f), f).toBe(true);
      expect(await isobmffWhole(f), f).toBe(true);
    }
  });

  it('does not call whole a file cut short, one whose index is missing, one with bytes after its last box', async () => {
    const whole = await readFile(await makeClip(join(dir, 'source.mp4'), { frames: 20 }));
    const moovAt = topLevelOffset(whole, 'moov');
    const cases: Array<[string, Uint8Array]> = [
      ['cut-1.mp4', whole.subarray(0, whole.length - 1)],
      ['cut-in-moov.mp4', whole.subarray(0, moovAt + 40)],
      ['no-moov.mp4', whole.subarray(0, moovAt)],
      ['trailing.mp4', concat(whole, new Uint8Array(3))],
      ['empty.mp4', new Uint8Array(0)],
    ];
    for (const [name, bytes] of cases) {
      const path = join(dir, name);
      await writeFile(path, bytes);
      expect(await isobmffWhole(path), name).toBe(false);
    }
    // ffprobe agrees on the ones that lose the index: no video can be read from them.
    for (const name of ['cut-in-moov.mp4', 'no-moov.mp4', 'empty.mp4']) expect(await ffprobeReadsVideo(join(dir, name)), name).toBe(false);
  });

  it('does not call whole a file with no video track, another container, or a file that is not there', async () => {
    const audioOnly = join(dir, 'audio.m4a');
    await makeClip(audioOnly, { audio: true, extraArgs: ['-vn'] });
    const streams = (await ffprobeJson(['-show_streams', audioOnly])).streams as Array<{ codec_type: string }>;
    expect(streams.map((s) => s.codec_type)).toEqual(['audio']);
    expect(await isobmffWhole(audioOnly)).toBe(false);
    const mkv = await makeClip(join(dir, 'clip.mkv'));
    expect(await ffprobeReadsVideo(mkv)).toBe(true);
    expect(await isobmffWhole(mkv)).toBe(false);
    expect(await isobmffWhole(join(dir, 'missing.mp4'))).toBe(false);
  });

  it('follows 64-bit sizes; refuses a size 0 (a box whose writing was cut short), a table whose count does not fit it, a chunk outside the media', async () => {
    const ftyp = box('ftyp', new Uint8Array(8));
    const payload = new Uint8Array(100);
    /** Full-box content: version and flags (0), then big-endian 32-bit words. */
    const words = (...w: number[]) => {
      const b = new Uint8Array(4 + 4 * w.length);
      const v = new DataView(b.buffer);
      for (let i = 0; i < w.length; i++) v.setUint32(4 + 4 * i, w[i] as number);
      return b;
    };
    /** A one-track index: stts, stsz (two sample sizes, `stszCount` of them said), stco (the chunk offsets). */
    const moovWith = (chunkOffsets: number[], stszCount = 2, handler = 'vide') =>
      box(
        'moov',
        box('mvhd', new Uint8Array(20)),
        box(
          'trak',
          box('tkhd', new Uint8Array(8)),
          box('mdia', hdlr(handler), box('minf', box('stbl', box('stts', words(1, 2, 1)), box('stsz', words(0, stszCount, 40, 60)), box('stco', words(chunkOffsets.length, ...chunkOffsets))))),
        ),
      );
    // mdat (64-bit size) right after ftyp: its content starts at 16 + 16.
    const large = new Uint8Array(16 + payload.length);
    const view = new DataView(large.buffer);
    view.setUint32(0, 1);
    large.set([0x6d, 0x64, 0x61, 0x74], 4); // 'mdat'
    view.setBigUint64(8, BigInt(large.length));
    const media = ftyp.length + 16;
    expect(await inMemory(concat(ftyp, large, moovWith([media, media + 40])))).toBe(true);
    // A chunk that points past the media, or into the index.
    expect(await inMemory(concat(ftyp, large, moovWith([media, media + payload.length])))).toBe(false);
    expect(await inMemory(concat(ftyp, large, moovWith([3])))).toBe(false);
    // stsz says 3 sizes and holds 2: the table does not fit its box.
    expect(await inMemory(concat(ftyp, large, moovWith([media], 3)))).toBe(false);
    // A track that is not video.
    expect(await inMemory(concat(ftyp, large, moovWith([media], 2, 'soun')))).toBe(false);
    // Size 0, at the top (the media running to the end of the file) or inside the index (ffmpeg's size of a
    // box it has begun: here the trak, so the index is cut inside it).
    const open = box('mdat', payload);
    new DataView(open.buffer).setUint32(0, 0);
    expect(await inMemory(concat(ftyp, box('mdat', payload), moovWith([24])))).toBe(true);
    expect(await inMemory(concat(ftyp, moovWith([]), open))).toBe(false);
    const cut = moovWith([media]);
    const trakAt = 8 + 28; // moov header, then mvhd (8 + 20)
    expect(Buffer.from(cut.subarray(trakAt + 4, trakAt + 8)).toString('latin1')).toBe('trak');
    new DataView(cut.buffer).setUint32(trakAt, 0);
    expect(await inMemory(concat(ftyp, large, cut))).toBe(false);
    // A 64-bit size beyond the file, no media data, not starting with ftyp, two indexes.
    view.setBigUint64(8, BigInt(large.length + 1));
    expect(await inMemory(concat(ftyp, large, moovWith([media])))).toBe(false);
    view.setBigUint64(8, BigInt(large.length));
    expect(await inMemory(concat(ftyp, moovWith([])))).toBe(false);
    expect(await inMemory(concat(box('free', new Uint8Array(4)), ftyp, box('mdat', payload), moovWith([])))).toBe(false);
    expect(await inMemory(concat(ftyp, large, moovWith([media]), moovWith([media])))).toBe(false);
  });
});
