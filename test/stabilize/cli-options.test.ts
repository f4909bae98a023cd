/**
 * Every option of `steady stabilize` changes what it does, shown on a tiny synthetic shaky clip with known
 * motion (160x90, 30 frames; test/support/shaky-clip.ts) through the built CLI. Pixel checks use a
 * lossless output (`--codec ffv1`, .mkv) and compare with slow reference warps written here.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { readdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Mat3, invertInto, multiplyInto } from '../../src/motion/mat3.js';
import { MotionFileEncoder, parseMotionFile, type MotionFile, type MotionRecord } from '../../src/track/motion-file.js';
import { CLI, REPO_ROOT, runCli } from '../support/cli.js';
import { countFrames, ffmpeg, listStreams, makeTempDir, removeTempDir } from '../support/ffmpeg-fixtures.js';
import { centerMotion, hfJitter } from '../support/jitter.js';
import { makeShakyClip, readYuvFrames, type ShakyClip } from '../support/shaky-clip.js';

const W = 160;
const H = 90;
const FRAMES = 30;
const FPS = 30;
/** Recovered motion vs truth: the 0.05 px (median over frames of the mean corner error). */
const TOL_MOTION_PX = 0.05;
/** Registration on a half-size analysis image (80x45): twice the full-size tolerance, in input pixels. */
const TOL_HALF_RES_PX = 0.1;
/** Floating-point agreement of numbers that must be equal (motion file round trips, identities). */
const TOL_EXACT = 1e-9;
/** The 8-bit warp against a float reference: fixed-point weights and rounding, gray levels. */
const TOL_WARP_LEVELS = 1;
/** Two plans count as different when some frame's corrections differ by more than this (mean corner, px). */
const PLANS_DIFFER_PX = 0.01;
/** Output corners may map this far outside the input frame and still count as no fill, pixels. */
const FILL_MARGIN_PX = 1;
const CORNERS = [
  [0, 0],
  [W - 1, 0],
  [W - 1, H - 1],
  [0, H - 1],
] as const;

let dir = '';
let clip: ShakyClip;
let input: Awaited<ReturnType<typeof readYuvFrames>>;

beforeAll(async () => {
  dir = await makeTempDir('steady-stab-opts-');
  clip = await makeShakyClip(join(dir, 'shaky.mkv'), { seed: 4242, width: W, height: H, frames: FRAMES, fps: FPS });
  input = await readYuvFrames(clip.path);
}, 60_000);

afterAll(async () => {
  if (dir) await removeTempDir(dir);
});

interface Run {
  readonly out: string;
  readonly motion: MotionFile;
  readonly summary: { frames: number; failedFrames: number; fps: number; zoom: number; seconds: number; output: string; notes: string[] };
  readonly stderr: string;
}

const runs = new Map<string, Promise<Run>>();

/**
 * Runs `steady stabilize` on `source` with a motion file and --json; fails the test on a non-zero exit.
 * Runs with the same arguments are made once and shared between tests (the clip is the same).
 */
function stabilize(name: string, extra: readonly string[], options: { source?: string; ext?: string } = {}): Promise<Run> {
  const key = JSON.stringify([extra, options]);
  let run = runs.get(key);
  if (run === undefined) {
    run = stabilizeOnce(name, extra, options);
    runs.set(key, run);
  }
  return run;
}

async function stabilizeOnce(name: string, extra: readonly string[], options: { source?: string; ext?: string }): Promise<Run> {
  const out = join(dir, `${name}${options.ext ?? '.mp4'}`);
  const transforms = join(dir, `${name}.json`);
  const r = await runCli(['stabilize', options.source ?? clip.path, '-o', out, '--transforms', transforms, '--json', ...extra]);
  if (r.code !== 0) throw new Error(`steady stabilize ${extra.join(' ')} exited ${r.code}: ${r.stderr}`);
  return { out, motion: parseMotionFile(await readFile(transforms, 'utf8')), summary: JSON.parse(r.stdout.trim()), stderr: r.stderr };
}

function apply(m: Mat3, x: number, y: number): [number, number] {
  const z = (m[6] as number) * x + (m[7] as number) * y + (m[8] as number);
  return [((m[0] as number) * x + (m[1] as number) * y + (m[2] as number)) / z, ((m[3] as number) * x + (m[4] as number) * y + (m[5] as number)) / z];
}

function meanCornerDistance(a: Mat3, b: Mat3): number {
  let s = 0;
  for (const [x, y] of CORNERS) {
    const [ax, ay] = apply(a, x, y);
    const [bx, by] = apply(b, x, y);
    s += Math.hypot(ax - bx, ay - by);
  }
  return s / 4;
}

function median(v: readonly number[]): number {
  const s = [...v].sort((p, q) => p - q);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : 0.5 * ((s[m - 1] as number) + (s[m] as number));
}

/** Median over frames 1.. of the mean corner error of the reported motion against `truth` (frame offset `first`). */
function motionError(m: MotionFile, truth: readonly Mat3[], first = 0): number {
  const e: number[] = [];
  for (let k = 1; k < m.frames.length; k++) e.push(meanCornerDistance(m.frames[k]?.motion as Mat3, truth[first + k] as Mat3));
  return median(e);
}

/** How far the output corners, mapped by the correction, fall outside the input frame (<= 0: inside), pixels. */
function fillPx(c: Mat3): number {
  let worst = Number.NEGATIVE_INFINITY;
  for (const [x, y] of CORNERS) {
    const [qx, qy] = apply(c, x, y);
    worst = Math.max(worst, -qx, qx - (W - 1), -qy, qy - (H - 1));
  }
  return worst;
}

