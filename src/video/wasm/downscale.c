/*
 * The analysis downscale of src/video/analysis.ts (downscaleYInto: an 8-bit Y plane shrunk to a Float32
 * gray image by an exact area average), in WebAssembly with 128-bit SIMD. Same integers as the
 * JavaScript kernels, same final scaling: every output is the exact integer sum S of its weighted
 * samples, then out = (float)((double)S * inv) with inv = 1 / (Px * Py) as a double, exactly what a
 * JavaScript `S * inv` stored into a Float32Array computes (the build passes -ffp-contract=off; the
 * f64x2 multiply and f32x4.demote_f64x2_zero round to nearest like the engine does).
 *
 * Three entry points, chosen by src/video/wasm-downscale.ts, which also checks the integer bounds each
 * assumes (outside them the JavaScript kernels run):
 *
 * - ds_weighted16 (fractional scales, the common case): per output row, the vertical pass sums the
 *   row's few source rows, each times its integer weight, into one row of 16-bit column sums (sixteen
 *   columns per vector); the horizontal pass then forms four outputs at a time, each an
 *   i32x4.dot_i16x8_s of the output's taps and its weights padded with zeros to T = 2, 4 or a multiple
 *   of 8 taps. With T = 2 or 4 the taps of a group of outputs (four or two) lie within eight columns, so
 *   one vector load and one byte shuffle gather them (the loader checks this, which holds at every
 *   ratio that needs so few taps, and pads to T = 8 otherwise). Needs 255 * Py <= 32767 (the column
 *   sums are read as signed 16-bit), weights <= 32767 and 255 * Px * Py < 2^31.
 * - ds_weighted32 (fractional scales with larger units, e.g. 641 -> 320): 32-bit column sums, scalar
 *   horizontal taps. Needs 255 * Px * Py < 2^31.
 * - ds_blocks (whole-number kx x ky blocks, the `factor` contract included: only ow * kx columns and
 *   oh * ky rows are read): kx = 1, 2 and 4 sum the rows' bytes (pairwise for 2 and 4) straight into
 *   outputs; other widths sum the rows (column pairs for even widths up to 64 rows) into a 16-bit row
 *   and take the horizontal pass above on unit weights. Needs ky <= 128.
 *
 * Memory (owned by wasm-downscale.ts, from __heap_base): vector loads read up to 15 bytes past the last
 * source byte used, so the plane is followed by padding; output rows are written four or eight floats
 * at a time from their start, the last store of a row running into the next row (written after it) or,
 * for the last row, into padding after the output; the tap tables hold entries for ow rounded up to 4
 * (start 0, weights 0 past ow) and the column-sum row has room for T entries past the width (taps with
 * zero weight may read those). Planes are tightly packed, i = y * width + x.
 *
 * Rebuild (clang-14 and lld-14): scripts/build-wasm.sh, which also regenerates
 * src/video/wasm/downscale-module.ts.
 */
#include <stdint.h>
#include <wasm_simd128.h>

#define INLINE static inline __attribute__((always_inline))

/* out[0..3] = (float)((double)s[i] * inv) for the four i32 lanes of s; vinv = inv in both f64 lanes. */
INLINE void store_means4(float *o, v128_t s, v128_t vinv) {
  const v128_t lo = wasm_f64x2_mul(wasm_f64x2_convert_low_i32x4(s), vinv);
  const v128_t hi = wasm_f64x2_mul(wasm_f64x2_convert_low_i32x4(wasm_i32x4_shuffle(s, s, 2, 3, 2, 3)), vinv);
  wasm_v128_store(o, wasm_i32x4_shuffle(wasm_f32x4_demote_f64x2_zero(lo), wasm_f32x4_demote_f64x2_zero(hi), 0, 1, 4, 5));
}

/* Eight outputs from eight u16 sums. */
INLINE void store_means8(float *o, v128_t s16, v128_t vinv) {
  store_means4(o, wasm_u32x4_extend_low_u16x8(s16), vinv);
  store_means4(o + 4, wasm_u32x4_extend_high_u16x8(s16), vinv);
}

/* ---- vertical pass: weighted 16-bit column sums --------------------------------------------------- */

/*
 * acc[x] (+)= sum over i < M of c[i] * p[i][x], sixteen columns per vector, nv vectors. M is a constant
 * at every call site, so the loop is unrolled over the rows.
 */
