// Property tests with seeded random input for the parts that take bytes from outside: the control messages a
// viewer sends (parser and the live session answering them), the binary frame protocol decoder (beyond the
// random-bytes fuzz of test/server/protocol.test.ts: views into larger buffers, field-wise corruption, inputs
// that are not bytes), the frame splitter over a real stream with arbitrary chunk boundaries and a ragged
// end, and the preview's JPEG splitter on random bytes. Each generator is seeded here, so a failure reproduces.
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { SteadyError } from '../../src/errors.js';
import { CONTROL_TYPES, type ControlParseResult, MAX_CONTROL_BYTES, MAX_SMOOTHING_RADIUS, MAX_ZOOM, MIN_ZOOM, parseControlMessage } from '../../src/server/control.js';
import { JpegStreamSplitter } from '../../src/server/jpeg-splitter.js';
import { type LiveSource, LiveSession } from '../../src/server/live-session.js';
import { BORDER_MODES, decodeFrameMessage, encodeFrameMessage, FRAME_HEADER_BYTES, type FrameHeader, OFFSET, ProtocolError, VIEW_MODES } from '../../src/server/protocol.js';
import { PartialFrameError, splitFrames } from '../../src/video/frame-splitter.js';
import { mulberry32, randomInt } from '../support/video-rng.js';

type Rng = () => number;

function pick<T>(rng: Rng, items: readonly T[]): T {
  return items[Math.floor(rng() * items.length)] as T;
}

function randomBytes(rng: Rng, n: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = Math.floor(rng() * 256);
  return b;
}

// ---------------------------------------------------------------------------------------------------
// Control messages.

/** Every refusal code control.ts documents. */
const CONTROL_CODES = ['E_CONTROL_BINARY', 'E_CONTROL_SIZE', 'E_CONTROL_JSON', 'E_CONTROL_TYPE', 'E_CONTROL_FIELD', 'E_BAD_OPTION'];
const FIELDS: Record<string, readonly string[]> = { pause: [], resume: [], smoothing: ['radius'], zoom: ['zoom'], border: ['mode'], reset: [], view: ['mode'] };

/**
 * The documented rules of control.ts written out plainly, check by check in the order the table lists
 * them: the reference the parser is compared with.
 */
function referenceControl(text: string, isBinary: boolean): { ok: true; message: Record<string, unknown> } | { ok: false; code: string } {
  if (isBinary) return { ok: false, code: 'E_CONTROL_BINARY' };
  if (Buffer.byteLength(text) > MAX_CONTROL_BYTES) return { ok: false, code: 'E_CONTROL_SIZE' };
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return { ok: false, code: 'E_CONTROL_JSON' };
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return { ok: false, code: 'E_CONTROL_JSON' };
  const o = v as Record<string, unknown>;
  const fields = typeof o.type === 'string' && Object.hasOwn(FIELDS, o.type) ? FIELDS[o.type] : undefined;
  if (fields === undefined || !Object.hasOwn(o, 'type')) return { ok: false, code: 'E_CONTROL_TYPE' };
  const keys = Object.keys(o);
  if (keys.some((k) => k !== 'type' && !fields.includes(k))) return { ok: false, code: 'E_CONTROL_FIELD' };
  if (fields.some((f) => !keys.includes(f))) return { ok: false, code: 'E_CONTROL_FIELD' };
  const value = fields.length === 1 ? o[fields[0] as string] : undefined;
  switch (o.type) {
    case 'smoothing':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > MAX_SMOOTHING_RADIUS) return { ok: false, code: 'E_BAD_OPTION' };
      return { ok: true, message: { type: 'smoothing', radius: value } };
    case 'zoom':
      if (typeof value !== 'number' || !Number.isFinite(value) || value < MIN_ZOOM || value > MAX_ZOOM) return { ok: false, code: 'E_BAD_OPTION' };
      return { ok: true, message: { type: 'zoom', zoom: value } };
    case 'border':
      if (typeof value !== 'string' || !(BORDER_MODES as readonly string[]).includes(value)) return { ok: false, code: 'E_BAD_OPTION' };
      return { ok: true, message: { type: 'border', mode: value } };
    case 'view':
      if (typeof value !== 'string' || !(VIEW_MODES as readonly string[]).includes(value)) return { ok: false, code: 'E_BAD_OPTION' };
      return { ok: true, message: { type: 'view', mode: value } };
    default:
      return { ok: true, message: { type: o.type } };
  }
}

