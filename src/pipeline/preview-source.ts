/**
 * The live preview of a file job (`steady stabilize --preview`): the job offers each stabilized frame;
 * a copy waits in a small bounded queue (the oldest waiting frame is dropped when the viewer side is
 * slower than the job) and the live session pulls from it. The job never waits for the preview.
 * The viewer's controls act on the job's stabilizer (smoothing, zoom, border) and reference.
 */
import type { LiveSource } from '../server/live-session.js';
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

function planes(data: Uint8Array, f: YuvFrame): YuvFrame {
  const l = f.y.length;
  const c = f.u.length;
  data.set(f.y, 0);
  data.set(f.u, l);
  data.set(f.v, l + c);
  return { index: f.index, timeSec: f.timeSec, width: f.width, height: f.height, y: data.subarray(0, l), u: data.subarray(l, l + c), v: data.subarray(l + c, l + 2 * c) };
}

/** Makes a preview source for frames of one size. */
export function createPreviewSource(fps: number, lookaheadFrames: number): PreviewSource {
  const free: Copy[] = [];
  const queue: Copy[] = [];
  let ended = false;
  let wake: (() => void) | null = null;
  let stabilizer: Stabilizer | null = null;
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
      const bytes = s.input.y.length + 2 * s.input.u.length;
      let c = queue.length >= MAX_PREVIEW_QUEUE ? (queue.shift() as Copy) : free.pop();
      if (!c || c.input.length !== bytes) c = { input: new Uint8Array(bytes), output: new Uint8Array(bytes), frame: s };
      c.frame = { input: planes(c.input, s.input), output: planes(c.output, s.output), motion: s.motion, decodedAtMs: s.decodedAtMs };
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
