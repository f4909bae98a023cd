/**
 * Synthetic material for the track and metrics tests: a seeded smooth texture, frames rendered from
 * it through known matrices, and small helpers that run ffmpeg to encode and decode test clips.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createGrayImage, type GrayImage } from '../../src/image/gray-image.js';
import { warpInto } from '../../src/image/warp.js';
import type { Mat3 } from '../../src/motion/mat3.js';
import { createRng } from './track-rng.js';

/**
 * A seeded texture with detail at several scales (value noise: random grids of cell sizes 48, 24, 12,
 * 6 and 3 px, interpolated with a smoothstep so the image is C1, weighted towards the coarse scales),
 * gray levels about 20..235.
 */
export function smoothTexture(width: number, height: number, seed: number): GrayImage {
  const rng = createRng(seed);
  const img = createGrayImage(width, height);
  const d = img.data;
  const scales: [number, number][] = [
    [48, 1],
    [24, 0.8],
    [12, 0.6],
    [6, 0.45],
    [3, 0.3],
  ];
  for (const [cell, weight] of scales) {
    const gw = Math.ceil(width / cell) + 2;
    const gh = Math.ceil(height / cell) + 2;
    const grid = new Float64Array(gw * gh);
    for (let i = 0; i < grid.length; i++) grid[i] = rng();
    for (let y = 0; y < height; y++) {
      const fy = y / cell;
      const iy = Math.floor(fy);
      let ty = fy - iy;
      ty = ty * ty * (3 - 2 * ty);
      for (let x = 0; x < width; x++) {
        const fx = x / cell;
        const ix = Math.floor(fx);
        let tx = fx - ix;
        tx = tx * tx * (3 - 2 * tx);
        const g00 = grid[iy * gw + ix] as number;
        const g10 = grid[iy * gw + ix + 1] as number;
        const g01 = grid[(iy + 1) * gw + ix] as number;
        const g11 = grid[(iy + 1) * gw + ix + 1] as number;
        const v = (g00 * (1 - tx) + g10 * tx) * (1 - ty) + (g01 * (1 - tx) + g11 * tx) * ty;
        d[y * width + x] = (d[y * width + x] as number) + weight * v;
      }
    }
  }
  let lo = Number.POSITIVE_INFINITY;
  let hi = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < d.length; i++) {
    lo = Math.min(lo, d[i] as number);
    hi = Math.max(hi, d[i] as number);
  }
  for (let i = 0; i < d.length; i++) d[i] = 20 + (215 * ((d[i] as number) - lo)) / (hi - lo || 1);
  return img;
}

/** out(p) = src(W p), bicubic, replicated border: a frame seen through the inverse map W. */
export function renderInto(out: GrayImage, src: GrayImage, W: Mat3): GrayImage {
  return warpInto(out, src, W, { interpolation: 'bicubic', border: 'replicate' });
}

/** Rounds a float image to 8-bit samples. */
export function toBytes(img: GrayImage): Uint8Array {
  const out = new Uint8Array(img.data.length);
  for (let i = 0; i < out.length; i++) {
    const v = img.data[i] as number;
    out[i] = v <= 0 ? 0 : v >= 255 ? 255 : Math.round(v);
  }
  return out;
}

/** m(p) = s R(theta) (p - c) + c + (dx, dy). */
export function similarityAbout(s: number, theta: number, dx: number, dy: number, cx: number, cy: number): Mat3 {
  const a = s * Math.cos(theta);
  const b = s * Math.sin(theta);
  return Float64Array.of(a, -b, cx - a * cx + b * cy + dx, b, a, cy - b * cx - a * cy + dy, 0, 0, 1);
}

/** The bundled ffmpeg (@ffmpeg-installer) and Debian's, those that exist. */
export function ffmpegCandidates(): { name: string; path: string }[] {
  const bundled = fileURLToPath(new URL('../../node_modules/@ffmpeg-installer/linux-x64/ffmpeg', import.meta.url));
  const list: { name: string; path: string }[] = [];
  if (existsSync(bundled)) list.push({ name: '@ffmpeg-installer', path: bundled });
  if (existsSync('/usr/bin/ffmpeg')) list.push({ name: '/usr/bin/ffmpeg', path: '/usr/bin/ffmpeg' });
  return list;
}

/** Runs ffmpeg to completion; throws with its stderr tail when it fails. */
export function runFfmpeg(ffmpeg: string, args: readonly string[], input?: Uint8Array): Buffer {
  const r = spawnSync(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-nostdin', ...args], {
    input,
    maxBuffer: 1 << 30,
    stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
  });
  if (r.status !== 0) throw new Error(`ffmpeg ${args.join(' ')} failed (${r.status}): ${String(r.stderr).slice(-600)}`);
  return r.stdout;
}

/** Encodes 8-bit gray frames as a clip (default lossless FFV1 yuv420p in Matroska). */
export function encodeGrayClip(ffmpeg: string, frames: readonly Uint8Array[], width: number, height: number, path: string, fps = 30, codecArgs: readonly string[] = ['-c:v', 'ffv1', '-pix_fmt', 'yuv420p']): void {
  const total = new Uint8Array(width * height * frames.length);
  frames.forEach((f, k) => {
    total.set(f, k * width * height);
  });
  runFfmpeg(ffmpeg, ['-y', '-f', 'rawvideo', '-pix_fmt', 'gray', '-s', `${width}x${height}`, '-r', String(fps), '-i', 'pipe:0', ...codecArgs, path], total);
}

/** Decodes a clip to 8-bit full-range gray frames (ffmpeg `-pix_fmt gray`). */
export function decodeGrayClip(ffmpeg: string, path: string, width: number, height: number, extraArgs: readonly string[] = []): Uint8Array[] {
  const buf = runFfmpeg(ffmpeg, ['-i', path, ...extraArgs, '-f', 'rawvideo', '-pix_fmt', 'gray', 'pipe:1']);
  const n = width * height;
  const frames: Uint8Array[] = [];
  for (let off = 0; off + n <= buf.length; off += n) frames.push(new Uint8Array(buf.subarray(off, off + n)));
  return frames;
}

/** True when this ffmpeg lists the named filter. */
export function hasFilter(ffmpeg: string, filter: string): boolean {
  const r = spawnSync(ffmpeg, ['-hide_banner', '-filters'], { encoding: 'utf8' });
  return r.status === 0 && new RegExp(`\\s${filter}\\s`).test(r.stdout);
}

/**
 * A file or folder of the shared real material (STEADY_SHARED, default ../shared), or null with a
 * printed reason when it is missing outside CI. With CI=true a missing path throws, so the test fails.
 */
export function realPath(relative: string): string | null {
  const base = process.env.STEADY_SHARED ?? fileURLToPath(new URL('../../../shared', import.meta.url));
  const p = `${base.replace(/\/$/, '')}/${relative}`;
  if (existsSync(p)) return p;
  if (process.env.CI === 'true') throw new Error(`real test material missing: ${p} (set STEADY_SHARED)`);
  console.warn(`skipping: real test material ${p} not found (set STEADY_SHARED)`);
  return null;
}
