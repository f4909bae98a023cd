import { describe, expect, it } from 'vitest';
import {
  decodeFrameMessage,
  encodeFrameMessage,
  FRAME_HEADER_BYTES,
  type FrameHeader,
  OFFSET,
  ProtocolError,
} from '../../src/server/protocol.js';
import { mulberry32 } from '../support/live-fake-source.js';

/** The browser's decoder (plain JavaScript served from web/), checked against the same encoder. */
const webProtocolPath = '../../web/protocol.js';
const web = (await import(webProtocolPath)) as {
  decodeFrameMessage(data: ArrayBuffer | Uint8Array): { header: Record<string, unknown>; original: Uint8Array; stabilized: Uint8Array };
  FRAME_HEADER_BYTES: number;
};

/** Property and fuzz trials; each is a few microseconds. */
const ROUND_TRIPS = 500;
const FUZZ_TRIALS = 5000;

type Rng = () => number;

function randInt(rng: Rng, lo: number, hi: number): number {
  return lo + Math.floor(rng() * (hi - lo + 1));
}

/** A finite double drawn from a wide range of magnitudes and signs (including 0, -0 and subnormal-ish). */
function randDouble(rng: Rng): number {
  const pick = rng();
  if (pick < 0.05) return 0;
  if (pick < 0.1) return -0;
  const mag = 10 ** (rng() * 40 - 20);
  return (rng() < 0.5 ? -1 : 1) * mag * rng();
}

function randHeader(rng: Rng): FrameHeader {
  const arr = (n: number) => Array.from({ length: n }, () => randDouble(rng));
  return {
    sequence: randInt(rng, 0, 0xffffffff),
    frameIndex: randInt(rng, 0, 0xffffffff),
    referenceIndex: randInt(rng, 0, 0xffffffff),
    registrationOk: rng() < 0.5,
    width: randInt(rng, 1, 0xffff),
    height: randInt(rng, 1, 0xffff),
    previewWidth: randInt(rng, 1, 0xffff),
    previewHeight: randInt(rng, 1, 0xffff),
    timeSec: randDouble(rng),
    decodedAtMs: randDouble(rng),
    sentAtMs: randDouble(rng),
    wallClockMs: randDouble(rng),
    cc: rng() < 0.2 ? Number.NaN : randDouble(rng),
    zoom: randDouble(rng),
    motion: arr(9),
    correction: arr(9),
    path: arr(3),
    smoothedPath: arr(3),
  };
}

function randBytes(rng: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rng() * 256);
  return b;
}

/** Header fields as plain values, doubles compared bit for bit (Object.is: NaN equals NaN, 0 is not -0). */
function plain(h: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(h)) out[k] = ArrayBuffer.isView(v) || Array.isArray(v) ? Array.from(v as ArrayLike<number>) : v;
  return out;
}

function sameBits(a: Record<string, unknown>, b: Record<string, unknown>): void {
  expect(Object.keys(a).sort()).toEqual(Object.keys(b).sort());
  for (const key of Object.keys(a)) {
    const x = a[key];
    const y = b[key];
    if (Array.isArray(x)) {
      expect((y as number[]).length, key).toBe(x.length);
      x.forEach((v, i) => {
        expect(Object.is(v, (y as number[])[i]), `${key}[${i}]: ${v} vs ${(y as number[])[i]}`).toBe(true);
      });
    } else {
      expect(Object.is(x, y), `${key}: ${String(x)} vs ${String(y)}`).toBe(true);
    }
  }
}

