/**
 * The gray analysis image registration works on: the decoded Y plane shrunk by an area average (box
 * filter), in-process.
 *
 * Why in-process rather than a second ffmpeg output (`-filter_complex split` with scale + format=gray to
 * a pipe on fd 3): one pipe means one frame boundary to keep in step, no risk of the two pipes
 * deadlocking when the consumer reads one faster than the other, the same code path for every input
 * (files, devices, stdin), and an exact, documented filter instead of ffmpeg's version-dependent
 * swscale area filter. Shrinking 1920x1080 to 480x270 reads each Y sample once.
 *
 * Geometry: pixel centres at integer coordinates, so source pixel i covers [i - 0.5, i + 0.5] and
 * output pixel o covers source [o*s - 0.5, (o+1)*s - 0.5] with s = sourceSize / outputSize; the output
 * pixel is the mean of the source over that interval, each source pixel weighted by its overlap. Output
 * centre o therefore sits at source coordinate (o + 0.5) * s - 0.5: a point x in the source maps to
 * (x + 0.5) / s - 0.5 in the output, which is what callers must use to scale motion back up.
 */
import type { GrayImage } from '../image/gray-image.js';

/**
 * The analysis size for a frame: scaled down (never up) so that the longer side is at most `maxSide`,
 * keeping the aspect ratio, each side at least 1.
 * @param maxSide longest side of the analysis image, pixels.
 */
export function analysisSize(width: number, height: number, maxSide: number): { width: number; height: number } {
  const longest = Math.max(width, height);
  if (longest <= maxSide) return { width, height };
  const s = maxSide / longest;
  return { width: Math.max(1, Math.round(width * s)), height: Math.max(1, Math.round(height * s)) };
}

/** How the source rows fall into output rows. */
interface AxisTable {
  /** First output index source sample i contributes to. */
  readonly out: Int32Array;
  /** Fraction of source sample i inside that output sample; the rest (1 - w) goes to the next one. */
  readonly weight: Float32Array;
}

/**
 * Source row i spans [i, i+1) in edge coordinates, output row o spans [o*s, (o+1)*s) with s >= 1, so a
 * source row overlaps at most two output rows.
 */
function axisTable(size: number, outSize: number): AxisTable {
  const s = size / outSize;
  const out = new Int32Array(size);
  const weight = new Float32Array(size);
  for (let i = 0; i < size; i++) {
    const o = Math.min(outSize - 1, Math.floor(i / s));
    const boundary = (o + 1) * s;
    out[i] = o;
    weight[i] = i + 1 <= boundary || o + 1 >= outSize ? 1 : boundary - i;
  }
  return { out, weight };
}

/**
 * For each output column k (spanning [k*s, (k+1)*s) in edge coordinates): the source columns wholly
 * inside, [first, end), and the partly covered ones on each side with their weights (0 when none).
 */
interface ColumnSpans {
  readonly first: Int32Array;
  readonly end: Int32Array;
  readonly left: Int32Array;
  readonly leftWeight: Float32Array;
  readonly right: Int32Array;
  readonly rightWeight: Float32Array;
}

function columnSpans(size: number, outSize: number): ColumnSpans {
  const s = size / outSize;
  const spans: ColumnSpans = {
    first: new Int32Array(outSize),
    end: new Int32Array(outSize),
    left: new Int32Array(outSize),
    leftWeight: new Float32Array(outSize),
    right: new Int32Array(outSize),
    rightWeight: new Float32Array(outSize),
  };
  for (let k = 0; k < outSize; k++) {
    const a = k * s;
    const b = k === outSize - 1 ? size : (k + 1) * s;
    const first = Math.ceil(a);
    const end = Math.max(first, Math.floor(b));
    spans.first[k] = first;
    spans.end[k] = end;
    // Indices stay inside the row even when their weight is 0, so the sum needs no branch.
    spans.left[k] = Math.max(0, first - 1);
    spans.leftWeight[k] = first - a;
    spans.right[k] = Math.min(size - 1, end);
    spans.rightWeight[k] = end < size ? b - end : 0;
  }
  return spans;
}