const KEYS = ['type', 'radius', 'zoom', 'mode', '__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', '', 'Type', 'type ', 'x'];
const WORDS = [...CONTROL_TYPES, ...BORDER_MODES, ...VIEW_MODES, 'wrap', 'jump', 'PAUSE', '', ' pause', 'null', '\u0000', '\ud800', 'é', 'x'.repeat(300)];
/** Number literals as JSON text, tricky ones included (1e999 parses to Infinity, -0, huge and tiny values). */
const NUMBERS = ['0', '-0', '1', '4', '4.0000001', '0.999', '1.5', '2.25', '300', '301', '-1', '1e2', '3e2', '1e999', '-1e999', '5e-324', '9007199254740993', '1.0', '299.9999999999999999'];

/** Random JSON text: a value of random kind, nested a few levels; object keys drawn from KEYS. */
function randomJsonText(rng: Rng, depth = 0): string {
  const r = rng();
  if (depth > 2 || r < 0.35) {
    const leaf = rng();
    if (leaf < 0.35) return pick(rng, NUMBERS);
    if (leaf < 0.7) return JSON.stringify(pick(rng, WORDS));
    if (leaf < 0.8) return pick(rng, ['true', 'false', 'null']);
    return String(Math.round((rng() * 2 - 1) * 10 ** randomInt(rng, 0, 6)) / 10 ** randomInt(rng, 0, 3));
  }
  if (r < 0.45) return `[${Array.from({ length: randomInt(rng, 0, 3) }, () => randomJsonText(rng, depth + 1)).join(',')}]`;
  const n = randomInt(rng, 0, 4);
  return `{${Array.from({ length: n }, () => `${JSON.stringify(pick(rng, KEYS))}:${randomJsonText(rng, depth + 1)}`).join(',')}}`;
}

/** A control-shaped object: a (mostly) known type with (mostly) its own fields, values random. */
function randomControlText(rng: Rng): string {
  const type = rng() < 0.85 ? pick(rng, CONTROL_TYPES) : pick(rng, WORDS);
  const parts = [`"type":${JSON.stringify(type)}`];
  const own = FIELDS[type] ?? [];
  for (const f of own) if (rng() < 0.9) parts.push(`${JSON.stringify(f)}:${rng() < 0.6 ? pick(rng, f === 'mode' ? WORDS.map((w) => JSON.stringify(w)) : NUMBERS) : randomJsonText(rng, 2)}`);
  if (rng() < 0.2) parts.push(`${JSON.stringify(pick(rng, KEYS))}:${randomJsonText(rng, 2)}`);
  if (rng() < 0.1) parts.push(parts[0] as string); // a duplicate key: JSON.parse keeps the last
  for (let i = parts.length - 1; i > 0; i--) {
    const j = Math.floor(rng() * (i + 1));
    [parts[i], parts[j]] = [parts[j] as string, parts[i] as string];
  }
  return `{${parts.join(',')}}`;
}

/** A valid control with a few characters inserted, deleted or replaced. */
function mutatedText(rng: Rng): string {
  let t = randomControlText(rng);
  for (let k = randomInt(rng, 1, 3); k > 0; k--) {
    const at = randomInt(rng, 0, t.length);
    const c = String.fromCharCode(pick(rng, [0x22, 0x7b, 0x7d, 0x3a, 0x2c, 0x5c, 0x30, 0x20, 0x00, randomInt(rng, 0, 0xffff)]));
    const op = rng();
    t = op < 0.33 ? t.slice(0, at) + c + t.slice(at) : op < 0.66 ? t.slice(0, at) + t.slice(at + 1) : t.slice(0, at) + c + t.slice(at + 1);
  }
  return t;
}

