/**
 * Loader of the WebAssembly kernel of the analysis downscale (src/video/wasm/downscale.c, embedded as
 * base64 in wasm/downscale-module.ts by scripts/build-wasm.sh). analysis.ts keeps the JavaScript kernels
 * as the fallback: every function here answers false where the engine has no WebAssembly or no 128-bit
 * SIMD (the module then fails validation), where the memory cannot grow, or where a scale's integer sums
 * would not fit the kernel's 16- and 32-bit lanes (each entry point's bounds are in downscale.c); the
 * caller then runs JavaScript, which gives the same floats.
 *
 * The module is compiled and instantiated synchronously on first use (10 kB). It owns its linear memory;
 * the memory holds, from `__heap_base`, four regions sized for the largest planes seen so far and grown
 * (never shrunk) when a bigger one arrives:
 *   tap tables | column-sum row | source plane (+ padding) | output plane (+ padding)
 * Each call copies the Y plane in (one native copy, whatever the view's alignment), runs the kernel over
 * the whole plane and copies the floats out. The tap tables of a fractional scale are written when the
 * scale changes (analysis.ts hands the same table objects back frame after frame), not per frame.
 */
import { alignUp, growMemoryTo, lazySimdModule, type WasmMemory } from '../image/wasm/instantiate.js';
import type { GrayImage } from '../image/gray-image.js';
import { DOWNSCALE_WASM_BASE64 } from './wasm/downscale-module.js';

/**
 * One axis of a fractional scale, as analysis.ts tabulates it: output o takes `taps` consecutive
 * samples from start[o] with integer weights weight[o*taps + t]; a sample is Q units long and an output
 * `units` (P) long, so one output's weights sum to P.
 */
export interface DownscaleAxisTaps {
  readonly taps: number;
  readonly start: Int32Array;
  readonly weight: Int32Array;
  readonly units: number;
}

/** What the module exports. */
interface DownscaleExports {
  readonly memory: WasmMemory;
  readonly __heap_base: { readonly value: number };
  readonly ds_weighted16: (
    src: number,
    w: number,
    out: number,
    ow: number,
    oh: number,
    cs: number,
    cw: number,
    T: number,
    gb: number,
    gm: number,
    rs: number,
    rw: number,
    ty: number,
    acc: number,
    inv: number,
  ) => void;
  readonly ds_weighted32: (
    src: number,
    w: number,
    out: number,
    ow: number,
    oh: number,
    cs: number,
    cw: number,
    tx: number,
    rs: number,
    rw: number,
    ty: number,
    acc: number,
    inv: number,
  ) => void;
  readonly ds_blocks: (
    src: number,
    w: number,
    out: number,
    ow: number,
    oh: number,
    kx: number,
    ky: number,
    pairs: number,
    cs: number,
    cw: number,
    T: number,
    gb: number,
    gm: number,
    acc: number,
    inv: number,
  ) => void;
}

/** Bytes after the source plane and after the output plane: vector loads and stores run past the end by at most 15 bytes / 15 floats. */
const PAD = 64;
/** Largest integer sum the kernels' 32-bit lanes hold. */
const MAX_SUM = 2 ** 31 - 1;
/** Largest 16-bit column sum or weight the horizontal pass's signed dot products take. */
const MAX_I16 = 32767;
/** Largest block height whose pairwise 16-bit column sums (2 * 255 * ky) cannot carry. */
const MAX_BLOCK_ROWS = 128;
/** Largest block height whose pairwise column sums stay below 2^15 (read as signed 16-bit by the horizontal pass). */
const MAX_PAIR_ROWS = 64;

const load = lazySimdModule<DownscaleExports>(DOWNSCALE_WASM_BASE64, ['ds_weighted16', 'ds_weighted32', 'ds_blocks']);
let tablesCap = 0;
let accCap = 0;
let srcCap = 0;
let outCap = 0;
let accOffset = 0;
let srcOffset = 0;
let outOffset = 0;
let bytes: Uint8Array | null = null;
let words: Int32Array = new Int32Array(0);
let halves: Int16Array = new Int16Array(0);
/** Output views by plane length (an analysis size and a metrics size may alternate). */
const outViews = new Map<number, Float32Array>();
let runs = 0;

