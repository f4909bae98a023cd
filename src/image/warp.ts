/**
 * Image warps by a 3x3 matrix, as an inverse map: out(x, y) = src(W · (x, y, 1)) for every output pixel.
 * With W from a registration (fixed -> moving coordinates), warping `moving` by W aligns it onto `fixed`.
 *
 * Two families:
 * - `warpInto`: GrayImage (float) to GrayImage, nearest / bilinear / bicubic (Keys 1981, a = -0.5),
 *   optional valid-mask output. Used by registration, metrics and tests.
 * - `warpPlaneU8Into`: 8-bit planes (Y, and the half-resolution U, V of YUV 4:2:0) for video output,
 *   nearest / bilinear, on the per-frame hot path: for affine maps the source position is stepped in
 *   16.16 fixed point along the row and the bilinear weights are integers (1/2048 px).
 *   `chromaMatrixInto` gives the matrix for 4:2:0 chroma planes from the luma matrix.
 *
 * Conventions: pixel centres at integer coordinates; a source point is *inside* when it lies in
 * [0, width-1] x [0, height-1] (to within INSIDE_EPS_PX), i.e. within the hull of the pixel centres.
 * Border modes decide what interpolation taps outside the image read:
 * - 'constant': `borderValue` (like OpenCV BORDER_CONSTANT: near the edge taps blend image and value);
 * - 'replicate': the nearest edge pixel (OpenCV BORDER_REPLICATE, aaa|abcd|ddd);
 * - 'reflect': mirror about the edge pixel, which is not repeated (OpenCV BORDER_REFLECT_101,
 *   dcb|abcd|cba);
 * - 'keep': output pixels whose source point is outside are left unchanged (the caller keeps what it had
 *   there, e.g. the previous output frame); taps just outside the edge replicate it.
 * For a homography, a source point with w <= 0 (at or behind the horizon) has no position: it counts as
 * outside and reads `borderValue` whatever the mode (left unchanged for 'keep').
 *
 * Fast paths: affine W (third row 0 0 1) computes coordinates per row as base + step * x; the 8-bit
 * warp also solves, per row, the span of x whose taps are all inside and runs a branch-free kernel on
 * it: for bilinear, the WebAssembly SIMD kernel of wasm/warp-u8.c (all the plane's spans in one call,
 * same bytes) where the engine has it, else the JavaScript kernels below. A homography takes the
 * general per-pixel path. No allocation per call.
 */
import { InputError } from '../errors.js';
import type { Mat3 } from '../motion/mat3.js';
import type { GrayImage } from './gray-image.js';
import { beginWasmWarp, runWasmWarp } from './wasm-warp.js';

/** How the source is interpolated. */
export type Interpolation = 'nearest' | 'bilinear' | 'bicubic';

/** What taps outside the source read; see the file comment. */
export type BorderMode = 'constant' | 'replicate' | 'reflect' | 'keep';

/** Tolerance (px) of the inside test, so that rounding in W · p does not flip edge pixels. */
export const INSIDE_EPS_PX = 1e-6;

/** Options of `warpInto`. */
export interface WarpOptions {
  /** Interpolation kernel. @default 'bilinear' */
  readonly interpolation?: Interpolation;
  /** Border mode. @default 'constant' */
  readonly border?: BorderMode;
  /** Gray level read outside the source with border 'constant'. @default 0 */
  readonly borderValue?: number;
  /**
   * Optional output, width*height of `out`: 1 where the source point is inside the source
   * ([0, w-1] x [0, h-1]), 0 elsewhere. Written for every pixel whatever the border mode.
   */
  readonly validMask?: Uint8Array;
}

/** Options of `warpPlaneU8Into`. */
export interface PlaneWarpOptions {
  /**
   * Interpolation kernel. Nearest and bilinear have fast fixed-point paths; bicubic (Keys, a = -0.5) takes
   * the general per-pixel path, several times slower. @default 'bilinear'
   */
  readonly interpolation?: Interpolation;
  /** Border mode. @default 'constant' */
  readonly border?: BorderMode;
  /** Sample value 0..255 read outside with border 'constant' (use 128 for neutral chroma). @default 0 */
  readonly borderValue?: number;
  /**
   * Which kernel warps the interior of an affine bilinear plane: 'auto' takes the WebAssembly SIMD
   * kernel (src/image/wasm/warp-u8.c, byte-identical output, several times faster) where the engine has
   * WebAssembly with 128-bit SIMD, else the JavaScript one; 'js' always the JavaScript one (tests and
   * benchmarks compare the two). Other interpolations, homographies and border pixels are JavaScript.
   * @default 'auto'
   */
  readonly kernel?: 'auto' | 'js';
}

/** True when W's third row is (0, 0, 1), so the map is affine. */
export function isAffine(W: Mat3): boolean {
  return W[6] === 0 && W[7] === 0 && W[8] === 1;
}

