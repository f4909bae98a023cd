/**
 * Separable Gaussian blur of a gray image with a mirrored border (reflect-101: ... 2 1 | 0 1 2 ... , the
 * edge sample is not repeated), as OpenCV's GaussianBlur does by default.
 *
 * Kernels follow OpenCV's getGaussianKernel: with no sigma given, sizes 1, 3, 5, 7 use the binomial
 * tables (size 5 is [1 4 6 4 1] / 16, the pyramid kernel, so an ECC pre-filter of size 5 equals the
 * pyramid's own blur); other sizes use sigma = 0.3 * ((size - 1) / 2 - 1) + 0.8.
 *
 * The [1 4 6 4 1] / 16 blur runs, where the engine has WebAssembly with 128-bit SIMD, in the kernel of
 * wasm/blur5.c (through wasm-blur.ts; float32 arithmetic, within 1.5e-4 gray levels of the JavaScript
 * binomial5 below, identical on integer-valued planes); binomial5 stays as the fallback and for
 * `kernel: 'js'`.
 */
import type { GrayImage } from './gray-image.js';
import { wasmBinomial5 } from './wasm-blur.js';

/** Options of `blurInto`. */
export interface BlurOptions {
  /**
   * Which kernel runs the [1 4 6 4 1] / 16 blur (the pyramid kernel and default ECC pre-filter, on
   * images of at least 5 x 3): 'auto' takes the WebAssembly SIMD kernel (src/image/wasm/blur5.c, float32
   * arithmetic, within 1.5e-4 gray levels of the JavaScript, several times faster) where the engine has
   * WebAssembly with 128-bit SIMD, else the JavaScript one; 'js' always the JavaScript one (tests and
   * benchmarks compare the two). Other kernels and smaller images are always JavaScript.
   * @default 'auto'
   */
  readonly kernel?: 'auto' | 'js';
}

/** The options of a call that gives none (one object, so that the hot path allocates nothing). */
const NO_OPTIONS: BlurOptions = {};

const BINOMIAL: Readonly<Record<number, readonly number[]>> = {
  1: [1],
  3: [0.25, 0.5, 0.25],
  5: [0.0625, 0.25, 0.375, 0.25, 0.0625],
  7: [0.03125, 0.109375, 0.21875, 0.28125, 0.21875, 0.109375, 0.03125],
};

/**
 * A normalised 1-D Gaussian kernel of odd length `size`.
 * @param size odd number of taps (1, 3, 5, ...)
 * @param sigmaPx standard deviation in pixels; 0 or less picks it from the size as OpenCV does.
 */
export function gaussianKernel(size: number, sigmaPx = 0): Float64Array {
  if (!Number.isInteger(size) || size < 1 || size % 2 === 0) {
    throw new RangeError(`expected an odd kernel size >= 1, got ${size}`);
  }
  const table = BINOMIAL[size];
  if (sigmaPx <= 0 && table !== undefined) return Float64Array.from(table);
  const sigma = sigmaPx > 0 ? sigmaPx : 0.3 * ((size - 1) * 0.5 - 1) + 0.8;
  const r = (size - 1) / 2;
  const k = new Float64Array(size);
  let sum = 0;
  for (let i = 0; i < size; i++) {
    const d = i - r;
    k[i] = Math.exp((-d * d) / (2 * sigma * sigma));
    sum += k[i] as number;
  }
  for (let i = 0; i < size; i++) k[i] = (k[i] as number) / sum;
  return k;
}

/** Mirrors index i into [0, n) without repeating the edge sample (reflect-101). */
export function reflect101(i: number, n: number): number {
  if (n === 1) return 0;
  // Loops only for kernels wider than the image.
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
  return i;
}

/** Scratch samples `blurInto` needs for a kernel of `taps` taps on a width x height image. */
export function blurScratchSize(width: number, height: number, taps: number): number {
  return taps === 5 ? 6 * width : width * height;
}

/**
 * out = src blurred by the separable kernel `kernel` (odd length, applied along x then y) with a
 * reflect-101 border. `tmp` is a scratch buffer of at least blurScratchSize(width, height, taps) samples
 * (6 rows for a 5-tap kernel, the whole image otherwise; required even where the WebAssembly kernel runs,
 * which keeps its scratch in its own memory). `out` may be `src`. `options` picks the kernel of the
 * [1 4 6 4 1] / 16 blur (see `BlurOptions`). Returns `out`.
 */