/** Checks the shape every parse result must have; returns it. */
function checkResult(r: ControlParseResult): ControlParseResult {
  if (r.ok) {
    expect(CONTROL_TYPES).toContain(r.message.type);
  } else {
    expect(CONTROL_CODES).toContain(r.code);
    // One line, and short: a refusal never echoes a whole oversized message back.
    expect(r.error).not.toMatch(/\n/);
    expect(r.error.length).toBeGreaterThan(10);
    expect(r.error.length).toBeLessThan(400);
  }
  return r;
}

describe('control messages: seeded random input', () => {
  /** Messages per generator; each parse takes microseconds. */
  const TRIALS = 3000;

  it('structured, mutated and random JSON: never throws, and accepts exactly what the documented rules accept', () => {
    const rng = mulberry32(60601);
    let accepted = 0;
    for (let t = 0; t < TRIALS; t++) {
      const text = t % 3 === 0 ? randomControlText(rng) : t % 3 === 1 ? mutatedText(rng) : randomJsonText(rng);
      const isBinary = rng() < 0.03;
      const got = checkResult(parseControlMessage(text, isBinary));
      const want = referenceControl(text, isBinary);
      expect(got.ok, text).toBe(want.ok);
      if (got.ok && want.ok) {
        expect(got.message, text).toEqual(want.message);
        accepted++;
      } else if (!got.ok && !want.ok) {
        expect(got.code, text).toBe(want.code);
      }
      // The same message as bytes (a text frame delivered as a Buffer) gets the same answer.
      expect(parseControlMessage(Buffer.from(text), isBinary), text).toEqual(got);
    }
    // The generators reach both outcomes.
    expect(accepted).toBeGreaterThan(TRIALS / 20);
    expect(accepted).toBeLessThan(TRIALS);
  });

  it('random bytes (invalid UTF-8 included) and oversized text: refused with a documented code, never thrown', () => {
    const rng = mulberry32(60602);
    for (let t = 0; t < TRIALS; t++) {
      const bytes = randomBytes(rng, randomInt(rng, 0, t % 10 === 0 ? 3 * MAX_CONTROL_BYTES : 64));
      const r = checkResult(parseControlMessage(bytes, rng() < 0.5));
      if (bytes.length > MAX_CONTROL_BYTES && !r.ok) expect(['E_CONTROL_SIZE', 'E_CONTROL_BINARY']).toContain(r.code);
    }
    // Multi-byte characters count as bytes, not characters, against the limit.
    const justOver = `{"type":"pause","x":"${'é'.repeat(MAX_CONTROL_BYTES / 2)}"}`;
    const over = parseControlMessage(justOver);
    expect(over.ok === false && over.code).toBe('E_CONTROL_SIZE');
  });

  it('the live session answers every invalid message with one error and applies every valid one, whatever arrives', () => {
    const rng = mulberry32(60603);
    const calls: string[] = [];
    const source: LiveSource = {
      frames: (async function* () {})(),
      setSmoothing: (r) => calls.push(`smoothing ${r}`),
      setZoom: (z) => calls.push(`zoom ${z}`),
      setBorder: (m) => calls.push(`border ${m}`),
      resetReference: () => calls.push('reset'),
      close: async () => {},
    };
    const session = new LiveSession(source, { ffmpegPath: 'ffmpeg-not-started', initialSettings: { smoothingRadius: 15, zoom: 1, border: 'black' } });
    const sent: string[][] = [[], []];
    const socket = (k: number) => ({
      bufferedAmount: 0,
      readyState: 1,
      send: (data: Buffer | string, cb?: (err?: Error) => void) => {
        (sent[k] as string[]).push(String(data));
        cb?.();
      },
    });
    const viewer = session.addViewer(socket(0));
    session.addViewer(socket(1));
    for (let t = 0; t < 2000; t++) {
      const before = [(sent[0] as string[]).length, (sent[1] as string[]).length];
      const callsBefore = calls.length;
      const kind = t % 4;
      const data: string | Uint8Array = kind === 0 ? randomControlText(rng) : kind === 1 ? mutatedText(rng) : kind === 2 ? randomJsonText(rng) : randomBytes(rng, randomInt(rng, 0, 40));
      const isBinary = rng() < 0.05;
      session.handleMessage(viewer, data, isBinary);
      const mine = (sent[0] as string[]).slice(before[0]).map((m) => JSON.parse(m) as Record<string, unknown>);
      const others = (sent[1] as string[]).slice(before[1]).map((m) => JSON.parse(m) as Record<string, unknown>);
      const parsed = parseControlMessage(data, isBinary);
      if (!parsed.ok) {
        // Exactly one answer, to the sender only, naming the code; nothing reaches the source.
        expect(mine).toEqual([{ type: 'error', code: parsed.code, message: parsed.error }]);
        expect(others).toEqual([]);
        expect(calls.length).toBe(callsBefore);
      } else if (parsed.message.type === 'view') {
        expect(mine).toEqual([{ type: 'view', mode: parsed.message.mode }]);
        expect(others).toEqual([]);
      } else {
        // A shared setting: every viewer is told the new settings.
        expect(mine).toHaveLength(1);
        expect(mine[0]?.type).toBe('settings');
        expect(others).toEqual(mine);
      }
      const s = session.currentSettings;
      expect(Number.isInteger(s.smoothingRadius) && s.smoothingRadius >= 0 && s.smoothingRadius <= MAX_SMOOTHING_RADIUS).toBe(true);
      expect(s.zoom >= MIN_ZOOM && s.zoom <= MAX_ZOOM).toBe(true);
      expect(BORDER_MODES).toContain(s.border);
    }
    expect(calls.length).toBeGreaterThan(0);
  });
});

