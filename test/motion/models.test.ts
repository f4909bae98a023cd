import { describe, expect, it } from 'vitest';
import { invertInto, type Mat3, multiplyInto } from '../../src/motion/mat3.js';
import { MODEL_NAMES, type ModelName } from '../../src/motion/model-name.js';
import { evaluatePolynomial, inverseCompositionalUpdateInto, type MotionModel } from '../../src/motion/motion-model.js';
import { getMotionModel, MOTION_MODELS } from '../../src/motion/models.js';
import { createRng, type Rng } from '../support/synthetic.js';

/** Round trips and group laws hold to rounding. */
const TOL_EXACT = 1e-10;
/** Central finite differences with step 1e-6 agree with the analytic Jacobian to this (relative). */
const TOL_JACOBIAN_REL = 1e-6;
const FD_STEP = 1e-6;
const TRIALS = 50;

const PARAM_COUNTS: Record<ModelName, number> = { translation: 2, euclidean: 3, similarity: 4, affine: 6, homography: 8 };

/** Random parameters of a realistic size for each model (pixel-scale translations, small linear parts). */
function randomParams(model: MotionModel, rng: Rng): Float64Array {
  const p = new Float64Array(model.paramCount);
  switch (model.name) {
    case 'translation':
      p.set([rng.uniform(-40, 40), rng.uniform(-40, 40)]);
      break;
    case 'euclidean':
      p.set([rng.uniform(-Math.PI, Math.PI), rng.uniform(-40, 40), rng.uniform(-40, 40)]);
      break;
    case 'similarity':
      p.set([rng.uniform(-0.3, 0.3), rng.uniform(-0.3, 0.3), rng.uniform(-40, 40), rng.uniform(-40, 40)]);
      break;
    case 'affine':
      p.set([rng.uniform(-0.2, 0.2), rng.uniform(-0.2, 0.2), rng.uniform(-40, 40), rng.uniform(-0.2, 0.2), rng.uniform(-0.2, 0.2), rng.uniform(-40, 40)]);
      break;
    case 'homography':
      p.set([
        rng.uniform(-0.2, 0.2),
        rng.uniform(-0.2, 0.2),
        rng.uniform(-40, 40),
        rng.uniform(-0.2, 0.2),
        rng.uniform(-0.2, 0.2),
        rng.uniform(-40, 40),
        rng.uniform(-2e-4, 2e-4),
        rng.uniform(-2e-4, 2e-4),
      ]);
      break;
  }
  return p;
}