/** Maps an integer tap index into [0, n) for a border mode; -1 means "read the constant". */
export function borderIndex(i: number, n: number, border: BorderMode): number {
  if (i >= 0 && i < n) return i;
  switch (border) {
    case 'constant':
      return -1;
    case 'reflect': {
      if (n === 1) return 0;
      const period = 2 * n - 2;
      let r = i % period;
      if (r < 0) r += period;
      return r >= n ? period - r : r;
    }
    default:
      // 'replicate' and 'keep'
      return i < 0 ? 0 : n - 1;
  }
}

/** Keys cubic convolution weights (a = -0.5) for taps at offsets -1, 0, 1, 2 from floor(x); f = x - floor(x). */
function cubicWeights(f: number, w: Float64Array): void {
  const f2 = f * f;
  const f3 = f2 * f;
  w[0] = -0.5 * f3 + f2 - 0.5 * f;
  w[1] = 1.5 * f3 - 2.5 * f2 + 1;
  w[2] = -1.5 * f3 + 2 * f2 + 0.5 * f;
  w[3] = 0.5 * f3 - 0.5 * f2;
}

const wxScratch = new Float64Array(4);
const wyScratch = new Float64Array(4);

/** Reads one source sample with border handling (index -1 = the constant). */
function tap(data: ArrayLike<number>, w: number, h: number, ix: number, iy: number, border: BorderMode, value: number): number {
  const bx = borderIndex(ix, w, border);
  const by = borderIndex(iy, h, border);
  if (bx < 0 || by < 0) return value;
  return data[by * w + bx] as number;
}

/** Samples `data` at (sx, sy) with per-tap border handling; the general (slower) path. */
function sampleGeneral(
  data: ArrayLike<number>,
  w: number,
  h: number,
  sx: number,
  sy: number,
  interp: Interpolation,
  border: BorderMode,
  value: number,
): number {
  if (interp === 'nearest') {
    return tap(data, w, h, Math.floor(sx + 0.5), Math.floor(sy + 0.5), border, value);
  }
  const x0 = Math.floor(sx);
  const y0 = Math.floor(sy);
  const fx = sx - x0;
  const fy = sy - y0;
  if (interp === 'bilinear') {
    const a = tap(data, w, h, x0, y0, border, value);
    const b = tap(data, w, h, x0 + 1, y0, border, value);
    const c = tap(data, w, h, x0, y0 + 1, border, value);
    const d = tap(data, w, h, x0 + 1, y0 + 1, border, value);
    const top = a + (b - a) * fx;
    const bot = c + (d - c) * fx;
    return top + (bot - top) * fy;
  }
  cubicWeights(fx, wxScratch);
  cubicWeights(fy, wyScratch);
  let acc = 0;
  for (let j = 0; j < 4; j++) {
    let row = 0;
    for (let i = 0; i < 4; i++) row += (wxScratch[i] as number) * tap(data, w, h, x0 - 1 + i, y0 - 1 + j, border, value);
    acc += (wyScratch[j] as number) * row;
  }
  return acc;
}

/**
 * Warps `src` into `out` by the inverse map W: out(x, y) = src(W · (x, y)). Returns `out`.
 * `out` and `src` may have different sizes; they must not share memory.
 * @param W 3x3 row-major, output pixel coordinates -> source pixel coordinates
 */
