/**
 * Seeded synthetic shaky clips with per-frame ground truth, for the stabilize tests.
 *
 * Scene: an unbounded textured plane, value noise with cubic B-spline interpolation over hashed random
 * lattices (three octaves, lattice spacings 23, 9 and 4 px). The texture is evaluated exactly at every
 * pixel centre of every frame, so the frames carry no resampling error: only 8-bit rounding and whatever
 * the chosen codec adds (FFV1 in .mkv: none).
 *
 * Camera (as ../shared/anchors/make_shaky.py, scaled to the clip): frame pixel u maps to the scene point
 * G_k(u) = c + p_k + R(theta_k) (u - c_frame), with the path p_k = smooth_k + jitter_k:
 *   smooth: by default a constant-velocity pan, drift and roll (`panPx`, `driftPx`, `rollDeg` over the
 *           clip); with path 'ease' the anchors' ease-in/out pan and one sine period of drift and roll;
 *   jitter: AR(1) Gaussian noise with coefficient 0.7, scaled to RMS `jitterPx` in x and y and
 *           `jitterDeg` in angle (angle clipped to +-2 degrees).
 *
 * Truth, steady's conventions (motion/mat3.ts), 3x3 row-major, in frame pixels:
 *   motion[k]     = G_k^-1 G_{k-1}: frame k-1 pixel -> frame k pixel (identity for k = 0), the motion the
 *                   stabilizer must report (`motion` in the motion file);
 *   correction[k] = G_k^-1 S_k with S_k the camera of the smooth path: ideal output pixel -> input pixel.
 *   trueJitter    = the anchors' high-frequency jitter measure computed from the true motions.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { type Mat3, invertInto, multiplyInto } from '../../src/motion/mat3.js';
import { parseMotionFile } from '../../src/track/motion-file.js';
import { openDecoder } from '../../src/video/decoder.js';
import { runCli } from './cli.js';
import { makeClipFromYuvFrames, yuv420pBytes } from './ffmpeg-fixtures.js';
import { centerMotion, hfJitter, JITTER_WINDOW, type JitterMeasure } from './jitter.js';
import { mulberry32 } from './rng.js';

/** Uniform numbers in [0, 1) from a 32-bit seed (mulberry32, test/support/rng.ts). */
export const seededUniform: (seed: number) => () => number = mulberry32;

/** Standard normal numbers (Box-Muller) from a uniform source. */
export function seededNormal(uniform: () => number): () => number {
  return () => {
    const u = Math.max(uniform(), 1e-12);
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * uniform());
  };
}

/** What to make. */
export interface ShakyClipSpec {
  /** Seed of the texture and the jitter. */
  readonly seed: number;
  /** Frame width, pixels. @default 320 */
  readonly width?: number;
  /** Frame height, pixels. @default 180 */
  readonly height?: number;
  /** Frames. @default 90 */
  readonly frames?: number;
  /** Frames per second. @default 30 */
  readonly fps?: number;
  /**
   * Shape of the intended path. 'linear': constant-velocity pan, drift and roll over the clip; a centred
   * moving average keeps a straight line, so the jitter measure of the intended path itself is zero and
   * all the jitter measured is the known jitter. 'ease': the anchors' ease-in/out pan with one sine period
   * of drift and roll; on a short clip their curvature alone scores as jitter in the 31-frame measure
   * (see `smoothJitter`).
   * @default 'linear'
   */
  readonly path?: 'linear' | 'ease';
  /** Total pan in x over the clip ('linear'; 'ease': the same total), pixels. @default 40 */
  readonly panPx?: number;
  /** Vertical drift over the clip ('linear') or its sine amplitude ('ease'), pixels. @default 8 */
  readonly driftPx?: number;
  /** Roll over the clip ('linear') or its sine amplitude ('ease'), degrees. @default 1 */
  readonly rollDeg?: number;
  /** RMS of the translation jitter in x and in y, pixels. @default 1.5 */
  readonly jitterPx?: number;
  /** RMS of the rotation jitter, degrees. @default 0.7 */
  readonly jitterDeg?: number;
  /** Video codec: 'ffv1' (lossless, .mkv) or e.g. 'libx264' with `crf`. @default 'ffv1' */
  readonly codec?: string;
  /** x264 constant rate factor when codec is libx264. @default 0 */
  readonly crf?: number;
  /** Frames shown as flat mid-gray (a dropped or blank frame: nothing to register); the truth is unchanged. @default [] */
  readonly blankFrames?: readonly number[];
}

