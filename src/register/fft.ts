/**
 * Radix-2 complex fast Fourier transform, 1-D and 2-D, for power-of-two sizes.
 *
 * What it computes: the discrete Fourier transform X[k] = sum_n x[n] exp(-2 pi i k n / N) (forward) and
 * its inverse x[n] = (1/N) sum_k X[k] exp(+2 pi i k n / N), so that inverse(forward(x)) = x. In 2-D both
 * axes are transformed, the inverse is scaled by 1/(width * height).
 *
 * Conventions: real and imaginary parts live in two separate Float64Arrays (split format); a 2-D array is
 * row-major, i = y * width + x, like GrayImage. Everything is in place; all tables (twiddle factors,
 * bit-reversal permutation) live in a plan made once per size, so a transform allocates nothing.
 *
 * Reference: Cooley & Tukey (1965), iterative decimation-in-time with bit-reversed input order
 * (e.g. Press et al., Numerical Recipes, section 12.2). The column pass of the 2-D transform runs the
 * same butterflies on whole rows at a time, which keeps memory access sequential (no transposition).
 */

/** Tables for complex FFTs of one power-of-two length. Make once with `createFftPlan`, reuse. */
export interface FftPlan {
  /** Transform length N (a power of two, >= 1). */
  readonly size: number;
  /** cos(2 pi k / N) for k = 0 .. N/2 - 1. */
  readonly cos: Float64Array;
  /** sin(2 pi k / N) for k = 0 .. N/2 - 1. */
  readonly sin: Float64Array;
  /** Bit-reversed index of each index 0 .. N - 1. */
  readonly bitReverse: Uint32Array;
}

/** Tables for 2-D FFTs of one width x height (both powers of two). */
export interface Fft2dPlan {
  readonly width: number;
  readonly height: number;
  /** Plan along x (length `width`). */
  readonly rows: FftPlan;
  /** Plan along y (length `height`). */
  readonly columns: FftPlan;
}

/** True when n is a positive integer power of two (1, 2, 4, ...). */
export function isPowerOfTwo(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && (n & (n - 1)) === 0 && n <= 0x40000000;
}

/** The largest power of two <= n (n >= 1). */
export function floorPowerOfTwo(n: number): number {
  let p = 1;
  while (p * 2 <= n) p *= 2;
  return p;
}

/**
 * Makes the tables for complex FFTs of length `size`.
 * @param size transform length, a power of two (1 .. 2^30)
 * @throws RangeError when `size` is not a power of two
 */
export function createFftPlan(size: number): FftPlan {
  if (!isPowerOfTwo(size)) throw new RangeError(`Expected a power of two for the FFT size but received ${size}`);
  const half = size >> 1;
  const cos = new Float64Array(Math.max(half, 1));
  const sin = new Float64Array(Math.max(half, 1));
  for (let k = 0; k < half; k++) {
    // Computed directly (not by recurrence) so every twiddle is accurate to the last bit.
    const a = (2 * Math.PI * k) / size;
    cos[k] = Math.cos(a);
    sin[k] = Math.sin(a);
  }
  const bitReverse = new Uint32Array(size);
  let bits = 0;
  while (1 << bits < size) bits++;
  for (let i = 0; i < size; i++) {
    let r = 0;
    for (let b = 0, v = i; b < bits; b++, v >>= 1) r = (r << 1) | (v & 1);
    bitReverse[i] = r;
  }
  return { size, cos, sin, bitReverse };
}

/** Makes the tables for 2-D FFTs of `width` x `height` (both powers of two). */
export function createFft2dPlan(width: number, height: number): Fft2dPlan {
  const rows = createFftPlan(width);
  const columns = height === width ? rows : createFftPlan(height);
  return { width, height, rows, columns };
}

/**
 * In-place 1-D FFT of the `plan.size` complex samples re[offset ..], im[offset ..].
 * @param inverse false: forward transform (exp(-i...)); true: inverse, scaled by 1/N
 * @param offset index of the first sample
 * @returns nothing; re and im hold the transform
 */