export function warpInto(out: GrayImage, src: GrayImage, W: Mat3, options: WarpOptions = {}): GrayImage {
  const interp = options.interpolation ?? 'bilinear';
  const border = options.border ?? 'constant';
  const value = options.borderValue ?? 0;
  const mask = options.validMask;
  const keep = border === 'keep';
  const { width: ow, height: oh } = out;
  const od = out.data;
  const { width: sw, height: sh, data: sd } = src;
  const m0 = W[0] as number, m1 = W[1] as number, m2 = W[2] as number;
  const m3 = W[3] as number, m4 = W[4] as number, m5 = W[5] as number;
  const m6 = W[6] as number, m7 = W[7] as number, m8 = W[8] as number;
  const affine = isAffine(W);
  const xMax = sw - 1 + INSIDE_EPS_PX;
  const yMax = sh - 1 + INSIDE_EPS_PX;
  // Interior spans for the direct (no border lookup) kernels: every tap inside.
  const cubic = interp === 'bicubic';
  const loX = cubic ? 1 : 0;
  const loY = cubic ? 1 : 0;
  const hiX = cubic ? sw - 3 : sw - 2; // floor(sx) <= hiX
  const hiY = cubic ? sh - 3 : sh - 2;
  for (let y = 0; y < oh; y++) {
    const bx = m1 * y + m2;
    const by = m4 * y + m5;
    const bw = m7 * y + m8;
    const row = y * ow;
    for (let x = 0; x < ow; x++) {
      let sx: number;
      let sy: number;
      let behind = false;
      if (affine) {
        sx = bx + m0 * x;
        sy = by + m3 * x;
      } else {
        const wq = bw + m6 * x;
        behind = !(wq > 0);
        sx = (bx + m0 * x) / wq;
        sy = (by + m3 * x) / wq;
      }
      const inside = !behind && sx >= -INSIDE_EPS_PX && sx <= xMax && sy >= -INSIDE_EPS_PX && sy <= yMax;
      if (mask !== undefined) mask[row + x] = inside ? 1 : 0;
      if (!inside) {
        if (keep) continue;
        if (behind) {
          od[row + x] = value;
          continue;
        }
      }
      if (interp === 'nearest') {
        const ix = Math.floor(sx + 0.5);
        const iy = Math.floor(sy + 0.5);
        od[row + x] =
          ix >= 0 && ix < sw && iy >= 0 && iy < sh ? (sd[iy * sw + ix] as number) : tap(sd, sw, sh, ix, iy, border, value);
        continue;
      }
      const x0 = Math.floor(sx);
      const y0 = Math.floor(sy);
      if (x0 < loX || x0 > hiX || y0 < loY || y0 > hiY) {
        od[row + x] = sampleGeneral(sd, sw, sh, sx, sy, interp, border, value);
        continue;
      }
      const fx = sx - x0;
      const fy = sy - y0;
      const i = y0 * sw + x0;
      if (!cubic) {
        const a = sd[i] as number;
        const b = sd[i + 1] as number;
        const c = sd[i + sw] as number;
        const d = sd[i + sw + 1] as number;
        const top = a + (b - a) * fx;
        const bot = c + (d - c) * fx;
        od[row + x] = top + (bot - top) * fy;
      } else {
        cubicWeights(fx, wxScratch);
        cubicWeights(fy, wyScratch);
        const w0 = wxScratch[0] as number, w1 = wxScratch[1] as number;
        const w2 = wxScratch[2] as number, w3 = wxScratch[3] as number;
        let acc = 0;
        let k = i - sw - 1;
        for (let j = 0; j < 4; j++, k += sw) {
          const r =
            w0 * (sd[k] as number) + w1 * (sd[k + 1] as number) + w2 * (sd[k + 2] as number) + w3 * (sd[k + 3] as number);
          acc += (wyScratch[j] as number) * r;
        }
        od[row + x] = acc;
      }
    }
  }
  return out;
}

/**
 * Fixed-point precision of the 8-bit bilinear weights: 1/2048 px (fractions truncated). Products stay
 * below 2^31: 255 * 2048 * 2048 < 2^31.
 */
const FRAC_BITS = 11;
const FRAC_ONE = 1 << FRAC_BITS;
const FRAC_MASK = FRAC_ONE - 1;
const ROUND_HALF = 1 << (2 * FRAC_BITS - 1);
/** Stepped source coordinates are 16.16 fixed point. */
const COORD_BITS = 16;
const COORD_ONE = 1 << COORD_BITS;
/** Pixels between re-anchorings of the stepped coordinates on the exact float position. */
const STEP_BLOCK = 32;
/** Largest plane size for 16.16 coordinates (beyond it the float kernel runs). */
const MAX_FIXED_SIZE = 16384;
/**
 * Bilinear interior margin (px): points closer than this to the last pixel centre take the general path,
 * so that the fixed-point drift (< STEP_BLOCK * 2^-17 + 2^-16 px) can never move a tap outside.
 */
const EDGE_MARGIN_PX = 1 / 1024;

/** One 8-bit sample by the general path (float math, per-tap borders), rounded. */
function sampleU8General(
  src: Uint8Array,
  sw: number,
  sh: number,
  sx: number,
  sy: number,
  interp: 'nearest' | 'bilinear',
  border: BorderMode,
  value: number,
): number {
  const v = sampleGeneral(src, sw, sh, sx, sy, interp, border, value);
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.floor(v + 0.5);
}

/** The per-pixel path of warpPlaneU8Into (any kernel, any map): bicubic uses it. */
function warpPlaneU8General(
  out: Uint8Array,
  outW: number,
  outH: number,
  src: Uint8Array,
  srcW: number,
  srcH: number,
  W: Mat3,
  border: BorderMode,
  value: number,
): Uint8Array {
  const keep = border === 'keep';
  const xMax = srcW - 1 + INSIDE_EPS_PX;
  const yMax = srcH - 1 + INSIDE_EPS_PX;
  for (let y = 0; y < outH; y++) {
    for (let x = 0; x < outW; x++) {
      const d = (W[6] as number) * x + (W[7] as number) * y + (W[8] as number);
      const sx = ((W[0] as number) * x + (W[1] as number) * y + (W[2] as number)) / d;
      const sy = ((W[3] as number) * x + (W[4] as number) * y + (W[5] as number)) / d;
      if (keep && !(sx >= -INSIDE_EPS_PX && sx <= xMax && sy >= -INSIDE_EPS_PX && sy <= yMax)) continue;
      const v = sampleGeneral(src, srcW, srcH, sx, sy, 'bicubic', keep ? 'replicate' : border, value);
      out[y * outW + x] = v <= 0 ? 0 : v >= 255 ? 255 : Math.floor(v + 0.5);
    }
  }
  return out;
}

