/*
 * The per-pixel passes of the ECC registration (src/register/ecc.ts) for the affine models (Jacobian
 * degree 0 or 1) without masks, in WebAssembly with 128-bit SIMD. Three kernels over planes the caller
 * (src/register/wasm-ecc.ts) keeps in this module's memory, all float32, tightly packed, i = y * w + x,
 * pixel centres at integer coordinates, normalised coordinates x~ = xt + k invS along a row and
 * y~ = (y - cy) invS:
 *
 * ecc_span_affine: the unchecked row span of an iteration's fused pass (ecc.ts spanAffine). For the
 *   template pixels x0..x1 of one row whose warped positions (X + k dX, Y + k dY), k = x - x0, lie inside
 *   the moving image (ecc.ts finds the span), the moving image is sampled bilinearly,
 *     i = top + fy (bot - top),  top = v00 + fx (v01 - v00),  bot = v10 + fx (v11 - v10),
 *   and [sum i, sum i^2, sum i t, sum i gx, sum i gx x~, 0, sum i gy, sum i gy x~, 0] written to
 *   out[0..8] (the x~ sums only for degree 1).
 * ecc_template_sums: the template pass of ecc.ts templateSums: gradients gx = (t(x+1) - t(x-1)) half,
 *   gy = (t(y+1) - t(y-1)) half written to their planes for the interior pixels, and the sums over
 *   them: count, sum t, sum t^2, the moments m00, m01 (y~), m10 (x~) of gx, gy, t gx, t gy (degree 1;
 *   degree 0 fills only m00), and for degree 0 the sums of gx^2, gx gy, gy^2: 18 doubles, see TS_*.
 * ecc_hessian_moments: ecc.ts hessianMoments, the moments of degree <= 2 of gx^2, gx gy, gy^2 on every
 *   step-th row and column, in double precision in the JavaScript's order (the same sums, bit for bit).
 *
 * Precision. The span and template kernels compute each pixel in float32, four pixels per f32x4 (the
 * JavaScript computes in double), and sum in float32 lanes for at most FLUSH_GROUPS groups of four
 * before the lanes are added into double totals, so no float32 sum holds more than 64 terms. A float32
 * term carries a relative error of about 6e-8 and a 64-term float32 sum about 64 * 6e-8 of its
 * magnitude at worst; the totals then agree with the double sums to about 1e-6 of the sum of the terms'
 * magnitudes, four orders below what moves a registration by a thousandth of a pixel (ecc-wasm tests).
 * This is how float images are commonly correlated (float32 products, short float32 partial sums).
 * Sixteen-byte vector loads need no alignment in wasm. Groups of four span pixels whose taps are
 * contiguous (unit column steps on one row: nearly all of a stabilizer's frame-to-frame warps) read
 * them with four vector loads; other groups gather them pixel by pixel (wasm has no gather).
 *
 * Rebuild (clang-14 and lld-14): scripts/build-wasm.sh, which also regenerates
 * src/register/wasm/ecc-module.ts.
 */
#include <stdint.h>
#include <wasm_simd128.h>

#define INLINE static inline __attribute__((always_inline))

/* Groups of four pixels summed in float32 lanes before the lanes go into the double totals. */
#define FLUSH_GROUPS 16

/* The sum of the four float32 lanes, in double. */
INLINE double hsum4(v128_t v) {
  const v128_t lo = wasm_f64x2_promote_low_f32x4(v);
  const v128_t hi = wasm_f64x2_promote_low_f32x4(wasm_i64x2_shuffle(v, v, 1, 0));
  const v128_t s = wasm_f64x2_add(lo, hi);
  return wasm_f64x2_extract_lane(s, 0) + wasm_f64x2_extract_lane(s, 1);
}

/* The smaller of a and b. */
INLINE double dmin(double a, double b) {
  return a < b ? a : b;
}

/* Lane q holds q. */
INLINE v128_t lanes0123(void) {
  return wasm_f32x4_make(0.0f, 1.0f, 2.0f, 3.0f);
}

/* ---------------------------------------------------------------- span */

/* The float32 partial sums of a span and their double totals. */
typedef struct {
  v128_t si, sii, sit, a0, a1, b0, b1;
} Acc;
typedef struct {
  double si, sii, sit, a0, a1, b0, b1;
} Tot;

