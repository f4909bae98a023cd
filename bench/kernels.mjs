#!/usr/bin/env node
// Per-frame kernel benchmark, each kernel in JavaScript ('js') and WebAssembly SIMD ('wasm', the default):
// the analysis downscale (8-bit Y plane -> Float32 gray image, area average, src/video/analysis.ts
// downscaleYInto), the pyramid blur (src/image/blur.ts), ECC's template pass and one iteration
// (src/register/ecc.ts) and the 8-bit plane warp (src/image/warp.ts warpPlaneU8Into, bilinear, affine
// fixed-point path), at the sizes the stabilizer sees: Y planes and their 4:2:0 chroma planes.
//
// usage: npm run build && node bench/kernels.mjs [--rounds 15] [--inner 10] [--filter TEXT] [--dist DIR]
//
// --dist points at another build of the same modules (DIR/image/warp.js, DIR/video/analysis.js), e.g.
// one made from an older commit, to compare in the same sitting.
//
// Each case is warmed up (50 calls), then timed as the minimum over --rounds rounds of the mean of
// --inner calls: on a shared machine the minimum is the least disturbed figure. Downscale figures are
// per source pixel, warp figures per output pixel. The planes are seeded noise (the kernels' cost does
// not depend on the content). Check `uptime` first: other load inflates every figure.
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

function arg(name, fallback) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const HERE = path.dirname(fileURLToPath(import.meta.url));
const DIST = path.resolve(arg('dist', path.resolve(HERE, '../dist')));
const { warpPlaneU8Into, chromaMatrixInto } = await import(pathToFileURL(path.join(DIST, 'image/warp.js')).href);
// Older builds (--dist) have no WebAssembly kernel: their 'wasm' rows are then the JavaScript kernel.
const wasmWarp = await import(pathToFileURL(path.join(DIST, 'image/wasm-warp.js')).href).catch(() => null);
const WASM = wasmWarp?.wasmWarpAvailable() === true;
console.log(`WebAssembly warp kernel: ${WASM ? 'available' : 'unavailable (wasm rows run JavaScript)'}`);
const analysis = await import(pathToFileURL(path.join(DIST, 'video/analysis.js')).href);
const { downscaleYInto } = analysis;
const ROUNDS = Number(arg('rounds', '15'));
const INNER = Number(arg('inner', '10'));
const FILTER = arg('filter', '');

/** mulberry32: the planes are the same on every run. */
function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function plane(w, h, seed) {
  const r = rng(seed);
  const p = new Uint8Array(w * h);
  for (let i = 0; i < p.length; i++) p[i] = (r() * 256) | 0;
  return p;
}

/** Warm minimum of the per-call time, ms. */
function time(f) {
  for (let i = 0; i < 50; i++) f();
  let best = Number.POSITIVE_INFINITY;
  for (let r = 0; r < ROUNDS; r++) {
    const t = performance.now();
    for (let i = 0; i < INNER; i++) f();
    best = Math.min(best, (performance.now() - t) / INNER);
  }
  return best;
}

const rows = [];
function bench(kernel, size, pixels, f) {
  if (FILTER && !`${kernel} ${size}`.includes(FILTER)) return;
  const ms = time(f);
  const row = { kernel, size, ms: ms.toFixed(3), nsPerPx: ((ms * 1e6) / pixels).toFixed(2) };
  rows.push(row);
  console.log(`${kernel.padEnd(36)} ${size.padEnd(22)} ${row.ms.padStart(8)} ms ${row.nsPerPx.padStart(7)} ns/px`);
}

/** A downscale case by the JavaScript kernel ('js') and the default one ('wasm'; older builds ignore the option). */
function downscaleBoth(name, size, pixels, f) {
  bench(`${name} js`, size, pixels, () => f('js'));
  bench(`${name} wasm`, size, pixels, () => f('auto'));
}

const SOURCES = [
  [640, 360],
  [1280, 720],
  [1920, 1080],
];
// Output widths: 480 is the default analysis width (fractional factor from 640 and 1280, 4 from 1920),
// 320 an integer factor from each source.
for (const [w, h] of SOURCES) {
  const src = plane(w, h, w + h);
  for (const ow of [480, 320]) {
    const oh = Math.round((h * ow) / w);
    const out = { width: ow, height: oh, data: new Float32Array(ow * oh) };
    const factor = w / ow;
    const kind = Number.isInteger(factor) && Number.isInteger(h / oh) ? `x1/${factor}` : 'fractional';
    downscaleBoth(`downscaleYInto ${kind}`, `${w}x${h}->${ow}x${oh}`, w * h, (kernel) => downscaleYInto(out, src, w, h, undefined, { kernel }));
  }
}
// The whole-block size of integerAnalysisSize for 1280x720 at 480 (factor 3, the last column pair
// ignored), and a 480p frame at the default analysis width 320 (ratio 427:160, no packing).
if (typeof analysis.integerAnalysisSize === 'function') {
  const [w, h] = [1280, 720];
  const { width: ow, height: oh, factor } = analysis.integerAnalysisSize(w, h, 480);
  const src = plane(w, h, 7);
  const out = { width: ow, height: oh, data: new Float32Array(ow * oh) };
  downscaleBoth(`downscaleYInto factor ${factor}`, `${w}x${h}->${ow}x${oh}`, w * h, (kernel) => downscaleYInto(out, src, w, h, factor, { kernel }));
}
{
  const [w, h, ow, oh] = [854, 480, 320, 180];
  const src = plane(w, h, 8);
  const out = { width: ow, height: oh, data: new Float32Array(ow * oh) };
  downscaleBoth('downscaleYInto fractional', `${w}x${h}->${ow}x${oh}`, w * h, (kernel) => downscaleYInto(out, src, w, h, undefined, { kernel }));
}