/**
 * Warps an 8-bit plane (tightly packed, i = y * width + x) by the inverse map W:
 * out(x, y) = src(W · (x, y)). For YUV 4:2:0 call it three times: Y with the luma matrix, U and V
 * (ceil(w/2) x ceil(h/2)) with `chromaMatrixInto(m, W)` and borderValue 128 for a neutral fill.
 * Bilinear uses fixed-point weights of 1/2048 px (result within 1 gray level of exact float
 * bilinear, rounded); for an affine map its interior runs in WebAssembly where available (see
 * `PlaneWarpOptions.kernel`), with the same bytes. Returns `out`.
 * @param out output plane, outW * outH bytes (must not share memory with src)
 * @param W 3x3 row-major, output pixel coordinates -> source pixel coordinates
 * @throws InputError E_PLANE_SIZE when a plane is shorter than its width * height
 */
export function warpPlaneU8Into(
  out: Uint8Array,
  outW: number,
  outH: number,
  src: Uint8Array,
  srcW: number,
  srcH: number,
  W: Mat3,
  options: PlaneWarpOptions = {},
): Uint8Array {
  if (out.length < outW * outH || src.length < srcW * srcH) {
    throw new InputError(
      'E_PLANE_SIZE',
      `Expected planes of at least ${outW * outH} bytes (${outW}x${outH}) and ${srcW * srcH} bytes (${srcW}x${srcH}) but received ${out.length} and ${src.length}`,
    );
  }
  const interpolation = options.interpolation ?? 'bilinear';
  const border = options.border ?? 'constant';
  const value = options.borderValue ?? 0;
  const keep = border === 'keep';
  if (interpolation === 'bicubic') return warpPlaneU8General(out, outW, outH, src, srcW, srcH, W, border, value);
  const interp = interpolation;
  const m0 = W[0] as number, m1 = W[1] as number, m2 = W[2] as number;
  const m3 = W[3] as number, m4 = W[4] as number, m5 = W[5] as number;
  const m6 = W[6] as number, m7 = W[7] as number, m8 = W[8] as number;
  const nearest = interp === 'nearest';
  // Interior: every tap inside. Nearest: the point itself inside. Bilinear: floor(s) in [0, n-2], with a
  // margin of EDGE_MARGIN_PX so that the fixed-point drift cannot step a tap outside.
  const fixedStep = srcW <= MAX_FIXED_SIZE && srcH <= MAX_FIXED_SIZE && outW <= MAX_FIXED_SIZE;
  const xLo = nearest ? 0 : EDGE_MARGIN_PX;
  const yLo = xLo;
  const xHi = nearest ? srcW - 1 : srcW - 1 - EDGE_MARGIN_PX;
  const yHi = nearest ? srcH - 1 : srcH - 1 - EDGE_MARGIN_PX;
  const dX = Math.round(m0 * COORD_ONE) | 0;
  const dY = Math.round(m3 * COORD_ONE) | 0;
  const xMax = srcW - 1 + INSIDE_EPS_PX;
  const yMax = srcH - 1 + INSIDE_EPS_PX;

  if (isAffine(W)) {
    let srcView: DataView | null = null;
    // The WebAssembly kernel takes the interior spans of the whole plane in one call (the call and the
    // copies in and out are per plane, not per row): the rows' spans and border pixels are settled
    // here as for the JavaScript kernels and written into the module's memory.
    const wasm =
      !nearest && fixedStep && options.kernel !== 'js' ? beginWasmWarp(src, srcW, srcH, outW, outH) : null;
    const target = wasm === null ? out : wasm.out;
    const wasmSpans = wasm === null ? null : wasm.spans;
    // 'keep' leaves outside pixels as they were: the module's output plane starts as a copy of `out`
    // (the other modes write every pixel).
    if (wasm !== null && keep) target.set(out.length === target.length ? out : out.subarray(0, target.length));
    for (let y = 0; y < outH; y++) {
      const bx = m1 * y + m2;
      const by = m4 * y + m5;
      const row = y * outW;
      // The interior span [lo, hi] of this row: sx = bx + m0 x and sy = by + m3 x are monotone in x,
      // so it is one interval; estimate it, then settle its ends on the exact per-pixel test.
      const span = spanOf(bx, m0, xLo, xHi, outW, spanScratch);
      let lo = spanScratch[0] as number;
      let hi = spanScratch[1] as number;
      if (span) {
        spanOf(by, m3, yLo, yHi, outW, spanScratch);
        lo = Math.max(lo, spanScratch[0] as number);
        hi = Math.min(hi, spanScratch[1] as number);
      }
      if (lo <= hi) {
        while (lo <= hi && !interiorAt(bx, by, m0, m3, lo, xLo, yLo, xHi, yHi)) lo++;
        while (hi >= lo && !interiorAt(bx, by, m0, m3, hi, xLo, yLo, xHi, yHi)) hi--;
        while (lo > 0 && interiorAt(bx, by, m0, m3, lo - 1, xLo, yLo, xHi, yHi)) lo--;
        while (hi < outW - 1 && interiorAt(bx, by, m0, m3, hi + 1, xLo, yLo, xHi, yHi)) hi++;
      }
      // Border pixels left and right of the interior span.
      const leftEnd = lo <= hi ? lo : outW;
      for (let x = 0; x < leftEnd; x++) {
        borderPixel(target, row + x, src, srcW, srcH, bx + m0 * x, by + m3 * x, interp, border, value, keep, xMax, yMax);
      }
      if (lo > hi) {
        if (wasmSpans !== null) {
          wasmSpans[2 * y] = 0;
          wasmSpans[2 * y + 1] = -1;
        }
        continue;
      }
      for (let x = hi + 1; x < outW; x++) {
        borderPixel(target, row + x, src, srcW, srcH, bx + m0 * x, by + m3 * x, interp, border, value, keep, xMax, yMax);
      }
      if (wasmSpans !== null) {
        wasmSpans[2 * y] = lo;
        wasmSpans[2 * y + 1] = hi;
      } else if (nearest) {
        for (let x = lo; x <= hi; x++) {
          const ix = (bx + m0 * x + 0.5) | 0;
          const iy = (by + m3 * x + 0.5) | 0;
          out[row + x] = src[iy * srcW + ix] as number;
        }
      } else if (fixedStep) {
        if (srcView === null) srcView = planeView(src);
        if (dX === COORD_ONE && dY === 0) bilinearSpanUnitStep(out, row, srcView, src.byteOffset, srcW, bx, by, m0, m3, lo, hi);
        else bilinearSpanFixed(out, row, srcView, src.byteOffset, srcW, bx, by, m0, m3, dX, dY, lo, hi);
      } else {
        for (let x = lo; x <= hi; x++) {
          const sx = bx + m0 * x;
          const sy = by + m3 * x;
          const ix = sx | 0;
          const iy = sy | 0;
          const fx = ((sx - ix) * FRAC_ONE) | 0;
          const fy = ((sy - iy) * FRAC_ONE) | 0;
          const i = iy * srcW + ix;
          const p00 = src[i] as number;
          const p01 = src[i + 1] as number;
          const p10 = src[i + srcW] as number;
          const p11 = src[i + srcW + 1] as number;
          const top = (p00 << FRAC_BITS) + (p01 - p00) * fx;
          const bot = (p10 << FRAC_BITS) + (p11 - p10) * fx;
          out[row + x] = (top * FRAC_ONE + (bot - top) * fy + ROUND_HALF) >> (2 * FRAC_BITS);
        }
      }
    }
    if (wasm !== null) {
      runWasmWarp(srcW, outW, outH, m0, m1, m2, m3, m4, m5, dX, dY);
      out.set(wasm.out);
    }
    return out;
  }

  // Homography: per-pixel division and interior test.
  for (let y = 0; y < outH; y++) {
    const bx = m1 * y + m2;
    const by = m4 * y + m5;
    const bw = m7 * y + m8;
    const row = y * outW;
    for (let x = 0; x < outW; x++) {
      const wq = bw + m6 * x;
      if (!(wq > 0)) {
        if (!keep) out[row + x] = value;
        continue;
      }
      const sx = (bx + m0 * x) / wq;
      const sy = (by + m3 * x) / wq;
      if (!(sx >= xLo && sx <= xHi && sy >= yLo && sy <= yHi)) {
        borderPixel(out, row + x, src, srcW, srcH, sx, sy, interp, border, value, keep, xMax, yMax);
        continue;
      }
      if (nearest) {
        out[row + x] = src[((sy + 0.5) | 0) * srcW + ((sx + 0.5) | 0)] as number;
        continue;
      }
      const ix = sx | 0;
      const iy = sy | 0;
      const fx = ((sx - ix) * FRAC_ONE) | 0;
      const fy = ((sy - iy) * FRAC_ONE) | 0;
      const i = iy * srcW + ix;
      const p00 = src[i] as number;
      const p01 = src[i + 1] as number;
      const p10 = src[i + srcW] as number;
      const p11 = src[i + srcW + 1] as number;
      const top = (p00 << FRAC_BITS) + (p01 - p00) * fx;
      const bot = (p10 << FRAC_BITS) + (p11 - p10) * fx;
      out[row + x] = (top * FRAC_ONE + (bot - top) * fy + ROUND_HALF) >> (2 * FRAC_BITS);
    }
  }
  return out;
}

