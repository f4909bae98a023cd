import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createGrayImage } from '../../src/image/gray-image.js';
import { invertInto, type Mat3, multiplyInto } from '../../src/motion/mat3.js';
import { formatGlobalMotionsTrf, parseGlobalMotionsTrf, type VidstabTransform, vidstabCentre, vidstabTransformInto } from '../../src/track/trf.js';
import { createRng, gaussian, uniform } from '../support/track-rng.js';
import { decodeGrayClip, encodeGrayClip, ffmpegCandidates, hasFilter, renderInto, runFfmpeg, similarityAbout, smoothTexture, toBytes } from '../support/track-fixtures.js';

const TOL_PX = 1e-9;
/** The trf text keeps 6 decimals. */
const TOL_TEXT = 5e-7;

/** vid.stab's warp, as its transformPlanar computes it: the source point read for output point p. */
function vidstabSourcePoint(t: VidstabTransform, w: number, h: number, x: number, y: number): [number, number] {
  const [cx, cy] = vidstabCentre(w, h);
  const z = 1 - t.zoom / 100;
  const c = z * Math.cos(t.alpha);
  const s = z * Math.sin(t.alpha);
  return [c * (x - cx) - s * (y - cy) + cx - t.x, s * (x - cx) + c * (y - cy) + cy - t.y];
}

describe('vid.stab global motions export', () => {
  it("makes vid.stab's warp of one step equal to the motion itself (seeded property test)", () => {
    const rng = createRng(21);
    const t: VidstabTransform = { x: 0, y: 0, alpha: 0, zoom: 0 };
    for (const [w, h] of [
      [640, 360],
      [481, 271],
    ] as const) {
      for (let trial = 0; trial < 20; trial++) {
        const m = similarityAbout(uniform(rng, 0.95, 1.05), uniform(rng, -0.05, 0.05), uniform(rng, -10, 10), uniform(rng, -10, 10), uniform(rng, 0, w), uniform(rng, 0, h));
        vidstabTransformInto(t, m, w, h);
        for (let p = 0; p < 5; p++) {
          const x = uniform(rng, 0, w);
          const y = uniform(rng, 0, h);
          const [sx, sy] = vidstabSourcePoint(t, w, h, x, y);
          expect(Math.abs(sx - ((m[0] as number) * x + (m[1] as number) * y + (m[2] as number)))).toBeLessThan(TOL_PX);
          expect(Math.abs(sy - ((m[3] as number) * x + (m[4] as number) * y + (m[5] as number)))).toBeLessThan(TOL_PX);
        }
      }
    }
  });

  it('gives the camera step: content moving right by 2 px is x = -2, a rotation is alpha, a zoom is 100 (1 - s)', () => {
    const t: VidstabTransform = { x: 0, y: 0, alpha: 0, zoom: 0 };
    vidstabTransformInto(t, Float64Array.of(1, 0, 2, 0, 1, -1, 0, 0, 1), 100, 80);
    expect(t).toEqual({ x: -2, y: 1, alpha: 0, zoom: 0 });
    vidstabTransformInto(t, similarityAbout(1.02, 0.01, 0, 0, 50, 40), 100, 80);
    expect(Math.abs(t.x)).toBeLessThan(TOL_PX);
    expect(Math.abs(t.alpha - 0.01)).toBeLessThan(TOL_PX);
    expect(Math.abs(t.zoom - -2)).toBeLessThan(1e-9);
  });

  it('writes one data line per frame that reads back (comments skipped)', () => {
    const rng = createRng(4);
    const frames = Array.from({ length: 12 }, (_, k) => ({
      motion: k === 0 ? Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1) : similarityAbout(1, uniform(rng, -0.02, 0.02), uniform(rng, -5, 5), uniform(rng, -5, 5), 320, 180),
    }));
    const text = formatGlobalMotionsTrf(frames, { width: 640, height: 360 });
    expect(text.startsWith('#')).toBe(true);
    const back = parseGlobalMotionsTrf(text);
    expect(back.length).toBe(12);
    expect(back[0]).toEqual({ x: 0, y: 0, alpha: 0, zoom: 0 });
    const t: VidstabTransform = { x: 0, y: 0, alpha: 0, zoom: 0 };
    frames.forEach((f, k) => {
      vidstabTransformInto(t, f.motion, 640, 360);
      const b = back[k] as VidstabTransform;
      expect(Math.abs(b.x - t.x)).toBeLessThan(TOL_TEXT);
      expect(Math.abs(b.y - t.y)).toBeLessThan(TOL_TEXT);
      expect(Math.abs(b.alpha - t.alpha)).toBeLessThan(TOL_TEXT);
      expect(Math.abs(b.zoom - t.zoom)).toBeLessThan(TOL_TEXT);
    });
    expect(() => parseGlobalMotionsTrf('0 1 2\n')).toThrow(/line 1/);
  });
});

