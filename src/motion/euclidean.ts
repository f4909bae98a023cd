/**
 * Euclidean (rigid) model: 3 parameters p = (angleRad, tx, ty),
 * M(p) = [[cos a, -sin a, tx], [sin a, cos a, ty], [0, 0, 1]]: rotation about the pixel origin, then
 * translation (pixels). The angle is a parameter (never recovered with acos, which loses its sign):
 * fromMatrix takes atan2 of the rotation part's skew and trace, the closest rotation to any 2x2 block.
 * Conventions and interface: motion-model.ts.
 */
import type { Mat3 } from './mat3.js';
import { composeViaMatrices, invertViaMatrices, jacobianDegree, type MotionModel, mono } from './motion-model.js';

// d(x', y')/d(angle) at the identity is (-y, x).
const jx = [[mono(-1, 0, 1)], [mono(1, 0, 0)], []];
const jy = [[mono(1, 1, 0)], [], [mono(1, 0, 0)]];

/** Rotation + translation. */
export const euclideanModel: MotionModel = {
  name: 'euclidean',
  paramCount: 3,
  isAffine: true,
  identityInto(out: Float64Array): Float64Array {
    out[0] = 0;
    out[1] = 0;
    out[2] = 0;
    return out;
  },
  toMatrixInto(out: Mat3, p: Float64Array): Mat3 {
    const a = p[0] as number;
    const c = Math.cos(a);
    const s = Math.sin(a);
    out[0] = c;
    out[1] = -s;
    out[2] = p[1] as number;
    out[3] = s;
    out[4] = c;
    out[5] = p[2] as number;
    out[6] = 0;
    out[7] = 0;
    out[8] = 1;
    return out;
  },
  fromMatrixInto(out: Float64Array, m: Mat3): Float64Array {
    const k = 1 / (m[8] as number);
    out[0] = Math.atan2((m[3] as number) - (m[1] as number), (m[0] as number) + (m[4] as number));
    out[1] = (m[2] as number) * k;
    out[2] = (m[5] as number) * k;
    return out;
  },
  jacobianInto(out: Float64Array, p: Float64Array, x: number, y: number): Float64Array {
    const a = p[0] as number;
    const c = Math.cos(a);
    const s = Math.sin(a);
    out[0] = -s * x - c * y;
    out[1] = 1;
    out[2] = 0;
    out[3] = c * x - s * y;
    out[4] = 0;
    out[5] = 1;
    return out;
  },
  identityJacobian: { x: jx, y: jy, degree: jacobianDegree(jx, jy) },
  composeInto(out: Float64Array, a: Float64Array, b: Float64Array): Float64Array {
    return composeViaMatrices(euclideanModel, out, a, b);
  },
  invertInto(out: Float64Array, p: Float64Array): Float64Array | null {
    return invertViaMatrices(euclideanModel, out, p);
  },
};