// ---------------------------------------------------------------------------------------------------
// Binary frame protocol.

function sampleHeader(rng: Rng): FrameHeader {
  const m = () => Array.from({ length: 9 }, () => (rng() * 2 - 1) * 100);
  return {
    sequence: randomInt(rng, 0, 1e6),
    frameIndex: randomInt(rng, 0, 1e6),
    referenceIndex: randomInt(rng, 0, 1e6),
    registrationOk: rng() < 0.5,
    width: randomInt(rng, 1, 4000),
    height: randomInt(rng, 1, 4000),
    previewWidth: randomInt(rng, 1, 640),
    previewHeight: randomInt(rng, 1, 480),
    timeSec: rng() * 100,
    decodedAtMs: rng() * 1e6,
    sentAtMs: rng() * 1e6,
    wallClockMs: 1.7e12 + rng() * 1e9,
    cc: rng() < 0.2 ? Number.NaN : rng(),
    zoom: 1 + rng(),
    motion: m(),
    correction: m(),
    path: [rng(), rng(), rng()],
    smoothedPath: [rng(), rng(), rng()],
  };
}

function sampleMessage(rng: Rng): Buffer {
  return encodeFrameMessage(sampleHeader(rng), randomBytes(rng, randomInt(rng, 0, 200)), randomBytes(rng, randomInt(rng, 0, 200)));
}

/** Decodes, or returns the ProtocolError; anything else thrown fails the test. */
function tryDecode(bytes: unknown): ReturnType<typeof decodeFrameMessage> | ProtocolError {
  try {
    return decodeFrameMessage(bytes as Uint8Array);
  } catch (err) {
    expect(err).toBeInstanceOf(ProtocolError);
    expect((err as ProtocolError).code).toBe('E_PROTOCOL');
    return err as ProtocolError;
  }
}

/** Byte offsets of the 8-byte fields of the version-1 header, and which must be finite. */
const F64_FIELDS: [string, number, number][] = [
  ['timeSec', OFFSET.timeSec, 1],
  ['decodedAtMs', OFFSET.decodedAtMs, 1],
  ['sentAtMs', OFFSET.sentAtMs, 1],
  ['wallClockMs', OFFSET.wallClockMs, 1],
  ['cc', OFFSET.cc, 1],
  ['zoom', OFFSET.zoom, 1],
  ['motion', OFFSET.motion, 9],
  ['correction', OFFSET.correction, 9],
  ['path', OFFSET.path, 3],
  ['smoothedPath', OFFSET.smoothedPath, 3],
];

