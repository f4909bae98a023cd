/**
 * ECC image alignment at one resolution: finds the warp W (fixed/template pixel coordinates -> moving/input
 * pixel coordinates) that maximises the enhanced correlation coefficient
 *   cc(W) = <t - mean t, i_W - mean i_W> / (|t - mean t| |i_W - mean i_W|),   i_W(x) = moving(W x),
 * over the pixels x where both are valid. cc is invariant to gain and bias of either image.
 *
 * Reference: G. D. Evangelidis and E. Z. Psarakis, "Parametric Image Alignment Using Enhanced Correlation
 * Coefficient Maximization", IEEE TPAMI 30(10), 2008 (the Gauss-Newton step with the lambda term); the
 * inverse-compositional form follows S. Baker and I. Matthews, "Lucas-Kanade 20 Years On", IJCV 2004.
 *
 * Inverse-compositional form. The template is linearised instead of the warped input: with G the
 * steepest-descent images of the template (template gradient times the model's Jacobian at the
 * identity), each iteration maximises cc(i_W, t + G dp) in closed form,
 *   dp = lambda H^-1 G'i - H^-1 G't,   lambda = (|t|^2 - t'G H^-1 G't) / (<i, t> - i'G H^-1 G't)
 * (all images zero-mean over the valid pixels, G centred, H = G'G), then updates W <- W o W(dp)^-1.
 * At a fixed point G'(lambda i - t) = 0, the stationarity condition of cc, whatever H is: H only sets
 * the speed of convergence, while every term that decides where it converges (sums over t, G't, G'i,
 * the means) is taken over the exact valid set of each iteration. H is taken over that valid set too
 * (the template's moments minus those of the pixels that fell outside), from every other row and
 * column on levels above 40000 pixels. When lambda's denominator is not positive (far from the optimum)
 * the paper's fallback lambda = max(sqrt(t'Pt / i'Pi), (i'Pt - <i, t>) / i'Pi) is used.
 *
 * No per-pixel Jacobian is stored: the model's Jacobian at the identity is a polynomial in normalised
 * coordinates (x~, y~) = ((x - cx) / s, (y - cy) / s), so G'q = sum over pixels of q * (gx, gy) * J(x~, y~)
 * is a combination of the moments sum q gx x~^a y~^b and sum q gy x~^a y~^b (and H one of the moments of
 * gx^2, gx gy, gy^2). One fused pass per iteration warps the input bilinearly and accumulates those
 * moments (row sums times powers of y~), plus the sums of i, i^2 and i t. Template-side sums and the
 * gradients (central differences of the pre-filtered template) are made once per level. Along each row
 * the span whose warped positions lie inside the input is found in closed form and sampled without
 * checks; the pixels outside it (outside the input, or on a masked-out input pixel) are few and are
 * subtracted from the template-side totals. Normalised coordinates keep H well conditioned.
 *
 * Termination: at most `maxIterations` iterations, or when the update moves every warped template corner
 * by less than `epsilonPx` pixels of this level (a criterion on the parameters, not on cc), or when the
 * updates stop shrinking while below STALL_MAX_PX (a limit cycle of pixels entering and leaving the
 * valid set; the best warp seen is kept).
 * Failures are values: 'low-texture' (template too flat), 'no-overlap' (too few valid pixels),
 * 'nan', 'diverged' (the warp folded or left the plane).
 */
import type { GrayImage } from '../image/gray-image.js';
import type { Mat3 } from '../motion/mat3.js';
import { invertInto, multiplyInto } from '../motion/mat3.js';
import type { MotionModel, Polynomial } from '../motion/motion-model.js';
import type { FailureReason } from './result.js';
import type { WasmEccPlanes } from './wasm-ecc.js';
import { createWasmEccPlanes } from './wasm-ecc.js';

/** When to stop iterating at one level. */
export interface EccCriteria {
  /** Most iterations (warps of the input). */
  readonly maxIterations: number;
  /** Stop when an update moves every warped template corner by less than this, in pixels of the level. */
  readonly epsilonPx: number;
}

/** How one level ended. */
export type EccLevelStatus = 'converged' | 'max-iterations' | FailureReason;

/** The outcome of one level (the warp itself is updated in place). */
export interface EccLevelResult {
  readonly status: EccLevelStatus;
  /** Correlation coefficient at the last evaluated warp (-1..1), NaN when none could be computed. */
  readonly cc: number;
  /** Iterations done (each warps the input once). */
  readonly iterations: number;
}

/** The standard deviation (gray levels) of the template, or of the warped input over the valid pixels, below which it is 'low-texture'. */
export const MIN_TEMPLATE_STD = 0.5;
/** Smallest share of the template's valid pixels that must land on valid input pixels. */
export const MIN_OVERLAP_FRACTION = 0.1;
/** An update counts as stalled when it is at least this share of the previous one... */
export const STALL_RATIO = 0.7;
/** ... and smaller than this (pixels of the level). */
export const STALL_MAX_PX = 0.25;
/** Consecutive stalled updates that end a level. */
export const STALL_ITERATIONS = 3;
/**
 * A step is rejected (and half of it tried) when cc falls by more than this share of the room left,
 * 1 - cc, below the cc before the step: a fall that large is an overshoot, not rounding.
 */
export const CC_DROP_TOLERANCE = 1e-3;
/** Most consecutive halvings of a rejected step. */
export const MAX_STEP_HALVINGS = 4;
/** Smallest number of valid pixels per parameter. */
export const MIN_PIXELS_PER_PARAM = 10;

/** Options of `createEccWorkspace`. */
export interface EccWorkspaceOptions {
  /**
   * The kernels of the affine models' passes (the template pass and its Hessian moments without a mask, and
   * the unchecked row spans of every iteration without an input mask): 'auto' runs the WebAssembly SIMD kernels
   * (src/register/wasm/ecc.c: float32 arithmetic with short float32 partial sums, so the sums agree with
   * the JavaScript's double ones to about 1e-6 relative) where the engine has WebAssembly with
   * 128-bit SIMD and JavaScript elsewhere; 'js' always runs JavaScript (tests compare the two).
   * @default 'auto'
   */
  readonly kernel?: 'auto' | 'js';
}

/** A workspace for one level: template data and scratch, made once per resolution and model. */
export interface EccWorkspace {
  readonly width: number;
  readonly height: number;
  readonly model: MotionModel;
  /**
   * Prepares the template (already pre-filtered): gradients, moments, Hessian. `mask` (width * height,
   * nonzero = used) or null for all pixels. Returns null when usable, else the failure reason.
   */
  setTemplate(template: GrayImage, mask: Uint8Array | null): FailureReason | null;
  /**
   * Aligns `image` (pre-filtered, width x height) onto the template, starting from and updating `warp`
   * (template -> image pixel coordinates of this level). `imageMask`: nonzero = usable input pixel, or null.
   * `warpModel` is the family `warp` belongs to (default: the workspace's model): a richer one (a
   * homography warp refined by affine updates, W <- W D^-1 with D affine) keeps its extra freedom
   * fixed while this model's parameters are estimated.
   */
  align(image: GrayImage, imageMask: Uint8Array | null, warp: Mat3, criteria: EccCriteria, warpModel?: MotionModel): EccLevelResult;
}

/** Largest moment degree needed (homography Hessian: Jacobian degree 2, squared). */
const MAX_DEG = 4;
const MSTRIDE = MAX_DEG + 1;

