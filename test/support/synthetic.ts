/**
 * Seeded synthetic material for tests: a small PRNG, a textured "natural-looking" gray image generator,
 * image sampling through a known matrix (bilinear or bicubic, mirrored border), and registration pairs
 * made like ../shared/anchors/gen_cases.py does: `fixed` is the centre of a larger canvas, `moving` is the
 * canvas seen through W^-1, so W (fixed -> moving pixel coordinates) is the ground truth.
 */
import { createGrayImage, type GrayImage } from '../../src/image/gray-image.js';
import { invertInto, type Mat3, multiplyInto } from '../../src/motion/mat3.js';
import { mulberry32 } from './rng.js';

/** A seeded pseudo-random generator (mulberry32): deterministic across runs and platforms. */
export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform in [a, b). */
  uniform(a: number, b: number): number;
  /** Integer in [0, n). */
  int(n: number): number;
  /** Standard normal (Box-Muller). */
  normal(): number;
  /** -1 or +1 with equal odds. */
  sign(): number;
}

/** Makes a seeded generator. */
export function createRng(seed: number): Rng {
  const next = mulberry32(seed);
  return {
    next,
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    int: (n) => Math.floor(next() * n),
    normal: () => {
      const u = Math.max(next(), 1e-300);
      return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * next());
    },
    sign: () => (next() < 0.5 ? -1 : 1),
  };
}

/** Options of `makeTexturedImage`. */
export interface TextureOptions {
  /** Largest feature size in pixels (the first noise octave's cell). @default 64 */
  readonly cellPx?: number;
  /** Number of value-noise octaves (each half the cell, 0.6x the amplitude). @default 5 */
  readonly octaves?: number;
  /** Number of random filled ellipses and rectangles (sharp edges). @default 40 */
  readonly shapes?: number;
  /**
   * Sigma (px) of a final Gaussian smoothing that band-limits the image, so that resampling it
   * through a warp does not alias (which would make the true warp differ from the best one). 0 = none.
   * @default 1
   */
  readonly smoothPx?: number;
}

/** Separable Gaussian smoothing with a clamped border (a plain version, independent of src/). */
function smoothInPlace(a: Float64Array, width: number, height: number, sigma: number): void {
  const r = Math.ceil(3 * sigma);
  const k: number[] = [];
  let sum = 0;
  for (let i = -r; i <= r; i++) {
    const v = Math.exp((-i * i) / (2 * sigma * sigma));
    k.push(v);
    sum += v;
  }
  for (let i = 0; i < k.length; i++) k[i] = (k[i] as number) / sum;
  const tmp = new Float64Array(a.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let i = -r; i <= r; i++) s += (k[i + r] as number) * (a[y * width + Math.min(width - 1, Math.max(0, x + i))] as number);
      tmp[y * width + x] = s;
    }
  }
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let s = 0;
      for (let i = -r; i <= r; i++) s += (k[i + r] as number) * (tmp[Math.min(height - 1, Math.max(0, y + i)) * width + x] as number);
      a[y * width + x] = s;
    }
  }
}

function smooth(t: number): number {
  return t * t * (3 - 2 * t);
}

/**
 * A textured gray image with structure at many scales, like a photograph: value noise over several
 * octaves plus random shapes with sharp edges, stretched to about 20..235 gray levels.
 */