const spanScratch = new Float64Array(2);

/** The exact per-pixel interior test of the affine 8-bit path (same arithmetic as its kernel). */
function interiorAt(
  bx: number,
  by: number,
  m0: number,
  m3: number,
  x: number,
  xLo: number,
  yLo: number,
  xHi: number,
  yHi: number,
): boolean {
  const sx = bx + m0 * x;
  const sy = by + m3 * x;
  return sx >= xLo && sx <= xHi && sy >= yLo && sy <= yHi;
}

/** One DataView per source buffer, made the first time a buffer is seen (not per frame). */
const planeViews = new WeakMap<ArrayBufferLike, DataView>();

/** A DataView over the whole buffer of `plane` (index it with plane.byteOffset + i). */
function planeView(plane: Uint8Array): DataView {
  const buffer = plane.buffer;
  let view = planeViews.get(buffer);
  if (view === undefined || view.byteLength < plane.byteOffset + plane.length) {
    view = new DataView(buffer);
    planeViews.set(buffer, view);
  }
  return view;
}

/**
 * The bilinear interior span [lo, hi] of one output row (every tap inside), affine map: 16.16
 * fixed-point coordinates stepped by integer increments (dX, dY), re-anchored on the exact float
 * position bx + m0 * x, by + m3 * x every STEP_BLOCK pixels from lo so that the drift stays below
 * STEP_BLOCK * 2^-17 px. The two taps of each source row are read as one little-endian 16-bit load
 * (`view` over the source's buffer, `base` its byteOffset): half the element reads of byte loads,
 * which is most of the cost in a JS engine.
 */