/** Adds coef * M[a][b] terms of a polynomial product into a scalar. */
function polyMoment(poly: Polynomial, m: Float64Array): number {
  let s = 0;
  for (const t of poly) s += t.coef * (m[t.px * MSTRIDE + t.py] as number);
  return s;
}

function polyProductMoment(p1: Polynomial, p2: Polynomial, m: Float64Array): number {
  let s = 0;
  for (const a of p1) for (const b of p2) s += a.coef * b.coef * (m[(a.px + b.px) * MSTRIDE + (a.py + b.py)] as number);
  return s;
}

/** In-place Cholesky factorisation of the n x n SPD matrix a (row-major); false when not positive definite. */
function choleskyInPlace(a: Float64Array, n: number): boolean {
  for (let j = 0; j < n; j++) {
    let d = a[j * n + j] as number;
    for (let k = 0; k < j; k++) d -= (a[j * n + k] as number) ** 2;
    // Relative pivot test: a pivot this small means a direction the template's gradients do not see.
    if (!(d > 1e-12 * Math.abs(a[j * n + j] as number)) || !(d > 0)) return false;
    const l = Math.sqrt(d);
    a[j * n + j] = l;
    for (let i = j + 1; i < n; i++) {
      let s = a[i * n + j] as number;
      for (let k = 0; k < j; k++) s -= (a[i * n + k] as number) * (a[j * n + k] as number);
      a[i * n + j] = s / l;
    }
  }
  return true;
}

/** Solves L L' x = b with the factor from choleskyInPlace. */
function choleskySolveInto(out: Float64Array, l: Float64Array, n: number, b: Float64Array): Float64Array {
  for (let i = 0; i < n; i++) {
    let s = b[i] as number;
    for (let k = 0; k < i; k++) s -= (l[i * n + k] as number) * (out[k] as number);
    out[i] = s / (l[i * n + i] as number);
  }
  for (let i = n - 1; i >= 0; i--) {
    let s = out[i] as number;
    for (let k = i + 1; k < n; k++) s -= (l[k * n + i] as number) * (out[k] as number);
    out[i] = s / (l[i * n + i] as number);
  }
  return out;
}

function dot(a: Float64Array, b: Float64Array, n: number): number {
  let s = 0;
  for (let i = 0; i < n; i++) s += (a[i] as number) * (b[i] as number);
  return s;
}

/**
 * Index of moment (a, b) = sum q x~^a y~^b in a moment table.
 * Tables hold MSTRIDE x MSTRIDE doubles; only a + b <= degree is filled.
 */
function mIndex(a: number, b: number): number {
  return a * MSTRIDE + b;
}

/**
 * One pass over the template's valid set (interior pixels, mask nonzero): computes and stores its
 * gradients gx, gy (central differences times `gradScale`) and the exact sums: count, sum t, sum t^2
 * (into `scalars`) and the moments (degree <= deg <= 2) of gx, gy, t gx, t gy; for degree 0 without a
 * mask also the Hessian's moments of gx^2, gx gy, gy^2 (into mXX, mXY, mYY[0]; the tables are left as
 * they are otherwise). Border pixels are never used, so their gradients are left as they are.
 * Exported for the tests that check the WebAssembly template pass (src/register/wasm-ecc.ts) against it;
 * not part of the package's interface.
 */
export function templateSums(
  t: Float32Array,
  gx: Float32Array,
  gy: Float32Array,
  mask: Uint8Array | null,
  w: number,
  h: number,
  gradScale: number,
  xStart: number,
  invS: number,
  yPow: Float64Array,
  deg: number,
  scalars: Float64Array,
  mGx: Float64Array,
  mGy: Float64Array,
  mTGx: Float64Array,
  mTGy: Float64Array,
  mXX: Float64Array,
  mXY: Float64Array,
  mYY: Float64Array,
): void {
  let n = 0;
  let st = 0;
  let stt = 0;
  // Translation without a mask: the Hessian's only moments (sums of gx^2, gx gy, gy^2) ride along,
  // exact and without a second pass over the gradients.
  let sxx = 0;
  let sxy = 0;
  let syy = 0;
  const half = 0.5 * gradScale;
  for (let y = 1; y < h - 1; y++) {
    const row = y * w;
    let rn = 0, rt = 0, rtt = 0;
    let g0 = 0, g1 = 0, g2 = 0, k0 = 0, k1 = 0, k2 = 0;
    let u0 = 0, u1 = 0, u2 = 0, v0 = 0, v1 = 0, v2 = 0;
    let xt = xStart;
    if (deg === 0 && mask === null) {
      for (let i = row + 1, end = row + w - 1; i < end; i++) {
        const tv = t[i] as number;
        const a = ((t[i + 1] as number) - (t[i - 1] as number)) * half;
        const b = ((t[i + w] as number) - (t[i - w] as number)) * half;
        gx[i] = a;
        gy[i] = b;
        rt += tv;
        rtt += tv * tv;
        g0 += a;
        k0 += b;
        u0 += tv * a;
        v0 += tv * b;
        sxx += a * a;
        sxy += a * b;
        syy += b * b;
      }
      rn = w - 2;
    } else if (deg === 1 && mask === null) {
      for (let i = row + 1, end = row + w - 1; i < end; i++, xt += invS) {
        const tv = t[i] as number;
        const a = ((t[i + 1] as number) - (t[i - 1] as number)) * half;
        const b = ((t[i + w] as number) - (t[i - w] as number)) * half;
        gx[i] = a;
        gy[i] = b;
        rt += tv;
        rtt += tv * tv;
        const ta = tv * a;
        const tb = tv * b;
        g0 += a;
        g1 += a * xt;
        k0 += b;
        k1 += b * xt;
        u0 += ta;
        u1 += ta * xt;
        v0 += tb;
        v1 += tb * xt;
      }
      rn = w - 2;
    } else {
      for (let x = 1; x < w - 1; x++, xt += invS) {
        const i = row + x;
        const tv = t[i] as number;
        const a = ((t[i + 1] as number) - (t[i - 1] as number)) * half;
        const b = ((t[i + w] as number) - (t[i - w] as number)) * half;
        gx[i] = a;
        gy[i] = b;
        if (mask !== null && mask[i] === 0) continue;
        const xt2 = xt * xt;
        rn++;
        rt += tv;
        rtt += tv * tv;
        const ta = tv * a;
        const tb = tv * b;
        g0 += a;
        g1 += a * xt;
        g2 += a * xt2;
        k0 += b;
        k1 += b * xt;
        k2 += b * xt2;
        u0 += ta;
        u1 += ta * xt;
        u2 += ta * xt2;
        v0 += tb;
        v1 += tb * xt;
        v2 += tb * xt2;
      }
    }
    if (rn === 0) continue;
    n += rn;
    st += rt;
    stt += rtt;
    const y1 = yPow[h + y] as number;
    const y2 = yPow[2 * h + y] as number;
    foldRow3(mGx, g0, g1, g2, y1, y2, deg);
    foldRow3(mGy, k0, k1, k2, y1, y2, deg);
    foldRow3(mTGx, u0, u1, u2, y1, y2, deg);
    foldRow3(mTGy, v0, v1, v2, y1, y2, deg);
  }
  scalars[0] = n;
  scalars[1] = st;
  scalars[2] = stt;
  if (deg === 0 && mask === null) {
    mXX[0] = sxx;
    mXY[0] = sxy;
    mYY[0] = syy;
  }
}

