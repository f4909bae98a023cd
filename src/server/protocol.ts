/**
 * The binary frame message the live server sends to viewers, version 1 (docs/protocol.md is the
 * normative description; web/protocol.js is the browser's decoder of the same layout).
 *
 * One WebSocket binary message per frame: a fixed little-endian header, then two payloads (the original
 * and the stabilized preview, each one JPEG image). All offsets are from the start of the message and all
 * 8-byte fields sit at multiples of 8. Matrices are 3x3 row-major in input pixels (steady's convention:
 * `motion` maps pixel coordinates of frame k-1 to frame k; `correction` maps output pixel coordinates to
 * input pixel coordinates). `headerBytes` lets a later minor revision append header fields: a decoder reads
 * the fields it knows and finds the payloads at `headerBytes`.
 *
 * The JSON messages that travel beside the frames (hello, stats, settings, error, end; and the controls
 * in control.ts) are typed here too.
 */
import { SteadyError } from '../errors.js';

/** The four bytes every frame message starts with: ASCII "STFR". */
export const FRAME_MAGIC = 0x52465453; // 'S' 'T' 'F' 'R' read as a little-endian u32
/** The protocol version this module writes and reads. */
export const PROTOCOL_VERSION = 1;
/** Size in bytes of the version-1 header. */
export const FRAME_HEADER_BYTES = 280;
/** Payload format code: each payload is one baseline JPEG image. */
export const PAYLOAD_JPEG = 1;
/** Header flag bit: the registration of this frame succeeded (otherwise the last motion was held). */
export const FLAG_REGISTRATION_OK = 1;

/** Byte offsets of the version-1 header fields. */
export const OFFSET = {
  magic: 0,
  version: 4,
  headerBytes: 6,
  sequence: 8,
  frameIndex: 12,
  referenceIndex: 16,
  flags: 20,
  payloadFormat: 22,
  reserved: 23,
  width: 24,
  height: 26,
  previewWidth: 28,
  previewHeight: 30,
  originalBytes: 32,
  stabilizedBytes: 36,
  timeSec: 40,
  decodedAtMs: 48,
  sentAtMs: 56,
  wallClockMs: 64,
  cc: 72,
  zoom: 80,
  motion: 88,
  correction: 160,
  path: 232,
  smoothedPath: 256,
} as const;

/** Largest value of an unsigned 16-bit field (widths and heights). */
const U16_MAX = 0xffff;
/** Largest value of an unsigned 32-bit field (counters and payload sizes). */
const U32_MAX = 0xffffffff;

/** A malformed frame message: wrong magic, unknown version, sizes that do not add up. */
export class ProtocolError extends SteadyError {
  constructor(message: string) {
    super('E_PROTOCOL', message);
    this.name = 'ProtocolError';
  }
}

/** The header of one frame message: everything but the payload bytes. */
export interface FrameHeader {
  /** Message number in this server run, +1 per frame message produced (a viewer that sees a gap missed frames). */
  readonly sequence: number;
  /** 0-based source frame index (a gap means the pipeline dropped frames). */
  readonly frameIndex: number;
  /** Index of the frame the stabilizer registers against. */
  readonly referenceIndex: number;
  /** The registration of this frame succeeded. */
  readonly registrationOk: boolean;
  /** Source frame size in pixels. */
  readonly width: number;
  readonly height: number;
  /** Size of the preview images in pixels. */
  readonly previewWidth: number;
  readonly previewHeight: number;
  /** Presentation time of the frame in seconds from the first frame. */
  readonly timeSec: number;
  /** Server monotonic clock (ms) when the decoder handed the frame over. */
  readonly decodedAtMs: number;
  /** Server monotonic clock (ms) when this message was sent; `sentAtMs - decodedAtMs` is the server latency. */
  readonly sentAtMs: number;
  /** Server wall clock (ms since 1970-01-01 UTC) when this message was sent. */
  readonly wallClockMs: number;
  /** Correlation coefficient of the registration; NaN when none. */
  readonly cc: number;
  /** Zoom factor applied to the stabilized frame (1 = none). */
  readonly zoom: number;
  /** 3x3 row-major, maps pixel coordinates of frame k-1 to frame k. */
  readonly motion: ArrayLike<number>;
  /** 3x3 row-major, maps output pixel coordinates to input pixel coordinates. */
  readonly correction: ArrayLike<number>;
  /** Raw camera path of the image centre: x px, y px, angle rad. */
  readonly path: ArrayLike<number>;
  /** Smoothed camera path: x px, y px, angle rad. */
  readonly smoothedPath: ArrayLike<number>;
}

