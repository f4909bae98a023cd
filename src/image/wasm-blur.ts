/**
 * Loader of the WebAssembly kernel of the [1 4 6 4 1] / 16 blur (src/image/wasm/blur5.c, embedded as
 * base64 in wasm/blur5-module.ts by scripts/build-wasm.sh). blur.ts keeps its JavaScript binomial5 as the
 * fallback: everything here answers false / null where the engine has no WebAssembly or no 128-bit SIMD
 * (the module then fails validation), and blur.ts carries on in JavaScript.
 *
 * The module is compiled and instantiated synchronously on first use (about 6 kB). It owns its linear
 * memory; from `__heap_base` it holds two regions, sized for the widest row and the largest plane seen so
 * far and grown (never shrunk) when a bigger one arrives:
 *   ring (6 horizontally filtered rows) | plane (+ padding)
 * A blur copies the source plane in, blurs it in place there and copies the result out: the copies cost a
 * small fraction of the blur, and one plane region keeps the working set small. Views over the memory are
 * remade only when the layout changes (a wider row or a larger plane), not per call: a pyramid's levels
 * reuse theirs frame after frame.
 */
import { BLUR5_WASM_BASE64 } from './wasm/blur5-module.js';
import { alignUp, growMemoryTo, lazySimdModule, type WasmMemory } from './wasm/instantiate.js';

/** What the module exports. */
interface BlurExports {
  readonly memory: WasmMemory;
  readonly __heap_base: { readonly value: number };
  readonly blur5_binomial: (dst: number, src: number, w: number, h: number, ring: number, stride: number) => void;
}

/** Rows in the kernel's ring of horizontally filtered rows. */
const RING_ROWS = 6;
/**
 * Bytes after the plane: the kernel's horizontal vector loads of the last row read up to three floats
 * past its last sample (lanes never used).
 */
const PAD = 32;

const load = lazySimdModule<BlurExports>(BLUR5_WASM_BASE64, ['blur5_binomial']);
/** Widest row (samples) and largest plane (samples) the regions hold. */
let widthCap = 0;
let planeCap = 0;
let ringOffset = 0;
let planeOffset = 0;
/** A float view of the whole memory (null until the first blur, and after the layout changed). */
let floats: Float32Array | null = null;
/** Views of the plane region by plane length (a pyramid's levels have distinct lengths). */
const planeViews = new Map<number, Float32Array>();
let runs = 0;

/** True when the WebAssembly blur kernel runs here (WebAssembly with 128-bit SIMD). Loads it on first call. */
export function wasmBlurAvailable(): boolean {
  return load() !== null;
}

/** How many planes the WebAssembly kernel has blurred in this process (lets tests see that it ran). */
export function wasmBlurRuns(): number {
  return runs;
}

/** Ring row stride (floats): at least w + 1 (the vector loop writes one past the row), whole vectors. */
function ringStride(w: number): number {
  return (w + 4) & ~3;
}

/**
 * Makes the regions hold a row of `width` and a plane of `length` samples, growing the memory when needed.
 * False when the memory cannot grow (nothing has changed then).
 */
function reserve(k: BlurExports, width: number, length: number): boolean {
  const newWidthCap = Math.max(widthCap, width);
  const newPlaneCap = Math.max(planeCap, length);
  const newRingOffset = alignUp(k.__heap_base.value);
  const newPlaneOffset = alignUp(newRingOffset + 4 * RING_ROWS * ringStride(newWidthCap));
  if (!growMemoryTo(k.memory, newPlaneOffset + 4 * newPlaneCap + PAD)) return false;
  widthCap = newWidthCap;
  planeCap = newPlaneCap;
  ringOffset = newRingOffset;
  planeOffset = newPlaneOffset;
  floats = new Float32Array(k.memory.buffer);
  planeViews.clear();
  return true;
}

/**
 * dst = src blurred by [1 4 6 4 1] / 16 along x then y with a reflect-101 border, both planes w x h
 * (w >= 5, h >= 3; at least w * h samples each, the first w * h used; dst may be src). Returns false,
 * leaving dst untouched, where the kernel is unavailable or its memory cannot grow: the caller then
 * blurs in JavaScript.
 */
export function wasmBinomial5(dst: Float32Array, src: Float32Array, w: number, h: number): boolean {
  const k = load();
  if (k === null) return false;
  const length = w * h;
  // Out of memory: JavaScript needs no extra memory.
  if ((floats === null || w > widthCap || length > planeCap) && !reserve(k, w, length)) return false;
  const mem = floats as Float32Array;
  mem.set(src.length === length ? src : src.subarray(0, length), planeOffset >> 2);
  k.blur5_binomial(planeOffset, planeOffset, w, h, ringOffset, ringStride(w));
  let plane = planeViews.get(length);
  if (plane === undefined) {
    plane = new Float32Array(mem.buffer, planeOffset, length);
    planeViews.set(length, plane);
  }
  dst.set(plane);
  runs++;
  return true;
}