/**
 * Where a scale's tap tables lie in the tables region (byte offsets) and their shape: T taps per output
 * (16-bit tables: 2, 4 or a multiple of 8, zero-padded; 32-bit tables: the plain tap count), and for
 * T = 2 or 4 the groups' first columns (gb) and byte maps (gm) of the kernel's gathered form.
 */
interface TablePlan {
  readonly wide: boolean;
  readonly T: number;
  readonly cs: number;
  readonly cw: number;
  readonly gb: number;
  readonly gm: number;
  readonly rs: number;
  readonly rw: number;
  /** Bytes of the whole tables region used. */
  readonly bytes: number;
}

/** The tables in memory now: for these column (and row) taps, laid out as `loadedPlan` (null: none). */
let loadedCols: DownscaleAxisTaps | null = null;
let loadedRows: DownscaleAxisTaps | null = null;
let loadedPlan: TablePlan | null = null;
/** The unit-weight column taps of the last block width, output width and column grouping (made once, reused). */
let blockCols: DownscaleAxisTaps | null = null;
let blockKey = '';

/** True when the WebAssembly downscale kernel runs here (WebAssembly with 128-bit SIMD). Loads it on first call. */
export function wasmDownscaleAvailable(): boolean {
  return load() !== null;
}

/** How many planes the WebAssembly kernel has downscaled in this process (lets tests see that it ran). */
export function wasmDownscaleRuns(): number {
  return runs;
}

/**
 * Makes the regions hold at least these byte sizes, growing the memory when needed; rebuilds the
 * views and forgets the loaded tables when anything moved. False when the memory cannot grow (nothing
 * has changed then).
 */
function reserve(k: DownscaleExports, tablesBytes: number, accBytes: number, srcBytes: number, outBytes: number): boolean {
  if (bytes !== null && tablesBytes <= tablesCap && accBytes <= accCap && srcBytes <= srcCap && outBytes <= outCap) return true;
  const newTablesCap = alignUp(Math.max(tablesCap, tablesBytes));
  const newAccCap = alignUp(Math.max(accCap, accBytes));
  const newSrcCap = alignUp(Math.max(srcCap, srcBytes));
  const newOutCap = alignUp(Math.max(outCap, outBytes));
  const newAccOffset = alignUp(k.__heap_base.value) + newTablesCap;
  const newSrcOffset = newAccOffset + newAccCap;
  const newOutOffset = newSrcOffset + newSrcCap + PAD;
  const end = newOutOffset + newOutCap + PAD;
  // Out of memory: JavaScript needs no extra memory.
  if (!growMemoryTo(k.memory, end)) return false;
  tablesCap = newTablesCap;
  accCap = newAccCap;
  srcCap = newSrcCap;
  outCap = newOutCap;
  accOffset = newAccOffset;
  srcOffset = newSrcOffset;
  outOffset = newOutOffset;
  const buffer = k.memory.buffer;
  bytes = new Uint8Array(buffer);
  words = new Int32Array(buffer);
  halves = new Int16Array(buffer);
  outViews.clear();
  loadedCols = null;
  loadedRows = null;
  loadedPlan = null;
  return true;
}

/** Copies the first n samples of `y` into the source region. */
function copyIn(y: Uint8Array, n: number): void {
  (bytes as Uint8Array).set(y.length === n ? y : y.subarray(0, n), srcOffset);
}

/** Copies the output region (ow * oh floats) into `out`. */
function copyOut(out: GrayImage): void {
  const n = out.width * out.height;
  let view = outViews.get(n);
  if (view === undefined) {
    view = new Float32Array((bytes as Uint8Array).buffer, outOffset, n);
    outViews.set(n, view);
  }
  out.data.set(view);
}

/** Outputs per group of the gathered form (one vector load and one byte shuffle): 4 for T = 2, 2 for T = 4. */
function groupSize(T: number): number {
  return T === 2 ? 4 : T === 4 ? 2 : 0;
}

/** Whether every group of `n` outputs has its T taps within the eight 16-bit lanes from the group's first start. */
function groupsFit(start: Int32Array, ow: number, n: number, T: number): boolean {
  for (let o0 = 0; o0 < ow; o0 += n) {
    const base = start[o0] as number;
    for (let o = o0; o < Math.min(ow, o0 + n); o++) if ((start[o] as number) - base + T > 8) return false;
  }
  return true;
}