/** A decoded frame message; the payloads are views into the message bytes (no copy). */
export interface FrameMessage {
  readonly header: FrameHeader;
  /** JPEG bytes of the original frame preview. */
  readonly original: Uint8Array;
  /** JPEG bytes of the stabilized frame preview. */
  readonly stabilized: Uint8Array;
}

function checkUint(name: string, value: number, max: number, min = 0): void {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ProtocolError(`Expected an integer ${min}..${max} for ${name} but received ${value}`);
  }
}

function checkFinite(name: string, values: ArrayLike<number>, count: number): void {
  if (values.length !== count) throw new ProtocolError(`Expected ${count} numbers for ${name} but received ${values.length}`);
  for (let i = 0; i < count; i++) {
    if (!Number.isFinite(values[i])) throw new ProtocolError(`Expected finite numbers for ${name} but element ${i} is ${values[i]}`);
  }
}

/**
 * Writes a version-1 header into `view` at offset 0 (the view must hold at least FRAME_HEADER_BYTES) and
 * returns the view. Validates every field: an encoder that writes garbage would make every viewer fail.
 * @throws ProtocolError when a field is out of range or not finite.
 */
export function writeFrameHeaderInto(view: DataView, header: FrameHeader, originalBytes: number, stabilizedBytes: number): DataView {
  if (view.byteLength < FRAME_HEADER_BYTES) {
    throw new ProtocolError(`Expected at least ${FRAME_HEADER_BYTES} bytes for the header but the buffer has ${view.byteLength}`);
  }
  checkUint('sequence', header.sequence, U32_MAX);
  checkUint('frameIndex', header.frameIndex, U32_MAX);
  checkUint('referenceIndex', header.referenceIndex, U32_MAX);
  checkUint('width', header.width, U16_MAX, 1);
  checkUint('height', header.height, U16_MAX, 1);
  checkUint('previewWidth', header.previewWidth, U16_MAX, 1);
  checkUint('previewHeight', header.previewHeight, U16_MAX, 1);
  checkUint('originalBytes', originalBytes, U32_MAX);
  checkUint('stabilizedBytes', stabilizedBytes, U32_MAX);
  checkFinite('timeSec', [header.timeSec], 1);
  checkFinite('decodedAtMs', [header.decodedAtMs], 1);
  checkFinite('sentAtMs', [header.sentAtMs], 1);
  checkFinite('wallClockMs', [header.wallClockMs], 1);
  checkFinite('zoom', [header.zoom], 1);
  if (!Number.isNaN(header.cc)) checkFinite('cc', [header.cc], 1);
  checkFinite('motion', header.motion, 9);
  checkFinite('correction', header.correction, 9);
  checkFinite('path', header.path, 3);
  checkFinite('smoothedPath', header.smoothedPath, 3);

  view.setUint32(OFFSET.magic, FRAME_MAGIC, true);
  view.setUint16(OFFSET.version, PROTOCOL_VERSION, true);
  view.setUint16(OFFSET.headerBytes, FRAME_HEADER_BYTES, true);
  view.setUint32(OFFSET.sequence, header.sequence, true);
  view.setUint32(OFFSET.frameIndex, header.frameIndex, true);
  view.setUint32(OFFSET.referenceIndex, header.referenceIndex, true);
  view.setUint16(OFFSET.flags, header.registrationOk ? FLAG_REGISTRATION_OK : 0, true);
  view.setUint8(OFFSET.payloadFormat, PAYLOAD_JPEG);
  view.setUint8(OFFSET.reserved, 0);
  view.setUint16(OFFSET.width, header.width, true);
  view.setUint16(OFFSET.height, header.height, true);
  view.setUint16(OFFSET.previewWidth, header.previewWidth, true);
  view.setUint16(OFFSET.previewHeight, header.previewHeight, true);
  view.setUint32(OFFSET.originalBytes, originalBytes, true);
  view.setUint32(OFFSET.stabilizedBytes, stabilizedBytes, true);
  view.setFloat64(OFFSET.timeSec, header.timeSec, true);
  view.setFloat64(OFFSET.decodedAtMs, header.decodedAtMs, true);
  view.setFloat64(OFFSET.sentAtMs, header.sentAtMs, true);
  view.setFloat64(OFFSET.wallClockMs, header.wallClockMs, true);
  view.setFloat64(OFFSET.cc, header.cc, true);
  view.setFloat64(OFFSET.zoom, header.zoom, true);
  for (let i = 0; i < 9; i++) {
    view.setFloat64(OFFSET.motion + 8 * i, header.motion[i] as number, true);
    view.setFloat64(OFFSET.correction + 8 * i, header.correction[i] as number, true);
  }
  for (let i = 0; i < 3; i++) {
    view.setFloat64(OFFSET.path + 8 * i, header.path[i] as number, true);
    view.setFloat64(OFFSET.smoothedPath + 8 * i, header.smoothedPath[i] as number, true);
  }
  return view;
}