INLINE void weighted_rows16(uint16_t *acc, const uint8_t *const *p, const int32_t *c, const int M, int32_t nv, const int init) {
  v128_t cv[4];
  for (int i = 0; i < M; i++) cv[i] = wasm_i16x8_splat((int16_t)c[i]);
  for (int32_t v = 0; v < nv; v++) {
    const int32_t x = 16 * v;
    v128_t lo, hi;
    if (init) {
      lo = wasm_i32x4_splat(0);
      hi = lo;
    } else {
      lo = wasm_v128_load(acc + x);
      hi = wasm_v128_load(acc + x + 8);
    }
    for (int i = 0; i < M; i++) {
      const v128_t b = wasm_v128_load(p[i] + x);
      lo = wasm_i16x8_add(lo, wasm_i16x8_mul(wasm_u16x8_extend_low_u8x16(b), cv[i]));
      hi = wasm_i16x8_add(hi, wasm_i16x8_mul(wasm_u16x8_extend_high_u8x16(b), cv[i]));
    }
    wasm_v128_store(acc + x, lo);
    wasm_v128_store(acc + x + 8, hi);
  }
}

/*
 * acc[x] = sum over t < n of wt[t] * row (first + t), x < 16 * nv: the rows with nonzero weights, four
 * at a time (the tap tables pad short outputs with zero weights).
 */
static void rows16(uint16_t *acc, const uint8_t *first, int32_t w, const int32_t *wt, int32_t n, int32_t nv) {
  int init = 1;
  int32_t t = 0;
  for (;;) {
    const uint8_t *p[4];
    int32_t c[4];
    int m = 0;
    for (; t < n && m < 4; t++) {
      if (wt[t] == 0) continue;
      p[m] = first + t * w;
      c[m] = wt[t];
      m++;
    }
    if (m == 0) break;
    switch (m * 2 + init) {
      case 2: weighted_rows16(acc, p, c, 1, nv, 0); break;
      case 3: weighted_rows16(acc, p, c, 1, nv, 1); break;
      case 4: weighted_rows16(acc, p, c, 2, nv, 0); break;
      case 5: weighted_rows16(acc, p, c, 2, nv, 1); break;
      case 6: weighted_rows16(acc, p, c, 3, nv, 0); break;
      case 7: weighted_rows16(acc, p, c, 3, nv, 1); break;
      case 8: weighted_rows16(acc, p, c, 4, nv, 0); break;
      default: weighted_rows16(acc, p, c, 4, nv, 1); break;
    }
    init = 0;
  }
  if (init) {
    /* No nonzero weight (cannot happen: an output's weights sum to P > 0); zeros keep it defined. */
    for (int32_t v = 0; v < 2 * nv; v++) wasm_v128_store(acc + 8 * v, wasm_i32x4_splat(0));
  }
}

/* ---- horizontal pass: tap tables on 16-bit column sums -------------------------------------------- */

/*
 * The column taps of one output row: o[k] = inv * sum over t < T of cw[k*T + t] * acc[cs[k] + t] for k
 * below ow rounded up to 4 (the tables are padded to it with zero weights), four outputs per step, each
 * sum an i32x4.dot_i16x8_s of taps and weights.
 * - T = 2 (four outputs per group) and T = 4 (two per group): the tables guarantee that a group's taps
 *   lie within eight columns from gb[g] (true at every ratio that needs so few taps), so one vector load
 *   and one i8x16.swizzle by the group's byte map gm[g] put them in dot-product order.
 * - T a multiple of 8: each output's taps are read as whole vectors from cs[k], eight at a time.
 */
