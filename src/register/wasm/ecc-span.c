/*
 * The unchecked row span of the ECC registration's fused pass (src/register/ecc.ts, spanAffine), in
 * WebAssembly with 128-bit SIMD: for the template pixels x0..x1 of one row (index row + x) whose warped
 * positions (X + k dX, Y + k dY), k = x - x0, are known to lie inside the moving image (the span is
 * found by ecc.ts), the moving image is sampled bilinearly,
 *
 *   i = top + fy (bot - top),  top = v00 + fx (v01 - v00),  bot = v10 + fx (v11 - v10),
 *
 * (xi, yi the truncated position, fx, fy its fraction; pixel centres at integer coordinates, planes
 * tightly packed, i = y * w + x) and the sums
 *
 *   si = sum i, sii = sum i^2, sit = sum i t, a0 = sum i gx, b0 = sum i gy,
 *   and for deg 1: a1 = sum i gx x~, b1 = sum i gy x~,  x~ = xt + k invS
 *
 * are written to out[0..8] as [si, sii, sit, a0, a1, 0, b0, b1, 0] (the layout of ecc.ts's row sums).
 * Everything is in double precision as in the JavaScript, two pixels per f64x2. Groups of four pixels
 * whose taps are contiguous (unit column steps on one row: nearly all of a stabilizer's frame-to-frame
 * warps) read them with four vector loads; other pixels gather them as two 64-bit loads of adjacent
 * f32 pairs per pixel (wasm has no gather). The
 * position of pixel k is X + k dX (one rounding) rather than the JavaScript's running sum, and the
 * lanes are summed pairwise, so the sums agree with spanAffine to rounding, not bit for bit.
 *
 * Rebuild (clang-14 and lld-14): scripts/build-wasm.sh, which also regenerates
 * src/register/wasm/ecc-span-module.ts.
 */
#include <stdint.h>
#include <wasm_simd128.h>

#define INLINE static inline __attribute__((always_inline))

/* [v00 v01 v10 v11] of the pixel whose top-left tap is p (row stride w floats). */
INLINE v128_t taps(const float *p, int32_t w) {
  return wasm_v128_load64_lane(p + w, wasm_v128_load64_zero(p), 1);
}

/* Horizontal sum of the two lanes. */
INLINE double hsum(v128_t v) {
  return wasm_f64x2_extract_lane(v, 0) + wasm_f64x2_extract_lane(v, 1);
}

/* The bilinear value of one pixel, scalar (the odd last pixel of a span). */
INLINE double sample1(const float *img, int32_t w, double X, double Y, int32_t *o) {
  const int32_t xi = (int32_t)X;
  const int32_t yi = (int32_t)Y;
  *o = yi * w + xi;
  const double fx = X - (double)xi;
  const double fy = Y - (double)yi;
  const double v00 = img[*o];
  const double v10 = img[*o + w];
  const double top = v00 + fx * ((double)img[*o + 1] - v00);
  return top + fy * (v10 + fx * ((double)img[*o + w + 1] - v10) - top);
}

/* The running sums of a span, two pixels per f64x2. */
typedef struct {
  v128_t si, sii, sit, a0, a1, b0, b1;
} Sums;

/* The span parameters shared by the helpers. */
typedef struct {
  const float *img, *t, *gx, *gy;
  int32_t w, base, deg;
  v128_t vX, vY, vdX, vdY, vxt, vinvS;
} Span;

/* Adds two pixels' bilinear value iv (f64x2), their template, gradient planes and x~ (k) to the sums. */
INLINE void add2(Sums *S, const Span *P, v128_t iv, v128_t tv, v128_t gxv, v128_t gyv, v128_t k) {
  S->si = wasm_f64x2_add(S->si, iv);
  S->sii = wasm_f64x2_add(S->sii, wasm_f64x2_mul(iv, iv));
  S->sit = wasm_f64x2_add(S->sit, wasm_f64x2_mul(iv, tv));
  const v128_t a = wasm_f64x2_mul(iv, gxv);
  const v128_t b = wasm_f64x2_mul(iv, gyv);
  S->a0 = wasm_f64x2_add(S->a0, a);
  S->b0 = wasm_f64x2_add(S->b0, b);
  if (P->deg != 0) {
    const v128_t xv = wasm_f64x2_add(P->vxt, wasm_f64x2_mul(k, P->vinvS));
    S->a1 = wasm_f64x2_add(S->a1, wasm_f64x2_mul(a, xv));
    S->b1 = wasm_f64x2_add(S->b1, wasm_f64x2_mul(b, xv));
  }
}

