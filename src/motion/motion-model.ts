/**
 * One interface for every motion model steady registers with (translation, euclidean, similarity,
 * affine, homography). A model maps a parameter vector p (Float64Array(paramCount)) to a 3x3 warp
 * matrix M(p) (row-major, motion/mat3.ts) acting on pixel coordinates: (x', y') = M(p) (x, y).
 *
 * Conventions:
 * - Every model's identity is the zero vector: p = 0 gives M = I. Angles are parameters (radians),
 *   never recovered with `acos`.
 * - `fromMatrixInto` projects any matrix onto the model (least change that keeps the model's form);
 *   for a matrix already of the model's form, toMatrix(fromMatrix(M)) = M.
 * - The Jacobian of the warp at the identity is also given symbolically (`identityJacobian`) as
 *   polynomials in (x, y). ECC (register/ecc.ts) uses them to turn per-pixel image moments into the
 *   steepest-descent projections and the Gauss-Newton Hessian without storing a per-pixel Jacobian.
 *
 * Reference: S. Baker and I. Matthews, "Lucas-Kanade 20 Years On: A Unifying Framework", IJCV 2004
 * (warp parameterisations, inverse-compositional update W(p) <- W(p) o W(dp)^-1).
 */
import type { Mat3 } from './mat3.js';
import { invertInto, multiplyInto, normalizeInto } from './mat3.js';
import type { ModelName } from './model-name.js';

/** One monomial `coef * x^px * y^py`. */
export interface Monomial {
  readonly coef: number;
  readonly px: number;
  readonly py: number;
}

/** A polynomial in (x, y): a sum of monomials. */
export type Polynomial = readonly Monomial[];

/**
 * The Jacobian of the warp at the identity, d(x', y')/dp, as polynomials in (x, y):
 * `x[k]` is d x'/d p_k and `y[k]` is d y'/d p_k.
 */
export interface JacobianPolynomial {
  readonly x: readonly Polynomial[];
  readonly y: readonly Polynomial[];
  /** Highest total degree of any monomial in `x` or `y` (0 translation, 1 affine family, 2 homography). */
  readonly degree: number;
}

/** A motion model: a parameterised family of 3x3 warps. */
export interface MotionModel {
  readonly name: ModelName;
  /** Number of parameters (2, 3, 4, 6, 8). */
  readonly paramCount: number;
  /** True when the third row of M(p) is always [0, 0, 1]. */
  readonly isAffine: boolean;
  /** Writes the identity parameters (all zeros) into `out`. Returns `out`. */
  identityInto(out: Float64Array): Float64Array;
  /** Writes M(params) into `out`. Returns `out`. */
  toMatrixInto(out: Mat3, params: Float64Array): Mat3;
  /**
   * Writes the parameters of the model's warp closest in form to `m` into `out` (exact when `m` is of
   * the model's form; `m` is first divided by m22). Returns `out`.
   */
  fromMatrixInto(out: Float64Array, m: Mat3): Float64Array;
  /**
   * Writes the Jacobian d(x', y')/dp at parameters `params` and pixel (x, y) into `out`
   * (length 2 * paramCount, row-major: first the paramCount derivatives of x', then those of y').
   */
  jacobianInto(out: Float64Array, params: Float64Array, x: number, y: number): Float64Array;
  /** The Jacobian at the identity as polynomials (used by ECC's fused accumulation). */
  readonly identityJacobian: JacobianPolynomial;
  /** out = parameters of M(a) * M(b) (apply b first, then a). Returns `out`. */
  composeInto(out: Float64Array, a: Float64Array, b: Float64Array): Float64Array;
  /** out = parameters of M(p)^-1; null (out untouched) when M(p) is singular. */
  invertInto(out: Float64Array, p: Float64Array): Float64Array | null;
}

/** Shorthand used by the model files to write Jacobian polynomials. */
export function mono(coef: number, px: number, py: number): Monomial {
  return { coef, px, py };
}

/** Evaluates a polynomial at (x, y). */
export function evaluatePolynomial(poly: Polynomial, x: number, y: number): number {
  let s = 0;
  for (const m of poly) s += m.coef * x ** m.px * y ** m.py;
  return s;
}

/** Highest total degree in a Jacobian's polynomials. */
export function jacobianDegree(x: readonly Polynomial[], y: readonly Polynomial[]): number {
  let d = 0;
  for (const poly of [...x, ...y]) for (const m of poly) d = Math.max(d, m.px + m.py);
  return d;
}

const scratchA = new Float64Array(9);
const scratchB = new Float64Array(9);

/**
 * Parameter composition and inversion through matrices, shared by all models: every model is a
 * matrix group, so the product (or inverse) of two members is a member and fromMatrix is exact.
 */
export function composeViaMatrices(model: MotionModel, out: Float64Array, a: Float64Array, b: Float64Array): Float64Array {
  model.toMatrixInto(scratchA, a);
  model.toMatrixInto(scratchB, b);
  multiplyInto(scratchA, scratchA, scratchB);
  return model.fromMatrixInto(out, scratchA);
}

/** Inverse through matrices; null when singular. */
export function invertViaMatrices(model: MotionModel, out: Float64Array, p: Float64Array): Float64Array | null {
  model.toMatrixInto(scratchA, p);
  if (invertInto(scratchB, scratchA) === null) return null;
  normalizeInto(scratchB, scratchB);
  return model.fromMatrixInto(out, scratchB);
}

/**
 * The inverse-compositional update W <- W * D^-1 where D is the warp of the step `delta`
 * (D = M(delta)), projected back onto the model so rounding never drifts out of its form.
 * `scratch` needs at least 18 doubles. Returns `out`, or null when D is singular.
 */
export function inverseCompositionalUpdateInto(
  model: MotionModel,
  out: Mat3,
  w: Mat3,
  delta: Float64Array,
  params: Float64Array,
  scratch: Float64Array,
): Mat3 | null {
  const d = scratch.subarray(0, 9);
  const dinv = scratch.subarray(9, 18);
  model.toMatrixInto(d, delta);
  if (invertInto(dinv, d) === null) return null;
  multiplyInto(out, w, dinv);
  model.fromMatrixInto(params, out);
  return model.toMatrixInto(out, params);
}
