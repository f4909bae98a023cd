/**
 * Reads a raw-frame ffmpeg decoder (yuv420p frames on stdout, as video/decoder.ts builds its command) in a
 * worker thread and hands whole frames to the main thread through a small pool of slots in one
 * SharedArrayBuffer.
 *
 * Why a worker: a 1280x720 frame is 1.38 MB and a pipe holds 64 KB, so reading one frame takes some twenty
 * reads, each a turn of an event loop. The main thread of a live source spends most of its time in
 * synchronous registration and warping; while it does, nobody drains the pipe, ffmpeg blocks, and a live
 * source slows down (or, for a device or a network stream, loses data where nobody counts it) instead of
 * dropping frames where they are counted. In the worker the pipe is drained whatever the main thread does,
 * and each chunk is copied once, straight into its frame's slot.
 *
 *   ffmpeg ──stdout──► worker: copy into slot ──► READY slots (at most maxWaitingFrames) ──► main: take
 *
 * Slots: `maxWaitingFrames + 2` frames (one being filled by the worker, one held by the main thread, the
 * rest waiting). Each slot's state lives in a shared Int32Array and changes only by atomic operations:
 * FREE ─worker─► FILLING ─worker─► READY ─main─► TAKEN ─main─► FREE. When a frame is published and more
 * than `maxWaitingFrames` are READY, or when the worker needs a slot and none is FREE, the worker takes
 * back the oldest READY one (READY ─worker─► FREE or FILLING): that frame is dropped and counted, so the
 * frames waiting are always the newest and latency stays bounded. Whoever wins the compare-exchange on a
 * READY slot owns it. Without dropping (`dropWhenBehind: false`, a file read as fast as possible) the
 * worker instead stops reading the pipe until the main thread frees a slot, and ffmpeg waits.
 * Nothing is allocated per frame in steady state: wake-up messages pass only when the other side said it
 * is waiting (a flag in the shared array).
 *
 * ffmpeg is spawned by the worker, so the process registry (which tracks children of the main thread) does
 * not see it. Instead the worker stores the child's pid in the shared array the moment it is spawned, and
 * the main thread registers a cleanup with the registry that kills that pid on exit and on SIGINT /
 * SIGTERM / SIGHUP; close() and an abort kill it too. If the whole process is killed outright, ffmpeg's
 * next write to the broken pipe ends it.
 *
 * Timestamps: the worker stamps each frame when its last byte arrives, as milliseconds since the epoch
 * (performance.timeOrigin + performance.now(), a clock both threads share); the main thread turns that
 * into its own performance.now() clock.
 */
import type { Readable } from 'node:stream';
import { Worker } from 'node:worker_threads';
import { InputError, InterruptedError, RuntimeError } from '../errors.js';
import type { YuvFrame } from '../stabilize/frame-types.js';
import { registerCleanup, whenAborted } from '../video/process-registry.js';
import { binaryEnv } from '../video/static-binary.js';

/** Default number of whole frames that may wait for the main thread before the oldest is dropped. */
export const DEFAULT_MAX_WAITING_FRAMES = 2;
/** How long close() waits for the worker to report ffmpeg's exit before terminating it, ms. */
const CLOSE_GRACE_MS = 2000;

/** Slot states (shared Int32Array, one entry per slot). */
const FREE = 0;
const READY = 2;
const TAKEN = 3;

/** Options of startDecodeWorker. */
export interface DecodeWorkerOptions {
  /** The ffmpeg executable. */
  readonly ffmpegPath: string;
  /** ffmpeg's arguments: they must write raw yuv420p frames of width x height to `pipe:1` (Decoder.args). */
  readonly args: readonly string[];
  /** Frame size, pixels. */
  readonly width: number;
  readonly height: number;
  /** Frame rate, frames per second: frame k gets timeSec = k / fps. */
  readonly fps: number;
  /**
   * When the main thread is behind: true drops the oldest waiting frame (a live source must not fall
   * behind); false stops reading until a slot is free, which makes ffmpeg wait (a file read as fast as
   * possible: every frame is kept).
   * @default true
   */
  readonly dropWhenBehind?: boolean;
  /** Most whole frames waiting for the main thread, 1..64. @default DEFAULT_MAX_WAITING_FRAMES */
  readonly maxWaitingFrames?: number;
  /**
   * Bytes for ffmpeg's standard input, when the input is `pipe:0` (the probe's replay of standard input).
   * They are forwarded to the worker in chunks, with flow control. @default ffmpeg's stdin is closed
   */
  readonly stdin?: Readable;
  /** Kills ffmpeg when aborted; the frames then end (next() returns null). */
  readonly signal?: AbortSignal;
  /** How the input is named in error messages. @default 'the input' */
  readonly inputName?: string;
}

