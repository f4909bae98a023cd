import { describe, expect, it } from 'vitest';
import { blurInto, gaussianKernel } from '../../src/image/blur.js';
import { createGrayImage, type GrayImage } from '../../src/image/gray-image.js';
import { getMotionModel } from '../../src/motion/models.js';
import { createEccWorkspace, hessianMoments, spanAffine, templateSums } from '../../src/register/ecc.js';
import { createWasmEccPlanes, wasmEccAvailable, wasmEccSpans, wasmEccTemplates } from '../../src/register/wasm-ecc.js';
import { mulberry32 } from '../support/rng.js';
import { centredWarp, createRng, makePair, meanCornerError } from '../support/synthetic.js';

/**
 * The WebAssembly sums against the JavaScript's, relative to the sum's scale (pixel count times the
 * largest term). The kernel forms each term in float32 (relative error a few times 6e-8) and sums at
 * most 64 terms in a float32 lane before they go into a double total (error at most 64 * 6e-8 = 3.8e-6
 * of the largest term per term summed, the worst case, with every rounding in one direction).
 */
const TOL_SUM_REL = 4e-6;
/** A float32 gradient against the JavaScript's float32 rounding of the double one: a couple of float32 ulps of its scale. */
const TOL_GRADIENT_REL = 3e-7;
/**
 * Whole alignments with either kernel agree with each other to this (mean corner distance, px): sum
 * errors of 1e-6 relative move the Gauss-Newton fixed point by orders of magnitude less...
 */
const TOL_KERNELS_PX = 1e-4;
/** ... and recover the known warp to this (mean corner error, px). */
const TOL_TRUTH_PX = 0.05;

const SUMS = ['si', 'sii', 'sit', 'a0', 'a1', 'a2', 'b0', 'b1', 'b2'];

/** A seeded level: moving image, template and gradient planes of w x h (values like ecc.ts's). */
function planes(rnd: () => number, w: number, h: number) {
  const fill = (lo: number, hi: number) => Float32Array.from({ length: w * h }, () => lo + (hi - lo) * rnd());
  return { img: fill(0, 255), t: fill(0, 255), gx: fill(-60, 60), gy: fill(-60, 60) };
}

/** The scale of each sum over n pixels: n times the largest possible magnitude of its term. */
function scales(n: number, xtMax: number): number[] {
  const g = 60 * 255;
  return [n * 255, n * 255 * 255, n * 255 * 255, n * g, n * g * xtMax, 1, n * g, n * g * xtMax, 1];
}

/** The test image as ECC's pyramid pre-filter leaves it. */
function blurred(img: GrayImage): GrayImage {
  return blurInto(createGrayImage(img.width, img.height), img, gaussianKernel(5), new Float32Array(img.width * img.height));
}

/**
 * Aligns `moving` onto `fixed` (template mask `mask`) from the identity with the JavaScript kernel and with
 * the default one: each kernel's warp, iterations and WebAssembly spans run, after checking that each
 * recovers `truth` to TOL_TRUTH_PX and that the two agree to TOL_KERNELS_PX.
 */
function alignWithBothKernels(fixed: GrayImage, moving: GrayImage, mask: Uint8Array | null, name: 'translation' | 'euclidean' | 'affine', truth: Float64Array) {
  const { width: W, height: H } = fixed;
  const runs = (['js', 'auto'] as const).map((kernel) => {
    const ws = createEccWorkspace(W, H, getMotionModel(name), { kernel });
    expect(ws.setTemplate(fixed, mask)).toBeNull();
    const before = wasmEccSpans();
    const warp = Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);
    const r = ws.align(moving, null, warp, { maxIterations: 50, epsilonPx: 1e-4 });
    expect(meanCornerError(warp, truth, W, H)).toBeLessThan(TOL_TRUTH_PX);
    return { kernel, warp, iterations: r.iterations, spans: wasmEccSpans() - before };
  });
  expect(meanCornerError((runs[0] as { warp: Float64Array }).warp, (runs[1] as { warp: Float64Array }).warp, W, H)).toBeLessThan(TOL_KERNELS_PX);
  return runs;
}

