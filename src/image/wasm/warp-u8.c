/*
 * The interior spans of the 8-bit affine bilinear plane warp (src/image/warp.ts, warpPlaneU8Into),
 * in WebAssembly with 128-bit SIMD: for every output row y, every pixel x in the row's interior span
 * [lo, hi] (all four bilinear taps inside the source; the spans and all other pixels are settled by
 * warp.ts) gets
 *
 *   out(x, y) = (top * 2048 + (bot - top) * fy + 2^21) >> 22
 *   top = p00 * 2048 + (p01 - p00) * fx,  bot = p10 * 2048 + (p11 - p10) * fx
 *
 * with the same integers as the JavaScript kernels (bilinearSpanFixed, bilinearSpanUnitStep), so the
 * bytes are identical. The conventions shared with warp.ts:
 * - the source position of x is (bx + m0 x, by + m3 x), bx = m1 y + m2, by = m4 y + m5, in doubles;
 * - positions are 16.16 fixed point, stepped by the integers dX, dY (Math.round(m0 * 2^16) and
 *   Math.round(m3 * 2^16), passed in by warp.ts because C's round() rounds halves differently), and
 *   re-anchored every STEP_BLOCK = 32 pixels counted from lo on trunc((bx + m0 x0) * 2^16): the
 *   product is formed in double precision exactly as in JavaScript (no fused multiply-add exists in
 *   this target; the build passes -ffp-contract=off all the same), and the truncation is JavaScript's
 *   `| 0` because interior positions are positive and below 2^14;
 * - weights are the top 11 bits of the 16-bit fraction (1/2048 px), truncated;
 * - the source and output planes are tightly packed, i = y * width + x.
 * `top` is written p00 (2048 - fx) + p01 fx, the same integer, so that one i32x4.dot_i16x8_s forms
 * four of them from the interleaved tap pairs; every intermediate stays below 2^31.
 *
 * Sixteen pixels per step, as four i32x4 vectors of four, by one of three paths:
 * - unit steps (dX = 2^16, dY = 0: translations) read the rows contiguously (block_unit);
 * - the window path (block_window), every whole block when 0 <= dX <= 2 px, i.e. any zoom in and a
 *   zoom out to half size, mirrors aside: the left taps of eight consecutive pixels then lie within
 *   14 columns of the first one's, so the taps of pixels 0..7 and 8..15 of a group come from two
 *   16-byte loads of each source row, at the columns of pixels 0 and 8, and one i8x16.swizzle per
 *   row and four pixels puts them directly in the zero-extended (p00, p01) pairs that
 *   i32x4.dot_i16x8_s takes. The per-pixel quantities are the block's anchor plus per-lane offsets
 *   set once per plane (see Steps). A group whose pixels cross one source row takes each pixel's
 *   pair of rows from three windows by a lane mask; one crossing two or more rows goes by pixels16;
 * - otherwise (other steps, and the last, partial block of a span) pixels16: where the sixteen
 *   pixels' left taps lie within 16 columns and on at most two consecutive source rows, 16-byte loads
 *   of those rows and i8x16.swizzle by each pixel's column in the window, else scalar 16-bit loads
 *   (a row's two taps are adjacent bytes) into vector lanes, since wasm has no gather. In the last
 *   group of a block, lanes past the end repeat the last pixel (their taps stay inside) and only the
 *   block's bytes are stored.
 * Vector loads may read up to 16 bytes past the source plane's last byte, so the caller
 * (src/image/wasm-warp.ts, which owns the memory from __heap_base) leaves padding there.
 *
 * The window path is shaped by how the engine (V8) compiles it, since its vector instructions set
 * the pace: per-plane vectors are loaded from memory rather than rebuilt, per-block and per-group
 * scalars reach all four lanes by a store and a broadcast load (v128.load32_splat) rather than by
 * i32x4.splat (two shuffles), the final rounding is i16x8.avgr_u, and vertical fractions of groups
 * that stay on one source row come from a table instead of a shift per quad.
 *
 * Rebuild (clang-14 and lld-14): scripts/build-wasm.sh, which also regenerates
 * src/image/wasm/warp-u8-module.ts.
 */
#include <stdint.h>
#include <wasm_simd128.h>

#define INLINE static inline __attribute__((always_inline))

#define FRAC_BITS 11
#define FRAC_ONE (1 << FRAC_BITS)
#define FRAC_MASK (FRAC_ONE - 1)
#define COORD_BITS 16
#define COORD_ONE 65536.0
#define ROUND_HALF (1 << (2 * FRAC_BITS - 1))
#define STEP_BLOCK 32

