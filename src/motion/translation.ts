/**
 * Translation model: 2 parameters p = (tx, ty), M(p) = [[1, 0, tx], [0, 1, ty], [0, 0, 1]] (pixels).
 * Conventions and interface: motion-model.ts.
 */
import type { Mat3 } from './mat3.js';
import { composeViaMatrices, invertViaMatrices, jacobianDegree, type MotionModel, mono } from './motion-model.js';

const jx = [[mono(1, 0, 0)], []];
const jy = [[], [mono(1, 0, 0)]];

/** Pure translation (tx, ty) in pixels. */
export const translationModel: MotionModel = {
  name: 'translation',
  paramCount: 2,
  isAffine: true,
  identityInto(out: Float64Array): Float64Array {
    out[0] = 0;
    out[1] = 0;
    return out;
  },
  toMatrixInto(out: Mat3, p: Float64Array): Mat3 {
    out[0] = 1;
    out[1] = 0;
    out[2] = p[0] as number;
    out[3] = 0;
    out[4] = 1;
    out[5] = p[1] as number;
    out[6] = 0;
    out[7] = 0;
    out[8] = 1;
    return out;
  },
  fromMatrixInto(out: Float64Array, m: Mat3): Float64Array {
    const s = m[8] as number;
    out[0] = (m[2] as number) / s;
    out[1] = (m[5] as number) / s;
    return out;
  },
  jacobianInto(out: Float64Array): Float64Array {
    out[0] = 1;
    out[1] = 0;
    out[2] = 0;
    out[3] = 1;
    return out;
  },
  identityJacobian: { x: jx, y: jy, degree: jacobianDegree(jx, jy) },
  composeInto(out: Float64Array, a: Float64Array, b: Float64Array): Float64Array {
    return composeViaMatrices(translationModel, out, a, b);
  },
  invertInto(out: Float64Array, p: Float64Array): Float64Array | null {
    return invertViaMatrices(translationModel, out, p);
  },
};