function mapPoint(m: Mat3, x: number, y: number): [number, number] {
  const z = (m[6] as number) * x + (m[7] as number) * y + (m[8] as number);
  return [((m[0] as number) * x + (m[1] as number) * y + (m[2] as number)) / z, ((m[3] as number) * x + (m[4] as number) * y + (m[5] as number)) / z];
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

describe('motion models', () => {
  it('are looked up by name with the documented parameter counts', () => {
    for (const name of MODEL_NAMES) {
      const m = getMotionModel(name);
      expect(m.name).toBe(name);
      expect(m.paramCount).toBe(PARAM_COUNTS[name]);
      expect(MOTION_MODELS[name]).toBe(m);
      expect(m.isAffine).toBe(name !== 'homography');
    }
  });

  for (const name of MODEL_NAMES) {
    describe(name, () => {
      const model = getMotionModel(name);
      const n = model.paramCount;

      it('maps the identity parameters (all zero) to the identity matrix', () => {
        const p = model.identityInto(new Float64Array(n).fill(7));
        expect(Array.from(p)).toEqual(new Array(n).fill(0));
        expect(maxAbsDiff(model.toMatrixInto(new Float64Array(9), p), [1, 0, 0, 0, 1, 0, 0, 0, 1])).toBe(0);
      });

      it('round-trips parameters through the matrix (fromMatrix . toMatrix = id), also for a scaled matrix', () => {
        const rng = createRng(11);
        const m = new Float64Array(9);
        const q = new Float64Array(n);
        for (let k = 0; k < TRIALS; k++) {
          const p = randomParams(model, rng);
          model.toMatrixInto(m, p);
          expect(maxAbsDiff(model.fromMatrixInto(q, m), p)).toBeLessThan(TOL_EXACT);
          // A homogeneous matrix times a scalar is the same warp.
          const scaled = m.map((v) => v * 2.5);
          expect(maxAbsDiff(model.fromMatrixInto(q, scaled), p)).toBeLessThan(TOL_EXACT);
        }
      });

      it('composes like matrices, and composing with the inverse gives the identity', () => {
        const rng = createRng(12);
        const ma = new Float64Array(9);
        const mb = new Float64Array(9);
        const mab = new Float64Array(9);
        const c = new Float64Array(n);
        const inv = new Float64Array(n);
        for (let k = 0; k < TRIALS; k++) {
          const a = randomParams(model, rng);
          const b = randomParams(model, rng);
          model.composeInto(c, a, b);
          multiplyInto(mab, model.toMatrixInto(ma, a), model.toMatrixInto(mb, b));
          const got = model.toMatrixInto(new Float64Array(9), c);
          for (const [x, y] of [
            [0, 0],
            [639, 0],
            [639, 479],
            [0, 479],
          ] as const) {
            const [u, v] = mapPoint(got, x, y);
            const [u2, v2] = mapPoint(mab, x, y);
            expect(Math.hypot(u - u2, v - v2)).toBeLessThan(1e-8);
          }
          expect(model.invertInto(inv, a)).not.toBeNull();
          expect(maxAbsDiff(model.composeInto(c, a, inv), new Float64Array(n))).toBeLessThan(TOL_EXACT);
          expect(maxAbsDiff(model.composeInto(c, inv, a), new Float64Array(n))).toBeLessThan(TOL_EXACT);
        }
      });

      it('composes associatively', () => {
        const rng = createRng(13);
        const ab = new Float64Array(n);
        const bc = new Float64Array(n);
        const left = new Float64Array(n);
        const right = new Float64Array(n);
        for (let k = 0; k < TRIALS; k++) {
          const a = randomParams(model, rng);
          const b = randomParams(model, rng);
          const c = randomParams(model, rng);
          model.composeInto(left, model.composeInto(ab, a, b), c);
          model.composeInto(right, a, model.composeInto(bc, b, c));
          // Compare as warps of the corners (angles may differ by 2 pi).
          const ml = model.toMatrixInto(new Float64Array(9), left);
          const mr = model.toMatrixInto(new Float64Array(9), right);
          const [u, v] = mapPoint(ml, 639, 479);
          const [u2, v2] = mapPoint(mr, 639, 479);
          expect(Math.hypot(u - u2, v - v2)).toBeLessThan(1e-7);
        }
      });

      it('has an analytic Jacobian that matches central finite differences', () => {
        const rng = createRng(14);
        const jac = new Float64Array(2 * n);
        const m = new Float64Array(9);
        for (let k = 0; k < TRIALS; k++) {
          const p = randomParams(model, rng);
          const x = rng.uniform(-50, 700);
          const y = rng.uniform(-50, 500);
          model.jacobianInto(jac, p, x, y);
          for (let j = 0; j < n; j++) {
            const hp = Float64Array.from(p);
            const hm = Float64Array.from(p);
            const step = FD_STEP * Math.max(1, Math.abs(p[j] as number));
            hp[j] = (hp[j] as number) + step;
            hm[j] = (hm[j] as number) - step;
            const [xp, yp] = mapPoint(model.toMatrixInto(m, hp), x, y);
            const [xm, ym] = mapPoint(model.toMatrixInto(m, hm), x, y);
            const fdx = (xp - xm) / (2 * step);
            const fdy = (yp - ym) / (2 * step);
            const scale = Math.max(1, Math.abs(fdx), Math.abs(fdy));
            expect(Math.abs((jac[j] as number) - fdx) / scale).toBeLessThan(TOL_JACOBIAN_REL);
            expect(Math.abs((jac[n + j] as number) - fdy) / scale).toBeLessThan(TOL_JACOBIAN_REL);
          }
        }
      });

      it("gives an identity Jacobian polynomial equal to the Jacobian at the identity", () => {
        const rng = createRng(15);
        const jac = new Float64Array(2 * n);
        const zero = new Float64Array(n);
        for (let k = 0; k < TRIALS; k++) {
          const x = rng.uniform(-2, 2);
          const y = rng.uniform(-2, 2);
          model.jacobianInto(jac, zero, x, y);
          for (let j = 0; j < n; j++) {
            expect(evaluatePolynomial(model.identityJacobian.x[j] ?? [], x, y)).toBeCloseTo(jac[j] as number, 12);
            expect(evaluatePolynomial(model.identityJacobian.y[j] ?? [], x, y)).toBeCloseTo(jac[n + j] as number, 12);
          }
        }
        expect(model.identityJacobian.degree).toBe(name === 'translation' ? 0 : name === 'homography' ? 2 : 1);
      });

      it('applies the inverse-compositional update W <- W M(dp)^-1 and stays in the model', () => {
        const rng = createRng(16);
        const w = new Float64Array(9);
        const out = new Float64Array(9);
        const expected = new Float64Array(9);
        const dInv = new Float64Array(9);
        for (let k = 0; k < TRIALS; k++) {
          model.toMatrixInto(w, randomParams(model, rng));
          const delta = randomParams(model, rng).map((v) => v * 0.01);
          expect(inverseCompositionalUpdateInto(model, out, w, delta, new Float64Array(n), new Float64Array(27))).not.toBeNull();
          invertInto(dInv, model.toMatrixInto(new Float64Array(9), delta));
          multiplyInto(expected, w, dInv);
          const [u, v] = mapPoint(out, 320, 240);
          const [u2, v2] = mapPoint(expected, 320, 240);
          expect(Math.hypot(u - u2, v - v2)).toBeLessThan(1e-8);
        }
      });
    });
  }

  it('euclidean keeps the sign of the angle, also near +-pi (atan2, never acos)', () => {
    const model = getMotionModel('euclidean');
    const q = new Float64Array(3);
    for (const deg of [-179, -90, -12.5, -0.001, 0.001, 33, 179.5]) {
      const p = Float64Array.of((deg * Math.PI) / 180, 3, -4);
      model.fromMatrixInto(q, model.toMatrixInto(new Float64Array(9), p));
      expect((q[0] as number) * (180 / Math.PI)).toBeCloseTo(deg, 9);
    }
  });

  it('projects a general affine matrix onto the closest similarity and euclidean', () => {
    // M = s R(a) + E with E = [[e, f], [f, -e]], orthogonal to every scaled rotation: the similarity
    // projection (least squares over the 2x2 block) must return s R(a) exactly.
    const s = 1.2;
    const a = 0.3;
    const e = 0.05;
    const f = -0.02;
    const m = Float64Array.of(s * Math.cos(a) + e, -s * Math.sin(a) + f, 7, s * Math.sin(a) + f, s * Math.cos(a) - e, -2, 0, 0, 1);
    const sim = getMotionModel('similarity').fromMatrixInto(new Float64Array(4), m);
    expect(sim[0]).toBeCloseTo(s * Math.cos(a) - 1, 12);
    expect(sim[1]).toBeCloseTo(s * Math.sin(a), 12);
    expect(Array.from(sim.subarray(2))).toEqual([7, -2]);
    const euc = getMotionModel('euclidean').fromMatrixInto(new Float64Array(3), m);
    expect(euc[0]).toBeCloseTo(a, 12);
  });
});
