/**
 * Similarity model: 4 parameters p = (a, b, tx, ty), M(p) = [[1 + a, -b, tx], [b, 1 + a, ty], [0, 0, 1]]:
 * rotation by atan2(b, 1 + a) and isotropic scale hypot(1 + a, b) about the pixel origin, then
 * translation (pixels). Linear in p, which keeps the Gauss-Newton steps of ECC well behaved.
 * fromMatrix is the least-squares projection of the 2x2 block onto scaled rotations.
 * Conventions and interface: motion-model.ts.
 */
import type { Mat3 } from './mat3.js';
import { composeViaMatrices, invertViaMatrices, jacobianDegree, type MotionModel, mono } from './motion-model.js';

const jx = [[mono(1, 1, 0)], [mono(-1, 0, 1)], [mono(1, 0, 0)], []];
const jy = [[mono(1, 0, 1)], [mono(1, 1, 0)], [], [mono(1, 0, 0)]];

/** Rotation + isotropic scale + translation. */
export const similarityModel: MotionModel = {
  name: 'similarity',
  paramCount: 4,
  isAffine: true,
  identityInto(out: Float64Array): Float64Array {
    out.fill(0, 0, 4);
    return out;
  },
  toMatrixInto(out: Mat3, p: Float64Array): Mat3 {
    const a = 1 + (p[0] as number);
    const b = p[1] as number;
    out[0] = a;
    out[1] = -b;
    out[2] = p[2] as number;
    out[3] = b;
    out[4] = a;
    out[5] = p[3] as number;
    out[6] = 0;
    out[7] = 0;
    out[8] = 1;
    return out;
  },
  fromMatrixInto(out: Float64Array, m: Mat3): Float64Array {
    const k = 1 / (m[8] as number);
    out[0] = 0.5 * ((m[0] as number) + (m[4] as number)) * k - 1;
    out[1] = 0.5 * ((m[3] as number) - (m[1] as number)) * k;
    out[2] = (m[2] as number) * k;
    out[3] = (m[5] as number) * k;
    return out;
  },
  jacobianInto(out: Float64Array, _p: Float64Array, x: number, y: number): Float64Array {
    out[0] = x;
    out[1] = -y;
    out[2] = 1;
    out[3] = 0;
    out[4] = y;
    out[5] = x;
    out[6] = 0;
    out[7] = 1;
    return out;
  },
  identityJacobian: { x: jx, y: jy, degree: jacobianDegree(jx, jy) },
  composeInto(out: Float64Array, a: Float64Array, b: Float64Array): Float64Array {
    return composeViaMatrices(similarityModel, out, a, b);
  },
  invertInto(out: Float64Array, p: Float64Array): Float64Array | null {
    return invertViaMatrices(similarityModel, out, p);
  },
};