static void cols16(float *o, const uint16_t *acc, int32_t ow, const int32_t *cs, const int16_t *cw, int32_t T, const int32_t *gb,
                   const v128_t *gm, v128_t vinv) {
  if (T == 2) {
    for (int32_t k = 0, g = 0; k < ow; k += 4, g++) {
      const v128_t a = wasm_i8x16_swizzle(wasm_v128_load(acc + gb[g]), wasm_v128_load(gm + g));
      store_means4(o + k, wasm_i32x4_dot_i16x8(a, wasm_v128_load(cw + 2 * k)), vinv);
    }
  } else if (T == 4) {
    for (int32_t k = 0, g = 0; k < ow; k += 4, g += 2) {
      const v128_t a = wasm_i8x16_swizzle(wasm_v128_load(acc + gb[g]), wasm_v128_load(gm + g));
      const v128_t b = wasm_i8x16_swizzle(wasm_v128_load(acc + gb[g + 1]), wasm_v128_load(gm + g + 1));
      const v128_t da = wasm_i32x4_dot_i16x8(a, wasm_v128_load(cw + 4 * k));
      const v128_t db = wasm_i32x4_dot_i16x8(b, wasm_v128_load(cw + 4 * k + 8));
      store_means4(o + k, wasm_i32x4_add(wasm_i32x4_shuffle(da, db, 0, 2, 4, 6), wasm_i32x4_shuffle(da, db, 1, 3, 5, 7)), vinv);
    }
  } else {
    for (int32_t k = 0; k < ow; k += 4) {
      v128_t d0 = wasm_i32x4_splat(0), d1 = d0, d2 = d0, d3 = d0;
      const int16_t *c = cw + k * T;
      const uint16_t *a0 = acc + cs[k], *a1 = acc + cs[k + 1], *a2 = acc + cs[k + 2], *a3 = acc + cs[k + 3];
      for (int32_t t = 0; t < T; t += 8) {
        d0 = wasm_i32x4_add(d0, wasm_i32x4_dot_i16x8(wasm_v128_load(a0 + t), wasm_v128_load(c + t)));
        d1 = wasm_i32x4_add(d1, wasm_i32x4_dot_i16x8(wasm_v128_load(a1 + t), wasm_v128_load(c + T + t)));
        d2 = wasm_i32x4_add(d2, wasm_i32x4_dot_i16x8(wasm_v128_load(a2 + t), wasm_v128_load(c + 2 * T + t)));
        d3 = wasm_i32x4_add(d3, wasm_i32x4_dot_i16x8(wasm_v128_load(a3 + t), wasm_v128_load(c + 3 * T + t)));
      }
      /* Lane sums of d0..d3 in lanes 0..3. */
      const v128_t e = wasm_i32x4_add(wasm_i32x4_shuffle(d0, d1, 0, 2, 4, 6), wasm_i32x4_shuffle(d0, d1, 1, 3, 5, 7));
      const v128_t f = wasm_i32x4_add(wasm_i32x4_shuffle(d2, d3, 0, 2, 4, 6), wasm_i32x4_shuffle(d2, d3, 1, 3, 5, 7));
      store_means4(o + k, wasm_i32x4_add(wasm_i32x4_shuffle(e, f, 0, 2, 4, 6), wasm_i32x4_shuffle(e, f, 1, 3, 5, 7)), vinv);
    }
  }
}

/*
 * Fractional scales with 16-bit column sums. Output row r sums the ty source rows from rs[r] with
 * weights rw[r*ty ..], then takes the column taps (cs, cw, T, gb, gm: see cols16). acc: the column-sum
 * row, room for w rounded up to 16 plus T entries.
 */
__attribute__((export_name("ds_weighted16"))) void ds_weighted16(const uint8_t *src, int32_t w, float *out, int32_t ow, int32_t oh,
                                                                 const int32_t *cs, const int16_t *cw, int32_t T, const int32_t *gb,
                                                                 const v128_t *gm, const int32_t *rs, const int32_t *rw, int32_t ty,
                                                                 uint16_t *acc, double inv) {
  const v128_t vinv = wasm_f64x2_splat(inv);
  const int32_t nv = (w + 15) >> 4;
  for (int32_t r = 0; r < oh; r++) {
    rows16(acc, src + rs[r] * w, w, rw + r * ty, ty, nv);
    cols16(out + r * ow, acc, ow, cs, cw, T, gb, gm, vinv);
  }
}

/*
 * Fractional scales with 32-bit column sums (units too large for 16 bits): the rows as above, sixteen
 * columns per step in four i32x4 vectors, then the tx column taps of each output (cw: tx per output, not
 * padded) in scalar code.
 */
__attribute__((export_name("ds_weighted32"))) void ds_weighted32(const uint8_t *src, int32_t w, float *out, int32_t ow, int32_t oh,
                                                                 const int32_t *cs, const int32_t *cw, int32_t tx, const int32_t *rs,
                                                                 const int32_t *rw, int32_t ty, int32_t *acc, double inv) {
  const int32_t nv = (w + 15) >> 4;
  for (int32_t r = 0; r < oh; r++) {
    const uint8_t *first = src + rs[r] * w;
    const int32_t *wt = rw + r * ty;
    for (int32_t v = 0; v < nv; v++) {
      const int32_t x = 16 * v;
      v128_t s0 = wasm_i32x4_splat(0), s1 = s0, s2 = s0, s3 = s0;
      for (int32_t t = 0; t < ty; t++) {
        if (wt[t] == 0) continue;
        const v128_t c = wasm_i32x4_splat(wt[t]);
        const v128_t b = wasm_v128_load(first + t * w + x);
        const v128_t lo = wasm_u16x8_extend_low_u8x16(b);
        const v128_t hi = wasm_u16x8_extend_high_u8x16(b);
        s0 = wasm_i32x4_add(s0, wasm_i32x4_mul(wasm_u32x4_extend_low_u16x8(lo), c));
        s1 = wasm_i32x4_add(s1, wasm_i32x4_mul(wasm_u32x4_extend_high_u16x8(lo), c));
        s2 = wasm_i32x4_add(s2, wasm_i32x4_mul(wasm_u32x4_extend_low_u16x8(hi), c));
        s3 = wasm_i32x4_add(s3, wasm_i32x4_mul(wasm_u32x4_extend_high_u16x8(hi), c));
      }
      wasm_v128_store(acc + x, s0);
      wasm_v128_store(acc + x + 4, s1);
      wasm_v128_store(acc + x + 8, s2);
      wasm_v128_store(acc + x + 12, s3);
    }
    float *o = out + r * ow;
    for (int32_t k = 0; k < ow; k++) {
      const int32_t *c = cw + k * tx;
      const int32_t *a = acc + cs[k];
      int32_t s = 0;
      for (int32_t t = 0; t < tx; t++) s += c[t] * a[t];
      o[k] = (float)((double)s * inv);
    }
  }
}

