/**
 * Browser decoder of steady's binary frame message, version 1 (docs/protocol.md; the server's encoder is
 * src/server/protocol.ts). Little-endian header of 280 bytes, then the original and the stabilized
 * preview as JPEG bytes. Payloads are returned as views into the message (no copy).
 */

/** "STFR" read as a little-endian u32. */
export const FRAME_MAGIC = 0x52465453;
export const PROTOCOL_VERSION = 1;
export const FRAME_HEADER_BYTES = 280;
export const PAYLOAD_JPEG = 1;
export const FLAG_REGISTRATION_OK = 1;

/** A malformed frame message. */
export class ProtocolError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ProtocolError';
    this.code = 'E_PROTOCOL';
  }
}

function f64s(view, offset, count, name) {
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const v = view.getFloat64(offset + 8 * i, true);
    if (!Number.isFinite(v)) throw new ProtocolError(`Expected finite numbers for ${name} but element ${i} is ${v}`);
    out[i] = v;
  }
  return out;
}

/**
 * Decodes one frame message.
 * @param {ArrayBuffer | Uint8Array} data
 * @returns {{header: object, original: Uint8Array, stabilized: Uint8Array}}
 * @throws {ProtocolError} when the bytes are not a well-formed version-1 message.
 */
export function decodeFrameMessage(data) {
  let bytes;
  if (data instanceof Uint8Array) bytes = data;
  else if (data instanceof ArrayBuffer) bytes = new Uint8Array(data);
  else throw new ProtocolError('Expected the frame message as an ArrayBuffer or Uint8Array');
  if (bytes.length < 8) throw new ProtocolError(`Expected a frame message of at least ${FRAME_HEADER_BYTES} bytes but received ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0, true);
  if (magic !== FRAME_MAGIC) {
    throw new ProtocolError(`Expected the magic "STFR" at the start of a frame message but received 0x${magic.toString(16).padStart(8, '0')}`);
  }
  const version = view.getUint16(4, true);
  if (version !== PROTOCOL_VERSION) throw new ProtocolError(`Expected frame protocol version ${PROTOCOL_VERSION} but received ${version}`);
  const headerBytes = view.getUint16(6, true);
  if (headerBytes < FRAME_HEADER_BYTES || headerBytes % 8 !== 0) {
    throw new ProtocolError(`Expected a header size of at least ${FRAME_HEADER_BYTES} bytes (a multiple of 8) but received ${headerBytes}`);
  }
  if (bytes.length < headerBytes) throw new ProtocolError(`Expected at least ${headerBytes} bytes (the header) but the message has ${bytes.length}`);
  const format = view.getUint8(22);
  if (format !== PAYLOAD_JPEG) throw new ProtocolError(`Expected payload format ${PAYLOAD_JPEG} (JPEG) but received ${format}`);
  const originalBytes = view.getUint32(32, true);
  const stabilizedBytes = view.getUint32(36, true);
  if (headerBytes + originalBytes + stabilizedBytes !== bytes.length) {
    throw new ProtocolError(
      `Expected ${headerBytes} + ${originalBytes} + ${stabilizedBytes} = ${headerBytes + originalBytes + stabilizedBytes} bytes (header + payloads) but the message has ${bytes.length}`,
    );
  }
  const width = view.getUint16(24, true);
  const height = view.getUint16(26, true);
  const previewWidth = view.getUint16(28, true);
  const previewHeight = view.getUint16(30, true);
  if (width === 0 || height === 0 || previewWidth === 0 || previewHeight === 0) {
    throw new ProtocolError(`Expected non-zero frame sizes but received ${width}x${height} (preview ${previewWidth}x${previewHeight})`);
  }
  const [timeSec, decodedAtMs, sentAtMs, wallClockMs] = f64s(view, 40, 4, 'timestamps');
  const cc = view.getFloat64(72, true);
  if (!Number.isNaN(cc) && !Number.isFinite(cc)) throw new ProtocolError(`Expected a finite number or NaN for cc but received ${cc}`);
  const [zoom] = f64s(view, 80, 1, 'zoom');
  const header = {
    sequence: view.getUint32(8, true),
    frameIndex: view.getUint32(12, true),
    referenceIndex: view.getUint32(16, true),
    registrationOk: (view.getUint16(20, true) & FLAG_REGISTRATION_OK) !== 0,
    width,
    height,
    previewWidth,
    previewHeight,
    timeSec,
    decodedAtMs,
    sentAtMs,
    wallClockMs,
    cc,
    zoom,
    motion: f64s(view, 88, 9, 'motion'),
    correction: f64s(view, 160, 9, 'correction'),
    path: f64s(view, 232, 3, 'path'),
    smoothedPath: f64s(view, 256, 3, 'smoothedPath'),
  };
  return {
    header,
    original: bytes.subarray(headerBytes, headerBytes + originalBytes),
    stabilized: bytes.subarray(headerBytes + originalBytes, headerBytes + originalBytes + stabilizedBytes),
  };
}
