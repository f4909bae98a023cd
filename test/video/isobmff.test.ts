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

  it('follows 64-bit box sizes and a last box that runs to the end of the file', async () => {
    const ftyp = box('ftyp', new Uint8Array(8));
    const moov = box('moov', box('mvhd', new Uint8Array(20)), box('trak', box('tkhd', new Uint8Array(8)), box('mdia', hdlr('vide'))));
    const payload = new Uint8Array(100);
    const large = new Uint8Array(16 + payload.length);
    const view = new DataView(large.buffer);
    view.setUint32(0, 1);
    large.set([0x6d, 0x64, 0x61, 0x74], 4); // 'mdat'
    view.setBigUint64(8, BigInt(large.length));
    large.set(payload, 16);
    expect(await inMemory(concat(ftyp, large, moov))).toBe(true);
    // size 0: the box runs to the end of the file.
    const open = box('mdat', payload);
    new DataView(open.buffer).setUint32(0, 0);
    expect(await inMemory(concat(ftyp, moov, open))).toBe(true);
    // A 64-bit size beyond the file, a track that is not video, no media data, not starting with ftyp.
    view.setBigUint64(8, BigInt(large.length + 1));
    expect(await inMemory(concat(ftyp, large, moov))).toBe(false);
    const soundOnly = box('moov', box('trak', box('mdia', hdlr('soun'))));
    expect(await inMemory(concat(ftyp, box('mdat', payload), soundOnly))).toBe(false);
    expect(await inMemory(concat(ftyp, moov))).toBe(false);
    expect(await inMemory(concat(box('free', new Uint8Array(4)), ftyp, box('mdat', payload), moov))).toBe(false);
  });
});
