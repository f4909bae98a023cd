/*
 * The [1 4 6 4 1] / 16 separable blur of one float plane with a reflect-101 border (src/image/blur.ts,
 * binomial5: the pyramid blur and the default ECC pre-filter), in WebAssembly with 128-bit SIMD:
 *
 *   H(x, y)   = s(x-2, y) + s(x+2, y) + 4 (s(x-1, y) + s(x+1, y)) + 6 s(x, y)
 *   out(x, y) = (H(x, y-2) + H(x, y+2) + 4 (H(x, y-1) + H(x, y+1)) + 6 H(x, y)) / 256
 *
 * with indices outside [0, w) x [0, h) mirrored without repeating the edge sample (-1 -> 1, w -> w - 2).
 * Planes are tightly packed float32, i = y * w + x; w >= 5 and h >= 3 (blur.ts runs other code below).
 *
 * The scheme is the JavaScript one: horizontally filtered rows live in a ring of six rows, each row is
 * filtered once, when an output row first needs it, and every vertical step makes two output rows from
 * six ring rows (the two rows share four of them). Rows are consumed in order and a source row is
 * filtered before any output row at or below it is written, so `dst` may be `src`.
 *
 * Arithmetic is float32, four pixels per f32x4, integer weights and one scaling by 1/256 (a power of
 * two, exact). The JavaScript evaluates the same sums in double and rounds each to float32, so the two
 * differ by rounding only: every term is non-negative for gray levels, so the four roundings of a
 * horizontal sum and the four of a vertical one (the scaling is exact) each err by at most 2^-24 of the
 * output's magnitude, 8 * 2^-24 * 255 = 1.2e-4 gray levels from the exact blur, and with the
 * JavaScript's own roundings the two agree within 9 * 2^-24 * 255 = 1.4e-4 (measured: 3e-5, two float32
 * ulps of the output). Integer-valued planes (decoded 8-bit frames) are summed exactly in float32 (every
 * sum is an integer below 2^24) and come out bit for bit equal to the JavaScript.
 *
 * The horizontal pass's vector loop reads up to three floats past a row's last sample (the next row, or
 * for the last row the padding the caller, src/image/wasm-blur.ts, leaves after the plane) and writes up
 * to one float past the ring row (each ring row holds at least w + 1 floats); those lanes are never
 * used. The border samples are redone in scalar code after the vector loop.
 *
 * Rebuild (clang-14 and lld-14): scripts/build-wasm.sh, which also regenerates
 * src/image/wasm/blur5-module.ts.
 */
#include <stdint.h>
#include <wasm_simd128.h>

#define INLINE static inline __attribute__((always_inline))
#define RING_ROWS 6

/* Mirrors i into [0, n) without repeating the edge sample (n >= 3 here). */
INLINE int32_t reflect101(int32_t i, int32_t n) {
  while (i < 0 || i >= n) i = i < 0 ? -i : 2 * n - 2 - i;
  return i;
}

/* a + e + 4 (b + d) + 6 c, four lanes: the [1 4 6 4 1] sum, unnormalised. */
INLINE v128_t taps5(v128_t a, v128_t b, v128_t c, v128_t d, v128_t e) {
  const v128_t four = wasm_f32x4_splat(4.0f);
  const v128_t six = wasm_f32x4_splat(6.0f);
  return wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_add(a, e), wasm_f32x4_mul(four, wasm_f32x4_add(b, d))),
                        wasm_f32x4_mul(six, c));
}

/* The same sum for one sample. */
INLINE float tap5(float a, float b, float c, float d, float e) {
  return a + e + 4.0f * (b + d) + 6.0f * c;
}

/* The unnormalised horizontal [1 4 6 4 1] pass of one row of w samples (w >= 5) from s into r. */
static void filter_row(float *r, const float *s, int32_t w) {
  for (int32_t x = 2; x < w - 2; x += 4) {
    const float *p = s + x;
    wasm_v128_store(r + x, taps5(wasm_v128_load(p - 2), wasm_v128_load(p - 1), wasm_v128_load(p),
                                 wasm_v128_load(p + 1), wasm_v128_load(p + 2)));
  }
  /* The two samples at each end, mirrored: ... 2 1 | 0 1 2 ... and ... w-3 w-2 w-1 | w-2 w-3 ... */
  r[0] = tap5(s[2], s[1], s[0], s[1], s[2]);
  r[1] = tap5(s[1], s[0], s[1], s[2], s[3]);
  r[w - 2] = tap5(s[w - 4], s[w - 3], s[w - 2], s[w - 1], s[w - 2]);
  r[w - 1] = tap5(s[w - 3], s[w - 2], s[w - 1], s[w - 2], s[w - 3]);
}

