/**
 * The frame warper writing its output at another size than the input (the live preview), and the frame
 * shrinker that brings the original to the same size: ground truth from analytic images and known
 * corrections, the fast shrink kernels against a slow area average, and the small warp against the
 * full-size warp followed by the shrink.
 */
import { describe, expect, it } from 'vitest';
import type { Mat3 } from '../../src/motion/mat3.js';
import type { YuvFrame } from '../../src/stabilize/frame-types.js';
import { createFrameShrinker } from '../../src/stabilize/frame-shrinker.js';
import { createFrameWarper } from '../../src/stabilize/frame-warper.js';
import { stabilizeFrames } from '../../src/stabilize/stream.js';
import { slowAreaShrink } from '../support/area-shrink.js';
import { createRng, makeTexturedImage } from '../support/synthetic.js';

/** Fast integer-factor shrinks against the slow area average: exact (same rounding, integer sums). */
const TOL_INTEGER_FACTOR_LEVELS = 0;
/** The separable shrink (float32 weights) against the slow float64 area average: rounding can flip by one. */
const TOL_AREA_LEVELS = 1;
/**
 * Small warp of an analytic image (sinusoids of wavelength >= 24 px, amplitude <= 50) against the image
 * itself at the mapped point: bilinear interpolation error (< 0.5 level at these wavelengths) plus the
 * rounding of the 8-bit source and output (1 level).
 */
const TOL_ANALYTIC_LEVELS = 2;
/**
 * Small warp (bilinear at the output's sample points) against the full-size warp followed by a 2x2
 * average, on a band-limited texture (smoothed with sigma 1.5 px), where the footprint maps inside the
 * input: mean and largest absolute difference, gray levels. The two filters differ (a 2x2 tent around the
 * point against two bilinear resamplings and a box), so on texture they agree to within the texture's
 * curvature at the pixel scale, not exactly (measured: luma mean 0.21, max 3).
 */
const TOL_LUMA_MEAN_LEVELS = 0.5;
const TOL_LUMA_MAX_LEVELS = 5;
/**
 * The same for chroma: its texture, made on the chroma grid, is twice as fine relative to the output, and
 * the shrink's plane-centred box sits a quarter of a source chroma pixel off 'left' siting (measured: mean
 * 0.88, max 9).
 */
const TOL_CHROMA_MEAN_LEVELS = 1.5;
const TOL_CHROMA_MAX_LEVELS = 14;

function yuv(width: number, height: number): YuvFrame {
  const cw = Math.ceil(width / 2);
  const ch = Math.ceil(height / 2);
  return { index: 0, timeSec: 0, width, height, y: new Uint8Array(width * height), u: new Uint8Array(cw * ch), v: new Uint8Array(cw * ch) };
}

/** A frame whose planes are seeded band-limited textures (chroma coarser, as in video). */
function texturedFrame(width: number, height: number, seed: number): YuvFrame {
  const f = yuv(width, height);
  const rng = createRng(seed);
  const toU8 = (out: Uint8Array, w: number, h: number, cellPx: number) => {
    const g = makeTexturedImage(w, h, rng, { cellPx, octaves: 4, shapes: 6, smoothPx: 1.5 });
    for (let i = 0; i < out.length; i++) out[i] = Math.max(0, Math.min(255, Math.round(g.data[i] as number)));
  };
  toU8(f.y, width, height, 48);
  toU8(f.u, Math.ceil(width / 2), Math.ceil(height / 2), 32);
  toU8(f.v, Math.ceil(width / 2), Math.ceil(height / 2), 32);
  return f;
}

function maxAbsDiff(a: Uint8Array, b: Uint8Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs((a[i] as number) - (b[i] as number));
  return s / a.length;
}

/**
 * Largest and mean |a - b| over the pixels of a w x h plane whose whole footprint on the full-size output
 * (`factor` x `factor` pixels) maps inside the input through `inside`: where the fill edge cuts a
 * footprint, the full-size warp averages image and fill while the small warp takes one or the other.
 */
function interiorDiff(
  a: Uint8Array,
  b: Uint8Array,
  w: number,
  h: number,
  factor: number,
  inside: (x: number, y: number) => boolean,
): { max: number; mean: number } {
  let max = 0;
  let sum = 0;
  let n = 0;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let all = true;
      for (let j = -1; j <= factor && all; j++) for (let i = -1; i <= factor && all; i++) all = inside(factor * x + i, factor * y + j);
      if (!all) continue;
      const d = Math.abs((a[y * w + x] as number) - (b[y * w + x] as number));
      max = Math.max(max, d);
      sum += d;
      n++;
    }
  }
  return { max, mean: sum / n };
}