describe('frame protocol decoder: seeded random input', () => {
  it('reads only its own view: a message inside a larger buffer, at any offset, decodes as its copy does', () => {
    const rng = mulberry32(70701);
    for (let t = 0; t < 500; t++) {
      let msg: Uint8Array = sampleMessage(rng);
      if (t % 2 === 1) {
        msg = Uint8Array.from(msg);
        msg[randomInt(rng, 0, msg.length - 1)] = randomInt(rng, 0, 255);
      }
      const before = randomInt(rng, 0, 17);
      const after = randomInt(rng, 0, 17);
      const big = randomBytes(rng, before + msg.length + after);
      big.set(msg, before);
      const view = big.subarray(before, before + msg.length);
      const a = tryDecode(view);
      const b = tryDecode(Uint8Array.from(msg));
      if (a instanceof ProtocolError || b instanceof ProtocolError) {
        expect(a instanceof ProtocolError && b instanceof ProtocolError && a.message === b.message).toBe(true);
        continue;
      }
      expect(a.header).toEqual(b.header);
      expect(Array.from(a.original)).toEqual(Array.from(b.original));
      expect(Array.from(a.stabilized)).toEqual(Array.from(b.stabilized));
      // The payloads are views inside the message's own bytes, and they tile it after the header.
      expect(a.original.buffer).toBe(big.buffer);
      expect(a.original.byteOffset).toBeGreaterThanOrEqual(view.byteOffset + FRAME_HEADER_BYTES);
      expect(a.stabilized.byteOffset + a.stabilized.length).toBe(view.byteOffset + view.length);
    }
  });

  it('a corrupted number field is refused exactly when it is not finite (cc may be NaN: no registration)', () => {
    const rng = mulberry32(70702);
    const view = new DataView(new ArrayBuffer(8));
    for (let t = 0; t < 2000; t++) {
      const msg = Uint8Array.from(sampleMessage(rng));
      const [name, offset, count] = pick(rng, F64_FIELDS);
      const at = offset + 8 * randomInt(rng, 0, count - 1);
      // Random bit patterns reach NaN, infinities and subnormals; the special ones are drawn on purpose too.
      const special = [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, -0, Number.MIN_VALUE, Number.MAX_VALUE];
      if (rng() < 0.3) view.setFloat64(0, pick(rng, special), true);
      else for (let i = 0; i < 8; i++) view.setUint8(i, randomInt(rng, 0, 255));
      msg.set(new Uint8Array(view.buffer), at);
      const value = view.getFloat64(0, true);
      const r = tryDecode(msg);
      const refused = name === 'cc' ? !Number.isFinite(value) && !Number.isNaN(value) : !Number.isFinite(value);
      expect(r instanceof ProtocolError, `${name} = ${value}`).toBe(refused);
      if (r instanceof ProtocolError) expect(r.message).toContain(name);
    }
  });

  it('sizes that do not add up, zero sizes and cut messages are refused; inputs that are not bytes too', () => {
    const rng = mulberry32(70703);
    for (let t = 0; t < 1000; t++) {
      const msg = Uint8Array.from(sampleMessage(rng));
      const dv = new DataView(msg.buffer);
      const choice = t % 4;
      if (choice === 0) dv.setUint32(pick(rng, [OFFSET.originalBytes, OFFSET.stabilizedBytes]), randomInt(rng, 0, 0xffffffff), true);
      if (choice === 1) dv.setUint16(pick(rng, [OFFSET.width, OFFSET.height, OFFSET.previewWidth, OFFSET.previewHeight]), 0, true);
      if (choice === 2) dv.setUint16(OFFSET.headerBytes, randomInt(rng, 0, 0xffff), true);
      const bytes = choice === 3 ? msg.subarray(0, randomInt(rng, 0, msg.length - 1)) : msg;
      const sizes = FRAME_HEADER_BYTES + dv.getUint32(OFFSET.originalBytes, true) + dv.getUint32(OFFSET.stabilizedBytes, true);
      const headerOk = dv.getUint16(OFFSET.headerBytes, true) === FRAME_HEADER_BYTES;
      const r = tryDecode(bytes);
      if (choice === 1 || choice === 3 || (choice === 0 && sizes !== msg.length) || (choice === 2 && !headerOk)) {
        // A longer header from a later revision could in principle still add up; this one cannot (payloads
        // would move), except when the random size happens to be the true one.
        expect(r).toBeInstanceOf(ProtocolError);
      }
    }
    for (const notBytes of [null, undefined, 'STFR', 42, {}, [0x53, 0x54, 0x46, 0x52], new ArrayBuffer(400), new DataView(new ArrayBuffer(400)), new Uint16Array(200)]) {
      expect(tryDecode(notBytes)).toBeInstanceOf(ProtocolError);
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// Frame splitter over a real stream.

describe('frame splitter: arbitrary chunk boundaries and a ragged end, through a Readable', () => {
  it('yields every whole frame with its bytes, then PartialFrameError with the leftover count', async () => {
    const rng = mulberry32(80801);
    for (let t = 0; t < 150; t++) {
      const frameBytes = pick(rng, [1, 2, 3, 7, 64, 1000, randomInt(rng, 1, 5000)]);
      const whole = randomInt(rng, 0, 12);
      const extra = rng() < 0.5 ? 0 : randomInt(rng, 1, frameBytes - 1 > 0 ? frameBytes - 1 : 1);
      const total = whole * frameBytes + (frameBytes > 1 ? extra : 0);
      const bytes = randomBytes(rng, total);
      const chunks: Buffer[] = [];
      for (let at = 0; at < total; ) {
        const len = Math.min(total - at, pick(rng, [0, 1, randomInt(rng, 1, 3 * frameBytes), frameBytes, 2 * frameBytes + 1]));
        chunks.push(Buffer.from(bytes.subarray(at, at + len)));
        at += len;
      }
      const got: Uint8Array[] = [];
      let error: unknown = null;
      try {
        for await (const f of splitFrames(Readable.from(chunks), frameBytes)) got.push(Uint8Array.from(f));
      } catch (err) {
        error = err;
      }
      const leftover = total - whole * frameBytes;
      expect(got.length).toBe(whole);
      for (let k = 0; k < whole; k++) expect(Buffer.compare(Buffer.from(got[k] as Uint8Array), Buffer.from(bytes.subarray(k * frameBytes, (k + 1) * frameBytes)))).toBe(0);
      if (leftover === 0) {
        expect(error).toBeNull();
      } else {
        expect(error).toBeInstanceOf(PartialFrameError);
        expect((error as PartialFrameError).partialBytes).toBe(leftover);
        expect((error as PartialFrameError).frames).toBe(whole);
      }
    }
  });
});

// ---------------------------------------------------------------------------------------------------
// JPEG splitter (the preview encoder's output) on random bytes.

describe('JPEG splitter: random bytes', () => {
  it('only ever returns images that start with SOI and end with EOI, or refuses with E_PREVIEW_JPEG', () => {
    const rng = mulberry32(90901);
    let images = 0;
    let refused = 0;
    for (let t = 0; t < 400; t++) {
      const splitter = new JpegStreamSplitter(4096);
      try {
        for (let c = 0; c < 20; c++) {
          // Bytes rich in markers: FF, SOI, EOI and SOS come often.
          const chunk = Buffer.from(Array.from({ length: randomInt(rng, 0, 300) }, () => (rng() < 0.3 ? pick(rng, [0xff, 0xd8, 0xd9, 0xda, 0x00]) : randomInt(rng, 0, 255))));
          for (const img of splitter.push(chunk)) {
            images++;
            expect([img[0], img[1]]).toEqual([0xff, 0xd8]);
            expect([img[img.length - 2], img[img.length - 1]]).toEqual([0xff, 0xd9]);
          }
        }
      } catch (err) {
        expect(err).toBeInstanceOf(SteadyError);
        expect((err as SteadyError).code).toBe('E_PREVIEW_JPEG');
        refused++;
      }
    }
    expect(images + refused).toBeGreaterThan(0);
  });
});
