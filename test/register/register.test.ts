import { describe, expect, it } from 'vitest';
import { InputError, UsageError } from '../../src/errors.js';
import { createGrayImage, type GrayImage } from '../../src/image/gray-image.js';
import { invertInto, type Mat3, multiplyInto } from '../../src/motion/mat3.js';
import { MODEL_NAMES, type ModelName } from '../../src/motion/model-name.js';
import { createRegistrar, register } from '../../src/register/register.js';
import { REGISTER_DEFAULTS, resolveRegisterOptions } from '../../src/register/options.js';
import type { RegisterResult } from '../../src/register/result.js';
import { centredWarp, createRng, makePair, makeTexturedImage, meanCornerError, pairFromCanvas, perturbCorners, type Rng } from '../support/synthetic.js';

/** Small motions (anchor "small" level) are recovered to this mean corner error (px). */
const TOL_SMALL_PX = 0.05;
/** Large motions (anchor "large" level, robust starts) to this (px); the anchors' success criterion is 0.5. */
const TOL_LARGE_PX = 0.15;
/** Images of different sizes: error in the moving image's own pixels. */
const TOL_RESIZED_PX = 0.1;

const W = 320;
const H = 240;

/** A warp of the anchors' kind (gen_cases.py) for `model` at `level` strength, in a W x H image. */
function anchorWarp(model: ModelName, level: 'small' | 'large', rng: Rng): Mat3 {
  // gen_cases.py's magnitudes for 640x480, translations and corner shifts halved for 320x240.
  const p = level === 'small' ? { t: 1, rot: 1, scale: 0.01, aniso: 0.01, persp: 1 } : { t: 15, rot: 15, scale: 0.15, aniso: 0.06, persp: 12 };
  const draw = (v: number) => v * rng.uniform(0.5, 1) * rng.sign();
  const ang = rng.uniform(0, 2 * Math.PI);
  const t = p.t * rng.uniform(0.5, 1);
  const rot = model === 'translation' ? 0 : draw(p.rot);
  const scale = model === 'similarity' || model === 'affine' || model === 'homography' ? 1 + draw(p.scale) : 1;
  const aniso = model === 'affine' || model === 'homography' ? draw(p.aniso) : 0;
  const shear = model === 'affine' || model === 'homography' ? draw(p.aniso) : 0;
  const base = centredWarp(W, H, { tx: t * Math.cos(ang), ty: t * Math.sin(ang), angleDeg: rot, scale, aniso, shear });
  if (model !== 'homography') return base;
  const off: number[] = [];
  for (let k = 0; k < 4; k++) {
    const a = rng.uniform(0, 2 * Math.PI);
    const d = p.persp * rng.uniform(0.5, 1);
    off.push(d * Math.cos(a), d * Math.sin(a));
  }
  return perturbCorners(base, W, H, off);
}

function expectOk(r: RegisterResult): asserts r is Extract<RegisterResult, { ok: true }> {
  if (!r.ok) throw new Error(`registration failed: ${r.reason} (cc ${r.cc})`);
}

describe('register: synthetic pairs with known warps', () => {
  for (const model of MODEL_NAMES) {
    for (const level of ['small', 'large'] as const) {
      it(`${model}, ${level} motion`, () => {
        const rng = createRng(1000 + 10 * MODEL_NAMES.indexOf(model) + (level === 'large' ? 1 : 0));
        const truth = anchorWarp(model, level, rng);
        // Margin enough for the largest motion, as gen_cases.py's 704x528 canvas for 640x480.
        const { fixed, moving } = makePair(rng, truth, { width: W, height: H, marginPx: 48, gain: rng.uniform(0.9, 1.1), bias: rng.uniform(-10, 10), noiseSigma: 1.5 });
        const r = register(fixed, moving, { model });
        expectOk(r);
        expect(meanCornerError(r.matrix, truth, W, H)).toBeLessThan(level === 'small' ? TOL_SMALL_PX : TOL_LARGE_PX);
        expect(r.cc).toBeGreaterThan(0.95);
        expect(r.levels.length).toBe(3); // 320x240 -> 160x120 -> 80x60
        expect(r.iterations).toBe(r.levels.reduce((a, l) => a + l.iterations, 0));
        if (model !== 'homography') expect(Array.from(r.matrix.subarray(6))).toEqual([0, 0, 1]);
      });
    }
  }
});