/* Pixels k and k + 1 (lanes of k) of the span by gather: two 64-bit loads of tap pairs per pixel. */
INLINE void gather2(Sums *S, const Span *P, v128_t k, int32_t j) {
  const float *img = P->img;
  const int32_t w = P->w;
  const v128_t px = wasm_f64x2_add(P->vX, wasm_f64x2_mul(k, P->vdX));
  const v128_t py = wasm_f64x2_add(P->vY, wasm_f64x2_mul(k, P->vdY));
  const v128_t ix = wasm_i32x4_trunc_sat_f64x2_zero(px);
  const v128_t iy = wasm_i32x4_trunc_sat_f64x2_zero(py);
  const v128_t fx = wasm_f64x2_sub(px, wasm_f64x2_convert_low_i32x4(ix));
  const v128_t fy = wasm_f64x2_sub(py, wasm_f64x2_convert_low_i32x4(iy));
  const v128_t o = wasm_i32x4_add(wasm_i32x4_mul(iy, wasm_i32x4_splat(w)), ix);
  const v128_t ta = taps(img + wasm_i32x4_extract_lane(o, 0), w);
  const v128_t tb = taps(img + wasm_i32x4_extract_lane(o, 1), w);
  /* [A00 B00 A01 B01] and [A10 B10 A11 B11], widened pairwise. */
  const v128_t s0 = wasm_i32x4_shuffle(ta, tb, 0, 4, 1, 5);
  const v128_t s1 = wasm_i32x4_shuffle(ta, tb, 2, 6, 3, 7);
  const v128_t v00 = wasm_f64x2_promote_low_f32x4(s0);
  const v128_t v01 = wasm_f64x2_promote_low_f32x4(wasm_i64x2_shuffle(s0, s0, 1, 0));
  const v128_t v10 = wasm_f64x2_promote_low_f32x4(s1);
  const v128_t v11 = wasm_f64x2_promote_low_f32x4(wasm_i64x2_shuffle(s1, s1, 1, 0));
  const v128_t top = wasm_f64x2_add(v00, wasm_f64x2_mul(fx, wasm_f64x2_sub(v01, v00)));
  const v128_t bot = wasm_f64x2_add(v10, wasm_f64x2_mul(fx, wasm_f64x2_sub(v11, v10)));
  const v128_t iv = wasm_f64x2_add(top, wasm_f64x2_mul(fy, wasm_f64x2_sub(bot, top)));
  const int32_t i = P->base + j;
  add2(S, P, iv, wasm_f64x2_promote_low_f32x4(wasm_v128_load64_zero(P->t + i)),
       wasm_f64x2_promote_low_f32x4(wasm_v128_load64_zero(P->gx + i)),
       wasm_f64x2_promote_low_f32x4(wasm_v128_load64_zero(P->gy + i)), k);
}

/* The high two f32 lanes of v, widened. */
INLINE v128_t high2(v128_t v) {
  return wasm_f64x2_promote_low_f32x4(wasm_i64x2_shuffle(v, v, 1, 0));
}

/* Two pixels of a contiguous group: the bilinear value from widened tap vectors, then the sums. */
INLINE void unit2(Sums *S, const Span *P, v128_t v00, v128_t v01, v128_t v10, v128_t v11, v128_t fx, v128_t fy,
                  v128_t tv, v128_t gxv, v128_t gyv, v128_t k) {
  const v128_t top = wasm_f64x2_add(v00, wasm_f64x2_mul(fx, wasm_f64x2_sub(v01, v00)));
  const v128_t bot = wasm_f64x2_add(v10, wasm_f64x2_mul(fx, wasm_f64x2_sub(v11, v10)));
  const v128_t iv = wasm_f64x2_add(top, wasm_f64x2_mul(fy, wasm_f64x2_sub(bot, top)));
  add2(S, P, iv, tv, gxv, gyv, k);
}

