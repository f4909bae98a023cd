/**
 * Reads and writes still images with ffmpeg, so every format ffmpeg knows works (PNG, JPEG, BMP, TIFF,
 * PGM/PPM, WebP, the first frame of a video...).
 *
 * Reading asks ffmpeg for the first frame as a PGM (gray) or PPM (RGB) stream on stdout: the header
 * carries the size, so no ffprobe run is needed and the size always matches the bytes. Frames are read
 * in stored orientation (`-noautorotate`): EXIF orientation and display matrices are not applied, so two
 * images of one camera stay comparable whatever ffmpeg version reads them. Sources deeper than 8 bits
 * are reduced to 8 bits (gray levels stay 0..255).
 *
 * Writing feeds raw gray or RGB24 samples to ffmpeg, picks the encoder from the extension, takes the
 * encoded image back from ffmpeg's stdout, writes it to a temporary file beside the target and renames it
 * when complete.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { InputError, RuntimeError } from '../errors.js';
import { createGrayImage, type GrayImage, grayToBytesInto } from '../image/gray-image.js';
import { resolveFfmpeg } from './binaries.js';
import { checkInputFile } from './probe.js';
import { runCapture } from './process-registry.js';
import { createTempOutput } from './temp-output.js';
import { ffmpegInputPath } from './ffmpeg-path.js';

/** An 8-bit RGB image, pixels interleaved r, g, b, row by row (i = (y*width + x) * 3). */
export interface RgbImage {
  readonly width: number;
  readonly height: number;
  /** width * height * 3 bytes. */
  readonly rgb: Uint8Array;
}

/** An image read in colour; `isGray` when every pixel has r = g = b (a gray file, or gray content). */
export interface ColorImage extends RgbImage {
  readonly isGray: boolean;
}

/** Options of the image readers and writer. */
export interface ImageIoOptions {
  /** ffmpeg to run. @default resolveFfmpeg().path */
  readonly ffmpegPath?: string;
}

/** Options of writeImage. */
export interface WriteImageOptions extends ImageIoOptions {
  /** JPEG quality as ffmpeg's -q:v, 2 (best) .. 31 (worst). @default 2 */
  readonly jpegQuality?: number;
}

/** Encoder for each output extension. */
const ENCODERS: Readonly<Record<string, readonly string[]>> = {
  png: ['-c:v', 'png'],
  jpg: ['-c:v', 'mjpeg'],
  jpeg: ['-c:v', 'mjpeg'],
  bmp: ['-c:v', 'bmp'],
  pgm: ['-c:v', 'pgm'],
  ppm: ['-c:v', 'ppm'],
  pnm: ['-c:v', 'ppm'],
  tif: ['-c:v', 'tiff'],
  tiff: ['-c:v', 'tiff'],
  webp: ['-c:v', 'libwebp', '-lossless', '1'],
  gif: ['-c:v', 'gif'],
};

/**
 * Stored pixel format per extension for gray and RGB sources, so that lossless formats stay lossless
 * (left to itself ffmpeg may store gray as BGR in a BMP, and reading that back as gray is not exact).
 */
const STORED_PIX_FMT: Readonly<Record<string, { gray: string; rgb: string }>> = {
  png: { gray: 'gray', rgb: 'rgb24' },
  // An 8-bit gray BMP is read back as a palette image whose conversion to gray rounds: store BGR.
  bmp: { gray: 'bgr24', rgb: 'bgr24' },
  pgm: { gray: 'gray', rgb: 'gray' },
  ppm: { gray: 'rgb24', rgb: 'rgb24' },
  pnm: { gray: 'rgb24', rgb: 'rgb24' },
  tif: { gray: 'gray', rgb: 'rgb24' },
  tiff: { gray: 'gray', rgb: 'rgb24' },
};

/** The extensions writeImage knows. */
export const IMAGE_EXTENSIONS: readonly string[] = Object.keys(ENCODERS);

