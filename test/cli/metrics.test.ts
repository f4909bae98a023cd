import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createGrayImage } from '../../src/image/gray-image.js';
import { type Mat3, multiplyInto } from '../../src/motion/mat3.js';
import { lowFrequencyEnergyRatio } from '../../src/metrics/video-metrics.js';
import { runCli } from '../support/cli.js';
import { encodeGrayClip, ffmpegCandidates, renderInto, similarityAbout, smoothTexture, toBytes } from '../support/track-fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'steady-metrics-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const ffmpeg = (ffmpegCandidates()[0] as { path: string }).path;

const W = 192;
const H = 144;
const N = 40;
const texture = smoothTexture(W + 120, H + 120, 9001);
const cx = (W - 1) / 2;
const cy = (H - 1) / 2;

/** Frame k sees the texture through V_k (frame px -> texture px). */
function clip(name: string, V: (k: number) => Mat3, n = N, w = W, h = H): string {
  const path = join(dir, name);
  const frames = Array.from({ length: n }, (_, k) => toBytes(renderInto(createGrayImage(w, h), texture, V(k))));
  encodeGrayClip(ffmpeg, frames, w, h, path);
  return path;
}

/** The camera's x path (content displacement of the centre, px): a slow and a fast sine. */
const pathX = (k: number) => 3 * Math.sin((2 * Math.PI * 2 * k) / N) + Math.sin((2 * Math.PI * 15 * k) / N);
/** Content at frame k is shifted by pathX(k): frame px p sees texture at p - pathX(k). */
const shaky = (k: number) => similarityAbout(1, 0, 60 - pathX(k), 60, cx, cy);
/** The output of a 1.25 zoom about the centre: output px p sees input px c + (p - c) / 1.25. */
const zoomed = (zoomX: number, zoomY: number) => (k: number) => multiplyInto(new Float64Array(9), shaky(k), Float64Array.of(1 / zoomX, 0, cx - cx / zoomX, 0, 1 / zoomY, cy - cy / zoomY, 0, 0, 1));

const TOL_STABILITY = 0.005;
const TOL_RATIO = 0.001;

interface Report {
  itf: number;
  stability: number;
  stabilityXYAngle: { x: number; y: number; angle: number };
  cropping: number | null;
  distortion: number | null;
  frames: number;
  failedRegistrations: number;
}

async function metrics(args: string[]): Promise<{ code: number | null; report: Report; stdout: string; stderr: string }> {
  const r = await runCli(['metrics', ...args, '--json']);
  const lines = r.stdout.trim().split('\n');
  return { code: r.code, report: (r.code === 0 ? JSON.parse(lines[0] as string) : null) as Report, stdout: r.stdout, stderr: r.stderr };
}

