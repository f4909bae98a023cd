/**
 * Test-only image decoding through ffmpeg (JPEG, PNG, anything it reads) into a GrayImage: runs
 * `ffmpeg -i FILE -f rawvideo -pix_fmt gray -` and takes the size from ffmpeg's stream line.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { createGrayImage, type GrayImage } from '../../src/image/gray-image.js';

/** The ffmpeg binary of @ffmpeg-installer (the one the project depends on), else `ffmpeg` on PATH. */
export function ffmpegPath(): string {
  const local = path.resolve('node_modules/@ffmpeg-installer/linux-x64/ffmpeg');
  return existsSync(local) ? local : 'ffmpeg';
}

/** Decodes the first frame of `file` to 8-bit gray, as a GrayImage (0..255). */
export function decodeGray(file: string): GrayImage {
  const r = spawnSync(ffmpegPath(), ['-hide_banner', '-i', file, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'gray', '-'], {
    maxBuffer: 1 << 28,
  });
  if (r.status !== 0) throw new Error(`ffmpeg could not decode ${file}: ${r.stderr.toString().slice(-400)}`);
  const m = /Stream #\d+:\d+.*?: Video: .*?(\d{2,5})x(\d{2,5})/.exec(r.stderr.toString());
  if (!m) throw new Error(`no video stream size in ffmpeg's output for ${file}`);
  const width = Number(m[1]);
  const height = Number(m[2]);
  const bytes = r.stdout as Buffer;
  if (bytes.length !== width * height) throw new Error(`expected ${width * height} bytes (${width}x${height}) from ${file}, got ${bytes.length}`);
  const img = createGrayImage(width, height);
  for (let i = 0; i < bytes.length; i++) img.data[i] = bytes[i] as number;
  return img;
}
