/**
 * Shrinks a YUV 4:2:0 frame to a smaller size by an area average (box filter) of each plane, into planes
 * the caller owns: what the live preview needs to send preview-size images without making ffmpeg scale
 * full-size frames. Nothing is allocated per frame.
 *
 * Geometry (as video/analysis.ts and image/resize.ts): pixel centres at integer coordinates, source
 * pixel i covers [i - 0.5, i + 0.5]; output pixel o covers source [o*s - 0.5, (o+1)*s - 0.5] with
 * s = sourceSize / outputSize, and is the mean of the source over that interval, each source pixel
 * weighted by its overlap. Output centre o thus sits at source coordinate (o + 0.5) * s - 0.5, the scale
 * `frame-warper.ts` composes with the correction when it warps to a smaller output.
 *
 * Each plane is averaged on its own grid. For 'left'-sited chroma (MPEG-2, H.264) this places the output
 * chroma a quarter of a source chroma pixel (1/8 of an output chroma pixel, at a factor of 2) right of
 * where exact siting would: invisible in a preview, and what most scalers do.
 *
 * Fast paths: an integer factor on both axes sums whole blocks; another ratio is separable (a vertical
 * pass over the rows each output row covers, then a horizontal pass), with weight tables made once.
 * Results are rounded half up. A factor of 2 (1280x720 -> 640x360, the live preview's common case) on
 * word-aligned planes reads 32-bit words: two bytes of a word are summed at once in 16-bit lanes
 * ((w & 0x00ff00ff) + ((w >>> 8) & 0x00ff00ff) holds the sums of samples 0+1 and 2+3), so two words of
 * each of two rows give four output samples, written as one word. A JS engine loads a quarter as many
 * elements that way, which is what makes the kernel fast; the lanes never carry (4 * 255 + 2 < 2^16).
 */
/** The three planes of a YUV 4:2:0 frame (Y width x height, U and V ceil(width/2) x ceil(height/2)). */
export interface YuvPlanes {
  readonly y: Uint8Array;
  readonly u: Uint8Array;
  readonly v: Uint8Array;
}

/** Shrinks frames of one size to one smaller size; holds only the weight tables. */
export interface FrameShrinker {
  readonly inputWidth: number;
  readonly inputHeight: number;
  /** Output size, pixels (at most the input size on each axis). */
  readonly width: number;
  readonly height: number;
  /**
   * Shrinks the planes of an inputWidth x inputHeight frame into `out`'s planes (width x height; they must
   * not share memory with the source). Returns `out`.
   */
  shrinkInto<T extends YuvPlanes>(out: T, frame: YuvPlanes): T;
}

/** Separable area weights along one axis: output o reads source starts[o] + t with weights[o * taps + t]. */
interface AxisWeights {
  readonly taps: number;
  readonly starts: Int32Array;
  readonly weights: Float32Array;
}

function areaWeights(srcN: number, dstN: number): AxisWeights {
  const s = srcN / dstN;
  const taps = Math.ceil(s) + 1;
  const starts = new Int32Array(dstN);
  const weights = new Float32Array(dstN * taps);
  for (let o = 0; o < dstN; o++) {
    // In edge coordinates (source pixel j spans [j, j+1)) output o spans [o*s, (o+1)*s).
    const a = o * s;
    const b = Math.min(srcN, (o + 1) * s);
    const j0 = Math.min(Math.max(srcN - taps, 0), Math.floor(a));
    starts[o] = j0;
    for (let t = 0; t < taps; t++) {
      const j = j0 + t;
      if (j >= srcN) break;
      const overlap = Math.min(b, j + 1) - Math.max(a, j);
      weights[o * taps + t] = overlap > 0 ? overlap / (b - a) : 0;
    }
  }
  return { taps, starts, weights };
}

/** Shrinks one 8-bit plane into another; made once per pair of sizes. */
type PlaneShrink = (out: Uint8Array, src: Uint8Array) => void;

/** Two 8-bit lanes of a word, as 16-bit lanes. */
const LANES = 0x00ff00ff;
/** The word kernel's lane layout assumes little-endian words. */
const LITTLE_ENDIAN = new Uint8Array(Uint32Array.of(1).buffer)[0] === 1;
/** One word view per buffer (made the first time a buffer is seen, not per frame). */
const wordViews = new WeakMap<ArrayBufferLike, Int32Array>();

function wordView(a: Uint8Array): Int32Array {
  let view = wordViews.get(a.buffer);
  if (view === undefined) {
    view = new Int32Array(a.buffer, 0, a.buffer.byteLength >> 2);
    wordViews.set(a.buffer, view);
  }
  return view;
}