function bilinearSpanFixed(
  out: Uint8Array,
  row: number,
  view: DataView,
  base: number,
  srcW: number,
  bx: number,
  by: number,
  m0: number,
  m3: number,
  dX: number,
  dY: number,
  lo: number,
  hi: number,
): void {
  for (let x0 = lo; x0 <= hi; x0 += STEP_BLOCK) {
    const n = Math.min(STEP_BLOCK, hi - x0 + 1);
    let X = ((bx + m0 * x0) * COORD_ONE) | 0;
    let Y = ((by + m3 * x0) * COORD_ONE) | 0;
    let k = 0;
    let o = (row + x0) | 0;
    // Two pixels per iteration: half the loop overhead, more independent work in flight.
    for (; k + 1 < n; k += 2, o = (o + 2) | 0) {
      const X1 = (X + dX) | 0;
      const Y1 = (Y + dY) | 0;
      const i = (Math.imul(Y >> COORD_BITS, srcW) + ((X >> COORD_BITS) + base)) | 0;
      const j = (Math.imul(Y1 >> COORD_BITS, srcW) + ((X1 >> COORD_BITS) + base)) | 0;
      const t0 = view.getUint16(i, true);
      const b0 = view.getUint16((i + srcW) | 0, true);
      const t1 = view.getUint16(j, true);
      const b1 = view.getUint16((j + srcW) | 0, true);
      const fx0 = (X >> (COORD_BITS - FRAC_BITS)) & FRAC_MASK;
      const fx1 = (X1 >> (COORD_BITS - FRAC_BITS)) & FRAC_MASK;
      const p0 = t0 & 0xff;
      const q0 = b0 & 0xff;
      const p1 = t1 & 0xff;
      const q1 = b1 & 0xff;
      const top0 = ((p0 << FRAC_BITS) + Math.imul((t0 >> 8) - p0, fx0)) | 0;
      const bot0 = ((q0 << FRAC_BITS) + Math.imul((b0 >> 8) - q0, fx0)) | 0;
      const top1 = ((p1 << FRAC_BITS) + Math.imul((t1 >> 8) - p1, fx1)) | 0;
      const bot1 = ((q1 << FRAC_BITS) + Math.imul((b1 >> 8) - q1, fx1)) | 0;
      out[o] = ((top0 << FRAC_BITS) + Math.imul((bot0 - top0) | 0, (Y >> (COORD_BITS - FRAC_BITS)) & FRAC_MASK) + ROUND_HALF) >> (2 * FRAC_BITS);
      out[(o + 1) | 0] = ((top1 << FRAC_BITS) + Math.imul((bot1 - top1) | 0, (Y1 >> (COORD_BITS - FRAC_BITS)) & FRAC_MASK) + ROUND_HALF) >> (2 * FRAC_BITS);
      X = (X1 + dX) | 0;
      Y = (Y1 + dY) | 0;
    }
    if (k < n) {
      const i = (Math.imul(Y >> COORD_BITS, srcW) + ((X >> COORD_BITS) + base)) | 0;
      const t = view.getUint16(i, true);
      const b = view.getUint16((i + srcW) | 0, true);
      const fx = (X >> (COORD_BITS - FRAC_BITS)) & FRAC_MASK;
      const p = t & 0xff;
      const q = b & 0xff;
      const top = ((p << FRAC_BITS) + Math.imul((t >> 8) - p, fx)) | 0;
      const bot = ((q << FRAC_BITS) + Math.imul((b >> 8) - q, fx)) | 0;
      out[o] = ((top << FRAC_BITS) + Math.imul((bot - top) | 0, (Y >> (COORD_BITS - FRAC_BITS)) & FRAC_MASK) + ROUND_HALF) >> (2 * FRAC_BITS);
    }
  }
}

