/**
 * Affine model: 6 parameters, the matrix's first two rows minus the identity, row-major:
 * p = (a00 - 1, a01, a02, a10, a11 - 1, a12), M(p) = [[1 + p0, p1, p2], [p3, 1 + p4, p5], [0, 0, 1]].
 * Conventions and interface: motion-model.ts.
 */
import type { Mat3 } from './mat3.js';
import { composeViaMatrices, invertViaMatrices, jacobianDegree, type MotionModel, mono } from './motion-model.js';

const jx = [[mono(1, 1, 0)], [mono(1, 0, 1)], [mono(1, 0, 0)], [], [], []];
const jy = [[], [], [], [mono(1, 1, 0)], [mono(1, 0, 1)], [mono(1, 0, 0)]];

/** General affine warp. */
export const affineModel: MotionModel = {
  name: 'affine',
  paramCount: 6,
  isAffine: true,
  identityInto(out: Float64Array): Float64Array {
    out.fill(0, 0, 6);
    return out;
  },
  toMatrixInto(out: Mat3, p: Float64Array): Mat3 {
    out[0] = 1 + (p[0] as number);
    out[1] = p[1] as number;
    out[2] = p[2] as number;
    out[3] = p[3] as number;
    out[4] = 1 + (p[4] as number);
    out[5] = p[5] as number;
    out[6] = 0;
    out[7] = 0;
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
    return out;
  },
  jacobianInto(out: Float64Array, _p: Float64Array, x: number, y: number): Float64Array {
    out[0] = x;
    out[1] = y;
    out[2] = 1;
    out[3] = 0;
    out[4] = 0;
    out[5] = 0;
    out[6] = 0;
    out[7] = 0;
    out[8] = 0;
    out[9] = x;
    out[10] = y;
    out[11] = 1;
    return out;
  },
  identityJacobian: { x: jx, y: jy, degree: jacobianDegree(jx, jy) },
  composeInto(out: Float64Array, a: Float64Array, b: Float64Array): Float64Array {
    return composeViaMatrices(affineModel, out, a, b);
  },
  invertInto(out: Float64Array, p: Float64Array): Float64Array | null {
    return invertViaMatrices(affineModel, out, p);
  },
};