describe('vid.stab global motions with a real ffmpeg', () => {
  const dir = mkdtempSync(join(tmpdir(), 'steady-trf-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  // A shaky clip with known motion: frame k shows the scene through F_k (frame 0 -> frame k coordinates),
  // a random walk of small rotations and shifts about the centre.
  const W = 192;
  const H = 144;
  const N = 24;
  const texture = smoothTexture(W + 80, H + 80, 77);
  const rng = createRng(78);
  const toTexture = Float64Array.of(1, 0, 40, 0, 1, 40, 0, 0, 1); // frame-0 pixel -> texture pixel
  const F: Mat3[] = [Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1)];
  const motions: Mat3[] = [Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1)];
  for (let k = 1; k < N; k++) {
    const m = similarityAbout(1, 0.006 * gaussian(rng), 2.5 * gaussian(rng), 2.5 * gaussian(rng), (W - 1) / 2, (H - 1) / 2);
    motions.push(m);
    F.push(multiplyInto(new Float64Array(9), m, F[k - 1] as Mat3));
  }
  const frames = F.map((f) => {
    const inv = invertInto(new Float64Array(9), f) as Mat3;
    const img = createGrayImage(W, H);
    return toBytes(renderInto(img, texture, multiplyInto(new Float64Array(9), toTexture, inv)));
  });
  const clipFrames = motions.map((m) => ({ motion: m }));

  /** Mean |a - b| over the centre half of the frame. */
  const centreDiff = (a: Uint8Array, b: Uint8Array): number => {
    let s = 0;
    let n = 0;
    for (let y = H / 4; y < (3 * H) / 4; y++) {
      for (let x = W / 4; x < (3 * W) / 4; x++) {
        s += Math.abs((a[y * W + x] as number) - (b[y * W + x] as number));
        n++;
      }
    }
    return s / n;
  };
  /** Mean over frames 1.. of the centre difference to frame 0. */
  const meanDiffToFirst = (fs: readonly Uint8Array[]): number => {
    let s = 0;
    for (let k = 1; k < fs.length; k++) s += centreDiff(fs[k] as Uint8Array, fs[0] as Uint8Array);
    return s / (fs.length - 1);
  };
  /** The stabilized frames must match frame 0 this much better than the shaky ones do. */
  const MAX_RESIDUAL_SHARE = 0.1;

  for (const { name, path: ffmpeg } of ffmpegCandidates()) {
    it(`vidstabtransform (${name}) reads the exported file and locks the clip to its first frame`, () => {
      expect(hasFilter(ffmpeg, 'vidstabtransform')).toBe(true);
      const clip = join(dir, `shaky-${name.replace(/\W/g, '')}.mkv`);
      encodeGrayClip(ffmpeg, frames, W, H, clip);
      const trf = join(dir, `global_motions-${name.replace(/\W/g, '')}.trf`);
      writeFileSync(trf, formatGlobalMotionsTrf(clipFrames, { width: W, height: H }));
      // smoothing=0 keeps the whole summed motion as the correction: a tripod on frame 0.
      const out = join(dir, `out-${name.replace(/\W/g, '')}.mp4`);
      const filter = `vidstabtransform=input=${trf}:relative=1:smoothing=0:optzoom=0:zoom=0:crop=black:interpol=bicubic`;
      runFfmpeg(ffmpeg, ['-y', '-i', clip, '-vf', filter, '-c:v', 'libx264', '-crf', '0', '-pix_fmt', 'yuv420p', out]);
      const input = decodeGrayClip(ffmpeg, clip, W, H);
      const stabilized = decodeGrayClip(ffmpeg, out, W, H);
      expect(input.length).toBe(N);
      expect(stabilized.length).toBe(N);
      const before = meanDiffToFirst(input);
      const after = meanDiffToFirst(stabilized);
      console.log(`${name}: mean centre |frame k - frame 0| ${before.toFixed(2)} gray levels before, ${after.toFixed(2)} after vidstabtransform`);
      expect(after).toBeLessThan(MAX_RESIDUAL_SHARE * before);
      // The opposite sign (a wrong convention) makes it worse, not better.
      const flipped = join(dir, `flipped-${name.replace(/\W/g, '')}.trf`);
      writeFileSync(flipped, formatGlobalMotionsTrf(clipFrames.map((f) => ({ motion: invertInto(new Float64Array(9), f.motion) as Mat3 })), { width: W, height: H }));
      const wrong = decodeGrayClip(ffmpeg, clip, W, H, ['-vf', filter.replace(trf, flipped)]);
      expect(meanDiffToFirst(wrong)).toBeGreaterThan(before);
    });
  }
});
