/**
 * Wires a live frame source (the stabilizer's per-frame output) to the viewers:
 *
 *   source frames ──► [preview encoder: ≤ maxInFlight pairs] ──► frame message ──► each viewer's queue
 *
 * The loop that pulls frames never waits for the encoder or a viewer: when the encoder already holds
 * `maxInFlight` pairs the frame is dropped and counted (so latency cannot grow), and each viewer's queue
 * drops frames for that viewer alone (viewer-queue.ts). Frames lost before they reach the session show up
 * as gaps in the frame indices and are counted too.
 *
 * The session knows viewers only as sockets with `send` and `bufferedAmount` (server.ts adapts `ws`);
 * it answers their control messages (control.ts) and sends them stats about twice a second.
 */
import { type RuntimeError, SteadyError } from '../errors.js';
import type { StabilizedFrame } from '../stabilize/frame-types.js';
import { type ControlMessage, parseControlMessage } from './control.js';
import { LatencyWindow, RateMeter } from './live-stats.js';
import { DEFAULT_MAX_IN_FLIGHT, DEFAULT_PREVIEW_MAX_WIDTH, PreviewEncoder, type PreviewPair, previewSize } from './preview-encoder.js';
import {
  type BorderMode,
  encodeFrameMessage,
  type FrameHeader,
  type HelloMessage,
  type LiveSettings,
  PROTOCOL_VERSION,
  type ServerMessage,
  type StatsMessage,
} from './protocol.js';
import { type ViewerQueueOptions, ViewerQueue, type ViewerSocket } from './viewer-queue.js';

/**
 * What the live server needs from a stabilizer: its frames as they are produced and the controls a viewer
 * may change while it runs. Controls take effect on frames produced after the call.
 */
export interface LiveSource {
  /**
   * Stabilized frames in order; ends when the source ends (or after close()). Frame planes may be reused
   * after the next pull. `output` has the size of `input`, or a smaller size: a source opened for a preview
   * width warps straight to the preview size (see pipeline/live-source.ts), and that size is then the
   * preview size. The session shrinks whichever frame is larger than the preview in-process, so the
   * preview encoder's ffmpeg only encodes. Motion data is in `input` pixels either way.
   */
  readonly frames: AsyncIterable<StabilizedFrame>;
  /** Sets the smoothing radius, frames. */
  setSmoothing(radius: number): void;
  /** Sets the zoom factor (1 = none). */
  setZoom(zoom: number): void;
  /** Sets the border fill. */
  setBorder(mode: BorderMode): void;
  /** Re-anchors the reference frame on the next frame. */
  resetReference(): void;
  /** Stops the source and its processes; `frames` then ends. */
  close(): Promise<void>;
  /** What the source knows about itself once opened (told to viewers). */
  readonly info?: LiveSourceInfo;
}

/** Facts about an opened live source. */
export interface LiveSourceInfo {
  /** Frame rate, frames per second (0 = unknown). */
  readonly fps?: number;
  /** Frames the smoother looks ahead (the stabilized stream lags the source by this many frames). */
  readonly lookaheadFrames?: number;
  /** Settings in force when the source was opened. */
  readonly settings?: Omit<LiveSettings, 'paused'>;
}

/** Options of a live session. */
export interface LiveSessionOptions {
  /** The ffmpeg executable for the preview encoder. */
  readonly ffmpegPath: string;
  /** Settings in force when the session starts (what the source was opened with). */
  readonly initialSettings: Omit<LiveSettings, 'paused'>;
  /** Source frame rate, frames per second, for viewers (0 = unknown). @default 0 */
  readonly fps?: number;
  /** Look-ahead of the smoother, frames (told to viewers). @default 0 */
  readonly lookaheadFrames?: number;
  /**
   * Largest preview width, pixels (for a source whose output has the input's size; a source that outputs
   * a smaller size sets the preview size itself). @default DEFAULT_PREVIEW_MAX_WIDTH
   */
  readonly previewMaxWidth?: number;
  /** JPEG quality, ffmpeg `-q:v` 2..31. @default 5 */
  readonly jpegQuality?: number;
  /** Most frame pairs inside the preview encoder. @default DEFAULT_MAX_IN_FLIGHT */
  readonly maxInFlight?: number;
  /** Per-viewer queue limits. */
  readonly viewerQueue?: ViewerQueueOptions;
  /** Interval of stats messages, ms. @default 500 */
  readonly statsIntervalMs?: number;
  /** Called for each frame message right after it was handed to the viewers (benchmarks, logs). */
  readonly onFrameSent?: (header: FrameHeader, messageBytes: number) => void;
  /** Monotonic clock in ms (the clock of StabilizedFrame.decodedAtMs). @default performance.now */
  readonly nowMs?: () => number;
  /** Called once, when the source hands out its first frame (before the frame is sent). @default none */
  readonly onFirstFrame?: () => void;
}

