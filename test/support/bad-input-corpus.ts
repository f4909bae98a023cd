/**
 * The bad-input corpus: small files that a person may hand to steady by mistake or that a broken copy,
 * a full disk or an odd camera produce. Made on the fly into a folder (nothing binary is committed),
 * every byte is determined by the recipes below and the seeds in them.
 *
 * This module imports nothing but `node:*`, so scripts/make-bad-corpus.mjs can transpile it alone and
 * run it outside the tests (`node scripts/make-bad-corpus.mjs DIR`). ffmpeg is passed in: the tests give
 * the one steady itself resolves (src/video/binaries.ts resolveFfmpeg).
 *
 * Sizes are tiny (96x64, at most 30 frames) except the 8K clip (7680x4320, 2 frames), so the whole corpus
 * is made in a couple of seconds.
 */
import { execFile } from 'node:child_process';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** What a corpus file is meant to be given as. */
export type CorpusKind = 'video' | 'image' | 'mask' | 'audio';

/** One case of the corpus. */
export interface CorpusCase {
  /** Short stable name, used in test names and docs/hardening.md. */
  readonly name: string;
  /** File name inside the corpus folder (its extension is what a person would give). */
  readonly file: string;
  readonly kind: CorpusKind;
  /** What is wrong with it (or what is unusual about it). */
  readonly description: string;
  /** Cases this one is made from (made first). */
  readonly from?: readonly string[];
}

/** Frame size of the ordinary clips of the corpus, pixels. */
export const CORPUS_WIDTH = 96;
export const CORPUS_HEIGHT = 64;
/** Frames of the good clips the truncated and corrupt ones are cut from. */
export const CORPUS_FRAMES = 30;
/** Frame rate of the corpus clips, frames per second. */
export const CORPUS_FPS = 10;
/** The 8K frame size (8K UHD). */
export const UHD8K_WIDTH = 7680;
export const UHD8K_HEIGHT = 4320;

/**
 * The crop and scale that make `image-b-scaled` from `image-a`: b is the `CROP_W x CROP_H` window of a at
 * (`CROP_X`, `CROP_Y`), scaled by `SCALE`. With pixel centres at integer coordinates, a pixel x of a
 * lands at x' = SCALE * (x - CROP_X + 0.5) - 0.5 in b: the registration of b onto a must find
 * W = [[SCALE, 0, -SCALE*CROP_X + (SCALE-1)/2], [0, SCALE, -SCALE*CROP_Y + (SCALE-1)/2], [0, 0, 1]].
 */
export const PAIR_CROP = { x: 6, y: 4, width: 80, height: 56, scale: 1.5 } as const;

