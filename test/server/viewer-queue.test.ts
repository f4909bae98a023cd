import { describe, expect, it } from 'vitest';
import { LatencyWindow, RateMeter } from '../../src/server/live-stats.js';
import { ViewerQueue, type ViewerSocket } from '../../src/server/viewer-queue.js';
import { mulberry32 } from '../support/live-fake-source.js';

/** Rate estimate on an exactly periodic event train: within 2% of the true rate. */
const TOL_RATE_REL = 0.02;

/** A socket whose kernel never drains unless told: every send adds to bufferedAmount. */
class FakeSocket implements ViewerSocket {
  bufferedAmount = 0;
  readyState = 1;
  readonly sent: (Buffer | string)[] = [];
  private callbacks: { bytes: number; cb?: (err?: Error) => void }[] = [];

  send(data: Buffer | string, callback?: (err?: Error) => void): void {
    this.sent.push(data);
    const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
    this.bufferedAmount += bytes;
    this.callbacks.push(callback === undefined ? { bytes } : { bytes, cb: callback });
  }

  /** The peer read everything: buffers drain and send callbacks run. */
  drain(): void {
    const cbs = this.callbacks;
    this.callbacks = [];
    for (const c of cbs) {
      this.bufferedAmount -= c.bytes;
      c.cb?.();
    }
  }
}

const frame = (n: number) => Buffer.alloc(1000, n);

describe('viewer queue', () => {
  it('sends every frame to a viewer that keeps up', () => {
    const s = new FakeSocket();
    const q = new ViewerQueue(s, { maxBufferedBytes: 2500, maxQueuedFrames: 2 });
    for (let k = 0; k < 50; k++) {
      q.offerFrame(frame(k));
      s.drain();
    }
    expect(q.sent).toBe(50);
    expect(q.dropped).toBe(0);
    expect(s.sent.map((b) => (b as Buffer)[0])).toEqual(Array.from({ length: 50 }, (_, k) => k));
  });

  it('stops sending past maxBufferedBytes, keeps the newest frames and counts the dropped ones', () => {
    const s = new FakeSocket();
    const q = new ViewerQueue(s, { maxBufferedBytes: 2500, maxQueuedFrames: 2 });
    for (let k = 0; k < 10; k++) q.offerFrame(frame(k));
    // 0, 1, 2 go out (buffered 0, 1000, 2000 <= 2500 before each); 3..9 wait in a queue of 2: 5 dropped.
    expect(q.sent).toBe(3);
    expect(q.queued).toBe(2);
    expect(q.dropped).toBe(5);
    expect(q.sent + q.queued + q.dropped).toBe(10);
    // When the viewer catches up, the two newest frames follow.
    s.drain();
    expect(s.sent.map((b) => (b as Buffer)[0])).toEqual([0, 1, 2, 8, 9]);
    expect(q.queued).toBe(0);
  });

  it('conserves frames: sent + queued + dropped = offered, for any drain pattern', () => {
    const rng = mulberry32(31);
    for (let trial = 0; trial < 50; trial++) {
      const s = new FakeSocket();
      const q = new ViewerQueue(s, { maxBufferedBytes: Math.floor(rng() * 5000), maxQueuedFrames: 1 + Math.floor(rng() * 4) });
      const offered = 20 + Math.floor(rng() * 100); // < 256: the frame number fits in its first byte
      for (let k = 0; k < offered; k++) {
        q.offerFrame(frame(k));
        if (rng() < 0.3) s.drain();
        expect(q.sent + q.queued + q.dropped).toBe(k + 1);
      }
      // Frames go out in order (no reordering, no repeats).
      const order = s.sent.map((b) => (b as Buffer)[0] as number);
      for (let i = 1; i < order.length; i++) expect(order[i]).toBeGreaterThan(order[i - 1] as number);
    }
  });

  it('always sends JSON messages and sends nothing to a closed socket', () => {
    const s = new FakeSocket();
    const q = new ViewerQueue(s, { maxBufferedBytes: 0 });
    q.offerFrame(frame(1));
    q.sendJson({ type: 'stats' });
    expect(s.sent.length).toBe(2);
    s.readyState = 3;
    q.offerFrame(frame(2));
    q.sendJson({ type: 'stats' });
    expect(s.sent.length).toBe(2);
  });
});

describe('live stats', () => {
  it('measures the rate of a periodic event train', () => {
    for (const fps of [5, 24, 30, 60, 240]) {
      const m = new RateMeter();
      let t = 0;
      for (let k = 0; k < 3 * fps; k++) {
        t = (k * 1000) / fps;
        m.mark(t);
      }
      expect(Math.abs(m.rate(t) - fps) / fps).toBeLessThan(TOL_RATE_REL);
    }
  });

  it('reads 0 after a second without events', () => {
    const m = new RateMeter();
    for (let k = 0; k < 30; k++) m.mark(k * 33);
    expect(m.rate(30 * 33 + 2000)).toBe(0);
  });

  it('computes nearest-rank percentiles over the last N samples, like sorting them by hand', () => {
    const rng = mulberry32(8);
    const w = new LatencyWindow(100);
    const all: number[] = [];
    expect(Number.isNaN(w.quantile(0.5))).toBe(true);
    for (let k = 0; k < 250; k++) {
      const v = rng() * 100;
      all.push(v);
      w.add(v);
      const recent = all.slice(-100).sort((a, b) => a - b);
      for (const q of [0.5, 0.95]) {
        const rank = Math.max(1, Math.ceil(q * recent.length));
        expect(w.quantile(q)).toBe(recent[rank - 1]);
      }
    }
  });
});
