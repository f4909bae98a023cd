/**
 * Cuts a byte stream of concatenated JPEG images (ffmpeg's `-f image2pipe -c:v mjpeg` output) into
 * whole images, whatever the chunk boundaries.
 *
 * A plain search for the bytes FF D9 is not enough: marker segments before the scan (quantisation and
 * Huffman tables, comments) hold arbitrary bytes. So the splitter follows the JPEG syntax (ITU-T T.81,
 * annex B): after SOI (FF D8) it skips each marker segment by its 16-bit length; after the SOS segment it
 * scans entropy-coded data, where a data byte FF is always followed by 00 (byte stuffing) and FF D0..D7 are
 * restart markers; any other marker ends the scan (a progressive image has several scans) and FF D9 ends
 * the image. Bytes before an SOI are skipped.
 *
 * An image that lies inside one chunk is returned as a view of that chunk (no copy); one that spans chunks
 * is copied once into a new Buffer. Chunks must not be modified after they are pushed (Node's stream
 * chunks are fresh buffers, so this holds for a child's stdout).
 */
import { RuntimeError } from '../errors.js';

/** Largest JPEG image accepted, in bytes; past it the stream is taken to be garbage. @default 32 MiB */
export const DEFAULT_MAX_JPEG_BYTES = 32 << 20;

/** Parser states (plain numbers: the switch below runs once per marker byte). */
const State = {
  /** Looking for FF of SOI. */
  SeekSoi0: 0,
  /** Saw FF, want D8. */
  SeekSoi1: 1,
  /** Want the FF that starts a marker. */
  Marker0: 2,
  /** Saw FF, want the marker code (FF fill bytes may repeat). */
  Marker1: 3,
  /** Want the high byte of a segment length. */
  Length0: 4,
  /** Want the low byte of a segment length. */
  Length1: 5,
  /** Skipping the rest of a marker segment. */
  Skip: 6,
  /** Inside entropy-coded data. */
  Entropy: 7,
  /** Inside entropy-coded data, just saw FF. */
  EntropyFF: 8,
} as const;
type State = (typeof State)[keyof typeof State];

const SOI = 0xd8;
const EOI = 0xd9;
const SOS = 0xda;

/** Streaming splitter of concatenated JPEG images. */
export class JpegStreamSplitter {
  private state: State = State.SeekSoi0 as State;
  private marker = 0;
  private lengthHigh = 0;
  private skipLeft = 0;
  /** Pieces of the image being assembled: [chunk, start, end) each. */
  private parts: { chunk: Buffer; start: number; end: number }[] = [];
  private partBytes = 0;
  private readonly maxBytes: number;

  /** @param maxBytes Largest image accepted, bytes. @default DEFAULT_MAX_JPEG_BYTES */
  constructor(maxBytes: number = DEFAULT_MAX_JPEG_BYTES) {
    this.maxBytes = maxBytes;
  }

  /** Bytes of the image being assembled (0 between images). */
  get pendingBytes(): number {
    return this.partBytes;
  }