describe('register: robust starts', () => {
  it('finds a 40 degree rotation with scale 0.8 from a log-polar start, which the identity start cannot', () => {
    const rng = createRng(21);
    const truth = centredWarp(W, H, { tx: 6, ty: -4, angleDeg: 40, scale: 0.8 });
    const { fixed, moving } = makePair(rng, truth, { width: W, height: H, marginPx: 80, noiseSigma: 1 });
    const plain = register(fixed, moving, { model: 'similarity', robustStart: 'none' });
    expect(!plain.ok || meanCornerError(plain.matrix, truth, W, H) > 5).toBe(true);
    const r = register(fixed, moving, { model: 'similarity' });
    expectOk(r);
    expect(r.start).toBe('log-polar');
    expect(meanCornerError(r.matrix, truth, W, H)).toBeLessThan(TOL_LARGE_PX);
  });

  it('finds a 100 px translation from a phase-correlation start, also when asked for it explicitly', () => {
    const rng = createRng(22);
    const truth = Float64Array.of(1, 0, 60, 0, 1, -40, 0, 0, 1);
    // Fine texture only (no structure larger than ~12 px), so the coarse levels give ECC no basin that wide.
    const canvas = makeTexturedImage(W + 2 * 70, H + 2 * 70, rng, { cellPx: 12, octaves: 3, shapes: 0 });
    const { fixed, moving } = pairFromCanvas(canvas, truth, { width: W, height: H, noiseSigma: 1 }, rng);
    const plain = register(fixed, moving, { model: 'translation', robustStart: 'none' });
    expect(!plain.ok || meanCornerError(plain.matrix, truth, W, H) > 5).toBe(true);
    for (const robustStart of ['auto', 'phase'] as const) {
      const r = register(fixed, moving, { model: 'translation', robustStart });
      expectOk(r);
      expect(r.start).toBe('phase');
      expect(meanCornerError(r.matrix, truth, W, H)).toBeLessThan(TOL_SMALL_PX);
    }
    // A registrar's call with robust = false leaves 'auto''s further starts out: as 'none' here.
    const reg = createRegistrar(W, H, { model: 'translation', robustStart: 'auto' });
    const seedOnly = reg.register(fixed, moving, null, false);
    expect(!seedOnly.ok || (seedOnly.start !== 'phase' && meanCornerError(seedOnly.matrix, truth, W, H) > 5)).toBe(true);
    const withStarts = reg.register(fixed, moving, null, true);
    expectOk(withStarts);
    expect(withStarts.start).toBe('phase');
  });

  it('starts from a seed, and falls back to phase correlation when the seed is wrong', () => {
    const rng = createRng(23);
    const truth = centredWarp(W, H, { tx: 45, ty: 30, angleDeg: 2 });
    const { fixed, moving } = makePair(rng, truth, { width: W, height: H, marginPx: 64, noiseSigma: 1 });
    const near = Float64Array.of(1, 0, 44, 0, 1, 31, 0, 0, 1);
    const seeded = register(fixed, moving, { model: 'euclidean', init: near, robustStart: 'none' });
    expectOk(seeded);
    expect(seeded.start).toBe('seed');
    expect(meanCornerError(seeded.matrix, truth, W, H)).toBeLessThan(TOL_SMALL_PX);
    const wrong = Float64Array.of(1, 0, -40, 0, 1, -30, 0, 0, 1);
    const r = register(fixed, moving, { model: 'euclidean', init: wrong });
    expectOk(r);
    expect(r.start).toBe('phase');
    expect(meanCornerError(r.matrix, truth, W, H)).toBeLessThan(TOL_SMALL_PX);
  });
});