export function blurInto(out: GrayImage, src: GrayImage, kernel: Float64Array, tmp: Float32Array, options: BlurOptions = NO_OPTIONS): GrayImage {
  const { width: w, height: h } = src;
  if (out.width !== w || out.height !== h) throw new RangeError(`blur: output ${out.width}x${out.height} differs from input ${w}x${h}`);
  const fast5 = kernel.length === 5 && kernel[0] === kernel[4] && kernel[1] === kernel[3] && w >= 5 && h >= 3;
  const binomial = fast5 && kernel[0] === 1 / 16 && kernel[1] === 4 / 16 && kernel[2] === 6 / 16;
  const need = binomial ? 6 * w : fast5 ? 5 * w : w * h;
  if (tmp.length < need) throw new RangeError(`blur: scratch buffer of ${tmp.length} samples, need ${need}`);
  if (kernel.length === 1) {
    const k = kernel[0] as number;
    const s = src.data;
    const o = out.data;
    for (let i = 0; i < w * h; i++) o[i] = k * (s[i] as number);
    return out;
  }
  if (binomial) {
    if (options.kernel === 'js' || !wasmBinomial5(out.data, src.data, w, h)) binomial5(out.data, src.data, w, h, tmp);
  } else if (fast5) {
    blur5(out.data, src.data, w, h, kernel, tmp);
  } else {
    horizontalGeneric(tmp, src.data, w, h, kernel);
    verticalGeneric(out.data, tmp, w, h, kernel);
  }
  return out;
}

/** Symmetric 5-tap horizontal pass of one row (src offset `r`) into `dst` at offset `o`. */
function horizontalRow5(dst: Float32Array, o: number, src: Float32Array, r: number, w: number, k0: number, k1: number, k2: number): void {
  // The 2-sample borders through reflect101, the interior straight.
  for (let j = 0; j < 4; j++) {
    const x = j < 2 ? j : w - 4 + j;
    const a = src[r + reflect101(x - 2, w)] as number;
    const b = src[r + reflect101(x - 1, w)] as number;
    const c = src[r + x] as number;
    const d = src[r + reflect101(x + 1, w)] as number;
    const e = src[r + reflect101(x + 2, w)] as number;
    dst[o + x] = k0 * (a + e) + k1 * (b + d) + k2 * c;
  }
  let a = src[r] as number, b = src[r + 1] as number, c = src[r + 2] as number, d = src[r + 3] as number;
  for (let x = 2; x < w - 2; x++) {
    const e = src[r + x + 2] as number;
    dst[o + x] = k0 * (a + e) + k1 * (b + d) + k2 * c;
    a = b;
    b = c;
    c = d;
    d = e;
  }
}

/**
 * Horizontal [1 4 6 4 1] pass of one row, unnormalised (the vertical pass divides by 256 once), from
 * src offset `r` into dst offset `o`.
 */
function binomialRow(dst: Float32Array, o: number, src: Float32Array, r: number, w: number): void {
  for (let j = 0; j < 4; j++) {
    const x = j < 2 ? j : w - 4 + j;
    dst[o + x] =
      (src[r + reflect101(x - 2, w)] as number) +
      (src[r + reflect101(x + 2, w)] as number) +
      4 * ((src[r + reflect101(x - 1, w)] as number) + (src[r + reflect101(x + 1, w)] as number)) +
      6 * (src[r + x] as number);
  }
  let a = src[r] as number, b = src[r + 1] as number, c = src[r + 2] as number, d = src[r + 3] as number;
  for (let x = 2; x < w - 2; x++) {
    const e = src[r + x + 2] as number;
    dst[o + x] = a + e + 4 * (b + d) + 6 * c;
    a = b;
    b = c;
    c = d;
    d = e;
  }
}

/** Which source row each of the 6 binomial ring slots holds (-1 = none). */
const SLOT_ROW6 = new Int32Array(6);

function binomialRingRow(ring: Float32Array, src: Float32Array, sy: number, w: number): number {
  const slot = sy % 6;
  if (SLOT_ROW6[slot] !== sy) {
    binomialRow(ring, slot * w, src, sy * w, w);
    SLOT_ROW6[slot] = sy;
  }
  return slot * w;
}

/**
 * The [1 4 6 4 1] / 16 blur (pyramid and default ECC pre-filter) in one sweep: horizontally filtered
 * rows in a ring of 6, and two output rows per step of the vertical pass (they share four rows, so
 * six loads make two outputs). Integer weights, one scaling by 1/256. `dst` may be `src`.
 */
