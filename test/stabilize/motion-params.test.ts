import { describe, expect, it } from 'vitest';
import type { Mat3 } from '../../src/motion/mat3.js';
import { composeMotionInto, createMotionParams, decomposeMotionInto } from '../../src/stabilize/motion-params.js';
import { shakeUniform } from '../support/shake.js';

const TOL = 1e-12;
const TOL_PX = 1e-9;
const CX = 319.5;
const CY = 179.5;

/** Maps (x, y) through m (slow, with the perspective division). */
function map(m: Mat3, x: number, y: number): [number, number] {
  const w = (m[6] as number) * x + (m[7] as number) * y + (m[8] as number);
  return [((m[0] as number) * x + (m[1] as number) * y + (m[2] as number)) / w, ((m[3] as number) * x + (m[4] as number) * y + (m[5] as number)) / w];
}

describe('motion parameters about the frame centre', () => {
  it('a rotation of 30 degrees about the origin: the centre moves by R c - c, angle 30 degrees, scale 1', () => {
    const a = Math.PI / 6;
    const m = Float64Array.of(Math.cos(a), -Math.sin(a), 0, Math.sin(a), Math.cos(a), 0, 0, 0, 1);
    const p = decomposeMotionInto(createMotionParams(), m, CX, CY);
    expect(p.dx).toBeCloseTo(Math.cos(a) * CX - Math.sin(a) * CY - CX, 9);
    expect(p.dy).toBeCloseTo(Math.sin(a) * CX + Math.cos(a) * CY - CY, 9);
    expect(Math.abs(p.angleRad - a)).toBeLessThan(TOL);
    expect(Math.abs(p.scale - 1)).toBeLessThan(TOL);
  });

  it('keeps the sign of the angle (atan2, not acos): -20 degrees and 170 degrees come back as themselves', () => {
    for (const deg of [-20, 170, -170, 0.001]) {
      const a = (deg * Math.PI) / 180;
      const m = composeMotionInto(new Float64Array(9), 3, -4, a, 1.2, CX, CY);
      const p = decomposeMotionInto(createMotionParams(), m, CX, CY);
      expect(Math.abs(p.angleRad - a)).toBeLessThan(TOL);
    }
  });

  it('round trip: compose then decompose gives the parameters back (seeded property test)', () => {
    const u = shakeUniform(11);
    const p = createMotionParams();
    const m = new Float64Array(9);
    for (let i = 0; i < 200; i++) {
      const dx = (u() - 0.5) * 400;
      const dy = (u() - 0.5) * 400;
      const a = (u() - 0.5) * 2 * Math.PI * 0.999;
      const s = 0.5 + u();
      decomposeMotionInto(p, composeMotionInto(m, dx, dy, a, s, CX, CY), CX, CY);
      expect(Math.abs(p.dx - dx)).toBeLessThan(TOL_PX);
      expect(Math.abs(p.dy - dy)).toBeLessThan(TOL_PX);
      expect(Math.abs(p.angleRad - a)).toBeLessThan(1e-12);
      expect(Math.abs(p.scale - s)).toBeLessThan(1e-12);
    }
  });

  it('the composed similarity maps the centre to c + (dx, dy) and turns a unit vector by the angle, scaled', () => {
    const m = composeMotionInto(new Float64Array(9), 5, -7, 0.3, 1.1, CX, CY);
    const [x0, y0] = map(m, CX, CY);
    const [x1, y1] = map(m, CX + 1, CY);
    expect(Math.abs(x0 - (CX + 5))).toBeLessThan(TOL_PX);
    expect(Math.abs(y0 - (CY - 7))).toBeLessThan(TOL_PX);
    expect(Math.abs(x1 - x0 - 1.1 * Math.cos(0.3))).toBeLessThan(TOL_PX);
    expect(Math.abs(y1 - y0 - 1.1 * Math.sin(0.3))).toBeLessThan(TOL_PX);
  });

  it('an anisotropic affine gives the closest similarity: diag(1.1, 0.9) is scale 1, angle 0', () => {
    const m = Float64Array.of(1.1, 0, 2 - 0.1 * CX, 0, 0.9, 3 + 0.1 * CY, 0, 0, 1);
    const p = decomposeMotionInto(createMotionParams(), m, CX, CY);
    expect(Math.abs(p.dx - 2)).toBeLessThan(TOL_PX);
    expect(Math.abs(p.dy - 3)).toBeLessThan(TOL_PX);
    expect(Math.abs(p.angleRad)).toBeLessThan(TOL);
    expect(Math.abs(p.scale - 1)).toBeLessThan(TOL);
  });

  it('a homography: the centre displacement is exact and angle/scale are those of the Jacobian at the centre (against finite differences)', () => {
    const m = Float64Array.of(1.02, -0.05, 4, 0.04, 0.99, -3, 2e-5, -1e-5, 1);
    const p = decomposeMotionInto(createMotionParams(), m, CX, CY);
    const [px, py] = map(m, CX, CY);
    expect(Math.abs(p.dx - (px - CX))).toBeLessThan(TOL_PX);
    expect(Math.abs(p.dy - (py - CY))).toBeLessThan(TOL_PX);
    const h = 1e-4;
    const [xa, ya] = map(m, CX + h, CY);
    const [xb, yb] = map(m, CX - h, CY);
    const [xc, yc] = map(m, CX, CY + h);
    const [xd, yd] = map(m, CX, CY - h);
    const j00 = (xa - xb) / (2 * h);
    const j10 = (ya - yb) / (2 * h);
    const j01 = (xc - xd) / (2 * h);
    const j11 = (yc - yd) / (2 * h);
    const TOL_FD = 1e-7;
    expect(Math.abs(p.angleRad - Math.atan2(j10 - j01, j00 + j11))).toBeLessThan(TOL_FD);
    expect(Math.abs(p.scale - 0.5 * Math.hypot(j00 + j11, j10 - j01))).toBeLessThan(TOL_FD);
  });

  it('a homography scaled by any factor decomposes the same (it is the same map)', () => {
    const m = Float64Array.of(1.02, -0.05, 4, 0.04, 0.99, -3, 2e-5, -1e-5, 1);
    const m2 = m.map((v) => v * 2.5) as Float64Array;
    const a = decomposeMotionInto(createMotionParams(), m, CX, CY);
    const b = decomposeMotionInto(createMotionParams(), m2, CX, CY);
    expect(Math.abs(a.dx - b.dx)).toBeLessThan(TOL_PX);
    expect(Math.abs(a.dy - b.dy)).toBeLessThan(TOL_PX);
    expect(Math.abs(a.angleRad - b.angleRad)).toBeLessThan(TOL);
    expect(Math.abs(a.scale - b.scale)).toBeLessThan(TOL);
  });
});