/** m[a][b] += r_a * y~^b for a + b <= deg (deg <= 2), from the row sums r0, r1, r2 of q x~^a. */
function foldRow3(m: Float64Array, r0: number, r1: number, r2: number, y1: number, y2: number, deg: number): void {
  m[0] = (m[0] as number) + r0;
  if (deg >= 1) {
    m[1] = (m[1] as number) + r0 * y1;
    m[MSTRIDE] = (m[MSTRIDE] as number) + r1;
    if (deg >= 2) {
      m[2] = (m[2] as number) + r0 * y2;
      m[MSTRIDE + 1] = (m[MSTRIDE + 1] as number) + r1 * y1;
      m[2 * MSTRIDE] = (m[2 * MSTRIDE] as number) + r2;
    }
  }
}

/** m[a][b] += r[a] * y~^b for a + b <= deg (deg <= 4). */
function foldRow5(m: Float64Array, r0: number, r1: number, r2: number, r3: number, r4: number, yPow: Float64Array, h: number, y: number, deg: number): void {
  for (let a = 0; a <= deg; a++) {
    const r = a === 0 ? r0 : a === 1 ? r1 : a === 2 ? r2 : a === 3 ? r3 : r4;
    for (let b = 0; a + b <= deg; b++) m[mIndex(a, b)] = (m[mIndex(a, b)] as number) + r * (yPow[b * h + y] as number);
  }
}

/**
 * Moments (degree <= 4) of gx^2, gx gy, gy^2 over the template's valid set, on every `step`-th row and
 * column (the Hessian only sets the speed of convergence, see the file comment). Returns the number of
 * pixels visited. Exported for the tests of the WebAssembly twin; not part of the package's interface.
 */
export function hessianMoments(
  gx: Float32Array,
  gy: Float32Array,
  mask: Uint8Array | null,
  w: number,
  h: number,
  xStart: number,
  invS: number,
  yPow: Float64Array,
  deg: number,
  step: number,
  mXX: Float64Array,
  mXY: Float64Array,
  mYY: Float64Array,
): number {
  let n = 0;
  const dxt = invS * step;
  for (let y = 1; y < h - 1; y += step) {
    const row = y * w;
    let a0 = 0, a1 = 0, a2 = 0, a3 = 0, a4 = 0;
    let b0 = 0, b1 = 0, b2 = 0, b3 = 0, b4 = 0;
    let c0 = 0, c1 = 0, c2 = 0, c3 = 0, c4 = 0;
    let rn = 0;
    let xt = xStart;
    for (let x = 1; x < w - 1; x += step, xt += dxt) {
      const i = row + x;
      if (mask !== null && mask[i] === 0) continue;
      const gxv = gx[i] as number;
      const gyv = gy[i] as number;
      const xx = gxv * gxv;
      const xy = gxv * gyv;
      const yy = gyv * gyv;
      rn++;
      a0 += xx;
      b0 += xy;
      c0 += yy;
      if (deg === 0) continue;
      const p2 = xt * xt;
      a1 += xx * xt;
      a2 += xx * p2;
      b1 += xy * xt;
      b2 += xy * p2;
      c1 += yy * xt;
      c2 += yy * p2;
      if (deg <= 2) continue;
      const p3 = p2 * xt;
      const p4 = p2 * p2;
      a3 += xx * p3;
      a4 += xx * p4;
      b3 += xy * p3;
      b4 += xy * p4;
      c3 += yy * p3;
      c4 += yy * p4;
    }
    if (rn === 0) continue;
    n += rn;
    foldRow5(mXX, a0, a1, a2, a3, a4, yPow, h, y, deg);
    foldRow5(mXY, b0, b1, b2, b3, b4, yPow, h, y, deg);
    foldRow5(mYY, c0, c1, c2, c3, c4, yPow, h, y, deg);
  }
  return n;
}

/** Table index of each moment (a, b) the WebAssembly Hessian pass writes, in its order. */
const HESSIAN_WASM_INDEX = [mIndex(0, 0), mIndex(0, 1), mIndex(0, 2), mIndex(1, 0), mIndex(1, 1), mIndex(2, 0)];

/** Adds the WebAssembly Hessian pass's moments (WasmEccPlanes.hessianMoments) into the tables; returns the pixels visited. */
function wasmHessianInto(r: Float64Array, tables: readonly Float64Array[]): number {
  for (let q = 0; q < 3; q++) {
    const m = tables[q] as Float64Array;
    for (let k = 0; k < 6; k++) {
      const i = HESSIAN_WASM_INDEX[k] as number;
      m[i] = (m[i] as number) + (r[1 + 6 * q + k] as number);
    }
  }
  return r[0] as number;
}

/** Partial sums of one pass: [sum i, sum i^2, sum i t, a0, a1, a2, b0, b1, b2] with a_k = sum i gx x~^k. */
const SPAN_SUMS = 9;

/**
 * Inner loop over pixels x0..x1 of one row whose warped positions are known to be inside the input
 * (no checks): bilinear sample, then the sums. Affine warp: position (X, Y) + k (dX, dY).
 * Degree-specialised so that translation does not pay for the moments it does not use; the affine
 * models' Jacobians have degree <= 1, so a2 and b2 stay zero (degree 2 is the homography's, projective).
 * ADDS [si, sii, sit, a0, a1, a2, b0, b1, b2] into out[0..8]. Exported for the tests that check the
 * WebAssembly kernel (src/register/wasm-ecc.ts) against it; not part of the package's interface.
 */
export function spanAffine(
  img: Float32Array,
  t: Float32Array,
  gx: Float32Array,
  gy: Float32Array,
  w: number,
  row: number,
  x0: number,
  x1: number,
  X: number,
  Y: number,
  dX: number,
  dY: number,
  xt: number,
  invS: number,
  deg: number,
  out: Float64Array,
): void {
  let si = 0, sii = 0, sit = 0, a0 = 0, a1 = 0, a2 = 0, b0 = 0, b1 = 0, b2 = 0;
  if (deg === 0) {
    for (let x = x0; x <= x1; x++, X += dX, Y += dY) {
      const i = row + x;
      const xi = X | 0;
      const yi = Y | 0;
      const o = yi * w + xi;
      const fx = X - xi;
      const fy = Y - yi;
      const v00 = img[o] as number;
      const v10 = img[o + w] as number;
      const top = v00 + fx * ((img[o + 1] as number) - v00);
      const iv = top + fy * (v10 + fx * ((img[o + w + 1] as number) - v10) - top);
      si += iv;
      sii += iv * iv;
      sit += iv * (t[i] as number);
      a0 += iv * (gx[i] as number);
      b0 += iv * (gy[i] as number);
    }
  } else {
    for (let x = x0; x <= x1; x++, X += dX, Y += dY, xt += invS) {
      const i = row + x;
      const xi = X | 0;
      const yi = Y | 0;
      const o = yi * w + xi;
      const fx = X - xi;
      const fy = Y - yi;
      const v00 = img[o] as number;
      const v10 = img[o + w] as number;
      const top = v00 + fx * ((img[o + 1] as number) - v00);
      const iv = top + fy * (v10 + fx * ((img[o + w + 1] as number) - v10) - top);
      si += iv;
      sii += iv * iv;
      sit += iv * (t[i] as number);
      const a = iv * (gx[i] as number);
      const b = iv * (gy[i] as number);
      a0 += a;
      a1 += a * xt;
      b0 += b;
      b1 += b * xt;
    }
  }
  out[0] = (out[0] as number) + si;
  out[1] = (out[1] as number) + sii;
  out[2] = (out[2] as number) + sit;
  out[3] = (out[3] as number) + a0;
  out[4] = (out[4] as number) + a1;
  out[5] = (out[5] as number) + a2;
  out[6] = (out[6] as number) + b0;
  out[7] = (out[7] as number) + b1;
  out[8] = (out[8] as number) + b2;
}