/* The ring: which source row each slot holds (-1: none), and the slots' first samples. */
typedef struct {
  int32_t row[RING_ROWS];
  float *base;
  int32_t stride;
} ring_t;

/* The ring row holding source row sy filtered horizontally, filtering it first if its slot holds another. */
INLINE const float *ring_row(ring_t *g, const float *src, int32_t sy, int32_t w) {
  const int32_t slot = sy % RING_ROWS;
  float *r = g->base + slot * g->stride;
  if (g->row[slot] != sy) {
    filter_row(r, src + sy * w, w);
    g->row[slot] = sy;
  }
  return r;
}

/*
 * Blurs the w x h plane at src into dst (dst may equal src). ring: scratch of RING_ROWS * stride floats,
 * stride >= w + 1 and a multiple of 4. src must be readable 3 floats past its last sample.
 */
__attribute__((export_name("blur5_binomial"))) void blur5_binomial(float *dst, const float *src, int32_t w,
                                                                     int32_t h, float *ring, int32_t stride) {
  const v128_t scale = wasm_f32x4_splat(1.0f / 256.0f);
  ring_t g;
  for (int i = 0; i < RING_ROWS; i++) g.row[i] = -1;
  g.base = ring;
  g.stride = stride;
  /* The last vector of a row starts at w - 4 and overlaps the one before: the overlapped samples are
     recomputed from the ring, the same values, and no store reaches past the row. */
  const int32_t lastX = w - 4;
  int32_t y = 0;
  for (; y + 1 < h; y += 2) {
    const float *r0 = ring_row(&g, src, reflect101(y - 2, h), w);
    const float *r1 = ring_row(&g, src, reflect101(y - 1, h), w);
    const float *r2 = ring_row(&g, src, y, w);
    const float *r3 = ring_row(&g, src, y + 1, w);
    const float *r4 = ring_row(&g, src, reflect101(y + 2, h), w);
    const float *r5 = ring_row(&g, src, reflect101(y + 3, h), w);
    float *o0 = dst + y * w;
    float *o1 = o0 + w;
    for (int32_t x = 0;; x += 4) {
      if (x > lastX) {
        if (x == lastX + 4) break;
        x = lastX;
      }
      const v128_t b = wasm_v128_load(r1 + x);
      const v128_t c = wasm_v128_load(r2 + x);
      const v128_t d = wasm_v128_load(r3 + x);
      const v128_t e = wasm_v128_load(r4 + x);
      wasm_v128_store(o0 + x, wasm_f32x4_mul(scale, taps5(wasm_v128_load(r0 + x), b, c, d, e)));
      wasm_v128_store(o1 + x, wasm_f32x4_mul(scale, taps5(b, c, d, e, wasm_v128_load(r5 + x))));
    }
  }
  if (y < h) {
    /* The last row of an odd height. */
    const float *r0 = ring_row(&g, src, reflect101(y - 2, h), w);
    const float *r1 = ring_row(&g, src, reflect101(y - 1, h), w);
    const float *r2 = ring_row(&g, src, y, w);
    const float *r3 = ring_row(&g, src, reflect101(y + 1, h), w);
    const float *r4 = ring_row(&g, src, reflect101(y + 2, h), w);
    float *o = dst + y * w;
    for (int32_t x = 0;; x += 4) {
      if (x > lastX) {
        if (x == lastX + 4) break;
        x = lastX;
      }
      wasm_v128_store(o + x, wasm_f32x4_mul(scale, taps5(wasm_v128_load(r0 + x), wasm_v128_load(r1 + x),
                                                         wasm_v128_load(r2 + x), wasm_v128_load(r3 + x),
                                                         wasm_v128_load(r4 + x))));
    }
  }
}