export function makeTexturedImage(width: number, height: number, rng: Rng, options: TextureOptions = {}): GrayImage {
  const cell0 = options.cellPx ?? 64;
  const octaves = options.octaves ?? 5;
  const shapes = options.shapes ?? 40;
  const acc = new Float64Array(width * height);
  let amp = 1;
  let cell = cell0;
  for (let o = 0; o < octaves; o++) {
    const gw = Math.ceil(width / cell) + 2;
    const gh = Math.ceil(height / cell) + 2;
    const grid = new Float64Array(gw * gh);
    for (let i = 0; i < grid.length; i++) grid[i] = rng.next() * 2 - 1;
    const ox = rng.next() * cell;
    const oy = rng.next() * cell;
    for (let y = 0; y < height; y++) {
      const gy = (y + oy) / cell;
      const iy = Math.floor(gy);
      const fy = smooth(gy - iy);
      for (let x = 0; x < width; x++) {
        const gx = (x + ox) / cell;
        const ix = Math.floor(gx);
        const fx = smooth(gx - ix);
        const v00 = grid[iy * gw + ix] as number;
        const v01 = grid[iy * gw + ix + 1] as number;
        const v10 = grid[(iy + 1) * gw + ix] as number;
        const v11 = grid[(iy + 1) * gw + ix + 1] as number;
        const top = v00 + fx * (v01 - v00);
        const bot = v10 + fx * (v11 - v10);
        acc[y * width + x] = (acc[y * width + x] as number) + amp * (top + fy * (bot - top));
      }
    }
    amp *= 0.6;
    cell = Math.max(2, cell / 2);
  }
  for (let s = 0; s < shapes; s++) {
    const cx = rng.uniform(0, width);
    const cy = rng.uniform(0, height);
    const rx = rng.uniform(3, Math.max(4, width / 8));
    const ry = rng.uniform(3, Math.max(4, height / 8));
    const v = rng.uniform(-1.2, 1.2);
    const ellipse = rng.next() < 0.5;
    const x0 = Math.max(0, Math.floor(cx - rx));
    const x1 = Math.min(width - 1, Math.ceil(cx + rx));
    const y0 = Math.max(0, Math.floor(cy - ry));
    const y1 = Math.min(height - 1, Math.ceil(cy + ry));
    for (let y = y0; y <= y1; y++) {
      for (let x = x0; x <= x1; x++) {
        const dx = (x - cx) / rx;
        const dy = (y - cy) / ry;
        if (!ellipse || dx * dx + dy * dy <= 1) acc[y * width + x] = v;
      }
    }
  }
  const smoothPx = options.smoothPx ?? 1;
  if (smoothPx > 0) smoothInPlace(acc, width, height, smoothPx);
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (const v of acc) {
    lo = Math.min(lo, v);
    hi = Math.max(hi, v);
  }
  const img = createGrayImage(width, height);
  const k = 215 / (hi - lo || 1);
  for (let i = 0; i < acc.length; i++) img.data[i] = 20 + ((acc[i] as number) - lo) * k;
  return img;
}

/** Mirrors i into [0, n) (reflect-101). */
function mirror(i: number, n: number): number {
  if (n === 1) return 0;
  const p = 2 * n - 2;
  i %= p;
  if (i < 0) i += p;
  return i < n ? i : p - i;
}

function cubic(t: number): number {
  // Keys' kernel, a = -0.5.
  const a = Math.abs(t);
  if (a < 1) return 1.5 * a * a * a - 2.5 * a * a + 1;
  if (a < 2) return -0.5 * a * a * a + 2.5 * a * a - 4 * a + 2;
  return 0;
}

/** The value of `src` at real position (x, y), bilinear or bicubic, with a mirrored border. */
export function sampleAt(src: GrayImage, x: number, y: number, interpolation: 'bilinear' | 'bicubic' = 'bicubic'): number {
  const { width: w, height: h, data } = src;
  const ix = Math.floor(x);
  const iy = Math.floor(y);
  const fx = x - ix;
  const fy = y - iy;
  if (interpolation === 'bilinear') {
    const v00 = data[mirror(iy, h) * w + mirror(ix, w)] as number;
    const v01 = data[mirror(iy, h) * w + mirror(ix + 1, w)] as number;
    const v10 = data[mirror(iy + 1, h) * w + mirror(ix, w)] as number;
    const v11 = data[mirror(iy + 1, h) * w + mirror(ix + 1, w)] as number;
    return (1 - fy) * ((1 - fx) * v00 + fx * v01) + fy * ((1 - fx) * v10 + fx * v11);
  }
  let s = 0;
  for (let j = -1; j <= 2; j++) {
    const wy = cubic(j - fy);
    const row = mirror(iy + j, h) * w;
    for (let i = -1; i <= 2; i++) s += wy * cubic(i - fx) * (data[row + mirror(ix + i, w)] as number);
  }
  return s;
}

