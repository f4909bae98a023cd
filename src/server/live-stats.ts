/**
 * Running figures of the live server: frame rates over the last second and latency percentiles over the
 * recent frames. Fixed-size rings, filled in place: nothing is allocated per frame.
 */

/** Frames whose latency the percentiles cover. @default 300 (10 s at 30 fps) */
export const DEFAULT_LATENCY_WINDOW = 300;
/** Window of the frame-rate estimate, ms. */
export const RATE_WINDOW_MS = 1000;
/** Most events per second a rate meter can count in its window (higher rates read as this). */
const RATE_CAPACITY = 1024;

/** Events per second over the last RATE_WINDOW_MS, from event times on a monotonic ms clock. */
export class RateMeter {
  private readonly times = new Float64Array(RATE_CAPACITY);
  private head = 0;
  private count = 0;

  /** Records one event at `nowMs`. */
  mark(nowMs: number): void {
    this.times[this.head] = nowMs;
    this.head = (this.head + 1) % RATE_CAPACITY;
    if (this.count < RATE_CAPACITY) this.count++;
  }

  /** Events per second in the window ending at `nowMs`. */
  rate(nowMs: number): number {
    let n = 0;
    let oldest = nowMs;
    for (let k = 1; k <= this.count; k++) {
      const t = this.times[(this.head - k + RATE_CAPACITY) % RATE_CAPACITY] as number;
      if (nowMs - t > RATE_WINDOW_MS) break;
      n++;
      oldest = t;
    }
    if (n < 2) return n; // Too few events to measure a span: report them per the window.
    // n events span (n - 1) intervals; measuring from the oldest event avoids under-reading at start.
    return ((n - 1) * 1000) / Math.max(nowMs - oldest, 1);
  }
}

/** Median and 95th percentile of the last `capacity` samples. */
export class LatencyWindow {
  private readonly samples: Float64Array;
  private readonly scratch: Float64Array;
  private head = 0;
  private count = 0;

  /** @param capacity Samples kept. @default DEFAULT_LATENCY_WINDOW */
  constructor(capacity: number = DEFAULT_LATENCY_WINDOW) {
    this.samples = new Float64Array(capacity);
    this.scratch = new Float64Array(capacity);
  }

  /** Samples held now. */
  get size(): number {
    return this.count;
  }

  /** Adds one sample (ms). */
  add(ms: number): void {
    this.samples[this.head] = ms;
    this.head = (this.head + 1) % this.samples.length;
    if (this.count < this.samples.length) this.count++;
  }

  /** The q-quantile (0..1) of the samples by the nearest-rank method; NaN when empty. */
  quantile(q: number): number {
    if (this.count === 0) return Number.NaN;
    const s = this.scratch.subarray(0, this.count);
    s.set(this.samples.subarray(0, this.count));
    s.sort();
    const rank = Math.min(this.count, Math.max(1, Math.ceil(q * this.count)));
    return s[rank - 1] as number;
  }
}