/* ---- whole-number blocks -------------------------------------------------------------------------- */

/* The column sums of 16 columns over ky rows (stride w) from p, as 16-bit lanes: columns 0-7 in lo, 8-15 in hi. */
INLINE void column_sums16(const uint8_t *p, int32_t w, int32_t ky, v128_t *lo, v128_t *hi) {
  v128_t l = wasm_i32x4_splat(0), h = l;
  for (int32_t j = 0; j < ky; j++) {
    const v128_t b = wasm_v128_load(p + j * w);
    l = wasm_i16x8_add(l, wasm_u16x8_extend_low_u8x16(b));
    h = wasm_i16x8_add(h, wasm_u16x8_extend_high_u8x16(b));
  }
  *lo = l;
  *hi = h;
}

/*
 * Means of kx x ky blocks: output (k, r) sums source columns [kx k, kx k + kx) of rows [ky r, ky r + ky).
 * Widths other than 1, 2 and 4 sum the rows into a 16-bit row and take the horizontal pass of the
 * fractional scales on unit-weight tap tables (cs, cw, T, gb, gm: see cols16) made by the caller: with
 * `pairs` (kx even, ky <= 64) the row holds the sums of column pairs (the tables then have kx / 2 taps
 * per output), else of single columns. acc: a 16-bit row of ow * kx rounded up to 16 plus T entries.
 */
__attribute__((export_name("ds_blocks"))) void ds_blocks(const uint8_t *src, int32_t w, float *out, int32_t ow, int32_t oh, int32_t kx,
                                                         int32_t ky, int32_t pairs, const int32_t *cs, const int16_t *cw, int32_t T,
                                                         const int32_t *gb, const v128_t *gm, uint16_t *acc, double inv) {
  const v128_t vinv = wasm_f64x2_splat(inv);
  const int32_t n = ow * kx; /* source bytes used per row */
  const int32_t nv = (n + 15) >> 4;
  if (kx == 1) {
    for (int32_t r = 0; r < oh; r++) {
      const uint8_t *p = src + r * ky * w;
      float *o = out + r * ow;
      for (int32_t v = 0; v < nv; v++) {
        v128_t lo, hi;
        column_sums16(p + 16 * v, w, ky, &lo, &hi);
        store_means8(o + 16 * v, lo, vinv);
        store_means8(o + 16 * v + 8, hi, vinv);
      }
    }
    return;
  }
  if (kx == 2 || kx == 4) {
    for (int32_t r = 0; r < oh; r++) {
      const uint8_t *p = src + r * ky * w;
      float *o = out + r * ow;
      for (int32_t v = 0; v < nv; v++) {
        v128_t s = wasm_i32x4_splat(0);
        for (int32_t j = 0; j < ky; j++) s = wasm_i16x8_add(s, wasm_u16x8_extadd_pairwise_u8x16(wasm_v128_load(p + j * w + 16 * v)));
        if (kx == 2) store_means8(o + 8 * v, s, vinv);
        else store_means4(o + 4 * v, wasm_u32x4_extadd_pairwise_u16x8(s), vinv);
      }
    }
    return;
  }
  for (int32_t r = 0; r < oh; r++) {
    const uint8_t *p = src + r * ky * w;
    if (pairs) {
      for (int32_t v = 0; v < nv; v++) {
        v128_t s = wasm_i32x4_splat(0);
        for (int32_t j = 0; j < ky; j++) s = wasm_i16x8_add(s, wasm_u16x8_extadd_pairwise_u8x16(wasm_v128_load(p + j * w + 16 * v)));
        wasm_v128_store(acc + 8 * v, s);
      }
      cols16(out + r * ow, acc, ow, cs, cw, T, gb, gm, vinv);
      continue;
    }
    for (int32_t v = 0; v < nv; v++) {
      v128_t lo, hi;
      column_sums16(p + 16 * v, w, ky, &lo, &hi);
      wasm_v128_store(acc + 16 * v, lo);
      wasm_v128_store(acc + 16 * v + 8, hi);
    }
    cols16(out + r * ow, acc, ow, cs, cw, T, gb, gm, vinv);
  }
}