/** out(x, y) = src(M (x, y)): samples `src` through the 3x3 matrix M (out pixel -> src pixel). */
export function sampleThrough(src: GrayImage, m: Mat3, width: number, height: number, interpolation: 'bilinear' | 'bicubic' = 'bicubic'): GrayImage {
  const out = createGrayImage(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const z = (m[6] as number) * x + (m[7] as number) * y + (m[8] as number);
      const u = ((m[0] as number) * x + (m[1] as number) * y + (m[2] as number)) / z;
      const v = ((m[3] as number) * x + (m[4] as number) * y + (m[5] as number)) / z;
      out.data[y * width + x] = sampleAt(src, u, v, interpolation);
    }
  }
  return out;
}

/** Options of `makePair`. */
export interface PairOptions {
  /** Size of fixed and moving. */
  readonly width: number;
  readonly height: number;
  /** Extra canvas around fixed on each side (pixels), so moving sees real content past fixed's edges. @default 32 */
  readonly marginPx?: number;
  /** Gain and bias applied to moving (ECC must not care). @default 1, 0 */
  readonly gain?: number;
  readonly bias?: number;
  /** Gaussian noise sigma (gray levels) added to both. @default 0 */
  readonly noiseSigma?: number;
  /** Size of moving when it differs from fixed (the true W then maps into it): @default width x height */
  readonly movingWidth?: number;
  readonly movingHeight?: number;
}

/**
 * A registration pair with ground truth W (fixed -> moving pixel coordinates): a textured canvas
 * (made from `rng`) of (width + 2 margin) x (height + 2 margin); fixed = its centre; moving(y) =
 * canvas(T W^-1 y) with T the offset of fixed in the canvas, so fixed(x) = moving(W x).
 */
export function makePair(rng: Rng, w: Mat3, options: PairOptions): { fixed: GrayImage; moving: GrayImage; canvas: GrayImage } {
  const margin = options.marginPx ?? 32;
  const cw = options.width + 2 * margin;
  const ch = options.height + 2 * margin;
  const canvas = makeTexturedImage(cw, ch, rng);
  return pairFromCanvas(canvas, w, options, rng);
}

/** As `makePair`, from a given canvas (its centre region becomes fixed). */
export function pairFromCanvas(canvas: GrayImage, w: Mat3, options: PairOptions, rng?: Rng): { fixed: GrayImage; moving: GrayImage; canvas: GrayImage } {
  const ox = Math.floor((canvas.width - options.width) / 2);
  const oy = Math.floor((canvas.height - options.height) / 2);
  const t = Float64Array.of(1, 0, ox, 0, 1, oy, 0, 0, 1);
  const fixed = sampleThrough(canvas, t, options.width, options.height);
  const wInv = new Float64Array(9);
  if (invertInto(wInv, w) === null) throw new RangeError('makePair: singular W');
  const m = multiplyInto(new Float64Array(9), t, wInv);
  const moving = sampleThrough(canvas, m, options.movingWidth ?? options.width, options.movingHeight ?? options.height);
  const gain = options.gain ?? 1;
  const bias = options.bias ?? 0;
  const sigma = options.noiseSigma ?? 0;
  for (let i = 0; i < moving.data.length; i++) {
    moving.data[i] = gain * (moving.data[i] as number) + bias + (sigma > 0 && rng ? sigma * rng.normal() : 0);
  }
  if (sigma > 0 && rng) for (let i = 0; i < fixed.data.length; i++) fixed.data[i] = (fixed.data[i] as number) + sigma * rng.normal();
  return { fixed, moving, canvas };
}

/** Mean distance (pixels) between the four corners of a width x height image mapped by a and by b. */
export function meanCornerError(a: Mat3, b: Mat3, width: number, height: number): number {
  const pts = [0, 0, width - 1, 0, width - 1, height - 1, 0, height - 1];
  let s = 0;
  for (let c = 0; c < 8; c += 2) {
    const x = pts[c] as number;
    const y = pts[c + 1] as number;
    const za = (a[6] as number) * x + (a[7] as number) * y + (a[8] as number);
    const zb = (b[6] as number) * x + (b[7] as number) * y + (b[8] as number);
    const dx = ((a[0] as number) * x + (a[1] as number) * y + (a[2] as number)) / za - ((b[0] as number) * x + (b[1] as number) * y + (b[2] as number)) / zb;
    const dy = ((a[3] as number) * x + (a[4] as number) * y + (a[5] as number)) / za - ((b[3] as number) * x + (b[4] as number) * y + (b[5] as number)) / zb;
    s += Math.hypot(dx, dy);
  }
  return s / 4;
}

