/**
 * The Matroska stream of raw frames (src/video/mkv-raw.ts), read back by ffmpeg: every frame's time and
 * every byte of its planes come back as written.
 */
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDecoder } from '../../src/video/decoder.js';
import { MKV_FRAME_HEADER_BYTES, mkvFrameHeaderInto, mkvRawHeader } from '../../src/video/mkv-raw.js';
import { listStreams, makeTempDir, removeTempDir, solidYuvFrame, videoFrameTimes } from '../support/ffmpeg-fixtures.js';

/** ffprobe prints times with 6 decimals. */
const TIME_TOL_SEC = 1e-6;

let dir = '';
beforeAll(async () => {
  dir = await makeTempDir('steady-mkv-');
});
afterAll(async () => {
  await removeTempDir(dir);
});

describe('mkv-raw', () => {
  it('ffmpeg reads back each frame at its time, with exactly its bytes (odd size, uneven spacing)', async () => {
    const W = 33;
    const H = 17;
    const times = [0, 0.04, 0.08, 0.7, 0.7333333, 2.5, 100.123456];
    const frames = times.map((_, k) => solidYuvFrame(W, H, 20 + 30 * k, 100 + k, 200 - k));
    const parts: Uint8Array[] = [mkvRawHeader(W, H, 40e6)];
    for (let k = 0; k < times.length; k++) {
      const h = new Uint8Array(MKV_FRAME_HEADER_BYTES);
      expect(mkvFrameHeaderInto(h, Math.round((times[k] as number) * 1e9), (frames[k] as Uint8Array).length)).toBe(MKV_FRAME_HEADER_BYTES);
      parts.push(h, frames[k] as Uint8Array);
    }
    const path = join(dir, 'raw.mkv');
    await writeFile(path, Buffer.concat(parts));
    const [video] = await listStreams(path);
    expect(video).toMatchObject({ codec_type: 'video', codec_name: 'rawvideo', width: W, height: H });
    const got = await videoFrameTimes(path);
    expect(got.length).toBe(times.length);
    for (let k = 0; k < times.length; k++) expect(Math.abs((got[k] as number) - (times[k] as number))).toBeLessThan(TIME_TOL_SEC);
    let k = 0;
    for await (const f of await openDecoder(path)) {
      expect(Buffer.from(f.data).equals(Buffer.from(frames[k] as Uint8Array))).toBe(true);
      k++;
    }
    expect(k).toBe(times.length);
  });

  it('refuses a time that is negative or not a whole number of nanoseconds', () => {
    const h = new Uint8Array(MKV_FRAME_HEADER_BYTES);
    expect(() => mkvFrameHeaderInto(h, -1, 10)).toThrow(RangeError);
    expect(() => mkvFrameHeaderInto(h, 0.5, 10)).toThrow(RangeError);
  });
});
