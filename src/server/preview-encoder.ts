/**
 * Makes the preview images of the live server: one persistent ffmpeg process that reads raw YUV 4:2:0
 * frames on stdin and writes JPEG images (`-c:v mjpeg -f image2pipe`) on stdout. Each submitted pair
 * (original, stabilized) is written as two consecutive raw frames, so the images come back in the same
 * order and pair up again by counting. One encode serves every viewer.
 *
 * Size: ffmpeg receives frames at the preview size and does no scaling (only the range conversion to
 * full-range JPEG). A frame submitted at the preview size is copied as it is (the live stabilizer warps
 * straight to the preview size); a frame at the source size is shrunk in-process by an area average
 * (stabilize/frame-shrinker.ts) as it is written into the encoder's input buffer, reading each source
 * sample once. ffmpeg then reads a quarter of the bytes it did for 1280x720 frames with a 640 preview,
 * and runs no scaler.
 *
 * A worker thread owns the ffmpeg process and its pipes. A 640x360 pair is 0.7 MB and a pipe holds 64 KB,
 * so writing one pair takes a dozen turns of an event loop (forty for a 720p pair); the main thread spends
 * most of its time in synchronous registration, and when it also fed ffmpeg the preview fell seconds behind. The main thread
 * only copies the pair into a shared input buffer and posts its number; the worker writes it to ffmpeg
 * and posts ffmpeg's output back, where it is cut into JPEG images (jpeg-splitter.ts).
 *
 * Latency: ffmpeg is run with `-threads 1` for decoding, filtering and encoding. With frame threads the raw
 * video decoder and the encoder each hold one frame back, which would delay every image by one frame
 * period (and the stabilized image of a pair until the next pair arrives).
 *
 * Backpressure: at most `maxInFlight` pairs are inside the encoder at once; `trySubmit` refuses a pair
 * past that (the caller counts it as dropped) rather than queueing without bound. Each in-flight pair owns
 * one of `maxInFlight` preview-size input buffers made at start, because the caller's planes may be reused
 * for the next frame while the pair is still being written.
 */
import { Worker } from 'node:worker_threads';
import { RuntimeError } from '../errors.js';
import type { YuvFrame } from '../stabilize/frame-types.js';
import { createFrameShrinker, type FrameShrinker, type YuvPlanes } from '../stabilize/frame-shrinker.js';
import { JpegStreamSplitter } from './jpeg-splitter.js';
import { binaryEnv } from '../video/static-binary.js';

/** Default JPEG quality on ffmpeg's `-q:v` scale (2 best .. 31 worst). */
export const DEFAULT_JPEG_QUALITY = 5;
/**
 * Default bound on pairs inside the encoder at once: absorbs a stall of about 6 frame periods (200 ms at
 * 30 fps; the machine is busy elsewhere) before frames are dropped. Memory: 6 pairs of preview-size
 * frames (4 MB at 640x360).
 */
export const DEFAULT_MAX_IN_FLIGHT = 6;
/** Default largest preview width in pixels. */
export const DEFAULT_PREVIEW_MAX_WIDTH = 640;
/** How long close() waits for ffmpeg to exit after its input ends, ms, before killing it. */
const CLOSE_GRACE_MS = 2000;

/**
 * The worker's program. It is plain JavaScript evaluated from this string (not a separate module file)
 * so that it runs the same from the compiled package and from the TypeScript sources under the test runner.
 * Messages in: {type:'frame', slot} writes input slot `slot` to ffmpeg; {type:'end'} ends ffmpeg's input;
 * {type:'kill'} kills ffmpeg. Messages out: {type:'spawned', pid}, {type:'data', bytes} (ffmpeg's stdout,
 * transferred), {type:'error', message} (spawn failure), {type:'exit', code, signal, stderr}.
 */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { spawn } = require('node:child_process');