/** Shift of the output centre by the correction (zoom about the centre does not move it), pixels. */
function centreShiftPx(c: Mat3): number {
  const cx = (W - 1) / 2;
  const cy = (H - 1) / 2;
  const [qx, qy] = apply(c, cx, cy);
  return Math.hypot(qx - cx, qy - cy);
}

/** Rotation of the correction, degrees. */
function angleDeg(c: Mat3): number {
  return (Math.atan2((c[3] as number) - (c[1] as number), (c[0] as number) + (c[4] as number)) * 180) / Math.PI;
}

/**
 * The jitter measure (test/support/jitter.ts) of the output as the corrections make it from the true
 * motion: output frame k-1 -> k is C_k^-1 M_k C_{k-1}. Radius 0 (identity corrections) gives the input's.
 */
function outputJitterPx(m: MotionFile, truth: readonly Mat3[]): number {
  const inv = new Float64Array(9);
  const t = new Float64Array(9);
  const o = new Float64Array(9);
  const steps: [number, number, number][] = [[0, 0, 0]];
  for (let k = 1; k < m.frames.length; k++) {
    invertInto(inv, m.frames[k]?.correction as Mat3);
    multiplyInto(t, truth[k] as Mat3, m.frames[k - 1]?.correction as Mat3);
    multiplyInto(o, inv, t);
    steps.push(centerMotion(o, W, H));
  }
  return hfJitter(steps).xyPx;
}

// ---- slow reference warps of an 8-bit plane (pixel centres at integers) ------------------------------

type Border = 'constant' | 'replicate' | 'reflect';

function tap(plane: Uint8Array, w: number, h: number, x: number, y: number, border: Border, value: number): number {
  const fix = (i: number, n: number): number => {
    if (i >= 0 && i < n) return i;
    if (border === 'constant') return -1;
    if (border === 'replicate') return i < 0 ? 0 : n - 1;
    // Mirror about the edge pixel, which is not repeated (dcb|abcd|cba).
    const p = 2 * n - 2;
    let r = ((i % p) + p) % p;
    if (r >= n) r = p - r;
    return r;
  };
  const xi = fix(x, w);
  const yi = fix(y, h);
  return xi < 0 || yi < 0 ? value : (plane[yi * w + xi] as number);
}

function bilinearRef(plane: Uint8Array, w: number, h: number, x: number, y: number, border: Border = 'replicate', value = 16): number {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  const fx = x - x0;
  const fy = y - y0;
  const t = (i: number, j: number) => tap(plane, w, h, i, j, border, value);
  return (1 - fy) * ((1 - fx) * t(x0, y0) + fx * t(x0 + 1, y0)) + fy * ((1 - fx) * t(x0, y0 + 1) + fx * t(x0 + 1, y0 + 1));
}

/** Keys (1981) cubic convolution, a = -0.5. */
function keys(d: number): number {
  const a = Math.abs(d);
  if (a <= 1) return 1.5 * a ** 3 - 2.5 * a ** 2 + 1;
  if (a < 2) return -0.5 * a ** 3 + 2.5 * a ** 2 - 4 * a + 2;
  return 0;
}

function bicubicRef(plane: Uint8Array, w: number, h: number, x: number, y: number): number {
  const x0 = Math.floor(x);
  const y0 = Math.floor(y);
  let s = 0;
  for (let j = -1; j <= 2; j++) for (let i = -1; i <= 2; i++) s += keys(x - (x0 + i)) * keys(y - (y0 + j)) * tap(plane, w, h, x0 + i, y0 + j, 'replicate', 0);
  return Math.max(0, Math.min(255, s));
}

/** For each output pixel: the source point the correction maps it to. */
function sourcePoints(c: Mat3): Float64Array {
  const p = new Float64Array(2 * W * H);
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const [sx, sy] = apply(c, x, y);
      p[2 * (y * W + x)] = sx;
      p[2 * (y * W + x) + 1] = sy;
    }
  }
  return p;
}

/** Distance of a source point outside the input frame (<= 0 inside), pixels. */
function outsideBy(sx: number, sy: number): number {
  return Math.max(-sx, sx - (W - 1), -sy, sy - (H - 1));
}

// ------------------------------------------------------------------------------------------------------

