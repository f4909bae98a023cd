import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { FrameSplitter, PartialFrameError, splitFrames } from '../../src/video/frame-splitter.js';
import { mulberry32, randomInt } from '../support/video-rng.js';

/** A byte stream whose byte i is a function of i, so any frame's expected content is known. */
function patternBytes(n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 7 + (i >> 8) * 13) & 0xff;
  return b;
}

/** Cuts `bytes` at seeded random points into chunks (some empty, some covering several frames). */
function randomChunks(bytes: Uint8Array, rng: () => number, maxChunk: number): Uint8Array[] {
  const chunks: Uint8Array[] = [];
  let at = 0;
  while (at < bytes.length) {
    const len = Math.min(bytes.length - at, randomInt(rng, 0, maxChunk));
    chunks.push(bytes.subarray(at, at + len));
    at += len;
  }
  return chunks;
}

describe('FrameSplitter', () => {
  it('gives the same frames for any chunk boundaries (property, 200 seeded splits)', () => {
    const frameBytes = 37;
    const frames = 23;
    const bytes = patternBytes(frameBytes * frames);
    for (let seed = 1; seed <= 200; seed++) {
      const rng = mulberry32(seed);
      const maxChunk = randomInt(rng, 1, 3 * frameBytes);
      const splitter = new FrameSplitter(frameBytes);
      const got: Uint8Array[] = [];
      for (const c of randomChunks(bytes, rng, maxChunk)) {
        splitter.push(c);
        // Copy: a frame is only valid until the next one is taken.
        for (let f = splitter.next(); f !== null; f = splitter.next()) got.push(Uint8Array.from(f));
      }
      expect(got.length).toBe(frames);
      for (let k = 0; k < frames; k++) {
        expect(got[k]).toEqual(bytes.subarray(k * frameBytes, (k + 1) * frameBytes));
      }
      expect(splitter.bufferedBytes).toBe(0);
    }
  });

  it('hands out a view of the chunk, without copying, when one chunk holds the whole frame', () => {
    const splitter = new FrameSplitter(4);
    const chunk = patternBytes(10);
    splitter.push(chunk);
    const a = splitter.next() as Uint8Array;
    const b = splitter.next() as Uint8Array;
    expect(a.buffer).toBe(chunk.buffer);
    expect(a.byteOffset).toBe(chunk.byteOffset);
    expect(b.byteOffset).toBe(chunk.byteOffset + 4);
    expect(splitter.next()).toBeNull();
    expect(splitter.bufferedBytes).toBe(2);
  });

  it('assembles a frame spanning chunks into one reused buffer', () => {
    const splitter = new FrameSplitter(4);
    const bytes = patternBytes(8);
    splitter.push(bytes.subarray(0, 3));
    splitter.push(bytes.subarray(3, 6));
    splitter.push(bytes.subarray(6, 8));
    const a = splitter.next() as Uint8Array;
    expect(Array.from(a)).toEqual(Array.from(bytes.subarray(0, 4)));
    const aBuffer = a.buffer;
    const b = splitter.next() as Uint8Array;
    expect(Array.from(b)).toEqual(Array.from(bytes.subarray(4, 8)));
    expect(b.buffer).toBe(aBuffer);
  });

  it('rejects a non-positive frame size', () => {
    expect(() => new FrameSplitter(0)).toThrow(RangeError);
  });
});

describe('splitFrames', () => {
  it("assembles each frame that spans chunks into the buffer the caller gives, with the same bytes (property, 50 seeded splits)", async () => {
    const frameBytes = 37;
    const frames = 11;
    const bytes = patternBytes(frameBytes * frames);
    for (let seed = 1; seed <= 50; seed++) {
      const rng = mulberry32(seed);
      const chunks = randomChunks(bytes, rng, randomInt(rng, 1, 2 * frameBytes));
      // Two buffers in turn, as a ring of slots would give; one a little longer than a frame.
      const targets = [new Uint8Array(frameBytes), new Uint8Array(frameBytes + 5)];
      let asked = 0;
      let k = 0;
      for await (const f of splitFrames(Readable.from(chunks), frameBytes, () => targets[asked++ % 2] as Uint8Array)) {
        expect(f.length).toBe(frameBytes);
        expect(Array.from(f)).toEqual(Array.from(bytes.subarray(k * frameBytes, (k + 1) * frameBytes)));
        // Either the caller's buffer (assembled) or a view of a chunk that held it whole.
        const inTarget = targets.some((t) => t.buffer === f.buffer);
        const inChunk = chunks.some((c) => c.buffer === f.buffer);
        expect(inTarget || inChunk).toBe(true);
        k++;
      }
      expect(k).toBe(frames);
      // Asked only for frames about to be assembled: never more often than there are frames.
      expect(asked).toBeLessThanOrEqual(frames);
    }
  });

  it('yields every frame of a Readable and reports a partial last frame', async () => {
    const frameBytes = 50;
    const bytes = patternBytes(frameBytes * 5 + 7);
    const rng = mulberry32(42);
    const source = Readable.from(randomChunks(bytes, rng, 80));
    const got: number[] = [];
    let error: unknown;
    try {
      for await (const f of splitFrames(source, frameBytes)) got.push(f[0] as number);
    } catch (err) {
      error = err;
    }
    expect(got).toEqual([0, 1, 2, 3, 4].map((k) => bytes[k * frameBytes]));
    expect(error).toBeInstanceOf(PartialFrameError);
    expect((error as PartialFrameError).partialBytes).toBe(7);
    expect((error as PartialFrameError).frames).toBe(5);
  });

  it('reads the source only as the consumer pulls (backpressure)', async () => {
    const frameBytes = 1000;
    const chunkBytes = 100;
    const highWaterMark = 2 * chunkBytes;
    const totalChunks = 1000;
    let produced = 0;
    const source = new Readable({
      highWaterMark,
      read() {
        if (produced >= totalChunks) {
          this.push(null);
          return;
        }
        produced += 1;
        this.push(Buffer.alloc(chunkBytes, produced & 0xff));
      },
    });
    const it = splitFrames(source, frameBytes)[Symbol.asyncIterator]();
    const first = await it.next();
    expect(first.done).toBe(false);
    // Let the stream run freely for a while: with nobody pulling it must stay near one frame ahead.
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    const bound = (frameBytes + highWaterMark + chunkBytes) / chunkBytes;
    expect(produced).toBeLessThanOrEqual(bound);
    await it.next();
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    expect(produced).toBeLessThanOrEqual(bound + frameBytes / chunkBytes);
    await it.return?.(undefined);
    expect(source.destroyed).toBe(true);
  });
});
