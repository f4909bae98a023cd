/**
 * Loader of the WebAssembly kernel of the 8-bit bilinear warp (src/image/wasm/warp-u8.c, embedded as
 * base64 in wasm/warp-u8-module.ts by scripts/build-wasm.sh). warp.ts keeps the JavaScript kernels as
 * the fallback: every function here answers false / null where the engine has no WebAssembly or no
 * 128-bit SIMD (the module then fails validation), and warp.ts carries on in JavaScript.
 *
 * The module is compiled and instantiated synchronously on first use (2 kB: well under the engines'
 * limit for synchronous compilation on a main thread). It owns its linear memory; the memory holds,
 * from `__heap_base`, three regions sized for the largest plane pair seen so far and grown (never
 * shrunk) when a bigger one arrives:
 *   spans (two int32 per output row) | source plane | output plane
 * The caller copies the source plane in, writes the border pixels and the per-row spans through the
 * views handed out here, runs the kernel once per plane and copies the output plane out. Views are
 * made when the layout changes, not per call: a video's planes reuse them frame after frame.
 */
import { alignUp, growMemoryTo, lazySimdModule, type WasmMemory } from './wasm/instantiate.js';
import { WARP_U8_WASM_BASE64 } from './wasm/warp-u8-module.js';

/** What the module exports. */
interface WarpExports {
  readonly memory: WasmMemory;
  readonly __heap_base: { readonly value: number };
  readonly warp_u8_spans: (
    src: number,
    srcW: number,
    out: number,
    outW: number,
    outH: number,
    spans: number,
    m0: number,
    m1: number,
    m2: number,
    m3: number,
    m4: number,
    m5: number,
    dX: number,
    dY: number,
  ) => void;
}

/** Views over the module's memory for one plane pair (valid until the next `beginWasmWarp`). */
export interface WasmWarpPlanes {
  /** The output plane, exactly outW * outH bytes, i = y * outW + x. */
  readonly out: Uint8Array;
  /** Per output row y: spans[2y] = first, spans[2y + 1] = last interior x (first > last: none). */
  readonly spans: Int32Array;
}

/**
 * Bytes after the source and output regions: the kernel's vector loads and stores of a span's last
 * pixels may touch up to 16 bytes past the last pixel, never used.
 */
const PAD = 32;

const load = lazySimdModule<WarpExports>(WARP_U8_WASM_BASE64, ['warp_u8_spans']);
let spansCap = 0;
let srcCap = 0;
let outCap = 0;
let srcOffset = 0;
let outOffset = 0;
let bytes: Uint8Array | null = null;
let spans: Int32Array = new Int32Array(0);
/** Output views by plane length (a video alternates between its luma and chroma sizes). */
const outViews = new Map<number, Uint8Array>();
const planes: { out: Uint8Array; spans: Int32Array } = { out: new Uint8Array(0), spans };
let runs = 0;

/** True when the WebAssembly kernel runs here (WebAssembly with 128-bit SIMD). Loads it on first call. */
export function wasmWarpAvailable(): boolean {
  return load() !== null;
}

/** How many planes the WebAssembly kernel has warped in this process (lets tests see that it ran). */
export function wasmWarpRuns(): number {
  return runs;
}

/**
 * Makes the regions hold at least these sizes, growing the memory when needed; rebuilds the views. False
 * when the memory cannot grow (nothing has changed then).
 */
function reserve(k: WarpExports, srcLength: number, outLength: number, outH: number): boolean {
  const newSpansCap = Math.max(spansCap, 2 * outH);
  const newSrcCap = Math.max(srcCap, srcLength);
  const newOutCap = Math.max(outCap, outLength);
  const spansOffset = alignUp(k.__heap_base.value);
  const newSrcOffset = alignUp(spansOffset + 4 * newSpansCap);
  const newOutOffset = alignUp(newSrcOffset + newSrcCap + PAD);
  const end = newOutOffset + newOutCap + PAD;
  if (!growMemoryTo(k.memory, end)) return false;
  spansCap = newSpansCap;
  srcCap = newSrcCap;
  outCap = newOutCap;
  srcOffset = newSrcOffset;
  outOffset = newOutOffset;
  const buffer = k.memory.buffer;
  bytes = new Uint8Array(buffer);
  spans = new Int32Array(buffer, spansOffset, spansCap);
  planes.spans = spans;
  outViews.clear();
  return true;
}

/**
 * Readies the module's memory for one plane warp: copies the first srcW * srcH bytes of `src` in and
 * returns the views to fill (border pixels into `out`, the rows' interior spans into `spans`) before
 * `runWasmWarp`. The views are reused by later calls. Returns null where the kernel is unavailable
 * or the memory cannot grow (the caller falls back to JavaScript).
 */
export function beginWasmWarp(src: Uint8Array, srcW: number, srcH: number, outW: number, outH: number): WasmWarpPlanes | null {
  const k = load();
  if (k === null) return null;
  const srcLength = srcW * srcH;
  const outLength = outW * outH;
  // Out of memory: JavaScript needs no extra memory.
  if ((bytes === null || srcLength > srcCap || outLength > outCap || 2 * outH > spansCap) && !reserve(k, srcLength, outLength, outH)) return null;
  const mem = bytes as Uint8Array;
  mem.set(src.length === srcLength ? src : src.subarray(0, srcLength), srcOffset);
  let out = outViews.get(outLength);
  if (out === undefined) {
    out = new Uint8Array(mem.buffer, outOffset, outLength);
    outViews.set(outLength, out);
  }
  planes.out = out;
  return planes;
}

/**
 * Warps the interior spans set by the last `beginWasmWarp` into its `out` view (only those pixels are
 * written). m0..m5: the first two rows of the affine map W (output -> source pixel coordinates);
 * dX, dY: the 16.16 steps Math.round(m0 * 65536), Math.round(m3 * 65536). The source plane must be
 * at most 16384 px on each side and every span pixel's taps inside it (warp.ts settles both).
 */
export function runWasmWarp(
  srcW: number,
  outW: number,
  outH: number,
  m0: number,
  m1: number,
  m2: number,
  m3: number,
  m4: number,
  m5: number,
  dX: number,
  dY: number,
): void {
  // beginWasmWarp, called first, loaded the module.
  const k = load() as WarpExports;
  k.warp_u8_spans(srcOffset, srcW, outOffset, outW, outH, spans.byteOffset, m0, m1, m2, m3, m4, m5, dX, dY);
  runs++;
}
