/**
 * Cuts a byte stream (ffmpeg's stdout, whose chunk boundaries fall anywhere) into frames of exactly
 * `frameBytes` bytes. When one queued chunk holds a whole frame the frame is a subarray of that chunk
 * (no copy); when a frame spans chunks it is assembled into one buffer that is reused for every
 * assembled frame. Either way a frame is valid only until the next one is taken: copy it to keep it.
 * This is the job a WebSocket receiver does when it cuts a socket stream into messages.
 */

/** Splits pushed chunks into exact-size frames. */
export class FrameSplitter {
  /** Size of one frame in bytes. */
  readonly frameBytes: number;
  private readonly chunks: Uint8Array[] = [];
  /** Read position inside chunks[0]. */
  private offset = 0;
  private buffered = 0;
  private assembly: Uint8Array | null = null;

  /** @param frameBytes bytes per frame, a positive integer. */
  constructor(frameBytes: number) {
    if (!Number.isInteger(frameBytes) || frameBytes <= 0) throw new RangeError(`frameBytes must be a positive integer, got ${frameBytes}`);
    this.frameBytes = frameBytes;
  }

  /** Bytes queued and not yet handed out. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  /** Queues a chunk (kept by reference: the caller must not overwrite it). */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
  }

  /**
   * The next whole frame, or null when fewer than frameBytes bytes are queued. A frame that spans chunks
   * is assembled into `target` when one is given (at least frameBytes long: the caller's own buffer, so
   * that the frame needs no second copy), else into the splitter's reused buffer.
   */
  next(target?: Uint8Array): Uint8Array | null {
    const n = this.frameBytes;
    if (this.buffered < n) return null;
    const head = this.chunks[0] as Uint8Array;
    if (head.length - this.offset >= n) {
      const frame = head.subarray(this.offset, this.offset + n);
      this.consume(n);
      return frame;
    }
    let out: Uint8Array;
    if (target !== undefined && target.length >= n) out = target.length === n ? target : target.subarray(0, n);
    else out = this.assembly ??= new Uint8Array(n);
    let filled = 0;
    while (filled < n) {
      const c = this.chunks[0] as Uint8Array;
      const take = Math.min(c.length - this.offset, n - filled);
      out.set(c.subarray(this.offset, this.offset + take), filled);
      filled += take;
      this.consume(take);
    }
    return out;
  }

  /** Drops the queue (after an error or an early stop). */
  clear(): void {
    this.chunks.length = 0;
    this.offset = 0;
    this.buffered = 0;
  }

  private consume(count: number): void {
    this.buffered -= count;
    this.offset += count;
    const head = this.chunks[0] as Uint8Array;
    if (this.offset === head.length) {
      this.chunks.shift();
      this.offset = 0;
    }
  }
}

/** Thrown by splitFrames when the stream ends inside a frame. */
export class PartialFrameError extends Error {
  /** Bytes of the incomplete last frame. */
  readonly partialBytes: number;
  /** Whole frames handed out before it. */
  readonly frames: number;
  constructor(partialBytes: number, frameBytes: number, frames: number) {
    super(`stream ended inside frame ${frames}: expected ${frameBytes} bytes per frame, got ${partialBytes}`);
    this.name = 'PartialFrameError';
    this.partialBytes = partialBytes;
    this.frames = frames;
  }
}

/**
 * Yields exact-size frames from a stream of chunks. Backpressure comes from pulling: the source is
 * read only when the consumer asks for a frame that is not yet queued, so a Node Readable (whose async
 * iterator reads on demand) stays paused while the consumer is busy, its pipe fills and the writer
 * (ffmpeg) blocks. Breaking out of the loop returns the source iterator, which destroys a Readable.
 * Each frame is valid until the next one is pulled. `target`, when given, is asked for the buffer each
 * frame that spans chunks is assembled into (FrameSplitter.next); null: the splitter's own.
 * @throws PartialFrameError when the source ends inside a frame.
 */
export async function* splitFrames(source: AsyncIterable<Uint8Array>, frameBytes: number, target?: () => Uint8Array | null): AsyncGenerator<Uint8Array, void, undefined> {
  const splitter = new FrameSplitter(frameBytes);
  let frames = 0;
  const into = () => (splitter.bufferedBytes >= frameBytes ? (target?.() ?? undefined) : undefined);
  for await (const chunk of source) {
    splitter.push(chunk);
    for (let f = splitter.next(into()); f !== null; f = splitter.next(into())) {
      frames += 1;
      yield f;
    }
  }
  if (splitter.bufferedBytes > 0) throw new PartialFrameError(splitter.bufferedBytes, frameBytes, frames);
}