const { ffmpegPath, args, input, slotBytes, env } = workerData;
let stderr = '';
const child = spawn(ffmpegPath, args, { stdio: ['pipe', 'pipe', 'pipe'], windowsHide: true, ...(env ? { env } : {}) });
parentPort.postMessage({ type: 'spawned', pid: child.pid === undefined ? null : child.pid });
child.on('error', (e) => parentPort.postMessage({ type: 'error', message: e.message }));
child.stdin.on('error', () => {});
child.stderr.setEncoding('utf8');
child.stderr.on('data', (t) => { stderr = (stderr + t).slice(-2000); });
child.stdout.on('data', (c) => {
  const bytes = new Uint8Array(c.length);
  bytes.set(c);
  parentPort.postMessage({ type: 'data', bytes }, [bytes.buffer]);
});
child.on('close', (code, signal) => {
  parentPort.postMessage({ type: 'exit', code, signal, stderr });
  parentPort.close();
});
parentPort.on('message', (m) => {
  if (m.type === 'frame') child.stdin.write(Buffer.from(input, m.slot * slotBytes, slotBytes));
  else if (m.type === 'end') child.stdin.end();
  else if (m.type === 'kill') child.kill('SIGKILL');
});
`;

/** A message from the worker. */
type WorkerMessage =
  | { readonly type: 'spawned'; readonly pid: number | null }
  | { readonly type: 'data'; readonly bytes: Uint8Array }
  | { readonly type: 'error'; readonly message: string }
  | { readonly type: 'exit'; readonly code: number | null; readonly signal: string | null; readonly stderr: string };

/** Options of the preview encoder. */
export interface PreviewEncoderOptions {
  /** The ffmpeg executable. */
  readonly ffmpegPath: string;
  /**
   * Size of the source frames, pixels. Each frame of a pair is submitted either at this size (shrunk
   * in-process to the preview size) or at the preview size (copied).
   */
  readonly width: number;
  readonly height: number;
  /** Size of the JPEG images made, pixels (at most the source size). @default the source size */
  readonly previewWidth?: number;
  readonly previewHeight?: number;
  /** JPEG quality, ffmpeg `-q:v` (2 best .. 31 worst). @default DEFAULT_JPEG_QUALITY */
  readonly quality?: number;
  /** Most pairs inside the encoder at once. @default DEFAULT_MAX_IN_FLIGHT */
  readonly maxInFlight?: number;
}

/** One encoded pair. The JPEG buffers belong to the receiver. */
export interface PreviewPair<T> {
  readonly tag: T;
  readonly original: Buffer;
  readonly stabilized: Buffer;
}

/**
 * The preview size for a frame: the frame size when it is at most `maxWidth` wide, else scaled to
 * `maxWidth` keeping the aspect ratio, both sides even (4:2:0 JPEG), at least 2.
 */
export function previewSize(width: number, height: number, maxWidth: number = DEFAULT_PREVIEW_MAX_WIDTH): { width: number; height: number } {
  if (width <= maxWidth) return { width, height };
  const w = Math.max(2, Math.floor(maxWidth / 2) * 2);
  const h = Math.max(2, Math.round((height * w) / width / 2) * 2);
  return { width: w, height: h };
}

/**
 * The ffmpeg arguments of the preview encoder for raw frames already at the image size `width` x `height`
 * (exported for tests and docs). No scale filter: frames are shrunk before they reach ffmpeg.
 */
export function previewEncoderArgs(o: { width: number; height: number; quality: number }): string[] {
  // Full-range 4:2:0, the pixel format every JPEG decoder expects (the filter converts the range only).
  const filters = ['format=yuvj420p'];
  return [
    '-hide_banner',
    '-loglevel',
    'error',
    '-threads',
    '1',
    '-f',
    'rawvideo',
    '-pix_fmt',
    'yuv420p',
    '-s',
    `${o.width}x${o.height}`,
    '-i',
    'pipe:0',
    '-an',
    '-vf',
    filters.join(','),
    '-threads',
    '1',
    '-c:v',
    'mjpeg',
    '-q:v',
    String(o.quality),
    '-f',
    'image2pipe',
    'pipe:1',
  ];
}

interface Slot<T> {
  /** Index of the slot's part of the shared input buffer. */
  readonly index: number;
  /** The planes of the slot's part of the shared input buffer: the original frame, then the stabilized frame. */
  readonly original: YuvPlanes;
  readonly stabilized: YuvPlanes;
  busy: boolean;
  tag: T | undefined;
}

/** A persistent ffmpeg JPEG encoder for (original, stabilized) frame pairs. */
export class PreviewEncoder<T> {
  /** Size of the preview images, pixels. */
  readonly previewWidth: number;
  readonly previewHeight: number;
  private readonly width: number;
  private readonly height: number;
  /** Bytes of one preview-size frame in an input slot. */
  private readonly frameBytes: number;
  private readonly lumaBytes: number;
  private readonly chromaBytes: number;
  /** Source size -> preview size; null when they are the same. */
  private readonly shrinker: FrameShrinker | null;
  private readonly worker: Worker;
  private readonly splitter = new JpegStreamSplitter();
  private readonly slots: Slot<T>[] = [];
  /** Slots in submission order, waiting for their images. */
  private readonly pending: Slot<T>[] = [];
  private firstImage: Buffer | null = null;
  private closing = false;
  private failed = false;
  private pid: number | null = null;
  private readonly exited: Promise<void>;
  private readonly ffmpegPath: string;

  /**
   * Starts ffmpeg (in a worker thread).
   * @param onPair Called with each encoded pair, in submission order.
   * @param onError Called once if ffmpeg fails or exits before close(); no pair follows.
   */
  constructor(
    options: PreviewEncoderOptions,
    private readonly onPair: (pair: PreviewPair<T>) => void,
    private readonly onError: (error: RuntimeError) => void,
  ) {
    this.width = options.width;
    this.height = options.height;
    this.previewWidth = options.previewWidth ?? options.width;
    this.previewHeight = options.previewHeight ?? options.height;
    this.ffmpegPath = options.ffmpegPath;
    const pw = this.previewWidth;
    const ph = this.previewHeight;
    this.lumaBytes = pw * ph;
    this.chromaBytes = ((pw + 1) >> 1) * ((ph + 1) >> 1);
    this.frameBytes = this.lumaBytes + 2 * this.chromaBytes;
    this.shrinker = pw === this.width && ph === this.height ? null : createFrameShrinker(this.width, this.height, pw, ph);
    const maxInFlight = options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT;
    const slotBytes = 2 * this.frameBytes;
    const input = new SharedArrayBuffer(slotBytes * maxInFlight);
    const l = this.lumaBytes;
    const c = this.chromaBytes;
    const planesAt = (at: number): YuvPlanes => ({
      y: new Uint8Array(input, at, l),
      u: new Uint8Array(input, at + l, c),
      v: new Uint8Array(input, at + l + c, c),
    });
    for (let k = 0; k < maxInFlight; k++) {
      const at = k * slotBytes;
      this.slots.push({ index: k, original: planesAt(at), stabilized: planesAt(at + this.frameBytes), busy: false, tag: undefined });
    }
    const args = previewEncoderArgs({ width: pw, height: ph, quality: options.quality ?? DEFAULT_JPEG_QUALITY });
    this.worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { ffmpegPath: options.ffmpegPath, args, input, slotBytes, env: binaryEnv(options.ffmpegPath) ?? null } });
    this.exited = new Promise<void>((resolve) => {
      this.worker.on('message', (m: WorkerMessage) => {
        if (m.type === 'data') this.onStdout(Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.length));
        else if (m.type === 'spawned') this.pid = m.pid;
        else if (m.type === 'error') this.fail(`could not start ffmpeg (preview encoder) at ${JSON.stringify(this.ffmpegPath)}: ${m.message}`);
        else if (m.type === 'exit' && !this.closing) {
          const last = m.stderr.trim().split('\n').at(-1)?.trim() ?? '';
          this.fail(`ffmpeg (preview encoder) exited with ${m.signal ?? `code ${m.code}`}${last ? `: ${last}` : ''}`);
        }
      });
      this.worker.once('error', (err) => this.fail(`the preview encoder's worker failed: ${err.message}`));
      this.worker.once('exit', () => resolve());
    });
  }

  /** Process id of the preview ffmpeg once it runs (null before, or when it could not start). */
  get processId(): number | null {
    return this.pid;
  }

  /** Pairs inside the encoder now. */
  get inFlight(): number {
    return this.pending.length;
  }

  /**
   * Copies the two frames into a free input buffer (shrinking a source-size frame to the preview size) and
   * writes them to ffmpeg. Returns false (and does nothing) when `maxInFlight` pairs are already inside, or
   * the encoder has failed or is closing.
   * @throws RuntimeError E_PREVIEW_SIZE when a frame is neither at the source size nor at the preview size.
   */
  trySubmit(original: YuvFrame, stabilized: YuvFrame, tag: T): boolean {
    if (this.closing || this.failed) return false;
    const slot = this.slots.find((s) => !s.busy);
    if (slot === undefined) return false;
    this.checkSize(original);
    this.checkSize(stabilized);
    this.copyFrameInto(slot.original, original);
    this.copyFrameInto(slot.stabilized, stabilized);
    slot.busy = true;
    slot.tag = tag;
    this.pending.push(slot);
    this.worker.postMessage({ type: 'frame', slot: slot.index });
    return true;
  }

  /** Ends ffmpeg's input, waits for it to exit (killing it after a grace period). Pending pairs are dropped. */
  async close(): Promise<void> {
    if (this.closing) return this.exited;
    this.closing = true;
    this.worker.postMessage({ type: 'end' });
    const kill = setTimeout(() => this.worker.postMessage({ type: 'kill' }), CLOSE_GRACE_MS);
    const terminate = setTimeout(() => void this.worker.terminate(), 2 * CLOSE_GRACE_MS);
    await this.exited;
    clearTimeout(kill);
    clearTimeout(terminate);
  }

  private checkSize(f: YuvFrame): void {
    const preview = f.width === this.previewWidth && f.height === this.previewHeight;
    if (preview || (f.width === this.width && f.height === this.height)) return;
    const sizes = this.shrinker === null ? `${this.width}x${this.height}` : `${this.width}x${this.height} or ${this.previewWidth}x${this.previewHeight}`;
    throw new RuntimeError('E_PREVIEW_SIZE', `Expected ${sizes} frames for the preview encoder but received ${f.width}x${f.height}`);
  }

  /** Writes one preview-size frame into a slot's planes: the frame itself, or a source-size frame shrunk. */
  private copyFrameInto(out: YuvPlanes, f: YuvFrame): void {
    if (this.shrinker !== null && f.width === this.width && f.height === this.height) {
      this.shrinker.shrinkInto(out, f);
      return;
    }
    out.y.set(f.y.length === this.lumaBytes ? f.y : f.y.subarray(0, this.lumaBytes));
    out.u.set(f.u.length === this.chromaBytes ? f.u : f.u.subarray(0, this.chromaBytes));
    out.v.set(f.v.length === this.chromaBytes ? f.v : f.v.subarray(0, this.chromaBytes));
  }

  private onStdout(chunk: Buffer): void {
    if (this.failed) return;
    let images: Buffer[];
    try {
      images = this.splitter.push(chunk);
    } catch (err) {
      this.fail((err as Error).message);
      this.worker.postMessage({ type: 'kill' });
      return;
    }
    for (const image of images) {
      if (this.firstImage === null) {
        this.firstImage = image;
        continue;
      }
      const slot = this.pending.shift();
      const original = this.firstImage;
      this.firstImage = null;
      if (slot === undefined) continue; // Images after close() dropped the pending pairs.
      const tag = slot.tag as T;
      slot.busy = false;
      slot.tag = undefined;
      if (!this.closing) this.onPair({ tag, original, stabilized: image });
    }
  }

  private fail(message: string): void {
    if (this.failed) return;
    this.failed = true;
    for (const s of this.pending) {
      s.busy = false;
      s.tag = undefined;
    }
    this.pending.length = 0;
    this.onError(new RuntimeError('E_PREVIEW_ENCODER', message));
  }
}