/** Every case, in the order they are made. */
export const CORPUS_CASES: readonly CorpusCase[] = [
  // Baselines: valid files the broken ones are made from (and that must work).
  { name: 'good', file: 'good.mp4', kind: 'video', description: `valid H.264 MP4, ${CORPUS_WIDTH}x${CORPUS_HEIGHT}, ${CORPUS_FRAMES} frames, index (moov) at the end` },
  { name: 'good-faststart', file: 'good-faststart.mp4', kind: 'video', description: 'the same clip with its index at the start (+faststart)' },
  // Not a video at all.
  { name: 'empty', file: 'empty.mp4', kind: 'video', description: 'an empty file (0 bytes)' },
  { name: 'random-bytes', file: 'random.mp4', kind: 'video', description: '4096 seeded random bytes named .mp4' },
  { name: 'text', file: 'notes.mp4', kind: 'video', description: 'a text file named .mp4' },
  // Cut short: with the index at the end nothing is left to read; with it at the start, frames are missing.
  ...[25, 50, 75].map((p): CorpusCase => ({ name: `truncated-moov-${p}`, file: `truncated-moov-${p}.mp4`, kind: 'video', description: `MP4 cut at ${p}% of its bytes, index lost`, from: ['good'] })),
  ...[40, 70, 95].map((p): CorpusCase => ({ name: `truncated-${p}`, file: `truncated-${p}.mp4`, kind: 'video', description: `fast-start MP4 cut at ${p}% of its bytes: the last frames are missing`, from: ['good-faststart'] })),
  { name: 'corrupt-middle', file: 'corrupt-middle.mp4', kind: 'video', description: 'fast-start MP4 whose middle quarter is overwritten with seeded random bytes', from: ['good-faststart'] },
  // A stream of the wrong kind, or none.
  { name: 'audio-only', file: 'audio-only.m4a', kind: 'audio', description: 'AAC audio, no video stream' },
  { name: 'no-streams', file: 'no-streams.mp4', kind: 'video', description: 'a valid MP4 with no stream at all (ffmpeg -frames:v 0)' },
  { name: 'zero-frames', file: 'zero-frames.avi', kind: 'video', description: 'an AVI whose header declares a 96x64 video stream and holds no frame' },
  { name: 'still-image', file: 'still.png', kind: 'video', description: 'a PNG still image given as a video (one frame)' },
  { name: 'one-frame', file: 'one-frame.mp4', kind: 'video', description: 'a valid one-frame MP4' },
  // Sizes.
  { name: 'size-1x1', file: 'size-1x1.mkv', kind: 'video', description: '1x1 pixel frames (FFV1), 5 frames' },
  { name: 'size-2x2', file: 'size-2x2.mkv', kind: 'video', description: '2x2 pixel frames (FFV1), 5 frames' },
  { name: 'size-15x15', file: 'size-15x15.mkv', kind: 'video', description: '15x15 frames, one pixel under the 16x16 minimum of stabilize and track' },
  { name: 'odd-97x65', file: 'odd-97x65.mkv', kind: 'video', description: 'odd width and height (97x65, FFV1), chroma rounded up' },
  { name: 'odd-17x17', file: 'odd-17x17.mkv', kind: 'video', description: 'odd and just above the 16x16 minimum' },
  { name: 'uhd-8k', file: 'uhd-8k.mp4', kind: 'video', description: `8K UHD frames (${UHD8K_WIDTH}x${UHD8K_HEIGHT}), 2 frames` },
  // Formats and metadata.
  { name: '10-bit', file: '10-bit.mkv', kind: 'video', description: '10-bit 4:2:0 (yuv420p10le, FFV1)' },
  { name: 'vfr', file: 'vfr.mp4', kind: 'video', description: 'variable frame rate: every fourth frame of a 10 fps clip dropped, timestamps kept (avg 7.5 fps)' },
  { name: 'rotated-90', file: 'rotated-90.mp4', kind: 'video', description: 'a phone-style clip stored 96x64 with a 90 degree display rotation' },
  // Images for register.
  { name: 'image-a', file: 'image-a.png', kind: 'image', description: `a ${CORPUS_WIDTH}x${CORPUS_HEIGHT} test pattern` },
  {
    name: 'image-b-scaled',
    file: 'image-b-scaled.png',
    kind: 'image',
    description: `image-a cropped to ${PAIR_CROP.width}x${PAIR_CROP.height} at (${PAIR_CROP.x},${PAIR_CROP.y}) and scaled x${PAIR_CROP.scale}: another size`,
    from: ['image-a'],
  },
  { name: 'mask-wrong-size', file: 'mask-32x32.png', kind: 'mask', description: 'a white 32x32 mask (the images are 96x64)' },
  { name: 'mask-right-size', file: 'mask-96x64.png', kind: 'mask', description: 'a white 96x64 mask' },
  { name: 'image-1x1', file: 'image-1x1.png', kind: 'image', description: 'a 1x1 PNG' },
  { name: 'image-2x2', file: 'image-2x2.png', kind: 'image', description: 'a 2x2 PNG' },
  { name: 'image-empty', file: 'empty.png', kind: 'image', description: 'an empty file named .png' },
  { name: 'image-random', file: 'random.png', kind: 'image', description: '3000 seeded random bytes named .png' },
  { name: 'image-truncated', file: 'truncated.png', kind: 'image', description: 'image-a cut at half its bytes', from: ['image-a'] },
];

/** Options of makeBadInputCorpus. */
export interface MakeCorpusOptions {
  /** The ffmpeg executable (the tests pass resolveFfmpeg().path). */
  readonly ffmpegPath: string;
  /** Make only these cases (and what they are made from). @default every case */
  readonly only?: readonly string[];
}

/** A made corpus: the folder and the path of each case made, by name. */
export interface BadInputCorpus {
  readonly dir: string;
  readonly paths: Readonly<Record<string, string>>;
  /** The path of a case; throws if it was not made. */
  path(name: string): string;
}

/**
 * mulberry32, as test/support/rng.ts: a copy on purpose, since this file imports only node:* so that
 * scripts/make-bad-corpus.mjs can transpile and run it on its own.
 */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `n` seeded random bytes. */
export function seededBytes(n: number, seed: number): Uint8Array {
  const rng = mulberry32(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rng() * 256);
  return out;
}

function runFfmpeg(ffmpegPath: string, args: readonly string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(ffmpegPath, ['-hide_banner', '-nostdin', '-loglevel', 'error', '-y', ...args], { maxBuffer: 1 << 20 }, (err, _stdout, stderr) => {
      if (err) reject(new Error(`ffmpeg ${args.join(' ')} failed: ${String(stderr).trim() || err.message}`));
      else resolve();
    });
  });
}

const SIZE = `${CORPUS_WIDTH}x${CORPUS_HEIGHT}`;
/** A moving test pattern: every frame differs, so registration has texture and motion to find. */
const PATTERN = `testsrc2=size=${SIZE}:rate=${CORPUS_FPS}`;
const X264 = ['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'];

