import { describe, expect, it } from 'vitest';
import { createGrayImage } from '../../src/image/gray-image.js';
import { createRegistrar, register, releaseRegisterWorkspace } from '../../src/register/register.js';
import type { RegisterResult } from '../../src/register/result.js';
import { centredWarp, createRng, makePair, meanCornerError } from '../support/synthetic.js';

/**
 * One-shot `register` keeps the last call's workspace for the next call of the same size and options.
 * Reuse must never change a result: each call is checked against a fresh registrar on the same pair
 * (bit-identical matrices) and against the known warp.
 */
const TOL_PX = 0.05;

function pairOf(width: number, height: number, seed: number, tx: number, angleDeg: number) {
  const truth = centredWarp(width, height, { tx, ty: -0.6 * tx, angleDeg, scale: 1, aniso: 0, shear: 0 });
  return { truth, ...makePair(createRng(seed), truth, { width, height, noiseSigma: 1 }) };
}

function same(a: RegisterResult, b: RegisterResult): void {
  expect(a.ok).toBe(true);
  expect(b.ok).toBe(true);
  if (!a.ok || !b.ok) return;
  expect(Array.from(a.matrix)).toEqual(Array.from(b.matrix));
  expect(a.iterations).toBe(b.iterations);
}

describe('register() workspace reuse', () => {
  it('gives the same result as a fresh registrar, call after call, across sizes and options', () => {
    releaseRegisterWorkspace();
    const cases = [
      { ...pairOf(160, 120, 1, 2.5, 1.5), model: 'euclidean' as const },
      { ...pairOf(160, 120, 2, -1.2, -0.8), model: 'euclidean' as const },
      { ...pairOf(120, 96, 3, 1.7, 0.5), model: 'euclidean' as const },
      { ...pairOf(160, 120, 4, 0.9, 1.1), model: 'affine' as const },
      { ...pairOf(160, 120, 5, -2.1, 0.3), model: 'euclidean' as const },
    ];
    for (const c of cases) {
      const shared = register(c.fixed, c.moving, { model: c.model });
      const fresh = createRegistrar(c.fixed.width, c.fixed.height, { model: c.model }).register(c.fixed, c.moving);
      same(shared, fresh);
      if (shared.ok) expect(meanCornerError(shared.matrix, c.truth, c.fixed.width, c.fixed.height)).toBeLessThan(TOL_PX);
    }
  });

  it('passes options.init as the seed of a reused workspace', () => {
    releaseRegisterWorkspace();
    const c = pairOf(160, 120, 7, 3, 2);
    register(c.fixed, c.moving, { model: 'euclidean' });
    const seeded = register(c.fixed, c.moving, { model: 'euclidean', init: c.truth });
    const fresh = createRegistrar(160, 120, { model: 'euclidean', init: c.truth }).register(c.fixed, c.moving);
    same(seeded, fresh);
    expect(seeded.ok && seeded.start).toBe('seed');
  });

  it('does not reuse a workspace across masks (each call gets its own)', () => {
    releaseRegisterWorkspace();
    const c = pairOf(160, 120, 8, 1.5, 0.7);
    const mask = createGrayImage(160, 120);
    // Left half used only.
    for (let y = 0; y < 120; y++) for (let x = 0; x < 80; x++) mask.data[y * 160 + x] = 255;
    const masked = register(c.fixed, c.moving, { model: 'euclidean', templateMask: mask });
    const fresh = createRegistrar(160, 120, { model: 'euclidean', templateMask: mask }).register(c.fixed, c.moving);
    same(masked, fresh);
    const unmasked = register(c.fixed, c.moving, { model: 'euclidean' });
    same(unmasked, createRegistrar(160, 120, { model: 'euclidean' }).register(c.fixed, c.moving));
  });
});
