/**
 * The gray analysis image registration works on: the decoded Y plane shrunk by an area average (box
 * filter), in-process.
 *
 * Why in-process rather than a second ffmpeg output (`-filter_complex split` with scale + format=gray to
 * a pipe on fd 3): one pipe means one frame boundary to keep in step, no risk of the two pipes
 * deadlocking when the consumer reads one faster than the other, the same code path for every input
 * (files, devices, stdin), and an exact, documented filter instead of ffmpeg's version-dependent
 * swscale area filter. Shrinking 1920x1080 to 480x270 reads each Y sample once.
 *
 * Geometry: pixel centres at integer coordinates, so source pixel i covers [i - 0.5, i + 0.5] and
 * output pixel o covers source [o*s - 0.5, (o+1)*s - 0.5] with s = sourceSize / outputSize; the output
 * pixel is the mean of the source over that interval, each source pixel weighted by its overlap. Output
 * centre o therefore sits at source coordinate (o + 0.5) * s - 0.5: a point x in the source maps to
 * (x + 0.5) / s - 0.5 in the output, which is what callers must use to scale motion back up.
 * (`downscaleYInto` with an explicit block `factor` is the one exception: see `integerAnalysisSize`.)
 *
 * Arithmetic: exact integers up to the final scale. Along an axis with g = gcd(size, outSize), a source
 * pixel is Q = outSize / g units long and an output pixel P = size / g units, so every overlap is a
 * whole number of units and an output pixel is (sum of overlapX * overlapY * sample) / (Px * Py).
 * The pass order is vertical first: each output row sums its few source rows into one Int32 row of
 * per-column sums (one weight per source row, a streaming loop), and only then is that row shrunk
 * horizontally, so the horizontal pass, which needs per-column tables, runs once per output row rather
 * than once per source row. Whole-number scales need no weights at all (block sums).
 *
 * Speed: what a JS engine pays for is element reads and writes, so word-aligned planes are read four
 * samples at a time and summed in 16-bit lanes (see `LANES`), and when the sums are small enough the
 * column sums of two output rows share one int32, so one horizontal multiply-add serves both rows.
 * Planes that are not word-aligned are first copied (two native memory moves) to an aligned scratch
 * with rows padded to a multiple of 4. Every path gives the same integers; byte kernels remain for
 * sums too large for 16-bit lanes (more than 64 rows per block, or 128 units per output row).
 * Where the engine has WebAssembly with 128-bit SIMD, the same sums are formed by the kernel of
 * wasm/downscale.c (loader wasm-downscale.ts) instead, with the same single final scaling, so the
 * floats are identical; these JavaScript kernels are its fallback and the reference it is tested on.
 */
import type { GrayImage } from '../image/gray-image.js';
import { runWasmDownscaleBlocks, runWasmDownscaleWeighted } from './wasm-downscale.js';

/** Options of `downscaleYInto`. */
export interface DownscaleOptions {
  /**
   * Which kernel shrinks the plane: 'auto' takes the WebAssembly SIMD kernel (src/video/wasm/downscale.c,
   * the same floats, several times faster on fractional scales) where the engine has WebAssembly with
   * 128-bit SIMD and the scale's integer sums fit its lanes, else the JavaScript kernels; 'js' always the
   * JavaScript kernels (tests and benchmarks compare the two).
   * @default 'auto'
   */
  readonly kernel?: 'auto' | 'js';
}

/**
 * The analysis size for a frame: scaled down (never up) so that the longer side is at most `maxSide`,
 * keeping the aspect ratio, each side at least 1.
 * @param maxSide longest side of the analysis image, pixels.
 */
export function analysisSize(width: number, height: number, maxSide: number): { width: number; height: number } {
  const longest = Math.max(width, height);
  if (longest <= maxSide) return { width, height };
  const s = maxSide / longest;
  return { width: Math.max(1, Math.round(width * s)), height: Math.max(1, Math.round(height * s)) };
}

/**
 * The analysis size reached by whole k x k blocks: k is the smallest integer >= 1 with
 * max(width, height) / k <= maxSide, and the size is (floor(width / k), floor(height / k)), each side at
 * least 1 (a side shorter than k gives one output pixel; `downscaleYInto` then refuses the factor, so use
 * such a size only with the area-average contract). Shrinking to it with `downscaleYInto(out, y, width,
 * height, factor)` is the cheapest downscale there is (no weights), at the price of an analysis image up
 * to k-1 pixels narrower than the exact ratio would give.
 *
 * Exact mapping of that blocked downscale: output pixel (ox, oy) is the plain mean of source pixels
 * [k*ox, k*ox + k) x [k*oy, k*oy + k); the source columns from k*floor(width/k) on and rows from
 * k*floor(height/k) on (the last partial block, fewer than k) are ignored. Output centre o sits at
 * source coordinate k*o + (k-1)/2, so a source point x maps to (x + 0.5) / k - 0.5 in the output, the
 * file's geometry note with s = k (not width / outputWidth) on both axes. When k divides the side,
 * s = k = width / outputWidth and the two contracts agree exactly.
 * @param maxSide longest side of the analysis image, pixels (>= 1).
 * @returns the size and the block factor k.
 */
export function integerAnalysisSize(width: number, height: number, maxSide: number): { width: number; height: number; factor: number } {
  const longest = Math.max(width, height);
  const factor = Math.max(1, Math.ceil(longest / maxSide));
  return { width: Math.max(1, Math.floor(width / factor)), height: Math.max(1, Math.floor(height / factor)), factor };
}

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b;
    a = b;
    b = t;
  }
  return a;
}

/**
 * How one axis of `size` samples shrinks to `outSize`: in units where a source sample is Q long and an
 * output sample P long (P/Q = size/outSize in lowest terms), output o covers [o*P, (o+1)*P) and takes
 * `taps` consecutive sources from start[o] with integer overlaps weight[o*taps + t]. Every output gets
 * the same tap count (zero weights pad the short ones, start pulled left near the end so that every
 * index stays inside), which keeps the kernels free of per-pixel branches.
 */