/** A similarity about the frame centre (output -> input pixels): rotate by angle, scale by 1/zoom, shift. */
function correctionOf(width: number, height: number, angleRad: number, zoom: number, tx: number, ty: number): Mat3 {
  const cx = (width - 1) / 2;
  const cy = (height - 1) / 2;
  const c = Math.cos(angleRad) / zoom;
  const s = Math.sin(angleRad) / zoom;
  return Float64Array.of(c, -s, cx - c * cx + s * cy + tx, s, c, cy - s * cx - c * cy + ty, 0, 0, 1);
}

describe('frame shrinker', () => {
  const cases: [number, number, number, number, number][] = [
    // [source w, h, output w, h, tolerance]
    [64, 48, 32, 24, TOL_INTEGER_FACTOR_LEVELS],
    [66, 50, 22, 25, TOL_INTEGER_FACTOR_LEVELS],
    [63, 47, 32, 24, TOL_AREA_LEVELS],
    [100, 60, 37, 23, TOL_AREA_LEVELS],
    [40, 30, 40, 30, TOL_INTEGER_FACTOR_LEVELS],
  ];
  for (const [sw, sh, ow, oh, tol] of cases) {
    it(`shrinks ${sw}x${sh} to ${ow}x${oh} as the slow area average does (each plane, within ${tol} level)`, () => {
      const src = texturedFrame(sw, sh, 7 + sw);
      const sh2 = createFrameShrinker(sw, sh, ow, oh);
      const out = sh2.shrinkInto(yuv(ow, oh), src);
      const scw = Math.ceil(sw / 2);
      const sch = Math.ceil(sh / 2);
      const ocw = Math.ceil(ow / 2);
      const och = Math.ceil(oh / 2);
      expect(maxAbsDiff(out.y, slowAreaShrink(src.y, sw, sh, ow, oh))).toBeLessThanOrEqual(tol);
      expect(maxAbsDiff(out.u, slowAreaShrink(src.u, scw, sch, ocw, och))).toBeLessThanOrEqual(tol);
      expect(maxAbsDiff(out.v, slowAreaShrink(src.v, scw, sch, ocw, och))).toBeLessThanOrEqual(tol);
    });
  }

  it('halves planes that do not start on a word boundary or whose rows are not whole words (byte path) as the word path does', () => {
    for (const [sw, sh] of [
      [64, 48],
      [36, 20],
    ] as const) {
      const src = texturedFrame(sw, sh, 40 + sw);
      const cw = sw / 2;
      const ch = sh / 2;
      // The same planes one byte into their buffers.
      const shifted = (p: Uint8Array) => {
        const b = new Uint8Array(p.length + 1);
        b.set(p, 1);
        return b.subarray(1);
      };
      const odd: YuvFrame = { ...src, y: shifted(src.y), u: shifted(src.u), v: shifted(src.v) };
      const out = createFrameShrinker(sw, sh, sw / 2, sh / 2).shrinkInto(yuv(sw / 2, sh / 2), odd);
      expect(maxAbsDiff(out.y, slowAreaShrink(src.y, sw, sh, sw / 2, sh / 2))).toBeLessThanOrEqual(TOL_INTEGER_FACTOR_LEVELS);
      expect(maxAbsDiff(out.u, slowAreaShrink(src.u, cw, ch, cw / 2, ch / 2))).toBeLessThanOrEqual(TOL_INTEGER_FACTOR_LEVELS);
      expect(maxAbsDiff(out.v, slowAreaShrink(src.v, cw, ch, cw / 2, ch / 2))).toBeLessThanOrEqual(TOL_INTEGER_FACTOR_LEVELS);
    }
  });

  it('halves the extremes exactly (word lanes do not carry): all 255 stays 255, all 0 stays 0, 2x2 of 0,0,1,1 rounds up', () => {
    const f = yuv(16, 8);
    f.y.fill(255);
    f.u.fill(0);
    for (let i = 0; i < f.v.length; i++) f.v[i] = i % 2; // rows of 0,1,0,1: each 2x2 block sums to 2 -> 0.5 -> 1
    const out = createFrameShrinker(16, 8, 8, 4).shrinkInto(yuv(8, 4), f);
    expect(out.y.every((s) => s === 255)).toBe(true);
    expect(out.u.every((s) => s === 0)).toBe(true);
    expect(out.v.every((s) => s === 1)).toBe(true);
  });

  it('keeps a flat frame flat and the mean of a frame (averages preserve level)', () => {
    const f = yuv(30, 18);
    f.y.fill(77);
    f.u.fill(140);
    f.v.fill(90);
    const out = createFrameShrinker(30, 18, 13, 7).shrinkInto(yuv(13, 7), f);
    expect(out.y.every((s) => s === 77)).toBe(true);
    expect(out.u.every((s) => s === 140)).toBe(true);
    expect(out.v.every((s) => s === 90)).toBe(true);
  });

  it('refuses to grow a frame', () => {
    expect(() => createFrameShrinker(32, 24, 64, 24)).toThrow('Expected an output no larger than the input but received 32x24 -> 64x24');
  });
});

