import { describe, expect, it } from 'vitest';
import { PreviewEncoder, type PreviewPair, previewEncoderArgs, previewSize } from '../../src/server/preview-encoder.js';
import type { YuvFrame } from '../../src/stabilize/frame-types.js';
import { resolveFfmpeg } from '../../src/video/binaries.js';
import { slowAreaShrink } from '../support/area-shrink.js';
import { mulberry32 } from '../support/live-fake-source.js';
import { decodeJpegsToGray, jpegSize, meanAbsDiff } from '../support/live-jpeg.js';
import { previewEncoderPids } from '../support/live-processes.js';

/** JPEG at quality 2 of smooth 8-bit gradients with mild noise: about 1 grey level of mean error. */
const TOL_JPEG_MAE = 3;
/** Hang guard for waits (not a timing assertion). */
const WAIT_MS = 20_000;

const W = 64;
const H = 48;

/** A frame whose luma is a gradient with a per-frame offset and seeded noise; chroma flat. */
function makeFrame(index: number, seed: number, width = W, height = H): YuvFrame {
  const rng = mulberry32(seed);
  const y = new Uint8Array(width * height);
  for (let r = 0; r < height; r++) {
    for (let c = 0; c < width; c++) y[r * width + c] = 30 + ((c * 2 + r + index * 9) % 180) + Math.floor(rng() * 4);
  }
  const u = new Uint8Array((width / 2) * (height / 2)).fill(128);
  const v = new Uint8Array((width / 2) * (height / 2)).fill(128);
  return { index, timeSec: index / 30, width, height, y, u, v };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('preview size', () => {
  it('keeps small frames and scales wide ones to an even size with the same aspect ratio', () => {
    expect(previewSize(320, 240, 640)).toEqual({ width: 320, height: 240 });
    expect(previewSize(1280, 720, 640)).toEqual({ width: 640, height: 360 });
    expect(previewSize(1920, 1080, 640)).toEqual({ width: 640, height: 360 });
    expect(previewSize(1279, 719, 640)).toEqual({ width: 640, height: 360 });
    expect(previewSize(3840, 2160, 641)).toEqual({ width: 640, height: 360 });
    expect(previewSize(4000, 10, 640)).toEqual({ width: 640, height: 2 });
  });
});

describe('preview encoder (ffmpeg)', () => {
  it('returns JPEG pairs in submission order with their tags, showing the submitted frames', async () => {
    const pairs: PreviewPair<number>[] = [];
    const errors: Error[] = [];
    const enc = new PreviewEncoder<number>(
      { ffmpegPath: resolveFfmpeg().path, width: W, height: H, quality: 2, maxInFlight: 2 },
      (p) => pairs.push(p),
      (e) => errors.push(e),
    );
    const N = 8;
    const originals: YuvFrame[] = [];
    const stabilized: YuvFrame[] = [];
    for (let k = 0; k < N; k++) {
      originals.push(makeFrame(k, 100 + k));
      stabilized.push(makeFrame(k + 50, 200 + k));
    }
    let next = 0;
    while (next < N) {
      // A refused pair is re-offered later; the caller's planes are reused (overwritten) after each offer.
      const o = makeFrame(next, 100 + next);
      const s = makeFrame(next + 50, 200 + next);
      if (enc.trySubmit(o, s, next)) next++;
      o.y.fill(0);
      s.y.fill(255);
      await new Promise((r) => setTimeout(r, 1));
    }
    await until(() => pairs.length === N, 'all pairs');
    await enc.close();
    expect(errors).toEqual([]);
    expect(pairs.map((p) => p.tag)).toEqual(Array.from({ length: N }, (_, k) => k));
    for (const p of pairs) expect(jpegSize(p.original)).toEqual({ width: W, height: H });
    const lumas = await decodeJpegsToGray(
      pairs.flatMap((p) => [p.original, p.stabilized]),
      W,
      H,
    );
    for (let k = 0; k < N; k++) {
      expect(meanAbsDiff(lumas[2 * k] as Uint8Array, (originals[k] as YuvFrame).y)).toBeLessThan(TOL_JPEG_MAE);
      expect(meanAbsDiff(lumas[2 * k + 1] as Uint8Array, (stabilized[k] as YuvFrame).y)).toBeLessThan(TOL_JPEG_MAE);
    }
  });

  it('refuses a pair when maxInFlight pairs are inside, and stops ffmpeg on close', async () => {
    const pairs: PreviewPair<number>[] = [];
    const enc = new PreviewEncoder<number>(
      { ffmpegPath: resolveFfmpeg().path, width: W, height: H, maxInFlight: 3 },
      (p) => pairs.push(p),
      () => {},
    );
    const accepted = [0, 1, 2, 3, 4].map((k) => enc.trySubmit(makeFrame(k, k), makeFrame(k, k), k));
    expect(accepted).toEqual([true, true, true, false, false]);
    expect(enc.inFlight).toBe(3);
    await until(() => pairs.length === 3, 'three pairs');
    expect(enc.inFlight).toBe(0);
    expect(enc.trySubmit(makeFrame(5, 5), makeFrame(5, 5), 5)).toBe(true);
    const pid = enc.processId;
    expect(pid).not.toBeNull();
    expect(previewEncoderPids()).toContain(pid);
    await enc.close();
    expect(previewEncoderPids()).not.toContain(pid);
    expect(enc.trySubmit(makeFrame(6, 6), makeFrame(6, 6), 6)).toBe(false);
  });

  it('reports an ffmpeg that cannot start once, as E_PREVIEW_ENCODER', async () => {
    const errors: { code: string; message: string }[] = [];
    const enc = new PreviewEncoder<number>(
      { ffmpegPath: '/nonexistent/ffmpeg', width: W, height: H },
      () => {},
      (e) => errors.push({ code: e.code, message: e.message }),
    );
    await until(() => errors.length > 0, 'error');
    await enc.close();
    expect(errors.length).toBe(1);
    expect(errors[0]?.code).toBe('E_PREVIEW_ENCODER');
    expect(errors[0]?.message).toMatch(/^could not start ffmpeg \(preview encoder\) at "\/nonexistent\/ffmpeg": .*ENOENT/);
    expect(enc.trySubmit(makeFrame(0, 0), makeFrame(0, 0), 0)).toBe(false);
  });

  it('shrinks source-size frames to the preview size in-process (ffmpeg only encodes) and takes preview-size frames as they are', async () => {
    // Source 128x96, preview 64x48: the original comes at the source size, the stabilized at either size.
    const SW = 2 * W;
    const SH = 2 * H;
    const args = previewEncoderArgs({ width: W, height: H, quality: 2 });
    expect(args.join(' ')).not.toMatch(/scale=/);
    expect(args[args.indexOf('-s') + 1]).toBe(`${W}x${H}`);
    const pairs: PreviewPair<number>[] = [];
    const errors: Error[] = [];
    const enc = new PreviewEncoder<number>(
      { ffmpegPath: resolveFfmpeg().path, width: SW, height: SH, previewWidth: W, previewHeight: H, quality: 2, maxInFlight: 4 },
      (p) => pairs.push(p),
      (e) => errors.push(e),
    );
    const originals = [0, 1, 2].map((k) => makeFrame(k, 300 + k, SW, SH));
    const stabilized = [makeFrame(10, 400, SW, SH), makeFrame(11, 401), makeFrame(12, 402, SW, SH)];
    for (let k = 0; k < 3; k++) expect(enc.trySubmit(originals[k] as YuvFrame, stabilized[k] as YuvFrame, k)).toBe(true);
    await until(() => pairs.length === 3, 'three pairs');
    await enc.close();
    expect(errors).toEqual([]);
    for (const p of pairs) expect([jpegSize(p.original), jpegSize(p.stabilized)]).toEqual([{ width: W, height: H }, { width: W, height: H }]);
    const lumas = await decodeJpegsToGray(
      pairs.flatMap((p) => [p.original, p.stabilized]),
      W,
      H,
    );
    const expected = (f: YuvFrame) => (f.width === W ? f.y : slowAreaShrink(f.y, f.width, f.height, W, H));
    for (let k = 0; k < 3; k++) {
      expect(meanAbsDiff(lumas[2 * k] as Uint8Array, expected(originals[k] as YuvFrame))).toBeLessThan(TOL_JPEG_MAE);
      expect(meanAbsDiff(lumas[2 * k + 1] as Uint8Array, expected(stabilized[k] as YuvFrame))).toBeLessThan(TOL_JPEG_MAE);
    }
  });

  it('refuses a frame at neither the source size nor the preview size', () => {
    const enc = new PreviewEncoder<number>(
      { ffmpegPath: resolveFfmpeg().path, width: 2 * W, height: 2 * H, previewWidth: W, previewHeight: H },
      () => {},
      () => {},
    );
    const odd = makeFrame(0, 0, W + 2, H);
    expect(() => enc.trySubmit(odd, makeFrame(0, 0), 0)).toThrow('Expected 128x96 or 64x48 frames for the preview encoder but received 66x48');
    return enc.close();
  });

  it('refuses frames of another size than the encoder was made for', () => {
    const enc = new PreviewEncoder<number>({ ffmpegPath: resolveFfmpeg().path, width: W, height: H }, () => {}, () => {});
    const wrong: YuvFrame = { ...makeFrame(0, 0), width: W + 2 };
    expect(() => enc.trySubmit(wrong, makeFrame(0, 0), 0)).toThrow('Expected 64x48 frames for the preview encoder but received 66x48');
    return enc.close();
  });
});