INLINE void flushSpan(Acc *A, Tot *T) {
  const v128_t z = wasm_f32x4_splat(0.0f);
  T->si += hsum4(A->si);
  T->sii += hsum4(A->sii);
  T->sit += hsum4(A->sit);
  T->a0 += hsum4(A->a0);
  T->a1 += hsum4(A->a1);
  T->b0 += hsum4(A->b0);
  T->b1 += hsum4(A->b1);
  A->si = A->sii = A->sit = A->a0 = A->a1 = A->b0 = A->b1 = z;
}

/* Adds four pixels: bilinear values iv, template tv, gradients gxv, gyv, normalised x~ xv. */
INLINE void add4(Acc *A, v128_t iv, v128_t tv, v128_t gxv, v128_t gyv, v128_t xv, int32_t deg) {
  A->si = wasm_f32x4_add(A->si, iv);
  A->sii = wasm_f32x4_add(A->sii, wasm_f32x4_mul(iv, iv));
  A->sit = wasm_f32x4_add(A->sit, wasm_f32x4_mul(iv, tv));
  const v128_t a = wasm_f32x4_mul(iv, gxv);
  const v128_t b = wasm_f32x4_mul(iv, gyv);
  A->a0 = wasm_f32x4_add(A->a0, a);
  A->b0 = wasm_f32x4_add(A->b0, b);
  if (deg != 0) {
    A->a1 = wasm_f32x4_add(A->a1, wasm_f32x4_mul(a, xv));
    A->b1 = wasm_f32x4_add(A->b1, wasm_f32x4_mul(b, xv));
  }
}

/* The bilinear value at (X, Y), in double (gathered pixels and the last pixels of a span). */
INLINE double sample1(const float *img, int32_t w, double X, double Y) {
  const int32_t xi = (int32_t)X;
  const int32_t yi = (int32_t)Y;
  const int32_t o = yi * w + xi;
  const double fx = X - (double)xi;
  const double fy = Y - (double)yi;
  const double v00 = img[o];
  const double v10 = img[o + w];
  const double top = v00 + fx * ((double)img[o + 1] - v00);
  return top + fy * (v10 + fx * ((double)img[o + w + 1] - v10) - top);
}

