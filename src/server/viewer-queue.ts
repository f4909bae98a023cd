/**
 * One viewer's send queue. Frames go out only while the viewer keeps up: the socket's `bufferedAmount`
 * (bytes accepted by `send` but not yet handed to the kernel) says how far behind it is. Past
 * `maxBufferedBytes` new frames wait in a queue of at most `maxQueuedFrames`; when that is full the oldest
 * waiting frame is dropped and counted, so a slow viewer sees the newest frames with gaps while the others
 * and the pipeline never wait for it. JSON messages (stats, errors) are small and always sent.
 */

/** The part of a `ws` WebSocket the queue uses (a fake in tests). */
export interface ViewerSocket {
  readonly bufferedAmount: number;
  readonly readyState: number;
  send(data: Buffer | string, callback?: (err?: Error) => void): void;
}

/** `WebSocket.OPEN`. */
const OPEN = 1;

/** Default bytes a viewer may have in flight before new frames wait. @default 1 MiB */
export const DEFAULT_MAX_BUFFERED_BYTES = 1 << 20;
/** Default frames that may wait for a slow viewer before the oldest is dropped. @default 2 */
export const DEFAULT_MAX_QUEUED_FRAMES = 2;

/** Options of a viewer queue. */
export interface ViewerQueueOptions {
  /** Bytes the socket may hold unsent before frames wait. @default DEFAULT_MAX_BUFFERED_BYTES */
  readonly maxBufferedBytes?: number;
  /** Frames that may wait; one more drops the oldest. @default DEFAULT_MAX_QUEUED_FRAMES */
  readonly maxQueuedFrames?: number;
}

/** The send queue of one viewer. */
export class ViewerQueue {
  /** Frames handed to the socket. */
  sent = 0;
  /** Frames dropped because the viewer was behind. */
  dropped = 0;
  private readonly queue: Buffer[] = [];
  private readonly maxBufferedBytes: number;
  private readonly maxQueuedFrames: number;
  private readonly onSent = (err?: Error): void => {
    if (err === undefined) this.pump();
  };

  constructor(
    private readonly socket: ViewerSocket,
    options: ViewerQueueOptions = {},
  ) {
    this.maxBufferedBytes = options.maxBufferedBytes ?? DEFAULT_MAX_BUFFERED_BYTES;
    this.maxQueuedFrames = options.maxQueuedFrames ?? DEFAULT_MAX_QUEUED_FRAMES;
  }

  /** Frames waiting now. */
  get queued(): number {
    return this.queue.length;
  }

  /** Offers one frame message (shared between viewers: it is never modified). */
  offerFrame(message: Buffer): void {
    if (this.socket.readyState !== OPEN) return;
    this.queue.push(message);
    if (this.queue.length > this.maxQueuedFrames) {
      this.queue.shift();
      this.dropped++;
    }
    this.pump();
  }

  /** Sends a JSON message now (small; not subject to frame dropping). */
  sendJson(message: unknown): void {
    if (this.socket.readyState !== OPEN) return;
    this.socket.send(JSON.stringify(message));
  }

  /** Sends waiting frames while the socket is not behind. Also runs when a send completes. */
  pump(): void {
    while (this.queue.length > 0 && this.socket.readyState === OPEN && this.socket.bufferedAmount <= this.maxBufferedBytes) {
      const message = this.queue.shift() as Buffer;
      this.sent++;
      this.socket.send(message, this.onSent);
    }
  }

  /** Forgets waiting frames (the viewer left). */
  clear(): void {
    this.queue.length = 0;
  }
}
