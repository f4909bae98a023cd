/**
 * Loader of the WebAssembly kernels of the ECC registration (src/register/wasm/ecc.c, embedded as base64 in
 * wasm/ecc-module.ts by scripts/build-wasm.sh): the unchecked row span of an iteration's fused pass (also
 * the runs of a template mask), and without a mask the template pass (gradients and their sums) and the
 * template's Hessian moments, for the affine models. ecc.ts keeps its JavaScript passes as the fallback: everything here answers false / null where the
 * engine has no WebAssembly or no 128-bit SIMD (the module then fails validation), and ecc.ts carries on in
 * JavaScript.
 *
 * The module is compiled and instantiated synchronously on first use (about 5 kB). It owns its linear
 * memory: from `__heap_base`, OUT_DOUBLES doubles where the kernels write their sums, then one region per
 * plane size (pixels) seen so far, holding four float planes of a level, in this order:
 *   moving image | template | template x gradient | template y gradient
 * Workspaces of one size share its region (a pyramid's levels have distinct sizes, so they do not
 * compete; a video after another of the same size reuses the regions): the region remembers whose
 * template it holds, and a workspace copies its template planes back in only when the region holds
 * another one. The template pass copies the template in and its gradients out (ecc.ts keeps them for the
 * pixels outside the spans), so the template crosses once per template and the moving image once per
 * alignment, never per iteration or row, and the memory grows only when a new size arrives.
 */
import { alignUp, growMemoryTo, lazySimdModule, type WasmMemory } from '../image/wasm/instantiate.js';
import { ECC_WASM_BASE64 } from './wasm/ecc-module.js';

/** What the module exports. */
interface EccExports {
  readonly memory: WasmMemory;
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
  readonly ecc_template_sums: (t: number, gx: number, gy: number, w: number, h: number, half: number, xStart: number, invS: number, cy: number, deg: number, out: number) => void;
  readonly ecc_hessian_moments: (gx: number, gy: number, w: number, h: number, xStart: number, invS: number, cy: number, deg: number, step: number, out: number) => void;
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
  /**
   * The template pass of ecc.ts (templateSums without a mask, degree 0 or 1): copies the template `t` in,
   * writes its gradients gx = (t(x+1) - t(x-1)) half, gy = (t(y+1) - t(y-1)) half for the interior pixels
   * into the module's planes and into `gxOut`, `gyOut` (border pixels there get whatever the module's
   * planes hold: never read), and makes it this workspace's template (as setTemplate with the three).
   * Returns the sums, a view valid until the next call of any kernel here:
   * [n, sum t, sum t^2, then m00, m01, m10 of gx, gy, t gx, t gy (moments sum q x~^a y~^b, y~ = (y - cy)
   * invS, x~ = xStart + (x - 1) invS), then for degree 0 the sums of gx^2, gx gy, gy^2] (18 values; the
   * degree-1 moments are 0 for degree 0, the last three 0 for degree 1).
   */
  templateSums(t: Float32Array, w: number, h: number, half: number, xStart: number, invS: number, cy: number, deg: number, gxOut: Float32Array, gyOut: Float32Array): Float64Array;
  /**
   * ecc.ts hessianMoments without a mask over this workspace's template gradients (copied back in first
   * when the region holds another template): the moments of degree <= deg (<= 2) of gx^2, gx gy, gy^2 on
   * every step-th row and column. Returns a view valid until the next call: [pixels visited, then for each
   * of xx, xy, yy the moments (0,0) (0,1) (0,2) (1,0) (1,1) (2,0)] (19 values), the same doubles as the
   * JavaScript.
   */
  hessianMoments(w: number, h: number, xStart: number, invS: number, cy: number, deg: number, step: number): Float64Array;
}

/** Doubles the kernels write (the most: the Hessian moments' 19). */
const OUT_DOUBLES = 19;
/** Of which a span's sums. */
const SPAN_SUMS = 9;

