/**
 * Whether a finished MP4/MOV file (ISO base media file format, ISO/IEC 14496-12) is whole, read from its
 * boxes: a few reads and its index, no process.
 *
 * Why: ffmpeg exits 0 when the last thing it writes (the index, the `moov` box) meets a full disk, so every
 * finished output is read back before it takes its final name. Reading back with ffprobe costs a process
 * start (about 0.1 s, several percent of a short clip's run); for the container steady writes by default
 * the boxes answer the same question. A file is whole when
 *   - it starts with an `ftyp` box;
 *   - its top-level boxes follow one another exactly to the end of the file (a box cut short, or bytes
 *     after the last box, is not whole), with media data (`mdat`, or fragments: `moof`);
 *   - it has one `moov` box whose whole tree is consistent: the boxes inside every container box (`trak`,
 *     `mdia`, `minf`, `stbl`, ...) follow one another exactly to its end, every sample table's entry
 *     count fits its box exactly, and every chunk offset points into media data;
 *   - the `moov` holds a video track (a `trak` whose `mdia`/`hdlr` handler is `vide`).
 * A box size of 0 ("to the end of the file") is never taken: ffmpeg writes 0 as the size of a box it has
 * begun and fills the size in when the box is done, so a 0 left in a file marks writing cut short there.
 * Only "whole" is an answer: anything else (another container, a box this reader does not follow, an
 * index larger than MAX_INDEX_BYTES) leaves the question to ffprobe.
 */
import { open } from 'node:fs/promises';

/** Box header: 32-bit size, 4-character type; size 1: a 64-bit size follows. */
const HEADER_BYTES = 8;
const LARGE_HEADER_BYTES = 16;
/** Top-level boxes read before giving up (a real file has a handful). */
const MAX_TOP_LEVEL_BOXES = 4096;
/** The largest index read into memory (a two-hour 60 fps clip's is a few MB). */
const MAX_INDEX_BYTES = 64 * 2 ** 20;
/** Nesting deeper than this is not followed. */
const MAX_DEPTH = 16;

/** Boxes that hold only boxes, whose children are checked. */
const CONTAINERS = new Set(['trak', 'mdia', 'minf', 'stbl', 'dinf', 'edts', 'udta', 'mvex', 'tref']);
/**
 * Sample tables: bytes before the entries (version and flags, then the count; stsz also has a sample
 * size, and entries only when that is 0) and bytes per entry.
 */
const TABLES: Record<string, { readonly head: number; readonly entry: number }> = {
  stts: { head: 8, entry: 8 },
  ctts: { head: 8, entry: 8 },
  stss: { head: 8, entry: 4 },
  stsc: { head: 8, entry: 12 },
  stco: { head: 8, entry: 4 },
  co64: { head: 8, entry: 8 },
  stsz: { head: 12, entry: 4 },
};

/** One box: its type, where its content starts and where the box ends (offsets in the file or buffer). */
interface Box {
  readonly type: string;
  readonly contentStart: number;
  readonly end: number;
}

type ReadAt = (position: number, bytes: Uint8Array) => Promise<number>;

const typeOf = (b: Uint8Array, at: number) => String.fromCharCode(b[at] as number, b[at + 1] as number, b[at + 2] as number, b[at + 3] as number);

/** The box whose header is `header` (at least 16 bytes read from `position`), or null when it does not fit in [position, limit). */
function parseHeader(header: Uint8Array, position: number, limit: number): Box | null {
  const view = new DataView(header.buffer, header.byteOffset, header.length);
  if (limit - position < HEADER_BYTES || header.length < HEADER_BYTES) return null;
  const size32 = view.getUint32(0);
  let size = size32;
  let headerBytes = HEADER_BYTES;
  if (size32 === 1) {
    if (header.length < LARGE_HEADER_BYTES) return null;
    const big = view.getBigUint64(HEADER_BYTES);
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) return null;
    size = Number(big);
    headerBytes = LARGE_HEADER_BYTES;
  }
  // Size 0 included: see the file comment.
  if (size < headerBytes || position + size > limit) return null;
  return { type: typeOf(header, 4), contentStart: position + headerBytes, end: position + size };
}

/** The boxes directly inside [start, end) of `b`, or null unless they follow one another exactly to `end`. */
function childrenIn(b: Uint8Array, start: number, end: number): Box[] | null {
  const boxes: Box[] = [];
  for (let at = start; at < end; ) {
    const box = parseHeader(b.subarray(at, Math.min(end, at + LARGE_HEADER_BYTES)), at, end);
    if (box === null) return null;
    boxes.push(box);
    at = box.end;
  }
  return boxes;
}