/**
 * As spanAffine for a projective warp: homogeneous position (XN, YN, ZN) + k (dX, dY, dZ), degree 2
 * moments (the homography's Jacobian).
 */
function spanProjective(
  img: Float32Array,
  t: Float32Array,
  gx: Float32Array,
  gy: Float32Array,
  w: number,
  row: number,
  x0: number,
  x1: number,
  XN: number,
  YN: number,
  ZN: number,
  dX: number,
  dY: number,
  dZ: number,
  xt: number,
  invS: number,
  out: Float64Array,
): void {
  let si = 0, sii = 0, sit = 0, a0 = 0, a1 = 0, a2 = 0, b0 = 0, b1 = 0, b2 = 0;
  for (let x = x0; x <= x1; x++, XN += dX, YN += dY, ZN += dZ, xt += invS) {
    const i = row + x;
    const iz = 1 / ZN;
    const X = XN * iz;
    const Y = YN * iz;
    const xi = X | 0;
    const yi = Y | 0;
    const o = yi * w + xi;
    const fx = X - xi;
    const fy = Y - yi;
    const v00 = img[o] as number;
    const v10 = img[o + w] as number;
    const top = v00 + fx * ((img[o + 1] as number) - v00);
    const iv = top + fy * (v10 + fx * ((img[o + w + 1] as number) - v10) - top);
    si += iv;
    sii += iv * iv;
    sit += iv * (t[i] as number);
    const a = iv * (gx[i] as number);
    const b = iv * (gy[i] as number);
    const ax = a * xt;
    const bx = b * xt;
    a0 += a;
    a1 += ax;
    a2 += ax * xt;
    b0 += b;
    b1 += bx;
    b2 += bx * xt;
  }
  out[0] = (out[0] as number) + si;
  out[1] = (out[1] as number) + sii;
  out[2] = (out[2] as number) + sit;
  out[3] = (out[3] as number) + a0;
  out[4] = (out[4] as number) + a1;
  out[5] = (out[5] as number) + a2;
  out[6] = (out[6] as number) + b0;
  out[7] = (out[7] as number) + b1;
  out[8] = (out[8] as number) + b2;
}

/** Narrows [lo, hi] (held in range[0], range[1]) to the x where c + d x >= 0, a linear constraint along a row. */
function clipLinear(range: Float64Array, c: number, d: number): void {
  if (d > 0) {
    const x = -c / d;
    if (x > (range[0] as number)) range[0] = x;
  } else if (d < 0) {
    const x = -c / d;
    if (x < (range[1] as number)) range[1] = x;
  } else if (c < 0) {
    range[0] = 1;
    range[1] = 0;
  }
}

/**
 * The checked per-pixel path for pixels x0..x1 of row y: template mask, bounds, input mask, then the
 * same sums as the spans; invalid positions go to the `bad` totals.
 */
function checkedRange(
  img: Float32Array,
  t: Float32Array,
  gx: Float32Array,
  gy: Float32Array,
  tMask: Uint8Array | null,
  iMask: Uint8Array | null,
  w: number,
  h: number,
  y: number,
  x0: number,
  x1: number,
  warp: Mat3,
  projective: boolean,
  xStart: number,
  invS: number,
  yt: number,
  deg: number,
  out: Float64Array,
  bad: Float64Array,
  bGx: Float64Array,
  bGy: Float64Array,
  bTGx: Float64Array,
  bTGy: Float64Array,
  bXX: Float64Array,
  bXY: Float64Array,
  bYY: Float64Array,
  yPow: Float64Array,
  h0: number,
): void {
  if (x1 < x0) return;
  const w0 = warp[0] as number, w3 = warp[3] as number, w6 = warp[6] as number;
  const wm1 = w - 1;
  const hm1 = h - 1;
  const row = y * w;
  let xn = w0 * x0 + (warp[1] as number) * y + (warp[2] as number);
  let yn = w3 * x0 + (warp[4] as number) * y + (warp[5] as number);
  let zn = w6 * x0 + (warp[7] as number) * y + (warp[8] as number);
  let xt = xStart + (x0 - 1) * invS;
  let si = 0, sii = 0, sit = 0, a0 = 0, a1 = 0, a2 = 0, b0 = 0, b1 = 0, b2 = 0;
  // Invalid pixels: count, sum t, sum t^2 and the x~-moments of gx, gy, t gx, t gy (folded with y~ below).
  let bn = 0, bt = 0, btt = 0, g0 = 0, g1 = 0, g2 = 0, k0 = 0, k1 = 0, k2 = 0;
  let u0 = 0, u1 = 0, u2 = 0, v0 = 0, v1 = 0, v2 = 0;
  // ... and the x~-moments (degree <= 2 deg) of gx^2, gx gy, gy^2 for the Hessian over the valid set.
  let p0 = 0, p1 = 0, p2 = 0, p3 = 0, p4 = 0, q0 = 0, q1 = 0, q2 = 0, q3 = 0, q4 = 0;
  let r0 = 0, r1 = 0, r2 = 0, r3 = 0, r4 = 0;
  for (let x = x0; x <= x1; x++, xn += w0, yn += w3, zn += w6, xt += invS) {
    const i = row + x;
    if (tMask !== null && tMask[i] === 0) continue;
    let X = xn;
    let Y = yn;
    if (projective) {
      const iz = 1 / zn;
      X *= iz;
      Y *= iz;
    }
    if (X >= 0 && Y >= 0 && X < wm1 && Y < hm1) {
      const xi = X | 0;
      const yi = Y | 0;
      const o = yi * w + xi;
      if (iMask === null || (iMask[o] !== 0 && iMask[o + 1] !== 0 && iMask[o + w] !== 0 && iMask[o + w + 1] !== 0)) {
        const fx = X - xi;
        const fy = Y - yi;
        const v00 = img[o] as number;
        const v10 = img[o + w] as number;
        const top = v00 + fx * ((img[o + 1] as number) - v00);
        const iv = top + fy * (v10 + fx * ((img[o + w + 1] as number) - v10) - top);
        si += iv;
        sii += iv * iv;
        sit += iv * (t[i] as number);
        const a = iv * (gx[i] as number);
        const b = iv * (gy[i] as number);
        const ax = a * xt;
        const bx = b * xt;
        a0 += a;
        a1 += ax;
        a2 += ax * xt;
        b0 += b;
        b1 += bx;
        b2 += bx * xt;
        continue;
      }
    }
    const tv = t[i] as number;
    const ga = gx[i] as number;
    const gb = gy[i] as number;
    const ta = tv * ga;
    const tb = tv * gb;
    const xt2 = xt * xt;
    bn++;
    bt += tv;
    btt += tv * tv;
    g0 += ga;
    g1 += ga * xt;
    g2 += ga * xt2;
    k0 += gb;
    k1 += gb * xt;
    k2 += gb * xt2;
    u0 += ta;
    u1 += ta * xt;
    u2 += ta * xt2;
    v0 += tb;
    v1 += tb * xt;
    v2 += tb * xt2;
    const xx = ga * ga;
    const xy = ga * gb;
    const yy = gb * gb;
    p0 += xx;
    q0 += xy;
    r0 += yy;
    if (deg === 0) continue;
    p1 += xx * xt;
    p2 += xx * xt2;
    q1 += xy * xt;
    q2 += xy * xt2;
    r1 += yy * xt;
    r2 += yy * xt2;
    if (deg === 1) continue;
    const xt3 = xt2 * xt;
    const xt4 = xt2 * xt2;
    p3 += xx * xt3;
    p4 += xx * xt4;
    q3 += xy * xt3;
    q4 += xy * xt4;
    r3 += yy * xt3;
    r4 += yy * xt4;
  }
  out[0] = (out[0] as number) + si;
  out[1] = (out[1] as number) + sii;
  out[2] = (out[2] as number) + sit;
  out[3] = (out[3] as number) + a0;
  out[4] = (out[4] as number) + a1;
  out[5] = (out[5] as number) + a2;
  out[6] = (out[6] as number) + b0;
  out[7] = (out[7] as number) + b1;
  out[8] = (out[8] as number) + b2;
  if (bn > 0) {
    bad[0] = (bad[0] as number) + bn;
    bad[1] = (bad[1] as number) + bt;
    bad[2] = (bad[2] as number) + btt;
    const y2 = yt * yt;
    foldRow3(bGx, g0, g1, g2, yt, y2, deg);
    foldRow3(bGy, k0, k1, k2, yt, y2, deg);
    foldRow3(bTGx, u0, u1, u2, yt, y2, deg);
    foldRow3(bTGy, v0, v1, v2, yt, y2, deg);
    foldRow5(bXX, p0, p1, p2, p3, p4, yPow, h0, y, 2 * deg);
    foldRow5(bXY, q0, q1, q2, q3, q4, yPow, h0, y, 2 * deg);
    foldRow5(bYY, r0, r1, r2, r3, r4, yPow, h0, y, 2 * deg);
  }
}