describe('steady metrics', () => {
  it('gives ITF 100 and stability 1 for a static clip; cropping and distortion are null without --original', async () => {
    const still = clip('still.mkv', () => similarityAbout(1, 0, 60, 60, cx, cy), 12);
    const { code, report, stdout } = await metrics([still]);
    expect(code).toBe(0);
    expect(stdout.trim().split('\n').length).toBe(1);
    expect(report.frames).toBe(12);
    expect(report.itf).toBe(100);
    expect(report.stability).toBe(1);
    expect(report.cropping).toBeNull();
    expect(report.distortion).toBeNull();
  });

  it('measures the stability of a known camera path (x: energy 9 slow to 1 fast)', async () => {
    const { code, report } = await metrics([clip('shaky.mkv', shaky)]);
    expect(code).toBe(0);
    // Ground truth from the path itself: bins 2 and 15 with amplitudes 3 and 1.
    const expected = lowFrequencyEnergyRatio(Array.from({ length: N }, (_, k) => pathX(k)));
    expect(expected).toBeCloseTo(0.9, 9);
    console.log(`stability x: measured ${report.stabilityXYAngle.x}, truth ${expected.toFixed(6)}`);
    expect(Math.abs(report.stabilityXYAngle.x - expected)).toBeLessThan(TOL_STABILITY);
    expect(report.stabilityXYAngle.y).toBe(1);
    expect(report.stabilityXYAngle.angle).toBe(1);
    expect(Math.abs(report.stability - expected)).toBeLessThan(TOL_STABILITY);
    expect(report.itf).toBeLessThan(100);
  });

  it('gives cropping 0.8 for a 1.25 zoom and distortion 1/1.2 for a 1.2 stretch in x', async () => {
    const original = clip('orig.mkv', shaky);
    const z = await metrics([clip('zoom.mkv', zoomed(1.25, 1.25)), '--original', original]);
    expect(z.code).toBe(0);
    expect(Math.abs((z.report.cropping as number) - 0.8)).toBeLessThan(TOL_RATIO);
    expect(Math.abs((z.report.distortion as number) - 1)).toBeLessThan(TOL_RATIO);
    const s = await metrics([clip('stretch.mkv', zoomed(1.2, 1)), '--original', original]);
    expect(s.code).toBe(0);
    expect(Math.abs((s.report.distortion as number) - 1 / 1.2)).toBeLessThan(TOL_RATIO);
    expect(Math.abs((s.report.cropping as number) - 1 / Math.sqrt(1.2))).toBeLessThan(TOL_RATIO);
    console.log(`zoom 1.25: cropping ${z.report.cropping}, distortion ${z.report.distortion}; stretch 1.2: cropping ${s.report.cropping} (truth ${(1 / Math.sqrt(1.2)).toFixed(6)}), distortion ${s.report.distortion} (truth ${(1 / 1.2).toFixed(6)})`);
  });

  it('prints a readable report and writes an SVG plot of the camera path', async () => {
    const original = join(dir, 'orig.mkv');
    const plot = join(dir, 'plot.svg');
    const r = await runCli(['metrics', join(dir, 'zoom.mkv'), '--original', original, '--plot', plot]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/itf\s+[\d.]+ dB/);
    expect(r.stdout).toMatch(/cropping\s+0\.8/);
    const svg = readFileSync(plot, 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    for (const t of ['camera path x', 'camera angle', 'registration correlation', 'input (orig.mkv)', 'output (zoom.mkv)']) expect(svg).toContain(t);
  });

  it('refuses a one-frame clip, a reference of another size or length, and a plot that is not .svg', async () => {
    const one = clip('one.mkv', shaky, 1);
    const r1 = await runCli(['metrics', one]);
    expect(r1.code).toBe(2);
    expect(r1.stderr).toMatch(/^steady: E_TOO_FEW_FRAMES: .*has 1 frame; steady metrics needs at least 2/);
    expect(r1.stderr.trim().split('\n').length).toBe(1);
    const small = clip('small.mkv', shaky, N, 160, 120);
    const r2 = await runCli(['metrics', join(dir, 'shaky.mkv'), '--original', small]);
    expect(r2.code).toBe(2);
    expect(r2.stderr).toMatch(/^steady: E_ORIGINAL_MISMATCH: .*is 160x120 but .* is 192x144/);
    const short = clip('short.mkv', shaky, N - 5);
    const r3 = await runCli(['metrics', join(dir, 'shaky.mkv'), '--original', short]);
    expect(r3.code).toBe(2);
    expect(r3.stderr).toMatch(/^steady: E_ORIGINAL_MISMATCH: .*has more frames than .*short.mkv" \(which ends after 35\)/);
    const r4 = await runCli(['metrics', join(dir, 'shaky.mkv'), '--plot', join(dir, 'p.png')]);
    expect(r4.code).toBe(2);
    expect(r4.stderr).toMatch(/^steady: E_BAD_OPTION: Expected a file name ending in \.svg/);
    expect(existsSync(join(dir, 'p.png'))).toBe(false);
    const r5 = await runCli(['metrics', join(dir, 'missing.mp4')]);
    expect(r5.code).toBe(2);
    expect(r5.stderr).toMatch(/^steady: E_INPUT_NOT_FOUND/);
  });
});