/** What a walk of the index found: whether it is consistent, and whether it has a video track. */
interface IndexWalk {
  consistent: boolean;
  video: boolean;
}

/** Checks the boxes in [start, end) of the index `b` and below (file comment); mdat: the media ranges. */
function walkIndex(b: Uint8Array, start: number, end: number, mdat: readonly Box[], depth: number, walk: IndexWalk): void {
  const children = depth > MAX_DEPTH ? null : childrenIn(b, start, end);
  if (children === null) {
    walk.consistent = false;
    return;
  }
  const view = new DataView(b.buffer, b.byteOffset, b.length);
  for (const box of children) {
    if (!walk.consistent) return;
    const length = box.end - box.contentStart;
    if (CONTAINERS.has(box.type)) {
      walkIndex(b, box.contentStart, box.end, mdat, depth + 1, walk);
      if (box.type === 'trak' && isVideoTrack(b, box)) walk.video = true;
      continue;
    }
    const table = TABLES[box.type];
    if (table === undefined) continue;
    if (length < table.head) {
      walk.consistent = false;
      return;
    }
    const count = view.getUint32(box.contentStart + table.head - 4);
    const entries = box.type === 'stsz' && view.getUint32(box.contentStart + 4) !== 0 ? 0 : count;
    if (length !== table.head + entries * table.entry) {
      walk.consistent = false;
      return;
    }
    if (box.type === 'stco' || box.type === 'co64') {
      for (let i = 0; i < count; i++) {
        const at = box.contentStart + table.head + i * table.entry;
        const offset = box.type === 'stco' ? view.getUint32(at) : Number(view.getBigUint64(at));
        if (!mdat.some((m) => offset >= m.contentStart && offset < m.end)) {
          walk.consistent = false;
          return;
        }
      }
    }
  }
}

/** Whether the `trak` box `trak` of the index `b` is a video track (its mdia/hdlr handler type is 'vide'). */
function isVideoTrack(b: Uint8Array, trak: Box): boolean {
  for (const mdia of childrenIn(b, trak.contentStart, trak.end) ?? []) {
    if (mdia.type !== 'mdia') continue;
    for (const hdlr of childrenIn(b, mdia.contentStart, mdia.end) ?? []) {
      // FullBox version and flags (4 bytes), pre_defined (4), then handler_type.
      if (hdlr.type === 'hdlr' && hdlr.end - hdlr.contentStart >= 12 && typeOf(b, hdlr.contentStart + 8) === 'vide') return true;
    }
  }
  return false;
}

/**
 * True when the ISO BMFF file read through `readAt` (fileBytes long) is whole as the file comment says;
 * false for anything else, including a file that is not ISO BMFF at all.
 */
export async function isobmffWholeFrom(readAt: ReadAt, fileBytes: number): Promise<boolean> {
  const header = new Uint8Array(LARGE_HEADER_BYTES);
  let moov: Box | null = null;
  const mdat: Box[] = [];
  let fragments = false;
  for (let position = 0, count = 0; position < fileBytes; count++) {
    if (count >= MAX_TOP_LEVEL_BOXES) return false;
    const got = await readAt(position, header.subarray(0, Math.min(LARGE_HEADER_BYTES, fileBytes - position)));
    const box = parseHeader(header.subarray(0, got), position, fileBytes);
    if (box === null) return false;
    if (count === 0 && box.type !== 'ftyp') return false;
    if (box.type === 'moov') {
      if (moov !== null) return false;
      moov = box;
    } else if (box.type === 'mdat') mdat.push(box);
    else if (box.type === 'moof') fragments = true;
    position = box.end;
  }
  if (moov === null || (mdat.length === 0 && !fragments)) return false;
  const length = moov.end - moov.contentStart;
  if (length > MAX_INDEX_BYTES) return false;
  const index = new Uint8Array(length);
  if ((await readAt(moov.contentStart, index)) < length) return false;
  // Chunk offsets are file positions, as the media ranges are; the walk reads the index from its buffer.
  const walk: IndexWalk = { consistent: true, video: false };
  walkIndex(index, 0, length, mdat, 0, walk);
  return walk.consistent && walk.video;
}

/** isobmffWholeFrom on a file; false when it cannot be read. */
export async function isobmffWhole(path: string): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>> | null = null;
  try {
    handle = await open(path, 'r');
    const { size } = await handle.stat();
    const h = handle;
    return await isobmffWholeFrom(async (position, bytes) => {
      // A read may return fewer bytes than asked: read on to the end of the span.
      let done = 0;
      while (done < bytes.length) {
        const { bytesRead } = await h.read(bytes, done, bytes.length - done, position + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      return done;
    }, size);
  } catch {
    return false;
  } finally {
    await handle?.close().catch(() => {});
  }
}