/**
 * The runs of used pixels of a template mask, row by row: row y's runs are bounds[rowStart[y]..rowStart[y + 1])
 * as pairs (first x, last x), interior pixels only (x in 1..w-2). Made once per masked template.
 */
export interface TemplateRuns {
  readonly bounds: Int32Array;
  readonly rowStart: Int32Array;
}

/** Makes room for the runs of any mask of a w x h template (at most one run per two pixels of a row). */
export function createTemplateRuns(w: number, h: number): TemplateRuns {
  return { bounds: new Int32Array(2 * h * Math.ceil(w / 2)), rowStart: new Int32Array(h + 1) };
}

/** Finds the runs of nonzero pixels of `mask` (w x h) in the interior of each row. Returns `out`. */
export function templateRunsInto(out: TemplateRuns, mask: Uint8Array, w: number, h: number): TemplateRuns {
  const { bounds, rowStart } = out;
  let k = 0;
  for (let y = 0; y < h; y++) {
    rowStart[y] = k;
    if (y === 0 || y === h - 1) continue;
    const row = y * w;
    let x = 1;
    while (x < w - 1) {
      while (x < w - 1 && mask[row + x] === 0) x++;
      if (x >= w - 1) break;
      const first = x;
      while (x < w - 1 && mask[row + x] !== 0) x++;
      bounds[k++] = first;
      bounds[k++] = x - 1;
    }
  }
  rowStart[h] = k;
  return out;
}

/** The unchecked sums of pixels x0..x1 of row y (every tap inside the input): projective, WebAssembly or JavaScript. */
function span(
  img: Float32Array,
  t: Float32Array,
  gx: Float32Array,
  gy: Float32Array,
  w: number,
  y: number,
  x0: number,
  x1: number,
  warp: Mat3,
  projective: boolean,
  xStart: number,
  invS: number,
  deg: number,
  rowSums: Float64Array,
  wasm: WasmEccPlanes | null,
): void {
  const w0 = warp[0] as number;
  const w3 = warp[3] as number;
  const row = y * w;
  const xt0 = xStart + (x0 - 1) * invS;
  const xn = w0 * x0 + (warp[1] as number) * y + (warp[2] as number);
  const yn = w3 * x0 + (warp[4] as number) * y + (warp[5] as number);
  if (projective) {
    const w6 = warp[6] as number;
    spanProjective(img, t, gx, gy, w, row, x0, x1, xn, yn, w6 * x0 + (warp[7] as number) * y + (warp[8] as number), w0, w3, w6, xt0, invS, rowSums);
  } else if (wasm !== null) {
    wasm.spanAffine(w, row, x0, x1, xn, yn, w0, w3, xt0, invS, deg, rowSums);
  } else {
    spanAffine(img, t, gx, gy, w, row, x0, x1, xn, yn, w0, w3, xt0, invS, deg, rowSums);
  }
}

/**
 * One fused pass of an iteration: warps the input through the 3x3 warp, samples it bilinearly at
 * every template pixel of the valid set, and accumulates sum i, sum i^2, sum i t (into sums[0..2]) and
 * the moments of i gx, i gy (degree <= 2). Invalid positions go to the `bad` totals.
 * Without an input mask, each row's span whose warped positions are surely inside the input is found in
 * closed form (the constraints are linear in x, the warp's denominator being positive over the
 * template) and sampled without per-pixel checks; the few pixels at its ends take the checked path.
 * A template mask splits the span into its runs of used pixels (`runs`; without them every pixel takes
 * the checked path).
 */
