/**
 * `steady register <fixed> <moving>`: align one image onto another by pyramid ECC, print the matrix,
 * cc, iterations, time, and MSE/PSNR/NCC/SSIM before and after; optionally write the aligned image
 * (in colour when the input is colour) and a picture of the remaining difference.
 */
import { performance } from 'node:perf_hooks';
import { InputError } from '../errors.js';
import { createGrayImage, type GrayImage } from '../image/gray-image.js';
import { warpInto } from '../image/warp.js';
import { compareImages, type SimilarityScores as SimilarityReport } from '../metrics/similarity.js';
import { type Mat3, toRows } from '../motion/mat3.js';
import { MODEL_NAMES, type ModelName } from '../motion/model-name.js';
import type { RegisterOptions } from '../register/options.js';
import { register } from '../register/register.js';
import type { RegisterResult } from '../register/result.js';
import { expectInteger, expectMatrix3, expectNumber, expectOneOf } from '../validate.js';
import { readImage, readImageColor, writeImage } from '../video/image-io.js';
import { flagBool, flagString, type CommandSpec, type ParsedArgs } from './args.js';
import type { Command, CommandContext } from './command.js';

const spec: CommandSpec = {
  name: 'register',
  usage: 'register <fixed> <moving> [options]',
  summary: 'align <moving> onto <fixed> by pyramid ECC and say how close they are',
  description: [
    'Finds the warp W that maximises the enhanced correlation coefficient (ECC) between <fixed> and <moving>',
    'warped by W. W is a 3x3 row-major matrix mapping pixel coordinates of <fixed> to pixel coordinates of',
    '<moving> (OpenCV findTransformECC convention; pixel centres at integer coordinates): warping <moving> with',
    'W as an inverse map aligns it onto <fixed>. Images of different sizes are accepted; W is always in each',
    "image's own pixel coordinates. Any format ffmpeg decodes is read (PNG, JPEG, PGM, TIFF, a video's first frame).",
    'Large shifts, rotations and zooms are found by a phase-correlation / log-polar start when no --init is given.',
    '',
    'Exit codes: 0 aligned, 3 did not converge (the result is still printed), 2 bad usage or unreadable input.',
  ].join('\n'),
  flags: [
    { name: 'model', type: 'string', value: 'NAME', help: `motion model: ${MODEL_NAMES.join('|')}`, defaultText: 'affine' },
    { name: 'levels', type: 'string', value: 'N', help: 'pyramid levels 1..8 (auto: coarsest level about 40-80 px)', defaultText: 'auto' },
    { name: 'iterations', type: 'string', value: 'N', help: 'most ECC iterations per pyramid level', defaultText: '50' },
    { name: 'epsilon', type: 'string', value: 'PX', help: 'stop a pyramid level when an update moves every corner by less than PX pixels of that level (at full resolution: the final accuracy)', defaultText: '0.05' },
    { name: 'mask', type: 'string', value: 'IMAGE', help: 'mask for <fixed>: same size, pixels above 127 are used' },
    { name: 'mask-moving', type: 'string', value: 'IMAGE', help: 'mask for <moving>: same size, pixels above 127 are used' },
    { name: 'init', type: 'string', value: 'JSON', help: 'start from this 3x3 matrix, e.g. "[[1,0,5],[0,1,-3],[0,0,1]]"' },
    { name: 'repeat', type: 'string', value: 'N', help: 'register N times and report the quickest time (benchmarking)', defaultText: '1' },
    { name: 'output', short: 'o', type: 'string', value: 'FILE', help: 'write <moving> aligned onto <fixed> (colour if the input is colour)' },
    { name: 'diff', type: 'string', value: 'FILE', help: 'write a picture of the remaining difference |fixed - aligned| (x4)' },
    { name: 'json', type: 'boolean', help: 'print exactly one JSON object on stdout and nothing else' },
  ],
  examples: [
    'steady register a.jpg b.jpg -o aligned.jpg                  # align photo b onto photo a, print metrics',
    'steady register blue.png green.png --model translation --json',
    'steady register img1.pgm img3.pgm --model homography --diff diff.png',
    'steady register a.png b.png --mask roi.png --init "[[1,0,12],[0,1,-4],[0,0,1]]"',
  ],
  positionals: { min: 2, max: 2, names: '<fixed> <moving>' },
};

/** Smallest image side steady registers (a pyramid and a gradient need some pixels). */
const MIN_SIDE_PX = 8;

