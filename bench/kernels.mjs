#!/usr/bin/env node
// Per-frame kernel benchmark: the analysis downscale (8-bit Y plane -> Float32 gray image, area average,
// src/video/analysis.ts downscaleYInto) and the 8-bit plane warp (src/image/warp.ts warpPlaneU8Into,
// bilinear, affine fixed-point path, its JavaScript kernel and its WebAssembly SIMD kernel), at the frame
// sizes the stabilizer sees: Y planes and their 4:2:0 chroma planes.
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
    bench(`downscaleYInto ${kind}`, `${w}x${h}->${ow}x${oh}`, w * h, () => downscaleYInto(out, src, w, h));
  }
}
// The whole-block size of integerAnalysisSize for 1280x720 at 480 (factor 3, the last column pair
// ignored), and a 480p frame at the default analysis width 320 (ratio 427:160, no packing).
if (typeof analysis.integerAnalysisSize === 'function') {
  const [w, h] = [1280, 720];
  const { width: ow, height: oh, factor } = analysis.integerAnalysisSize(w, h, 480);
  const src = plane(w, h, 7);
  const out = { width: ow, height: oh, data: new Float32Array(ow * oh) };
  bench(`downscaleYInto factor ${factor}`, `${w}x${h}->${ow}x${oh}`, w * h, () => downscaleYInto(out, src, w, h, factor));
}
{
  const [w, h, ow, oh] = [854, 480, 320, 180];
  const src = plane(w, h, 8);
  const out = { width: ow, height: oh, data: new Float32Array(ow * oh) };
  bench('downscaleYInto fractional', `${w}x${h}->${ow}x${oh}`, w * h, () => downscaleYInto(out, src, w, h));
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
