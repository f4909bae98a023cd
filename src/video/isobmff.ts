/**
 * Whether a finished MP4/MOV file (ISO base media file format, ISO/IEC 14496-12) is whole, read from its
 * box headers alone: a few reads, no process.
 *
 * Why: ffmpeg exits 0 when the last thing it writes (the index, the `moov` box) meets a full disk, so every
 * finished output is read back before it takes its final name. Reading back with ffprobe costs a process
 * start (about 0.1 s, several percent of a short clip's run); for the container steady writes by default
 * the box structure answers the same question. A file is whole when
 *   - it starts with an `ftyp` box,
 *   - its top-level boxes follow one another exactly to the end of the file (a box cut short, or bytes
 *     after the last box, is not whole),
 *   - it has a `moov` box with a video track (a `trak` whose `mdia`/`hdlr` handler is `vide`), and media
 *     data (`mdat`, or fragments: `moof`).
 * Only "whole" is an answer: anything else (another container, a box this reader does not follow) leaves
 * the question to ffprobe.
 */
import { open } from 'node:fs/promises';

/** Box header: 32-bit size, 4-character type; size 1: a 64-bit size follows; size 0: to the end of the file. */
const HEADER_BYTES = 8;
const LARGE_HEADER_BYTES = 16;
/** Top-level boxes read before giving up (a real file has a handful). */
const MAX_TOP_LEVEL_BOXES = 4096;
/** Boxes read inside one box while looking for the video track. */
const MAX_CHILDREN = 4096;

/** One box header: its type, where its content starts and where the box ends. */
interface BoxHeader {
  readonly type: string;
  readonly contentStart: number;
  readonly end: number;
}

type ReadAt = (position: number, bytes: Uint8Array) => Promise<number>;

/** The header of the box at `position` inside [position, limit), or null when it does not fit there. */
async function boxAt(readAt: ReadAt, position: number, limit: number, buf: Uint8Array): Promise<BoxHeader | null> {
  if (limit - position < HEADER_BYTES) return null;
  if ((await readAt(position, buf.subarray(0, HEADER_BYTES))) < HEADER_BYTES) return null;
  const view = new DataView(buf.buffer, buf.byteOffset, LARGE_HEADER_BYTES);
  const size32 = view.getUint32(0);
  const type = String.fromCharCode(buf[4] as number, buf[5] as number, buf[6] as number, buf[7] as number);
  let headerBytes = HEADER_BYTES;
  let size: number;
  if (size32 === 1) {
    if (limit - position < LARGE_HEADER_BYTES) return null;
    if ((await readAt(position + HEADER_BYTES, buf.subarray(HEADER_BYTES, LARGE_HEADER_BYTES))) < HEADER_BYTES) return null;
    const big = view.getBigUint64(HEADER_BYTES);
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) return null;
    size = Number(big);
    headerBytes = LARGE_HEADER_BYTES;
  } else if (size32 === 0) {
    size = limit - position;
  } else {
    size = size32;
  }
  if (size < headerBytes || position + size > limit) return null;
  return { type, contentStart: position + headerBytes, end: position + size };
}

/**
 * True when the ISO BMFF file read through `readAt` (fileBytes long) is whole as the file comment says;
 * false for anything else, including a file that is not ISO BMFF at all.
 */
export async function isobmffWholeFrom(readAt: ReadAt, fileBytes: number): Promise<boolean> {
  const buf = new Uint8Array(LARGE_HEADER_BYTES);
  let position = 0;
  let moov: BoxHeader | null = null;
  let media = false;
  for (let count = 0; position < fileBytes; count++) {
    if (count >= MAX_TOP_LEVEL_BOXES) return false;
    const box = await boxAt(readAt, position, fileBytes, buf);
    if (box === null) return false;
    if (count === 0 && box.type !== 'ftyp') return false;
    if (box.type === 'moov') moov = box;
    else if (box.type === 'mdat' || box.type === 'moof') media = true;
    position = box.end;
  }
  if (moov === null || !media) return false;
  for (const trak of await childrenOf(readAt, moov, 'trak', buf)) {
    for (const mdia of await childrenOf(readAt, trak, 'mdia', buf)) {
      for (const hdlr of await childrenOf(readAt, mdia, 'hdlr', buf)) {
        // FullBox version and flags (4 bytes), pre_defined (4), then handler_type: 'vide' for video.
        if (hdlr.end - hdlr.contentStart < 12 || (await readAt(hdlr.contentStart + 8, buf.subarray(0, 4))) < 4) continue;
        if (String.fromCharCode(buf[0] as number, buf[1] as number, buf[2] as number, buf[3] as number) === 'vide') return true;
      }
    }
  }
  return false;
}

/** The boxes of one type directly inside `parent`; none when its children do not parse. */
async function childrenOf(readAt: ReadAt, parent: BoxHeader, type: string, buf: Uint8Array): Promise<BoxHeader[]> {
  const found: BoxHeader[] = [];
  let position = parent.contentStart;
  for (let count = 0; position < parent.end; count++) {
    if (count >= MAX_CHILDREN) return [];
    const box = await boxAt(readAt, position, parent.end, buf);
    if (box === null) return [];
    if (box.type === type) found.push(box);
    position = box.end;
  }
  return found;
}

/** isobmffWholeFrom on a file; false when it cannot be read. */
export async function isobmffWhole(path: string): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>> | null = null;
  try {
    handle = await open(path, 'r');
    const { size } = await handle.stat();
    const h = handle;
    return await isobmffWholeFrom(async (position, bytes) => (await h.read(bytes, 0, bytes.length, position)).bytesRead, size);
  } catch {
    return false;
  } finally {
    await handle?.close().catch(() => {});
  }
}