function accumulate(
  img: Float32Array,
  t: Float32Array,
  gx: Float32Array,
  gy: Float32Array,
  tMask: Uint8Array | null,
  iMask: Uint8Array | null,
  w: number,
  h: number,
  warp: Mat3,
  projective: boolean,
  xStart: number,
  invS: number,
  yPow: Float64Array,
  deg: number,
  rowSums: Float64Array,
  range: Float64Array,
  sums: Float64Array,
  mIGx: Float64Array,
  mIGy: Float64Array,
  bad: Float64Array,
  bGx: Float64Array,
  bGy: Float64Array,
  bTGx: Float64Array,
  bTGy: Float64Array,
  bXX: Float64Array,
  bXY: Float64Array,
  bYY: Float64Array,
  wasm: WasmEccPlanes | null,
  runs: TemplateRuns | null,
): void {
  const w0 = warp[0] as number, w1 = warp[1] as number, w2 = warp[2] as number;
  const w3 = warp[3] as number, w4 = warp[4] as number, w5 = warp[5] as number;
  const w6 = warp[6] as number, w7 = warp[7] as number, w8 = warp[8] as number;
  const wm1 = w - 1;
  const hm1 = h - 1;
  // A template mask with its runs keeps the spans (each run of used pixels is one); an input mask does not.
  const masked = iMask !== null || (tMask !== null && runs === null);
  const tRuns = tMask !== null ? runs : null;
  // Stay this far (pixels) inside the input in the unchecked spans: rounding can never step out.
  const margin = 1e-6;
  let si = 0;
  let sii = 0;
  let sit = 0;
  for (let y = 1; y < hm1; y++) {
    const yt = yPow[h + y] as number;
    rowSums.fill(0);
    let x0 = 1;
    let x1 = 0;
    if (!masked) {
      // Valid x: 0 <= X, X <= wm1, 0 <= Y, Y <= hm1, with X = xn / zn, zn > 0 (linear in x after * zn).
      const cx = w1 * y + w2;
      const cy = w4 * y + w5;
      const cz = w7 * y + w8;
      range[0] = 1;
      range[1] = wm1 - 1;
      clipLinear(range, cx - margin * cz, w0 - margin * w6);
      clipLinear(range, (wm1 - margin) * cz - cx, (wm1 - margin) * w6 - w0);
      clipLinear(range, cy - margin * cz, w3 - margin * w6);
      clipLinear(range, (hm1 - margin) * cz - cy, (hm1 - margin) * w6 - w3);
      x0 = Math.max(1, Math.ceil(range[0] as number));
      x1 = Math.min(wm1 - 1, Math.floor(range[1] as number));
    }
    if (x1 >= x0) {
      checkedRange(img, t, gx, gy, tMask, iMask, w, h, y, 1, x0 - 1, warp, projective, xStart, invS, yt, deg, rowSums, bad, bGx, bGy, bTGx, bTGy, bXX, bXY, bYY, yPow, h);
      if (tRuns === null) {
        span(img, t, gx, gy, w, y, x0, x1, warp, projective, xStart, invS, deg, rowSums, wasm);
      } else {
        // The template's runs of used pixels within the span.
        const { bounds, rowStart } = tRuns;
        for (let r = rowStart[y] as number, end = rowStart[y + 1] as number; r < end; r += 2) {
          const a = Math.max(x0, bounds[r] as number);
          const b = Math.min(x1, bounds[r + 1] as number);
          if (a <= b) span(img, t, gx, gy, w, y, a, b, warp, projective, xStart, invS, deg, rowSums, wasm);
        }
      }
      checkedRange(img, t, gx, gy, tMask, iMask, w, h, y, x1 + 1, wm1 - 1, warp, projective, xStart, invS, yt, deg, rowSums, bad, bGx, bGy, bTGx, bTGy, bXX, bXY, bYY, yPow, h);
    } else {
      checkedRange(img, t, gx, gy, tMask, iMask, w, h, y, 1, wm1 - 1, warp, projective, xStart, invS, yt, deg, rowSums, bad, bGx, bGy, bTGx, bTGy, bXX, bXY, bYY, yPow, h);
    }
    si += rowSums[0] as number;
    sii += rowSums[1] as number;
    sit += rowSums[2] as number;
    const y2 = yPow[2 * h + y] as number;
    foldRow3(mIGx, rowSums[3] as number, rowSums[4] as number, rowSums[5] as number, yt, y2, deg);
    foldRow3(mIGy, rowSums[6] as number, rowSums[7] as number, rowSums[8] as number, yt, y2, deg);
  }
  sums[0] = si;
  sums[1] = sii;
  sums[2] = sit;
}

/** Pixels of a level above which the Hessian is taken on every other row and column. */
const HESSIAN_SUBSAMPLE_ABOVE_PX = 40000;
/**
 * Pixels above which it is taken on every third row and column (still 30 000+ samples at 640x480). A
 * fine level starts within a fraction of a pixel of its optimum, so its steps are small and an error of
 * a few percent in their length moves the result by a few thousandths of a pixel.
 */
const HESSIAN_SUBSAMPLE3_ABOVE_PX = 160000;

