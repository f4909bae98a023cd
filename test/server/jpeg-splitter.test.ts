import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { JpegStreamSplitter } from '../../src/server/jpeg-splitter.js';
import { resolveFfmpeg } from '../../src/video/binaries.js';
import { mulberry32 } from '../support/live-fake-source.js';

/** Random chunkings tried per stream. */
const CHUNKINGS = 200;

/** Pushes `stream` in random chunks (1..maxChunk bytes) and returns the images. */
function splitInChunks(stream: Buffer, rng: () => number, maxChunk: number): Buffer[] {
  const s = new JpegStreamSplitter();
  const out: Buffer[] = [];
  let i = 0;
  while (i < stream.length) {
    const n = 1 + Math.floor(rng() * maxChunk);
    // A fresh buffer per chunk, as a child's stdout delivers them.
    out.push(...s.push(Buffer.from(stream.subarray(i, i + n))));
    i += n;
  }
  return out;
}

/** A minimal JPEG-shaped byte stream whose header segments and entropy data contain FF D9 traps. */
function trickyJpeg(id: number): Buffer {
  return Buffer.from([
    0xff, 0xd8, // SOI
    0xff, 0xfe, 0x00, 0x08, 0xff, 0xd9, 0xff, 0xd9, 0x00, id, // COM holding FF D9 twice
    0xff, 0xdb, 0x00, 0x05, 0x00, 0xff, 0xd9, // DQT-like segment holding FF D9
    0xff, 0xff, 0xda, 0x00, 0x04, 0xff, 0xd9, // SOS after a fill byte, its header holding FF D9
    0x12, 0xff, 0x00, 0x34, 0xff, 0xd3, 0x56, // entropy data: stuffed FF 00, restart marker RST3
    0xff, 0xc4, 0x00, 0x03, 0xd9, // a DHT between scans (progressive)
    0xff, 0xda, 0x00, 0x02, 0x77, 0xff, 0x00, // second scan
    0xff, 0xff, 0xd9, // EOI after a fill byte
  ]);
}

describe('JPEG stream splitter', () => {
  it('cuts at the real EOI only, whatever the chunk boundaries (markers inside segments and scans are skipped)', () => {
    const images = [trickyJpeg(1), trickyJpeg(2), trickyJpeg(3)];
    // Garbage before the first image and between images is skipped.
    const stream = Buffer.concat([Buffer.from([0x00, 0xff, 0x12]), images[0] as Buffer, images[1] as Buffer, Buffer.from([0xff, 0xff]), images[2] as Buffer]);
    const rng = mulberry32(11);
    for (let t = 0; t < CHUNKINGS; t++) {
      const out = splitInChunks(stream, rng, 1 + (t % 60));
      expect(out.map((b) => b.toString('hex'))).toEqual(images.map((b) => b.toString('hex')));
    }
  });

  it('returns a view of the chunk when an image lies inside one chunk', () => {
    const chunk = Buffer.concat([trickyJpeg(1), trickyJpeg(2)]);
    const out = new JpegStreamSplitter().push(chunk);
    expect(out.length).toBe(2);
    expect(out[0]?.buffer).toBe(chunk.buffer);
    expect(out[1]?.byteOffset).toBe(chunk.byteOffset + trickyJpeg(1).length);
  });

  it('splits real ffmpeg image2pipe output into the same images ffmpeg writes as files', () => {
    const ffmpeg = resolveFfmpeg().path;
    const dir = mkdtempSync(join(tmpdir(), 'steady-jpeg-'));
    try {
      const source = ['-f', 'lavfi', '-i', 'testsrc2=size=96x64:rate=10,noise=alls=40:allf=t', '-frames:v', '12'];
      const piped = spawnSync(ffmpeg, ['-hide_banner', '-loglevel', 'error', ...source, '-c:v', 'mjpeg', '-q:v', '2', '-f', 'image2pipe', 'pipe:1'], {
        maxBuffer: 64 << 20,
      });
      expect(piped.status).toBe(0);
      const files = spawnSync(ffmpeg, ['-hide_banner', '-loglevel', 'error', ...source, '-c:v', 'mjpeg', '-q:v', '2', join(dir, 'f%03d.jpg')]);
      expect(files.status).toBe(0);
      const expected = readdirSync(dir)
        .sort()
        .map((f) => readFileSync(join(dir, f)));
      expect(expected.length).toBe(12);
      const stream = piped.stdout as Buffer;
      const rng = mulberry32(5);
      for (let t = 0; t < 20; t++) {
        const out = splitInChunks(stream, rng, 1 + Math.floor(rng() * 5000));
        expect(out.length).toBe(12);
        out.forEach((img, k) => {
          expect(img.equals(expected[k] as Buffer)).toBe(true);
        });
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a stream that never ends an image', () => {
    const s = new JpegStreamSplitter(1000);
    s.push(Buffer.from([0xff, 0xd8, 0xff, 0xda, 0x00, 0x02]));
    expect(() => s.push(Buffer.alloc(2000, 0x11))).toThrow('Expected a JPEG image of at most 1000 bytes but one grew past that; the stream is not a JPEG stream');
    const t = new JpegStreamSplitter();
    expect(() => t.push(Buffer.from([0xff, 0xd8, 0x12]))).toThrow('Expected a JPEG marker (FF) but received 0x12');
  });
});