interface AxisTaps {
  readonly taps: number;
  readonly start: Int32Array;
  readonly weight: Int32Array;
  /** Units per output sample: the weights of one output sum to P. */
  readonly units: number;
}

function axisTaps(size: number, outSize: number): AxisTaps {
  const g = gcd(size, outSize);
  const P = size / g;
  const Q = outSize / g;
  let taps = 1;
  for (let o = 0; o < outSize; o++) {
    const first = Math.floor((o * P) / Q);
    const end = Math.ceil(((o + 1) * P) / Q);
    taps = Math.max(taps, end - first);
  }
  taps = Math.min(taps, size);
  const start = new Int32Array(outSize);
  const weight = new Int32Array(outSize * taps);
  for (let o = 0; o < outSize; o++) {
    const s = Math.min(Math.floor((o * P) / Q), size - taps);
    start[o] = s;
    for (let t = 0; t < taps; t++) {
      const i = s + t;
      const overlap = Math.min((i + 1) * Q, (o + 1) * P) - Math.max(i * Q, o * P);
      weight[o * taps + t] = Math.max(0, overlap);
    }
  }
  return { taps, start, weight, units: P };
}

/** Tables for one (source size, output size) pair of the weighted path, kept for the next frame. */
interface DownscaleWorkspace {
  readonly width: number;
  readonly height: number;
  readonly outWidth: number;
  readonly outHeight: number;
  readonly cols: AxisTaps;
  readonly rows: AxisTaps;
  /** The rows of output rows 2p and 2p+1 together, for the kernel that does two output rows at once. */
  readonly pairs: RowPairs;
  /** 1 / (Px * Py): turns a weighted sum into a mean. */
  readonly inv: number;
}

/**
 * Output rows taken two at a time (2p, 2p+1): the count[p] consecutive source rows from start[p] that
 * touch either, with each row's weight in the upper output row (upper[p*stride + t]) and in the lower
 * one (lower[...]), zero where a row does not touch it.
 */
interface RowPairs {
  readonly stride: number;
  readonly start: Int32Array;
  readonly count: Int32Array;
  readonly upper: Int32Array;
  readonly lower: Int32Array;
}

function rowPairs(rows: AxisTaps, outHeight: number): RowPairs {
  const np = outHeight >> 1;
  const ty = rows.taps;
  const rs = rows.start;
  const rw = rows.weight;
  const stride = 2 * ty;
  const start = new Int32Array(np);
  const count = new Int32Array(np);
  const upper = new Int32Array(np * stride);
  const lower = new Int32Array(np * stride);
  for (let p = 0; p < np; p++) {
    // Rows with a nonzero weight in either output row: a contiguous run.
    let first = Number.POSITIVE_INFINITY;
    let last = -1;
    for (let r = 2 * p; r <= 2 * p + 1; r++) {
      for (let t = 0; t < ty; t++) {
        if ((rw[r * ty + t] as number) === 0) continue;
        first = Math.min(first, (rs[r] as number) + t);
        last = Math.max(last, (rs[r] as number) + t);
      }
    }
    start[p] = first;
    count[p] = last - first + 1;
    for (let t = 0; t < ty; t++) {
      upper[p * stride + (rs[2 * p] as number) + t - first] = rw[2 * p * ty + t] as number;
      lower[p * stride + (rs[2 * p + 1] as number) + t - first] = rw[(2 * p + 1) * ty + t] as number;
    }
  }
  return { stride, start, count, upper, lower };
}

/** The last few workspaces (an analysis size and, say, a metrics size alternate without rebuilding). */
const workspaces: DownscaleWorkspace[] = [];
const MAX_WORKSPACES = 4;

function workspaceFor(width: number, height: number, ow: number, oh: number): DownscaleWorkspace {
  for (const ws of workspaces) {
    if (ws.width === width && ws.height === height && ws.outWidth === ow && ws.outHeight === oh) return ws;
  }
  const cols = axisTaps(width, ow);
  const rows = axisTaps(height, oh);
  const pairs = rowPairs(rows, oh);
  const ws: DownscaleWorkspace = { width, height, outWidth: ow, outHeight: oh, cols, rows, pairs, inv: 1 / (cols.units * rows.units) };
  if (workspaces.length >= MAX_WORKSPACES) workspaces.shift();
  workspaces.push(ws);
  return ws;
}

/** One row of per-column sums (source width, padded to words); grown, never shrunk. */
let rowAcc = new Int32Array(0);

function rowAccFor(n: number): Int32Array {
  if (rowAcc.length < n) rowAcc = new Int32Array(n);
  return rowAcc;
}

/**
 * Word-at-a-time (SWAR) reading: a plane whose rows all start on a 4-byte boundary is read as 32-bit
 * words, four samples each, and summed two lanes at a time: (word & LANES) holds samples 0 and 2 in
 * 16-bit lanes, ((word >>> 8) & LANES) samples 1 and 3. A lane holds a weighted sum of up to 128
 * units of 255 without carrying into its neighbour and the upper lane stays below 2^15, so every word
 * stays a positive int32. This reads a quarter as many elements as byte loads, which is what makes the
 * kernels fast in a JS engine.
 */
const LANES = 0x00ff00ff;
/** Lane layout above assumes little-endian words. */
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;
/** Largest summed weight per lane: 255 * 128 < 2^15. */
const MAX_LANE_UNITS = 128;

/** One word view per buffer (made the first time a buffer is seen, not per frame). */
const wordViews = new WeakMap<ArrayBufferLike, Int32Array>();