function checkSize(path: string, img: GrayImage): void {
  if (img.width < MIN_SIDE_PX || img.height < MIN_SIDE_PX) {
    throw new InputError('E_IMAGE_TOO_SMALL', `${path}: image is ${img.width}x${img.height}; at least ${MIN_SIDE_PX}x${MIN_SIDE_PX} pixels are needed`);
  }
}

async function readMask(path: string, flag: string, target: GrayImage, targetPath: string): Promise<GrayImage> {
  const mask = await readImage(path);
  if (mask.width !== target.width || mask.height !== target.height) {
    throw new InputError(
      'E_MASK_SIZE',
      `${path}: mask for ${flag} is ${mask.width}x${mask.height} but ${targetPath} is ${target.width}x${target.height}; a mask must have the size of the image it masks`,
    );
  }
  return mask;
}

/** Warps `moving` into fixed's grid with W and returns the warped image and its valid-pixel mask. */
function alignInto(fixed: GrayImage, moving: GrayImage, W: Mat3): { aligned: GrayImage; valid: Uint8Array } {
  const aligned = createGrayImage(fixed.width, fixed.height);
  const valid = new Uint8Array(fixed.width * fixed.height);
  warpInto(aligned, moving, W, { interpolation: 'bilinear', border: 'constant', validMask: valid });
  return { aligned, valid };
}

function round(x: number, digits: number): number {
  if (!Number.isFinite(x)) return x;
  const k = 10 ** digits;
  return Math.round(x * k) / k;
}

function reportJson(r: SimilarityReport): SimilarityReport {
  return { mse: round(r.mse, 4), psnr: round(r.psnr, 3), ncc: round(r.ncc, 5), ssim: round(r.ssim, 5) };
}

async function run(args: ParsedArgs, ctx: CommandContext): Promise<number> {
  const [fixedPath, movingPath] = args.positionals as [string, string];
  const model = expectOneOf('--model', flagString(args, 'model') ?? 'affine', MODEL_NAMES) as ModelName;
  const levelsText = flagString(args, 'levels');
  let options: RegisterOptions = {
    model,
    levels: levelsText === undefined || levelsText === 'auto' ? 'auto' : expectInteger('--levels', levelsText, 1, 8),
    iterations: expectInteger('--iterations', flagString(args, 'iterations') ?? '50', 1, 10000),
  };
  const epsilonText = flagString(args, 'epsilon');
  if (epsilonText !== undefined) options = { ...options, epsilon: expectNumber('--epsilon', epsilonText, 0, 100) };
  const initText = flagString(args, 'init');
  const init = initText === undefined ? null : expectMatrix3('--init', initText);
  if (init && model !== 'homography' && (init[6] !== 0 || init[7] !== 0 || init[8] !== 1)) {
    throw new InputError('E_BAD_OPTION', `Expected third row [0,0,1] in --init for model ${model} but received ${JSON.stringify(toRows(init)[2])}`);
  }
  const repeat = expectInteger('--repeat', flagString(args, 'repeat') ?? '1', 1, 1000);
  const json = flagBool(args, 'json');
  const outputPath = flagString(args, 'output');
  const diffPath = flagString(args, 'diff');

  const fixed = await readImage(fixedPath);
  checkSize(fixedPath, fixed);
  const moving = await readImage(movingPath);
  checkSize(movingPath, moving);
  const maskPath = flagString(args, 'mask');
  const maskMovingPath = flagString(args, 'mask-moving');
  const fullOptions: RegisterOptions = {
    ...options,
    init,
    ...(maskPath ? { templateMask: await readMask(maskPath, '--mask', fixed, fixedPath) } : {}),
    ...(maskMovingPath ? { inputMask: await readMask(maskMovingPath, '--mask-moving', moving, movingPath) } : {}),
  };

  let result: RegisterResult | undefined;
  let timeMs = Number.POSITIVE_INFINITY;
  for (let k = 0; k < repeat; k++) {
    const t0 = performance.now();
    result = register(fixed, moving, fullOptions);
    timeMs = Math.min(timeMs, performance.now() - t0);
  }
  const res = result as RegisterResult;
  const identity = Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);
  const before = alignInto(fixed, moving, identity);
  const beforeReport = compareImages(fixed, before.aligned, before.valid);

  const out: Record<string, unknown> = { ok: res.ok, model };
  let afterReport: SimilarityReport | null = null;
  if (res.ok) {
    const after = alignInto(fixed, moving, res.matrix);
    afterReport = compareImages(fixed, after.aligned, after.valid);
    out.matrix = toRows(res.matrix).map((row) => row.map((v) => round(v, 9)));
    if (outputPath) await writeAligned(outputPath, movingPath, fixed, res.matrix);
    if (diffPath) await writeDiff(diffPath, fixed, after.aligned, after.valid);
  } else {
    out.reason = res.reason;
  }
  out.cc = round(res.cc, 6);
  out.iterations = res.iterations;
  out.timeMs = round(timeMs, 3);
  out.repeat = repeat;
  out.levels = res.levels.map((l) => ({ ...l, cc: round(l.cc, 6) }));
  out.before = reportJson(beforeReport);
  out.after = afterReport ? reportJson(afterReport) : null;
  if (res.ok) out.start = res.start;

  if (json) {
    ctx.stdout.write(`${JSON.stringify(out)}\n`);
  } else {
    ctx.stdout.write(formatHuman(res, model, timeMs, beforeReport, afterReport, outputPath, diffPath));
  }
  return res.ok ? 0 : 3;
}

