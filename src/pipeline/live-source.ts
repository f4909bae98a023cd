/**
 * A live stabilizer over an ffmpeg source (file at its own rate, URL, device, lavfi graph, stdin), for
 * `steady serve`.
 *
 *   ffmpeg ──► decode worker (drains the pipe, cuts frames into a shared pool; at most MAX_QUEUED_FRAMES
 *              whole frames wait, the oldest is dropped when the main thread is behind)
 *          ──► stabilizer (main thread: registration, smoothing, warp) ──► frames (async iterable)
 *
 * The decoder's pipe is read in a worker thread (decode-worker.ts) because the main thread spends most of
 * its time in synchronous registration: read from the main thread, a 720p frame (1.38 MB through a 64 KB
 * pipe) waited for many turns of a busy event loop, ffmpeg blocked, and a live source fell behind instead
 * of dropping frames. Now the source always runs at its own rate and frames that the stabilizer has no time
 * for are dropped before they are analysed, counted, and seen as gaps in `input.index` (which the live
 * session counts as dropped upstream).
 *
 * A source read as fast as possible (`realtime: false` on a file or lavfi graph) has no clock to fall
 * behind: there the worker waits for the stabilizer instead of dropping, and every frame is stabilized.
 *
 * Output size: with `outputMaxWidth` (serve passes its --preview-width) the stabilizer warps straight to
 * the viewer's preview size (previewSize in server/preview-encoder.ts), a quarter of the full-size warp's
 * work at 1280x720 -> 640x360; the viewer never sees more. Motion data stays in source pixels.
 *
 * Latency: each frame carries the time its last byte left ffmpeg (`decodedAtMs`), so the latency the
 * session measures includes the wait in the pool, the stabilizer's look-ahead and its work.
 */
import type { Readable } from 'node:stream';
import { InputError } from '../errors.js';
import type { BorderMode as ViewerBorderMode } from '../server/protocol.js';
import type { LiveSource } from '../server/live-session.js';
import { previewSize } from '../server/preview-encoder.js';
import type { StabilizedFrame } from '../stabilize/frame-types.js';
import type { BorderFill } from '../stabilize/frame-warper.js';
import { type ResolvedStabilizeOptions, resolveStabilizeOptions, type StabilizeOptions, type ZoomSetting } from '../stabilize/options.js';
import { createStabilizer, stabilizerSettingsFor } from '../stabilize/stabilizer.js';
import { downscaleYInto } from '../video/analysis.js';
import { resolveFfmpeg } from '../video/binaries.js';
import { type Decoder, openDecoder } from '../video/decoder.js';
import { startDecodeWorker } from './decode-worker.js';

/**
 * Most whole frames waiting between the decoder and the stabilizer. Two frame periods (67 ms at 30 fps)
 * absorb the jitter of the stabilizer's per-frame time without adding much latency.
 */
export const MAX_QUEUED_FRAMES = 2;

/** Options of a live stabilizer. */
export interface LiveStabilizerOptions extends StabilizeOptions {
  /** Replay a file forever (ffmpeg -stream_loop -1). @default false */
  readonly loop?: boolean;
  /** Read at the source's own frame rate (ffmpeg -re). @default true */
  readonly realtime?: boolean;
  /**
   * Drop the oldest waiting frame when the stabilizer is behind (true), or make the source wait (false).
   * @default true, except for a local file or lavfi graph read with `realtime: false` (nothing is live
   *   there: every frame is stabilized, as fast as the stabilizer goes)
   */
  readonly dropWhenBehind?: boolean;
  /** ffmpeg input format (-f), e.g. v4l2, lavfi. */
  readonly inputFormat?: string;
  /**
   * Largest width of the stabilized frames, pixels: a wider source is warped straight to
   * previewSize(width, height, outputMaxWidth) (even sides, aspect ratio kept), the size of the live
   * viewer's images; `input` and the motion data stay at the source size. @default the source width (no shrinking)
   */
  readonly outputMaxWidth?: number;
  /** The ffmpeg executable. @default resolveFfmpeg().path */
  readonly ffmpegPath?: string;
  /** Standard input to decode when the source is '-'. @default process.stdin */
  readonly stdin?: Readable;
  /** Stops the source (its frames end) when aborted. */
  readonly signal?: AbortSignal;
}

/** An opened live stabilizer: a LiveSource with its drop count and decoder command. */
export interface LiveStabilizer extends LiveSource {
  /** Frames dropped before the stabilizer because it was behind the source. */
  readonly droppedFrames: number;
  /** The decoding ffmpeg's arguments (for logs and bug reports). */
  readonly ffmpegArgs: readonly string[];
  /** Process id of the decoding ffmpeg while it runs, else null. */
  readonly decoderProcessId: number | null;
}

/** The viewer's border names to the stabilizer's. */
export function borderFromViewer(mode: ViewerBorderMode): BorderFill {
  return mode === 'replicate' ? 'edge' : mode;
}