describe('frame protocol: round trip', () => {
  it('decode(encode(h, a, b)) gives back h, a and b exactly, in the server and in the browser decoder', () => {
    const rng = mulberry32(20240601);
    for (let t = 0; t < ROUND_TRIPS; t++) {
      const h = randHeader(rng);
      const a = randBytes(rng, randInt(rng, 0, 3000));
      const b = randBytes(rng, randInt(rng, 0, 3000));
      const msg = encodeFrameMessage(h, a, b);
      expect(msg.length).toBe(FRAME_HEADER_BYTES + a.length + b.length);
      const d = decodeFrameMessage(msg);
      sameBits(plain(d.header as unknown as Record<string, unknown>), plain(h as unknown as Record<string, unknown>));
      expect(Buffer.from(d.original).equals(Buffer.from(a))).toBe(true);
      expect(Buffer.from(d.stabilized).equals(Buffer.from(b))).toBe(true);
      // The browser gets an ArrayBuffer of exactly the message.
      const ab = msg.buffer.slice(msg.byteOffset, msg.byteOffset + msg.length) as ArrayBuffer;
      const w = web.decodeFrameMessage(ab);
      sameBits(plain(w.header), plain(h as unknown as Record<string, unknown>));
      expect(Buffer.from(w.original).equals(Buffer.from(a))).toBe(true);
      expect(Buffer.from(w.stabilized).equals(Buffer.from(b))).toBe(true);
    }
  });

  it('decodes a message inside a larger buffer at an odd offset (payloads are views, not copies)', () => {
    const rng = mulberry32(7);
    const h = randHeader(rng);
    const msg = encodeFrameMessage(h, Uint8Array.of(1, 2, 3), Uint8Array.of(4, 5));
    const big = new Uint8Array(msg.length + 13);
    big.set(msg, 5);
    const inner = big.subarray(5, 5 + msg.length);
    const d = decodeFrameMessage(inner);
    expect(Array.from(d.original)).toEqual([1, 2, 3]);
    expect(Array.from(d.stabilized)).toEqual([4, 5]);
    expect(d.original.buffer).toBe(big.buffer);
  });

  it('lays the header out as docs/protocol.md says', () => {
    const h: FrameHeader = {
      sequence: 0x01020304,
      frameIndex: 77,
      referenceIndex: 5,
      registrationOk: true,
      width: 1280,
      height: 720,
      previewWidth: 640,
      previewHeight: 360,
      timeSec: 2.5,
      decodedAtMs: 1000.25,
      sentAtMs: 1012.5,
      wallClockMs: 1.7e12,
      cc: 0.97,
      zoom: 1.1,
      motion: [1, 0, 3, 0, 1, -2, 0, 0, 1],
      correction: [1, 0, -1.5, 0, 1, 1, 0, 0, 1],
      path: [10, -4, 0.01],
      smoothedPath: [9, -3, 0.005],
    };
    const msg = encodeFrameMessage(h, Uint8Array.of(0xff, 0xd8), Uint8Array.of(0xff, 0xd9, 0));
    expect(msg.subarray(0, 4).toString('latin1')).toBe('STFR');
    expect(msg.readUInt16LE(OFFSET.version)).toBe(1);
    expect(msg.readUInt16LE(OFFSET.headerBytes)).toBe(280);
    expect(msg.readUInt32LE(8)).toBe(0x01020304);
    expect(msg.readUInt32LE(12)).toBe(77);
    expect(msg.readUInt16LE(20)).toBe(1);
    expect(msg[22]).toBe(1);
    expect(msg.readUInt16LE(24)).toBe(1280);
    expect(msg.readUInt16LE(30)).toBe(360);
    expect(msg.readUInt32LE(32)).toBe(2);
    expect(msg.readUInt32LE(36)).toBe(3);
    expect(msg.readDoubleLE(40)).toBe(2.5);
    expect(msg.readDoubleLE(72)).toBe(0.97);
    expect(msg.readDoubleLE(88 + 2 * 8)).toBe(3);
    expect(msg.readDoubleLE(160 + 2 * 8)).toBe(-1.5);
    expect(msg.readDoubleLE(232 + 2 * 8)).toBe(0.01);
    expect(msg.readDoubleLE(256)).toBe(9);
    expect(Array.from(msg.subarray(280))).toEqual([0xff, 0xd8, 0xff, 0xd9, 0]);
  });
});