function formatHuman(
  res: RegisterResult,
  model: ModelName,
  timeMs: number,
  before: SimilarityReport,
  after: SimilarityReport | null,
  outputPath: string | undefined,
  diffPath: string | undefined,
): string {
  const lines: string[] = [];
  if (res.ok) {
    lines.push(`aligned (${model}): cc ${res.cc.toFixed(5)}, ${res.iterations} iterations over ${res.levels.length} levels, ${timeMs.toFixed(1)} ms, start ${res.start}`);
    lines.push('matrix (fixed -> moving pixel coordinates):');
    for (const row of toRows(res.matrix)) lines.push(`  [${row.map((v) => v.toFixed(6).padStart(12)).join(' ')} ]`);
  } else {
    lines.push(`did not converge (${model}): ${res.reason}, best cc ${Number.isFinite(res.cc) ? res.cc.toFixed(5) : 'n/a'}, ${res.iterations} iterations, ${timeMs.toFixed(1)} ms`);
  }
  const row = (name: string, r: SimilarityReport) =>
    `  ${name.padEnd(7)}${r.mse.toFixed(2).padStart(10)}${r.psnr.toFixed(2).padStart(9)}${r.ncc.toFixed(4).padStart(9)}${r.ssim.toFixed(4).padStart(9)}`;
  lines.push(`  ${''.padEnd(7)}${'MSE'.padStart(10)}${'PSNR dB'.padStart(9)}${'NCC'.padStart(9)}${'SSIM'.padStart(9)}`);
  lines.push(row('before', before));
  if (after) lines.push(row('after', after));
  if (res.ok && outputPath) lines.push(`wrote aligned image: ${outputPath}`);
  if (res.ok && diffPath) lines.push(`wrote difference image: ${diffPath}`);
  return `${lines.join('\n')}\n`;
}

/** Writes `moving` warped onto fixed's grid, in colour when the file is colour. */
async function writeAligned(path: string, movingPath: string, fixed: GrayImage, W: Mat3): Promise<void> {
  const colour = await readImageColor(movingPath);
  const { width, height } = fixed;
  const plane = createGrayImage(colour.width, colour.height);
  const warped = createGrayImage(width, height);
  const rgb = new Uint8Array(width * height * 3);
  for (let c = 0; c < 3; c++) {
    for (let i = 0; i < plane.data.length; i++) plane.data[i] = colour.rgb[i * 3 + c] as number;
    warpInto(warped, plane, W, { interpolation: 'bilinear', border: 'constant' });
    for (let i = 0; i < warped.data.length; i++) {
      const v = warped.data[i] as number;
      rgb[i * 3 + c] = v <= 0 ? 0 : v >= 255 ? 255 : (v + 0.5) | 0;
    }
  }
  await writeImage(path, colour.isGray ? warped : { width, height, rgb });
}

/** Writes |fixed - aligned| x4 as gray; pixels with no overlap are mid-gray. */
async function writeDiff(path: string, fixed: GrayImage, aligned: GrayImage, valid: Uint8Array): Promise<void> {
  const diff = createGrayImage(fixed.width, fixed.height);
  for (let i = 0; i < diff.data.length; i++) {
    diff.data[i] = valid[i] === 1 ? Math.min(255, 4 * Math.abs((fixed.data[i] as number) - (aligned.data[i] as number))) : 128;
  }
  await writeImage(path, diff);
}

export const command: Command = { spec, run };
