/**
 * A synthetic live source for the server tests: a periodic random texture seen by a camera that pans
 * slowly along a known path (the "smoothed" path) plus known integer jitter (seeded, uniform in
 * [-jitterPx, jitterPx] per axis). The "stabilized" output is the texture at the smoothed path alone, so
 * its frame-to-frame motion is the pan (a fraction of a pixel) while the original's is the jitter.
 *
 * Conventions as in frame-types.ts: frame k shows texture point (x + ox_k, y + oy_k) at pixel (x, y), so
 * `motion` (frame k-1 -> frame k pixel coordinates) is a translation by o_{k-1} - o_k, and `correction`
 * (output pixel -> input pixel) is q -> c + (q - c) / zoom + s_k - o_k with c the image centre.
 * Like a real decoder, the source reuses its two frame buffers: a consumer must copy what it keeps.
 */
import type { LiveSource } from '../../src/server/live-session.js';
import type { BorderMode } from '../../src/server/protocol.js';
import type { StabilizedFrame, YuvFrame } from '../../src/stabilize/frame-types.js';
import { mulberry32 } from './rng.js';

export { mulberry32 };

/** Side of the periodic texture tile, pixels (a power of two: coordinates wrap with a mask). */
export const TILE = 256;

/** A periodic smooth random texture: octaves of bilinearly interpolated random grids (spacing divides TILE). */
function makeTexture(rng: () => number, mean: number, amplitudes: readonly [number, number][]): Uint8Array {
  const acc = new Float64Array(TILE * TILE).fill(mean);
  for (const [spacing, amp] of amplitudes) {
    const cells = TILE / spacing;
    const grid = new Float64Array(cells * cells);
    for (let i = 0; i < grid.length; i++) grid[i] = (rng() * 2 - 1) * amp;
    for (let y = 0; y < TILE; y++) {
      const gy = y / spacing;
      const y0 = Math.floor(gy);
      const fy = gy - y0;
      const r0 = (y0 % cells) * cells;
      const r1 = ((y0 + 1) % cells) * cells;
      for (let x = 0; x < TILE; x++) {
        const gx = x / spacing;
        const x0 = Math.floor(gx);
        const fx = gx - x0;
        const c0 = x0 % cells;
        const c1 = (x0 + 1) % cells;
        const top = (grid[r0 + c0] as number) * (1 - fx) + (grid[r0 + c1] as number) * fx;
        const bottom = (grid[r1 + c0] as number) * (1 - fx) + (grid[r1 + c1] as number) * fx;
        acc[y * TILE + x] += top * (1 - fy) + bottom * fy;
      }
    }
  }
  const out = new Uint8Array(TILE * TILE);
  for (let i = 0; i < out.length; i++) out[i] = Math.max(16, Math.min(235, Math.round(acc[i] as number)));
  return out;
}

/** Options of the fake source. */
export interface FakeSourceOptions {
  /** Frame size, pixels (even). @default 320x240 */
  readonly width?: number;
  readonly height?: number;
  /**
   * Frames per second; 0 produces frames as fast as they are pulled, each pull resolving as a microtask
   * (like a decoder with frames already buffered: the consumer must give the event loop a turn). @default 30
   */
  readonly fps?: number;
  /** Number of frames; Infinity runs until close(). @default Infinity */
  readonly frames?: number;
  /** PRNG seed of texture and jitter. @default 1 */
  readonly seed?: number;
  /** Largest jitter per axis, pixels (integer). @default 8 */
  readonly jitterPx?: number;
  /** Pan speed of the smoothed path along x, pixels per frame. @default 0.25 */
  readonly panPxPerFrame?: number;
}

/** A LiveSource made of a known synthetic scene and known jitter. */
export class FakeLiveSource implements LiveSource {
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly frameCount: number;
  readonly jitterPx: number;
  readonly panPxPerFrame: number;
  /** Controls received, in order. */
  readonly calls = { smoothing: [] as number[], zoom: [] as number[], border: [] as BorderMode[], reset: 0 };
  /** Frames handed out so far. */
  produced = 0;
  closed = false;
  readonly frames: AsyncIterable<StabilizedFrame>;
  private zoom = 1;
  private readonly luma: Uint8Array;
  private readonly cb: Uint8Array;
  private readonly cr: Uint8Array;
  private readonly seed: number;
  private wake: (() => void) | null = null;

  constructor(options: FakeSourceOptions = {}) {
    this.width = options.width ?? 320;
    this.height = options.height ?? 240;
    this.fps = options.fps ?? 30;
    this.frameCount = options.frames ?? Number.POSITIVE_INFINITY;
    this.jitterPx = options.jitterPx ?? 8;
    this.panPxPerFrame = options.panPxPerFrame ?? 0.25;
    const rng = mulberry32(options.seed ?? 1);
    this.luma = makeTexture(rng, 128, [
      [32, 70],
      [8, 40],
      [4, 18],
    ]);
    this.cb = makeTexture(rng, 128, [[64, 50]]);
    this.cr = makeTexture(rng, 128, [[64, 50]]);
    this.seed = options.seed ?? 1;
    this.frames = this.generate();
  }

  /** The jitter (x, y) of frame k, pixels: original offset minus smoothed offset. Deterministic in k. */
  jitterOf(k: number): [number, number] {
    // Derived per frame from a seed so any frame's jitter is known without replaying the sequence.
    const r = mulberry32((Math.imul(this.seed, 0x9e3779b1) + Math.imul(k + 1, 0x85ebca6b)) >>> 0);
    r(); // the first draw of mulberry32 correlates with nearby seeds
    const j = this.jitterPx;
    return [Math.floor(r() * (2 * j + 1)) - j, Math.floor(r() * (2 * j + 1)) - j];
  }