// The pyramid blur ([1 4 6 4 1] / 16, image/blur.ts blurInto) at the analysis sizes and their levels, each
// kernel; per pixel of the plane.
{
  const blur = await import(pathToFileURL(path.join(DIST, 'image/blur.js')).href);
  const k5 = blur.gaussianKernel(5);
  for (const [w, h] of [
    [320, 180],
    [320, 240],
    [160, 120],
    [640, 360],
  ]) {
    const r = rng(w * 7 + h);
    const src = { width: w, height: h, data: Float32Array.from({ length: w * h }, () => 255 * r()) };
    const out = { width: w, height: h, data: new Float32Array(w * h) };
    const tmp = new Float32Array(blur.blurScratchSize(w, h, 5));
    for (const kernel of ['js', 'wasm']) {
      bench(`blurInto binomial5 ${kernel}`, `${w}x${h}`, w * h, () => blur.blurInto(out, src, k5, tmp, { kernel: kernel === 'js' ? 'js' : 'auto' }));
    }
  }
}

// ECC at one level (register/ecc.ts), similarity model, a smooth textured 320x240 template and the same
// scene shifted by a fraction of a pixel: the template pass (setTemplate: gradients, sums, Hessian) and
// one iteration of align (warp, sample and sum every pixel, solve), each kernel; per template pixel.
{
  const { createEccWorkspace } = await import(pathToFileURL(path.join(DIST, 'register/ecc.js')).href);
  const { getMotionModel } = await import(pathToFileURL(path.join(DIST, 'motion/models.js')).href);
  const [w, h] = [320, 240];
  const scene = (dx, dy) => {
    const d = new Float32Array(w * h);
    for (let y = 0; y < h; y++) {
      for (let x = 0; x < w; x++) {
        const u = x + dx;
        const v = y + dy;
        d[y * w + x] = 128 + 60 * Math.sin(u * 0.13) * Math.cos(v * 0.11) + 40 * Math.sin((u + 2 * v) * 0.047);
      }
    }
    return { width: w, height: h, data: d };
  };
  const template = scene(0, 0);
  const moving = scene(0.3, -0.2);
  const model = getMotionModel('similarity');
  for (const kernel of ['js', 'wasm']) {
    const ws = createEccWorkspace(w, h, model, { kernel: kernel === 'js' ? 'js' : 'auto' });
    ws.setTemplate(template, null);
    bench(`ecc setTemplate similarity ${kernel}`, `${w}x${h}`, w * h, () => ws.setTemplate(template, null));
    const warp = new Float64Array(9);
    bench(`ecc align 1 iteration ${kernel}`, `${w}x${h}`, w * h, () => {
      warp.set([1, 0, 0, 0, 1, 0, 0, 0, 1]);
      ws.align(moving, null, warp, { maxIterations: 1, epsilonPx: 0 });
    });
  }
}

// Warp: the stabilizer's typical correction (a small rotation, a zoom-in crop and a fractional shift),
// and a pure fractional translation; each by the JavaScript kernel ('js') and by the default kernel
// ('wasm': WebAssembly where available), on the Y plane and on a chroma plane (ceil(w/2) x ceil(h/2),
// the matching chroma matrix).
const a = (0.3 * Math.PI) / 180;
const z = 1 / 1.03;
const SIMILARITY = Float64Array.of(Math.cos(a) * z, -Math.sin(a) * z, 10.3, Math.sin(a) * z, Math.cos(a) * z, 7.7, 0, 0, 1);
const TRANSLATION = Float64Array.of(1, 0, 3.37, 0, 1, -2.61, 0, 0, 1);
for (const [lw, lh] of SOURCES) {
  for (const chroma of [false, true]) {
    const [w, h] = chroma ? [Math.ceil(lw / 2), Math.ceil(lh / 2)] : [lw, lh];
    const src = plane(w, h, 3 * w + h);
    const out = new Uint8Array(w * h);
    for (const [name, W] of [
      ['similarity', SIMILARITY],
      ['translation', TRANSLATION],
    ]) {
      const M = chroma ? chromaMatrixInto(new Float64Array(9), W) : W;
      for (const border of ['replicate', 'keep']) {
        for (const kernel of ['js', 'wasm']) {
          const options = { border, kernel: kernel === 'js' ? 'js' : 'auto' };
          bench(`warpPlaneU8Into ${name} ${kernel}`, `${w}x${h}${chroma ? ' UV' : ''} ${border}`, w * h, () =>
            warpPlaneU8Into(out, w, h, src, w, h, M, options),
          );
        }
      }
    }
  }
}