/** A frame in a shared slot. Valid until the next call of next(), release() or close(). */
export interface SharedFrame extends YuvFrame {
  /** When the worker had the whole frame, ms on this thread's performance.now() clock. */
  readonly decodedAtMs: number;
}

interface SlotFrame {
  index: number;
  timeSec: number;
  decodedAtMs: number;
  readonly width: number;
  readonly height: number;
  readonly y: Uint8Array;
  readonly u: Uint8Array;
  readonly v: Uint8Array;
}

/** Where the counters live in the shared Int32Array, after the slot states. */
interface ControlLayout {
  readonly dropped: number;
  readonly decoded: number;
  readonly consumerWaiting: number;
  readonly producerWaiting: number;
  readonly pid: number;
  readonly length: number;
}

function controlLayout(slots: number): ControlLayout {
  return { dropped: slots, decoded: slots + 1, consumerWaiting: slots + 2, producerWaiting: slots + 3, pid: slots + 4, length: slots + 5 };
}

/** A message from the worker. */
type WorkerMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'stdin-pause' }
  | { readonly type: 'stdin-resume' }
  | {
      readonly type: 'exit';
      readonly code: number | null;
      readonly signal: string | null;
      readonly stderr: string;
      readonly spawnError: string | null;
      readonly partialBytes: number;
    };

/**
 * The worker's program: plain JavaScript evaluated from this string (not a module file) so that it runs
 * the same from the compiled package and from the TypeScript sources under the test runner.
 * Messages in: {type:'free'} a slot was freed while the worker waited for one; {type:'kill'};
 * {type:'stdin', bytes} / {type:'stdin-end'} standard input for ffmpeg. Messages out: {type:'ready'} a
 * frame is READY while the main thread waited; {type:'stdin-pause'|'stdin-resume'} flow control of
 * standard input; {type:'exit', code, signal, stderr, spawnError, partialBytes} once, after ffmpeg's
 * pipes closed (partialBytes: bytes of an incomplete last frame).
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { spawn } = require('node:child_process');
const { performance } = require('node:perf_hooks');
const w = workerData;
const L = w.layout;
const FREE = 0, FILLING = 1, READY = 2;
const ctl = new Int32Array(w.control);
const meta = new Float64Array(w.meta);
const pool = new Uint8Array(w.frames);
const S = w.slots;
const FB = w.frameBytes;
const READY_MESSAGE = { type: 'ready' };
let stderr = '';
let spawnError = null;
let exited = false;
// In a group of its own (POSIX), as process-registry.ts OWN_PROCESS_GROUP says for decoders and encoders.
const child = spawn(w.ffmpegPath, w.args, { stdio: [w.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], windowsHide: true, detached: process.platform !== 'win32', ...(w.env ? { env: w.env } : {}) });
if (child.pid !== undefined) Atomics.store(ctl, L.pid, child.pid);
let slot = -1, filled = 0, index = 0;
/** Chunks of ffmpeg's output not yet copied, oldest first (only while waiting for a free slot). */
const backlog = [];
let backlogOffset = 0;
let paused = false;
let closeInfo = null;