describe('frame warper with a smaller output', () => {
  it('warps an analytic image to half size: each output pixel is the image at correction · scale of its centre', () => {
    const W = 160;
    const H = 120;
    const f = yuv(W, H);
    // Smooth analytic planes (luma and chroma on their own grids).
    const luma = (x: number, y: number) => 128 + 50 * Math.sin((2 * Math.PI * x) / 37 + 0.3) * Math.cos((2 * Math.PI * y) / 29 - 0.7);
    const chromaU = (x: number, y: number) => 128 + 40 * Math.sin((2 * Math.PI * (x + 0.5 * y)) / 24);
    for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) f.y[y * W + x] = Math.round(luma(x, y));
    const cw = W / 2;
    const ch = H / 2;
    for (let y = 0; y < ch; y++) for (let x = 0; x < cw; x++) f.u[y * cw + x] = Math.round(chromaU(x, y));
    f.v.fill(128);
    const correction = correctionOf(W, H, 0.04, 1.08, 3.3, -2.6);
    const warper = createFrameWarper(W, H, W / 2, H / 2);
    warper.warp(f, correction, 'black', 'bilinear');
    expect([warper.width, warper.height, warper.inputWidth, warper.inputHeight]).toEqual([W / 2, H / 2, W, H]);
    let worstY = 0;
    let worstU = 0;
    const ow = W / 2;
    const oh = H / 2;
    for (let y = 0; y < oh; y++) {
      for (let x = 0; x < ow; x++) {
        // Output pixel (x, y) is the point (2x + 0.5, 2y + 0.5) of a frame at input size.
        const qx = 2 * x + 0.5;
        const qy = 2 * y + 0.5;
        const px = (correction[0] as number) * qx + (correction[1] as number) * qy + (correction[2] as number);
        const py = (correction[3] as number) * qx + (correction[4] as number) * qy + (correction[5] as number);
        if (px < 1 || py < 1 || px > W - 2 || py > H - 2) continue;
        worstY = Math.max(worstY, Math.abs((warper.y[y * ow + x] as number) - luma(px, py)));
      }
    }
    // Chroma: 'left' siting, chroma (cx, cy) sits at luma (2cx, 2cy + 0.5) on both grids.
    const ocw = ow / 2;
    const och = oh / 2;
    for (let cy = 0; cy < och; cy++) {
      for (let cx = 0; cx < ocw; cx++) {
        const lx = 2 * cx;
        const ly = 2 * cy + 0.5;
        const qx = 2 * lx + 0.5;
        const qy = 2 * ly + 0.5;
        const px = (correction[0] as number) * qx + (correction[1] as number) * qy + (correction[2] as number);
        const py = (correction[3] as number) * qx + (correction[4] as number) * qy + (correction[5] as number);
        const ux = px / 2;
        const uy = (py - 0.5) / 2;
        if (ux < 1 || uy < 1 || ux > cw - 2 || uy > ch - 2) continue;
        worstU = Math.max(worstU, Math.abs((warper.u[cy * ocw + cx] as number) - chromaU(ux, uy)));
      }
    }
    expect(worstY).toBeLessThan(TOL_ANALYTIC_LEVELS);
    expect(worstU).toBeLessThan(TOL_ANALYTIC_LEVELS);
  });

  it('with the identity at half size, equals the 2x2 area average exactly (luma)', () => {
    const f = texturedFrame(96, 64, 3);
    const warper = createFrameWarper(96, 64, 48, 32);
    warper.warp(f, Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1), 'black', 'bilinear');
    const shrunk = createFrameShrinker(96, 64, 48, 32).shrinkInto(yuv(48, 32), f);
    expect(maxAbsDiff(warper.y, shrunk.y)).toBe(0);
  });

  for (const border of ['black', 'edge'] as const) {
    it(`equals the full-size warp followed by the shrink, within the named tolerance (border ${border})`, () => {
      const W = 320;
      const H = 240;
      const f = texturedFrame(W, H, 11);
      const correction = correctionOf(W, H, -0.035, 1.05, -4.2, 2.7);
      const full = createFrameWarper(W, H);
      full.warp(f, correction, border, 'bilinear');
      const shrunk = createFrameShrinker(W, H, W / 2, H / 2).shrinkInto(yuv(W / 2, H / 2), { y: full.y, u: full.u, v: full.v });
      const small = createFrameWarper(W, H, W / 2, H / 2);
      small.warp(f, correction, border, 'bilinear');
      // Where the whole footprint maps inside the input (a pixel margin around it for the chroma, whose
      // shrink averages on its own grid, a quarter of a source chroma pixel off 'left' siting).
      const lumaInside = (x: number, y: number) => {
        const px = (correction[0] as number) * x + (correction[1] as number) * y + (correction[2] as number);
        const py = (correction[3] as number) * x + (correction[4] as number) * y + (correction[5] as number);
        return px >= 0 && py >= 0 && px <= W - 1 && py <= H - 1;
      };
      const chromaInside = (x: number, y: number) => lumaInside(2 * x, 2 * y) && lumaInside(2 * x + 1, 2 * y + 1);
      const y = interiorDiff(small.y, shrunk.y, W / 2, H / 2, 2, lumaInside);
      const u = interiorDiff(small.u, shrunk.u, W / 4, H / 4, 2, chromaInside);
      const v = interiorDiff(small.v, shrunk.v, W / 4, H / 4, 2, chromaInside);
      expect(y.mean).toBeLessThan(TOL_LUMA_MEAN_LEVELS);
      expect(y.max).toBeLessThanOrEqual(TOL_LUMA_MAX_LEVELS);
      for (const d of [u, v]) {
        expect(d.mean).toBeLessThan(TOL_CHROMA_MEAN_LEVELS);
        expect(d.max).toBeLessThanOrEqual(TOL_CHROMA_MAX_LEVELS);
      }
    });
  }

  it('a stream with a smaller output keeps the motion data of the full-size stream and shrinks the planes', async () => {
    const W = 128;
    const H = 96;
    const N = 12;
    const base = texturedFrame(W + 32, H + 32, 5);
    const rng = createRng(21);
    const offsets = Array.from({ length: N }, () => [rng.int(9), rng.int(9)] as const);
    // Frame k shows the base texture cropped at offsets[k]: motion k-1 -> k is a translation by o_{k-1} - o_k.
    const frames: YuvFrame[] = offsets.map(([ox, oy], k) => {
      const f = yuv(W, H);
      for (let y = 0; y < H; y++) f.y.set(base.y.subarray((y + 2 * oy) * (W + 32) + 2 * ox, (y + 2 * oy) * (W + 32) + 2 * ox + W), y * W);
      const bcw = (W + 32) / 2;
      for (let y = 0; y < H / 2; y++) {
        f.u.set(base.u.subarray((y + oy) * bcw + ox, (y + oy) * bcw + ox + W / 2), (y * W) / 2);
        f.v.set(base.v.subarray((y + oy) * bcw + ox, (y + oy) * bcw + ox + W / 2), (y * W) / 2);
      }
      return { ...f, index: k, timeSec: k / 30 };
    });
    const knownMotions: Mat3[] = offsets.map(([ox, oy], k) => {
      const [px, py] = k > 0 ? (offsets[k - 1] as readonly [number, number]) : [ox, oy];
      return Float64Array.of(1, 0, 2 * (px - ox), 0, 1, 2 * (py - oy), 0, 0, 1);
    });
    async function* source(): AsyncGenerator<YuvFrame> {
      for (const f of frames) yield f;
    }
    const run = async (output?: { width: number; height: number }) => {
      const got: { correction: Float64Array; path: number[]; zoom: number; size: number[]; y: Uint8Array }[] = [];
      const geometry = { width: W, height: H, knownMotions, ...(output ? { output } : {}) };
      for await (const s of stabilizeFrames(source(), geometry, { smoothingRadius: 4, zoom: { percent: 5 } })) {
        got.push({
          correction: Float64Array.from(s.motion.correction),
          path: [...s.motion.path, ...s.motion.smoothedPath],
          zoom: s.motion.zoom,
          size: [s.output.width, s.output.height, s.output.y.length, s.output.u.length],
          y: s.output.y.slice(),
        });
      }
      return got;
    };
    const full = await run();
    const small = await run({ width: W / 2, height: H / 2 });
    expect(small.length).toBe(N);
    for (let k = 0; k < N; k++) {
      const a = full[k] as (typeof full)[number];
      const b = small[k] as (typeof small)[number];
      // Motion data in input pixels, identical.
      expect(Array.from(b.correction)).toEqual(Array.from(a.correction));
      expect(b.path).toEqual(a.path);
      expect(b.zoom).toBe(a.zoom);
      expect(b.size).toEqual([W / 2, H / 2, (W / 2) * (H / 2), (W / 4) * (H / 4)]);
      // Planes: the small warp matches the full one shrunk.
      const shrunk = createFrameShrinker(W, H, W / 2, H / 2).shrinkInto(yuv(W / 2, H / 2), { ...yuv(W, H), y: a.y });
      expect(meanAbsDiff(b.y, shrunk.y)).toBeLessThan(TOL_LUMA_MEAN_LEVELS);
    }
  });
});