/** The buffer of a word-aligned plane (width a multiple of 4, byteOffset too) as 32-bit words. */
function wordView(y: Uint8Array, width: number, height: number): Int32Array {
  const buffer = y.buffer;
  let view = wordViews.get(buffer);
  if (view === undefined || view.length * 4 < y.byteOffset + width * height) {
    view = new Int32Array(buffer, 0, buffer.byteLength >> 2);
    wordViews.set(buffer, view);
  }
  return view;
}

/** Scratch for planes that are not word-aligned; grown, never shrunk. */
let alignedBytes = new Uint8Array(0);
let alignedWords = new Int32Array(0);

/**
 * A word-aligned copy of a plane with rows padded to `stride` bytes (a multiple of 4): one native copy
 * of the plane, then each row moved up to its padded place (bottom row first, so that no row is
 * overwritten before it moves). Two memory moves cost far less than reading the samples one by one.
 * The padding bytes hold leftovers; the kernels never use the sums of columns past the width.
 */
function alignedCopy(y: Uint8Array, width: number, height: number, stride: number): Int32Array {
  const need = Math.max(y.length, stride * height);
  if (alignedBytes.length < need) {
    alignedBytes = new Uint8Array((need + 3) & ~3);
    alignedWords = new Int32Array(alignedBytes.buffer);
  }
  alignedBytes.set(y);
  if (stride !== width) for (let j = height - 1; j > 0; j--) alignedBytes.copyWithin(j * stride, j * width, j * width + width);
  return alignedWords;
}

/**
 * Shrinks an 8-bit plane (`width` x `height`, tightly packed) into `out` by area averaging; `out`'s size
 * picks the scale (not larger than the source) and the geometry is the file's note, s = width / out.width
 * and height / out.height. Gray levels stay 0..255. Whole-number scales take a weight-free block path;
 * other scales use exact integer overlap weights (see the file comment). Tables are made once per pair
 * of sizes and reused, so a video allocates nothing per frame. Samples are read four at a time; a plane
 * whose rows do not start on 4-byte boundaries (width or byteOffset not a multiple of 4) is copied to
 * an aligned scratch first, which costs little. Where WebAssembly SIMD is available the plane is copied
 * into the module of src/video/wasm/downscale.c instead and shrunk there, with the same integers and the
 * same final scaling, so the floats are identical (see `DownscaleOptions.kernel`). Returns `out`.
 *
 * @param factor optional block size k (integer >= 1): out(ox, oy) is the mean of the k x k source block
 *   at (k*ox, k*oy), and `out` may be smaller than the source by up to k-1 pixels per side, the last
 *   partial block being ignored (see `integerAnalysisSize` for the exact mapping). Requires
 *   out.width * k <= width and out.height * k <= height.
 * @param options which kernel runs (WebAssembly or JavaScript); the result is the same.
 * @throws RangeError when `out` is larger than the source (or than the source over `factor`), or `y` is
 *   shorter than width * height.
 */
export function downscaleYInto(
  out: GrayImage,
  y: Uint8Array,
  width: number,
  height: number,
  factor?: number,
  options?: DownscaleOptions,
): GrayImage {
  const ow = out.width;
  const oh = out.height;
  if (y.length < width * height) throw new RangeError(`expected ${width * height} samples (${width}x${height}), got ${y.length}`);
  let kx: number;
  let ky: number;
  if (factor !== undefined) {
    if (!Number.isInteger(factor) || factor < 1) throw new RangeError(`block factor must be an integer >= 1, got ${factor}`);
    if (ow * factor > width || oh * factor > height) {
      throw new RangeError(`cannot shrink ${width}x${height} by ${factor} to ${ow}x${oh}: blocks would leave the source`);
    }
    kx = factor;
    ky = factor;
  } else {
    if (ow > width || oh > height) throw new RangeError(`cannot downscale ${width}x${height} to a larger ${ow}x${oh}`);
    kx = width / ow;
    ky = height / oh;
  }
  const whole = Number.isInteger(kx) && Number.isInteger(ky);
  const ws = whole ? null : workspaceFor(width, height, ow, oh);
  if (options?.kernel !== 'js') {
    const done = ws === null ? runWasmDownscaleBlocks(out, y, width, height, kx, ky) : runWasmDownscaleWeighted(out, y, width, height, ws.cols, ws.rows, ws.inv);
    if (done) return out;
  }
  // Word kernels whenever the lane sums fit (always, at usual sizes); else byte kernels.
  if (!LITTLE_ENDIAN || (ws === null ? ky > MAX_LANE_UNITS / 2 : ws.rows.units > MAX_LANE_UNITS)) {
    if (ws === null) blockMeanBytes(out.data, ow, oh, y, width, kx, ky);
    else weightedBytes(out.data, ow, oh, y, width, ws);
    return out;
  }
  const aligned = (width & 3) === 0 && (y.byteOffset & 3) === 0;
  const w4 = (width + 3) >> 2;
  const y32 = aligned ? wordView(y, width, height) : alignedCopy(y, width, height, 4 * w4);
  const base = aligned ? y.byteOffset >> 2 : 0;
  if (ws === null) blockMeanWords(out.data, ow, oh, y, width, y32, base, w4, kx, ky);
  else if (ws.rows.units * ws.cols.units <= MAX_LANE_UNITS) weightedPairsWords(out.data, ow, oh, y32, base, w4, ws);
  else weightedWords(out.data, ow, oh, y32, base, w4, ws);
  return out;
}

// ---- block means (whole-number scales) ---------------------------------------------------------------

/** Mean of the kx x ky block at source (x0, y0) by bytes: the tails the word kernels leave. */
function blockAt(y: Uint8Array, w: number, x0: number, y0: number, kx: number, ky: number): number {
  let s = 0;
  for (let j = 0; j < ky; j++) {
    const p = (y0 + j) * w + x0;
    for (let i = 0; i < kx; i++) s += y[p + i] as number;
  }
  return s;
}