/** Counters of a session. */
export interface LiveCounters {
  /** Frames received from the source. */
  readonly framesIn: number;
  /** Frame messages produced for viewers. */
  readonly framesOut: number;
  /** Frames lost before the session (gaps in frame indices). */
  readonly droppedUpstream: number;
  /** Frames dropped because the preview encoder was busy. */
  readonly droppedEncoder: number;
  /** Frames not sent because the session was paused. */
  readonly pausedFrames: number;
  /** Frames dropped for slow viewers, summed over viewers (including viewers that left). */
  readonly droppedViewers: number;
}

/** A connected viewer, as the session knows it. */
export interface Viewer {
  readonly id: number;
  readonly queue: ViewerQueue;
}

/** Motion data of a frame inside the encoder; a small pool of these is reused. */
interface FrameRecord {
  frameIndex: number;
  referenceIndex: number;
  registrationOk: boolean;
  width: number;
  height: number;
  timeSec: number;
  decodedAtMs: number;
  cc: number;
  zoom: number;
  readonly motion: Float64Array;
  readonly correction: Float64Array;
  readonly path: Float64Array;
  readonly smoothedPath: Float64Array;
}

function newRecord(): FrameRecord {
  return {
    frameIndex: 0,
    referenceIndex: 0,
    registrationOk: false,
    width: 0,
    height: 0,
    timeSec: 0,
    decodedAtMs: 0,
    cc: Number.NaN,
    zoom: 1,
    motion: new Float64Array(9),
    correction: new Float64Array(9),
    path: new Float64Array(3),
    smoothedPath: new Float64Array(3),
  };
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Longest wait for the encoder's last images when the source ends, ms. */
const DRAIN_TIMEOUT_MS = 5000;

/** Largest frame index the protocol carries (u32). */
const MAX_U32 = 0xffffffff;

/** A live session: one source, any number of viewers. */
export class LiveSession {
  private readonly viewers = new Map<number, Viewer>();
  private nextViewerId = 1;
  private settings: LiveSettings;
  private encoder: PreviewEncoder<FrameRecord> | null = null;
  private encoderError: RuntimeError | null = null;
  private readonly freeRecords: FrameRecord[] = [];
  private readonly rateIn = new RateMeter();
  private readonly rateOut = new RateMeter();
  private readonly latency = new LatencyWindow();
  private readonly now: () => number;
  private sequence = 0;
  private lastIndex = -1;
  private lastCc = Number.NaN;
  private width = 0;
  private height = 0;
  private preview = { width: 0, height: 0 };
  private stopping = false;
  private statsTimer: NodeJS.Timeout | null = null;
  private counters = { framesIn: 0, framesOut: 0, droppedUpstream: 0, droppedEncoder: 0, pausedFrames: 0, droppedGone: 0 };
  private wakeEncoderWait: (() => void) | null = null;

  constructor(
    private readonly source: LiveSource,
    private readonly options: LiveSessionOptions,
  ) {
    this.settings = { paused: false, ...options.initialSettings };
    this.now = options.nowMs ?? (() => performance.now());
  }

  /** The shared settings now. */
  get currentSettings(): LiveSettings {
    return this.settings;
  }

  /** Viewers connected now. */
  get viewerCount(): number {
    return this.viewers.size;
  }

  /** The session's counters now. */
  get counts(): LiveCounters {
    let droppedViewers = this.counters.droppedGone;
    for (const v of this.viewers.values()) droppedViewers += v.queue.dropped;
    const { droppedGone: _, ...rest } = this.counters;
    return { ...rest, droppedViewers };
  }

  /** Latency from decoder to send over the recent frames, ms (NaN before the first frame). */
  latencyMs(): { median: number; p95: number } {
    return { median: this.latency.quantile(0.5), p95: this.latency.quantile(0.95) };
  }

  /**
   * Pulls frames from the source until it ends or stop() is called, then waits (briefly) for the encoder to
   * hand out the frames it holds, tells viewers the stream ended and closes the encoder.
   * @throws RuntimeError when the preview encoder fails; the source's own errors pass through.
   */
  async run(): Promise<LiveCounters> {
    const interval = this.options.statsIntervalMs ?? 500;
    this.statsTimer = setInterval(() => this.broadcastStats(), interval);
    this.statsTimer.unref();
    let first = true;
    try {
      for await (const frame of this.source.frames) {
        if (this.encoderError) throw this.encoderError;
        if (this.stopping) break;
        if (first) {
          first = false;
          this.options.onFirstFrame?.();
        }
        this.acceptFrame(frame);
        // A source whose frames are already buffered resolves each pull as a microtask; without a turn
        // of the event loop per frame the sockets and the encoder's pipes would never be served.
        await yieldToEventLoop();
      }
      if (this.encoderError) throw this.encoderError;
      if (!this.stopping) {
        await this.drainEncoder();
        this.broadcast({ type: 'end', frames: this.counters.framesIn });
      }
      return this.counts;
    } finally {
      if (this.statsTimer) clearInterval(this.statsTimer);
      this.statsTimer = null;
      await this.encoder?.close();
    }
  }

  /** Stops pulling frames and closes the source (run() then returns). */
  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeEncoderWait?.();
    await this.source.close();
  }

  /** Registers a viewer and sends it the hello message. */
  addViewer(socket: ViewerSocket): Viewer {
    const viewer: Viewer = { id: this.nextViewerId++, queue: new ViewerQueue(socket, this.options.viewerQueue) };
    this.viewers.set(viewer.id, viewer);
    viewer.queue.sendJson(this.hello(viewer.id));
    return viewer;
  }

  /** Forgets a viewer (it disconnected). */
  removeViewer(viewer: Viewer): void {
    if (this.viewers.delete(viewer.id)) {
      this.counters.droppedGone += viewer.queue.dropped;
      viewer.queue.clear();
    }
  }

  /** Handles one message from a viewer: applies a valid control, answers an invalid one with an error. */
  handleMessage(viewer: Viewer, data: string | Uint8Array, isBinary: boolean): void {
    const parsed = parseControlMessage(data, isBinary);
    if (!parsed.ok) {
      viewer.queue.sendJson({ type: 'error', code: parsed.code, message: parsed.error });
      return;
    }
    try {
      this.applyControl(viewer, parsed.message);
    } catch (err) {
      if (!(err instanceof SteadyError)) throw err;
      viewer.queue.sendJson({ type: 'error', code: err.code, message: err.message });
    }
  }

  private applyControl(viewer: Viewer, c: ControlMessage): void {
    switch (c.type) {
      case 'pause':
      case 'resume':
        this.settings = { ...this.settings, paused: c.type === 'pause' };
        break;
      case 'smoothing':
        this.source.setSmoothing(c.radius);
        this.settings = { ...this.settings, smoothingRadius: c.radius };
        break;
      case 'zoom':
        this.source.setZoom(c.zoom);
        this.settings = { ...this.settings, zoom: c.zoom };
        break;
      case 'border':
        this.source.setBorder(c.mode);
        this.settings = { ...this.settings, border: c.mode };
        break;
      case 'reset':
        this.source.resetReference();
        break;
      case 'view':
        viewer.queue.sendJson({ type: 'view', mode: c.mode });
        return;
    }
    this.broadcast({ type: 'settings', settings: this.settings });
  }

  private hello(viewerId: number): HelloMessage {
    return {
      type: 'hello',
      protocolVersion: PROTOCOL_VERSION,
      viewerId,
      width: this.width,
      height: this.height,
      fps: this.options.fps ?? 0,
      previewWidth: this.preview.width,
      previewHeight: this.preview.height,
      lookaheadFrames: this.options.lookaheadFrames ?? 0,
      settings: this.settings,
    };
  }

  private broadcast(message: ServerMessage): void {
    for (const v of this.viewers.values()) v.queue.sendJson(message);
  }

  private broadcastStats(): void {
    const now = this.now();
    const fpsIn = this.rateIn.rate(now);
    const fpsOut = this.rateOut.rate(now);
    const lat = this.latencyMs();
    for (const v of this.viewers.values()) {
      const stats: StatsMessage = {
        type: 'stats',
        fpsIn,
        fpsOut,
        droppedUpstream: this.counters.droppedUpstream,
        droppedEncoder: this.counters.droppedEncoder,
        droppedViewer: v.queue.dropped,
        sentViewer: v.queue.sent,
        latencyMedianMs: Number.isNaN(lat.median) ? 0 : lat.median,
        latencyP95Ms: Number.isNaN(lat.p95) ? 0 : lat.p95,
        cc: Number.isNaN(this.lastCc) ? null : this.lastCc,
        viewers: this.viewers.size,
        paused: this.settings.paused,
      };
      v.queue.sendJson(stats);
    }
  }

  private acceptFrame(frame: StabilizedFrame): void {
    const now = this.now();
    const index = frame.input.index;
    this.counters.framesIn++;
    this.rateIn.mark(now);
    if (this.lastIndex >= 0 && index > this.lastIndex + 1) this.counters.droppedUpstream += index - this.lastIndex - 1;
    this.lastIndex = index;
    this.lastCc = frame.motion.cc;
    if (this.settings.paused) {
      this.counters.pausedFrames++;
      return;
    }
    const encoder = this.encoder ?? this.startEncoder(frame);
    const r = this.freeRecords.pop() ?? newRecord();
    const m = frame.motion;
    r.frameIndex = Math.min(index, MAX_U32);
    r.referenceIndex = Math.min(Math.max(m.referenceIndex, 0), MAX_U32);
    r.registrationOk = m.ok;
    r.width = frame.input.width;
    r.height = frame.input.height;
    r.timeSec = frame.input.timeSec;
    r.decodedAtMs = frame.decodedAtMs;
    r.cc = m.cc;
    r.zoom = m.zoom;
    r.motion.set(m.motion);
    r.correction.set(m.correction);
    r.path[0] = m.path[0];
    r.path[1] = m.path[1];
    r.path[2] = m.path[2];
    r.smoothedPath[0] = m.smoothedPath[0];
    r.smoothedPath[1] = m.smoothedPath[1];
    r.smoothedPath[2] = m.smoothedPath[2];
    if (!encoder.trySubmit(frame.input, frame.output, r)) {
      this.counters.droppedEncoder++;
      this.freeRecords.push(r);
    }
  }

  private startEncoder(frame: StabilizedFrame): PreviewEncoder<FrameRecord> {
    this.width = frame.input.width;
    this.height = frame.input.height;
    const out = frame.output;
    // A source that warps to a smaller size already made the preview: the original is shrunk to match it.
    this.preview =
      out.width < this.width || out.height < this.height
        ? { width: out.width, height: out.height }
        : previewSize(this.width, this.height, this.options.previewMaxWidth ?? DEFAULT_PREVIEW_MAX_WIDTH);
    const encoder = new PreviewEncoder<FrameRecord>(
      {
        ffmpegPath: this.options.ffmpegPath,
        width: this.width,
        height: this.height,
        previewWidth: this.preview.width,
        previewHeight: this.preview.height,
        quality: this.options.jpegQuality ?? 5,
        maxInFlight: this.options.maxInFlight ?? DEFAULT_MAX_IN_FLIGHT,
      },
      (pair) => this.sendPair(pair),
      (err) => {
        this.encoderError = err;
        this.wakeEncoderWait?.();
      },
    );
    this.encoder = encoder;
    // Viewers that joined before the first frame learn the sizes now.
    for (const v of this.viewers.values()) v.queue.sendJson(this.hello(v.id));
    return encoder;
  }

  private sendPair(pair: PreviewPair<FrameRecord>): void {
    const r = pair.tag;
    const now = this.now();
    const header: FrameHeader = {
      sequence: this.sequence,
      frameIndex: r.frameIndex,
      referenceIndex: r.referenceIndex,
      registrationOk: r.registrationOk,
      width: r.width,
      height: r.height,
      previewWidth: this.preview.width,
      previewHeight: this.preview.height,
      timeSec: r.timeSec,
      decodedAtMs: r.decodedAtMs,
      sentAtMs: now,
      wallClockMs: Date.now(),
      cc: r.cc,
      zoom: r.zoom,
      motion: r.motion,
      correction: r.correction,
      path: r.path,
      smoothedPath: r.smoothedPath,
    };
    const message = encodeFrameMessage(header, pair.original, pair.stabilized);
    this.sequence = (this.sequence + 1) % (MAX_U32 + 1);
    for (const v of this.viewers.values()) v.queue.offerFrame(message);
    this.counters.framesOut++;
    this.rateOut.mark(now);
    this.latency.add(now - r.decodedAtMs);
    this.options.onFrameSent?.(header, message.length);
    this.freeRecords.push(r);
    if (this.encoder !== null && this.encoder.inFlight === 0) this.wakeEncoderWait?.();
  }

  /** Waits until the encoder has handed out every pair it holds (or failed, or stop()). */
  private async drainEncoder(): Promise<void> {
    const encoder = this.encoder;
    if (encoder === null) return;
    const deadline = this.now() + DRAIN_TIMEOUT_MS;
    while (encoder.inFlight > 0 && !this.encoderError && !this.stopping && this.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 200);
        this.wakeEncoderWait = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeEncoderWait = null;
    }
    if (this.encoderError) throw this.encoderError;
  }
}