/* The 16.16 anchor of a block: JavaScript's ((b + m * x0) * 65536) | 0 for in-range positions. */
INLINE int32_t anchor(double b, double m, int32_t x0) {
  /* Through int64: the engine's saturating f64 -> i64 conversion is a few instructions shorter than its
     f64 -> i32 one, and the value is the same for positions below 2^31. */
  return (int32_t)(int64_t)((b + m * (double)x0) * COORD_ONE);
}

/* (y >> 5) & 2047: the 1/2048 px fraction of four 16.16 coordinates, i32 lanes. */
INLINE v128_t frac4(v128_t v) {
  return wasm_v128_and(wasm_u32x4_shr(v, COORD_BITS - FRAC_BITS), wasm_i32x4_splat(FRAC_MASK));
}

/*
 * The horizontal weights of eight pixels as i16 pairs (2048 - fx, fx), pixels 0..3 in *w0 and 4..7
 * in *w1, from their 16.16 x coordinates X0 (pixels 0..3) and X1 (4..7): the fractions are the low
 * 16 bits of each coordinate, so they are narrowed to i16 lanes first and the weights formed eight
 * at a time.
 */
INLINE void weights8(v128_t X0, v128_t X1, v128_t *w0, v128_t *w1) {
  const v128_t low = wasm_i32x4_splat(0xffff);
  const v128_t f = wasm_u16x8_shr(wasm_u16x8_narrow_i32x4(wasm_v128_and(X0, low), wasm_v128_and(X1, low)),
                                  COORD_BITS - FRAC_BITS);
  const v128_t g = wasm_i16x8_sub(wasm_i16x8_splat(FRAC_ONE), f);
  *w0 = wasm_i16x8_shuffle(g, f, 0, 8, 1, 9, 2, 10, 3, 11);
  *w1 = wasm_i16x8_shuffle(g, f, 4, 12, 5, 13, 6, 14, 7, 15);
}

/*
 * Four output values from their tap pairs (i16 lanes p00 p01 per pixel in top8, p10 p11 in bot8),
 * horizontal weight pairs w and vertical fractions fy (i32 lanes): top and bot are each one
 * i32x4.dot_i16x8_s, then (top * 2048 + (bot - top) * fy + 2^21) >> 22.
 */
INLINE v128_t blend4(v128_t top8, v128_t bot8, v128_t w, v128_t fy) {
  const v128_t top = wasm_i32x4_dot_i16x8(top8, w);
  const v128_t bot = wasm_i32x4_dot_i16x8(bot8, w);
  const v128_t acc = wasm_i32x4_add(wasm_i32x4_add(wasm_i32x4_shl(top, FRAC_BITS), wasm_i32x4_mul(wasm_i32x4_sub(bot, top), fy)),
                                    wasm_i32x4_splat(ROUND_HALF));
  return wasm_u32x4_shr(acc, 2 * FRAC_BITS);
}

/* Packs four vectors of values 0..255 into sixteen bytes. */
INLINE v128_t pack16(v128_t a, v128_t b, v128_t c, v128_t d) {
  return wasm_u8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(a, b), wasm_i16x8_narrow_i32x4(c, d));
}

/*
 * Sixteen output bytes from the taps of sixteen pixels, one byte per pixel and tap in a (p00),
 * b (p01), c (p10), d (p11); w[q], fy[q]: the weights of pixels 4q..4q+3.
 */