/** Tables and accumulators for one (source size, output size) pair, kept for the next frame. */
interface DownscaleWorkspace {
  readonly key: string;
  readonly cols: ColumnSpans;
  readonly rows: AxisTable;
  readonly rowSum: Float64Array;
  accA: Float64Array;
  accB: Float64Array;
}

let workspace: DownscaleWorkspace | null = null;

function workspaceFor(width: number, height: number, ow: number, oh: number): DownscaleWorkspace {
  const key = `${width}x${height}>${ow}x${oh}`;
  if (workspace === null || workspace.key !== key) {
    workspace = {
      key,
      cols: columnSpans(width, ow),
      rows: axisTable(height, oh),
      rowSum: new Float64Array(ow),
      accA: new Float64Array(ow),
      accB: new Float64Array(ow),
    };
  }
  return workspace;
}

/**
 * Shrinks an 8-bit plane (`width` x `height`, tightly packed) into `out` by area averaging; `out`'s size
 * picks the scale (not larger than the source). Gray levels stay 0..255. Separable: each source row is
 * summed once into output columns (whole pixels plus the two partly covered edge pixels), then spread
 * over the (at most two) output rows it overlaps. The
 * weight tables and row accumulators are made once per pair of sizes and reused, so a video allocates
 * nothing per frame. Returns `out`.
 */
export function downscaleYInto(out: GrayImage, y: Uint8Array, width: number, height: number): GrayImage {
  const ow = out.width;
  const oh = out.height;
  const dst = out.data;
  if (ow > width || oh > height) throw new RangeError(`cannot downscale ${width}x${height} to a larger ${ow}x${oh}`);
  if (y.length < width * height) throw new RangeError(`expected ${width * height} samples (${width}x${height}), got ${y.length}`);
  const sx = width / ow;
  const sy = height / oh;
  if (Number.isInteger(sx) && Number.isInteger(sy)) {
    // Whole blocks: every weight is 1, and summing block by block is the fastest order.
    const invBlock = 1 / (sx * sy);
    for (let oy = 0; oy < oh; oy++) {
      const y0 = oy * sy;
      for (let ox = 0; ox < ow; ox++) {
        const x0 = ox * sx;
        let sum = 0;
        for (let j = 0; j < sy; j++) {
          const row = (y0 + j) * width + x0;
          for (let i = 0; i < sx; i++) sum += y[row + i] as number;
        }
        dst[oy * ow + ox] = sum * invBlock;
      }
    }
    return out;
  }
  const ws = workspaceFor(width, height, ow, oh);
  const { first, end, left, leftWeight, right, rightWeight } = ws.cols;
  const rowOut = ws.rows.out;
  const rowW = ws.rows.weight;
  const rowSum = ws.rowSum;
  let accA = ws.accA;
  let accB = ws.accB;
  accA.fill(0);
  accB.fill(0);
  const inv = 1 / (sx * sy);
  let r = 0;
  for (let j = 0; j < height; j++) {
    const base = j * width;
    for (let k = 0; k < ow; k++) {
      let sum = (leftWeight[k] as number) * (y[base + (left[k] as number)] as number) + (rightWeight[k] as number) * (y[base + (right[k] as number)] as number);
      const e = base + (end[k] as number);
      for (let i = base + (first[k] as number); i < e; i++) sum += y[i] as number;
      rowSum[k] = sum;
    }
    const o = rowOut[j] as number;
    while (o > r) {
      const d = r * ow;
      for (let k = 0; k < ow; k++) dst[d + k] = (accA[k] as number) * inv;
      const t = accA;
      accA = accB;
      accB = t;
      accB.fill(0);
      r += 1;
    }
    const a = rowW[j] as number;
    for (let k = 0; k < ow; k++) accA[k] = (accA[k] as number) + a * (rowSum[k] as number);
    if (a < 1) {
      const b = 1 - a;
      for (let k = 0; k < ow; k++) accB[k] = (accB[k] as number) + b * (rowSum[k] as number);
    }
  }
  const d = r * ow;
  for (let k = 0; k < ow; k++) dst[d + k] = (accA[k] as number) * inv;
  ws.accA = accA;
  ws.accB = accB;
  return out;
}