describe('register: images of different sizes', () => {
  for (const [mw, mh, model] of [
    [480, 360, 'similarity'],
    [400, 330, 'affine'],
    [200, 150, 'homography'],
  ] as const) {
    it(`expresses W in original pixels: fixed ${W}x${H}, moving ${mw}x${mh}, ${model}`, () => {
      const rng = createRng(31 + mw);
      // Truth in original coordinates: the resize map R (fixed grid -> moving grid, pixel-centre
      // correct) after a small motion in fixed's grid.
      const sx = mw / W;
      const sy = mh / H;
      const r0 = Float64Array.of(sx, 0, 0.5 * (sx - 1), 0, sy, 0.5 * (sy - 1), 0, 0, 1);
      const motion = centredWarp(W, H, { tx: 3.2, ty: -2.1, angleDeg: 2, scale: model === 'similarity' ? 1.03 : 1 });
      const truth = multiplyInto(new Float64Array(9), r0, motion);
      const canvas = makeTexturedImage(W + 96, H + 96, rng);
      // The canvas must be sampled no coarser than moving: sample it through T W^-1 at moving's size.
      const { fixed, moving } = pairFromCanvas(canvas, truth, { width: W, height: H, movingWidth: mw, movingHeight: mh, noiseSigma: 0.5 }, rng);
      const r = register(fixed, moving, { model });
      expectOk(r);
      expect(meanCornerError(r.matrix, truth, W, H)).toBeLessThan(TOL_RESIZED_PX * Math.max(1, sx, sy));
      // The same through a registrar, with a seed given in original coordinates.
      const reg = createRegistrar(W, H, { model, robustStart: 'none' });
      const seeded = reg.register(fixed, moving, multiplyInto(new Float64Array(9), r0, Float64Array.of(1, 0, 2, 0, 1, -1, 0, 0, 1)));
      expectOk(seeded);
      expect(meanCornerError(seeded.matrix, truth, W, H)).toBeLessThan(TOL_RESIZED_PX * Math.max(1, sx, sy));
    });
  }
});

describe('register: masks', () => {
  /** Pastes an unrelated texture into `img` over the rectangle (x0, y0, w, h). */
  function paste(img: GrayImage, patch: GrayImage, x0: number, y0: number, w: number, h: number): void {
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) img.data[(y0 + y) * img.width + x0 + x] = patch.data[y * patch.width + x] as number;
  }
  function rectMask(x0: number, y0: number, w: number, h: number): GrayImage {
    const m = createGrayImage(W, H, new Float32Array(W * H).fill(255));
    for (let y = y0; y < y0 + h; y++) for (let x = x0; x < x0 + w; x++) m.data[y * W + x] = 0;
    return m;
  }

  it('ignores a masked-out object in the fixed image (templateMask) and in the moving image (inputMask)', () => {
    const rng = createRng(41);
    const truth = centredWarp(W, H, { tx: 2.5, ty: 1.5, angleDeg: 1, scale: 1.01 });
    const { fixed, moving } = makePair(rng, truth, { width: W, height: H, noiseSigma: 1 });
    const object = makeTexturedImage(140, 110, createRng(42));
    const fixedObj = createGrayImage(W, H, Float32Array.from(fixed.data));
    paste(fixedObj, object, 20, 20, 140, 110);
    const movingObj = createGrayImage(W, H, Float32Array.from(moving.data));
    paste(movingObj, object, 160, 110, 140, 110);
    const mask = rectMask(20, 20, 140, 110);
    const maskMoving = rectMask(160, 110, 140, 110);

    const withT = register(fixedObj, moving, { model: 'affine', templateMask: mask });
    expectOk(withT);
    expect(meanCornerError(withT.matrix, truth, W, H)).toBeLessThan(TOL_SMALL_PX);
    const withI = register(fixed, movingObj, { model: 'affine', inputMask: maskMoving });
    expectOk(withI);
    expect(meanCornerError(withI.matrix, truth, W, H)).toBeLessThan(TOL_SMALL_PX);
    // Unmasked, the object pulls the estimate (or breaks it).
    const without = register(fixedObj, moving, { model: 'affine' });
    expect(!without.ok || meanCornerError(without.matrix, truth, W, H) > 3 * meanCornerError(withT.matrix, truth, W, H)).toBe(true);
  });

  it('reports a flat fixed image as low-texture', () => {
    const flat = createGrayImage(W, H, new Float32Array(W * H).fill(128));
    const r = register(flat, flat, { model: 'translation' });
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.reason).toBe('low-texture');
  });
});