function binomial5(dst: Float32Array, src: Float32Array, w: number, h: number, ring: Float32Array): void {
  const k = 1 / 256;
  SLOT_ROW6.fill(-1);
  let y = 0;
  for (; y + 1 < h; y += 2) {
    const r0 = binomialRingRow(ring, src, reflect101(y - 2, h), w);
    const r1 = binomialRingRow(ring, src, reflect101(y - 1, h), w);
    const r2 = binomialRingRow(ring, src, y, w);
    const r3 = binomialRingRow(ring, src, y + 1, w);
    const r4 = binomialRingRow(ring, src, reflect101(y + 2, h), w);
    const r5 = binomialRingRow(ring, src, reflect101(y + 3, h), w);
    const o0 = y * w;
    const o1 = o0 + w;
    for (let x = 0; x < w; x++) {
      const b = ring[r1 + x] as number;
      const c = ring[r2 + x] as number;
      const d = ring[r3 + x] as number;
      const e = ring[r4 + x] as number;
      dst[o0 + x] = k * ((ring[r0 + x] as number) + e + 4 * (b + d) + 6 * c);
      dst[o1 + x] = k * (b + (ring[r5 + x] as number) + 4 * (c + e) + 6 * d);
    }
  }
  for (; y < h; y++) {
    const r0 = binomialRingRow(ring, src, reflect101(y - 2, h), w);
    const r1 = binomialRingRow(ring, src, reflect101(y - 1, h), w);
    const r2 = binomialRingRow(ring, src, y, w);
    const r3 = binomialRingRow(ring, src, reflect101(y + 1, h), w);
    const r4 = binomialRingRow(ring, src, reflect101(y + 2, h), w);
    const o = y * w;
    for (let x = 0; x < w; x++) {
      dst[o + x] =
        k * ((ring[r0 + x] as number) + (ring[r4 + x] as number) + 4 * ((ring[r1 + x] as number) + (ring[r3 + x] as number)) + 6 * (ring[r2 + x] as number));
    }
  }
}

/** Which source row each of the 5 ring slots holds (-1 = none). */
const SLOT_ROW = new Int32Array(5);

/** Offset in `ring` of source row sy filtered horizontally, filtering it first if its slot holds another row. */
function ringRow(ring: Float32Array, src: Float32Array, sy: number, w: number, k0: number, k1: number, k2: number): number {
  const slot = sy % 5;
  if (SLOT_ROW[slot] !== sy) {
    horizontalRow5(ring, slot * w, src, sy * w, w, k0, k1, k2);
    SLOT_ROW[slot] = sy;
  }
  return slot * w;
}

/**
 * Symmetric 5-tap blur in one sweep: horizontally filtered rows live in a ring of 5 rows (in `ring`),
 * each made once, and every output row combines 5 of them. Reads `src` once and writes `dst` once, so
 * `dst` may be `src` (row y is written only after the source rows up to y + 2 were read).
 */
function blur5(dst: Float32Array, src: Float32Array, w: number, h: number, k: Float64Array, ring: Float32Array): void {
  const k0 = k[0] as number, k1 = k[1] as number, k2 = k[2] as number;
  SLOT_ROW.fill(-1);
  for (let y = 0; y < h; y++) {
    const ra = ringRow(ring, src, reflect101(y - 2, h), w, k0, k1, k2);
    const rb = ringRow(ring, src, reflect101(y - 1, h), w, k0, k1, k2);
    const rc = ringRow(ring, src, y, w, k0, k1, k2);
    const rd = ringRow(ring, src, reflect101(y + 1, h), w, k0, k1, k2);
    const re = ringRow(ring, src, reflect101(y + 2, h), w, k0, k1, k2);
    const o = y * w;
    for (let x = 0; x < w; x++) {
      dst[o + x] =
        k0 * ((ring[ra + x] as number) + (ring[re + x] as number)) +
        k1 * ((ring[rb + x] as number) + (ring[rd + x] as number)) +
        k2 * (ring[rc + x] as number);
    }
  }
}

function horizontalGeneric(dst: Float32Array, src: Float32Array, w: number, h: number, k: Float64Array): void {
  const n = k.length;
  const r = (n - 1) >> 1;
  for (let y = 0; y < h; y++) {
    const row = y * w;
    for (let x = 0; x < w; x++) {
      let s = 0;
      if (x >= r && x + r < w) {
        for (let t = 0; t < n; t++) s += (k[t] as number) * (src[row + x - r + t] as number);
      } else {
        for (let t = 0; t < n; t++) s += (k[t] as number) * (src[row + reflect101(x - r + t, w)] as number);
      }
      dst[row + x] = s;
    }
  }
}

function verticalGeneric(dst: Float32Array, src: Float32Array, w: number, h: number, k: Float64Array): void {
  const n = k.length;
  const r = (n - 1) >> 1;
  const rows = new Int32Array(n);
  for (let y = 0; y < h; y++) {
    for (let t = 0; t < n; t++) rows[t] = reflect101(y - r + t, h) * w;
    const o = y * w;
    for (let x = 0; x < w; x++) {
      let s = 0;
      for (let t = 0; t < n; t++) s += (k[t] as number) * (src[(rows[t] as number) + x] as number);
      dst[o + x] = s;
    }
  }
}
