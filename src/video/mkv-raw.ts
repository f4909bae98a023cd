/**
 * A minimal Matroska stream of raw YUV 4:2:0 frames with a timestamp each: what the encoder reads from its
 * stdin when the frames are not evenly spaced in time (variable frame rate), since raw video on a pipe
 * has no timestamps (ffmpeg would space the frames evenly).
 *
 * Layout (Matroska / EBML, RFC 9559): an EBML header; a Segment of unknown size (a stream); Info with
 * TimestampScale = 1 ns; Tracks with one video track (a DefaultDuration: the nominal length of a frame),
 * CodecID `V_UNCOMPRESSED`, ColourSpace `I420` (planar
 * Y, U, V, 8 bits, chroma halved in both directions); then one Cluster per frame holding its Timestamp (ns)
 * and one SimpleBlock (track 1, relative time 0, key frame) whose payload is the frame's Y, U, V planes.
 * Element sizes are written as 8-byte EBML numbers, except in the fixed header, so a frame's header has a
 * fixed length and the frame's bytes are written after it as they are (no copy).
 */

/** Bytes of the header written before each frame's planes (frameHeaderInto). */
export const MKV_FRAME_HEADER_BYTES = 4 + 8 + (1 + 1 + 8) + (1 + 8 + 4);

/** An EBML element: ID bytes, size as an EBML number, payload. */
function element(id: readonly number[], payload: Uint8Array): Uint8Array {
  const size = sizeNumber(payload.length);
  const out = new Uint8Array(id.length + size.length + payload.length);
  out.set(id, 0);
  out.set(size, id.length);
  out.set(payload, id.length + size.length);
  return out;
}

/** A size as the shortest EBML variable-length number (all-ones patterns are reserved for "unknown"). */
function sizeNumber(n: number): Uint8Array {
  for (let len = 1; len <= 8; len++) {
    if (n < 2 ** (7 * len) - 1) {
      const out = new Uint8Array(len);
      let v = n;
      for (let i = len - 1; i >= 0; i--) {
        out[i] = v % 256;
        v = Math.floor(v / 256);
      }
      out[0] = (out[0] as number) | (0x80 >> (len - 1));
      return out;
    }
  }
  throw new RangeError(`EBML size too large: ${n}`);
}

/** An unsigned integer payload, big-endian, in as few bytes as it needs (at least one). */
function uintPayload(v: number): Uint8Array {
  const bytes: number[] = [];
  let x = v;
  do {
    bytes.unshift(x % 256);
    x = Math.floor(x / 256);
  } while (x > 0);
  return Uint8Array.from(bytes);
}

const text = (s: string): Uint8Array => new TextEncoder().encode(s);
const concat = (...parts: Uint8Array[]): Uint8Array => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
};

/**
 * The stream's header: EBML header, the start of a Segment of unknown size, Info and Tracks.
 * @param frameDurationNs the track's DefaultDuration, nanoseconds: how long the last frame lasts (without
 *   it, ffmpeg's MP4 muxer before 5 ends the file at the last frame's start and players drop that frame).
 */
export function mkvRawHeader(width: number, height: number, frameDurationNs: number): Uint8Array {
  const ebml = element(
    [0x1a, 0x45, 0xdf, 0xa3],
    concat(
      element([0x42, 0x86], uintPayload(1)), // EBMLVersion
      element([0x42, 0xf7], uintPayload(1)), // EBMLReadVersion
      element([0x42, 0xf2], uintPayload(4)), // EBMLMaxIDLength
      element([0x42, 0xf3], uintPayload(8)), // EBMLMaxSizeLength
      element([0x42, 0x82], text('matroska')), // DocType
      element([0x42, 0x87], uintPayload(4)), // DocTypeVersion
      element([0x42, 0x85], uintPayload(2)), // DocTypeReadVersion
    ),
  );
  // Segment with the reserved "unknown size" (a live stream: its end is the end of the pipe).
  const segment = Uint8Array.of(0x18, 0x53, 0x80, 0x67, 0x01, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff);
  const info = element(
    [0x15, 0x49, 0xa9, 0x66],
    concat(
      element([0x2a, 0xd7, 0xb1], uintPayload(1)), // TimestampScale: 1 ns per tick
      element([0x4d, 0x80], text('steady')), // MuxingApp
      element([0x57, 0x41], text('steady')), // WritingApp
    ),
  );
  const video = element(
    [0xe0],
    concat(
      element([0xb0], uintPayload(width)), // PixelWidth
      element([0xba], uintPayload(height)), // PixelHeight
      element([0x2e, 0xb5, 0x24], text('I420')), // ColourSpace (a FourCC)
    ),
  );
  const track = element(
    [0xae],
    concat(
      element([0xd7], uintPayload(1)), // TrackNumber
      element([0x73, 0xc5], uintPayload(1)), // TrackUID
      element([0x83], uintPayload(1)), // TrackType: video
      element([0x9c], uintPayload(0)), // FlagLacing: off
      element([0x23, 0xe3, 0x83], uintPayload(Math.max(1, Math.round(frameDurationNs)))), // DefaultDuration
      element([0x86], text('V_UNCOMPRESSED')), // CodecID
      video,
    ),
  );
  return concat(ebml, segment, info, element([0x16, 0x54, 0xae, 0x6b], track));
}

/** Writes `v` (0 <= v < 2^53) as 8 big-endian bytes at `at`. */
function put8(out: Uint8Array, at: number, v: number): void {
  let x = v;
  for (let i = 7; i >= 0; i--) {
    out[at + i] = x % 256;
    x = Math.floor(x / 256);
  }
}

/** Writes `n` as an 8-byte EBML size at `at`. */
function putSize8(out: Uint8Array, at: number, n: number): void {
  put8(out, at, n);
  out[at] = 0x01;
}

/**
 * Writes the header of one frame into `out` (at least MKV_FRAME_HEADER_BYTES): a Cluster with the frame's
 * Timestamp and the start of its SimpleBlock, whose payload (the frameBytes of Y, U, V) follows.
 * @param timeNs presentation time, nanoseconds (an integer, 0 <= timeNs < 2^53).
 * @returns the bytes written (MKV_FRAME_HEADER_BYTES).
 */
export function mkvFrameHeaderInto(out: Uint8Array, timeNs: number, frameBytes: number): number {
  if (!(Number.isInteger(timeNs) && timeNs >= 0 && timeNs <= Number.MAX_SAFE_INTEGER)) throw new RangeError(`frame time must be a whole number of ns >= 0, got ${timeNs}`);
  const blockBytes = 4 + frameBytes;
  const clusterBytes = 1 + 1 + 8 + (1 + 8 + blockBytes);
  let o = 0;
  out.set([0x1f, 0x43, 0xb6, 0x75], o); // Cluster
  o += 4;
  putSize8(out, o, clusterBytes);
  o += 8;
  out[o++] = 0xe7; // Timestamp
  out[o++] = 0x88; // size 8
  put8(out, o, timeNs);
  o += 8;
  out[o++] = 0xa3; // SimpleBlock
  putSize8(out, o, blockBytes);
  o += 8;
  out[o++] = 0x81; // track 1
  out[o++] = 0; // time relative to the cluster: 0
  out[o++] = 0;
  out[o++] = 0x80; // flags: key frame
  return o;
}