/**
 * bilinearSpanFixed when the fixed-point step is exactly one source pixel along x and zero along y
 * (dX = 2^16, dY = 0: a translation, or any map whose m0 and m3 round to 1 and 0 in 16.16). Within a
 * block the fractions fx, fy and the source rows are then constant and the source column advances by
 * one, so each output reuses the previous one's right-hand column. Same integers as the general kernel:
 * top * (2048 - fy) + bot * fy with top = p00 * (2048 - fx) + p01 * fx is, exactly,
 * (2048 - fx) * c0 + fx * c1 with the column sums c = p * (2048 - fy) + q * fy (all below 2^31).
 */
function bilinearSpanUnitStep(
  out: Uint8Array,
  row: number,
  view: DataView,
  base: number,
  srcW: number,
  bx: number,
  by: number,
  m0: number,
  m3: number,
  lo: number,
  hi: number,
): void {
  for (let x0 = lo; x0 <= hi; x0 += STEP_BLOCK) {
    const end = Math.min(x0 + STEP_BLOCK - 1, hi);
    const X = ((bx + m0 * x0) * COORD_ONE) | 0;
    const Y = ((by + m3 * x0) * COORD_ONE) | 0;
    const fx = (X >> (COORD_BITS - FRAC_BITS)) & FRAC_MASK;
    const fy = (Y >> (COORD_BITS - FRAC_BITS)) & FRAC_MASK;
    const gx = FRAC_ONE - fx;
    const gy = FRAC_ONE - fy;
    let i = (Math.imul(Y >> COORD_BITS, srcW) + ((X >> COORD_BITS) + base)) | 0;
    let c0 = Math.imul(view.getUint8(i), gy) + Math.imul(view.getUint8((i + srcW) | 0), fy);
    let o = (row + x0) | 0;
    const e = (row + end) | 0;
    // Two outputs per iteration from the next two columns, read as one 16-bit load per source row.
    for (; o < e; o = (o + 2) | 0) {
      const t = view.getUint16((i + 1) | 0, true);
      const b = view.getUint16((i + 1 + srcW) | 0, true);
      const c1 = Math.imul(t & 0xff, gy) + Math.imul(b & 0xff, fy);
      const c2 = Math.imul(t >> 8, gy) + Math.imul(b >> 8, fy);
      out[o] = (Math.imul(gx, c0) + Math.imul(fx, c1) + ROUND_HALF) >> (2 * FRAC_BITS);
      out[(o + 1) | 0] = (Math.imul(gx, c1) + Math.imul(fx, c2) + ROUND_HALF) >> (2 * FRAC_BITS);
      c0 = c2;
      i = (i + 2) | 0;
    }
    if (o === e) {
      const c1 = Math.imul(view.getUint8((i + 1) | 0), gy) + Math.imul(view.getUint8((i + 1 + srcW) | 0), fy);
      out[o] = (Math.imul(gx, c0) + Math.imul(fx, c1) + ROUND_HALF) >> (2 * FRAC_BITS);
    }
  }
}

/**
 * Estimates the integer x in [0, n) with lo <= base + step * x <= hi, into out = [first, last]
 * (first > last when empty). Returns false when the span is empty. Rounding is settled by the caller.
 */
function spanOf(base: number, step: number, lo: number, hi: number, n: number, out: Float64Array): boolean {
  let a: number;
  let b: number;
  if (step === 0) {
    if (base >= lo && base <= hi) {
      a = 0;
      b = n - 1;
    } else {
      a = 0;
      b = -1;
    }
  } else {
    const t0 = (lo - base) / step;
    const t1 = (hi - base) / step;
    a = Math.max(0, Math.ceil(Math.min(t0, t1)));
    b = Math.min(n - 1, Math.floor(Math.max(t0, t1)));
    if (!Number.isFinite(a) || !Number.isFinite(b)) {
      a = 0;
      b = -1;
    }
  }
  out[0] = a;
  out[1] = b;
  return a <= b;
}