__attribute__((export_name("ecc_span_affine"))) void ecc_span_affine(const float *img, const float *t, const float *gx,
                                                                       const float *gy, int32_t w, int32_t row,
                                                                       int32_t x0, int32_t x1, double X, double Y,
                                                                       double dX, double dY, double xt, double invS,
                                                                       int32_t deg, double *out) {
  const v128_t z = wasm_f32x4_splat(0.0f);
  Acc A = {z, z, z, z, z, z, z};
  Tot T = {0, 0, 0, 0, 0, 0, 0};
  const v128_t stepT = wasm_f32x4_mul(lanes0123(), wasm_f32x4_splat((float)invS));
  const int32_t n = x1 - x0 + 1;
  const int32_t base = row + x0;
  const int contiguous = dX > 0.0 && dX < 2.0;
  const v128_t four = wasm_f32x4_splat(4.0f);
  int32_t j = 0;
  int32_t groups = 0;
  while (j + 4 <= n) {
    const double pX = X + (double)j * dX;
    const double pY = Y + (double)j * dY;
    const int32_t ixa = (int32_t)pX;
    const int32_t iya = (int32_t)pY;
    const double fx0 = pX - (double)ixa;
    const double fy0 = pY - (double)iya;
    /*
     * A run: the pixels k = 0, 1, ... from j whose column is ixa + k and whose row is iya, i.e. whose
     * fractions fx0 + k (dX - 1) and fy0 + k dY stay in [0, 1). Its length comes in closed form, rounded
     * down (a run one pixel short costs nothing: the next group starts a new run).
     */
    double len = 0.0;
    if (contiguous) {
      const double ex = dX - 1.0;
      len = (double)(n - j);
      if (ex > 0.0) len = dmin(len, __builtin_floor((1.0 - fx0) / ex));
      else if (ex < 0.0) len = dmin(len, __builtin_floor(fx0 / -ex));
      if (dY > 0.0) len = dmin(len, __builtin_floor((1.0 - fy0) / dY));
      else if (dY < 0.0) len = dmin(len, __builtin_floor(fy0 / -dY));
    }
    const int32_t runGroups = (int32_t)len >> 2;
    if (runGroups == 0) {
      /* Not four pixels on unit steps in one row: gather this group's taps pixel by pixel. */
      const int32_t i = base + j;
      const v128_t iv = wasm_f32x4_make((float)sample1(img, w, pX, pY), (float)sample1(img, w, X + (double)(j + 1) * dX, Y + (double)(j + 1) * dY),
                                        (float)sample1(img, w, X + (double)(j + 2) * dX, Y + (double)(j + 2) * dY),
                                        (float)sample1(img, w, X + (double)(j + 3) * dX, Y + (double)(j + 3) * dY));
      const v128_t xv = wasm_f32x4_add(wasm_f32x4_splat((float)(xt + (double)j * invS)), stepT);
      add4(&A, iv, wasm_v128_load(t + i), wasm_v128_load(gx + i), wasm_v128_load(gy + i), xv, deg);
      if (++groups == FLUSH_GROUPS) {
        flushSpan(&A, &T);
        groups = 0;
      }
      j += 4;
      continue;
    }
    /* The run's groups: taps by four vector loads, fractions and x~ linear in k (exact k in float32). */
    const float *p = img + iya * w + ixa;
    const float *tp = t + base + j, *gxp = gx + base + j, *gyp = gy + base + j;
    const v128_t fxa = wasm_f32x4_splat((float)fx0), fya = wasm_f32x4_splat((float)fy0);
    const v128_t sx = wasm_f32x4_splat((float)(dX - 1.0)), sy = wasm_f32x4_splat((float)dY);
    const v128_t xa = wasm_f32x4_splat((float)(xt + (double)j * invS)), sxt = wasm_f32x4_splat((float)invS);
    v128_t kv = lanes0123();
    for (int32_t g = 0; g < runGroups; g++, p += 4, tp += 4, gxp += 4, gyp += 4) {
      const v128_t fx = wasm_f32x4_add(fxa, wasm_f32x4_mul(kv, sx));
      const v128_t fy = wasm_f32x4_add(fya, wasm_f32x4_mul(kv, sy));
      const v128_t v00 = wasm_v128_load(p), v01 = wasm_v128_load(p + 1);
      const v128_t v10 = wasm_v128_load(p + w), v11 = wasm_v128_load(p + w + 1);
      const v128_t top = wasm_f32x4_add(v00, wasm_f32x4_mul(fx, wasm_f32x4_sub(v01, v00)));
      const v128_t bot = wasm_f32x4_add(v10, wasm_f32x4_mul(fx, wasm_f32x4_sub(v11, v10)));
      const v128_t iv = wasm_f32x4_add(top, wasm_f32x4_mul(fy, wasm_f32x4_sub(bot, top)));
      add4(&A, iv, wasm_v128_load(tp), wasm_v128_load(gxp), wasm_v128_load(gyp), wasm_f32x4_add(xa, wasm_f32x4_mul(kv, sxt)), deg);
      kv = wasm_f32x4_add(kv, four);
      if (++groups == FLUSH_GROUPS) {
        flushSpan(&A, &T);
        groups = 0;
      }
    }
    j += 4 * runGroups;
  }
  flushSpan(&A, &T);
  for (; j < n; j++) {
    const double kk = (double)j;
    const double iv = sample1(img, w, X + kk * dX, Y + kk * dY);
    const int32_t i = base + j;
    T.si += iv;
    T.sii += iv * iv;
    T.sit += iv * (double)t[i];
    const double a = iv * (double)gx[i];
    const double b = iv * (double)gy[i];
    T.a0 += a;
    T.b0 += b;
    if (deg != 0) {
      const double xv = xt + kk * invS;
      T.a1 += a * xv;
      T.b1 += b * xv;
    }
  }
  out[0] = T.si;
  out[1] = T.sii;
  out[2] = T.sit;
  out[3] = T.a0;
  out[4] = deg != 0 ? T.a1 : 0.0;
  out[5] = 0.0;
  out[6] = T.b0;
  out[7] = deg != 0 ? T.b1 : 0.0;
  out[8] = 0.0;
}

/* ---------------------------------------------------------------- template */

/* Layout of ecc_template_sums' output (doubles). */
enum {
  TS_N, TS_ST, TS_STT,
  TS_GX00, TS_GX01, TS_GX10,
  TS_GY00, TS_GY01, TS_GY10,
  TS_TGX00, TS_TGX01, TS_TGX10,
  TS_TGY00, TS_TGY01, TS_TGY10,
  TS_XX, TS_XY, TS_YY,
  TS_COUNT
};