  /** The smoothed camera offset of frame k (integer pixels). */
  smoothOf(k: number): [number, number] {
    return [Math.round(this.panPxPerFrame * k), 0];
  }

  /** The original camera offset of frame k: smoothed plus jitter. */
  offsetOf(k: number): [number, number] {
    const [sx, sy] = this.smoothOf(k);
    const [jx, jy] = this.jitterOf(k);
    return [sx + jx, sy + jy];
  }

  /** The luma plane the source produces for frame k, original or stabilized (at the given zoom). */
  expectedLuma(k: number, which: 'original' | 'stabilized', zoom = 1): Uint8Array {
    const out = new Uint8Array(this.width * this.height);
    const [ox, oy] = which === 'original' ? this.offsetOf(k) : this.smoothOf(k);
    this.renderPlane(out, this.width, this.height, this.luma, ox, oy, which === 'original' ? 1 : zoom, 1);
    return out;
  }

  setSmoothing(radius: number): void {
    this.calls.smoothing.push(radius);
  }

  setZoom(zoom: number): void {
    this.calls.zoom.push(zoom);
    this.zoom = zoom;
  }

  setBorder(mode: BorderMode): void {
    this.calls.border.push(mode);
  }

  resetReference(): void {
    this.calls.reset++;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.wake?.();
  }

  /** Nearest-neighbour render of a periodic tile: pixel q shows tile point c + (q - c) / zoom + offset. */
  private renderPlane(out: Uint8Array, w: number, h: number, tile: Uint8Array, ox: number, oy: number, zoom: number, scale: number): void {
    const mask = TILE - 1;
    const cx = (w - 1) / 2;
    const cy = (h - 1) / 2;
    for (let y = 0; y < h; y++) {
      const ty = (Math.round((cy + (y - cy) / zoom) * scale + oy) & mask) * TILE;
      for (let x = 0; x < w; x++) {
        const tx = Math.round((cx + (x - cx) / zoom) * scale + ox) & mask;
        out[y * w + x] = tile[ty + tx] as number;
      }
    }
  }

  private renderFrameInto(f: { y: Uint8Array; u: Uint8Array; v: Uint8Array }, ox: number, oy: number, zoom: number): void {
    const cw = this.width >> 1;
    const ch = this.height >> 1;
    this.renderPlane(f.y, this.width, this.height, this.luma, ox, oy, zoom, 1);
    // Chroma at half resolution: the chroma tile is sampled at half the offset.
    this.renderPlane(f.u, cw, ch, this.cb, Math.round(ox / 2), Math.round(oy / 2), zoom, 1);
    this.renderPlane(f.v, cw, ch, this.cr, Math.round(ox / 2), Math.round(oy / 2), zoom, 1);
  }

  private async sleepUntil(t: number): Promise<void> {
    const wait = t - performance.now();
    if (wait <= 0 || this.closed) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.wake = null;
        resolve();
      }, wait);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = null;
        resolve();
      };
    });
  }

  private async *generate(): AsyncGenerator<StabilizedFrame> {
    const w = this.width;
    const h = this.height;
    const cw = w >> 1;
    const ch = h >> 1;
    const plane = () => ({ y: new Uint8Array(w * h), u: new Uint8Array(cw * ch), v: new Uint8Array(cw * ch) });
    const inBuf = plane();
    const outBuf = plane();
    const start = performance.now();
    const cx = (w - 1) / 2;
    const cy = (h - 1) / 2;
    for (let k = 0; k < this.frameCount && !this.closed; k++) {
      if (this.fps > 0) await this.sleepUntil(start + (k * 1000) / this.fps);
      if (this.closed) return;
      const [ox, oy] = this.offsetOf(k);
      const [sx, sy] = this.smoothOf(k);
      const [px, py] = k > 0 ? this.offsetOf(k - 1) : [ox, oy];
      const z = this.zoom;
      this.renderFrameInto(inBuf, ox, oy, 1);
      this.renderFrameInto(outBuf, sx, sy, z);
      const timeSec = this.fps > 0 ? k / this.fps : k / 30;
      const input: YuvFrame = { index: k, timeSec, width: w, height: h, ...inBuf };
      const output: YuvFrame = { index: k, timeSec, width: w, height: h, ...outBuf };
      // correction: q -> c + (q - c)/z + s - o = q/z + (c - c/z + s - o)
      const tx = cx - cx / z + sx - ox;
      const ty = cy - cy / z + sy - oy;
      const frame: StabilizedFrame = {
        input,
        output,
        decodedAtMs: performance.now(),
        motion: {
          index: k,
          timeSec,
          ok: true,
          cc: 0.9 + 0.05 * Math.cos(k / 10),
          motion: Float64Array.of(1, 0, px - ox, 0, 1, py - oy, 0, 0, 1),
          fromReference: Float64Array.of(1, 0, this.offsetOf(0)[0] - ox, 0, 1, this.offsetOf(0)[1] - oy, 0, 0, 1),
          referenceIndex: 0,
          path: [ox, oy, 0],
          smoothedPath: [sx, sy, 0],
          correction: Float64Array.of(1 / z, 0, tx, 0, 1 / z, ty, 0, 0, 1),
          zoom: z,
        },
      };
      this.produced++;
      yield frame;
    }
  }
}