/** Writes one output pixel whose taps are not all inside. */
function borderPixel(
  out: Uint8Array,
  o: number,
  src: Uint8Array,
  sw: number,
  sh: number,
  sx: number,
  sy: number,
  interp: 'nearest' | 'bilinear',
  border: BorderMode,
  value: number,
  keep: boolean,
  xMax: number,
  yMax: number,
): void {
  if (keep) {
    if (!(sx >= -INSIDE_EPS_PX && sx <= xMax && sy >= -INSIDE_EPS_PX && sy <= yMax)) return;
  } else if (border === 'constant' && (sx < -1 || sy < -1 || sx > sw || sy > sh)) {
    // Every tap is outside: skip the interpolation.
    out[o] = value;
    return;
  }
  out[o] = interp === 'bilinear' ? bilinearU8Border(src, sw, sh, sx, sy, border, value) : sampleU8General(src, sw, sh, sx, sy, interp, border, value);
}

/**
 * sampleU8General for bilinear, with each of the two column and two row indices mapped through the
 * border once instead of once per tap: the same taps, weights and float operations in the same order,
 * so the same byte, at a fraction of the cost (a warp with a few rows of border spends most of its
 * time here otherwise).
 */
function bilinearU8Border(src: Uint8Array, sw: number, sh: number, sx: number, sy: number, border: BorderMode, value: number): number {
  const x0 = Math.floor(sx);
  const y0 = Math.floor(sy);
  const fx = sx - x0;
  const fy = sy - y0;
  const c0 = borderIndex(x0, sw, border);
  const c1 = borderIndex(x0 + 1, sw, border);
  const r0 = borderIndex(y0, sh, border);
  const r1 = borderIndex(y0 + 1, sh, border);
  const a = c0 < 0 || r0 < 0 ? value : (src[r0 * sw + c0] as number);
  const b = c1 < 0 || r0 < 0 ? value : (src[r0 * sw + c1] as number);
  const c = c0 < 0 || r1 < 0 ? value : (src[r1 * sw + c0] as number);
  const d = c1 < 0 || r1 < 0 ? value : (src[r1 * sw + c1] as number);
  const top = a + (b - a) * fx;
  const bot = c + (d - c) * fx;
  const v = top + (bot - top) * fy;
  return v <= 0 ? 0 : v >= 255 ? 255 : Math.floor(v + 0.5);
}

/** Chroma sample siting of 4:2:0 relative to luma (see `chromaMatrixInto`). */
export type ChromaSiting = 'left' | 'center' | 'top-left';

const chromaA = new Float64Array(9);
const chromaB = new Float64Array(9);

/**
 * The matrix for the half-resolution chroma planes of YUV 4:2:0 that matches the luma matrix W
 * (both as inverse maps, output -> source): out = C^-1 · W · C, where C maps chroma pixel coordinates to
 * luma pixel coordinates. Sitings (chroma sample centre in luma pixel coordinates):
 * - 'left' (MPEG-2, H.264/H.265 default, what ffmpeg's yuv420p from most video means):
 *   luma x = 2 cx, luma y = 2 cy + 0.5 (i.e. chroma x = luma x / 2, chroma y = (luma y + 0.5) / 2 - 0.5);
 * - 'center' (JPEG, MPEG-1): luma x = 2 cx + 0.5, luma y = 2 cy + 0.5;
 * - 'top-left' (co-sited, e.g. some HDR): luma x = 2 cx, luma y = 2 cy.
 * `out` may alias W. Returns `out`.
 * @param siting chroma sample siting. @default 'left'
 */
export function chromaMatrixInto(out: Mat3, W: Mat3, siting: ChromaSiting = 'left'): Mat3 {
  const ox = siting === 'center' ? 0.5 : 0;
  const oy = siting === 'top-left' ? 0 : 0.5;
  // A = W · C with C = [2 0 ox; 0 2 oy; 0 0 1]
  const a = chromaA;
  for (let r = 0; r < 3; r++) {
    const w0 = W[r * 3] as number, w1 = W[r * 3 + 1] as number, w2 = W[r * 3 + 2] as number;
    a[r * 3] = 2 * w0;
    a[r * 3 + 1] = 2 * w1;
    a[r * 3 + 2] = w0 * ox + w1 * oy + w2;
  }
  // out = C^-1 · A with C^-1 = [0.5 0 -ox/2; 0 0.5 -oy/2; 0 0 1]
  const b = chromaB;
  for (let c = 0; c < 3; c++) {
    const a2 = a[6 + c] as number;
    b[c] = 0.5 * (a[c] as number) - 0.5 * ox * a2;
    b[3 + c] = 0.5 * (a[3 + c] as number) - 0.5 * oy * a2;
    b[6 + c] = a2;
  }
  out.set(b);
  return out;
}