/** Parses a binary PNM header (P5 gray or P6 RGB, maxval 255); returns size and data offset. */
export function parsePnmHeader(bytes: Uint8Array): { magic: 'P5' | 'P6'; width: number; height: number; maxval: number; offset: number } | null {
  if (bytes.length < 2 || bytes[0] !== 0x50 || (bytes[1] !== 0x35 && bytes[1] !== 0x36)) return null;
  const fields: number[] = [];
  let i = 2;
  while (fields.length < 3 && i < bytes.length) {
    const c = bytes[i] as number;
    if (c === 0x23) {
      // A comment runs to the end of the line.
      while (i < bytes.length && bytes[i] !== 0x0a) i++;
    } else if (c >= 0x30 && c <= 0x39) {
      let n = 0;
      while (i < bytes.length && (bytes[i] as number) >= 0x30 && (bytes[i] as number) <= 0x39) n = n * 10 + ((bytes[i++] as number) - 0x30);
      fields.push(n);
      continue;
    } else if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) {
      return null;
    }
    i++;
  }
  if (fields.length < 3) return null;
  // Exactly one whitespace byte separates the header from the samples.
  return { magic: bytes[1] === 0x35 ? 'P5' : 'P6', width: fields[0] as number, height: fields[1] as number, maxval: fields[2] as number, offset: i + 1 };
}

/**
 * True when the file starts like plain text that no image format ffmpeg reads as text uses (ASCII PNM
 * `P1`..`P3`, XPM, SVG/XML). ffmpeg's `tty` demuxer renders any text file as an ANSI-art picture, so a
 * text file would otherwise "decode" into an image of its characters.
 */