const loadModule = lazySimdModule<EccExports>(ECC_WASM_BASE64, ['ecc_span_affine', 'ecc_template_sums', 'ecc_hessian_moments']);
let tried = false;
let kernel: EccExports | null = null;
let sumsOffset = 0;
/** First byte past the last region carved so far. */
let top = 0;
/** Bumped whenever the memory grows (its buffer is replaced, so views over the old one are dead). */
let generation = 0;
let sums: Float64Array = new Float64Array(0);
let outView: Float64Array = sums;
let spans = 0;
let templates = 0;
/** One region per plane size: its offset, and which workspace's template (and which version) it holds. */
interface Region {
  readonly offset: number;
  owner: object | null;
  version: number;
}
const regions = new Map<number, Region>();

/** The module, with room for the kernels' output doubles; null where WebAssembly or its SIMD is missing. */
function load(): EccExports | null {
  if (tried) return kernel;
  tried = true;
  const exports = loadModule();
  if (exports === null) return null;
  sumsOffset = alignUp(exports.__heap_base.value);
  top = alignUp(sumsOffset + 8 * OUT_DOUBLES);
  // The engine refused the memory: the JavaScript kernels run.
  if (!growMemoryTo(exports.memory, top)) return null;
  makeOutViews(exports);
  kernel = exports;
  return kernel;
}

/** The views of the kernels' output doubles over the current buffer. */
function makeOutViews(k: EccExports): void {
  sums = new Float64Array(k.memory.buffer, sumsOffset, SPAN_SUMS);
  outView = new Float64Array(k.memory.buffer, sumsOffset, OUT_DOUBLES);
}

/** True when the WebAssembly ECC span kernel runs here (WebAssembly with 128-bit SIMD). Loads it on first call. */
export function wasmEccAvailable(): boolean {
  return load() !== null;
}

/** How many row spans the WebAssembly kernel has summed in this process (lets tests see that it ran). */
export function wasmEccSpans(): number {
  return spans;
}

/** How many templates the WebAssembly template pass has prepared in this process (lets tests see that it ran). */
export function wasmEccTemplates(): number {
  return templates;
}

/** A region of `bytes` bytes carved from the end (growing the memory); null when it cannot grow (nothing has changed then). */
function allocate(k: EccExports, bytes: number): number | null {
  const offset = top;
  const end = offset + bytes;
  const buffer = k.memory.buffer;
  if (!growMemoryTo(k.memory, end)) return null;
  if (k.memory.buffer !== buffer) {
    generation++;
    makeOutViews(k);
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
    const offset = allocate(k, 4 * planeBytes);
    // Out of memory: JavaScript needs no extra memory.
    if (offset === null) return null;
    region = { offset, owner: null, version: 0 };
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
  /** Makes the region hold this workspace's current template (copying its planes in when it does not). */
  function ensureTemplate(): void {
    if (tSrc === null) throw new Error('a kernel that reads the template ran before setTemplate');
    views();
    if (shared.owner !== planes || shared.version !== version) {
      fill(tView, tSrc);
      fill(gxView, gxSrc);
      fill(gyView, gySrc);
      shared.owner = planes;
      shared.version = version;
    }
  }
  const planes: WasmEccPlanes = {
    length,
    setTemplate(t, gx, gy) {
      tSrc = t;
      gxSrc = gx;
      gySrc = gy;
      version++;
    },
    setImage(img) {
      ensureTemplate();
      fill(imgView, img);
    },
    templateSums(t, w, h, half, xStart, invS, cy, deg, gxOut, gyOut) {
      views();
      fill(tView, t);
      k.ecc_template_sums(tOffset, gxOffset, gyOffset, w, h, half, xStart, invS, cy, deg, sumsOffset);
      gxOut.set(gxView);
      gyOut.set(gyView);
      tSrc = t;
      gxSrc = gxOut;
      gySrc = gyOut;
      version++;
      shared.owner = planes;
      shared.version = version;
      templates++;
      return outView;
    },
    hessianMoments(w, h, xStart, invS, cy, deg, step) {
      ensureTemplate();
      k.ecc_hessian_moments(gxOffset, gyOffset, w, h, xStart, invS, cy, deg, step, sumsOffset);
      return outView;
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