/** A made clip and its truth. */
export interface ShakyClip {
  readonly path: string;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly frames: number;
  /** Frame k-1 pixel -> frame k pixel (identity for k = 0). */
  readonly motion: readonly Mat3[];
  /** Ideal stabilized output pixel -> input pixel (smooth camera). */
  readonly correction: readonly Mat3[];
  /** Frame pixel -> scene point, shaky and smooth camera. */
  readonly camera: readonly Mat3[];
  readonly smoothCamera: readonly Mat3[];
  /** Jitter path (x px, y px, angle deg) per frame. */
  readonly jitter: readonly (readonly [number, number, number])[];
  /** The jitter measure of the true motions (what a perfect measurement of the input gives); null under 31 frames. */
  readonly trueJitter: JitterMeasure | null;
  /** The jitter measure of the intended (smooth) camera alone: what a perfect stabilizer leaves; null under 31 frames. */
  readonly smoothJitter: JitterMeasure | null;
}

const LATTICES = [
  { spacing: 23, amplitude: 0.5 },
  { spacing: 9, amplitude: 0.32 },
  { spacing: 4, amplitude: 0.18 },
] as const;

/** A value in [-1, 1) for lattice point (i, j) of octave o: an integer hash, so the plane is unbounded. */
function latticeValue(seed: number, o: number, i: number, j: number): number {
  let h = Math.imul(i, 0x27d4eb2d) ^ Math.imul(j, 0x165667b1) ^ Math.imul(o + 1, 0x9e3779b1) ^ seed;
  h = Math.imul(h ^ (h >>> 15), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  h ^= h >>> 16;
  return (h >>> 0) / 2147483648 - 1;
}

/** The textured plane: value noise evaluated exactly at any point, with a cache of lattice values. */
function createTexture(seed: number, minX: number, minY: number, maxX: number, maxY: number) {
  const grids = LATTICES.map((l, o) => {
    const i0 = Math.floor(minX / l.spacing) - 2;
    const j0 = Math.floor(minY / l.spacing) - 2;
    const nw = Math.ceil(maxX / l.spacing) + 3 - i0;
    const nh = Math.ceil(maxY / l.spacing) + 3 - j0;
    const v = new Float64Array(nw * nh);
    // Amplitude folded into the lattice values.
    for (let j = 0; j < nh; j++) for (let i = 0; i < nw; i++) v[j * nw + i] = l.amplitude * latticeValue(seed, o, i + i0, j + j0);
    return { inv: 1 / l.spacing, i0, j0, nw, v };
  });
  /** Texture at scene point (x, y), roughly in [-1, 1]. */
  return (x: number, y: number): number => {
    let sum = 0;
    for (let o = 0; o < grids.length; o++) {
      const g = grids[o] as (typeof grids)[number];
      const v = g.v;
      const gx = x * g.inv;
      const gy = y * g.inv;
      const ix = Math.floor(gx);
      const iy = Math.floor(gy);
      // Cubic B-spline weights (C2-smooth texture).
      const tx = gx - ix;
      const tx2 = tx * tx;
      const tx3 = tx2 * tx;
      const x0 = (1 - 3 * tx + 3 * tx2 - tx3) / 6;
      const x1 = (4 - 6 * tx2 + 3 * tx3) / 6;
      const x2 = (1 + 3 * tx + 3 * tx2 - 3 * tx3) / 6;
      const x3 = tx3 / 6;
      const ty = gy - iy;
      const ty2 = ty * ty;
      const ty3 = ty2 * ty;
      const y0 = (1 - 3 * ty + 3 * ty2 - ty3) / 6;
      const y1 = (4 - 6 * ty2 + 3 * ty3) / 6;
      const y2 = (1 + 3 * ty + 3 * ty2 - 3 * ty3) / 6;
      const y3 = ty3 / 6;
      const nw = g.nw;
      let r = (iy - 1 - g.j0) * nw + (ix - 1 - g.i0);
      const a0 = x0 * (v[r] as number) + x1 * (v[r + 1] as number) + x2 * (v[r + 2] as number) + x3 * (v[r + 3] as number);
      r += nw;
      const a1 = x0 * (v[r] as number) + x1 * (v[r + 1] as number) + x2 * (v[r + 2] as number) + x3 * (v[r + 3] as number);
      r += nw;
      const a2 = x0 * (v[r] as number) + x1 * (v[r + 1] as number) + x2 * (v[r + 2] as number) + x3 * (v[r + 3] as number);
      r += nw;
      const a3 = x0 * (v[r] as number) + x1 * (v[r + 1] as number) + x2 * (v[r + 2] as number) + x3 * (v[r + 3] as number);
      sum += y0 * a0 + y1 * a1 + y2 * a2 + y3 * a3;
    }
    return sum;
  };
}

function ar1(normal: () => number, n: number, rms: number, a = 0.7): number[] {
  const x = new Array<number>(n).fill(0);
  for (let k = 1; k < n; k++) x[k] = a * (x[k - 1] as number) + normal();
  const ms = Math.sqrt(x.reduce((s, v) => s + v * v, 0) / n) || 1;
  return x.map((v) => (v / ms) * rms);
}

/** Frame pixel -> scene point for path (x, y, angle deg), with the scene centre at (cx, cy). */
function cameraMatrix(px: number, py: number, deg: number, cx: number, cy: number, fx: number, fy: number): Mat3 {
  const a = (deg * Math.PI) / 180;
  const c = Math.cos(a);
  const s = Math.sin(a);
  return Float64Array.of(c, -s, cx + px - (c * fx - s * fy), s, c, cy + py - (s * fx + c * fy), 0, 0, 1);
}

/** Makes the clip at `path` (.mkv for FFV1) and returns it with its truth. */
export async function makeShakyClip(path: string, spec: ShakyClipSpec): Promise<ShakyClip> {
  const width = spec.width ?? 320;
  const height = spec.height ?? 180;
  const n = spec.frames ?? 90;
  const fps = spec.fps ?? 30;
  const panPx = spec.panPx ?? 40;
  const driftPx = spec.driftPx ?? 8;
  const rollDeg = spec.rollDeg ?? 1;
  const uniform = seededUniform(spec.seed);
  const normal = seededNormal(uniform);
  const jx = ar1(normal, n, spec.jitterPx ?? 1.5);
  const jy = ar1(normal, n, spec.jitterPx ?? 1.5);
  const ja = ar1(normal, n, spec.jitterDeg ?? 0.7).map((v) => Math.max(-2, Math.min(2, v)));
  const fx = (width - 1) / 2;
  const fy = (height - 1) / 2;
  const camera: Mat3[] = [];
  const smoothCamera: Mat3[] = [];
  const jitter: [number, number, number][] = [];
  for (let k = 0; k < n; k++) {
    const u = k / n;
    const ease = spec.path === 'ease';
    const sx = ease ? panPx * (3 * u * u - 2 * u * u * u) - panPx / 2 : panPx * (u - 0.5);
    const sy = ease ? driftPx * Math.sin(2 * Math.PI * u) : driftPx * (u - 0.5);
    const sa = ease ? rollDeg * Math.sin(2 * Math.PI * u + 1) : rollDeg * (u - 0.5);
    const j: [number, number, number] = [jx[k] as number, jy[k] as number, ja[k] as number];
    jitter.push(j);
    camera.push(cameraMatrix(sx + j[0], sy + j[1], sa + j[2], 0, 0, fx, fy));
    smoothCamera.push(cameraMatrix(sx, sy, sa, 0, 0, fx, fy));
  }
  const inv = new Float64Array(9);
  const motion: Mat3[] = camera.map((g, k) => {
    invertInto(inv, g);
    return multiplyInto(new Float64Array(9), inv, camera[Math.max(0, k - 1)] as Mat3);
  });
  const correction: Mat3[] = camera.map((g, k) => {
    invertInto(inv, g);
    return multiplyInto(new Float64Array(9), inv, smoothCamera[k] as Mat3);
  });

  // The scene region any frame sees, with a margin for the texture's support.
  const reach = Math.hypot(width, height) / 2 + panPx + driftPx + 12 * (spec.jitterPx ?? 1.5) + 40;
  const lumaTexture = createTexture(spec.seed ^ 0x5eed, -reach, -reach, reach, reach);
  const chromaTexture = createTexture(spec.seed ^ 0xc0105, -reach, -reach, reach, reach);
  const cw = Math.ceil(width / 2);
  const ch = Math.ceil(height / 2);
  const frames: Uint8Array[] = [];
  for (let k = 0; k < n; k++) {
    const g = camera[k] as Mat3;
    const f = new Uint8Array(yuv420pBytes(width, height));
    if (spec.blankFrames?.includes(k)) {
      frames.push(f.fill(128));
      continue;
    }
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        const sx = (g[0] as number) * x + (g[1] as number) * y + (g[2] as number);
        const sy = (g[3] as number) * x + (g[4] as number) * y + (g[5] as number);
        // Mid gray with strong contrast, inside video range 16..235.
        f[y * width + x] = Math.max(16, Math.min(235, Math.round(126 + 95 * lumaTexture(sx, sy))));
      }
    }
    // Chroma: a gentle second texture (colour to carry through the warp; registration uses luma only).
    for (let y = 0; y < ch; y++) {
      for (let x = 0; x < cw; x++) {
        const px = 2 * x + 0.5;
        const py = 2 * y + 0.5;
        const sx = (g[0] as number) * px + (g[1] as number) * py + (g[2] as number);
        const sy = (g[3] as number) * px + (g[4] as number) * py + (g[5] as number);
        const t = chromaTexture(sx, sy);
        f[width * height + y * cw + x] = Math.round(128 + 30 * t);
        f[width * height + cw * ch + y * cw + x] = Math.round(128 - 30 * t);
      }
    }
    frames.push(f);
  }
  const codec = spec.codec ?? 'ffv1';
  const extraArgs = codec === 'libx264' ? ['-preset', 'veryfast', '-crf', String(spec.crf ?? 0)] : [];
  await makeClipFromYuvFrames(path, frames, { width, height, fps, codec, extraArgs });
  const trueJitter = n < JITTER_WINDOW ? null : hfJitter(motion.map((m) => centerMotion(m, width, height)));
  const smoothMotion = smoothCamera.map((g, k) => {
    invertInto(inv, g);
    return multiplyInto(new Float64Array(9), inv, smoothCamera[Math.max(0, k - 1)] as Mat3);
  });
  const smoothJitter = n < JITTER_WINDOW ? null : hfJitter(smoothMotion.map((m) => centerMotion(m, width, height)));
  return { path, width, height, fps, frames: n, motion, correction, camera, smoothCamera, jitter, trueJitter, smoothJitter };
}