function looksLikePlainText(path: string): boolean {
  let head: Buffer;
  try {
    const fd = openSync(path, 'r');
    try {
      head = Buffer.alloc(512);
      head = head.subarray(0, readSync(fd, head, 0, 512, 0));
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
  if (head.length === 0) return false;
  const start = head.subarray(0, 16).toString('latin1');
  if (/^P[1-7]\s/.test(start) || start.startsWith('/* XPM') || /^\s*<(\?xml|svg)/i.test(start)) return false;
  for (const b of head) {
    if (b === 0x09 || b === 0x0a || b === 0x0d || (b >= 0x20 && b < 0x7f) || b >= 0x80) continue;
    return false;
  }
  return true;
}

async function readFirstFrame(path: string, pnm: 'pgm' | 'ppm', options: ImageIoOptions): Promise<{ width: number; height: number; data: Uint8Array }> {
  checkInputFile(path, 'image');
  if (looksLikePlainText(path)) {
    throw new InputError('E_NOT_IMAGE', `${JSON.stringify(path)} is not an image ffmpeg can read (it is a text file)`);
  }
  const ffmpeg = options.ffmpegPath ?? resolveFfmpeg().path;
  const args = ['-hide_banner', '-nostdin', '-loglevel', 'error', '-noautorotate', '-i', ffmpegInputPath(path), '-map', '0:v:0', '-frames:v', '1', '-pix_fmt', pnm === 'pgm' ? 'gray' : 'rgb24', '-c:v', pnm, '-f', 'image2pipe', 'pipe:1'];
  const r = await runCapture(ffmpeg, args);
  if (r.spawnError !== undefined) {
    throw new RuntimeError('E_FFMPEG_NOT_FOUND', `could not run ffmpeg at ${JSON.stringify(ffmpeg)} (${r.spawnError.message}); set FFMPEG_PATH to a working ffmpeg`, { cause: r.spawnError });
  }
  const header = r.code === 0 ? parsePnmHeader(r.stdout) : null;
  const channels = pnm === 'pgm' ? 1 : 3;
  if (header === null || header.maxval !== 255 || r.stdout.length < header.offset + header.width * header.height * channels) {
    const reason = r.stderr.split('\n').filter((l) => l.trim() !== '').slice(-3).join(' | ') || 'ffmpeg decoded no picture';
    throw new InputError('E_NOT_IMAGE', `${JSON.stringify(path)} is not an image ffmpeg can read (${reason})`);
  }
  const n = header.width * header.height * channels;
  return { width: header.width, height: header.height, data: r.stdout.subarray(header.offset, header.offset + n) };
}

/**
 * Reads an image (first frame of anything ffmpeg decodes) as gray levels 0..255. The size is whatever
 * the file has, 1x1 included: callers that need a minimum size check `width`/`height` themselves.
 * @throws InputError E_INPUT_NOT_FOUND, E_INPUT_EMPTY, E_NOT_IMAGE (names the file).
 */
export async function readImage(path: string, options: ImageIoOptions = {}): Promise<GrayImage> {
  const { width, height, data } = await readFirstFrame(path, 'pgm', options);
  const out = createGrayImage(width, height);
  const d = out.data;
  for (let i = 0; i < d.length; i++) d[i] = data[i] as number;
  return out;
}

/**
 * Reads an image in colour as RGB24, with `isGray` telling whether it holds only gray pixels.
 * @throws InputError E_INPUT_NOT_FOUND, E_INPUT_EMPTY, E_NOT_IMAGE (names the file).
 */
export async function readImageColor(path: string, options: ImageIoOptions = {}): Promise<ColorImage> {
  const { width, height, data } = await readFirstFrame(path, 'ppm', options);
  const rgb = new Uint8Array(data);
  let isGray = true;
  for (let i = 0; i < rgb.length; i += 3) {
    if (rgb[i] !== rgb[i + 1] || rgb[i] !== rgb[i + 2]) {
      isGray = false;
      break;
    }
  }
  return { width, height, rgb, isGray };
}

function isRgb(image: GrayImage | RgbImage): image is RgbImage {
  return (image as RgbImage).rgb !== undefined;
}

/**
 * Writes a gray (GrayImage, rounded and clamped to 0..255) or RGB image; the format follows the
 * extension (png, jpg/jpeg, bmp, pgm, ppm/pnm, tif/tiff, webp, gif). PNG, BMP, PGM, PPM, TIFF and
 * lossless WebP keep the samples exactly. Written under a temporary name, renamed when complete.
 * @throws InputError E_OUTPUT_UNWRITABLE (directory missing or read-only), E_OUTPUT_FORMAT (unknown
 *   extension); RuntimeError E_ENCODE_FAILED with ffmpeg's stderr, E_OUTPUT_WRITE when the file cannot be
 *   written (a full disk).
 */
export async function writeImage(path: string, image: GrayImage | RgbImage, options: WriteImageOptions = {}): Promise<void> {
  const ext = /\.([^./\\]+)$/.exec(path)?.[1]?.toLowerCase() ?? '';
  const encoder = ENCODERS[ext];
  if (encoder === undefined) {
    throw new InputError('E_OUTPUT_FORMAT', `Cannot tell the image format of ${JSON.stringify(path)}; use one of the extensions ${IMAGE_EXTENSIONS.join(', ')}`);
  }
  const { width, height } = image;
  if (!(width > 0 && height > 0)) throw new RangeError(`cannot write a ${width}x${height} image`);
  let bytes: Uint8Array;
  let pixFmt: string;
  if (isRgb(image)) {
    if (image.rgb.length !== width * height * 3) throw new RangeError(`expected ${width * height * 3} bytes (${width}x${height} RGB), got ${image.rgb.length}`);
    bytes = image.rgb;
    pixFmt = 'rgb24';
  } else {
    bytes = grayToBytesInto(new Uint8Array(width * height), image);
    pixFmt = 'gray';
  }
  const ffmpeg = options.ffmpegPath ?? resolveFfmpeg().path;
  const temp = createTempOutput(path);
  const quality = ext === 'jpg' || ext === 'jpeg' ? ['-q:v', String(options.jpegQuality ?? 2)] : [];
  const stored = STORED_PIX_FMT[ext];
  const storedFmt = stored === undefined ? [] : ['-pix_fmt', pixFmt === 'gray' ? stored.gray : stored.rgb];
  const args = [
    '-hide_banner', '-loglevel', 'error', '-y',
    '-f', 'rawvideo', '-pix_fmt', pixFmt, '-s', `${width}x${height}`, '-i', 'pipe:0',
    // The encoded image comes back on stdout and is written here: ffmpeg's image muxer does not report a
    // failed write (a full disk left an empty file and exit 0), Node's writeFile does.
    '-frames:v', '1', ...encoder, ...storedFmt, ...quality, '-f', 'image2pipe', 'pipe:1',
  ];
  const r = await runCapture(ffmpeg, args, { input: bytes });
  if (r.spawnError !== undefined || r.code !== 0) {
    await temp.discard();
    if (r.spawnError !== undefined) {
      throw new RuntimeError('E_FFMPEG_NOT_FOUND', `could not run ffmpeg at ${JSON.stringify(ffmpeg)} (${r.spawnError.message}); set FFMPEG_PATH to a working ffmpeg`, { cause: r.spawnError });
    }
    throw new RuntimeError('E_ENCODE_FAILED', `Writing ${JSON.stringify(path)} failed (ffmpeg exited with code ${r.code}): ${r.stderr || 'no message'}`);
  }
  if (r.stdout.length === 0) {
    await temp.discard();
    throw new RuntimeError('E_ENCODE_FAILED', `Writing ${JSON.stringify(path)} failed: ffmpeg produced no image${r.stderr ? ` (${r.stderr})` : ''}`);
  }
  try {
    await writeFile(temp.tempPath, r.stdout);
    await temp.commit();
  } catch (cause) {
    await temp.discard();
    throw new RuntimeError('E_OUTPUT_WRITE', `Cannot write ${JSON.stringify(path)}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}