type Recipe = (out: string, ff: (args: readonly string[]) => Promise<void>, src: (name: string) => string) => Promise<void>;

async function cutFile(src: string, out: string, fraction: number): Promise<void> {
  const bytes = await readFile(src);
  await writeFile(out, bytes.subarray(0, Math.floor(bytes.length * fraction)));
}

const RECIPES: Record<string, Recipe> = {
  good: (out, ff) => ff(['-f', 'lavfi', '-i', PATTERN, '-frames:v', String(CORPUS_FRAMES), ...X264, out]),
  'good-faststart': (out, ff) => ff(['-f', 'lavfi', '-i', PATTERN, '-frames:v', String(CORPUS_FRAMES), ...X264, '-movflags', '+faststart', out]),
  empty: (out) => writeFile(out, new Uint8Array(0)),
  'random-bytes': (out) => writeFile(out, seededBytes(4096, 6)),
  text: (out) => writeFile(out, 'These are my holiday notes, not a video.\n'.repeat(20)),
  'truncated-moov-25': (out, _ff, src) => cutFile(src('good'), out, 0.25),
  'truncated-moov-50': (out, _ff, src) => cutFile(src('good'), out, 0.5),
  'truncated-moov-75': (out, _ff, src) => cutFile(src('good'), out, 0.75),
  'truncated-40': (out, _ff, src) => cutFile(src('good-faststart'), out, 0.4),
  'truncated-70': (out, _ff, src) => cutFile(src('good-faststart'), out, 0.7),
  'truncated-95': (out, _ff, src) => cutFile(src('good-faststart'), out, 0.95),
  'corrupt-middle': async (out, _ff, src) => {
    const bytes = new Uint8Array(await readFile(src('good-faststart')));
    const n = bytes.length;
    const start = Math.floor(n / 2 - n / 8);
    bytes.set(seededBytes(Math.floor(n / 4), 7), start);
    await writeFile(out, bytes);
  },
  'audio-only': (out, ff) => ff(['-f', 'lavfi', '-i', 'sine=frequency=440:sample_rate=8000', '-t', '1', '-c:a', 'aac', out]),
  'no-streams': (out, ff) => ff(['-f', 'lavfi', '-i', PATTERN, '-frames:v', '0', ...X264, out]),
  'zero-frames': (out, ff) => ff(['-f', 'lavfi', '-i', PATTERN, '-frames:v', '0', '-c:v', 'mjpeg', out]),
  'still-image': (out, ff) => ff(['-f', 'lavfi', '-i', PATTERN, '-frames:v', '1', '-update', '1', out]),
  'one-frame': (out, ff) => ff(['-f', 'lavfi', '-i', PATTERN, '-frames:v', '1', ...X264, out]),
  // testsrc2 refuses sizes this small: make the pattern larger and scale it down.
  'size-1x1': (out, ff) => ff(['-f', 'lavfi', '-i', PATTERN, '-vf', 'scale=1:1', '-frames:v', '5', '-c:v', 'ffv1', '-pix_fmt', 'yuv420p', out]),
  'size-2x2': (out, ff) => ff(['-f', 'lavfi', '-i', PATTERN, '-vf', 'scale=2:2', '-frames:v', '5', '-c:v', 'ffv1', '-pix_fmt', 'yuv420p', out]),
  'size-15x15': (out, ff) => ff(['-f', 'lavfi', '-i', PATTERN, '-vf', 'scale=15:15', '-frames:v', '5', '-c:v', 'ffv1', '-pix_fmt', 'yuv420p', out]),
  'odd-97x65': (out, ff) => ff(['-f', 'lavfi', '-i', `testsrc2=size=97x65:rate=${CORPUS_FPS}`, '-frames:v', '12', '-c:v', 'ffv1', '-pix_fmt', 'yuv420p', out]),
  'odd-17x17': (out, ff) => ff(['-f', 'lavfi', '-i', PATTERN, '-vf', 'scale=17:17', '-frames:v', '8', '-c:v', 'ffv1', '-pix_fmt', 'yuv420p', out]),
  // Rendering testsrc2 at 8K is slow: render it small and enlarge it (nearest neighbour keeps it sharp).
  'uhd-8k': (out, ff) =>
    ff(['-f', 'lavfi', '-i', `testsrc2=size=240x135:rate=${CORPUS_FPS}`, '-vf', `scale=${UHD8K_WIDTH}:${UHD8K_HEIGHT}:flags=neighbor`, '-frames:v', '2', ...X264, out]),
  '10-bit': (out, ff) => ff(['-f', 'lavfi', '-i', PATTERN, '-frames:v', '12', '-c:v', 'ffv1', '-pix_fmt', 'yuv420p10le', out]),
  // Drop frames 1, 5, 9, ... and keep the others' timestamps: gaps of 0.2 s between some frames.
  vfr: (out, ff) => ff(['-f', 'lavfi', '-i', PATTERN, '-frames:v', '24', '-vf', "select='not(eq(mod(n\\,4)\\,1))'", '-vsync', 'vfr', ...X264, out]),
  'rotated-90': async (out, ff) => {
    const plain = `${out}.plain.mp4`;
    await ff(['-f', 'lavfi', '-i', PATTERN, '-frames:v', '12', ...X264, plain]);
    // The rotate tag is read as a clockwise display rotation of 90 degrees; ffmpeg builds differ in sign,
    // which does not matter here: any quarter turn swaps the display size.
    await ff(['-i', plain, '-map', '0', '-c', 'copy', '-metadata:s:v:0', 'rotate=90', out]);
    await rm(plain, { force: true });
  },
  'image-a': (out, ff) => ff(['-f', 'lavfi', '-i', `testsrc2=size=${SIZE}`, '-frames:v', '1', '-update', '1', out]),
  'image-b-scaled': (out, ff, src) => {
    const c = PAIR_CROP;
    const w = Math.round(c.width * c.scale);
    const h = Math.round(c.height * c.scale);
    return ff(['-i', src('image-a'), '-vf', `crop=${c.width}:${c.height}:${c.x}:${c.y},scale=${w}:${h}:flags=bicubic`, '-frames:v', '1', '-update', '1', out]);
  },
  'mask-wrong-size': (out, ff) => ff(['-f', 'lavfi', '-i', 'color=c=white:size=32x32', '-frames:v', '1', '-update', '1', out]),
  'mask-right-size': (out, ff) => ff(['-f', 'lavfi', '-i', `color=c=white:size=${SIZE}`, '-frames:v', '1', '-update', '1', out]),
  'image-1x1': (out, ff) => ff(['-f', 'lavfi', '-i', `testsrc2=size=${SIZE}`, '-vf', 'scale=1:1', '-frames:v', '1', '-update', '1', out]),
  'image-2x2': (out, ff) => ff(['-f', 'lavfi', '-i', `testsrc2=size=${SIZE}`, '-vf', 'scale=2:2', '-frames:v', '1', '-update', '1', out]),
  'image-empty': (out) => writeFile(out, new Uint8Array(0)),
  'image-random': (out) => writeFile(out, seededBytes(3000, 8)),
  'image-truncated': (out, _ff, src) => cutFile(src('image-a'), out, 0.5),
};