/**
 * Encodes one frame message: header, then the original payload, then the stabilized payload, in one new
 * Buffer. The same Buffer is sent to every viewer, so it is made once per frame, not once per viewer.
 * @throws ProtocolError when a header field is out of range.
 */
export function encodeFrameMessage(header: FrameHeader, original: Uint8Array, stabilized: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + original.length + stabilized.length);
  writeFrameHeaderInto(new DataView(out.buffer, out.byteOffset, FRAME_HEADER_BYTES), header, original.length, stabilized.length);
  out.set(original, FRAME_HEADER_BYTES);
  out.set(stabilized, FRAME_HEADER_BYTES + original.length);
  return out;
}

function readF64s(view: DataView, offset: number, count: number): Float64Array {
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = view.getFloat64(offset + 8 * i, true);
  return out;
}

/**
 * Decodes a frame message. The payloads are views into `bytes`.
 * @throws ProtocolError for anything that is not a well-formed version-1 message: too short, wrong magic,
 * unsupported version, header size or payload sizes that do not match the message length, unknown payload
 * format, zero sizes, non-finite numbers.
 */
export function decodeFrameMessage(bytes: Uint8Array): FrameMessage {
  if (!(bytes instanceof Uint8Array)) throw new ProtocolError('Expected the frame message as bytes (Uint8Array)');
  if (bytes.length < 8) throw new ProtocolError(`Expected a frame message of at least ${FRAME_HEADER_BYTES} bytes but received ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(OFFSET.magic, true);
  if (magic !== FRAME_MAGIC) {
    throw new ProtocolError(`Expected the magic "STFR" at the start of a frame message but received 0x${magic.toString(16).padStart(8, '0')}`);
  }
  const version = view.getUint16(OFFSET.version, true);
  if (version !== PROTOCOL_VERSION) {
    throw new ProtocolError(`Expected frame protocol version ${PROTOCOL_VERSION} but received ${version}`);
  }
  const headerBytes = view.getUint16(OFFSET.headerBytes, true);
  if (headerBytes < FRAME_HEADER_BYTES || headerBytes % 8 !== 0) {
    throw new ProtocolError(`Expected a header size of at least ${FRAME_HEADER_BYTES} bytes (a multiple of 8) but received ${headerBytes}`);
  }
  if (bytes.length < headerBytes) {
    throw new ProtocolError(`Expected at least ${headerBytes} bytes (the header) but the message has ${bytes.length}`);
  }
  const format = view.getUint8(OFFSET.payloadFormat);
  if (format !== PAYLOAD_JPEG) throw new ProtocolError(`Expected payload format ${PAYLOAD_JPEG} (JPEG) but received ${format}`);
  const originalBytes = view.getUint32(OFFSET.originalBytes, true);
  const stabilizedBytes = view.getUint32(OFFSET.stabilizedBytes, true);
  if (headerBytes + originalBytes + stabilizedBytes !== bytes.length) {
    throw new ProtocolError(
      `Expected ${headerBytes} + ${originalBytes} + ${stabilizedBytes} = ${headerBytes + originalBytes + stabilizedBytes} bytes (header + payloads) but the message has ${bytes.length}`,
    );
  }
  const width = view.getUint16(OFFSET.width, true);
  const height = view.getUint16(OFFSET.height, true);
  const previewWidth = view.getUint16(OFFSET.previewWidth, true);
  const previewHeight = view.getUint16(OFFSET.previewHeight, true);
  if (width === 0 || height === 0 || previewWidth === 0 || previewHeight === 0) {
    throw new ProtocolError(`Expected non-zero frame sizes but received ${width}x${height} (preview ${previewWidth}x${previewHeight})`);
  }
  const scalars = {
    timeSec: view.getFloat64(OFFSET.timeSec, true),
    decodedAtMs: view.getFloat64(OFFSET.decodedAtMs, true),
    sentAtMs: view.getFloat64(OFFSET.sentAtMs, true),
    wallClockMs: view.getFloat64(OFFSET.wallClockMs, true),
    zoom: view.getFloat64(OFFSET.zoom, true),
  };
  for (const [name, v] of Object.entries(scalars)) checkFinite(name, [v], 1);
  const cc = view.getFloat64(OFFSET.cc, true);
  if (!Number.isNaN(cc)) checkFinite('cc', [cc], 1);
  const motion = readF64s(view, OFFSET.motion, 9);
  const correction = readF64s(view, OFFSET.correction, 9);
  const path = readF64s(view, OFFSET.path, 3);
  const smoothedPath = readF64s(view, OFFSET.smoothedPath, 3);
  checkFinite('motion', motion, 9);
  checkFinite('correction', correction, 9);
  checkFinite('path', path, 3);
  checkFinite('smoothedPath', smoothedPath, 3);
  const header: FrameHeader = {
    sequence: view.getUint32(OFFSET.sequence, true),
    frameIndex: view.getUint32(OFFSET.frameIndex, true),
    referenceIndex: view.getUint32(OFFSET.referenceIndex, true),
    registrationOk: (view.getUint16(OFFSET.flags, true) & FLAG_REGISTRATION_OK) !== 0,
    width,
    height,
    previewWidth,
    previewHeight,
    ...scalars,
    cc,
    motion,
    correction,
    path,
    smoothedPath,
  };
  const start = headerBytes;
  return {
    header,
    original: bytes.subarray(start, start + originalBytes),
    stabilized: bytes.subarray(start + originalBytes, start + originalBytes + stabilizedBytes),
  };
}

// ---------------------------------------------------------------------------------------------------
// JSON messages from the server to viewers (text WebSocket messages).

/** The view a viewer shows: both streams, the stabilized stream alone, or frame-to-frame differences. */
export type ViewMode = 'side-by-side' | 'stabilized' | 'difference';
/** Every view mode, in the order the viewer lists them. */
export const VIEW_MODES: readonly ViewMode[] = ['side-by-side', 'stabilized', 'difference'];

/** How the stabilizer fills pixels the corrected frame does not cover. */
export type BorderMode = 'black' | 'replicate' | 'reflect';
/** Every border mode. */
export const BORDER_MODES: readonly BorderMode[] = ['black', 'replicate', 'reflect'];

/** The live settings every viewer shares (the view mode is each viewer's own). */
export interface LiveSettings {
  /** Frames are not being sent (the source keeps running). */
  readonly paused: boolean;
  /** Smoothing radius in frames. */
  readonly smoothingRadius: number;
  /** Zoom factor (1 = none). */
  readonly zoom: number;
  readonly border: BorderMode;
}

/** Sent once to each viewer when it connects. */
export interface HelloMessage {
  readonly type: 'hello';
  readonly protocolVersion: number;
  /** Id of this viewer in this server run (for logs and stats). */
  readonly viewerId: number;
  /** Source frame size and rate (rate 0 when unknown). */
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly previewWidth: number;
  readonly previewHeight: number;
  /** Look-ahead of the smoother in frames (the least latency the stabilized stream can have). */
  readonly lookaheadFrames: number;
  readonly settings: LiveSettings;
}

/** Sent to every viewer about twice a second. */
export interface StatsMessage {
  readonly type: 'stats';
  /** Frames per second arriving from the stabilizer, over the last second. */
  readonly fpsIn: number;
  /** Frame messages per second produced for viewers, over the last second. */
  readonly fpsOut: number;
  /** Frames lost before reaching the server (gaps in frame indices). */
  readonly droppedUpstream: number;
  /** Frames dropped because the preview encoder was busy. */
  readonly droppedEncoder: number;
  /** Frames this viewer did not receive because it was behind. */
  readonly droppedViewer: number;
  /** Frames this viewer received. */
  readonly sentViewer: number;
  /** Latency from leaving the decoder to being sent, ms, over the recent frames. */
  readonly latencyMedianMs: number;
  readonly latencyP95Ms: number;
  /** Correlation coefficient of the latest frame (null when none). */
  readonly cc: number | null;
  readonly viewers: number;
  readonly paused: boolean;
}

/** Sent to every viewer when a control changed a shared setting. */
export interface SettingsMessage {
  readonly type: 'settings';
  readonly settings: LiveSettings;
}

/** Sent to a viewer whose control message was refused. */
export interface ErrorMessage {
  readonly type: 'error';
  readonly code: string;
  readonly message: string;
}

/** Sent to a viewer to confirm its own view mode change. */
export interface ViewMessage {
  readonly type: 'view';
  readonly mode: ViewMode;
}

/** Sent to every viewer when the source ended (the server then closes). */
export interface EndMessage {
  readonly type: 'end';
  readonly frames: number;
}

/** Every JSON message a server sends. */
export type ServerMessage = HelloMessage | StatsMessage | SettingsMessage | ErrorMessage | ViewMessage | EndMessage;