/**
 * The layout of the tap tables of `cols` (and of `rows`, when given) for ow outputs: 16-bit tables with
 * taps padded to 2, 4 (gathered form; it always fits at the ratios that need so few taps, and T = 8 is
 * taken should it not) or a multiple of 8, else 32-bit tables (`wide`).
 */
function planTables(cols: DownscaleAxisTaps, rows: DownscaleAxisTaps | null, ow: number, oh: number, wide: boolean): TablePlan {
  const tx = cols.taps;
  const ow4 = (ow + 3) & ~3;
  let T = tx;
  if (!wide) {
    T = tx <= 2 ? 2 : tx <= 4 ? 4 : Math.ceil(tx / 8) * 8;
    if (T <= 4 && !groupsFit(cols.start, ow, groupSize(T), T)) T = 8;
  }
  const groups = groupSize(T) === 0 || wide ? 0 : ow4 / groupSize(T);
  // Planned only once the module loaded: its heap base is known.
  const cs = alignUp((load() as DownscaleExports).__heap_base.value);
  const cw = cs + alignUp(4 * ow4);
  const gb = cw + alignUp(wide ? 4 * tx * ow : 2 * T * ow4);
  const gm = gb + alignUp(4 * groups);
  const rs = gm + 16 * groups;
  const rw = rs + alignUp(rows === null ? 0 : 4 * oh);
  const end = rw + alignUp(rows === null ? 0 : 4 * oh * rows.taps);
  return { wide, T, cs, cw, gb: groups === 0 ? 0 : gb, gm: groups === 0 ? 0 : gm, rs, rw, bytes: end - cs };
}

/** Writes the tables of `plan` (see planTables) into memory. */
function writeTables(plan: TablePlan, cols: DownscaleAxisTaps, rows: DownscaleAxisTaps | null, ow: number): void {
  const mem = bytes as Uint8Array;
  const tx = cols.taps;
  const T = plan.T;
  const ow4 = (ow + 3) & ~3;
  // Starts, zero past ow (the padded outputs' weights are zero).
  words.fill(0, plan.cs >> 2, (plan.cs >> 2) + ow4);
  words.set(cols.start.subarray(0, ow), plan.cs >> 2);
  if (plan.wide) {
    words.set(cols.weight.subarray(0, ow * tx), plan.cw >> 2);
  } else {
    // Each output's weights padded with zeros to T.
    const cw = plan.cw >> 1;
    halves.fill(0, cw, cw + T * ow4);
    for (let o = 0; o < ow; o++) for (let t = 0; t < tx; t++) halves[cw + o * T + t] = cols.weight[o * tx + t] as number;
  }
  if (plan.gm !== 0) {
    // Group g: its first output's start, and for lane j*T + t (output j of the group, tap t) the two
    // bytes of that tap's column counted from the group's start; padded outputs read lane 0.
    const n = groupSize(T);
    for (let g = 0; g < ow4 / n; g++) {
      const o0 = g * n;
      const base = o0 < ow ? (cols.start[o0] as number) : 0;
      words[(plan.gb >> 2) + g] = base;
      for (let j = 0; j < n; j++) {
        const o = o0 + j;
        for (let t = 0; t < T; t++) {
          const lane = o < ow ? (cols.start[o] as number) - base + t : 0;
          const at = plan.gm + 16 * g + 2 * (j * T + t);
          mem[at] = 2 * lane;
          mem[at + 1] = 2 * lane + 1;
        }
      }
    }
  }
  if (rows !== null) {
    words.set(rows.start, plan.rs >> 2);
    words.set(rows.weight, plan.rw >> 2);
  }
}

function maxOf(a: Int32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, a[i] as number);
  return m;
}

/**
 * Shrinks `y` (width x height) into `out` by the fractional-scale tables `cols` / `rows` (analysis.ts's
 * workspace: the same objects for the same sizes) and inv = 1 / (Px * Py), with the JavaScript kernels'
 * floats. False (nothing written) where the kernel is unavailable, the memory cannot grow or the sums
 * exceed 32 bits.
 */
