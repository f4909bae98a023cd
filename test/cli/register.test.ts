// `steady register` as a person runs it, on the bundled still pair (samples/car_a.jpg, car_b.jpg). The pair
// was made by samples/make-samples.mjs: b = a turned 6 degrees clockwise about the centre of the 640x480
// frame (ffmpeg rotate), cropped to 600x450 at (28, 12), scaled back to 640x480 and darkened. That recipe
// gives the true W (a -> b pixel coordinates) below, independently of steady.
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readImage, readImageColor, writeImage } from '../../src/video/image-io.js';
import { createGrayImage } from '../../src/image/gray-image.js';
import { ncc } from '../../src/metrics/similarity.js';
import { REPO_ROOT, runCli } from '../support/cli.js';

const A = join(REPO_ROOT, 'samples/car_a.jpg');
const B = join(REPO_ROOT, 'samples/car_b.jpg');
/** JPEG, rotation and resampling leave the truth good to a fraction of a pixel. */
const TOL_CORNER_PX = 0.25;

function truthPoint(x: number, y: number): [number, number] {
  const th = (6 * Math.PI) / 180;
  const cx = 319.5;
  const cy = 239.5;
  const s = 640 / 600;
  const rx = cx + Math.cos(th) * (x - cx) - Math.sin(th) * (y - cy) - 28;
  const ry = cy + Math.sin(th) * (x - cx) + Math.cos(th) * (y - cy) - 12;
  return [(rx + 0.5) * s - 0.5, (ry + 0.5) * s - 0.5];
}

function cornerError(m: number[][]): number {
  let sum = 0;
  for (const [x, y] of [
    [0, 0],
    [639, 0],
    [639, 479],
    [0, 479],
  ] as const) {
    const w = (m[2]?.[0] ?? 0) * x + (m[2]?.[1] ?? 0) * y + (m[2]?.[2] ?? 1);
    const ex = ((m[0]?.[0] ?? 0) * x + (m[0]?.[1] ?? 0) * y + (m[0]?.[2] ?? 0)) / w;
    const ey = ((m[1]?.[0] ?? 0) * x + (m[1]?.[1] ?? 0) * y + (m[1]?.[2] ?? 0)) / w;
    const [tx, ty] = truthPoint(x, y);
    sum += Math.hypot(ex - tx, ey - ty);
  }
  return sum / 4;
}

async function registerJson(extra: string[] = []) {
  const r = await runCli(['register', A, B, '--json', ...extra]);
  const lines = r.stdout.trim().split('\n');
  expect(lines).toHaveLength(1);
  return { r, j: JSON.parse(lines[0] as string) };
}

