/**
 * The live preview of a file job (`steady stabilize --preview`): the job offers each stabilized frame;
 * a copy waits in a small bounded queue (the oldest waiting frame is dropped when the viewer side is
 * slower than the job) and the live session pulls from it. The job never waits for the preview.
 * The viewer's controls act on the job's stabilizer (smoothing, zoom, border) and reference.
 *
 * Only the copy is small: the job warps and encodes full-size frames as it would without a preview. The
 * stabilized frame is copied already shrunk to the preview size (stabilize/frame-shrinker.ts, an area
 * average), since the viewer never sees more; the original is copied at its own size, as the session
 * reports the source size and the motion data in its pixels, and the preview encoder shrinks it when it
 * takes the pair.
 */
import type { LiveSource } from '../server/live-session.js';
import { DEFAULT_PREVIEW_MAX_WIDTH, previewSize } from '../server/preview-encoder.js';
import { createFrameShrinker, type FrameShrinker } from '../stabilize/frame-shrinker.js';
import type { StabilizedFrame, YuvFrame } from '../stabilize/frame-types.js';
import type { Stabilizer } from '../stabilize/stabilizer.js';
import { borderFromViewer, zoomFromFactor } from './live-source.js';

/** Most frames waiting for the preview. */
export const MAX_PREVIEW_QUEUE = 2;

interface Copy {
  input: Uint8Array;
  output: Uint8Array;
  frame: StabilizedFrame;
}

/** A preview source fed by a file job. */
export interface PreviewSource {
  readonly source: LiveSource;
  /** Called by the job for every stabilized frame (copies it; never blocks). */
  offer(frame: StabilizedFrame): void;
  /** The job made its stabilizer: the viewer's controls now reach it. */
  attach(stabilizer: Stabilizer): void;
  /** The job ended: the preview's frames end after the queued ones. */
  end(): void;
}

/** Bytes of a YUV 4:2:0 frame of width x height. */
function frameBytes(width: number, height: number): number {
  return width * height + 2 * Math.ceil(width / 2) * Math.ceil(height / 2);
}

/** A frame of width x height whose planes are views of `data`. */
function framePlanes(data: Uint8Array, f: YuvFrame, width: number, height: number): YuvFrame {
  const l = width * height;
  const c = Math.ceil(width / 2) * Math.ceil(height / 2);
  return { index: f.index, timeSec: f.timeSec, width, height, y: data.subarray(0, l), u: data.subarray(l, l + c), v: data.subarray(l + c, l + 2 * c) };
}

/** Copies `f` into `data` as it is. */
function copyPlanes(data: Uint8Array, f: YuvFrame): YuvFrame {
  const out = framePlanes(data, f, f.width, f.height);
  out.y.set(f.y.subarray(0, out.y.length));
  out.u.set(f.u.subarray(0, out.u.length));
  out.v.set(f.v.subarray(0, out.v.length));
  return out;
}

/**
 * Makes a preview source for frames of one size.
 * @param previewMaxWidth largest width of the preview images, pixels (the live session's). @default DEFAULT_PREVIEW_MAX_WIDTH
 */
export function createPreviewSource(fps: number, lookaheadFrames: number, previewMaxWidth: number = DEFAULT_PREVIEW_MAX_WIDTH): PreviewSource {
  const free: Copy[] = [];
  const queue: Copy[] = [];
  let ended = false;
  let wake: (() => void) | null = null;
  let stabilizer: Stabilizer | null = null;
  let shrinker: FrameShrinker | null = null;
  /** The stabilized frame shrunk to the preview size (or copied when it is that size already) into `data`. */
  const previewCopy = (data: Uint8Array, f: YuvFrame, width: number, height: number): YuvFrame => {
    if (f.width === width && f.height === height) return copyPlanes(data, f);
    if (shrinker === null || shrinker.inputWidth !== f.width || shrinker.inputHeight !== f.height || shrinker.width !== width || shrinker.height !== height) {
      shrinker = createFrameShrinker(f.width, f.height, width, height);
    }
    return shrinker.shrinkInto(framePlanes(data, f, width, height), f);
  };
  const notify = () => {
    const w = wake;
    wake = null;
    w?.();
  };
  async function* frames(): AsyncGenerator<StabilizedFrame, void, undefined> {
    let last: Copy | null = null;
    for (;;) {
      if (last) free.push(last);
      last = null;
      if (queue.length === 0) {
        if (ended) return;
        await new Promise<void>((r) => {
          wake = r;
        });
        continue;
      }
      last = queue.shift() as Copy;
      yield last.frame;
    }
  }
  return {
    source: {
      frames: frames(),
      setSmoothing: (r) => stabilizer?.setSmoothingRadius(r),
      setZoom: (z) => stabilizer?.setZoom(zoomFromFactor(z)),
      setBorder: (b) => stabilizer?.setBorder(borderFromViewer(b)),
      resetReference: () => stabilizer?.resetReference(),
      async close() {
        ended = true;
        notify();
      },
      info: { fps, lookaheadFrames },
    },
    offer(s) {
      if (ended) return;
      const p = previewSize(s.input.width, s.input.height, previewMaxWidth);
      // A stabilized frame smaller than the preview (a stabilizer warping to its own size) is kept as it is.
      const small = s.output.width <= p.width && s.output.height <= p.height;
      const ow = small ? s.output.width : p.width;
      const oh = small ? s.output.height : p.height;
      const inBytes = frameBytes(s.input.width, s.input.height);
      const outBytes = frameBytes(ow, oh);
      let c = queue.length >= MAX_PREVIEW_QUEUE ? (queue.shift() as Copy) : free.pop();
      if (!c || c.input.length !== inBytes || c.output.length !== outBytes) c = { input: new Uint8Array(inBytes), output: new Uint8Array(outBytes), frame: s };
      c.frame = { input: copyPlanes(c.input, s.input), output: previewCopy(c.output, s.output, ow, oh), motion: s.motion, decodedAtMs: s.decodedAtMs };
      queue.push(c);
      notify();
    },
    attach(s) {
      stabilizer = s;
    },
    end() {
      ended = true;
      notify();
    },
  };
}