/* Row sums of the template pass: t, t^2, and per gradient q of gx, gy, t gx, t gy: q and q x~. */
typedef struct {
  v128_t t, tt, g0, g1, k0, k1, u0, u1, v0, v1, xx, xy, yy;
} RowAcc;
typedef struct {
  double t, tt, g0, g1, k0, k1, u0, u1, v0, v1, xx, xy, yy;
} RowTot;

INLINE void flushRow(RowAcc *A, RowTot *T) {
  const v128_t z = wasm_f32x4_splat(0.0f);
  T->t += hsum4(A->t);
  T->tt += hsum4(A->tt);
  T->g0 += hsum4(A->g0);
  T->g1 += hsum4(A->g1);
  T->k0 += hsum4(A->k0);
  T->k1 += hsum4(A->k1);
  T->u0 += hsum4(A->u0);
  T->u1 += hsum4(A->u1);
  T->v0 += hsum4(A->v0);
  T->v1 += hsum4(A->v1);
  T->xx += hsum4(A->xx);
  T->xy += hsum4(A->xy);
  T->yy += hsum4(A->yy);
  A->t = A->tt = A->g0 = A->g1 = A->k0 = A->k1 = A->u0 = A->u1 = A->v0 = A->v1 = A->xx = A->xy = A->yy = z;
}

/* The sums of one template pixel in double (the last pixels of a row). */
INLINE void addScalar(RowTot *T, double tv, double a, double b, double xt, int32_t deg) {
  T->t += tv;
  T->tt += tv * tv;
  T->g0 += a;
  T->k0 += b;
  T->u0 += tv * a;
  T->v0 += tv * b;
  if (deg != 0) {
    T->g1 += a * xt;
    T->k1 += b * xt;
    T->u1 += tv * a * xt;
    T->v1 += tv * b * xt;
  } else {
    T->xx += a * a;
    T->xy += a * b;
    T->yy += b * b;
  }
}

__attribute__((export_name("ecc_template_sums"))) void ecc_template_sums(const float *t, float *gx, float *gy, int32_t w,
                                                                           int32_t h, double half, double xStart,
                                                                           double invS, double cy, int32_t deg,
                                                                           double *out) {
  for (int32_t k = 0; k < TS_COUNT; k++) out[k] = 0.0;
  const v128_t z = wasm_f32x4_splat(0.0f);
  const v128_t vhalf = wasm_f32x4_splat((float)half);
  const v128_t stepT = wasm_f32x4_mul(lanes0123(), wasm_f32x4_splat((float)invS));
  const int32_t n = w - 2;
  for (int32_t y = 1; y < h - 1; y++) {
    const int32_t row = y * w;
    RowAcc A = {z, z, z, z, z, z, z, z, z, z, z, z, z};
    RowTot T = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    int32_t j = 0;
    int32_t groups = 0;
    for (; j + 4 <= n; j += 4) {
      const int32_t i = row + 1 + j;
      const v128_t tv = wasm_v128_load(t + i);
      const v128_t a = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(t + i + 1), wasm_v128_load(t + i - 1)), vhalf);
      const v128_t b = wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(t + i + w), wasm_v128_load(t + i - w)), vhalf);
      wasm_v128_store(gx + i, a);
      wasm_v128_store(gy + i, b);
      const v128_t ta = wasm_f32x4_mul(tv, a);
      const v128_t tb = wasm_f32x4_mul(tv, b);
      A.t = wasm_f32x4_add(A.t, tv);
      A.tt = wasm_f32x4_add(A.tt, wasm_f32x4_mul(tv, tv));
      A.g0 = wasm_f32x4_add(A.g0, a);
      A.k0 = wasm_f32x4_add(A.k0, b);
      A.u0 = wasm_f32x4_add(A.u0, ta);
      A.v0 = wasm_f32x4_add(A.v0, tb);
      if (deg != 0) {
        const v128_t xv = wasm_f32x4_add(wasm_f32x4_splat((float)(xStart + (double)j * invS)), stepT);
        A.g1 = wasm_f32x4_add(A.g1, wasm_f32x4_mul(a, xv));
        A.k1 = wasm_f32x4_add(A.k1, wasm_f32x4_mul(b, xv));
        A.u1 = wasm_f32x4_add(A.u1, wasm_f32x4_mul(ta, xv));
        A.v1 = wasm_f32x4_add(A.v1, wasm_f32x4_mul(tb, xv));
      } else {
        A.xx = wasm_f32x4_add(A.xx, wasm_f32x4_mul(a, a));
        A.xy = wasm_f32x4_add(A.xy, wasm_f32x4_mul(a, b));
        A.yy = wasm_f32x4_add(A.yy, wasm_f32x4_mul(b, b));
      }
      if (++groups == FLUSH_GROUPS) {
        flushRow(&A, &T);
        groups = 0;
      }
    }
    flushRow(&A, &T);
    for (; j < n; j++) {
      const int32_t i = row + 1 + j;
      const float a = (t[i + 1] - t[i - 1]) * (float)half;
      const float b = (t[i + w] - t[i - w]) * (float)half;
      gx[i] = a;
      gy[i] = b;
      addScalar(&T, (double)t[i], (double)a, (double)b, xStart + (double)j * invS, deg);
    }
    const double y1 = ((double)y - cy) * invS;
    out[TS_ST] += T.t;
    out[TS_STT] += T.tt;
    out[TS_GX00] += T.g0;
    out[TS_GY00] += T.k0;
    out[TS_TGX00] += T.u0;
    out[TS_TGY00] += T.v0;
    if (deg != 0) {
      out[TS_GX01] += T.g0 * y1;
      out[TS_GX10] += T.g1;
      out[TS_GY01] += T.k0 * y1;
      out[TS_GY10] += T.k1;
      out[TS_TGX01] += T.u0 * y1;
      out[TS_TGX10] += T.u1;
      out[TS_TGY01] += T.v0 * y1;
      out[TS_TGY10] += T.v1;
    } else {
      out[TS_XX] += T.xx;
      out[TS_XY] += T.xy;
      out[TS_YY] += T.yy;
    }
  }
  out[TS_N] = (double)(h > 2 && w > 2 ? (h - 2) * (w - 2) : 0);
}