/** Writes the truth in the shape of the anchors' truth.json (W_prev, correction), for ../shared/anchors/metrics.py --truth. */
/**
 * Runs `steady stabilize` on the clip at a 4 % zoom (room the option tests share), with `extra` options,
 * writing `name`.mp4 and `name`.json into `dir`; returns each frame's correction from the motion file.
 */
export async function stabilizedCorrections(clip: ShakyClip, dir: string, name: string, extra: readonly string[]): Promise<{ code: number | null; stderr: string; corrections: Mat3[] }> {
  const motion = join(dir, `${name}.json`);
  const r = await runCli(['stabilize', clip.path, '-o', join(dir, `${name}.mp4`), '--zoom', '4', '--transforms', motion, '--quiet', ...extra]);
  if (r.code !== 0) return { code: r.code, stderr: r.stderr, corrections: [] };
  const frames = parseMotionFile(await readFile(motion, 'utf8')).frames;
  return { code: r.code, stderr: r.stderr, corrections: frames.map((f) => f.correction as Mat3) };
}

export async function writeTruthJson(path: string, clip: ShakyClip): Promise<void> {
  const rows = (m: Mat3) => [Array.from(m.subarray(0, 3)), Array.from(m.subarray(3, 6)), Array.from(m.subarray(6, 9))];
  await writeFile(path, JSON.stringify({ width: clip.width, height: clip.height, fps: clip.fps, W_prev: clip.motion.map(rows), correction: clip.correction.map(rows) }));
}

/** Every decoded frame of a video as yuv420p planes (copies), in display orientation. */
export async function readYuvFrames(path: string): Promise<{ width: number; height: number; frames: { y: Uint8Array; u: Uint8Array; v: Uint8Array }[] }> {
  const decoder = await openDecoder(path);
  const frames: { y: Uint8Array; u: Uint8Array; v: Uint8Array }[] = [];
  for await (const f of decoder) frames.push({ y: f.y.slice(), u: f.u.slice(), v: f.v.slice() });
  return { width: decoder.width, height: decoder.height, frames };
}