/** The case called `name`; throws for an unknown name. */
export function corpusCase(name: string): CorpusCase {
  const c = CORPUS_CASES.find((k) => k.name === name);
  if (c === undefined) throw new Error(`no corpus case named ${JSON.stringify(name)}`);
  return c;
}

/**
 * Makes the corpus (or the cases in `options.only` and what they are made from) in `dir`, which must
 * exist. Independent cases are made two at a time.
 */
export async function makeBadInputCorpus(dir: string, options: MakeCorpusOptions): Promise<BadInputCorpus> {
  const wanted = new Set<string>();
  const want = (name: string): void => {
    if (wanted.has(name)) return;
    for (const dep of corpusCase(name).from ?? []) want(dep);
    wanted.add(name);
  };
  for (const name of options.only ?? CORPUS_CASES.map((c) => c.name)) want(name);
  const paths: Record<string, string> = {};
  const done = new Map<string, Promise<void>>();
  const ff = (args: readonly string[]) => runFfmpeg(options.ffmpegPath, args);
  const src = (name: string): string => paths[name] as string;
  const make = (name: string): Promise<void> => {
    let p = done.get(name);
    if (p === undefined) {
      const c = corpusCase(name);
      const recipe = RECIPES[name];
      if (recipe === undefined) throw new Error(`no recipe for corpus case ${JSON.stringify(name)}`);
      const out = join(dir, c.file);
      p = Promise.all((c.from ?? []).map(make)).then(async () => {
        await recipe(out, ff, src);
        paths[name] = out;
      });
      done.set(name, p);
    }
    return p;
  };
  // Two at a time: ffmpeg is quick on these sizes and the machine may be busy.
  const queue = CORPUS_CASES.map((c) => c.name).filter((n) => wanted.has(n));
  const workers = [0, 1].map(async () => {
    for (let name = queue.shift(); name !== undefined; name = queue.shift()) await make(name);
  });
  await Promise.all(workers);
  return {
    dir,
    paths,
    path(name: string): string {
      const p = paths[name];
      if (p === undefined) throw new Error(`corpus case ${JSON.stringify(name)} was not made`);
      return p;
    },
  };
}