/**
 * Block means read as words. kx = 2, 4 and 6 use per-word pair sums ((a0 + a1) | (a2 + a3) << 16),
 * kx = 1 and 3 the two lane sets; other widths unpack the column sums and add them. Outputs whose block starts
 * inside a word that is not fully theirs (the tail of a row) are summed by bytes.
 */
function blockMeanWords(
  dst: Float32Array,
  ow: number,
  oh: number,
  y: Uint8Array,
  w: number,
  y32: Int32Array,
  base: number,
  w4: number,
  kx: number,
  ky: number,
): void {
  const inv = 1 / (kx * ky);
  for (let r = 0; r < oh; r++) {
    const a = base + r * ky * w4;
    const d = r * ow;
    let done: number;
    if (kx === 2 && ky === 2) {
      done = pairs2x2(dst, d, y32, a, w4, ow >> 1, inv);
    } else if (kx === 2) {
      done = pairsKx2(dst, d, y32, a, w4, ky, ow >> 1, inv);
    } else if (kx === 4) {
      done = pairsKx4(dst, d, y32, a, w4, ky, ow, inv);
    } else if (kx === 1) {
      done = lanesKx1(dst, d, y32, a, w4, ky, ow >> 2, inv);
    } else if (kx === 3) {
      done = lanesKx3(dst, d, y32, a, w4, ky, (ow >> 2) * 3, inv);
    } else if (kx === 6) {
      done = pairsKx6(dst, d, y32, a, w4, ky, (ow >> 1) * 3, inv);
    } else {
      const n = (ow * kx + 3) >> 2;
      const acc = rowAccFor(n * 4);
      unpackColumnSums(acc, y32, a, w4, ky, n);
      for (let k = 0; k < ow; k++) {
        const i = kx * k;
        let s = 0;
        for (let t = 0; t < kx; t++) s += acc[i + t] as number;
        dst[d + k] = s * inv;
      }
      done = ow;
    }
    for (let k = done; k < ow; k++) dst[d + k] = blockAt(y, w, k * kx, r * ky, kx, ky) * inv;
  }
}

/** 2 x 2 blocks: two outputs per pair of words. Returns the outputs written. */
function pairs2x2(dst: Float32Array, d: number, y32: Int32Array, a: number, w4: number, n: number, inv: number): number {
  const b = a + w4;
  for (let m = 0; m < n; m++) {
    const A = y32[a + m] as number;
    const B = y32[b + m] as number;
    const s = (A & LANES) + ((A >>> 8) & LANES) + (B & LANES) + ((B >>> 8) & LANES);
    dst[d + 2 * m] = (s & 0xffff) * inv;
    dst[d + 2 * m + 1] = (s >>> 16) * inv;
  }
  return 2 * n;
}

/** 2 x ky blocks: two outputs per column of ky words. */
function pairsKx2(dst: Float32Array, d: number, y32: Int32Array, a: number, w4: number, ky: number, n: number, inv: number): number {
  for (let m = 0; m < n; m++) {
    let s = 0;
    for (let j = 0, p = a + m; j < ky; j++, p += w4) {
      const A = y32[p] as number;
      s += (A & LANES) + ((A >>> 8) & LANES);
    }
    dst[d + 2 * m] = (s & 0xffff) * inv;
    dst[d + 2 * m + 1] = (s >>> 16) * inv;
  }
  return 2 * n;
}

/** 4 x ky blocks: one output per column of ky words. */
function pairsKx4(dst: Float32Array, d: number, y32: Int32Array, a: number, w4: number, ky: number, n: number, inv: number): number {
  for (let m = 0; m < n; m++) {
    let s = 0;
    for (let j = 0, p = a + m; j < ky; j++, p += w4) {
      const A = y32[p] as number;
      s += (A & LANES) + ((A >>> 8) & LANES);
    }
    dst[d + m] = ((s & 0xffff) + (s >>> 16)) * inv;
  }
  return n;
}

/** 6 x ky blocks: two outputs per three columns of words (pairs 0-2 | 3-5 of the six pair lanes). */
function pairsKx6(dst: Float32Array, d: number, y32: Int32Array, a: number, w4: number, ky: number, n: number, inv: number): number {
  let q = d;
  for (let m = 0; m < n; m += 3) {
    let s0 = 0;
    let s1 = 0;
    let s2 = 0;
    for (let j = 0, p = a + m; j < ky; j++, p += w4) {
      const A = y32[p] as number;
      const B = y32[p + 1] as number;
      const C = y32[p + 2] as number;
      s0 += (A & LANES) + ((A >>> 8) & LANES);
      s1 += (B & LANES) + ((B >>> 8) & LANES);
      s2 += (C & LANES) + ((C >>> 8) & LANES);
    }
    dst[q] = ((s0 & 0xffff) + (s0 >>> 16) + (s1 & 0xffff)) * inv;
    dst[q + 1] = ((s1 >>> 16) + (s2 & 0xffff) + (s2 >>> 16)) * inv;
    q += 2;
  }
  return q - d;
}

/** 1 x ky blocks: four outputs per column of ky words. */
function lanesKx1(dst: Float32Array, d: number, y32: Int32Array, a: number, w4: number, ky: number, n: number, inv: number): number {
  for (let m = 0; m < n; m++) {
    let e = 0;
    let o = 0;
    for (let j = 0, p = a + m; j < ky; j++, p += w4) {
      const A = y32[p] as number;
      e += A & LANES;
      o += (A >>> 8) & LANES;
    }
    const q = d + 4 * m;
    dst[q] = (e & 0xffff) * inv;
    dst[q + 1] = (o & 0xffff) * inv;
    dst[q + 2] = (e >>> 16) * inv;
    dst[q + 3] = (o >>> 16) * inv;
  }
  return 4 * n;
}