/** The 2x2 average on words; needs sw a multiple of 8 and both planes starting on a 4-byte boundary. */
function halveWords(out: Uint8Array, src: Uint8Array, sw: number, ow: number, oh: number): void {
  const s32 = wordView(src);
  const o32 = wordView(out);
  const srcRowWords = sw >> 2;
  const outRowWords = ow >> 2;
  const s0 = src.byteOffset >> 2;
  const o0 = out.byteOffset >> 2;
  for (let y = 0; y < oh; y++) {
    let a = s0 + 2 * y * srcRowWords;
    let b = a + srcRowWords;
    let o = o0 + y * outRowWords;
    const end = o + outRowWords;
    for (; o < end; o++, a += 2, b += 2) {
      const a0 = s32[a] as number;
      const a1 = s32[a + 1] as number;
      const b0 = s32[b] as number;
      const b1 = s32[b + 1] as number;
      // Lanes: output samples 0, 1 (first words) and 2, 3 (second words), each sum + 2 for rounding.
      const p = (a0 & LANES) + ((a0 >>> 8) & LANES) + (b0 & LANES) + ((b0 >>> 8) & LANES) + 0x00020002;
      const q = (a1 & LANES) + ((a1 >>> 8) & LANES) + (b1 & LANES) + ((b1 >>> 8) & LANES) + 0x00020002;
      o32[o] = ((p >>> 2) & 0xff) | ((p >>> 10) & 0xff00) | ((q << 14) & 0xff0000) | ((q << 6) & 0xff000000);
    }
  }
}

function planeShrinker(sw: number, sh: number, ow: number, oh: number): PlaneShrink {
  if (sw === ow && sh === oh) return (out, src) => out.set(src.subarray(0, sw * sh));
  const fx = sw / ow;
  const fy = sh / oh;
  if (fx === 2 && fy === 2) {
    const words = LITTLE_ENDIAN && sw % 8 === 0;
    return (out, src) => {
      if (words && (src.byteOffset & 3) === 0 && (out.byteOffset & 3) === 0) {
        halveWords(out, src, sw, ow, oh);
        return;
      }
      for (let y = 0; y < oh; y++) {
        let i = 2 * y * sw;
        let j = i + sw;
        let o = y * ow;
        const end = o + ow;
        for (; o < end; o++, i += 2, j += 2) {
          out[o] = ((src[i] as number) + (src[i + 1] as number) + (src[j] as number) + (src[j + 1] as number) + 2) >> 2;
        }
      }
    };
  }
  if (Number.isInteger(fx) && Number.isInteger(fy)) {
    const n = fx * fy;
    const half = n >> 1;
    return (out, src) => {
      for (let y = 0; y < oh; y++) {
        const row0 = y * fy * sw;
        for (let x = 0; x < ow; x++) {
          let sum = 0;
          for (let r = 0, k = row0 + x * fx; r < fy; r++, k += sw) {
            for (let c = 0; c < fx; c++) sum += src[k + c] as number;
          }
          out[y * ow + x] = Math.floor((sum + half) / n);
        }
      }
    };
  }
  const wx = areaWeights(sw, ow);
  const wy = areaWeights(sh, oh);
  const acc = new Float32Array(sw);
  return (out, src) => {
    for (let y = 0; y < oh; y++) {
      // Vertical pass: the weighted sum of the source rows this output row covers.
      const r0 = wy.starts[y] as number;
      const wBase = y * wy.taps;
      acc.fill(0);
      for (let t = 0; t < wy.taps; t++) {
        const w = wy.weights[wBase + t] as number;
        if (w === 0) continue;
        const row = (r0 + t) * sw;
        for (let x = 0; x < sw; x++) acc[x] = (acc[x] as number) + w * (src[row + x] as number);
      }
      // Horizontal pass.
      for (let x = 0; x < ow; x++) {
        const c0 = wx.starts[x] as number;
        const b = x * wx.taps;
        let sum = 0;
        for (let t = 0; t < wx.taps; t++) sum += (wx.weights[b + t] as number) * (acc[c0 + t] as number);
        // The weights are non-negative and sum to 1 (to float32 rounding), so the mean stays in 0..255.
        out[y * ow + x] = (sum + 0.5) | 0;
      }
    }
  };
}

/**
 * Makes a shrinker from inputWidth x inputHeight to width x height (each output side 1..the input side).
 * @throws RangeError when the output is larger than the input on an axis, or a size is not a positive integer.
 */
export function createFrameShrinker(inputWidth: number, inputHeight: number, width: number, height: number): FrameShrinker {
  for (const n of [inputWidth, inputHeight, width, height]) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`Expected positive integer frame sizes but received ${inputWidth}x${inputHeight} -> ${width}x${height}`);
  }
  if (width > inputWidth || height > inputHeight) {
    throw new RangeError(`Expected an output no larger than the input but received ${inputWidth}x${inputHeight} -> ${width}x${height}`);
  }
  const icw = Math.ceil(inputWidth / 2);
  const ich = Math.ceil(inputHeight / 2);
  const cw = Math.ceil(width / 2);
  const ch = Math.ceil(height / 2);
  const luma = planeShrinker(inputWidth, inputHeight, width, height);
  const chroma = planeShrinker(icw, ich, cw, ch);
  return {
    inputWidth,
    inputHeight,
    width,
    height,
    shrinkInto(out, frame) {
      luma(out.y, frame.y);
      chroma(out.u, frame.u);
      chroma(out.v, frame.v);
      return out;
    },
  };
}