/** A viewer's zoom factor (1 = none, > 1 = that much in; 0 or less = adaptive) to a zoom setting. */
export function zoomFromFactor(z: number): ZoomSetting {
  if (!(z > 0)) return 'adaptive';
  if (z <= 1) return 'none';
  return { percent: Math.min(50, (z - 1) * 100) };
}

/** A local file or a lavfi graph: a source with no clock of its own when it is not read with -re. */
function isClockless(source: string, inputFormat: string | undefined): boolean {
  if (inputFormat === 'lavfi') return true;
  return inputFormat === undefined && source !== '-' && !/^[a-z][a-z0-9+.-]*:/i.test(source);
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Opens the source and starts a live stabilizer on it: ffmpeg starts at once (in a worker thread) and
 * runs at the source's rate whether or not `frames` is being read; frames not taken in time are dropped.
 * @throws InputError when the source cannot be opened or the options cannot be used live.
 */
export async function openLiveStabilizer(source: string, options: LiveStabilizerOptions): Promise<LiveStabilizer> {
  const opts: ResolvedStabilizeOptions = resolveStabilizeOptions(options, {}, true);
  if (opts.smoother === 'two-pass' || opts.zoom === 'auto') {
    throw new InputError('E_BAD_OPTION', "A live source cannot use the 'two-pass' smoother or 'auto' zoom (they plan over seconds of look-ahead); use gaussian or causal");
  }
  const realtime = options.realtime ?? true;
  // The decoder probes the source and builds ffmpeg's command; its frames are read by the worker instead.
  const decoder: Decoder = await openDecoder(source, {
    loop: options.loop ?? false,
    realtime,
    ...(options.inputFormat !== undefined ? { inputFormat: options.inputFormat } : {}),
    ...(options.ffmpegPath !== undefined ? { ffmpegPath: options.ffmpegPath } : {}),
    ...(options.stdin !== undefined ? { stdin: options.stdin } : {}),
  });
  const { width, height } = decoder;
  const output = options.outputMaxWidth === undefined ? undefined : previewSize(width, height, options.outputMaxWidth);
  const stabilizer = createStabilizer(stabilizerSettingsFor(opts, width, height, null, output), downscaleYInto);
  const dropWhenBehind = options.dropWhenBehind ?? (realtime || !isClockless(source, options.inputFormat));
  const reader = startDecodeWorker({
    ffmpegPath: options.ffmpegPath ?? resolveFfmpeg().path,
    args: decoder.args,
    width,
    height,
    fps: decoder.fps,
    dropWhenBehind,
    maxWaitingFrames: MAX_QUEUED_FRAMES,
    inputName: source === '-' ? 'standard input' : JSON.stringify(source),
    ...(source === '-' ? { stdin: decoder.probe.stdin ?? options.stdin ?? process.stdin } : {}),
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
  });
  let closed = false;

  async function* frames(): AsyncGenerator<StabilizedFrame, void, undefined> {
    try {
      for (;;) {
        const f = await reader.next();
        if (f === null) break;
        stabilizer.push(f, f.decodedAtMs);
        // The stabilizer copied the planes into its own ring: the slot can take the next frame now.
        reader.release();
        let produced = false;
        for (let s = stabilizer.pull(); s !== null; s = stabilizer.pull()) {
          produced = true;
          yield s;
        }
        // While the look-ahead fills, frames may be ready back to back: leave one turn of the event loop
        // per frame to the sockets and timers (the consumer yields after each frame it receives).
        if (!produced) await yieldToEventLoop();
      }
      if (closed || options.signal?.aborted) return;
      stabilizer.finish();
      for (let s = stabilizer.pull(); s !== null; s = stabilizer.pull()) yield s;
    } finally {
      await reader.close();
      await decoder.close();
    }
  }

  return {
    frames: frames(),
    get droppedFrames() {
      return reader.droppedFrames;
    },
    ffmpegArgs: decoder.args,
    get decoderProcessId() {
      return reader.processId;
    },
    setSmoothing(r) {
      stabilizer.setSmoothingRadius(r);
    },
    setZoom(z) {
      stabilizer.setZoom(zoomFromFactor(z));
    },
    setBorder(mode) {
      stabilizer.setBorder(borderFromViewer(mode));
    },
    resetReference() {
      stabilizer.resetReference();
    },
    async close() {
      closed = true;
      await reader.close();
      await decoder.close();
    },
    info: {
      fps: decoder.fps,
      lookaheadFrames: stabilizer.latencyFrames,
      settings: { smoothingRadius: opts.smoothingRadius, zoom: typeof opts.zoom === 'object' ? 1 + opts.zoom.percent / 100 : 1, border: opts.border === 'edge' ? 'replicate' : opts.border === 'keep' ? 'black' : opts.border },
    },
  };
}