/** 3 x ky blocks: four outputs per three columns of words (columns 0-2 | 3-5 | 6-8 | 9-11). */
function lanesKx3(dst: Float32Array, d: number, y32: Int32Array, a: number, w4: number, ky: number, n: number, inv: number): number {
  let q = d;
  for (let m = 0; m < n; m += 3) {
    let e0 = 0;
    let o0 = 0;
    let e1 = 0;
    let o1 = 0;
    let e2 = 0;
    let o2 = 0;
    for (let j = 0, p = a + m; j < ky; j++, p += w4) {
      const A = y32[p] as number;
      const B = y32[p + 1] as number;
      const C = y32[p + 2] as number;
      e0 += A & LANES;
      o0 += (A >>> 8) & LANES;
      e1 += B & LANES;
      o1 += (B >>> 8) & LANES;
      e2 += C & LANES;
      o2 += (C >>> 8) & LANES;
    }
    dst[q] = ((e0 & 0xffff) + (o0 & 0xffff) + (e0 >>> 16)) * inv;
    dst[q + 1] = ((o0 >>> 16) + (e1 & 0xffff) + (o1 & 0xffff)) * inv;
    dst[q + 2] = ((e1 >>> 16) + (o1 >>> 16) + (e2 & 0xffff)) * inv;
    dst[q + 3] = ((o2 & 0xffff) + (e2 >>> 16) + (o2 >>> 16)) * inv;
    q += 4;
  }
  return q - d;
}

/** acc[4m + i] = sum over ky rows of column 4m + i, for the n words of a row from word a. */
function unpackColumnSums(acc: Int32Array, y32: Int32Array, a: number, w4: number, ky: number, n: number): void {
  for (let m = 0; m < n; m++) {
    let e = 0;
    let o = 0;
    for (let j = 0, p = a + m; j < ky; j++, p += w4) {
      const A = y32[p] as number;
      e += A & LANES;
      o += (A >>> 8) & LANES;
    }
    const x = 4 * m;
    acc[x] = e & 0xffff;
    acc[x + 1] = o & 0xffff;
    acc[x + 2] = e >>> 16;
    acc[x + 3] = o >>> 16;
  }
}

/** Block means by bytes: column sums over ky rows, then kx columns at a time. */
function blockMeanBytes(dst: Float32Array, ow: number, oh: number, y: Uint8Array, w: number, kx: number, ky: number): void {
  const inv = 1 / (kx * ky);
  const n = ow * kx;
  const acc = rowAccFor(n);
  for (let r = 0; r < oh; r++) {
    columnSumBytes(acc, y, r * ky * w, w, ky, n);
    const d = r * ow;
    if (kx === 1) {
      for (let k = 0; k < ow; k++) dst[d + k] = (acc[k] as number) * inv;
    } else if (kx === 2) {
      for (let k = 0; k < ow; k++) dst[d + k] = ((acc[2 * k] as number) + (acc[2 * k + 1] as number)) * inv;
    } else {
      for (let k = 0; k < ow; k++) {
        const i = kx * k;
        let s = 0;
        for (let t = 0; t < kx; t++) s += acc[i + t] as number;
        dst[d + k] = s * inv;
      }
    }
  }
}

/** acc[x] (x < n) = sum of the `count` rows from byte offset p (stride w). */
function columnSumBytes(acc: Int32Array, y: Uint8Array, p: number, w: number, count: number, n: number): void {
  if (count >= 2) {
    const b = p + w;
    for (let x = 0; x < n; x++) acc[x] = (y[p + x] as number) + (y[b + x] as number);
  } else {
    for (let x = 0; x < n; x++) acc[x] = y[p + x] as number;
  }
  let j = count >= 2 ? 2 : 1;
  for (; j + 1 < count; j += 2) {
    const a = p + j * w;
    const b = a + w;
    for (let x = 0; x < n; x++) acc[x] = (acc[x] as number) + (y[a + x] as number) + (y[b + x] as number);
  }
  if (j < count) {
    const a = p + j * w;
    for (let x = 0; x < n; x++) acc[x] = (acc[x] as number) + (y[a + x] as number);
  }
}

// ---- weighted area average (fractional scales) -------------------------------------------------------

/** Fractional scales read as words: weighted row sums in lanes, unpacked to columns, then the column taps. */
function weightedWords(dst: Float32Array, ow: number, oh: number, y32: Int32Array, base: number, w4: number, ws: DownscaleWorkspace): void {
  const { rows, inv } = ws;
  const ty = rows.taps;
  const rs = rows.start;
  const rw = rows.weight;
  const acc = rowAccFor(4 * w4);
  for (let r = 0; r < oh; r++) {
    const a = base + (rs[r] as number) * w4;
    if (ty === 2) weightedPairWords(acc, y32, a, w4, rw[2 * r] as number, rw[2 * r + 1] as number);
    else weightedRowsWords(acc, y32, a, w4, rw, r * ty, ty);
    columnTaps(dst, r * ow, ow, acc, ws.cols, inv);
  }
}

/** acc[column] = wa * row a + wb * row a+1, for the w4 words of a row. */
function weightedPairWords(acc: Int32Array, y32: Int32Array, a: number, w4: number, wa: number, wb: number): void {
  const b = a + w4;
  for (let m = 0; m < w4; m++) {
    const A = y32[a + m] as number;
    const B = y32[b + m] as number;
    const e = wa * (A & LANES) + wb * (B & LANES);
    const o = wa * ((A >>> 8) & LANES) + wb * ((B >>> 8) & LANES);
    const x = 4 * m;
    acc[x] = e & 0xffff;
    acc[x + 1] = o & 0xffff;
    acc[x + 2] = e >>> 16;
    acc[x + 3] = o >>> 16;
  }
}