export function fftInPlace(plan: FftPlan, re: Float64Array, im: Float64Array, inverse = false, offset = 0): void {
  const n = plan.size;
  const rev = plan.bitReverse;
  for (let i = 0; i < n; i++) {
    const j = rev[i] as number;
    if (j > i) {
      const a = offset + i;
      const b = offset + j;
      const tr = re[a] as number;
      re[a] = re[b] as number;
      re[b] = tr;
      const ti = im[a] as number;
      im[a] = im[b] as number;
      im[b] = ti;
    }
  }
  const cosT = plan.cos;
  const sinT = plan.sin;
  // Forward uses w = exp(-2 pi i k / N) = cos - i sin; inverse the conjugate.
  const sgn = inverse ? 1 : -1;
  for (let len = 2; len <= n; len <<= 1) {
    const half = len >> 1;
    const step = n / len;
    for (let j = 0; j < half; j++) {
      const wr = cosT[j * step] as number;
      const wi = sgn * (sinT[j * step] as number);
      for (let i = offset + j; i < offset + n; i += len) {
        const b = i + half;
        const br = re[b] as number;
        const bi = im[b] as number;
        const tr = wr * br - wi * bi;
        const ti = wr * bi + wi * br;
        const ar = re[i] as number;
        const ai = im[i] as number;
        re[b] = ar - tr;
        im[b] = ai - ti;
        re[i] = ar + tr;
        im[i] = ai + ti;
      }
    }
  }
  if (inverse) {
    const s = 1 / n;
    for (let i = offset; i < offset + n; i++) {
      re[i] = (re[i] as number) * s;
      im[i] = (im[i] as number) * s;
    }
  }
}

/**
 * In-place 2-D FFT of a row-major width x height complex array (re, im of length width * height).
 * @param inverse false: forward; true: inverse, scaled by 1/(width * height)
 */
export function fft2dInPlace(plan: Fft2dPlan, re: Float64Array, im: Float64Array, inverse = false): void {
  const { width, height } = plan;
  for (let y = 0; y < height; y++) fftInPlace(plan.rows, re, im, inverse, y * width);
  fftColumnsInPlace(plan.columns, width, re, im, inverse);
}

/**
 * Transforms every column of a row-major array with `height = plan.size` rows of `width` samples.
 * The butterflies act on whole rows so the inner loop walks memory sequentially.
 */
function fftColumnsInPlace(plan: FftPlan, width: number, re: Float64Array, im: Float64Array, inverse: boolean): void {
  const n = plan.size;
  const rev = plan.bitReverse;
  for (let i = 0; i < n; i++) {
    const j = rev[i] as number;
    if (j > i) {
      const a0 = i * width;
      const b0 = j * width;
      for (let x = 0; x < width; x++) {
        const tr = re[a0 + x] as number;
        re[a0 + x] = re[b0 + x] as number;
        re[b0 + x] = tr;
        const ti = im[a0 + x] as number;
        im[a0 + x] = im[b0 + x] as number;
        im[b0 + x] = ti;
      }
    }
  }
  const cosT = plan.cos;
  const sinT = plan.sin;
  const sgn = inverse ? 1 : -1;
  for (let len = 2; len <= n; len <<= 1) {
    const half = len >> 1;
    const step = n / len;
    for (let j = 0; j < half; j++) {
      const wr = cosT[j * step] as number;
      const wi = sgn * (sinT[j * step] as number);
      for (let i = j; i < n; i += len) {
        const a0 = i * width;
        const b0 = (i + half) * width;
        for (let x = 0; x < width; x++) {
          const a = a0 + x;
          const b = b0 + x;
          const br = re[b] as number;
          const bi = im[b] as number;
          const tr = wr * br - wi * bi;
          const ti = wr * bi + wi * br;
          const ar = re[a] as number;
          const ai = im[a] as number;
          re[b] = ar - tr;
          im[b] = ai - ti;
          re[a] = ar + tr;
          im[a] = ai + ti;
        }
      }
    }
  }
  if (inverse) {
    const s = 1 / n;
    const total = n * width;
    for (let i = 0; i < total; i++) {
      re[i] = (re[i] as number) * s;
      im[i] = (im[i] as number) * s;
    }
  }
}