INLINE v128_t blend16(v128_t a, v128_t b, v128_t c, v128_t d, const v128_t *w, const v128_t *fy) {
  /* Tap pairs (left, right) per pixel, pixels 0..7 and 8..15, then widened to i16. */
  const v128_t z = wasm_i32x4_splat(0);
  const v128_t top0 = wasm_i8x16_shuffle(a, b, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const v128_t top1 = wasm_i8x16_shuffle(a, b, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
  const v128_t bot0 = wasm_i8x16_shuffle(c, d, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23);
  const v128_t bot1 = wasm_i8x16_shuffle(c, d, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31);
#define LO(v) wasm_i8x16_shuffle(v, z, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23)
#define HI(v) wasm_i8x16_shuffle(v, z, 8, 24, 9, 25, 10, 26, 11, 27, 12, 28, 13, 29, 14, 30, 15, 31)
  return pack16(blend4(LO(top0), LO(bot0), w[0], fy[0]),
                blend4(HI(top0), HI(bot0), w[1], fy[1]),
                blend4(LO(top1), LO(bot1), w[2], fy[2]),
                blend4(HI(top1), HI(bot1), w[3], fy[3]));
}

/* Four pixels by gather: scalar 16-bit loads of each pixel's two tap pairs into one vector. */
INLINE v128_t gather4(const uint8_t *src, int32_t srcW, v128_t X, v128_t Y, v128_t w, v128_t fy) {
  const v128_t idx = wasm_i32x4_add(wasm_i32x4_mul(wasm_i32x4_shr(Y, COORD_BITS), wasm_i32x4_splat(srcW)),
                                    wasm_i32x4_shr(X, COORD_BITS));
  const uint8_t *p0 = src + wasm_i32x4_extract_lane(idx, 0);
  const uint8_t *p1 = src + wasm_i32x4_extract_lane(idx, 1);
  const uint8_t *p2 = src + wasm_i32x4_extract_lane(idx, 2);
  const uint8_t *p3 = src + wasm_i32x4_extract_lane(idx, 3);
  v128_t t = wasm_i32x4_splat(0);
  t = wasm_v128_load16_lane(p0, t, 0);
  t = wasm_v128_load16_lane(p1, t, 1);
  t = wasm_v128_load16_lane(p2, t, 2);
  t = wasm_v128_load16_lane(p3, t, 3);
  t = wasm_v128_load16_lane(p0 + srcW, t, 4);
  t = wasm_v128_load16_lane(p1 + srcW, t, 5);
  t = wasm_v128_load16_lane(p2 + srcW, t, 6);
  t = wasm_v128_load16_lane(p3 + srcW, t, 7);
  return blend4(wasm_u16x8_extend_low_u8x16(t), wasm_u16x8_extend_high_u8x16(t), w, fy);
}

/* Sixteen bytes of the rows of i32 lanes of four vectors (0 or -1 each): byte masks. */
INLINE v128_t mask16(v128_t a, v128_t b, v128_t c, v128_t d) {
  return wasm_i8x16_narrow_i16x8(wasm_i16x8_narrow_i32x4(a, b), wasm_i16x8_narrow_i32x4(c, d));
}

/*
 * Sixteen pixels at the 16.16 coordinates in X0..X3, Y0..Y3 (lane order, every tap inside). When
 * their left taps lie within 16 columns and on at most two consecutive source rows (a scale near one
 * and a rotation of a few degrees at most: nearly every group of a stabilizer's correction), the
 * taps come from vector loads of those rows and byte shuffles (i8x16.swizzle by each pixel's column
 * in the window); otherwise by gather. Columns and rows are monotone along a group, so the ends of
 * the group bound them.
 */
INLINE v128_t pixels16(const uint8_t *src, int32_t srcW, v128_t X0, v128_t X1, v128_t X2, v128_t X3, v128_t Y0,
                       v128_t Y1, v128_t Y2, v128_t Y3) {
  v128_t w[4], fy[4];
  weights8(X0, X1, &w[0], &w[1]);
  weights8(X2, X3, &w[2], &w[3]);
  fy[0] = frac4(Y0);
  fy[1] = frac4(Y1);
  fy[2] = frac4(Y2);
  fy[3] = frac4(Y3);
  const int32_t ixFirst = wasm_i32x4_extract_lane(X0, 0) >> COORD_BITS;
  const int32_t iyFirst = wasm_i32x4_extract_lane(Y0, 0) >> COORD_BITS;
  const int32_t ixLast = wasm_i32x4_extract_lane(X3, 3) >> COORD_BITS;
  const int32_t iyLast = wasm_i32x4_extract_lane(Y3, 3) >> COORD_BITS;
  const int32_t ix0 = ixFirst < ixLast ? ixFirst : ixLast;
  const int32_t iy0 = iyFirst < iyLast ? iyFirst : iyLast;
  const int32_t rows = iyFirst < iyLast ? iyLast - iyFirst : iyFirst - iyLast;
  const int32_t cols = ixFirst < ixLast ? ixLast - ixFirst : ixFirst - ixLast;
  if (cols > 15 || rows > 1) {
    return pack16(gather4(src, srcW, X0, Y0, w[0], fy[0]), gather4(src, srcW, X1, Y1, w[1], fy[1]),
                  gather4(src, srcW, X2, Y2, w[2], fy[2]), gather4(src, srcW, X3, Y3, w[3], fy[3]));
  }
  const v128_t base = wasm_i32x4_splat(ix0);
  const v128_t rel = wasm_u8x16_narrow_i16x8(
      wasm_i16x8_narrow_i32x4(wasm_i32x4_sub(wasm_i32x4_shr(X0, COORD_BITS), base),
                              wasm_i32x4_sub(wasm_i32x4_shr(X1, COORD_BITS), base)),
      wasm_i16x8_narrow_i32x4(wasm_i32x4_sub(wasm_i32x4_shr(X2, COORD_BITS), base),
                              wasm_i32x4_sub(wasm_i32x4_shr(X3, COORD_BITS), base)));
  const uint8_t *p = src + iy0 * srcW + ix0;
  const v128_t r0l = wasm_i8x16_swizzle(wasm_v128_load(p), rel);
  const v128_t r0r = wasm_i8x16_swizzle(wasm_v128_load(p + 1), rel);
  const v128_t r1l = wasm_i8x16_swizzle(wasm_v128_load(p + srcW), rel);
  const v128_t r1r = wasm_i8x16_swizzle(wasm_v128_load(p + srcW + 1), rel);
  if (rows == 0) return blend16(r0l, r0r, r1l, r1r, w, fy);
  /* Two rows: pixels whose top row is iy0 + 1 take their taps one row down. */
  const v128_t row = wasm_i32x4_splat(iy0);
  const v128_t down = mask16(wasm_i32x4_gt(wasm_i32x4_shr(Y0, COORD_BITS), row), wasm_i32x4_gt(wasm_i32x4_shr(Y1, COORD_BITS), row),
                             wasm_i32x4_gt(wasm_i32x4_shr(Y2, COORD_BITS), row), wasm_i32x4_gt(wasm_i32x4_shr(Y3, COORD_BITS), row));
  const v128_t r2l = wasm_i8x16_swizzle(wasm_v128_load(p + 2 * srcW), rel);
  const v128_t r2r = wasm_i8x16_swizzle(wasm_v128_load(p + 2 * srcW + 1), rel);
  return blend16(wasm_v128_bitselect(r1l, r0l, down), wasm_v128_bitselect(r1r, r0r, down),
                 wasm_v128_bitselect(r2l, r1l, down), wasm_v128_bitselect(r2r, r1r, down), w, fy);
}

/* Stores the first n (0..15) bytes of v at p. */
INLINE void store_partial(uint8_t *p, v128_t v, int32_t n) {
  if (n & 8) {
    wasm_v128_store64_lane(p, v, 0);
    v = wasm_i8x16_shuffle(v, v, 8, 9, 10, 11, 12, 13, 14, 15, 0, 0, 0, 0, 0, 0, 0, 0);
    p += 8;
  }
  if (n & 4) {
    wasm_v128_store32_lane(p, v, 0);
    v = wasm_i8x16_shuffle(v, v, 4, 5, 6, 7, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    p += 4;
  }
  if (n & 2) {
    wasm_v128_store16_lane(p, v, 0);
    v = wasm_i8x16_shuffle(v, v, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    p += 2;
  }
  if (n & 1) wasm_v128_store8_lane(p, v, 0);
}

/* One block of n (1..32) pixels from the anchor (X, Y), any steps. */
INLINE void block(uint8_t *o, const uint8_t *src, int32_t srcW, int32_t X, int32_t Y, int32_t dX, int32_t dY,
                  int32_t n) {
  const v128_t vdX = wasm_i32x4_splat(dX);
  const v128_t vdY = wasm_i32x4_splat(dY);
  const v128_t lane = wasm_i32x4_make(0, 1, 2, 3);
  v128_t Xv[4], Yv[4];
  int32_t k = 0;
  if (n >= 16) {
    const v128_t sX = wasm_i32x4_shl(vdX, 2);
    const v128_t sY = wasm_i32x4_shl(vdY, 2);
    Xv[0] = wasm_i32x4_add(wasm_i32x4_splat(X), wasm_i32x4_mul(lane, vdX));
    Yv[0] = wasm_i32x4_add(wasm_i32x4_splat(Y), wasm_i32x4_mul(lane, vdY));
    for (;;) {
      for (int q = 1; q < 4; q++) {
        Xv[q] = wasm_i32x4_add(Xv[q - 1], sX);
        Yv[q] = wasm_i32x4_add(Yv[q - 1], sY);
      }
      wasm_v128_store(o + k, pixels16(src, srcW, Xv[0], Xv[1], Xv[2], Xv[3], Yv[0], Yv[1], Yv[2], Yv[3]));
      k += 16;
      if (k + 16 > n) break;
      Xv[0] = wasm_i32x4_add(Xv[3], sX);
      Yv[0] = wasm_i32x4_add(Yv[3], sY);
    }
  }
  if (k < n) {
    /* The last pixels: lanes past the end repeat the last pixel, so that every tap stays inside. */
    const v128_t last = wasm_i32x4_splat(n - 1 - k);
    const v128_t Xk = wasm_i32x4_splat((int32_t)((uint32_t)X + (uint32_t)k * (uint32_t)dX));
    const v128_t Yk = wasm_i32x4_splat((int32_t)((uint32_t)Y + (uint32_t)k * (uint32_t)dY));
    for (int q = 0; q < 4; q++) {
      const v128_t kk = wasm_i32x4_min(wasm_i32x4_add(lane, wasm_i32x4_splat(4 * q)), last);
      Xv[q] = wasm_i32x4_add(Xk, wasm_i32x4_mul(kk, vdX));
      Yv[q] = wasm_i32x4_add(Yk, wasm_i32x4_mul(kk, vdY));
    }
    store_partial(o + k, pixels16(src, srcW, Xv[0], Xv[1], Xv[2], Xv[3], Yv[0], Yv[1], Yv[2], Yv[3]), n - k);
  }
}

/*
 * One block of n (1..32) pixels from the anchor (X, Y) when the steps are (1 px, 0): the source rows
 * and the fractions are the block's, and pixel k's taps are bytes k and k + 1 of the two rows from
 * the anchor's column, read sixteen at a time (the last group's loads may reach 16 bytes past its
 * pixels, into the padding after the plane; those lanes are not stored).
 */
INLINE void block_unit(uint8_t *o, const uint8_t *src, int32_t srcW, int32_t X, int32_t Y, int32_t n) {
  const int32_t fx = (X >> (COORD_BITS - FRAC_BITS)) & FRAC_MASK;
  const v128_t w = wasm_i32x4_splat((fx << 16) | (FRAC_ONE - fx));
  const v128_t fy = wasm_i32x4_splat((Y >> (COORD_BITS - FRAC_BITS)) & FRAC_MASK);
  const v128_t ws[4] = {w, w, w, w};
  const v128_t fys[4] = {fy, fy, fy, fy};
  const uint8_t *p = src + (Y >> COORD_BITS) * srcW + (X >> COORD_BITS);
  int32_t k = 0;
  for (; k + 16 <= n; k += 16) {
    wasm_v128_store(o + k, blend16(wasm_v128_load(p + k), wasm_v128_load(p + k + 1), wasm_v128_load(p + srcW + k),
                                   wasm_v128_load(p + srcW + k + 1), ws, fys));
  }
  if (k < n) {
    store_partial(o + k,
                  blend16(wasm_v128_load(p + k), wasm_v128_load(p + k + 1), wasm_v128_load(p + srcW + k),
                          wasm_v128_load(p + srcW + k + 1), ws, fys),
                  n - k);
  }
}

/*
 * The window path's per-plane vectors. Per pixel (one i32 lane), three quantities, each the block's
 * anchor plus the pixel's offset from it:
 *   X, the whole 16.16 column coordinate (its high half is the column);
 *   W, the i16 pair (~F, F), F the low 16 bits of X: then (~F >> 5) + 1 = 2048 - fx and F >> 5 = fx,
 *      the weight pair itself; the halves wrap as F does, so offsets add by i16x8.add;
 *   V, the low 16 bits of Y in the low half and zero in the high half: V >> 5 = fy;
 * and Y itself where a group crosses a source row.
 */
typedef struct {
  v128_t x[8], w[8], v[8], y[8]; /* offsets of pixels 4q..4q+3 from the block's anchor */
  v128_t one;                    /* the i16 pair (1, 0) */
  /*
   * For a group that stays on one source row, with V = 32 h + r at its first pixel (no wrap within
   * the group): fy of its pixel j is h + ((r + j dY) >> 5), and fyr[r][q] holds the second term for
   * j = 4q..4q+3.
   */
  v128_t fyr[32][4];
} Steps;

static Steps warp_steps;

/*
 * Scalars on their way to a broadcast load, reached through a volatile pointer so that the compiler
 * cannot see the load reading back the store and fold the pair into i32x4.splat.
 */
static int32_t splat_slots[8];
static int32_t *volatile warp_splat = splat_slots;

/* The four-lane splat of v by way of warp_splat[slot]. */
INLINE v128_t splat_mem(int slot, int32_t v) {
  warp_splat[slot] = v;
  return wasm_v128_load32_splat(warp_splat + slot);
}

/* (~F, F) of a 16.16 coordinate, as the i32 lane (F << 16) | (0xffff - F). */
INLINE int32_t wpair(uint32_t X) {
  return (int32_t)((X << 16) | (~X & 0xffffu));
}

/*
 * The swizzle index pairs of four pixels at 16.16 columns X in windows loaded at column c, B being
 * (c - 0x8000, c - 0x8001) in i16 halves (the i32 c * 0x10001 + 0x7fff8000): each pixel's column,
 * copied into both halves, minus B is (c' | 0x8000, c' + 1 | 0x8000), c' its column in the window,
 * which selects bytes c' and c' + 1 zero-extended to i16 (an index byte of 0x80 selects zero).
 */
INLINE v128_t window_index(v128_t X, v128_t B) {
  return wasm_i16x8_sub(wasm_i8x16_swizzle(X, wasm_i8x16_const(2, 3, 2, 3, 6, 7, 6, 7, 10, 11, 10, 11, 14, 15, 14, 15)), B);
}

/*
 * Four values from the tap pairs top8 (p00, p01 per pixel) and bot8 (p10, p11), W as in Steps and
 * fy: u = ((top << 11) + (bot - top) * fy) >> 21, rounded by round_pack.
 */
INLINE v128_t blend_u(v128_t top8, v128_t bot8, v128_t W, v128_t fy, v128_t one) {
  const v128_t w = wasm_i16x8_add(wasm_u16x8_shr(W, COORD_BITS - FRAC_BITS), one);
  const v128_t t = wasm_i32x4_dot_i16x8(top8, w);
  const v128_t b = wasm_i32x4_dot_i16x8(bot8, w);
  return wasm_u32x4_shr(wasm_i32x4_add(wasm_i32x4_shl(t, FRAC_BITS), wasm_i32x4_mul(wasm_i32x4_sub(b, t), fy)),
                        2 * FRAC_BITS - 1);
}

/*
 * Sixteen bytes from four vectors of u = acc >> 21 (0..511): (acc + 2^21) >> 22 = (u + 1) >> 1, which
 * is i16x8.avgr_u with zero.
 */
INLINE v128_t round_pack(v128_t a, v128_t b, v128_t c, v128_t d) {
  const v128_t z = wasm_i32x4_splat(0);
  return wasm_u8x16_narrow_i16x8(wasm_u16x8_avgr(wasm_i16x8_narrow_i32x4(a, b), z),
                                 wasm_u16x8_avgr(wasm_i16x8_narrow_i32x4(c, d), z));
}

/*
 * Sixteen pixels of a window-path group spanning three or more source rows (a steep rotation), by
 * pixels16: X0..X3 their 16.16 columns, Y the first one's 16.16 row. Out of line: rare, and it keeps
 * the window path's registers free.
 */
__attribute__((noinline)) static void group_steep(uint8_t *o, const uint8_t *src, int32_t srcW, v128_t X0, v128_t X1,
                                                   v128_t X2, v128_t X3, int32_t Y, int32_t dY) {
  const v128_t vdY = wasm_i32x4_splat(dY);
  const v128_t Y0 = wasm_i32x4_add(wasm_i32x4_splat(Y), wasm_i32x4_mul(wasm_i32x4_make(0, 1, 2, 3), vdY));
  const v128_t sY = wasm_i32x4_shl(vdY, 2);
  const v128_t Y1 = wasm_i32x4_add(Y0, sY), Y2 = wasm_i32x4_add(Y1, sY), Y3 = wasm_i32x4_add(Y2, sY);
  wasm_v128_store(o, pixels16(src, srcW, X0, X1, X2, X3, Y0, Y1, Y2, Y3));
}

/*
 * Pixels 16g..16g+15 of a window-path block from the anchor (X, Y), the splat Ws of W and the
 * group's 16.16 columns Xq and swizzle indices iq per quad: from the windows of rows iy and iy + 1
 * when all sixteen lie on source row iy; when they cross one row boundary (rows r, r + 1 and r + 2,
 * r the lower of the ends' rows), each pixel takes its pair of rows by a lane mask; across more, by
 * group_steep.
 */
INLINE void group_window(uint8_t *o, const uint8_t *src, int32_t srcW, uint32_t X, uint32_t Y, int32_t dX, int32_t dY,
                         v128_t Ws, int g, const Steps *s, const v128_t *Xq, const v128_t *iq) {
  const uint32_t Xg = X + (uint32_t)(16 * g) * (uint32_t)dX;
  const uint32_t Yg = Y + (uint32_t)(16 * g) * (uint32_t)dY;
  const int32_t iyF = (int32_t)Yg >> COORD_BITS;
  const int32_t iyL = (int32_t)(Yg + 15u * (uint32_t)dY) >> COORD_BITS;
  const int32_t cA = (int32_t)Xg >> COORD_BITS;
  const int32_t cB = (int32_t)(Xg + 8u * (uint32_t)dX) >> COORD_BITS;
  const v128_t i0 = iq[0], i1 = iq[1], i2 = iq[2], i3 = iq[3];
  const v128_t X0 = Xq[0], X1 = Xq[1], X2 = Xq[2], X3 = Xq[3];
  const v128_t W0 = wasm_i16x8_add(Ws, s->w[4 * g]), W1 = wasm_i16x8_add(Ws, s->w[4 * g + 1]);
  const v128_t W2 = wasm_i16x8_add(Ws, s->w[4 * g + 2]), W3 = wasm_i16x8_add(Ws, s->w[4 * g + 3]);
  const v128_t one = s->one;
  v128_t u0, u1, u2, u3;
  if (iyF == iyL) {
    const uint8_t *pA = src + iyF * srcW + cA;
    const uint8_t *pB = src + iyF * srcW + cB;
    const v128_t tA = wasm_v128_load(pA), bA = wasm_v128_load(pA + srcW);
    const v128_t tB = wasm_v128_load(pB), bB = wasm_v128_load(pB + srcW);
    const uint32_t Vg = Yg & 0xffffu;
    const v128_t h = splat_mem(7, (int32_t)(Vg >> (COORD_BITS - FRAC_BITS)));
    const v128_t *fyr = s->fyr[Vg & 31];
    u0 = blend_u(wasm_i8x16_swizzle(tA, i0), wasm_i8x16_swizzle(bA, i0), W0, wasm_i32x4_add(h, fyr[0]), one);
    u1 = blend_u(wasm_i8x16_swizzle(tA, i1), wasm_i8x16_swizzle(bA, i1), W1, wasm_i32x4_add(h, fyr[1]), one);
    u2 = blend_u(wasm_i8x16_swizzle(tB, i2), wasm_i8x16_swizzle(bB, i2), W2, wasm_i32x4_add(h, fyr[2]), one);
    u3 = blend_u(wasm_i8x16_swizzle(tB, i3), wasm_i8x16_swizzle(bB, i3), W3, wasm_i32x4_add(h, fyr[3]), one);
  } else if (iyL - iyF == 1 || iyF - iyL == 1) {
    const int32_t r = iyF < iyL ? iyF : iyL;
    const uint8_t *pA = src + r * srcW + cA;
    const uint8_t *pB = src + r * srcW + cB;
    const v128_t rA0 = wasm_v128_load(pA), rA1 = wasm_v128_load(pA + srcW), rA2 = wasm_v128_load(pA + 2 * srcW);
    const v128_t rB0 = wasm_v128_load(pB), rB1 = wasm_v128_load(pB + srcW), rB2 = wasm_v128_load(pB + 2 * srcW);
    /* Lanes whose Y >= (r + 1) << 16 take rows r + 1, r + 2. */
    const v128_t Ya = wasm_i32x4_splat((int32_t)Y);
    const v128_t lim = wasm_i32x4_splat(((r + 1) << COORD_BITS) - 1);
    v128_t m, a0, a1, a2;
#define CROSS(u, i, rr0, rr1, rr2, q, Wq)                                                     \
  m = wasm_i32x4_gt(wasm_i32x4_add(Ya, s->y[q]), lim);                                           \
  a0 = wasm_i8x16_swizzle(rr0, i);                                                               \
  a1 = wasm_i8x16_swizzle(rr1, i);                                                               \
  a2 = wasm_i8x16_swizzle(rr2, i);                                                               \
  u = blend_u(wasm_v128_bitselect(a1, a0, m), wasm_v128_bitselect(a2, a1, m), Wq,                   \
              wasm_u32x4_shr(wasm_i16x8_add(Vs, s->v[q]), COORD_BITS - FRAC_BITS), one);
    const v128_t Vs = wasm_i32x4_splat((int32_t)(Y & 0xffffu));
    CROSS(u0, i0, rA0, rA1, rA2, 4 * g, W0)
    CROSS(u1, i1, rA0, rA1, rA2, 4 * g + 1, W1)
    CROSS(u2, i2, rB0, rB1, rB2, 4 * g + 2, W2)
    CROSS(u3, i3, rB0, rB1, rB2, 4 * g + 3, W3)
#undef CROSS
  } else {
    /* Three or more source rows (a steep rotation): pixels16 gathers. */
    group_steep(o + 16 * g, src, srcW, X0, X1, X2, X3, (int32_t)Yg, dY);
    return;
  }
  wasm_v128_store(o + 16 * g, round_pack(u0, u1, u2, u3));
}

/* One block of 32 pixels from the anchor (X, Y) by the window path. */
INLINE void block_window(uint8_t *o, const uint8_t *src, int32_t srcW, int32_t X, int32_t Y, int32_t dX, int32_t dY,
                         const Steps *s) {
  const v128_t Xs = splat_mem(4, X);
  const v128_t Ws = splat_mem(5, wpair((uint32_t)X));
  /*
   * The columns and swizzle indices of both groups before either runs: the engine builds
   * window_index's constant shuffle pattern once per block instead of once per group.
   */
  v128_t Xq[8], iq[8];
  for (int g = 0; g < 2; g++) {
    const uint32_t Xg = (uint32_t)X + (uint32_t)(16 * g) * (uint32_t)dX;
    const int32_t cA = (int32_t)Xg >> COORD_BITS;
    const int32_t cB = (int32_t)(Xg + 8u * (uint32_t)dX) >> COORD_BITS;
    const v128_t BA = splat_mem(2 * g, (int32_t)((uint32_t)cA * 0x10001u + 0x7fff8000u));
    const v128_t BB = splat_mem(2 * g + 1, (int32_t)((uint32_t)cB * 0x10001u + 0x7fff8000u));
    for (int q = 0; q < 4; q++) {
      Xq[4 * g + q] = wasm_i32x4_add(Xs, s->x[4 * g + q]);
      iq[4 * g + q] = window_index(Xq[4 * g + q], q < 2 ? BA : BB);
    }
  }
  group_window(o, src, srcW, (uint32_t)X, (uint32_t)Y, dX, dY, Ws, 0, s, Xq, iq);
  group_window(o, src, srcW, (uint32_t)X, (uint32_t)Y, dX, dY, Ws, 1, s, Xq + 4, iq + 4);
}

/* Sets the window path's per-lane offsets for the steps dX, dY. */
static void set_steps(int32_t dX, int32_t dY) {
  for (uint32_t k = 0; k < STEP_BLOCK; k += 4) {
    int32_t x[4], w[4], v[4], y[4];
    for (uint32_t j = 0; j < 4; j++) {
      const uint32_t ox = (k + j) * (uint32_t)dX;
      const uint32_t oy = (k + j) * (uint32_t)dY;
      x[j] = (int32_t)ox;
      /* W(X + ox) - W(X) in wrapping i16 halves: F advances by ox, ~F by -ox. */
      w[j] = (int32_t)((ox << 16) | ((0u - ox) & 0xffffu));
      v[j] = (int32_t)(oy & 0xffffu);
      y[j] = (int32_t)oy;
    }
    warp_steps.x[k / 4] = wasm_i32x4_make(x[0], x[1], x[2], x[3]);
    warp_steps.w[k / 4] = wasm_i32x4_make(w[0], w[1], w[2], w[3]);
    warp_steps.v[k / 4] = wasm_i32x4_make(v[0], v[1], v[2], v[3]);
    warp_steps.y[k / 4] = wasm_i32x4_make(y[0], y[1], y[2], y[3]);
  }
  warp_steps.one = wasm_i32x4_splat(1);
  for (int32_t r = 0; r < 32; r++) {
    for (int32_t q = 0; q < 4; q++) {
      int32_t f[4];
      for (int32_t j = 0; j < 4; j++) f[j] = (int32_t)((uint32_t)r + (uint32_t)(4 * q + j) * (uint32_t)dY) >> (COORD_BITS - FRAC_BITS);
      warp_steps.fyr[r][q] = wasm_i32x4_make(f[0], f[1], f[2], f[3]);
    }
  }
}

/*
 * Warps the interior spans of a whole plane. spans holds lo, hi per output row (lo > hi: none);
 * m0..m5 are the first two rows of the affine map (output -> source pixel coordinates); dX, dY the
 * 16.16 steps. Writes only the span pixels of `out` (outW bytes per row).
 */
__attribute__((export_name("warp_u8_spans"))) void warp_u8_spans(const uint8_t *src, int32_t srcW, uint8_t *out,
                                                                   int32_t outW, int32_t outH, const int32_t *spans,
                                                                   double m0, double m1, double m2, double m3,
                                                                   double m4, double m5, int32_t dX, int32_t dY) {
  const int unit = dX == 1 << COORD_BITS && dY == 0;
  /*
   * The window path's bound: pixel 7's left tap is floor((F + 7 dX) / 2^16) <= 14 columns after pixel
   * 0's for every fraction F < 2^16 exactly when 7 dX < 15 * 2^16 - (2^16 - 1), i.e. dX <= 2^17; its
   * right tap is then still inside the 16-byte window.
   */
  const int window = !unit && dX >= 0 && dX <= 2 << COORD_BITS;
  if (window) set_steps(dX, dY);
  const Steps *s = &warp_steps;
  for (int32_t y = 0; y < outH; y++) {
    const int32_t lo = spans[2 * y];
    const int32_t hi = spans[2 * y + 1];
    if (lo > hi) continue;
    const double bx = m1 * (double)y + m2;
    const double by = m4 * (double)y + m5;
    uint8_t *row = out + y * outW;
    for (int32_t x0 = lo; x0 <= hi; x0 += STEP_BLOCK) {
      const int32_t n = hi - x0 + 1 < STEP_BLOCK ? hi - x0 + 1 : STEP_BLOCK;
      if (unit) block_unit(row + x0, src, srcW, anchor(bx, m0, x0), anchor(by, m3, x0), n);
      else if (window && n == STEP_BLOCK) block_window(row + x0, src, srcW, anchor(bx, m0, x0), anchor(by, m3, x0), dX, dY, s);
      else block(row + x0, src, srcW, anchor(bx, m0, x0), anchor(by, m3, x0), dX, dY, n);
    }
  }
}