function oldestReady() {
  let best = -1, bestIndex = Infinity;
  for (let s = 0; s < S; s++) {
    if (Atomics.load(ctl, s) === READY && meta[2 * s] < bestIndex) { best = s; bestIndex = meta[2 * s]; }
  }
  return best;
}
function acquire() {
  for (;;) {
    for (let s = 0; s < S; s++) if (Atomics.compareExchange(ctl, s, FREE, FILLING) === FREE) return s;
    if (!w.dropWhenBehind) return -1;
    const s = oldestReady();
    if (s < 0) return -1;
    if (Atomics.compareExchange(ctl, s, READY, FILLING) === READY) { Atomics.add(ctl, L.dropped, 1); return s; }
    // The main thread took that frame meanwhile: look again.
  }
}
function publish() {
  meta[2 * slot] = index;
  meta[2 * slot + 1] = performance.timeOrigin + performance.now();
  index++;
  if (w.dropWhenBehind) {
    // At most maxWaiting whole frames wait: a frame beyond that pushes out the oldest at once. The oldest go
    // before the new one is READY and counted, so that the main thread never sees more than maxWaiting
    // waiting, nor a count of frames read whose drops are not done yet.
    let ready = 0;
    for (let s = 0; s < S; s++) if (Atomics.load(ctl, s) === READY) ready++;
    while (ready >= w.maxWaiting) {
      const s = oldestReady();
      if (s < 0) break;
      if (Atomics.compareExchange(ctl, s, READY, FREE) === READY) Atomics.add(ctl, L.dropped, 1);
      ready--;
    }
  }
  Atomics.store(ctl, slot, READY);
  Atomics.add(ctl, L.decoded, 1);
  slot = -1;
  filled = 0;
  if (Atomics.compareExchange(ctl, L.consumerWaiting, 1, 0) === 1) parentPort.postMessage(READY_MESSAGE);
}
/** Copies chunk[off..] into slots; returns -1 when all of it is copied, else where it stopped for want of a free slot. */
function consume(chunk, off) {
  while (off < chunk.length) {
    if (slot < 0) {
      slot = acquire();
      if (slot < 0) {
        // Raise the flag, then look once more: a slot freed in between would otherwise go unnoticed.
        Atomics.store(ctl, L.producerWaiting, 1);
        slot = acquire();
        if (slot < 0) return off;
        Atomics.store(ctl, L.producerWaiting, 0);
      }
      filled = 0;
    }
    const n = Math.min(FB - filled, chunk.length - off);
    pool.set(chunk.subarray(off, off + n), slot * FB + filled);
    filled += n;
    off += n;
    if (filled === FB) publish();
  }
  return -1;
}
/** Copies the backlog in order; stops reading ffmpeg while a chunk waits for a slot (ffmpeg then waits too). */
function drain() {
  while (backlog.length > 0) {
    const at = consume(backlog[0], backlogOffset);
    if (at >= 0) {
      backlogOffset = at;
      if (!paused) { paused = true; child.stdout.pause(); }
      return;
    }
    backlog.shift();
    backlogOffset = 0;
  }
  if (paused) { paused = false; child.stdout.resume(); }
  if (closeInfo !== null) finish(closeInfo.code, closeInfo.signal);
}
function onData(chunk) {
  // Chunks may still come in just after pause(): they queue behind the one waiting, in order.
  backlog.push(chunk);
  if (backlog.length === 1) drain();
}
function finish(code, signal) {
  if (exited) return;
  exited = true;
  Atomics.store(ctl, L.pid, 0);
  const partialBytes = slot >= 0 ? filled : 0;
  if (slot >= 0) Atomics.store(ctl, slot, FREE);
  slot = -1;
  parentPort.postMessage({ type: 'exit', code, signal, stderr: stderr.trim(), spawnError, partialBytes });
  parentPort.close();
}
child.on('error', (e) => {
  spawnError = e.message;
  if (child.pid === undefined) finish(null, null);
});
child.on('exit', () => Atomics.store(ctl, L.pid, 0));
child.on('close', (code, signal) => {
  // Output still waiting for a slot is handed over first (the main thread frees slots as it goes).
  closeInfo = { code, signal };
  if (backlog.length === 0) finish(code, signal);
});
child.stderr.setEncoding('utf8');
child.stderr.on('data', (t) => { stderr = (stderr + t).slice(-4096); });
child.stdout.on('data', onData);
if (child.stdin) {
  child.stdin.on('error', () => {});
  child.stdin.on('drain', () => parentPort.postMessage({ type: 'stdin-resume' }));
}
parentPort.on('message', (m) => {
  if (m.type === 'free') { if (backlog.length > 0) drain(); }
  else if (m.type === 'kill') { backlog.length = 0; child.kill('SIGKILL'); }
  else if (m.type === 'stdin' && child.stdin && !child.stdin.destroyed) {
    if (!child.stdin.write(Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.length))) parentPort.postMessage({ type: 'stdin-pause' });
  } else if (m.type === 'stdin-end' && child.stdin) child.stdin.end();
});
`;

function abortError(signal: AbortSignal): Error {
  const r: unknown = signal.reason;
  if (r instanceof Error) return r;
  return new InterruptedError(r === 'SIGTERM' ? 'SIGTERM' : 'SIGINT');
}

/**
 * An ffmpeg decoder read in a worker thread. Take frames with next(); each stays valid until the next
 * call of next(), release() or close(). Close it when done (it also closes itself when ffmpeg ends).
 */
export class DecodeWorker {
  /** Frame size, pixels. */
  readonly width: number;
  readonly height: number;
  /** Bytes per frame: width*height + 2*ceil(width/2)*ceil(height/2). */
  readonly frameBytes: number;
  /** Slots in the shared pool (maxWaitingFrames + 2). */
  readonly slotCount: number;
  private readonly fps: number;
  private readonly worker: Worker;
  private readonly control: Int32Array;
  private readonly meta: Float64Array;
  private readonly layout: ControlLayout;
  private readonly frames: SlotFrame[] = [];
  private readonly options: DecodeWorkerOptions;
  /** Slot held by the caller, or -1. */
  private held = -1;
  private lastIndex = -1;
  private wake: (() => void) | null = null;
  private exit: Extract<WorkerMessage, { type: 'exit' }> | null = null;
  private workerFailure: Error | null = null;
  private closing = false;
  private closed: Promise<void> | null = null;
  private readonly workerExited: Promise<void>;
  private readonly unregisterCleanup: () => void;
  private readonly onAbort: () => void;
  private readonly stopStdin: () => void;

  /** Starts the worker, which spawns ffmpeg at once. Validate options before (startDecodeWorker does). */
  constructor(options: DecodeWorkerOptions) {
    this.options = options;
    this.width = options.width;
    this.height = options.height;
    this.fps = options.fps;
    const cw = Math.ceil(this.width / 2);
    const ch = Math.ceil(this.height / 2);
    const lumaBytes = this.width * this.height;
    const chromaBytes = cw * ch;
    this.frameBytes = lumaBytes + 2 * chromaBytes;
    this.slotCount = (options.maxWaitingFrames ?? DEFAULT_MAX_WAITING_FRAMES) + 2;
    this.layout = controlLayout(this.slotCount);
    const control = new SharedArrayBuffer(this.layout.length * Int32Array.BYTES_PER_ELEMENT);
    const meta = new SharedArrayBuffer(2 * this.slotCount * Float64Array.BYTES_PER_ELEMENT);
    const pool = new SharedArrayBuffer(this.slotCount * this.frameBytes);
    this.control = new Int32Array(control);
    this.meta = new Float64Array(meta);
    for (let s = 0; s < this.slotCount; s++) {
      const at = s * this.frameBytes;
      this.frames.push({
        index: -1,
        timeSec: 0,
        decodedAtMs: 0,
        width: this.width,
        height: this.height,
        y: new Uint8Array(pool, at, lumaBytes),
        u: new Uint8Array(pool, at + lumaBytes, chromaBytes),
        v: new Uint8Array(pool, at + lumaBytes + chromaBytes, chromaBytes),
      });
    }
    // Registered before the worker starts, so that no moment exists where ffmpeg runs and nobody would kill it.
    this.unregisterCleanup = registerCleanup(() => this.killFfmpeg());
    this.worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        ffmpegPath: options.ffmpegPath,
        env: binaryEnv(options.ffmpegPath) ?? null,
        args: [...options.args],
        layout: this.layout,
        control,
        meta,
        frames: pool,
        slots: this.slotCount,
        frameBytes: this.frameBytes,
        dropWhenBehind: options.dropWhenBehind ?? true,
        maxWaiting: this.slotCount - 2,
        stdin: options.stdin !== undefined,
      },
    });
    this.workerExited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.on('message', (m: WorkerMessage) => this.onMessage(m));
    this.worker.once('error', (err) => {
      this.workerFailure = err;
      this.killFfmpeg();
      this.notify();
    });
    this.worker.once('exit', () => {
      // A worker that died without reporting ffmpeg's exit (terminated, crashed) must not leave it running.
      this.killFfmpeg();
      this.unregisterCleanup();
      this.notify();
    });
    this.stopStdin = this.forwardStdin(options.stdin);
    this.onAbort = () => {
      this.closing = true;
      this.worker.postMessage({ type: 'kill' });
      this.killFfmpeg();
      this.notify();
    };
    whenAborted(options.signal, this.onAbort);
  }

  /** Frames dropped because the main thread was behind (the oldest waiting frame each time). */
  get droppedFrames(): number {
    return Atomics.load(this.control, this.layout.dropped);
  }

  /** Whole frames read from ffmpeg so far (delivered or dropped). */
  get framesDecoded(): number {
    return Atomics.load(this.control, this.layout.decoded);
  }

  /** Process id of ffmpeg while it runs, else null. */
  get processId(): number | null {
    const pid = Atomics.load(this.control, this.layout.pid);
    return pid > 0 ? pid : null;
  }

  /**
   * The oldest waiting frame; waits for one when none is ready. Releases the frame taken before.
   * Resolves to null when the input ended cleanly, close() was called or the signal aborted.
   * @throws RuntimeError E_FFMPEG_NOT_FOUND when ffmpeg cannot run; InputError E_NO_FRAMES when ffmpeg
   *   failed before the first frame; RuntimeError E_DECODE_FAILED when it failed later or stopped
   *   inside a frame (after every whole frame was handed out).
   */
  async next(): Promise<SharedFrame | null> {
    this.release();
    for (;;) {
      if (this.closing) return null;
      const f = this.takeReady();
      if (f !== null) return f;
      if (this.exit !== null || this.workerFailure !== null) {
        // Frames published before the exit message are READY already (the message comes after them).
        const last = this.takeReady();
        if (last !== null) return last;
        const err = this.endError();
        if (err !== null) throw err;
        return null;
      }
      await this.waitForFrame();
    }
  }

  /** Gives the frame taken last back to the pool (next() does it too). */
  release(): void {
    const s = this.held;
    if (s < 0) return;
    this.held = -1;
    Atomics.store(this.control, s, FREE);
    if (Atomics.compareExchange(this.control, this.layout.producerWaiting, 1, 0) === 1) this.worker.postMessage({ type: 'free' });
  }

  /** Kills ffmpeg, stops the worker and waits for both. Safe to call at any time, more than once. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing = true;
      this.options.signal?.removeEventListener('abort', this.onAbort);
      this.stopStdin();
      this.worker.postMessage({ type: 'kill' });
      this.killFfmpeg();
      this.notify();
      let timer: NodeJS.Timeout | undefined;
      const grace = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, CLOSE_GRACE_MS);
      });
      await Promise.race([this.workerExited, grace]);
      clearTimeout(timer);
      await this.worker.terminate();
      this.killFfmpeg();
      this.unregisterCleanup();
    })();
    return this.closed;
  }

  private takeReady(): SharedFrame | null {
    const c = this.control;
    for (;;) {
      let best = -1;
      let bestIndex = Number.POSITIVE_INFINITY;
      for (let s = 0; s < this.slotCount; s++) {
        if (Atomics.load(c, s) === READY && (this.meta[2 * s] as number) < bestIndex) {
          best = s;
          bestIndex = this.meta[2 * s] as number;
        }
      }
      if (best < 0) return null;
      if (Atomics.compareExchange(c, best, READY, TAKEN) !== READY) continue; // Dropped by the worker just now.
      const index = this.meta[2 * best] as number;
      if (index !== bestIndex) {
        // Dropped and refilled with a newer frame between the scan and the take: put it back, look again.
        Atomics.store(c, best, READY);
        continue;
      }
      if (index <= this.lastIndex) {
        // Cannot happen with the order kept above; a frame older than one handed out is dropped, not reordered.
        Atomics.store(c, best, FREE);
        Atomics.add(c, this.layout.dropped, 1);
        continue;
      }
      this.lastIndex = index;
      this.held = best;
      const f = this.frames[best] as SlotFrame;
      f.index = index;
      f.timeSec = this.fps > 0 ? index / this.fps : 0;
      f.decodedAtMs = (this.meta[2 * best + 1] as number) - performance.timeOrigin;
      return f;
    }
  }

  private waitForFrame(): Promise<void> {
    const c = this.control;
    Atomics.store(c, this.layout.consumerWaiting, 1);
    // Look again after raising the flag: a frame published in between would otherwise wake nobody.
    for (let s = 0; s < this.slotCount; s++) {
      if (Atomics.load(c, s) === READY) {
        Atomics.store(c, this.layout.consumerWaiting, 0);
        return Promise.resolve();
      }
    }
    return new Promise<void>((resolve) => {
      this.wake = resolve;
    });
  }

  private notify(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }

  private onMessage(m: WorkerMessage): void {
    switch (m.type) {
      case 'ready':
        this.notify();
        break;
      case 'stdin-pause':
        this.options.stdin?.pause();
        break;
      case 'stdin-resume':
        this.options.stdin?.resume();
        break;
      case 'exit':
        this.exit = m;
        this.unregisterCleanup();
        this.notify();
        break;
    }
  }

  private killFfmpeg(): void {
    const pid = Atomics.load(this.control, this.layout.pid);
    if (pid <= 0) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Already gone.
    }
  }

  /** Sends `stdin`'s bytes to the worker; returns a function that stops forwarding. */
  private forwardStdin(stdin: Readable | undefined): () => void {
    if (stdin === undefined) return () => {};
    const onData = (chunk: Buffer | string): void => {
      // A stream chunk may be a view into a shared pool: copy it into a buffer of its own to transfer it.
      const src = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      const bytes = new Uint8Array(src.length);
      bytes.set(src);
      this.worker.postMessage({ type: 'stdin', bytes }, [bytes.buffer]);
    };
    const onEnd = (): void => this.worker.postMessage({ type: 'stdin-end' });
    const onError = (): void => this.worker.postMessage({ type: 'stdin-end' });
    stdin.on('data', onData);
    stdin.once('end', onEnd);
    stdin.once('error', onError);
    return () => {
      stdin.removeListener('data', onData);
      stdin.removeListener('end', onEnd);
      stdin.removeListener('error', onError);
      stdin.pause();
    };
  }

  private endError(): Error | null {
    if (this.options.signal?.aborted) return null;
    const name = this.options.inputName ?? 'the input';
    if (this.workerFailure !== null) {
      return new RuntimeError('E_DECODE_FAILED', `Decoding ${name} failed: the decoder's worker thread failed (${this.workerFailure.message})`, { cause: this.workerFailure });
    }
    const e = this.exit;
    if (e === null) return new RuntimeError('E_DECODE_FAILED', `Decoding ${name} failed: the decoder's worker thread stopped without reporting ffmpeg's exit`);
    const frames = this.framesDecoded;
    const said = e.stderr ? `; ffmpeg said: ${e.stderr}` : '';
    if (e.spawnError !== null && e.code === null && e.signal === null) {
      return new RuntimeError('E_FFMPEG_NOT_FOUND', `could not run ffmpeg at ${JSON.stringify(this.options.ffmpegPath)} (${e.spawnError}); set FFMPEG_PATH to a working ffmpeg`);
    }
    if (e.code !== 0 && e.signal === null && frames === 0) {
      return new InputError('E_NO_FRAMES', `${name} has a video stream but no frame could be decoded from it (ffmpeg exited with code ${e.code})${said}`);
    }
    if (e.code !== 0) {
      return new RuntimeError('E_DECODE_FAILED', `Decoding ${name} failed after ${frames} frames: ${e.signal !== null ? `ffmpeg was killed by ${e.signal}` : `ffmpeg exited with code ${e.code}`}${said}`);
    }
    if (e.partialBytes > 0) {
      return new RuntimeError(
        'E_DECODE_FAILED',
        `Decoding ${name} failed after ${frames} frames: ffmpeg stopped inside a frame (${e.partialBytes} of ${this.frameBytes} bytes of a ${this.width}x${this.height} yuv420p frame)${said}`,
      );
    }
    return null;
  }
}

/**
 * Starts ffmpeg in a worker thread with the given arguments and returns the reader of its frames.
 * @throws RangeError on a frame size or waiting-frame count out of range (callers validate user input
 *   before; this guards the shared pool's size).
 */
export function startDecodeWorker(options: DecodeWorkerOptions): DecodeWorker {
  const { width, height } = options;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width <= 0 || height <= 0) {
    throw new RangeError(`Expected a positive integer frame size for the decode worker but received ${width}x${height}`);
  }
  const waiting = options.maxWaitingFrames ?? DEFAULT_MAX_WAITING_FRAMES;
  if (!Number.isInteger(waiting) || waiting < 1 || waiting > 64) {
    throw new RangeError(`Expected an integer 1..64 for maxWaitingFrames but received ${waiting}`);
  }
  if (options.signal?.aborted) throw abortError(options.signal);
  return new DecodeWorker(options);
}