describe('steady stabilize options', () => {
  it.concurrent('--model: translation reports pure shifts; the default similarity follows the true rotation', async () => {
    const [t, s] = await Promise.all([stabilize('model-translation', ['--model', 'translation']), stabilize('default', [])]);
    const trueAngles = clip.motion.map((m) => Math.abs(centerMotion(m, W, H)[2]));
    // The clip rotates (else the test would show nothing).
    expect(Math.max(...trueAngles)).toBeGreaterThan(0.3);
    for (const f of t.motion.frames) {
      const m = f.motion as Mat3;
      expect([m[0], m[1], m[3], m[4], m[6], m[7], m[8]]).toEqual([1, 0, 0, 1, 0, 0, 1]);
    }
    expect(motionError(s.motion, clip.motion)).toBeLessThanOrEqual(TOL_MOTION_PX);
  });

  describe('--reference, on a clip with a blank frame at index 12 and a 60 px pan', () => {
    let blank: ShakyClip;
    const BLANK = 12;
    beforeAll(async () => {
      blank = await makeShakyClip(join(dir, 'blank.mkv'), { seed: 777, width: W, height: H, frames: FRAMES, fps: FPS, panPx: 60, blankFrames: [BLANK] });
    }, 60_000);

    /** fromReference of frame k against the truth G_k^-1 G_ref. */
    function fromReferenceError(f: MotionRecord): number {
      const inv = new Float64Array(9);
      invertInto(inv, blank.camera[f.index] as Mat3);
      const truth = multiplyInto(new Float64Array(9), inv, blank.camera[f.referenceIndex] as Mat3);
      return meanCornerDistance(f.fromReference as Mat3, truth);
    }

    it.concurrent('previous: the blank frame and the frame after it fail (each registers against the blank), the run goes on', async () => {
      const r = await stabilize('ref-previous', ['--reference', 'previous'], { source: blank.path });
      expect(r.summary.frames).toBe(FRAMES);
      expect(r.motion.frames.filter((f) => !f.ok).map((f) => f.index)).toEqual([BLANK, BLANK + 1]);
      expect(r.summary.failedFrames).toBe(2);
    });

    it.concurrent('first: only the blank frame fails; every other frame is registered onto frame 0 to within the tolerance', async () => {
      const r = await stabilize('ref-first', ['--reference', 'first'], { source: blank.path });
      expect(r.motion.frames.filter((f) => !f.ok).map((f) => f.index)).toEqual([BLANK]);
      expect(r.motion.frames.every((f) => f.referenceIndex === 0)).toBe(true);
      const err = r.motion.frames.filter((f) => f.ok).map(fromReferenceError);
      expect(median(err)).toBeLessThanOrEqual(TOL_MOTION_PX);
    });

    it.concurrent('keyframe: re-anchors as the pan moves on, never onto the blank frame, and each frame matches its keyframe', async () => {
      const r = await stabilize('ref-keyframe', ['--reference', 'keyframe'], { source: blank.path });
      const refs = r.motion.frames.map((f) => f.referenceIndex);
      expect(r.motion.frames.filter((f) => !f.ok).map((f) => f.index)).toEqual([BLANK]);
      expect(new Set(refs).size).toBeGreaterThan(1);
      expect(refs.includes(BLANK)).toBe(false);
      for (let k = 1; k < refs.length; k++) expect(refs[k] as number).toBeGreaterThanOrEqual(refs[k - 1] as number);
      const err = r.motion.frames.filter((f) => f.ok).map(fromReferenceError);
      expect(median(err)).toBeLessThanOrEqual(TOL_MOTION_PX);
    });

    it.concurrent('two-pass: the motion file flags the frames the first pass failed on', async () => {
      const r = await stabilize('two-pass-blank', ['--smoother', 'two-pass'], { source: blank.path });
      expect(r.motion.frames.filter((f) => !f.ok).map((f) => f.index)).toEqual([BLANK, BLANK + 1]);
      expect(r.summary.failedFrames).toBe(2);
    });
  });

  it.concurrent('--smoother causal has no look-ahead: its first 15 corrections do not change when the clip ends there; gaussian ones do', async () => {
    const [cf, ch, gf, gh] = await Promise.all([
      // One-pass modes (adaptive zoom): a static 'auto' zoom would depend on the whole clip.
      stabilize('causal-full', ['--smoother', 'causal', '--zoom', 'adaptive']),
      stabilize('causal-half', ['--smoother', 'causal', '--zoom', 'adaptive', '--duration', '0.5']),
      stabilize('gauss-full', ['--smoother', 'gaussian', '--zoom', 'adaptive']),
      stabilize('gauss-half', ['--smoother', 'gaussian', '--zoom', 'adaptive', '--duration', '0.5']),
    ]);
    expect(ch.motion.frames.length).toBe(15);
    expect(gh.motion.frames.length).toBe(15);
    let causalDiff = 0;
    let gaussDiff = 0;
    for (let k = 0; k < 15; k++) {
      causalDiff = Math.max(causalDiff, meanCornerDistance(cf.motion.frames[k]?.correction as Mat3, ch.motion.frames[k]?.correction as Mat3));
      gaussDiff = Math.max(gaussDiff, meanCornerDistance(gf.motion.frames[k]?.correction as Mat3, gh.motion.frames[k]?.correction as Mat3));
    }
    expect(causalDiff).toBeLessThanOrEqual(TOL_EXACT);
    // The gaussian smoother looks ahead: the frames near the cut see a different future.
    expect(gaussDiff).toBeGreaterThan(0.05);
  });

  it.concurrent('--whole-clip reads the input twice, so it refuses standard input; without it standard input takes the one-decode defaults', async () => {
    const bytes = await readFile(clip.path);
    const r = await runCli(['stabilize', '-', '-o', join(dir, 'whole-stdin.mp4'), '--whole-clip'], { input: bytes });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^steady: E_BAD_OPTION: .*--whole-clip.*\n$/);
    expect(existsSync(join(dir, 'whole-stdin.mp4'))).toBe(false);
    const ok = await runCli(['stabilize', '-', '-o', join(dir, 'default-stdin.mp4'), '--json'], { input: bytes });
    expect(ok.code).toBe(0);
    expect(JSON.parse(ok.stdout.trim()).frames).toBe(clip.motion.length);
  });

  it.concurrent('--whole-clip plans over the whole clip: one static zoom for every frame, and a plan of its own', async () => {
    const [whole, windowed] = await Promise.all([stabilize('whole-clip', ['--whole-clip']), stabilize('default', [])]);
    const zooms = whole.motion.frames.map((f) => f.zoom as number);
    expect(Math.max(...zooms) - Math.min(...zooms)).toBeLessThanOrEqual(TOL_EXACT);
    let largest = 0;
    for (let k = 0; k < whole.motion.frames.length; k++) {
      const a = whole.motion.frames[k]?.correction as Mat3;
      const b = windowed.motion.frames[k]?.correction as Mat3;
      largest = Math.max(largest, meanCornerDistance(a, b));
    }
    expect(largest).toBeGreaterThan(PLANS_DIFFER_PX);
  });

  describe('--smoothing, on a 90-frame clip (the radius must fit in it)', () => {
    let long: ShakyClip;
    beforeAll(async () => {
      long = await makeShakyClip(join(dir, 'smoothing.mkv'), { seed: 9090, width: W, height: H, frames: 90, fps: FPS });
    }, 60_000);

    it.concurrent('0 leaves every frame where it was; a larger radius leaves less jitter (--zoom none, so output pixels keep their size)', async () => {
      const [r0, r4, r15] = await Promise.all(
        [0, 4, 15].map((radius) => stabilize(`smooth-${radius}`, ['--smoother', 'gaussian', '--zoom', 'none', '--smoothing', String(radius)], { source: long.path })),
      );
      for (const f of (r0 as Run).motion.frames) {
        expect(meanCornerDistance(f.correction as Mat3, Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1))).toBeLessThanOrEqual(TOL_EXACT);
        expect(f.zoom).toBe(1);
      }
      const [j0, j4, j15] = [r0, r4, r15].map((r) => outputJitterPx((r as Run).motion, long.motion));
      console.log(`smoothing: output jitter from the true motion ${(j0 as number).toFixed(3)} px at radius 0, ${(j4 as number).toFixed(3)} at 4, ${(j15 as number).toFixed(3)} at 15`);
      expect(Math.abs((j0 as number) - (long.trueJitter?.xyPx as number))).toBeLessThanOrEqual(TOL_EXACT);
      expect(j4 as number).toBeLessThan(j0 as number);
      expect(j15 as number).toBeLessThan(j4 as number);
    });
  });

  it.concurrent('--smoothing accepts its whole documented range (up to 120) on a clip longer than its look-ahead, and refuses 121', async () => {
    const long = join(dir, 'long-static.mp4');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=64x36:rate=30', '-frames:v', '400', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', long]);
    const r = await runCli(['stabilize', long, '-o', join(dir, 'long-120.mp4'), '--smoothing', '120', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).frames).toBe(400);
    const over = await runCli(['stabilize', long, '-o', join(dir, 'long-121.mp4'), '--smoothing', '121']);
    expect(over.code).toBe(2);
    expect(over.stderr).toMatch(/^steady: E_BAD_OPTION: Expected an integer 0..120 for --smoothing but received "121"/);
  }, 120_000);

  it.concurrent('--max-shift caps the shift of every correction', async () => {
    const LIMIT_PX = 0.5;
    const [free, capped] = await Promise.all([stabilize('default', []), stabilize('shift-capped', ['--max-shift', String(LIMIT_PX)])]);
    expect(Math.max(...free.motion.frames.map((f) => centreShiftPx(f.correction as Mat3)))).toBeGreaterThan(LIMIT_PX);
    expect(Math.max(...capped.motion.frames.map((f) => centreShiftPx(f.correction as Mat3)))).toBeLessThanOrEqual(LIMIT_PX + TOL_EXACT);
  });

  it.concurrent('--max-angle caps the rotation of every correction (degrees)', async () => {
    const LIMIT_DEG = 0.1;
    const [free, capped] = await Promise.all([stabilize('default', []), stabilize('angle-capped', ['--max-angle', String(LIMIT_DEG)])]);
    expect(Math.max(...free.motion.frames.map((f) => Math.abs(angleDeg(f.correction as Mat3))))).toBeGreaterThan(LIMIT_DEG);
    expect(Math.max(...capped.motion.frames.map((f) => Math.abs(angleDeg(f.correction as Mat3))))).toBeLessThanOrEqual(LIMIT_DEG + TOL_EXACT);
  });

  it.concurrent('--zoom: none shows fill, a percent is that zoom, auto is one zoom without fill, adaptive follows need without fill', async () => {
    const [none, ten, auto, adaptive] = await Promise.all([
      stabilize('zoom-none', ['--zoom', 'none']),
      stabilize('zoom-10', ['--zoom', '10']),
      stabilize('default', []),
      stabilize('zoom-adaptive', ['--zoom', 'adaptive', '--smoother', 'gaussian']),
    ]);
    expect(none.motion.frames.every((f) => f.zoom === 1)).toBe(true);
    expect(Math.max(...none.motion.frames.map((f) => fillPx(f.correction as Mat3)))).toBeGreaterThan(FILL_MARGIN_PX);
    for (const f of ten.motion.frames) expect(f.zoom).toBeCloseTo(1.1, 12);
    const autoZooms = new Set(auto.motion.frames.map((f) => f.zoom));
    expect(autoZooms.size).toBe(1);
    expect([...autoZooms][0] as number).toBeGreaterThan(1);
    expect(new Set(adaptive.motion.frames.map((f) => f.zoom)).size).toBeGreaterThan(1);
    for (const r of [auto, adaptive]) expect(Math.max(...r.motion.frames.map((f) => fillPx(f.correction as Mat3)))).toBeLessThanOrEqual(FILL_MARGIN_PX);
  });

  it.concurrent('--border black|edge|reflect|keep fill the uncovered output pixels as documented (--zoom none, lossless output)', async () => {
    const modes = ['black', 'edge', 'reflect', 'keep'] as const;
    const runs = await Promise.all(modes.map((b) => stabilize(`border-${b}`, ['--zoom', 'none', '--border', b, '--codec', 'ffv1'], { ext: '.mkv' })));
    const outs = await Promise.all(runs.map((r) => readYuvFrames(r.out)));
    for (let m = 0; m < modes.length; m++) {
      const mode = modes[m] as (typeof modes)[number];
      const out = outs[m] as Awaited<ReturnType<typeof readYuvFrames>>;
      const motion = (runs[m] as Run).motion;
      expect(out.frames.length).toBe(FRAMES);
      let outsidePixels = 0;
      let worstInside = 0;
      let worstOutside = 0;
      for (let k = 0; k < FRAMES; k++) {
        const src = input.frames[k]?.y as Uint8Array;
        const got = out.frames[k]?.y as Uint8Array;
        const prevOut = k > 0 ? (out.frames[k - 1]?.y as Uint8Array) : null;
        const p = sourcePoints(motion.frames[k]?.correction as Mat3);
        for (let i = 0; i < W * H; i++) {
          const sx = p[2 * i] as number;
          const sy = p[2 * i + 1] as number;
          const d = outsideBy(sx, sy);
          const v = got[i] as number;
          if (d <= 0) {
            worstInside = Math.max(worstInside, Math.abs(v - bilinearRef(src, W, H, sx, sy)));
          } else if (d >= 1) {
            outsidePixels++;
            const expected =
              mode === 'black' ? 16 : mode === 'edge' ? bilinearRef(src, W, H, sx, sy, 'replicate') : mode === 'reflect' ? bilinearRef(src, W, H, sx, sy, 'reflect') : prevOut === null ? 16 : (prevOut[i] as number);
            worstOutside = Math.max(worstOutside, Math.abs(v - expected));
          }
        }
      }
      expect(outsidePixels, mode).toBeGreaterThan(100);
      expect(worstInside, `${mode}: covered pixels`).toBeLessThanOrEqual(TOL_WARP_LEVELS);
      expect(worstOutside, `${mode}: uncovered pixels`).toBeLessThanOrEqual(mode === 'black' || mode === 'keep' ? 0 : TOL_WARP_LEVELS);
    }
  });

  it.concurrent('--interpolation nearest copies source pixels, bilinear and bicubic match their kernels (--zoom none, lossless output)', async () => {
    const modes = ['nearest', 'bilinear', 'bicubic'] as const;
    // bilinear is the default: its run is the --border edge run of the border test.
    const runs = await Promise.all(
      modes.map((m) => (m === 'bilinear' ? stabilize('border-edge', ['--zoom', 'none', '--border', 'edge', '--codec', 'ffv1'], { ext: '.mkv' }) : stabilize(`interp-${m}`, ['--zoom', 'none', '--border', 'edge', '--interpolation', m, '--codec', 'ffv1'], { ext: '.mkv' }))),
    );
    const outs = await Promise.all(runs.map((r) => readYuvFrames(r.out)));
    const worst = { nearest: 0, bilinear: 0, bicubic: 0 };
    let bicubicVsBilinear = 0;
    for (let k = 0; k < FRAMES; k++) {
      const src = input.frames[k]?.y as Uint8Array;
      // The same correction in every run (the option changes only the warp): check that, then use it.
      const c = (runs[0] as Run).motion.frames[k]?.correction as Mat3;
      for (const r of runs) expect(meanCornerDistance(r.motion.frames[k]?.correction as Mat3, c)).toBeLessThanOrEqual(TOL_EXACT);
      const p = sourcePoints(c);
      for (let i = 0; i < W * H; i++) {
        const sx = p[2 * i] as number;
        const sy = p[2 * i + 1] as number;
        // Pixels whose taps (4x4 for bicubic) are all inside.
        if (sx < 1 || sy < 1 || sx > W - 3 || sy > H - 3) continue;
        const fx = sx - Math.floor(sx);
        const fy = sy - Math.floor(sy);
        if (Math.abs(fx - 0.5) > 0.02 && Math.abs(fy - 0.5) > 0.02) {
          // Away from rounding ties: nearest is the source pixel itself.
          const near = src[Math.round(sy) * W + Math.round(sx)] as number;
          worst.nearest = Math.max(worst.nearest, Math.abs((outs[0]?.frames[k]?.y[i] as number) - near));
        }
        worst.bilinear = Math.max(worst.bilinear, Math.abs((outs[1]?.frames[k]?.y[i] as number) - bilinearRef(src, W, H, sx, sy)));
        worst.bicubic = Math.max(worst.bicubic, Math.abs((outs[2]?.frames[k]?.y[i] as number) - bicubicRef(src, W, H, sx, sy)));
        bicubicVsBilinear = Math.max(bicubicVsBilinear, Math.abs((outs[2]?.frames[k]?.y[i] as number) - (outs[1]?.frames[k]?.y[i] as number)));
      }
    }
    console.log(`interpolation: worst differences from the reference kernels ${JSON.stringify(worst)} gray levels; bicubic vs bilinear output up to ${bicubicVsBilinear}`);
    expect(worst.nearest).toBe(0);
    expect(worst.bilinear).toBeLessThanOrEqual(TOL_WARP_LEVELS);
    expect(worst.bicubic).toBeLessThanOrEqual(TOL_WARP_LEVELS);
    expect(bicubicVsBilinear).toBeGreaterThan(0);
  });

  it.concurrent('--analysis-width: registering at half size still reports motion in input pixels', async () => {
    const [full, half] = await Promise.all([stabilize('default', []), stabilize('aw-80', ['--analysis-width', '80'])]);
    const fullErr = motionError(full.motion, clip.motion);
    const halfErr = motionError(half.motion, clip.motion);
    console.log(`analysis width: motion error median ${fullErr.toFixed(4)} px at 160 px, ${halfErr.toFixed(4)} px at 80 px`);
    expect(fullErr).toBeLessThanOrEqual(TOL_MOTION_PX);
    expect(halfErr).toBeLessThanOrEqual(TOL_HALF_RES_PX);
    // Different analysis images give (slightly) different estimates.
    expect(Math.max(...half.motion.frames.map((f, k) => meanCornerDistance(f.motion as Mat3, full.motion.frames[k]?.motion as Mat3)))).toBeGreaterThan(1e-4);
  });

  it.concurrent('--analysis-width above the frame: analysed at the frame\'s own size, as the default does here, and a note says so', async () => {
    const [def, wide] = await Promise.all([stabilize('default', []), stabilize('aw-640', ['--analysis-width', '640'])]);
    expect(wide.motion.frames.every((f, k) => meanCornerDistance(f.motion as Mat3, def.motion.frames[k]?.motion as Mat3) === 0)).toBe(true);
    const notes = (r: Run) => ((r.summary as unknown as { notes: string[] }).notes ?? []).join('\n');
    expect(notes(wide)).toMatch(/analysis at the frame's own size \(160 px\): --analysis-width 640 is larger/);
    expect(notes(def)).not.toMatch(/analysis at/);
  });

  it.concurrent('--crf: a higher factor than the default 18 makes a smaller file', async () => {
    const [hi, lo] = await Promise.all([stabilize('default', []), stabilize('crf-40', ['--crf', '40'])]);
    const [a, b] = await Promise.all([stat(hi.out), stat(lo.out)]);
    expect(b.size).toBeLessThan(a.size / 2);
    expect(await countFrames(hi.out)).toBe(FRAMES);
    expect(await countFrames(lo.out)).toBe(FRAMES);
  });

  it.concurrent('--preset reaches the encoder: x264 runs veryslow when asked, veryfast by default; an unknown preset fails with one line and no file', async () => {
    const [fast, slow] = await Promise.all([stabilize('default', []), stabilize('preset-veryslow', ['--preset', 'veryslow'])]);
    // x264 writes its settings into the stream: the presets' documented motion search (hex, subme 2 for
    // veryfast; umh, subme 10 for veryslow) shows which one ran.
    const [a, b] = await Promise.all([readFile(fast.out, 'latin1'), readFile(slow.out, 'latin1')]);
    expect(a).toMatch(/x264 - core[^\0]* me=hex subme=2 /);
    expect(b).toMatch(/x264 - core[^\0]* me=umh subme=10 /);
    const bad = join(dir, 'preset-bad.mp4');
    const r = await runCli(['stabilize', clip.path, '-o', bad, '--preset', 'no-such-preset']);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/^steady: E_[A-Z_]+: [^\n]*no-such-preset[^\n]*\n$/);
    expect(existsSync(bad)).toBe(false);
  });

  it.concurrent('--codec: ffv1 writes FFV1, the default H.264', async () => {
    const [ffv1, def] = await Promise.all([stabilize('border-edge', ['--zoom', 'none', '--border', 'edge', '--codec', 'ffv1'], { ext: '.mkv' }), stabilize('default', [])]);
    expect((await listStreams(ffv1.out)).find((s) => s.codec_type === 'video')?.codec_name).toBe('ffv1');
    expect((await listStreams(def.out)).find((s) => s.codec_type === 'video')?.codec_name).toBe('h264');
  });

  it.concurrent('--threads 1 reaches the encoder (x264 records threads=1) and the output is a complete video', async () => {
    const r = await stabilize('threads-1', ['--threads', '1']);
    expect(r.summary.frames).toBe(FRAMES);
    expect(await countFrames(r.out)).toBe(FRAMES);
    expect(await readFile(r.out, 'latin1')).toMatch(/x264 - core[^\0]* threads=1 /);
  });

  it.concurrent('--framerate sets the rate of an image-sequence input', async () => {
    await ffmpeg(['-i', clip.path, '-start_number', '0', `${join(dir, 'seq-')}%03d.png`]);
    const pattern = `${join(dir, 'seq-')}%03d.png`;
    const [r12, rDefault] = await Promise.all([stabilize('framerate-12', ['--framerate', '12'], { source: pattern }), stabilize('framerate-default', [], { source: pattern })]);
    const s12 = (await listStreams(r12.out)).find((s) => s.codec_type === 'video');
    const sDef = (await listStreams(rDefault.out)).find((s) => s.codec_type === 'video');
    expect(s12?.r_frame_rate).toBe('12/1');
    expect(sDef?.r_frame_rate).toBe('25/1');
    // Without it, ffmpeg's default rate is said; with it, nothing.
    expect(rDefault.summary.notes.join('\n')).toMatch(/image sequence played at 25 fps, ffmpeg's default \(--framerate sets it\)/);
    expect(r12.summary.notes.join('\n')).not.toMatch(/image sequence/);
    expect(r12.motion.fps).toBe(12);
    expect(r12.motion.frames[FRAMES - 1]?.timeSec).toBeCloseTo((FRAMES - 1) / 12, 9);
    expect(await countFrames(r12.out)).toBe(FRAMES);
    // The frames are the same: registration finds the same motion as on the video.
    expect(motionError(r12.motion, clip.motion)).toBeLessThanOrEqual(TOL_MOTION_PX);
  });

  it.concurrent('--start and --duration trim as ffmpeg -ss / -t: the frames and their motion are the true ones of that span', async () => {
    // The second written as ffmpeg's MM:SS.fff, as a user may copy it from a player.
    const [start, duration] = await Promise.all([stabilize('start-0.5', ['--start', '00:00.5']), stabilize('duration-0.5', ['--duration', '0.5'])]);
    expect(start.motion.frames.length).toBe(15);
    expect(duration.motion.frames.length).toBe(15);
    expect(start.motion.frames[0]?.timeSec).toBe(0);
    expect(motionError(start.motion, clip.motion, 15)).toBeLessThanOrEqual(TOL_MOTION_PX);
    expect(motionError(duration.motion, clip.motion, 0)).toBeLessThanOrEqual(TOL_MOTION_PX);
    expect(await countFrames(start.out)).toBe(15);
    expect(await countFrames(duration.out)).toBe(15);
  });

  it.concurrent('--transforms with a name that is neither .json nor .csv writes JSON and says so', async () => {
    const txt = join(dir, 'transforms.txt');
    const r = await runCli(['stabilize', clip.path, '-o', join(dir, 'transforms-txt.mp4'), '--transforms', txt, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).notes.join('\n')).toMatch(/motion file ".*transforms\.txt" written as JSON \(a \.csv name gives CSV\)/);
    expect(parseMotionFile(await readFile(txt, 'utf8')).frames.length).toBe(FRAMES);
    expect((await readFile(txt, 'utf8')).trimStart().startsWith('{')).toBe(true);
  });

  it.concurrent('--transforms writes the same motion as JSON and as CSV', async () => {
    const json = await stabilize('default', []);
    const csvPath = join(dir, 'transforms.csv');
    const r = await runCli(['stabilize', clip.path, '-o', join(dir, 'transforms-csv.mp4'), '--transforms', csvPath, '--quiet']);
    expect(r.code).toBe(0);
    const text = await readFile(csvPath, 'utf8');
    expect(text.split('\n')[0]).toContain('motion_m00,motion_m01,motion_m02');
    expect(text.split('\n')[0]).toContain('correction_m22');
    const csv = parseMotionFile(text);
    expect(csv.frames.length).toBe(FRAMES);
    for (let k = 0; k < FRAMES; k++) {
      const a = json.motion.frames[k] as MotionRecord;
      const b = csv.frames[k] as MotionRecord;
      expect(meanCornerDistance(a.motion, b.motion)).toBeLessThanOrEqual(TOL_EXACT);
      expect(meanCornerDistance(a.correction as Mat3, b.correction as Mat3)).toBeLessThanOrEqual(TOL_EXACT);
      expect(Math.abs((a.zoom as number) - (b.zoom as number))).toBeLessThanOrEqual(TOL_EXACT);
    }
    // The motion file's header is the input's.
    expect([json.motion.width, json.motion.height, json.motion.fps]).toEqual([W, H, FPS]);
  });

  it.concurrent('--transforms-in uses the given motion instead of registering', async () => {
    const write = async (name: string, motions: readonly Mat3[]) => {
      const enc = new MotionFileEncoder({ width: W, height: H, fps: FPS }, 'json');
      const ident = Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);
      let text = enc.begin();
      motions.forEach((m, k) => {
        text += enc.encodeFrame({ index: k, timeSec: k / FPS, ok: true, cc: Number.NaN, motion: m, fromReference: ident, referenceIndex: 0 });
      });
      await writeFile(join(dir, name), text + enc.end());
      return join(dir, name);
    };
    const truthFile = await write('truth-in.json', clip.motion);
    const stillFile = await write('still-in.json', clip.motion.map(() => Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1)));
    const [fromTruth, fromStill] = await Promise.all([stabilize('tin-truth', ['--transforms-in', truthFile]), stabilize('tin-still', ['--transforms-in', stillFile, '--model', 'affine'])]);
    // A registration option given with a motion file is said not to be used (only the file's check uses it).
    expect(fromStill.summary.notes.join('\n')).toMatch(/--model not used to stabilize: the motion comes from ".*still-in\.json" \(it serves only its check of 8 frame pairs\)/);
    expect(fromTruth.summary.notes.join('\n')).not.toMatch(/not used to stabilize/);
    for (let k = 0; k < FRAMES; k++) {
      expect(meanCornerDistance(fromTruth.motion.frames[k]?.motion as Mat3, clip.motion[k] as Mat3)).toBeLessThanOrEqual(TOL_EXACT);
      // A clip said to be still needs no correction.
      expect(meanCornerDistance(fromStill.motion.frames[k]?.correction as Mat3, Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1))).toBeLessThanOrEqual(TOL_EXACT);
    }
    expect(fromTruth.motion.frames.every((f) => Number.isNaN(f.cc))).toBe(true);
    expect(fromTruth.summary.failedFrames).toBe(0);
  });

  it.concurrent('--transforms-in counts the frames its file says failed in the summary, and keeps them marked', async () => {
    const failed = new Set([3, 7, 11]);
    const enc = new MotionFileEncoder({ width: W, height: H, fps: FPS }, 'json');
    const ident = Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);
    let text = enc.begin();
    clip.motion.forEach((m, k) => {
      text += enc.encodeFrame({ index: k, timeSec: k / FPS, ok: !failed.has(k), cc: Number.NaN, motion: m, fromReference: ident, referenceIndex: 0 });
    });
    const file = join(dir, 'failed-in.json');
    await writeFile(file, text + enc.end());
    const r = await stabilize('tin-failed', ['--transforms-in', file]);
    expect(r.summary.failedFrames).toBe(failed.size);
    expect(r.motion.frames.filter((f) => !f.ok).map((f) => f.index)).toEqual([...failed]);
  });

  it.concurrent('--compare writes input | output side by side (lossless: exact planes)', async () => {
    const side = join(dir, 'side.mkv');
    const r = await stabilize('compare', ['--codec', 'ffv1', '--compare', side], { ext: '.mkv' });
    const [s, o] = await Promise.all([readYuvFrames(side), readYuvFrames(r.out)]);
    expect([s.width, s.height, s.frames.length]).toEqual([2 * W, H, FRAMES]);
    let mismatches = 0;
    for (let k = 0; k < FRAMES; k++) {
      const sy = s.frames[k]?.y as Uint8Array;
      for (let y = 0; y < H; y++) {
        for (let x = 0; x < W; x++) {
          if (sy[y * 2 * W + x] !== input.frames[k]?.y[y * W + x]) mismatches++;
          if (sy[y * 2 * W + W + x] !== o.frames[k]?.y[y * W + x]) mismatches++;
        }
      }
    }
    expect(mismatches).toBe(0);
  });

  it.concurrent('--compare on an odd width: each half padded to an even width by repeating its last column (lossless)', async () => {
    const ow = 161;
    const oh = 91;
    const odd = await makeShakyClip(join(dir, 'odd.mkv'), { seed: 161, width: ow, height: oh, frames: 10, fps: FPS });
    const side = join(dir, 'side-odd.mkv');
    const r = await stabilize('compare-odd', ['--codec', 'ffv1', '--compare', side], { source: odd.path, ext: '.mkv' });
    const [s, i, o] = await Promise.all([readYuvFrames(side), readYuvFrames(odd.path), readYuvFrames(r.out)]);
    expect([i.width, i.height]).toEqual([ow, oh]);
    expect([s.width, s.height, s.frames.length]).toEqual([2 * (ow + 1), oh, 10]);
    let mismatches = 0;
    for (let k = 0; k < 10; k++) {
      const sy = s.frames[k]?.y as Uint8Array;
      const iy = i.frames[k]?.y as Uint8Array;
      const oy = o.frames[k]?.y as Uint8Array;
      for (let y = 0; y < oh; y++) {
        for (let x = 0; x <= ow; x++) {
          const sx = Math.min(x, ow - 1);
          if (sy[y * s.width + x] !== iy[y * ow + sx]) mismatches++;
          if (sy[y * s.width + ow + 1 + x] !== oy[y * ow + sx]) mismatches++;
        }
      }
    }
    expect(mismatches).toBe(0);
  });

  it.concurrent('--quiet prints nothing; --json prints one JSON line; the default prints one summary line', async () => {
    const [q, j, d] = await Promise.all([
      runCli(['stabilize', clip.path, '-o', join(dir, 'quiet.mp4'), '--quiet']),
      runCli(['stabilize', clip.path, '-o', join(dir, 'json.mp4'), '--json']),
      runCli(['stabilize', clip.path, '-o', join(dir, 'plain.mp4')]),
    ]);
    expect([q.code, j.code, d.code]).toEqual([0, 0, 0]);
    expect(q.stdout + q.stderr).toBe('');
    expect(j.stderr).toBe('');
    expect(j.stdout.endsWith('\n') && j.stdout.trim().split('\n').length === 1).toBe(true);
    const s = JSON.parse(j.stdout);
    expect(s).toMatchObject({ frames: FRAMES, failedFrames: 0, output: join(dir, 'json.mp4') });
    for (const key of ['fps', 'zoom', 'zoomMax', 'seconds']) expect(typeof s[key]).toBe('number');
    expect(s.zoom).toBeGreaterThanOrEqual(1);
    expect(s.zoomMax).toBeGreaterThanOrEqual(s.zoom);
    expect(d.stderr).toBe('');
    expect(d.stdout).toMatch(new RegExp(`^stabilized ${FRAMES} frames in [0-9.]+ s \\([0-9.]+ fps\\), 0 failed frames, zoom [^\\n]*: ${join(dir, 'plain.mp4').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\n$`));
  });

  it.concurrent('--overwrite replaces an existing output; without it the file is refused and left as it was', async () => {
    const out = join(dir, 'existing.mp4');
    await writeFile(out, 'not a video');
    const refused = await runCli(['stabilize', clip.path, '-o', out]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/^steady: E_OUTPUT_EXISTS: [^\n]*--overwrite[^\n]*\n$/);
    expect(await readFile(out, 'utf8')).toBe('not a video');
    const replaced = await runCli(['stabilize', clip.path, '-o', out, '--overwrite', '--quiet']);
    expect(replaced.code).toBe(0);
    expect(await countFrames(out)).toBe(FRAMES);
  });

  it.concurrent("-o - writes Matroska to standard output and the summary to standard error", async () => {
    const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: Buffer; stderr: string }>((resolve, reject) => {
      const child = spawn(process.execPath, [CLI, 'stabilize', clip.path, '-o', '-', '--json'], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      const chunks: Buffer[] = [];
      let err = '';
      child.stdout.on('data', (d: Buffer) => chunks.push(d));
      child.stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
      child.on('error', reject);
      child.on('close', (c) => resolve({ code: c, stdout: Buffer.concat(chunks), stderr: err }));
    });
    expect(code).toBe(0);
    expect([...stdout.subarray(0, 4)]).toEqual([0x1a, 0x45, 0xdf, 0xa3]);
    expect(JSON.parse(stderr.trim()).frames).toBe(FRAMES);
    const file = join(dir, 'from-stdout.mkv');
    await writeFile(file, stdout);
    expect(await countFrames(file)).toBe(FRAMES);
    expect((await readdir(dir)).some((n) => n.startsWith('.-'))).toBe(false);
  });
});