  /**
   * Consumes one chunk and returns the images it completed, in order.
   * @throws RuntimeError E_PREVIEW_JPEG when an image grows past the size limit or a marker is malformed.
   */
  push(chunk: Buffer): Buffer[] {
    const out: Buffer[] = [];
    const n = chunk.length;
    /** Start in this chunk of the image being assembled (-1: it started in an earlier chunk or none). */
    let imageStart = this.state === State.SeekSoi0 || this.state === State.SeekSoi1 ? -1 : 0;
    let i = 0;
    while (i < n) {
      switch (this.state) {
        case State.SeekSoi0: {
          const ff = chunk.indexOf(0xff, i);
          if (ff < 0) {
            i = n;
            break;
          }
          this.state = State.SeekSoi1;
          i = ff + 1;
          break;
        }
        case State.SeekSoi1: {
          const b = chunk[i] as number;
          if (b === SOI) {
            if (i === 0) {
              // The FF was the last byte of the previous chunk.
              this.parts.push({ chunk: Buffer.of(0xff), start: 0, end: 1 });
              this.partBytes = 1;
              imageStart = 0;
            } else {
              imageStart = i - 1;
            }
            this.state = State.Marker0;
          } else if (b !== 0xff) {
            this.state = State.SeekSoi0;
          }
          i++;
          break;
        }
        case State.Marker0: {
          const b = chunk[i] as number;
          if (b !== 0xff) throw new RuntimeError('E_PREVIEW_JPEG', `Expected a JPEG marker (FF) but received 0x${b.toString(16)}`);
          this.state = State.Marker1;
          i++;
          break;
        }
        case State.Marker1: {
          const b = chunk[i] as number;
          i++;
          if (b === 0xff) break; // fill byte
          if (b === EOI) {
            out.push(this.finish(chunk, imageStart, i));
            imageStart = -1;
            break;
          }
          if ((b >= 0xd0 && b <= 0xd7) || b === 0x01 || b === SOI) {
            // Markers without a length.
            this.state = State.Marker0;
            break;
          }
          this.marker = b;
          this.state = State.Length0;
          break;
        }
        case State.Length0:
          this.lengthHigh = chunk[i] as number;
          this.state = State.Length1;
          i++;
          break;
        case State.Length1: {
          const length = (this.lengthHigh << 8) | (chunk[i] as number);
          i++;
          if (length < 2) throw new RuntimeError('E_PREVIEW_JPEG', `Expected a JPEG segment length of at least 2 but received ${length}`);
          this.skipLeft = length - 2;
          this.state = this.skipLeft > 0 ? State.Skip : this.marker === SOS ? State.Entropy : State.Marker0;
          break;
        }
        case State.Skip: {
          const take = Math.min(this.skipLeft, n - i);
          this.skipLeft -= take;
          i += take;
          if (this.skipLeft === 0) this.state = this.marker === SOS ? State.Entropy : State.Marker0;
          break;
        }
        case State.Entropy: {
          const ff = chunk.indexOf(0xff, i);
          if (ff < 0) {
            i = n;
            break;
          }
          this.state = State.EntropyFF;
          i = ff + 1;
          break;
        }
        case State.EntropyFF: {
          const b = chunk[i] as number;
          i++;
          if (b === 0x00 || (b >= 0xd0 && b <= 0xd7)) {
            this.state = State.Entropy;
          } else if (b === 0xff) {
            // Fill byte: still after an FF.
          } else if (b === EOI) {
            out.push(this.finish(chunk, imageStart, i));
            imageStart = -1;
          } else {
            // Another marker segment (DHT, SOS of the next scan in a progressive image).
            this.marker = b;
            this.state = State.Length0;
          }
          break;
        }
      }
    }
    if (imageStart >= 0 && this.inImage()) {
      this.parts.push({ chunk, start: imageStart, end: n });
      this.partBytes += n - imageStart;
      if (this.partBytes > this.maxBytes) {
        throw new RuntimeError('E_PREVIEW_JPEG', `Expected a JPEG image of at most ${this.maxBytes} bytes but one grew past that; the stream is not a JPEG stream`);
      }
    }
    return out;
  }

  private inImage(): boolean {
    return this.state !== State.SeekSoi0 && this.state !== State.SeekSoi1;
  }

  /** Completes the image ending before `end` in `chunk`; resets to look for the next SOI. */
  private finish(chunk: Buffer, imageStart: number, end: number): Buffer {
    this.state = State.SeekSoi0;
    let image: Buffer;
    if (this.parts.length === 0) {
      image = chunk.subarray(imageStart, end);
    } else {
      const total = this.partBytes + end;
      image = Buffer.allocUnsafe(total);
      let at = 0;
      for (const p of this.parts) {
        p.chunk.copy(image, at, p.start, p.end);
        at += p.end - p.start;
      }
      chunk.copy(image, at, 0, end);
    }
    this.parts = [];
    this.partBytes = 0;
    return image;
  }
}