/* ---------------------------------------------------------------- Hessian */

/*
 * Moments m[a][b] (a + b <= deg <= 2) of gx^2, gx gy, gy^2 on rows 1, 1 + step, ... and columns 1,
 * 1 + step, ... of the interior, written as out[0] = pixels visited, then for each of xx, xy, yy the six
 * moments (0,0) (0,1) (0,2) (1,0) (1,1) (2,0) (those above deg stay 0): 19 doubles. The same
 * operations in the same order as ecc.ts hessianMoments (x~ a running sum), so the same doubles.
 */
__attribute__((export_name("ecc_hessian_moments"))) void ecc_hessian_moments(const float *gx, const float *gy, int32_t w,
                                                                               int32_t h, double xStart, double invS,
                                                                               double cy, int32_t deg, int32_t step,
                                                                               double *out) {
  for (int32_t k = 0; k < 19; k++) out[k] = 0.0;
  double count = 0.0;
  const double dxt = invS * (double)step;
  for (int32_t y = 1; y < h - 1; y += step) {
    const int32_t row = y * w;
    double a0 = 0, a1 = 0, a2 = 0, b0 = 0, b1 = 0, b2 = 0, c0 = 0, c1 = 0, c2 = 0;
    int32_t rn = 0;
    double xt = xStart;
    for (int32_t x = 1; x < w - 1; x += step, xt += dxt) {
      const int32_t i = row + x;
      const double gxv = gx[i];
      const double gyv = gy[i];
      const double xx = gxv * gxv;
      const double xy = gxv * gyv;
      const double yy = gyv * gyv;
      rn++;
      a0 += xx;
      b0 += xy;
      c0 += yy;
      if (deg == 0) continue;
      const double p2 = xt * xt;
      a1 += xx * xt;
      a2 += xx * p2;
      b1 += xy * xt;
      b2 += xy * p2;
      c1 += yy * xt;
      c2 += yy * p2;
    }
    if (rn == 0) continue;
    count += (double)rn;
    const double y1 = ((double)y - cy) * invS;
    const double y2 = y1 * y1;
    const double r[3][3] = {{a0, a1, a2}, {b0, b1, b2}, {c0, c1, c2}};
    for (int32_t m = 0; m < 3; m++) {
      double *o = out + 1 + 6 * m;
      /* The order of ecc.ts foldRow5: a outer, b inner. */
      o[0] += r[m][0];
      if (deg >= 1) o[1] += r[m][0] * y1;
      if (deg >= 2) o[2] += r[m][0] * y2;
      if (deg >= 1) o[3] += r[m][1];
      if (deg >= 2) o[4] += r[m][1] * y1;
      if (deg >= 2) o[5] += r[m][2];
    }
  }
  out[0] = count;
}