describe('createRegistrar', () => {
  it('gives the same result as the one-shot register, pair after pair', () => {
    const rng = createRng(51);
    const reg = createRegistrar(W, H, { model: 'homography' });
    for (let k = 0; k < 3; k++) {
      const truth = anchorWarp('homography', 'small', rng);
      const { fixed, moving } = makePair(rng, truth, { width: W, height: H, noiseSigma: 1 });
      const a = reg.register(fixed, moving);
      const b = register(fixed, moving, { model: 'homography' });
      expectOk(a);
      expectOk(b);
      expect(Array.from(a.matrix)).toEqual(Array.from(b.matrix));
      expect(meanCornerError(a.matrix, truth, W, H)).toBeLessThan(TOL_SMALL_PX);
    }
  });

  it('registerNext registers frame k onto frame k-1 like register, even when the caller reuses its buffers', () => {
    const rng = createRng(52);
    const canvas = makeTexturedImage(W + 80, H + 80, rng);
    // A little video: frame k = canvas(T cam_k^-1 y); frame k-1 (x) = frame k (W x) gives
    // W = cam_k cam_(k-1)^-1 (frame k-1 pixels -> frame k pixels).
    const frames: GrayImage[] = [];
    const cams: Mat3[] = [];
    for (let k = 0; k < 4; k++) {
      const cam = centredWarp(W, H, { tx: 3 * k + rng.uniform(-1, 1), ty: -2 * k + rng.uniform(-1, 1), angleDeg: rng.uniform(-1, 1) });
      cams.push(cam);
      frames.push(pairFromCanvas(canvas, cam, { width: W, height: H }).moving);
    }
    for (const gaussianSize of [5, 0, 7]) {
      const a = createRegistrar(W, H, { model: 'euclidean', gaussianSize });
      const b = createRegistrar(W, H, { model: 'euclidean', gaussianSize });
      const buffer = createGrayImage(W, H);
      buffer.data.set((frames[0] as GrayImage).data);
      const first = a.register(frames[0] as GrayImage, createGrayImage(W, H, Float32Array.from((frames[1] as GrayImage).data)));
      expectOk(first);
      for (let k = 2; k < 4; k++) {
        // The caller decodes each frame into the same buffer: the previous moving image is gone.
        buffer.data.set((frames[k] as GrayImage).data);
        const next = a.registerNext(buffer);
        const full = b.register(frames[k - 1] as GrayImage, frames[k] as GrayImage);
        expectOk(next);
        expectOk(full);
        expect(meanCornerError(next.matrix, full.matrix, W, H)).toBeLessThan(1e-9);
        const truth = multiplyInto(new Float64Array(9), cams[k] as Mat3, invertInto(new Float64Array(9), cams[k - 1] as Mat3) as Mat3);
        expect(meanCornerError(next.matrix, truth, W, H)).toBeLessThan(TOL_SMALL_PX);
      }
    }
    expect(() => createRegistrar(W, H).registerNext(createGrayImage(W, H))).toThrow(/previous register/);
  });

  it('refuses a fixed image of another size and masks of the wrong size', () => {
    const reg = createRegistrar(W, H);
    const img = createGrayImage(W + 2, H);
    expect(() => reg.register(img, img)).toThrow(/Expected fixed of 320x240 pixels/);
    expect(() => createRegistrar(W, H, { templateMask: createGrayImage(10, 10) })).toThrow(InputError);
    const r2 = createRegistrar(W, H, { inputMask: createGrayImage(10, 10) });
    const fixed = createGrayImage(W, H);
    expect(() => r2.register(fixed, fixed)).toThrow(/inputMask of 320x240/);
    expect(() => register(createGrayImage(4, 4), createGrayImage(4, 4))).toThrow(/at least 8x8/);
  });
});

describe('resolveRegisterOptions', () => {
  it('fills in the documented defaults', () => {
    expect(resolveRegisterOptions({})).toEqual(REGISTER_DEFAULTS);
    expect(REGISTER_DEFAULTS).toMatchObject({ model: 'affine', levels: 'auto', iterations: 50, epsilon: 0.05, gaussianSize: 5, robustStart: 'auto', init: null });
  });

  it('rejects bad values with the project message shape', () => {
    expect(() => resolveRegisterOptions({ model: 'rigid' as ModelName })).toThrow('Expected one of translation|euclidean|similarity|affine|homography for model but received "rigid"');
    expect(() => resolveRegisterOptions({ levels: 9 })).toThrow('Expected an integer 1..8 for levels but received 9');
    expect(() => resolveRegisterOptions({ gaussianSize: 4 })).toThrow('Expected 0 or an odd integer 1..31 for gaussianSize but received 4');
    expect(() => resolveRegisterOptions({ iterations: 0 })).toThrow(UsageError);
    expect(() => resolveRegisterOptions({ epsilon: -1 })).toThrow(UsageError);
    expect(() => resolveRegisterOptions({ robustStart: 'fourier' as 'auto' })).toThrow(/for robustStart/);
    expect(() => resolveRegisterOptions({ model: 'affine', init: Float64Array.of(1, 0, 0, 0, 1, 0, 0.001, 0, 1) })).toThrow(/third row \[0,0,1\] in init for model affine/);
    expect(resolveRegisterOptions({ model: 'homography', init: Float64Array.of(1, 0, 0, 0, 1, 0, 0.001, 0, 1) }).init?.[6]).toBe(0.001);
  });
});
