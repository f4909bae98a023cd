import { readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { createGrayImage, type GrayImage } from '../../src/image/gray-image.js';
import { parsePnmHeader, readImage, readImageColor, writeImage } from '../../src/video/image-io.js';
import { makeClip, makeImage, makeTempDir, removeTempDir } from '../support/ffmpeg-fixtures.js';
import { mulberry32, randomInt } from '../support/video-rng.js';

/** Mean absolute error allowed for a JPEG (quality 2) of a smooth gradient, gray levels. */
const TOL_JPEG_MEAN = 2;

let dir = '';
beforeAll(async () => {
  dir = await makeTempDir();
});
afterAll(async () => {
  await removeTempDir(dir);
});

function randomGray(w: number, h: number, seed: number): GrayImage {
  const rng = mulberry32(seed);
  const img = createGrayImage(w, h);
  for (let i = 0; i < img.data.length; i++) img.data[i] = randomInt(rng, 0, 255);
  return img;
}

async function errorOf(p: Promise<unknown>): Promise<InputError | null> {
  try {
    await p;
  } catch (err) {
    if (err instanceof InputError) return err;
    throw err;
  }
  return null;
}

describe('image read/write', () => {
  it('round-trips gray images exactly through PNG, BMP, PGM and TIFF', async () => {
    const img = randomGray(37, 23, 11);
    for (const ext of ['png', 'bmp', 'pgm', 'tiff']) {
      const p = join(dir, `gray.${ext}`);
      await writeImage(p, img);
      const back = await readImage(p);
      expect([back.width, back.height]).toEqual([37, 23]);
      expect(Array.from(back.data)).toEqual(Array.from(img.data));
    }
  });

  it('round-trips RGB exactly through PNG and reports colour / gray content', async () => {
    const rng = mulberry32(5);
    const rgb = new Uint8Array(20 * 10 * 3);
    for (let i = 0; i < rgb.length; i++) rgb[i] = randomInt(rng, 0, 255);
    const p = join(dir, 'colour.png');
    await writeImage(p, { width: 20, height: 10, rgb });
    const back = await readImageColor(p);
    expect([back.width, back.height, back.isGray]).toEqual([20, 10, false]);
    expect(Buffer.from(back.rgb).equals(Buffer.from(rgb))).toBe(true);
    const g = join(dir, 'gray-for-colour.png');
    await writeImage(g, randomGray(8, 8, 3));
    expect((await readImageColor(g)).isGray).toBe(true);
  });

  it('rounds and clamps float gray levels when writing', async () => {
    const img = createGrayImage(4, 1, Float32Array.from([12.4, 12.6, -5, 300]));
    const p = join(dir, 'round.png');
    await writeImage(p, img);
    expect(Array.from((await readImage(p)).data)).toEqual([12, 13, 0, 255]);
  });

  it('writes JPEG close to the source', async () => {
    const img = createGrayImage(64, 32);
    for (let y = 0; y < 32; y++) for (let x = 0; x < 64; x++) img.data[y * 64 + x] = 2 * x + y;
    const p = join(dir, 'smooth.jpg');
    await writeImage(p, img);
    const back = await readImage(p);
    let sum = 0;
    for (let i = 0; i < img.data.length; i++) sum += Math.abs((back.data[i] as number) - (img.data[i] as number));
    expect(sum / img.data.length).toBeLessThan(TOL_JPEG_MEAN);
  });

  it('reads the first frame of a video, and a 1x1 image with its size', async () => {
    const clip = await makeClip(join(dir, 'clip.mkv'), { width: 40, height: 30, frames: 3, source: 'color', color: 'white' });
    const frame = await readImage(clip);
    expect([frame.width, frame.height, frame.data[0]]).toEqual([40, 30, 255]);
    const tiny = join(dir, 'tiny.png');
    await writeImage(tiny, createGrayImage(1, 1, Float32Array.of(77)));
    const t = await readImage(tiny);
    expect([t.width, t.height, t.data[0]]).toEqual([1, 1, 77]);
    const still = await makeImage(join(dir, 'still.png'), 'testsrc=size=24x16', 'rgb24');
    const c = await readImageColor(still);
    expect([c.width, c.height, c.isGray]).toEqual([24, 16, false]);
  });

  it('leaves no temporary file behind', async () => {
    await writeImage(join(dir, 'clean.png'), randomGray(4, 4, 1));
    expect((await readdir(dir)).filter((n) => n.startsWith('.'))).toEqual([]);
  });

  it('errors: missing file, empty file, not an image (named), unknown extension, unwritable directory', async () => {
    expect((await errorOf(readImage(join(dir, 'nope.png'))))?.code).toBe('E_INPUT_NOT_FOUND');
    const empty = join(dir, 'empty.png');
    await writeFile(empty, '');
    expect((await errorOf(readImage(empty)))?.code).toBe('E_INPUT_EMPTY');
    const text = join(dir, 'text.png');
    await writeFile(text, 'hello, not a picture\n'.repeat(20));
    const e = await errorOf(readImage(text));
    expect(e?.code).toBe('E_NOT_IMAGE');
    expect(e?.message).toContain('text.png');
    expect((await errorOf(writeImage(join(dir, 'x.unknown'), randomGray(2, 2, 1))))?.code).toBe('E_OUTPUT_FORMAT');
    expect((await errorOf(writeImage(join(dir, 'missing-dir', 'x.png'), randomGray(2, 2, 1))))?.code).toBe('E_OUTPUT_UNWRITABLE');
  });
});

describe('parsePnmHeader', () => {
  it('reads P5/P6 headers with comments', () => {
    const h = parsePnmHeader(Buffer.from('P5\n# made by hand\n12 7\n255\nxxxx'));
    expect(h).toEqual({ magic: 'P5', width: 12, height: 7, maxval: 255, offset: 27 });
    expect(parsePnmHeader(Buffer.from('GIF89a'))).toBeNull();
  });
});
