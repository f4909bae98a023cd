/**
 * A small reader of binary PGM (P5) files for tests: header tokens separated by whitespace, with
 * `#` comments allowed between them (the Oxford images have one), then 8- or 16-bit samples.
 */
import { readFileSync } from 'node:fs';
import { createGrayImage, type GrayImage } from '../../src/image/gray-image.js';

/** Parses P5 bytes into a GrayImage (16-bit samples are scaled to 0..255). */
export function parsePgm(bytes: Uint8Array): GrayImage {
  let pos = 0;
  const token = (): string => {
    for (;;) {
      while (pos < bytes.length && /\s/.test(String.fromCharCode(bytes[pos] as number))) pos++;
      if (bytes[pos] === 0x23) {
        while (pos < bytes.length && bytes[pos] !== 0x0a) pos++;
        continue;
      }
      break;
    }
    let s = '';
    while (pos < bytes.length && !/\s/.test(String.fromCharCode(bytes[pos] as number))) s += String.fromCharCode(bytes[pos++] as number);
    return s;
  };
  if (token() !== 'P5') throw new Error('not a binary PGM (P5) file');
  const width = Number(token());
  const height = Number(token());
  const maxVal = Number(token());
  pos++; // the single whitespace after maxval
  if (!(width > 0 && height > 0 && maxVal > 0 && maxVal < 65536)) throw new Error(`bad PGM header ${width}x${height} max ${maxVal}`);
  const img = createGrayImage(width, height);
  const wide = maxVal > 255;
  const need = width * height * (wide ? 2 : 1);
  if (bytes.length - pos < need) throw new Error(`PGM truncated: need ${need} sample bytes, have ${bytes.length - pos}`);
  const k = 255 / maxVal;
  for (let i = 0; i < width * height; i++) {
    const v = wide ? ((bytes[pos + 2 * i] as number) << 8) | (bytes[pos + 2 * i + 1] as number) : (bytes[pos + i] as number);
    img.data[i] = v * k;
  }
  return img;
}

/** Reads a binary PGM file. */
export function readPgm(file: string): GrayImage {
  return parsePgm(readFileSync(file));
}