/** acc[column] = sum over t < ty of rw[q + t] * row (a + t). */
function weightedRowsWords(acc: Int32Array, y32: Int32Array, a: number, w4: number, rw: Int32Array, q: number, ty: number): void {
  for (let m = 0; m < w4; m++) {
    let e = 0;
    let o = 0;
    for (let t = 0, p = a + m; t < ty; t++, p += w4) {
      const A = y32[p] as number;
      const wt = rw[q + t] as number;
      e += wt * (A & LANES);
      o += wt * ((A >>> 8) & LANES);
    }
    const x = 4 * m;
    acc[x] = e & 0xffff;
    acc[x + 1] = o & 0xffff;
    acc[x + 2] = e >>> 16;
    acc[x + 3] = o >>> 16;
  }
}

/**
 * Fractional scales, two output rows at once: the column sums of output rows 2p and 2p+1 share one
 * int32 (upper row in the low 16 bits), so each horizontal multiply-add serves both rows. Needs
 * 255 * Px * Py < 2^15 so that the packed sums never carry between rows (checked by the caller).
 */
function weightedPairsWords(dst: Float32Array, ow: number, oh: number, y32: Int32Array, base: number, w4: number, ws: DownscaleWorkspace): void {
  const { pairs, inv } = ws;
  const stride = pairs.stride;
  const ps = pairs.start;
  const pc = pairs.count;
  const up = pairs.upper;
  const lo = pairs.lower;
  const acc = rowAccFor(4 * w4);
  const np = oh >> 1;
  // Ratio 4:3 across: each word (4 columns) makes 3 outputs, computed right where the word is summed.
  const threeQuarters = ws.cols.units === 4 && ws.cols.taps === 2 && ow === 3 * w4;
  for (let p = 0; p < np; p++) {
    const a = base + (ps[p] as number) * w4;
    const q = p * stride;
    const cnt = pc[p] as number;
    if (threeQuarters && cnt === 3) {
      fusedThreeQuarters3(dst, 2 * p * ow, ow, y32, a, w4, up, lo, q, inv);
      continue;
    }
    if (threeQuarters && cnt === 4) {
      fusedThreeQuarters4(dst, 2 * p * ow, ow, y32, a, w4, up, lo, q, inv);
      continue;
    }
    // Chunks of 4, 3 or 2 rows (two output rows always span at least 2 source rows): 5 = 3 + 2,
    // 6 = 4 + 2, 7 = 4 + 3, ...
    for (let t = 0; t < cnt; ) {
      const left = cnt - t;
      const n = left === 5 ? 3 : Math.min(4, left);
      packedChunk(acc, y32, a + t * w4, w4, up, lo, q + t, n, t === 0);
      t += n;
    }
    columnTapsPacked(dst, 2 * p * ow, ow, acc, ws.cols, inv);
  }
  if ((oh & 1) === 1) {
    const r = oh - 1;
    const { rows } = ws;
    weightedRowsWords(acc, y32, base + (rows.start[r] as number) * w4, w4, rows.weight, r * rows.taps, rows.taps);
    columnTaps(dst, r * ow, ow, acc, ws.cols, inv);
  }
}

/**
 * Packed column sums (upper | lower << 16) of `n` (2, 3 or 4) source rows from word a, weights
 * up/lo[q..q+n): written (init) or added. Packing is linear and no lane carries, so the sums of
 * a pair's rows may be built in several such chunks.
 */
function packedChunk(acc: Int32Array, y32: Int32Array, a: number, w4: number, up: Int32Array, lo: Int32Array, q: number, n: number, init: boolean): void {
  if (n === 2) packedRows2(acc, y32, a, w4, up[q] as number, up[q + 1] as number, lo[q] as number, lo[q + 1] as number, init);
  else if (n === 3) packedRows3(acc, y32, a, w4, up, lo, q, init);
  else packedRows4(acc, y32, a, w4, up, lo, q, init);
}

function packedRows2(acc: Int32Array, y32: Int32Array, a: number, w4: number, u0: number, u1: number, l0: number, l1: number, init: boolean): void {
  const b = a + w4;
  for (let m = 0; m < w4; m++) {
    const A = y32[a + m] as number;
    const B = y32[b + m] as number;
    const ae = A & LANES;
    const ao = (A >>> 8) & LANES;
    const be = B & LANES;
    const bo = (B >>> 8) & LANES;
    const eu = u0 * ae + u1 * be;
    const ou = u0 * ao + u1 * bo;
    const el = l0 * ae + l1 * be;
    const ol = l0 * ao + l1 * bo;
    storePacked(acc, 4 * m, eu, ou, el, ol, init);
  }
}

function packedRows3(acc: Int32Array, y32: Int32Array, a: number, w4: number, up: Int32Array, lo: Int32Array, q: number, init: boolean): void {
  const u0 = up[q] as number, u1 = up[q + 1] as number, u2 = up[q + 2] as number;
  const l0 = lo[q] as number, l1 = lo[q + 1] as number, l2 = lo[q + 2] as number;
  const b = a + w4;
  const c = b + w4;
  for (let m = 0; m < w4; m++) {
    const A = y32[a + m] as number;
    const B = y32[b + m] as number;
    const C = y32[c + m] as number;
    const ae = A & LANES;
    const ao = (A >>> 8) & LANES;
    const be = B & LANES;
    const bo = (B >>> 8) & LANES;
    const ce = C & LANES;
    const co = (C >>> 8) & LANES;
    const eu = u0 * ae + u1 * be + u2 * ce;
    const ou = u0 * ao + u1 * bo + u2 * co;
    const el = l0 * ae + l1 * be + l2 * ce;
    const ol = l0 * ao + l1 * bo + l2 * co;
    storePacked(acc, 4 * m, eu, ou, el, ol, init);
  }
}