/** Makes the workspace of one level for `model` at width x height (both at least 3). */
export function createEccWorkspace(width: number, height: number, model: MotionModel, options: EccWorkspaceOptions = {}): EccWorkspace {
  const w = width;
  const h = height;
  const n = model.paramCount;
  const jac = model.identityJacobian;
  const deg = jac.degree;
  if (deg > 2) throw new RangeError(`ECC supports Jacobians of degree <= 2, ${model.name} has ${deg}`);
  // The WebAssembly span kernel covers the affine models' degrees (0, 1); it holds copies of the
  // template planes (made when an align finds the shared region holding another template) and of the
  // moving image (once per align).
  const wasm = (options.kernel ?? 'auto') === 'auto' && deg <= 1 ? createWasmEccPlanes(width * height) : null;
  const cx = (w - 1) / 2;
  const cy = (h - 1) / 2;
  const s = Math.max(w - 1, h - 1, 1) / 2;
  const invS = 1 / s;
  const xStart = (1 - cx) * invS; // x~ of the first interior column
  // Normalised <-> pixel coordinates: xn = N x, N = [[1/s, 0, -cx/s], [0, 1/s, -cy/s], [0, 0, 1]].
  const nMat = Float64Array.of(invS, 0, -cx * invS, 0, invS, -cy * invS, 0, 0, 1);
  const nInv = Float64Array.of(s, 0, cx, 0, s, cy, 0, 0, 1);

  const gxData = new Float32Array(w * h);
  const gyData = new Float32Array(w * h);
  let tData: Float32Array = new Float32Array(0);
  let tMask: Uint8Array | null = null;
  /** The runs of the template mask (made on the first masked template). */
  let runs: TemplateRuns | null = null;
  let templateOk = false;

  // y~ powers per row, powers 0..MAX_DEG: yPow[p * h + y].
  const yPow = new Float64Array(MSTRIDE * h);
  for (let y = 0; y < h; y++) {
    const yt = (y - cy) * invS;
    let v = 1;
    for (let p = 0; p <= MAX_DEG; p++) {
      yPow[p * h + y] = v;
      v *= yt;
    }
  }

  // Template totals over its valid set.
  let nT = 0;
  let sumT = 0;
  let sumTT = 0;
  const scalars = new Float64Array(3);
  const gsFull = new Float64Array(n); // sum G_k
  const gtFull = new Float64Array(n); // sum G_k t
  const hChol0 = new Float64Array(n * n); // Cholesky factor of the centred Hessian over the template
  const hChol = new Float64Array(n * n); // ... over the valid set of the current iteration
  const tableSize = MSTRIDE * MSTRIDE;
  const mXX = new Float64Array(tableSize);
  const mXY = new Float64Array(tableSize);
  const mYY = new Float64Array(tableSize);
  const mGx = new Float64Array(tableSize);
  const mGy = new Float64Array(tableSize);
  const mTGx = new Float64Array(tableSize);
  const mTGy = new Float64Array(tableSize);
  // In the order of the WebAssembly passes' outputs.
  const gradientTables = [mGx, mGy, mTGx, mTGy];
  const hessianTables = [mXX, mXY, mYY];

  // Per-iteration scratch.
  const sums = new Float64Array(3);
  const rowSums = new Float64Array(SPAN_SUMS);
  const range = new Float64Array(2);
  const mIGx = new Float64Array(tableSize);
  const mIGy = new Float64Array(tableSize);
  const bad = new Float64Array(3);
  const bGx = new Float64Array(tableSize);
  const bGy = new Float64Array(tableSize);
  const bTGx = new Float64Array(tableSize);
  const bTGy = new Float64Array(tableSize);
  const bXX = new Float64Array(tableSize);
  const bXY = new Float64Array(tableSize);
  const bYY = new Float64Array(tableSize);
  const hXX = new Float64Array(tableSize);
  const hXY = new Float64Array(tableSize);
  const hYY = new Float64Array(tableSize);
  const gs = new Float64Array(n);
  const tp = new Float64Array(n);
  const ip = new Float64Array(n);
  const ht = new Float64Array(n);
  const hi = new Float64Array(n);
  const dp = new Float64Array(n);
  const params = new Float64Array(n);
  const mStep = new Float64Array(9);
  const mStepInv = new Float64Array(9);
  const dPix = new Float64Array(9);
  const wPrev = new Float64Array(9);
  const wBest = new Float64Array(9);
  const corners = Float64Array.of(0, 0, w - 1, 0, w - 1, h - 1, 0, h - 1);

  /** Projection (G'q)_k from the moment tables of q gx and q gy. */
  function projectInto(out: Float64Array, mx: Float64Array, my: Float64Array): void {
    for (let k = 0; k < n; k++) out[k] = polyMoment(jac.x[k] as Polynomial, mx) + polyMoment(jac.y[k] as Polynomial, my);
  }

  /**
   * Cholesky factor of the centred Hessian over the valid set, sum G G' - (sum G)(sum G)' / N, from the
   * full-set moments minus those of the invalid pixels (bXX, bXY, bYY). False when not positive definite.
   */
  function hessianInto(out: Float64Array, gsum: Float64Array, count: number): boolean {
    for (let k = 0; k < tableSize; k++) {
      hXX[k] = (mXX[k] as number) - (bXX[k] as number);
      hXY[k] = (mXY[k] as number) - (bXY[k] as number);
      hYY[k] = (mYY[k] as number) - (bYY[k] as number);
    }
    for (let k = 0; k < n; k++) {
      const jxk = jac.x[k] as Polynomial;
      const jyk = jac.y[k] as Polynomial;
      for (let l = 0; l <= k; l++) {
        const jxl = jac.x[l] as Polynomial;
        const jyl = jac.y[l] as Polynomial;
        const v =
          polyProductMoment(jxk, jxl, hXX) +
          polyProductMoment(jxk, jyl, hXY) +
          polyProductMoment(jyk, jxl, hXY) +
          polyProductMoment(jyk, jyl, hYY) -
          ((gsum[k] as number) * (gsum[l] as number)) / count;
        out[k * n + l] = v;
        out[l * n + k] = v;
      }
    }
    return choleskyInPlace(out, n);
  }

  function setTemplate(template: GrayImage, mask: Uint8Array | null): FailureReason | null {
    if (template.width !== w || template.height !== h) {
      throw new RangeError(`ECC workspace is ${w}x${h}, template is ${template.width}x${template.height}`);
    }
    templateOk = false;
    tData = template.data;
    tMask = mask;
    if (w < 3 || h < 3) return 'no-overlap';
    mGx.fill(0);
    mGy.fill(0);
    mTGx.fill(0);
    mTGy.fill(0);
    mXX.fill(0);
    mXY.fill(0);
    mYY.fill(0);
    // The template pass in WebAssembly without a mask only (a masked one in JavaScript hands its planes to
    // the span kernel below).
    const wasmTemplate = wasm !== null && mask === null ? wasm : null;
    if (wasmTemplate !== null) {
      const r = wasmTemplate.templateSums(tData, w, h, 0.5 * s, xStart, invS, cy, deg, gxData, gyData);
      scalars[0] = r[0] as number;
      scalars[1] = r[1] as number;
      scalars[2] = r[2] as number;
      for (let q = 0; q < 4; q++) {
        const m = gradientTables[q] as Float64Array;
        m[0] = r[3 + 3 * q] as number;
        m[mIndex(0, 1)] = r[4 + 3 * q] as number;
        m[mIndex(1, 0)] = r[5 + 3 * q] as number;
      }
      if (deg === 0) {
        mXX[0] = r[15] as number;
        mXY[0] = r[16] as number;
        mYY[0] = r[17] as number;
      }
    } else {
      templateSums(tData, gxData, gyData, mask, w, h, s, xStart, invS, yPow, deg, scalars, mGx, mGy, mTGx, mTGy, mXX, mXY, mYY);
      // The span kernel reads the template and its gradients from its own planes.
      wasm?.setTemplate(tData, gxData, gyData);
    }
    if (mask !== null) templateRunsInto((runs ??= createTemplateRuns(w, h)), mask, w, h);
    nT = scalars[0] as number;
    sumT = scalars[1] as number;
    sumTT = scalars[2] as number;
    if (nT < MIN_PIXELS_PER_PARAM * n) return 'no-overlap';
    const varT = sumTT / nT - (sumT / nT) ** 2;
    if (!(varT >= MIN_TEMPLATE_STD * MIN_TEMPLATE_STD)) return 'low-texture';
    projectInto(gsFull, mGx, mGy);
    projectInto(gtFull, mTGx, mTGy);
    const step = w * h > HESSIAN_SUBSAMPLE3_ABOVE_PX ? 3 : w * h > HESSIAN_SUBSAMPLE_ABOVE_PX ? 2 : 1;
    // Degree 0 without a mask: templateSums already gave the exact moments.
    const nH =
      deg === 0 && mask === null
        ? nT
        : wasmTemplate !== null
          ? wasmHessianInto(wasmTemplate.hessianMoments(w, h, xStart, invS, cy, 2 * deg, step), hessianTables)
          : hessianMoments(gxData, gyData, mask, w, h, xStart, invS, yPow, 2 * deg, step, mXX, mXY, mYY);
    if (nH === 0) return 'low-texture';
    // Full-set estimates of the Hessian moments (exact when not subsampled).
    const hScale = nT / nH;
    for (let k = 0; k < tableSize; k++) {
      mXX[k] = (mXX[k] as number) * hScale;
      mXY[k] = (mXY[k] as number) * hScale;
      mYY[k] = (mYY[k] as number) * hScale;
    }
    bXX.fill(0);
    bXY.fill(0);
    bYY.fill(0);
    if (!hessianInto(hChol0, gsFull, nT)) return 'low-texture';
    templateOk = true;
    return null;
  }

  /** Max displacement of the warped template corners between warps a and b. */
  function cornerShift(a: Mat3, b: Mat3): number {
    let m = 0;
    for (let c = 0; c < 8; c += 2) {
      const x = corners[c] as number;
      const y = corners[c + 1] as number;
      const za = 1 / ((a[6] as number) * x + (a[7] as number) * y + (a[8] as number));
      const zb = 1 / ((b[6] as number) * x + (b[7] as number) * y + (b[8] as number));
      const dx = ((a[0] as number) * x + (a[1] as number) * y + (a[2] as number)) * za - ((b[0] as number) * x + (b[1] as number) * y + (b[2] as number)) * zb;
      const dy = ((a[3] as number) * x + (a[4] as number) * y + (a[5] as number)) * za - ((b[3] as number) * x + (b[4] as number) * y + (b[5] as number)) * zb;
      const d = Math.hypot(dx, dy);
      if (!(d <= m)) m = d;
    }
    return m;
  }

  /** True when the warp keeps the template's orientation (no fold, no point at infinity over it). */
  function warpIsSane(m: Mat3): boolean {
    for (let i = 0; i < 9; i++) if (!Number.isFinite(m[i] as number)) return false;
    for (let c = 0; c < 8; c += 2) {
      const x = corners[c] as number;
      const y = corners[c + 1] as number;
      if (!((m[6] as number) * x + (m[7] as number) * y + (m[8] as number) > 0)) return false;
    }
    const det = (m[0] as number) * (m[4] as number) - (m[1] as number) * (m[3] as number);
    return det > 1e-6;
  }

  /**
   * out = from * (N^-1 M(step) N)^-1 = from * N^-1 M(step)^-1 N, projected back onto the model (so that
   * rounding never drifts out of its form). False when the result is not a usable warp.
   */
  let warpFamily: MotionModel = model;
  let warpParams = params;

  function applyStepInto(out: Mat3, from: Mat3, step: Float64Array): boolean {
    model.toMatrixInto(mStep, step);
    if (invertInto(mStepInv, mStep) === null) return false;
    multiplyInto(dPix, mStepInv, nMat);
    multiplyInto(dPix, nInv, dPix);
    multiplyInto(out, from, dPix);
    warpFamily.fromMatrixInto(warpParams, out);
    warpFamily.toMatrixInto(out, warpParams);
    return warpIsSane(out);
  }

  function align(image: GrayImage, imageMask: Uint8Array | null, warp: Mat3, criteria: EccCriteria, warpModel: MotionModel = model): EccLevelResult {
    if (image.width !== w || image.height !== h) {
      throw new RangeError(`ECC workspace is ${w}x${h}, image is ${image.width}x${image.height}`);
    }
    if (!templateOk) return { status: 'low-texture', cc: Number.NaN, iterations: 0 };
    const minValid = Math.max(MIN_PIXELS_PER_PARAM * n, MIN_OVERLAP_FRACTION * nT);
    warpFamily = warpModel;
    if (warpParams.length !== warpModel.paramCount) warpParams = new Float64Array(warpModel.paramCount);
    const projective = !warpModel.isAffine;
    // The kernel runs the unchecked spans of affine passes: none with an input mask.
    const spanKernel = wasm !== null && !projective && imageMask === null ? wasm : null;
    spanKernel?.setImage(image.data);
    let cc = Number.NaN;
    let bestCc = Number.NEGATIVE_INFINITY;
    wBest.set(warp);
    let iterations = 0;
    let status: EccLevelStatus = 'max-iterations';
    let lastShift = Number.POSITIVE_INFINITY;
    let stalls = 0;
    // The last accepted warp (wPrev) and its cc; the step taken from it is in dp.
    let prevCc = Number.NEGATIVE_INFINITY;
    let halvings = 0;

    while (iterations < criteria.maxIterations) {
      iterations++;
      mIGx.fill(0);
      mIGy.fill(0);
      bad.fill(0);
      bGx.fill(0);
      bGy.fill(0);
      bTGx.fill(0);
      bTGy.fill(0);
      bXX.fill(0);
      bXY.fill(0);
      bYY.fill(0);
      accumulate(image.data, tData, gxData, gyData, tMask, imageMask, w, h, warp, projective, xStart, invS, yPow, deg, rowSums, range, sums, mIGx, mIGy, bad, bGx, bGy, bTGx, bTGy, bXX, bXY, bYY, spanKernel, tMask === null ? null : runs);
      const nv = nT - (bad[0] as number);
      if (nv < minValid) {
        status = 'no-overlap';
        break;
      }
      const mt = (sumT - (bad[1] as number)) / nv;
      const mi = (sums[0] as number) / nv;
      const tt = sumTT - (bad[2] as number) - nv * mt * mt;
      const ii = (sums[1] as number) - nv * mi * mi;
      const it = (sums[2] as number) - nv * mi * mt;
      // The warped input must carry texture too (a flat frame: a fade, a lens cap). Testing its
      // variance against the template's floor, rather than cc for NaN, keeps a flat input a failure
      // when rounding leaves its variance a hair above zero (the float32 kernels' sums).
      if (!(ii >= nv * MIN_TEMPLATE_STD * MIN_TEMPLATE_STD)) {
        status = Number.isNaN(ii) ? 'nan' : 'low-texture';
        break;
      }
      cc = it / Math.sqrt(ii * tt);
      if (Number.isNaN(cc)) {
        status = 'nan';
        break;
      }
      if (cc > bestCc) {
        bestCc = cc;
        wBest.set(warp);
      }
      // A step that lowered cc overshot (far from the optimum, or pixels entering and leaving the
      // valid set made cc non-smooth): retry half of it from the last accepted warp.
      if (cc < prevCc - CC_DROP_TOLERANCE * (1 - prevCc)) {
        if (halvings < MAX_STEP_HALVINGS) {
          halvings++;
          for (let k = 0; k < n; k++) dp[k] = 0.5 * (dp[k] as number);
          if (applyStepInto(warp, wPrev, dp) && cornerShift(warp, wPrev) >= criteria.epsilonPx) continue;
        }
        // No better warp along the step: stay at the accepted one.
        warp.set(wPrev);
        cc = prevCc;
        status = 'converged';
        break;
      }
      halvings = 0;
      prevCc = cc;
      // Projections over the valid set, centred: G'(q - mean q) = G'q - mean(q) * sum G.
      projectInto(gs, bGx, bGy);
      for (let k = 0; k < n; k++) gs[k] = (gsFull[k] as number) - (gs[k] as number);
      projectInto(tp, bTGx, bTGy);
      for (let k = 0; k < n; k++) tp[k] = (gtFull[k] as number) - (tp[k] as number) - mt * (gs[k] as number);
      projectInto(ip, mIGx, mIGy);
      for (let k = 0; k < n; k++) ip[k] = (ip[k] as number) - mi * (gs[k] as number);
      // The Hessian of this iteration's valid set; the template's whole one when nothing was cut.
      const chol = (bad[0] as number) > 0 && hessianInto(hChol, gs, nv) ? hChol : hChol0;
      choleskySolveInto(ht, chol, n, tp);
      choleskySolveInto(hi, chol, n, ip);
      const tPt = dot(tp, ht, n);
      const iPt = dot(ip, ht, n);
      const iPi = dot(ip, hi, n);
      const lambdaDen = it - iPt;
      const lambda = lambdaDen > 0 ? (tt - tPt) / lambdaDen : Math.max(Math.sqrt(tPt / iPi), (iPt - it) / iPi);
      let finite = true;
      for (let k = 0; k < n; k++) {
        const v = lambda * (hi[k] as number) - (ht[k] as number);
        dp[k] = v;
        if (!Number.isFinite(v)) finite = false;
      }
      if (!finite) {
        status = 'nan';
        break;
      }
      wPrev.set(warp);
      if (!applyStepInto(warp, wPrev, dp)) {
        // A step that folds the warp or sends the template to infinity: shorten it, or give up.
        while (halvings < MAX_STEP_HALVINGS) {
          halvings++;
          for (let k = 0; k < n; k++) dp[k] = 0.5 * (dp[k] as number);
          if (applyStepInto(warp, wPrev, dp)) break;
        }
        if (halvings >= MAX_STEP_HALVINGS && !warpIsSane(warp)) {
          warp.set(wPrev);
          status = 'diverged';
          break;
        }
      }
      const shift = cornerShift(warp, wPrev);
      if (shift < criteria.epsilonPx) {
        status = 'converged';
        break;
      }
      // A step that stops shrinking while already small is a limit cycle: pixels entering and leaving
      // the valid set at the input's border make cc slightly non-smooth, and the estimate hops between
      // two states a fraction of a pixel apart. The best of them is kept.
      stalls = shift > STALL_RATIO * lastShift && shift < STALL_MAX_PX ? stalls + 1 : 0;
      lastShift = shift;
      if (stalls >= STALL_ITERATIONS) {
        status = 'converged';
        if (cc < bestCc) {
          warp.set(wBest);
          cc = bestCc;
        }
        break;
      }
    }
    // If iterating ran out while cc was falling, keep the best warp seen.
    if (status === 'max-iterations' && cc < bestCc) {
      warp.set(wBest);
      cc = bestCc;
    }
    return { status, cc, iterations };
  }

  return { width, height, model, setTemplate, align };
}