describe('WebAssembly ECC span kernel', () => {
  it('is available on this engine (Node has WebAssembly SIMD)', () => {
    expect(wasmEccAvailable()).toBe(true);
  });

  it('matches spanAffine on seeded random images, warps and spans (both degrees, spans touching the edges)', () => {
    const rnd = mulberry32(20240611);
    let checked = 0;
    for (let trial = 0; trial < 40; trial++) {
      const w = 5 + Math.floor(rnd() * 90);
      const h = 4 + Math.floor(rnd() * 60);
      const { img, t, gx, gy } = planes(rnd, w, h);
      const kernel = createWasmEccPlanes(w * h);
      expect(kernel).not.toBeNull();
      if (kernel === null) return;
      kernel.setTemplate(t, gx, gy);
      kernel.setImage(img);
      const invS = 2 / Math.max(w - 1, h - 1);
      // Span endpoints P0 = (X, Y) and P1 inside [0, w - 1 - eps] x [0, h - 1 - eps]; some on the edges.
      const eps = 1e-6;
      const edge = (lim: number) => {
        const r = rnd();
        return r < 0.2 ? 0 : r < 0.4 ? lim - 1 - eps : rnd() * (lim - 1 - eps);
      };
      for (let s = 0; s < 12; s++) {
        const x0 = Math.floor(rnd() * w);
        const n = s < 2 ? s + 1 : 1 + Math.floor(rnd() * (w - x0));
        const x1 = Math.min(w - 1, x0 + n - 1);
        const len = x1 - x0 + 1;
        let X = edge(w);
        let Y = edge(h);
        let dX = len > 1 ? (edge(w) - X) / (len - 1) : 0;
        let dY = len > 1 ? (edge(h) - Y) / (len - 1) : 0;
        if (s % 2 === 1 && len > 1) {
          // Near-identity steps (a stabilizer's warps: the kernel's contiguous-tap groups), crossing a
          // row now and then; the span ends on the right or bottom edge when it reaches that far.
          dX = Math.min(0.9 + 0.2 * rnd(), (w - 1 - eps) / (len - 1));
          dY = (rnd() - 0.5) * 0.05;
          X = Math.min(rnd() * (w - 1 - eps), w - 1 - eps - dX * (len - 1));
          const yEnd = Y + dY * (len - 1);
          if (yEnd < 0 || yEnd > h - 1 - eps) Y = dY > 0 ? h - 1 - eps - dY * (len - 1) : -dY * (len - 1);
          if (Y < 0 || Y > h - 1 - eps) dY = 0;
          Y = Math.min(Math.max(Y, 0), h - 1 - eps);
        }
        const row = Math.floor(rnd() * h) * w;
        const xt = -1 + 2 * rnd();
        for (const deg of [0, 1]) {
          const js = new Float64Array(9).fill(0.5);
          const wa = new Float64Array(9).fill(0.5);
          spanAffine(img, t, gx, gy, w, row, x0, x1, X, Y, dX, dY, xt, invS, deg, js);
          kernel.spanAffine(w, row, x0, x1, X, Y, dX, dY, xt, invS, deg, wa);
          const scale = scales(len, Math.abs(xt) + len * invS);
          for (let k = 0; k < 9; k++) {
            const err = Math.abs((wa[k] as number) - (js[k] as number)) / (scale[k] as number);
            if (!(err <= TOL_SUM_REL)) expect.fail(`trial ${trial} span ${s} deg ${deg} ${SUMS[k]}: ${wa[k]} vs ${js[k]}`);
            checked++;
          }
          if (deg === 0) expect(wa[4]).toBe(0.5);
        }
      }
    }
    expect(checked).toBe(40 * 12 * 2 * 9);
  });

  it('template pass: the same gradients and sums as templateSums, and the Hessian moments bit for bit', () => {
    const rnd = mulberry32(7301);
    const MSTRIDE = 5; // ecc.ts's moment table stride (degree <= 4)
    let checked = 0;
    for (let trial = 0; trial < 24; trial++) {
      // Odd and even widths, rows shorter and longer than one float32 partial sum (64 pixels).
      const w = trial < 3 ? 3 + trial : 5 + Math.floor(rnd() * 200);
      const h = trial < 3 ? 3 + 2 * trial : 3 + Math.floor(rnd() * 60);
      // A smooth scene plus noise, as a pre-filtered frame looks (gradients of either sign).
      const t = Float32Array.from({ length: w * h }, (_, i) => {
        const x = i % w;
        const y = Math.floor(i / w);
        return 128 + 90 * Math.sin(x * 0.21 + trial) * Math.cos(y * 0.17) + 20 * rnd();
      });
      const s = Math.max(w - 1, h - 1, 1) / 2;
      const invS = 1 / s;
      const cx = (w - 1) / 2;
      const cy = (h - 1) / 2;
      const xStart = (1 - cx) * invS;
      const yPow = new Float64Array(MSTRIDE * h);
      for (let y = 0; y < h; y++) {
        let v = 1;
        for (let p = 0; p < MSTRIDE; p++) {
          yPow[p * h + y] = v;
          v *= (y - cy) * invS;
        }
      }
      const planesW = createWasmEccPlanes(w * h);
      expect(planesW).not.toBeNull();
      if (planesW === null) return;
      for (const deg of [0, 1]) {
        const tables = () => Array.from({ length: 7 }, () => new Float64Array(MSTRIDE * MSTRIDE));
        const [gX, gY, tgX, tgY, xx, xy, yy] = tables() as Float64Array[];
        const scalars = new Float64Array(3);
        const gxJs = new Float32Array(w * h);
        const gyJs = new Float32Array(w * h);
        templateSums(t, gxJs, gyJs, null, w, h, s, xStart, invS, yPow, deg, scalars, gX!, gY!, tgX!, tgY!, xx!, xy!, yy!);
        const gxW = new Float32Array(w * h);
        const gyW = new Float32Array(w * h);
        const before = wasmEccTemplates();
        const r = Float64Array.from(planesW.templateSums(t, w, h, 0.5 * s, xStart, invS, cy, deg, gxW, gyW));
        expect(wasmEccTemplates()).toBe(before + 1);
        const n = (w - 2) * (h - 2);
        expect(r[0]).toBe(scalars[0]);
        expect(r[0]).toBe(n);
        const gScale = 255 * 0.5 * s;
        for (let y = 1; y < h - 1; y++) {
          for (let x = 1; x < w - 1; x++) {
            const i = y * w + x;
            if (!(Math.abs((gxW[i] as number) - (gxJs[i] as number)) <= TOL_GRADIENT_REL * gScale)) expect.fail(`gx at ${x},${y}: ${gxW[i]} vs ${gxJs[i]}`);
            if (!(Math.abs((gyW[i] as number) - (gyJs[i] as number)) <= TOL_GRADIENT_REL * gScale)) expect.fail(`gy at ${x},${y}: ${gyW[i]} vs ${gyJs[i]}`);
          }
        }
        // Each value against the JavaScript, relative to n times its term's largest magnitude.
        const xMax = Math.max(Math.abs(xStart), 1);
        const yMax = Math.max(Math.abs(cy * invS), 1);
        const expectClose = (got: number, want: number, termMax: number, what: string) => {
          if (!(Math.abs(got - want) <= TOL_SUM_REL * n * termMax)) expect.fail(`trial ${trial} deg ${deg} ${what}: ${got} vs ${want}`);
          checked++;
        };
        expectClose(r[1] as number, scalars[1] as number, 255, 'sum t');
        expectClose(r[2] as number, scalars[2] as number, 255 * 255, 'sum t^2');
        const moments = [gX, gY, tgX, tgY] as Float64Array[];
        for (let q = 0; q < 4; q++) {
          const m = moments[q] as Float64Array;
          const termMax = (q < 2 ? 1 : 255) * gScale;
          expectClose(r[3 + 3 * q] as number, m[0] as number, termMax, `table ${q} m00`);
          expectClose(r[4 + 3 * q] as number, m[1] as number, termMax * yMax, `table ${q} m01`);
          expectClose(r[5 + 3 * q] as number, m[MSTRIDE] as number, termMax * xMax, `table ${q} m10`);
        }
        if (deg === 0) {
          expectClose(r[15] as number, xx![0] as number, gScale * gScale, 'sum gx^2');
          expectClose(r[16] as number, xy![0] as number, gScale * gScale, 'sum gx gy');
          expectClose(r[17] as number, yy![0] as number, gScale * gScale, 'sum gy^2');
        } else {
          expect([r[15], r[16], r[17]]).toEqual([0, 0, 0]);
        }
        // Hessian moments over the same gradient planes: the same operations in the same order.
        for (const hdeg of [0, 1, 2]) {
          for (const step of [1, 2, 3]) {
            const [hx, hy, hh] = tables() as Float64Array[];
            const nJs = hessianMoments(gxW, gyW, null, w, h, xStart, invS, yPow, hdeg, step, hx!, hy!, hh!);
            const hw = planesW.hessianMoments(w, h, xStart, invS, cy, hdeg, step);
            expect(hw[0]).toBe(nJs);
            const idx = [0, 1, 2, MSTRIDE, MSTRIDE + 1, 2 * MSTRIDE];
            const want = [hx, hy, hh] as Float64Array[];
            for (let q = 0; q < 3; q++) for (let k = 0; k < 6; k++) expect(hw[1 + 6 * q + k]).toBe((want[q] as Float64Array)[idx[k] as number]);
          }
        }
      }
    }
    expect(checked).toBeGreaterThan(24 * 2 * 14);
  });

  it('runs in a workspace by default, and whole alignments agree with the JavaScript kernel and the truth', () => {
    const W = 120;
    const H = 90;
    for (const name of ['translation', 'euclidean', 'affine'] as const) {
      const truth = centredWarp(W, H, { tx: 1.3, ty: -0.8, angleDeg: name === 'translation' ? 0 : 1.2, scale: name === 'affine' ? 1.02 : 1 });
      const pair = makePair(createRng(31), truth, { width: W, height: H });
      for (const { kernel, iterations, spans } of alignWithBothKernels(blurred(pair.fixed), blurred(pair.moving), null, name, truth)) {
        if (kernel === 'js') expect(spans).toBe(0);
        else {
          // At most one span per interior row and iteration; nearly every row has one here.
          expect(spans).toBeGreaterThan(((H - 2) * iterations) / 2);
          expect(spans).toBeLessThanOrEqual((H - 2) * iterations);
        }
      }
    }
  });

  it('takes a template mask run by run: the spans skip the masked pixels, and the warp comes out as without the corruption it hides', () => {
    const W = 120;
    const H = 90;
    // Blocks of the moving image overwritten with unrelated texture (an object that moved on its own), and a
    // template mask that leaves them out, grown by 4 px (the blur's reach and the warp's shift).
    const boxes = [
      [20, 10, 30, 25],
      [70, 40, 35, 40],
    ] as const;
    const mask = new Uint8Array(W * H).fill(1);
    for (const [x0, y0, bw, bh] of boxes) {
      for (let y = Math.max(0, y0 - 4); y < Math.min(H, y0 + bh + 4); y++) for (let x = Math.max(0, x0 - 4); x < Math.min(W, x0 + bw + 4); x++) mask[y * W + x] = 0;
    }
    for (const name of ['euclidean', 'affine'] as const) {
      const truth = centredWarp(W, H, { tx: 1.1, ty: -0.6, angleDeg: 0.8, scale: name === 'affine' ? 1.015 : 1 });
      const pair = makePair(createRng(57), truth, { width: W, height: H });
      const other = makePair(createRng(58), truth, { width: W, height: H }).moving;
      for (const [x0, y0, bw, bh] of boxes) {
        for (let y = y0; y < y0 + bh; y++) for (let x = x0; x < x0 + bw; x++) pair.moving.data[y * W + x] = other.data[y * W + x] as number;
      }
      const fixed = blurred(pair.fixed);
      const moving = blurred(pair.moving);
      for (const { kernel, iterations, spans } of alignWithBothKernels(fixed, moving, mask, name, truth)) {
        // The rows crossing a masked box have two or three runs, the others one.
        if (kernel === 'auto') expect(spans).toBeGreaterThan((H - 2) * iterations);
        else expect(spans).toBe(0);
      }
      // Without the mask, the corruption pulls the warp away from the truth (what the mask is for).
      const unmasked = createEccWorkspace(W, H, getMotionModel(name));
      expect(unmasked.setTemplate(fixed, null)).toBeNull();
      const warp = Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);
      unmasked.align(moving, null, warp, { maxIterations: 50, epsilonPx: 1e-4 });
      expect(meanCornerError(warp, truth, W, H)).toBeGreaterThan(2 * TOL_TRUTH_PX);
    }
  });

  it('keeps workspaces of one size apart (they share a memory region, templates are recopied as needed)', () => {
    const W = 96;
    const H = 72;
    const model = getMotionModel('euclidean');
    const truthA = centredWarp(W, H, { tx: 0.7, ty: 1.1, angleDeg: 0.8 });
    const truthB = centredWarp(W, H, { tx: -1.2, ty: 0.4, angleDeg: -0.6 });
    const a = makePair(createRng(5), truthA, { width: W, height: H });
    const b = makePair(createRng(6), truthB, { width: W, height: H });
    const criteria = { maxIterations: 50, epsilonPx: 1e-4 };
    const make = (kernel: 'js' | 'auto', fixed: GrayImage) => {
      const ws = createEccWorkspace(W, H, model, { kernel });
      expect(ws.setTemplate(blurred(fixed), null)).toBeNull();
      return ws;
    };
    const jsA = make('js', a.fixed);
    const jsB = make('js', b.fixed);
    const wasmA = make('auto', a.fixed);
    const wasmB = make('auto', b.fixed);
    const movingA = blurred(a.moving);
    const movingB = blurred(b.moving);
    const run = (ws: ReturnType<typeof createEccWorkspace>, moving: GrayImage) => {
      const warp = Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);
      ws.align(moving, null, warp, criteria);
      return warp;
    };
    const refA = run(jsA, movingA);
    const refB = run(jsB, movingB);
    expect(meanCornerError(refA, truthA, W, H)).toBeLessThan(TOL_TRUTH_PX);
    expect(meanCornerError(refB, truthB, W, H)).toBeLessThan(TOL_TRUTH_PX);
    // Interleaved: each align must see its own workspace's template, not the last one copied in.
    for (let round = 0; round < 2; round++) {
      expect(meanCornerError(run(wasmA, movingA), refA, W, H)).toBeLessThan(TOL_KERNELS_PX);
      expect(meanCornerError(run(wasmB, movingB), refB, W, H)).toBeLessThan(TOL_KERNELS_PX);
    }
  });
});