__attribute__((export_name("ecc_span_affine"))) void ecc_span_affine(const float *img, const float *t, const float *gx,
                                                                       const float *gy, int32_t w, int32_t row,
                                                                       int32_t x0, int32_t x1, double X, double Y,
                                                                       double dX, double dY, double xt, double invS,
                                                                       int32_t deg, double *out) {
  const v128_t zero = wasm_f64x2_splat(0.0);
  Sums S = {zero, zero, zero, zero, zero, zero, zero};
  const Span P = {img, t, gx, gy, w, row + x0, deg, wasm_f64x2_splat(X), wasm_f64x2_splat(Y), wasm_f64x2_splat(dX),
                  wasm_f64x2_splat(dY), wasm_f64x2_splat(xt), wasm_f64x2_splat(invS)};
  v128_t k = wasm_f64x2_make(0.0, 1.0);
  const v128_t two = wasm_f64x2_splat(2.0);
  const v128_t four = wasm_f64x2_splat(4.0);
  const int32_t n = x1 - x0 + 1;
  int32_t j = 0;
  /*
   * Four pixels at a time. With 0 < dX < 2 the column steps are 0 or 1 (dX < 1) or 1 or 2 (dX > 1), so
   * first and last columns three apart mean unit steps, and equal rows at both ends (rows are
   * monotone) mean one row: then the taps are four vector loads. This holds for nearly every group of
   * a stabilizer's frame-to-frame warps; other groups are gathered.
   */
  const int contiguous = dX > 0.0 && dX < 2.0;
  for (; j + 4 <= n; j += 4, k = wasm_f64x2_add(k, four)) {
    const v128_t kh = wasm_f64x2_add(k, two);
    if (contiguous) {
      const v128_t pxl = wasm_f64x2_add(P.vX, wasm_f64x2_mul(k, P.vdX));
      const v128_t pxh = wasm_f64x2_add(P.vX, wasm_f64x2_mul(kh, P.vdX));
      const v128_t pyl = wasm_f64x2_add(P.vY, wasm_f64x2_mul(k, P.vdY));
      const v128_t pyh = wasm_f64x2_add(P.vY, wasm_f64x2_mul(kh, P.vdY));
      const int32_t ixa = (int32_t)wasm_f64x2_extract_lane(pxl, 0);
      const int32_t ixb = (int32_t)wasm_f64x2_extract_lane(pxh, 1);
      const int32_t iya = (int32_t)wasm_f64x2_extract_lane(pyl, 0);
      const int32_t iyb = (int32_t)wasm_f64x2_extract_lane(pyh, 1);
      if (ixb - ixa == 3 && iyb == iya) {
        /* Pixel q's column is ixa + q: its fraction is exactly the JavaScript's X - xi. */
        const v128_t cx = wasm_f64x2_add(wasm_f64x2_splat((double)ixa), wasm_f64x2_make(0.0, 1.0));
        const v128_t cy = wasm_f64x2_splat((double)iya);
        const float *p = img + iya * w + ixa;
        const v128_t r00 = wasm_v128_load(p), r01 = wasm_v128_load(p + 1);
        const v128_t r10 = wasm_v128_load(p + w), r11 = wasm_v128_load(p + w + 1);
        const int32_t i = P.base + j;
        const v128_t tv = wasm_v128_load(t + i), gxv = wasm_v128_load(gx + i), gyv = wasm_v128_load(gy + i);
        unit2(&S, &P, wasm_f64x2_promote_low_f32x4(r00), wasm_f64x2_promote_low_f32x4(r01),
              wasm_f64x2_promote_low_f32x4(r10), wasm_f64x2_promote_low_f32x4(r11), wasm_f64x2_sub(pxl, cx),
              wasm_f64x2_sub(pyl, cy), wasm_f64x2_promote_low_f32x4(tv), wasm_f64x2_promote_low_f32x4(gxv),
              wasm_f64x2_promote_low_f32x4(gyv), k);
        unit2(&S, &P, high2(r00), high2(r01), high2(r10), high2(r11), wasm_f64x2_sub(pxh, wasm_f64x2_add(cx, two)),
              wasm_f64x2_sub(pyh, cy), high2(tv), high2(gxv), high2(gyv), kh);
        continue;
      }
    }
    gather2(&S, &P, k, j);
    gather2(&S, &P, kh, j + 2);
  }
  for (; j + 2 <= n; j += 2, k = wasm_f64x2_add(k, two)) gather2(&S, &P, k, j);
  const v128_t si = S.si, sii = S.sii, sit = S.sit, a0 = S.a0, a1 = S.a1, b0 = S.b0, b1 = S.b1;
  double ssi = hsum(si), ssii = hsum(sii), ssit = hsum(sit);
  double sa0 = hsum(a0), sa1 = hsum(a1), sb0 = hsum(b0), sb1 = hsum(b1);
  if (j < n) {
    const double kk = (double)j;
    int32_t o;
    const double iv = sample1(img, w, X + kk * dX, Y + kk * dY, &o);
    const int32_t i = row + x0 + j;
    ssi += iv;
    ssii += iv * iv;
    ssit += iv * (double)t[i];
    const double a = iv * (double)gx[i];
    const double b = iv * (double)gy[i];
    sa0 += a;
    sb0 += b;
    if (deg != 0) {
      const double xv = xt + kk * invS;
      sa1 += a * xv;
      sb1 += b * xv;
    }
  }
  out[0] = ssi;
  out[1] = ssii;
  out[2] = ssit;
  out[3] = sa0;
  out[4] = sa1;
  out[5] = 0.0;
  out[6] = sb0;
  out[7] = sb1;
  out[8] = 0.0;
}
