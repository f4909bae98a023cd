/**
 * Loader of the WebAssembly kernel of the ECC registration's unchecked row span (src/register/wasm/ecc-span.c,
 * embedded as base64 in wasm/ecc-span-module.ts by scripts/build-wasm.sh). ecc.ts keeps its JavaScript
 * spanAffine as the fallback: everything here answers false / null where the engine has no WebAssembly or
 * no 128-bit SIMD (the module then fails validation), and ecc.ts carries on in JavaScript.
 *
 * The module is compiled and instantiated synchronously on first use (about 3 kB). It owns its linear
 * memory: from `__heap_base`, nine doubles where the kernel writes a span's sums, then one region per
 * plane size (pixels) seen so far, holding four float planes of a level, in this order:
 *   moving image | template | template x gradient | template y gradient
 * Workspaces of one size share its region (a pyramid's levels have distinct sizes, so they do not
 * compete; a video after another of the same size reuses the regions): the region remembers whose
 * template it holds, and `setImage` copies a workspace's template planes in only when the region holds
 * another one, then the moving image. So the template is copied once per template and the image once
 * per alignment, never per iteration or row, and the memory grows only when a new size arrives.
 */
import { instantiateSimdModule } from '../image/wasm/instantiate.js';
import { ECC_SPAN_WASM_BASE64 } from './wasm/ecc-span-module.js';

/** What the module exports. */
interface EccExports {
  readonly memory: { readonly buffer: ArrayBuffer; grow(pages: number): number };
  readonly __heap_base: { readonly value: number };
  readonly ecc_span_affine: (
    img: number,
    t: number,
    gx: number,
    gy: number,
    w: number,
    row: number,
    x0: number,
    x1: number,
    X: number,
    Y: number,
    dX: number,
    dY: number,
    xt: number,
    invS: number,
    deg: number,
    out: number,
  ) => void;
}

/** The module-side planes of one ECC workspace (one level), and its span kernel. */
export interface WasmEccPlanes {
  /** Plane length (pixels) of the level. */
  readonly length: number;
  /**
   * Sets the template and its gradients (each at least `length` values; the first `length` used). They
   * are read, not copied, here: `setImage` copies them in when the shared region holds another template,
   * so they must not change in between.
   */
  setTemplate(t: Float32Array, gx: Float32Array, gy: Float32Array): void;
  /**
   * Readies the region for this workspace's alignment: copies its template planes in when the region
   * holds another workspace's or an older template, then the moving image (at least `length` values).
   * Call before the `spanAffine` calls of an alignment; throws when no template was set.
   */
  setImage(img: Float32Array): void;
  /**
   * The wasm twin of ecc.ts's spanAffine over the planes copied in: pixels x0..x1 of the row starting
   * at index `row` (image width `w`), warped position (X, Y) + k (dX, dY), normalised x~ = xt + k invS,
   * degree `deg` (0 or 1). ADDS [si, sii, sit, a0, a1, 0, b0, b1, 0] into out[0..8]. Every pixel's four
   * taps must lie inside the image (ecc.ts's span guarantees it).
   */
  spanAffine(w: number, row: number, x0: number, x1: number, X: number, Y: number, dX: number, dY: number, xt: number, invS: number, deg: number, out: Float64Array): void;
}

const PAGE_BYTES = 65536;
/** Region alignment (bytes): whole vectors. */
const ALIGN = 16;
/** Doubles the kernel writes per span. */
const SPAN_SUMS = 9;

let tried = false;
let kernel: EccExports | null = null;
let sumsOffset = 0;
/** First byte past the last region carved so far. */
let top = 0;
/** Bumped whenever the memory grows (its buffer is replaced, so views over the old one are dead). */
let generation = 0;
let sums: Float64Array = new Float64Array(0);
let spans = 0;
/** One region per plane size: its offset, and which workspace's template (and which version) it holds. */
interface Region {
  readonly offset: number;
  owner: object | null;
  version: number;
}
const regions = new Map<number, Region>();

function alignUp(n: number): number {
  return Math.ceil(n / ALIGN) * ALIGN;
}

/** Compiles and instantiates the module once; null where WebAssembly or its SIMD is missing. */
function load(): EccExports | null {
  if (tried) return kernel;
  tried = true;
  const exports = instantiateSimdModule(ECC_SPAN_WASM_BASE64) as unknown as EccExports | null;
  if (exports === null || typeof exports.ecc_span_affine !== 'function') return null;
  sumsOffset = alignUp(exports.__heap_base.value);
  top = alignUp(sumsOffset + 8 * SPAN_SUMS);
  if (top > exports.memory.buffer.byteLength) {
    try {
      exports.memory.grow(Math.ceil((top - exports.memory.buffer.byteLength) / PAGE_BYTES));
    } catch {
      return null; // the engine refused the memory: the JavaScript kernel runs
    }
  }
  sums = new Float64Array(exports.memory.buffer, sumsOffset, SPAN_SUMS);
  kernel = exports;
  return kernel;
}

