/**
 * A live stabilizer over an ffmpeg source (file at its own rate, URL, device, lavfi graph, stdin), for
 * `steady serve` and the preview of a file job.
 *
 *   decoder ──► pump (copies each frame into a pool; bounded queue of MAX_QUEUED_FRAMES, the oldest
 *               waiting frame is dropped when full) ──► stabilizer ──► frames (async iterable)
 *
 * When stabilizing falls behind the source, frames are dropped before they are analysed rather than
 * letting latency grow; the drops show as gaps in `input.index`, which the live session counts.
 * Between frames the consumer yields to the event loop so that the pump keeps draining ffmpeg's pipe.
 */
import { InputError } from '../errors.js';
import type { BorderMode as ViewerBorderMode } from '../server/protocol.js';
import type { LiveSource } from '../server/live-session.js';
import type { StabilizedFrame, YuvFrame } from '../stabilize/frame-types.js';
import type { BorderFill } from '../stabilize/frame-warper.js';
import { type ResolvedStabilizeOptions, resolveStabilizeOptions, type StabilizeOptions, type ZoomSetting } from '../stabilize/options.js';
import { createStabilizer, stabilizerSettingsFor } from '../stabilize/stabilizer.js';
import { downscaleYInto } from '../video/analysis.js';
import { type Decoder, openDecoder } from '../video/decoder.js';

/** Most frames waiting between the decoder and the stabilizer. */
export const MAX_QUEUED_FRAMES = 2;

/** Options of a live stabilizer. */
export interface LiveStabilizerOptions extends StabilizeOptions {
  /** Replay a file forever (ffmpeg -stream_loop -1). @default false */
  readonly loop?: boolean;
  /** Read at the source's own frame rate (ffmpeg -re). @default true */
  readonly realtime?: boolean;
  /** ffmpeg input format (-f), e.g. v4l2, lavfi. */
  readonly inputFormat?: string;
  readonly ffmpegPath?: string;
  readonly signal?: AbortSignal;
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

interface Pooled {
  data: Uint8Array;
  frame: YuvFrame;
}

/** Opens the source and starts a live stabilizer on it. @throws InputError when the source cannot be opened. */
export async function openLiveStabilizer(source: string, options: LiveStabilizerOptions): Promise<LiveSource & { readonly droppedFrames: number }> {
  const opts: ResolvedStabilizeOptions = resolveStabilizeOptions(options);
  if (opts.smoother === 'two-pass' || opts.zoom === 'auto') {
    throw new InputError('E_BAD_OPTION', "A live source cannot use the 'two-pass' smoother or 'auto' zoom (they need the whole clip); use gaussian or causal");
  }
  const decoder: Decoder = await openDecoder(source, {
    loop: options.loop ?? false,
    realtime: options.realtime ?? true,
    ...(options.inputFormat !== undefined ? { inputFormat: options.inputFormat } : {}),
    ...(options.ffmpegPath !== undefined ? { ffmpegPath: options.ffmpegPath } : {}),
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
  });
  const { width, height, frameBytes } = decoder;
  const lumaBytes = width * height;
  const chromaBytes = decoder.chromaWidth * decoder.chromaHeight;
  const stabilizer = createStabilizer(stabilizerSettingsFor(opts, width, height, null), downscaleYInto);
  const pool: Pooled[] = [];
  const free: Pooled[] = [];
  const queue: Pooled[] = [];
  let dropped = 0;
  let ended = false;
  let failure: unknown = null;
  let wake: (() => void) | null = null;
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  const take = (): Pooled => {
    const p = free.pop();
    if (p) return p;
    if (pool.length < MAX_QUEUED_FRAMES + 2) {
      const data = new Uint8Array(frameBytes);
      const n: Pooled = { data, frame: { index: -1, timeSec: 0, width, height, y: data.subarray(0, lumaBytes), u: data.subarray(lumaBytes, lumaBytes + chromaBytes), v: data.subarray(lumaBytes + chromaBytes) } };
      pool.push(n);
      return n;
    }
    // Every buffer is queued: drop the oldest waiting frame and reuse its buffer.
    dropped++;
    return queue.shift() as Pooled;
  };

  const pump = (async () => {
    try {
      for await (const f of decoder.frames()) {
        if (queue.length >= MAX_QUEUED_FRAMES) {
          free.push(queue.shift() as Pooled);
          dropped++;
        }
        const p = take();
        p.data.set(f.data);
        p.frame = { ...p.frame, index: f.index, timeSec: f.timeSec };
        queue.push(p);
        notify();
      }
    } catch (err) {
      failure = err;
    } finally {
      ended = true;
      notify();
    }
  })();

  async function* frames(): AsyncGenerator<StabilizedFrame, void, undefined> {
    let inUse: Pooled | null = null;
    try {
      for (;;) {
        if (inUse) {
          free.push(inUse);
          inUse = null;
        }
        if (queue.length === 0) {
          if (ended) break;
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
          continue;
        }
        inUse = queue.shift() as Pooled;
        stabilizer.push(inUse.frame, performance.now());
        for (let s = stabilizer.pull(); s !== null; s = stabilizer.pull()) yield s;
        // Let the pump drain ffmpeg's pipe before the next (synchronous) analysis.
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
      if (failure !== null && !options.signal?.aborted) throw failure;
      stabilizer.finish();
      for (let s = stabilizer.pull(); s !== null; s = stabilizer.pull()) yield s;
    } finally {
      await decoder.close();
      await pump;
    }
  }

  return {
    frames: frames(),
    get droppedFrames() {
      return dropped;
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
      await decoder.close();
      ended = true;
      notify();
      await pump;
    },
    info: {
      fps: decoder.fps,
      lookaheadFrames: stabilizer.latencyFrames,
      settings: { smoothingRadius: opts.smoothingRadius, zoom: typeof opts.zoom === 'object' ? 1 + opts.zoom.percent / 100 : 1, border: opts.border === 'edge' ? 'replicate' : opts.border === 'keep' ? 'black' : opts.border },
    },
  };
}
