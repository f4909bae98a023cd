/** JPEG helpers for the live server tests: read the frame size from SOF, decode to gray with ffmpeg. */
import { spawn } from 'node:child_process';
import { resolveFfmpeg } from '../../src/video/binaries.js';

/** Width and height from the first SOF marker of a JPEG, or null when there is none. */
export function jpegSize(bytes: Uint8Array): { width: number; height: number } | null {
  if (bytes[0] !== 0xff || bytes[1] !== 0xd8) return null;
  let i = 2;
  while (i + 4 <= bytes.length) {
    if (bytes[i] !== 0xff) return null;
    const marker = bytes[i + 1] as number;
    const length = ((bytes[i + 2] as number) << 8) | (bytes[i + 3] as number);
    if (marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc) {
      const height = ((bytes[i + 5] as number) << 8) | (bytes[i + 6] as number);
      const width = ((bytes[i + 7] as number) << 8) | (bytes[i + 8] as number);
      return { width, height };
    }
    i += 2 + length;
  }
  return null;
}

/**
 * Decodes JPEG images (all the same size) with ffmpeg and returns their luma planes in limited range
 * (yuv420p, like the frames the server was given; the previews are full-range JPEG).
 */
export async function decodeJpegsToGray(images: readonly Uint8Array[], width: number, height: number): Promise<Uint8Array[]> {
  const ffmpeg = resolveFfmpeg().path;
  const child = spawn(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-f', 'image2pipe', '-c:v', 'mjpeg', '-i', 'pipe:0', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', 'pipe:1'], {
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const chunks: Buffer[] = [];
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => chunks.push(c));
  child.stderr.on('data', (c: Buffer) => {
    stderr += c.toString();
  });
  const done = new Promise<number | null>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', resolve);
  });
  for (const img of images) child.stdin.write(img);
  child.stdin.end();
  const code = await done;
  if (code !== 0) throw new Error(`ffmpeg could not decode the JPEG images: ${stderr}`);
  const all = Buffer.concat(chunks);
  const size = width * height;
  const frame = size + 2 * Math.ceil(width / 2) * Math.ceil(height / 2);
  if (all.length !== frame * images.length) throw new Error(`expected ${frame * images.length} yuv420p bytes, got ${all.length}`);
  return images.map((_, k) => new Uint8Array(all.subarray(k * frame, k * frame + size)));
}

/** Mean absolute difference of two planes of equal size. */
export function meanAbsDiff(a: Uint8Array, b: Uint8Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs((a[i] as number) - (b[i] as number));
  return s / a.length;
}