export function runWasmDownscaleWeighted(
  out: GrayImage,
  y: Uint8Array,
  width: number,
  height: number,
  cols: DownscaleAxisTaps,
  rows: DownscaleAxisTaps,
  inv: number,
): boolean {
  const k = load();
  if (k === null) return false;
  const px = cols.units;
  const py = rows.units;
  if (255 * px * py > MAX_SUM) return false;
  const ow = out.width;
  const oh = out.height;
  const same = cols === loadedCols && rows === loadedRows;
  // 16-bit column sums where they and the column weights fit signed 16-bit lanes.
  const plan = same ? (loadedPlan as TablePlan) : planTables(cols, rows, ow, oh, 255 * py > MAX_I16 || maxOf(cols.weight) > MAX_I16);
  if (!reserve(k, plan.bytes, 4 * (alignUp(width) + plan.T + 16), width * height, 4 * ow * oh)) return false;
  if (cols !== loadedCols || rows !== loadedRows) {
    writeTables(plan, cols, rows, ow);
    loadedCols = cols;
    loadedRows = rows;
    loadedPlan = plan;
  }
  copyIn(y, width * height);
  const ty = rows.taps;
  if (plan.wide) k.ds_weighted32(srcOffset, width, outOffset, ow, oh, plan.cs, plan.cw, plan.T, plan.rs, plan.rw, ty, accOffset, inv);
  else k.ds_weighted16(srcOffset, width, outOffset, ow, oh, plan.cs, plan.cw, plan.T, plan.gb, plan.gm, plan.rs, plan.rw, ty, accOffset, inv);
  copyOut(out);
  runs++;
  return true;
}

/**
 * Shrinks `y` (width x height) into `out` by whole kx x ky blocks: out(ox, oy) is the mean of source
 * columns [kx ox, kx ox + kx) of rows [ky oy, ky oy + ky) (out.width * kx <= width and out.height * ky <=
 * height, checked by the caller), with the JavaScript kernels' floats. False (nothing written) where the
 * kernel is unavailable, the memory cannot grow or ky exceeds 128 rows.
 */
export function runWasmDownscaleBlocks(out: GrayImage, y: Uint8Array, width: number, height: number, kx: number, ky: number): boolean {
  const k = load();
  if (k === null) return false;
  if (ky > MAX_BLOCK_ROWS || 255 * kx * ky > MAX_SUM) return false;
  const ow = out.width;
  const oh = out.height;
  const inv = 1 / (kx * ky);
  const srcBytes = width * height;
  if (kx === 1 || kx === 2 || kx === 4) {
    // Pairwise sums straight into outputs: no tables, no column-sum row.
    if (!reserve(k, 0, 0, srcBytes, 4 * ow * oh)) return false;
    copyIn(y, srcBytes);
    k.ds_blocks(srcOffset, width, outOffset, ow, oh, kx, ky, 0, 0, 0, 0, 0, 0, 0, inv);
  } else {
    // Even widths sum column pairs first (half the vertical work and half the taps) when the pair
    // sums fit; each output then takes kx / 2 pair sums.
    const pairs = (kx & 1) === 0 && ky <= MAX_PAIR_ROWS;
    const taps = pairs ? kx / 2 : kx;
    const key = `${taps} ${ow}`;
    if (blockCols === null || blockKey !== key) {
      const start = new Int32Array(ow);
      for (let o = 0; o < ow; o++) start[o] = o * taps;
      blockCols = { taps, start, weight: new Int32Array(ow * taps).fill(1), units: taps };
      blockKey = key;
    }
    const cols = blockCols;
    const same = cols === loadedCols && loadedRows === null;
    const plan = same ? (loadedPlan as TablePlan) : planTables(cols, null, ow, oh, false);
    if (!reserve(k, plan.bytes, 2 * (alignUp(ow * kx) + plan.T + 16), srcBytes, 4 * ow * oh)) return false;
    if (cols !== loadedCols || loadedRows !== null) {
      writeTables(plan, cols, null, ow);
      loadedCols = cols;
      loadedRows = null;
      loadedPlan = plan;
    }
    copyIn(y, srcBytes);
    k.ds_blocks(srcOffset, width, outOffset, ow, oh, kx, ky, pairs ? 1 : 0, plan.cs, plan.cw, plan.T, plan.gb, plan.gm, accOffset, inv);
  }
  copyOut(out);
  runs++;
  return true;
}