function packedRows4(acc: Int32Array, y32: Int32Array, a: number, w4: number, up: Int32Array, lo: Int32Array, q: number, init: boolean): void {
  const u0 = up[q] as number, u1 = up[q + 1] as number, u2 = up[q + 2] as number, u3 = up[q + 3] as number;
  const l0 = lo[q] as number, l1 = lo[q + 1] as number, l2 = lo[q + 2] as number, l3 = lo[q + 3] as number;
  const b = a + w4;
  const c = b + w4;
  const d = c + w4;
  for (let m = 0; m < w4; m++) {
    const A = y32[a + m] as number;
    const B = y32[b + m] as number;
    const C = y32[c + m] as number;
    const D = y32[d + m] as number;
    const ae = A & LANES;
    const ao = (A >>> 8) & LANES;
    const be = B & LANES;
    const bo = (B >>> 8) & LANES;
    const ce = C & LANES;
    const co = (C >>> 8) & LANES;
    const de = D & LANES;
    const dO = (D >>> 8) & LANES;
    const eu = u0 * ae + u1 * be + u2 * ce + u3 * de;
    const ou = u0 * ao + u1 * bo + u2 * co + u3 * dO;
    const el = l0 * ae + l1 * be + l2 * ce + l3 * de;
    const ol = l0 * ao + l1 * bo + l2 * co + l3 * dO;
    storePacked(acc, 4 * m, eu, ou, el, ol, init);
  }
}

/**
 * Columns x..x+3 from the lane sums of one word: eu/ou (upper output row, samples 0 and 2 / 1 and 3)
 * and el/ol (lower row), as upper | lower << 16; written, or added when `init` is false.
 */
function storePacked(acc: Int32Array, x: number, eu: number, ou: number, el: number, ol: number, init: boolean): void {
  const c0 = (eu & 0xffff) | (el << 16);
  const c1 = (ou & 0xffff) | (ol << 16);
  const c2 = (eu >>> 16) | (el & 0xffff0000);
  const c3 = (ou >>> 16) | (ol & 0xffff0000);
  if (init) {
    acc[x] = c0;
    acc[x + 1] = c1;
    acc[x + 2] = c2;
    acc[x + 3] = c3;
  } else {
    acc[x] = (acc[x] as number) + c0;
    acc[x + 1] = (acc[x + 1] as number) + c1;
    acc[x + 2] = (acc[x + 2] as number) + c2;
    acc[x + 3] = (acc[x + 3] as number) + c3;
  }
}

/**
 * Ratio 4:3 across, two output rows from three source rows: the packed column sums c0..c3 of word m
 * (as packedRows3 makes them) give outputs 3m..3m+2 of both rows, 3 c0 + c1, 2 (c1 + c2), c2 + 3 c3.
 */
function fusedThreeQuarters3(
  dst: Float32Array,
  d: number,
  ow: number,
  y32: Int32Array,
  a: number,
  w4: number,
  up: Int32Array,
  lo: Int32Array,
  q: number,
  inv: number,
): void {
  const u0 = up[q] as number, u1 = up[q + 1] as number, u2 = up[q + 2] as number;
  const l0 = lo[q] as number, l1 = lo[q + 1] as number, l2 = lo[q + 2] as number;
  const b = a + w4;
  const c = b + w4;
  const e = d + ow;
  for (let m = 0, k = 0; m < w4; m++, k += 3) {
    const A = y32[a + m] as number;
    const B = y32[b + m] as number;
    const C = y32[c + m] as number;
    const ae = A & LANES;
    const ao = (A >>> 8) & LANES;
    const be = B & LANES;
    const bo = (B >>> 8) & LANES;
    const ce = C & LANES;
    const co = (C >>> 8) & LANES;
    const eu = u0 * ae + u1 * be + u2 * ce;
    const ou = u0 * ao + u1 * bo + u2 * co;
    const el = l0 * ae + l1 * be + l2 * ce;
    const ol = l0 * ao + l1 * bo + l2 * co;
    threeQuartersOut(dst, d + k, e + k, (eu & 0xffff) | (el << 16), (ou & 0xffff) | (ol << 16), (eu >>> 16) | (el & 0xffff0000), (ou >>> 16) | (ol & 0xffff0000), inv);
  }
}

/** fusedThreeQuarters3 with four source rows. */
function fusedThreeQuarters4(
  dst: Float32Array,
  d: number,
  ow: number,
  y32: Int32Array,
  a: number,
  w4: number,
  up: Int32Array,
  lo: Int32Array,
  q: number,
  inv: number,
): void {
  const u0 = up[q] as number, u1 = up[q + 1] as number, u2 = up[q + 2] as number, u3 = up[q + 3] as number;
  const l0 = lo[q] as number, l1 = lo[q + 1] as number, l2 = lo[q + 2] as number, l3 = lo[q + 3] as number;
  const b = a + w4;
  const c = b + w4;
  const f = c + w4;
  const e = d + ow;
  for (let m = 0, k = 0; m < w4; m++, k += 3) {
    const A = y32[a + m] as number;
    const B = y32[b + m] as number;
    const C = y32[c + m] as number;
    const D = y32[f + m] as number;
    const ae = A & LANES;
    const ao = (A >>> 8) & LANES;
    const be = B & LANES;
    const bo = (B >>> 8) & LANES;
    const ce = C & LANES;
    const co = (C >>> 8) & LANES;
    const de = D & LANES;
    const dO = (D >>> 8) & LANES;
    const eu = u0 * ae + u1 * be + u2 * ce + u3 * de;
    const ou = u0 * ao + u1 * bo + u2 * co + u3 * dO;
    const el = l0 * ae + l1 * be + l2 * ce + l3 * de;
    const ol = l0 * ao + l1 * bo + l2 * co + l3 * dO;
    threeQuartersOut(dst, d + k, e + k, (eu & 0xffff) | (el << 16), (ou & 0xffff) | (ol << 16), (eu >>> 16) | (el & 0xffff0000), (ou >>> 16) | (ol & 0xffff0000), inv);
  }
}