/**
 * A warp about the image centre c like gen_cases.py draws them: y = c + A (x - c) + t with
 * A = R(angle) diag(s (1 + aniso), s (1 - aniso)) [[1, shear], [0, 1]], then (homography) the four
 * corners moved by `cornerShiftPx` in random directions.
 */
export function centredWarp(
  width: number,
  height: number,
  p: { tx?: number; ty?: number; angleDeg?: number; scale?: number; aniso?: number; shear?: number },
): Mat3 {
  const th = ((p.angleDeg ?? 0) * Math.PI) / 180;
  const s = p.scale ?? 1;
  const an = p.aniso ?? 0;
  const sh = p.shear ?? 0;
  const c = Math.cos(th);
  const si = Math.sin(th);
  const sx = s * (1 + an);
  const sy = s * (1 - an);
  // R * diag(sx, sy) * [[1, sh], [0, 1]]
  const a00 = c * sx;
  const a01 = c * sx * sh - si * sy;
  const a10 = si * sx;
  const a11 = si * sx * sh + c * sy;
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  const tx = (p.tx ?? 0) + cx - (a00 * cx + a01 * cy);
  const ty = (p.ty ?? 0) + cy - (a10 * cx + a11 * cy);
  return Float64Array.of(a00, a01, tx, a10, a11, ty, 0, 0, 1);
}

/** The homography mapping the 4 points src[0..7] (x, y pairs) to dst[0..7], with h22 = 1 (DLT, exact). */
export function homographyFromPoints(src: readonly number[], dst: readonly number[]): Mat3 {
  // 8x8 linear system A h = b.
  const a: number[][] = [];
  const b: number[] = [];
  for (let k = 0; k < 4; k++) {
    const x = src[2 * k] as number;
    const y = src[2 * k + 1] as number;
    const u = dst[2 * k] as number;
    const v = dst[2 * k + 1] as number;
    a.push([x, y, 1, 0, 0, 0, -u * x, -u * y]);
    b.push(u);
    a.push([0, 0, 0, x, y, 1, -v * x, -v * y]);
    b.push(v);
  }
  // Gaussian elimination with partial pivoting.
  for (let c = 0; c < 8; c++) {
    let p = c;
    for (let r = c + 1; r < 8; r++) if (Math.abs((a[r] as number[])[c] as number) > Math.abs((a[p] as number[])[c] as number)) p = r;
    [a[c], a[p]] = [a[p] as number[], a[c] as number[]];
    [b[c], b[p]] = [b[p] as number, b[c] as number];
    const rc = a[c] as number[];
    for (let r = c + 1; r < 8; r++) {
      const rr = a[r] as number[];
      const f = (rr[c] as number) / (rc[c] as number);
      for (let k = c; k < 8; k++) rr[k] = (rr[k] as number) - f * (rc[k] as number);
      b[r] = (b[r] as number) - f * (b[c] as number);
    }
  }
  const h = new Array<number>(8).fill(0);
  for (let r = 7; r >= 0; r--) {
    let s = b[r] as number;
    const rr = a[r] as number[];
    for (let k = r + 1; k < 8; k++) s -= (rr[k] as number) * (h[k] as number);
    h[r] = s / (rr[r] as number);
  }
  return Float64Array.of(h[0] as number, h[1] as number, h[2] as number, h[3] as number, h[4] as number, h[5] as number, h[6] as number, h[7] as number, 1);
}

/** `w` followed by moving the four mapped corners of a width x height image by the given offsets. */
export function perturbCorners(w: Mat3, width: number, height: number, offsets: readonly number[]): Mat3 {
  const src = [0, 0, width - 1, 0, width - 1, height - 1, 0, height - 1];
  const dst: number[] = [];
  for (let k = 0; k < 4; k++) {
    const x = src[2 * k] as number;
    const y = src[2 * k + 1] as number;
    const z = (w[6] as number) * x + (w[7] as number) * y + (w[8] as number);
    dst.push(((w[0] as number) * x + (w[1] as number) * y + (w[2] as number)) / z + (offsets[2 * k] as number));
    dst.push(((w[3] as number) * x + (w[4] as number) * y + (w[5] as number)) / z + (offsets[2 * k + 1] as number));
  }
  return homographyFromPoints(src, dst);
}