describe('frame protocol: malformed input', () => {
  const rng = mulberry32(99);
  const valid = encodeFrameMessage(randHeader(rng), randBytes(rng, 40), randBytes(rng, 30));

  function errorOf(bytes: Uint8Array): string {
    try {
      decodeFrameMessage(bytes);
    } catch (err) {
      expect(err).toBeInstanceOf(ProtocolError);
      expect((err as ProtocolError).code).toBe('E_PROTOCOL');
      return (err as Error).message;
    }
    throw new Error('decoded');
  }

  it('names the problem', () => {
    expect(errorOf(new Uint8Array(3))).toBe('Expected a frame message of at least 280 bytes but received 3');
    const badMagic = Buffer.from(valid);
    badMagic.write('JPEG', 0, 'latin1');
    expect(errorOf(badMagic)).toBe('Expected the magic "STFR" at the start of a frame message but received 0x4745504a');
    const v2 = Buffer.from(valid);
    v2.writeUInt16LE(2, OFFSET.version);
    expect(errorOf(v2)).toBe('Expected frame protocol version 1 but received 2');
    expect(errorOf(valid.subarray(0, valid.length - 1))).toBe(`Expected 280 + 40 + 30 = 350 bytes (header + payloads) but the message has 349`);
    expect(errorOf(valid.subarray(0, 100))).toBe('Expected at least 280 bytes (the header) but the message has 100');
    const small = Buffer.from(valid);
    small.writeUInt16LE(8, OFFSET.headerBytes);
    expect(errorOf(small)).toBe('Expected a header size of at least 280 bytes (a multiple of 8) but received 8');
    const fmt = Buffer.from(valid);
    fmt[OFFSET.payloadFormat] = 7;
    expect(errorOf(fmt)).toBe('Expected payload format 1 (JPEG) but received 7');
    const zero = Buffer.from(valid);
    zero.writeUInt16LE(0, OFFSET.width);
    expect(errorOf(zero)).toMatch(/^Expected non-zero frame sizes but received 0x/);
    const nan = Buffer.from(valid);
    nan.writeDoubleLE(Number.NaN, OFFSET.motion + 8);
    expect(errorOf(nan)).toBe('Expected finite numbers for motion but element 1 is NaN');
  });

  it('accepts a longer header from a later minor revision and finds the payloads after it', () => {
    const h = randHeader(mulberry32(3));
    const base = encodeFrameMessage(h, Uint8Array.of(9, 8), Uint8Array.of(7));
    const longer = Buffer.alloc(base.length + 16);
    base.copy(longer, 0, 0, FRAME_HEADER_BYTES);
    longer.writeUInt16LE(FRAME_HEADER_BYTES + 16, OFFSET.headerBytes);
    base.copy(longer, FRAME_HEADER_BYTES + 16, FRAME_HEADER_BYTES);
    const d = decodeFrameMessage(longer);
    expect(Array.from(d.original)).toEqual([9, 8]);
    expect(Array.from(d.stabilized)).toEqual([7]);
  });

  it('fuzz: random bytes and mutated messages only ever raise ProtocolError (both decoders)', () => {
    const fuzz = mulberry32(424242);
    let decoded = 0;
    let refused = 0;
    for (let t = 0; t < FUZZ_TRIALS; t++) {
      let bytes: Uint8Array;
      const kind = t % 3;
      if (kind === 0) {
        bytes = randBytes(fuzz, randInt(fuzz, 0, 400));
        if (fuzz() < 0.5 && bytes.length >= 8) bytes.set([0x53, 0x54, 0x46, 0x52, 1, 0, 24, 1], 0); // valid magic/version/header size
      } else {
        bytes = Uint8Array.from(valid);
        const flips = randInt(fuzz, 1, 6);
        for (let f = 0; f < flips; f++) bytes[randInt(fuzz, 0, bytes.length - 1)] = randInt(fuzz, 0, 255);
        if (kind === 2) bytes = bytes.subarray(0, randInt(fuzz, 0, bytes.length));
      }
      for (const decode of [decodeFrameMessage, web.decodeFrameMessage]) {
        try {
          decode(bytes);
          decoded++;
        } catch (err) {
          expect((err as Error).name).toBe('ProtocolError');
          refused++;
        }
      }
    }
    // Both outcomes occur: mutations inside payloads or doubles still decode.
    expect(decoded).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });
});

describe('frame protocol: encoder validation', () => {
  const h = randHeader(mulberry32(5));
  it('refuses values the header cannot carry', () => {
    expect(() => encodeFrameMessage({ ...h, width: 70_000 }, new Uint8Array(0), new Uint8Array(0))).toThrow(
      'Expected an integer 1..65535 for width but received 70000',
    );
    expect(() => encodeFrameMessage({ ...h, sequence: -1 }, new Uint8Array(0), new Uint8Array(0))).toThrow(ProtocolError);
    expect(() => encodeFrameMessage({ ...h, motion: [1, 0, Number.POSITIVE_INFINITY, 0, 1, 0, 0, 0, 1] }, new Uint8Array(0), new Uint8Array(0))).toThrow(
      'Expected finite numbers for motion but element 2 is Infinity',
    );
    expect(() => encodeFrameMessage({ ...h, path: [1, 2] }, new Uint8Array(0), new Uint8Array(0))).toThrow('Expected 3 numbers for path but received 2');
  });
});
