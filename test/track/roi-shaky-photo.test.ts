/**
 * Region tracking on a shaky clip made from a still photo (the Oxford "boat" image): the camera's
 * motion is known, so the region's true corners in every frame are too. The clip goes through H.264
 * (crf 18) and steady's decoder, as a real clip would.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createGrayImage, type GrayImage, grayFromBytesInto } from '../../src/image/gray-image.js';
import { invertInto, type Mat3, multiplyInto } from '../../src/motion/mat3.js';
import { createRoiTracker, mapCorners, roiCorners } from '../../src/track/roi-tracker.js';
import { openDecoder } from '../../src/video/decoder.js';
import { readImage } from '../../src/video/image-io.js';
import { encodeGrayClip, ffmpegCandidates, realPath, renderInto, similarityAbout, toBytes } from '../support/track-fixtures.js';
import { createRng, gaussian } from '../support/track-rng.js';

/** Targets of the issue (OpenCV's homography ECC from the first frame: 0.01 / 0.02 px). */
const MAX_MEDIAN_PX = 0.1;
const MAX_P95_PX = 0.5;

function percentile(values: number[], q: number): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.ceil(q * s.length) - 1)] as number;
}

describe('region tracking on a shaky clip made from a still photo', () => {
  const dir = mkdtempSync(join(tmpdir(), 'steady-roi-photo-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('[real] keeps the region corners within 0.1 px median and 0.5 px p95 of the truth', async () => {
    const photoPath = realPath('data/real/pairs/oxford_boat/img1.pgm');
    if (photoPath === null) return;
    const photo = await readImage(photoPath); // 850x680
    const W = 640;
    const H = 480;
    const N = 90;
    const rng = createRng(4242);
    // Camera: frame k sees the photo through V_k (frame px -> photo px): a slow pan plus AR(1) jitter of
    // about 3 px and 0.5 degrees, about the frame centre.
    const V: Mat3[] = [];
    let jx = 0;
    let jy = 0;
    let ja = 0;
    for (let k = 0; k < N; k++) {
      jx = 0.7 * jx + 2.1 * gaussian(rng);
      jy = 0.7 * jy + 2.1 * gaussian(rng);
      ja = 0.7 * ja + 0.006 * gaussian(rng);
      const pan = (40 * k) / N;
      V.push(similarityAbout(1, ja, 105 - 20 + pan + jx, 100 + jy, (W - 1) / 2, (H - 1) / 2));
    }
    const frames = V.map((v) => toBytes(renderInto(createGrayImage(W, H), photo, v)));
    const ffmpeg = (ffmpegCandidates()[0] as { path: string }).path;
    const clip = join(dir, 'shaky-photo.mp4');
    encodeGrayClip(ffmpeg, frames, W, H, clip, 30, ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-pix_fmt', 'yuv420p']);

    // F_k maps frame 0 to frame k: V_k^-1 V_0; the camera's motion m_k = F_k F_{k-1}^-1.
    const F = V.map((v) => multiplyInto(new Float64Array(9), invertInto(new Float64Array(9), v) as Mat3, V[0] as Mat3));
    const roi = { x: 272, y: 192, width: 96, height: 96 };
    const corners0 = roiCorners(roi);
    const tracker = createRoiTracker(W, H, roi);
    const decoder = await openDecoder(clip);
    const image: GrayImage = createGrayImage(W, H);
    const errors: number[] = [];
    let lost = 0;
    for await (const f of decoder) {
      grayFromBytesInto(image, f.y);
      const k = f.index;
      const r =
        k === 0
          ? tracker.start(image)
          : tracker.track(image, multiplyInto(new Float64Array(9), F[k] as Mat3, invertInto(new Float64Array(9), F[k - 1] as Mat3) as Mat3));
      if (k === 0) continue;
      if (r.corners === null) {
        lost++;
        continue;
      }
      const truth = mapCorners(F[k] as Mat3, corners0);
      let e = 0;
      for (let i = 0; i < 4; i++) e += Math.hypot((r.corners[i] as readonly number[])[0] as number - ((truth[i] as readonly number[])[0] as number), ((r.corners[i] as readonly number[])[1] as number) - ((truth[i] as readonly number[])[1] as number));
      errors.push(e / 4);
    }
    const median = percentile(errors, 0.5);
    const p95 = percentile(errors, 0.95);
    console.log(`shaky photo clip: ${errors.length} frames tracked, ${lost} lost; corner error median ${median.toFixed(4)} px, p95 ${p95.toFixed(4)} px, max ${Math.max(...errors).toFixed(4)} px`);
    expect(lost).toBe(0);
    expect(errors.length).toBe(N - 1);
    expect(median).toBeLessThanOrEqual(MAX_MEDIAN_PX);
    expect(p95).toBeLessThanOrEqual(MAX_P95_PX);
  });
});
