import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createGrayImage } from '../../src/image/gray-image.js';
import { invertInto, type Mat3, multiplyInto, transformPointInto } from '../../src/motion/mat3.js';
import { type Corners, type MotionFile, parseMotionFile } from '../../src/track/motion-file.js';
import { parseGlobalMotionsTrf } from '../../src/track/trf.js';
import { runCli } from '../support/cli.js';
import { decodeGrayClip, encodeGrayClip, ffmpegCandidates, renderInto, runFfmpeg, similarityAbout, smoothTexture, toBytes } from '../support/track-fixtures.js';
import { createRng, gaussian } from '../support/track-rng.js';

const dir = mkdtempSync(join(tmpdir(), 'steady-track-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ffmpeg = (ffmpegCandidates()[0] as { path: string }).path;

const W = 192;
const H = 144;
const N = 24;
const FPS = 25;
const texture = smoothTexture(W + 120, H + 120, 4711);
const rng = createRng(4712);
// Frame k sees the texture through V_k (frame px -> texture px): a pan with shake.
const V: Mat3[] = Array.from({ length: N }, (_, k) => similarityAbout(1 + 0.004 * Math.sin(k / 4), 0.008 * gaussian(rng), 60 + k + 1.5 * gaussian(rng), 60 + 1.5 * gaussian(rng), W / 2, H / 2));
const F = V.map((v) => multiplyInto(new Float64Array(9), invertInto(new Float64Array(9), v) as Mat3, V[0] as Mat3)); // frame 0 -> frame k
const motionTruth = V.map((v, k) => (k === 0 ? Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1) : multiplyInto(new Float64Array(9), invertInto(new Float64Array(9), v) as Mat3, V[k - 1] as Mat3)));
const clip = join(dir, 'shaky.mkv');
encodeGrayClip(ffmpeg, V.map((v) => toBytes(renderInto(createGrayImage(W, H), texture, v))), W, H, clip, FPS);

/** Mean distance of the frame corners mapped by a and by b, px. */
function cornerError(a: Mat3, b: Mat3): number {
  const p = [0, 0];
  const q = [0, 0];
  let s = 0;
  for (const [x, y] of [
    [0, 0],
    [W - 1, 0],
    [W - 1, H - 1],
    [0, H - 1],
  ] as const) {
    transformPointInto(p, a, x, y);
    transformPointInto(q, b, x, y);
    s += Math.hypot((p[0] as number) - (q[0] as number), (p[1] as number) - (q[1] as number));
  }
  return s / 4;
}

/** Recovered frame-to-frame motion against the truth, mean corner error. */
const TOL_MOTION_PX = 0.05;
/** Region corners against the truth, px. */
const TOL_ROI_PX = 0.1;

function freshDir(name: string): string {
  const d = join(dir, name);
  mkdirSync(d);
  return d;
}

describe('steady track', () => {
  let jsonFile: MotionFile;

  it('writes the motion file: per-frame motion within 0.05 px of the truth, time and references', async () => {
    const out = join(dir, 'motion.json');
    const r = await runCli(['track', clip, '-o', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^steady track: tracked 24 frames .* 0 failed; wrote /);
    jsonFile = parseMotionFile(readFileSync(out, 'utf8'), out);
    expect([jsonFile.width, jsonFile.height, jsonFile.fps]).toEqual([W, H, FPS]);
    expect(jsonFile.frames.length).toBe(N);
    let worst = 0;
    jsonFile.frames.forEach((f, k) => {
      expect(f.index).toBe(k);
      expect(f.timeSec).toBeCloseTo(k / FPS, 9);
      expect(f.ok).toBe(true);
      expect(f.referenceIndex).toBe(Math.max(0, k - 1));
      worst = Math.max(worst, cornerError(f.motion, motionTruth[k] as Mat3));
    });
    console.log(`steady track: worst motion corner error ${worst.toFixed(4)} px over ${N} frames`);
    expect(worst).toBeLessThan(TOL_MOTION_PX);
  });

  it('writes the same numbers as CSV, and JSON on stdout without -o', async () => {
    const csv = join(dir, 'motion.csv');
    const r = await runCli(['track', clip, '-o', csv, '--quiet']);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(readFileSync(csv, 'utf8').split('\n')[0]).toMatch(/^index,time,ok,cc,motion_m00,/);
    const fromCsv = parseMotionFile(readFileSync(csv, 'utf8'), csv);
    const s = await runCli(['track', clip]);
    expect(s.code).toBe(0);
    const fromStdout = parseMotionFile(s.stdout, 'stdout');
    for (const other of [fromCsv, fromStdout]) {
      expect(other.frames.length).toBe(N);
      other.frames.forEach((f, k) => {
        expect(Array.from(f.motion)).toEqual(Array.from(jsonFile.frames[k]?.motion as Mat3));
      });
    }
  });

  it('tracks a region chosen in frame 3 (before, then corners within 0.1 px), exports trf and draws the overlay', async () => {
    const out = join(dir, 'roi.json');
    const trf = join(dir, 'global_motions.trf');
    const overlay = join(dir, 'overlay.mp4');
    const roi = { x: 60, y: 40, w: 64, h: 48 };
    const r = await runCli(['track', clip, '-o', out, '--roi', `${roi.x},${roi.y},${roi.w},${roi.h}`, '--roi-frame', '3', '--trf', trf, '--overlay', overlay, '--vectors', '--json']);
    expect(r.code).toBe(0);
    const summary = JSON.parse(r.stdout.trim()) as { frames: number; roi: { tracked: number; lost: number; before: number } };
    expect(summary.frames).toBe(N);
    expect(summary.roi).toEqual({ tracked: N - 3, lost: 0, recovered: 0, before: 3 });
    const m = parseMotionFile(readFileSync(out, 'utf8'), out);
    const rect: Corners = [
      [roi.x, roi.y],
      [roi.x + roi.w, roi.y],
      [roi.x + roi.w, roi.y + roi.h],
      [roi.x, roi.y + roi.h],
    ];
    for (let k = 0; k < 3; k++) {
      expect(m.frames[k]?.roiStatus).toBe('before');
      expect(m.frames[k]?.roi).toBeNull();
    }
    expect(m.frames[3]?.roi).toEqual(rect);
    let worst = 0;
    const p = [0, 0];
    for (let k = 4; k < N; k++) {
      expect(m.frames[k]?.roiStatus).toBe('tracked');
      const fromChosen = multiplyInto(new Float64Array(9), F[k] as Mat3, invertInto(new Float64Array(9), F[3] as Mat3) as Mat3);
      const got = m.frames[k]?.roi as Corners;
      for (let i = 0; i < 4; i++) {
        transformPointInto(p, fromChosen, (rect[i] as readonly number[])[0] as number, (rect[i] as readonly number[])[1] as number);
        worst = Math.max(worst, Math.hypot(((got[i] as readonly number[])[0] as number) - (p[0] as number), ((got[i] as readonly number[])[1] as number) - (p[1] as number)));
      }
    }
    console.log(`steady track --roi: worst corner error ${worst.toFixed(4)} px`);
    expect(worst).toBeLessThan(TOL_ROI_PX);
    // vid.stab file: one line per frame.
    expect(parseGlobalMotionsTrf(readFileSync(trf, 'utf8')).length).toBe(N);
    // Overlay: every frame, and the region's top edge drawn green in frame 3.
    expect(decodeGrayClip(ffmpeg, overlay, W, H).length).toBe(N);
    const rgb = runFfmpeg(ffmpeg, ['-i', overlay, '-vf', 'select=eq(n\\,3)', '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', 'pipe:1']);
    const i = (roi.y * W + roi.x + roi.w / 2) * 3;
    const [red, green, blue] = [rgb[i] as number, rgb[i + 1] as number, rgb[i + 2] as number];
    expect(green).toBeGreaterThan(red + 80);
    expect(green).toBeGreaterThan(blue + 80);
  });

  it('refuses a region outside the frame, too small, too flat or past the end: exit 2, one line, no output file', async () => {
    const flatClip = join(dir, 'half-flat.mkv');
    encodeGrayClip(
      ffmpeg,
      V.slice(0, 6).map((v) => {
        const img = renderInto(createGrayImage(W, H), texture, v);
        for (let y = 0; y < H; y++) for (let x = 0; x < W / 2; x++) img.data[y * W + x] = 120;
        return toBytes(img);
      }),
      W,
      H,
      flatClip,
      FPS,
    );
    const cases: [string[], string, RegExp][] = [
      [[clip, '--roi', '150,40,64,48'], 'E_BAD_ROI', /not wholly inside frame 0 \(192x144\)/],
      [[clip, '--roi', '10,10,12,40'], 'E_BAD_ROI', /at least 16x16 px/],
      [[clip, '--roi', '10,10,64'], 'E_BAD_ROI', /x,y,w,h/],
      [[flatClip, '--roi', '10,10,48,48'], 'E_ROI_FLAT', /too flat to track/],
      [[clip, '--roi', '10,10,48,48', '--roi-frame', '24'], 'E_BAD_ROI', /past the end/],
      [[clip, '--roi-frame', '2'], 'E_BAD_OPTION', /needs --roi/],
      [[clip, '--json'], 'E_BAD_OPTION', /needs a name/],
    ];
    let n = 0;
    for (const [args, code, pattern] of cases) {
      const d = freshDir(`bad-${n++}`);
      const r = await runCli(['track', ...args, ...(args.includes('--json') ? [] : ['-o', join(d, 'm.json')]), '--overlay', join(d, 'o.mp4'), '--trf', join(d, 't.trf')]);
      expect(r.stderr).toMatch(new RegExp(`^steady: ${code}: `));
      expect(r.code).toBe(2);
      expect(r.stderr.trim().split('\n').length).toBe(1);
      expect(r.stderr).toMatch(pattern);
      expect(readdirSync(d)).toEqual([]);
    }
  });

  it('refuses two outputs on one file (the motion file, the vid.stab file, the overlay video): exit 2, nothing written', async () => {
    const cases: [(d: string) => string[], RegExp][] = [
      [(d) => ['-o', join(d, 'x.json'), '--trf', join(d, 'x.json')], /--trf and -o name the same file/],
      [(d) => ['-o', join(d, 'm.json'), '--trf', join(d, 'x.mp4'), '--overlay', join(d, 'x.mp4')], /--trf and --overlay name the same file/],
      [(d) => ['-o', join(d, 'x.mp4'), '--overlay', join(d, 'x.mp4')], /--overlay and -o name the same file/],
    ];
    let n = 0;
    for (const [args, pattern] of cases) {
      const d = freshDir(`same-${n++}`);
      const r = await runCli(['track', clip, ...args(d)]);
      expect(r.stderr).toMatch(/^steady: E_BAD_OPTION: [^\n]+\n$/);
      expect(r.stderr).toMatch(pattern);
      expect(r.code).toBe(2);
      expect(readdirSync(d)).toEqual([]);
    }
  });
});