/** True when the WebAssembly ECC span kernel runs here (WebAssembly with 128-bit SIMD). Loads it on first call. */
export function wasmEccAvailable(): boolean {
  return load() !== null;
}

/** How many row spans the WebAssembly kernel has summed in this process (lets tests see that it ran). */
export function wasmEccSpans(): number {
  return spans;
}

/** A region of `bytes` bytes carved from the end (growing the memory). */
function allocate(k: EccExports, bytes: number): number {
  const offset = top;
  const end = offset + bytes;
  const have = k.memory.buffer.byteLength;
  // Throws when the memory cannot grow; nothing here has changed then.
  if (end > have) {
    k.memory.grow(Math.ceil((end - have) / PAGE_BYTES));
    generation++;
    sums = new Float64Array(k.memory.buffer, sumsOffset, SPAN_SUMS);
  }
  top = end;
  return offset;
}

/**
 * The module-side planes for one ECC level of `length` pixels (width * height), or null where the kernel
 * is unavailable or the memory cannot grow (the caller then stays in JavaScript). Made once per
 * workspace, not per frame; the memory region is the one of its size, shared.
 */
export function createWasmEccPlanes(length: number): WasmEccPlanes | null {
  const loaded = load();
  if (loaded === null) return null;
  const k: EccExports = loaded;
  const planeBytes = alignUp(4 * length);
  let region = regions.get(length);
  if (region === undefined) {
    try {
      region = { offset: allocate(k, 4 * planeBytes), owner: null, version: 0 };
    } catch {
      // memory.grow failed (out of memory): JavaScript needs no extra memory.
      return null;
    }
    regions.set(length, region);
  }
  const shared: Region = region;
  const base = shared.offset;
  const imgOffset = base;
  const tOffset = base + planeBytes;
  const gxOffset = base + 2 * planeBytes;
  const gyOffset = base + 3 * planeBytes;
  let viewGeneration = -1;
  let imgView = new Float32Array(0);
  let tView = imgView;
  let gxView = imgView;
  let gyView = imgView;
  /** Views over the current buffer, remade only after the memory grew. */
  function views(): void {
    if (viewGeneration === generation) return;
    const buffer = k.memory.buffer;
    imgView = new Float32Array(buffer, imgOffset, length);
    tView = new Float32Array(buffer, tOffset, length);
    gxView = new Float32Array(buffer, gxOffset, length);
    gyView = new Float32Array(buffer, gyOffset, length);
    viewGeneration = generation;
  }
  const fill = (dst: Float32Array, src: Float32Array): void => {
    dst.set(src.length === length ? src : src.subarray(0, length));
  };
  let tSrc: Float32Array | null = null;
  let gxSrc: Float32Array = new Float32Array(0);
  let gySrc: Float32Array = gxSrc;
  let version = 0;
  const planes: WasmEccPlanes = {
    length,
    setTemplate(t, gx, gy) {
      tSrc = t;
      gxSrc = gx;
      gySrc = gy;
      version++;
    },
    setImage(img) {
      if (tSrc === null) throw new Error('setImage before setTemplate');
      views();
      if (shared.owner !== planes || shared.version !== version) {
        fill(tView, tSrc);
        fill(gxView, gxSrc);
        fill(gyView, gySrc);
        shared.owner = planes;
        shared.version = version;
      }
      fill(imgView, img);
    },
    spanAffine(w, row, x0, x1, X, Y, dX, dY, xt, invS, deg, out) {
      k.ecc_span_affine(imgOffset, tOffset, gxOffset, gyOffset, w, row, x0, x1, X, Y, dX, dY, xt, invS, deg, sumsOffset);
      spans++;
      const s = sums;
      out[0] = (out[0] as number) + (s[0] as number);
      out[1] = (out[1] as number) + (s[1] as number);
      out[2] = (out[2] as number) + (s[2] as number);
      out[3] = (out[3] as number) + (s[3] as number);
      out[4] = (out[4] as number) + (s[4] as number);
      out[6] = (out[6] as number) + (s[6] as number);
      out[7] = (out[7] as number) + (s[7] as number);
    },
  };
  return planes;
}