describe('steady register on the bundled photo pair', () => {
  const dir = mkdtempSync(join(tmpdir(), 'steady-register-cli-'));

  it('aligns the rotated, shifted photo, writes it in colour with a diff, and reports metrics before and after', async () => {
    const out = join(dir, 'aligned.jpg');
    const diff = join(dir, 'diff.png');
    const r = await runCli(['register', A, B, '-o', out, '--diff', diff]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/aligned \(affine\)/);
    expect(r.stdout).toMatch(/before\s+[\d.]+\s+[\d.]+\s+[-\d.]+\s+[-\d.]+/);
    expect(r.stdout).toMatch(/after\s+[\d.]+\s+[\d.]+\s+[-\d.]+\s+[-\d.]+/);
    const colour = await readImageColor(out);
    expect(colour.isGray).toBe(false);
    expect([colour.width, colour.height]).toEqual([640, 480]);
    // The aligned image matches the fixed photo far better than the moving one did (centre crop, away
    // from the black corners; NCC, since b was also darkened).
    const a = await readImage(A);
    const aligned = await readImage(out);
    const b = await readImage(B);
    const centre = new Uint8Array(640 * 480);
    for (let y = 120; y < 360; y++) for (let x = 160; x < 480; x++) centre[y * 640 + x] = 1;
    expect(ncc(a, aligned, centre)).toBeGreaterThan(0.97);
    expect(ncc(a, b, centre)).toBeLessThan(0.8);
    expect(existsSync(diff)).toBe(true);
  });

  it('--json prints one object with the documented fields; the matrix matches the recipe', async () => {
    const { r, j } = await registerJson();
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(j.ok).toBe(true);
    expect(j.model).toBe('affine');
    expect(cornerError(j.matrix)).toBeLessThan(TOL_CORNER_PX);
    for (const k of ['cc', 'iterations', 'timeMs', 'levels', 'before', 'after']) expect(j).toHaveProperty(k);
    for (const k of ['mse', 'psnr', 'ncc', 'ssim']) {
      expect(j.before).toHaveProperty(k);
      expect(j.after).toHaveProperty(k);
    }
    expect(j.after.ncc).toBeGreaterThan(j.before.ncc);
    expect(j.after.mse).toBeLessThan(j.before.mse);
  });

  it('--model changes the matrix family; similarity and homography also match the recipe', async () => {
    const t = (await registerJson(['--model', 'translation'])).j;
    expect(t.matrix[0][0]).toBe(1);
    expect(t.matrix[0][1]).toBe(0);
    for (const model of ['similarity', 'homography']) {
      const { j } = await registerJson(['--model', model]);
      expect(j.model).toBe(model);
      expect(cornerError(j.matrix)).toBeLessThan(TOL_CORNER_PX);
    }
  });

  it('--levels, --iterations and --epsilon change the work done', async () => {
    const one = (await registerJson(['--levels', '1'])).j;
    expect(one.levels).toHaveLength(1);
    const three = (await registerJson(['--levels', '3'])).j;
    expect(three.levels).toHaveLength(3);
    // Seeded near the truth, so that no robust start adds runs. A coarse level may first run a model with
    // fewer parameters (its result seeds the full model), so a level counts at most 2 x --iterations.
    const seed = ['--levels', '3', '--init', '[[1.06,-0.11,-1],[0.11,1.06,-47],[0,0,1]]'];
    const it1 = (await registerJson(['--iterations', '1', ...seed])).j;
    const it50 = (await registerJson(seed)).j;
    expect(it1.start).toBe('seed');
    for (const l of it1.levels) expect(l.iterations).toBeLessThanOrEqual(2);
    expect(it1.iterations).toBeLessThan(it50.iterations);
    const loose = (await registerJson(['--epsilon', '5'])).j;
    const strict = (await registerJson(['--epsilon', '0.0001'])).j;
    expect(loose.iterations).toBeLessThan(strict.iterations);
  });

  it('--init seeds the registration; --repeat runs it N times', async () => {
    const seeded = (await registerJson(['--init', '[[1.06,-0.11,-1],[0.11,1.06,-47],[0,0,1]]'])).j;
    expect(seeded.start).toBe('seed');
    expect(cornerError(seeded.matrix)).toBeLessThan(TOL_CORNER_PX);
    const plain = (await registerJson()).j;
    expect(plain.start).not.toBe('seed');
    expect((await registerJson(['--repeat', '3'])).j.repeat).toBe(3);
  });

  it('--mask and --mask-moving restrict the pixels used', async () => {
    // Masks that keep only the left half of each image: still aligned, but from other pixels.
    const half = createGrayImage(640, 480);
    for (let y = 0; y < 480; y++) for (let x = 0; x < 320; x++) half.data[y * 640 + x] = 255;
    const mask = join(dir, 'half.png');
    await writeImage(mask, half);
    const plain = (await registerJson()).j;
    for (const flag of ['--mask', '--mask-moving']) {
      const { j } = await registerJson([flag, mask]);
      expect(j.ok).toBe(true);
      expect(cornerError(j.matrix)).toBeLessThan(1);
      expect(j.matrix).not.toEqual(plain.matrix);
    }
  });

  it('refuses bad input with one line, exit 2, and no output file', async () => {
    const out = join(dir, 'never.png');
    const notImage = join(dir, 'notes.txt');
    writeFileSync(notImage, 'not an image');
    const tiny = join(dir, 'tiny.png');
    await writeImage(tiny, createGrayImage(1, 1));
    const smallMask = join(dir, 'small-mask.png');
    await writeImage(smallMask, createGrayImage(10, 10));
    const cases: [string[], RegExp][] = [
      [['register', join(dir, 'missing.png'), B, '-o', out], /^steady: E_INPUT_NOT_FOUND: .*missing\.png/],
      [['register', notImage, B, '-o', out], /^steady: E_NOT_IMAGE: .*notes\.txt/],
      [['register', tiny, B, '-o', out], /^steady: E_IMAGE_TOO_SMALL: .*1x1/],
      [['register', A, B, '--mask', smallMask, '-o', out], /^steady: E_MASK_SIZE: .*10x10/],
      [['register', A, B, '--model', 'warp', '-o', out], /^steady: E_BAD_OPTION: Expected one of .* for --model but received "warp"/],
      [['register', A, B, '--levels', 'two', '-o', out], /^steady: E_BAD_OPTION: Expected an integer 1..8 for --levels but received "two"/],
      [['register', A, B, '--init', '[[1,0],[0,1]]', '-o', out], /^steady: E_BAD_OPTION: .*3x3 matrix/],
      [['register', A], /^steady: E_USAGE: /],
    ];
    for (const [args, re] of cases) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n'), args.join(' ')).toHaveLength(1);
      expect(r.stderr, args.join(' ')).toMatch(re);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(existsSync(out)).toBe(false);
    }
  });

  it('a flat image gives ok:false low-texture and exit 3, with the JSON still printed', async () => {
    const flat = join(dir, 'flat.png');
    const g = createGrayImage(320, 240);
    g.data.fill(128);
    await writeImage(flat, g);
    const r = await runCli(['register', flat, B, '--json']);
    expect(r.code).toBe(3);
    const j = JSON.parse(r.stdout);
    expect(j.ok).toBe(false);
    expect(j.reason).toBe('low-texture');
  });

  it('accepts images of different sizes and gives W in each image\'s own pixels', async () => {
    // b shrunk to 320x240: the true W is the recipe followed by the halving (x' = (x + 0.5) / 2 - 0.5).
    const small = join(dir, 'b-small.png');
    const b = await readImage(B);
    const s = createGrayImage(320, 240);
    for (let y = 0; y < 240; y++) {
      for (let x = 0; x < 320; x++) {
        const i = 2 * y * 640 + 2 * x;
        s.data[y * 320 + x] = ((b.data[i] as number) + (b.data[i + 1] as number) + (b.data[i + 640] as number) + (b.data[i + 641] as number)) / 4;
      }
    }
    await writeImage(small, s);
    const r = await runCli(['register', A, small, '--json']);
    expect(r.code).toBe(0);
    const m = JSON.parse(r.stdout).matrix as number[][];
    const [tx, ty] = truthPoint(639, 479);
    const w = (m[2]?.[0] ?? 0) * 639 + (m[2]?.[1] ?? 0) * 479 + (m[2]?.[2] ?? 1);
    const ex = ((m[0]?.[0] ?? 0) * 639 + (m[0]?.[1] ?? 0) * 479 + (m[0]?.[2] ?? 0)) / w;
    const ey = ((m[1]?.[0] ?? 0) * 639 + (m[1]?.[1] ?? 0) * 479 + (m[1]?.[2] ?? 0)) / w;
    expect(Math.hypot(ex - ((tx + 0.5) / 2 - 0.5), ey - ((ty + 0.5) / 2 - 0.5))).toBeLessThan(TOL_CORNER_PX);
    expect(readFileSync(small).length).toBeGreaterThan(0);
  });
});
