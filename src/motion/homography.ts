/**
 * Homography (projective) model: 8 parameters, the matrix minus the identity with h22 fixed to 1:
 * p = (h00 - 1, h01, h02, h10, h11 - 1, h12, h20, h21),
 * M(p) = [[1 + p0, p1, p2], [p3, 1 + p4, p5], [p6, p7, 1]]; (x', y') = (M (x, y, 1)) / its third row.
 * Conventions and interface: motion-model.ts.
 */
import type { Mat3 } from './mat3.js';
import { composeViaMatrices, invertViaMatrices, jacobianDegree, type MotionModel, mono } from './motion-model.js';

// At the identity x' = x, y' = y, so d x'/d p6 = -x^2, d x'/d p7 = -x y, d y'/d p6 = -x y, d y'/d p7 = -y^2.
const jx = [[mono(1, 1, 0)], [mono(1, 0, 1)], [mono(1, 0, 0)], [], [], [], [mono(-1, 2, 0)], [mono(-1, 1, 1)]];
const jy = [[], [], [], [mono(1, 1, 0)], [mono(1, 0, 1)], [mono(1, 0, 0)], [mono(-1, 1, 1)], [mono(-1, 0, 2)]];

/** Projective warp of the plane (8 degrees of freedom). */
export const homographyModel: MotionModel = {
  name: 'homography',
  paramCount: 8,
  isAffine: false,
  identityInto(out: Float64Array): Float64Array {
    out.fill(0, 0, 8);
    return out;
  },
  toMatrixInto(out: Mat3, p: Float64Array): Mat3 {
    out[0] = 1 + (p[0] as number);
    out[1] = p[1] as number;
    out[2] = p[2] as number;
    out[3] = p[3] as number;
    out[4] = 1 + (p[4] as number);
    out[5] = p[5] as number;
    out[6] = p[6] as number;
    out[7] = p[7] as number;
    out[8] = 1;
    return out;
  },
  fromMatrixInto(out: Float64Array, m: Mat3): Float64Array {
    const k = 1 / (m[8] as number);
    out[0] = (m[0] as number) * k - 1;
    out[1] = (m[1] as number) * k;
    out[2] = (m[2] as number) * k;
    out[3] = (m[3] as number) * k;
    out[4] = (m[4] as number) * k - 1;
    out[5] = (m[5] as number) * k;
    out[6] = (m[6] as number) * k;
    out[7] = (m[7] as number) * k;
    return out;
  },
  jacobianInto(out: Float64Array, p: Float64Array, x: number, y: number): Float64Array {
    const h0 = 1 + (p[0] as number), h1 = p[1] as number, h2 = p[2] as number;
    const h3 = p[3] as number, h4 = 1 + (p[4] as number), h5 = p[5] as number;
    const h6 = p[6] as number, h7 = p[7] as number;
    const iz = 1 / (h6 * x + h7 * y + 1);
    const xp = (h0 * x + h1 * y + h2) * iz;
    const yp = (h3 * x + h4 * y + h5) * iz;
    out[0] = x * iz;
    out[1] = y * iz;
    out[2] = iz;
    out[3] = 0;
    out[4] = 0;
    out[5] = 0;
    out[6] = -x * xp * iz;
    out[7] = -y * xp * iz;
    out[8] = 0;
    out[9] = 0;
    out[10] = 0;
    out[11] = x * iz;
    out[12] = y * iz;
    out[13] = iz;
    out[14] = -x * yp * iz;
    out[15] = -y * yp * iz;
    return out;
  },
  identityJacobian: { x: jx, y: jy, degree: jacobianDegree(jx, jy) },
  composeInto(out: Float64Array, a: Float64Array, b: Float64Array): Float64Array {
    return composeViaMatrices(homographyModel, out, a, b);
  },
  invertInto(out: Float64Array, p: Float64Array): Float64Array | null {
    return invertViaMatrices(homographyModel, out, p);
  },
};