/** Outputs i..i+2 (upper row) and j..j+2 (lower row) from the packed column sums c0..c3 at ratio 4:3. */
function threeQuartersOut(dst: Float32Array, i: number, j: number, c0: number, c1: number, c2: number, c3: number, inv: number): void {
  const v0 = 3 * c0 + c1;
  const v1 = 2 * (c1 + c2);
  const v2 = c2 + 3 * c3;
  dst[i] = (v0 & 0xffff) * inv;
  dst[j] = (v0 >>> 16) * inv;
  dst[i + 1] = (v1 & 0xffff) * inv;
  dst[j + 1] = (v1 >>> 16) * inv;
  dst[i + 2] = (v2 & 0xffff) * inv;
  dst[j + 2] = (v2 >>> 16) * inv;
}

/** Two output rows (d and d + ow) from packed column sums. */
function columnTapsPacked(dst: Float32Array, d: number, ow: number, acc: Int32Array, cols: AxisTaps, inv: number): void {
  const tx = cols.taps;
  const cs = cols.start;
  const cw = cols.weight;
  const e = d + ow;
  if (tx === 2) {
    for (let k = 0; k < ow; k++) {
      const s = cs[k] as number;
      const q = 2 * k;
      const v = (cw[q] as number) * (acc[s] as number) + (cw[q + 1] as number) * (acc[s + 1] as number);
      dst[d + k] = (v & 0xffff) * inv;
      dst[e + k] = (v >>> 16) * inv;
    }
  } else if (tx === 3) {
    for (let k = 0; k < ow; k++) {
      const s = cs[k] as number;
      const q = 3 * k;
      const v = (cw[q] as number) * (acc[s] as number) + (cw[q + 1] as number) * (acc[s + 1] as number) + (cw[q + 2] as number) * (acc[s + 2] as number);
      dst[d + k] = (v & 0xffff) * inv;
      dst[e + k] = (v >>> 16) * inv;
    }
  } else if (tx === 4) {
    for (let k = 0; k < ow; k++) {
      const s = cs[k] as number;
      const q = 4 * k;
      const v =
        (cw[q] as number) * (acc[s] as number) +
        (cw[q + 1] as number) * (acc[s + 1] as number) +
        (cw[q + 2] as number) * (acc[s + 2] as number) +
        (cw[q + 3] as number) * (acc[s + 3] as number);
      dst[d + k] = (v & 0xffff) * inv;
      dst[e + k] = (v >>> 16) * inv;
    }
  } else {
    for (let k = 0; k < ow; k++) {
      const s = cs[k] as number;
      const q = tx * k;
      let v = 0;
      for (let t = 0; t < tx; t++) v += (cw[q + t] as number) * (acc[s + t] as number);
      dst[d + k] = (v & 0xffff) * inv;
      dst[e + k] = (v >>> 16) * inv;
    }
  }
}

/** Fractional scales by bytes: weighted row sums per column, then the column taps. */
function weightedBytes(dst: Float32Array, ow: number, oh: number, y: Uint8Array, w: number, ws: DownscaleWorkspace): void {
  const { rows, inv } = ws;
  const ty = rows.taps;
  const rs = rows.start;
  const rw = rows.weight;
  const acc = rowAccFor(w);
  for (let r = 0; r < oh; r++) {
    const a = (rs[r] as number) * w;
    weightedRowBytes(acc, y, a, w, rw[r * ty] as number, true);
    for (let t = 1; t < ty; t++) weightedRowBytes(acc, y, a + t * w, w, rw[r * ty + t] as number, false);
    columnTaps(dst, r * ow, ow, acc, ws.cols, inv);
  }
}

/** acc[x] = (init ? 0 : acc[x]) + wt * y[a + x], x < n. */
function weightedRowBytes(acc: Int32Array, y: Uint8Array, a: number, n: number, wt: number, init: boolean): void {
  if (init) {
    for (let x = 0; x < n; x++) acc[x] = wt * (y[a + x] as number);
  } else if (wt !== 0) {
    for (let x = 0; x < n; x++) acc[x] = (acc[x] as number) + wt * (y[a + x] as number);
  }
}

/** One output row from the column sums: dst[d + k] = inv * sum over the taps of output column k. */
function columnTaps(dst: Float32Array, d: number, ow: number, acc: Int32Array, cols: AxisTaps, inv: number): void {
  const tx = cols.taps;
  const cs = cols.start;
  const cw = cols.weight;
  if (tx === 2) {
    for (let k = 0; k < ow; k++) {
      const s = cs[k] as number;
      const q = 2 * k;
      dst[d + k] = ((cw[q] as number) * (acc[s] as number) + (cw[q + 1] as number) * (acc[s + 1] as number)) * inv;
    }
  } else if (tx === 3) {
    for (let k = 0; k < ow; k++) {
      const s = cs[k] as number;
      const q = 3 * k;
      dst[d + k] =
        ((cw[q] as number) * (acc[s] as number) + (cw[q + 1] as number) * (acc[s + 1] as number) + (cw[q + 2] as number) * (acc[s + 2] as number)) * inv;
    }
  } else if (tx === 4) {
    for (let k = 0; k < ow; k++) {
      const s = cs[k] as number;
      const q = 4 * k;
      dst[d + k] =
        ((cw[q] as number) * (acc[s] as number) +
          (cw[q + 1] as number) * (acc[s + 1] as number) +
          (cw[q + 2] as number) * (acc[s + 2] as number) +
          (cw[q + 3] as number) * (acc[s + 3] as number)) *
        inv;
    }
  } else {
    for (let k = 0; k < ow; k++) {
      const s = cs[k] as number;
      const q = tx * k;
      let sum = 0;
      for (let t = 0; t < tx; t++) sum += (cw[q + t] as number) * (acc[s + t] as number);
      dst[d + k] = sum * inv;
    }
  }
}
