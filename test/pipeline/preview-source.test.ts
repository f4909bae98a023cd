/**
 * The preview source of a file job (`steady stabilize --preview`): the job's frames are left as they are
 * (the file output is full size); the copy the preview keeps has the original at its own size and the
 * stabilized frame shrunk to the preview size.
 */
import { describe, expect, it } from 'vitest';
import { createPreviewSource, MAX_PREVIEW_QUEUE } from '../../src/pipeline/preview-source.js';
import type { StabilizedFrame, YuvFrame } from '../../src/stabilize/frame-types.js';
import { slowAreaShrink } from '../support/area-shrink.js';
import { mulberry32 } from '../support/rng.js';

/** Integer-factor shrink (2x2 blocks) of the stabilized copy against the slow area average: exact. */
const TOL_LEVELS = 0;

function randomFrame(index: number, width: number, height: number, seed: number): YuvFrame {
  const rng = mulberry32(seed);
  const c = Math.ceil(width / 2) * Math.ceil(height / 2);
  const fill = (n: number) => Uint8Array.from({ length: n }, () => Math.floor(rng() * 256));
  return { index, timeSec: index / 30, width, height, y: fill(width * height), u: fill(c), v: fill(c) };
}

function stabilized(index: number, width: number, height: number): StabilizedFrame {
  const identity = Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);
  return {
    input: randomFrame(index, width, height, 100 + index),
    output: randomFrame(index, width, height, 200 + index),
    decodedAtMs: index,
    motion: {
      index,
      timeSec: index / 30,
      ok: true,
      cc: 1,
      motion: identity,
      fromReference: identity,
      referenceIndex: 0,
      path: [index, 0, 0],
      smoothedPath: [0, 0, 0],
      correction: identity,
      zoom: 1,
    },
  };
}

function maxAbsDiff(a: Uint8Array, b: Uint8Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

describe('preview source of a file job', () => {
  it('keeps the original at its size and the stabilized frame shrunk to the preview size; the job frames are untouched', async () => {
    const W = 128;
    const H = 96;
    const ps = createPreviewSource(30, 0, 64);
    const offered = [0, 1].map((k) => stabilized(k, W, H));
    const before = offered.map((s) => [s.input.y.slice(), s.output.y.slice(), s.output.u.slice()]);
    for (const s of offered) ps.offer(s);
    ps.end();
    const got: StabilizedFrame[] = [];
    const copies: { input: Uint8Array; output: YuvFrame }[] = [];
    for await (const f of ps.source.frames) {
      got.push(f);
      copies.push({ input: f.input.y.slice(), output: { ...f.output, y: f.output.y.slice(), u: f.output.u.slice(), v: f.output.v.slice() } });
    }
    expect(got.map((f) => f.input.index)).toEqual([0, 1]);
    for (let k = 0; k < 2; k++) {
      const s = offered[k] as StabilizedFrame;
      const f = got[k] as StabilizedFrame;
      const c = copies[k] as (typeof copies)[number];
      // The job's own frames are not changed (what the file job encodes stays as it was).
      expect(s.input.y).toEqual(before[k]?.[0]);
      expect(s.output.y).toEqual(before[k]?.[1]);
      expect(s.output.u).toEqual(before[k]?.[2]);
      expect([f.input.width, f.input.height]).toEqual([W, H]);
      expect(c.input).toEqual(s.input.y);
      expect([c.output.width, c.output.height, c.output.y.length, c.output.u.length]).toEqual([64, 48, 64 * 48, 32 * 24]);
      expect(maxAbsDiff(c.output.y, slowAreaShrink(s.output.y, W, H, 64, 48))).toBeLessThanOrEqual(TOL_LEVELS);
      expect(maxAbsDiff(c.output.u, slowAreaShrink(s.output.u, W / 2, H / 2, 32, 24))).toBeLessThanOrEqual(TOL_LEVELS);
      expect(maxAbsDiff(c.output.v, slowAreaShrink(s.output.v, W / 2, H / 2, 32, 24))).toBeLessThanOrEqual(TOL_LEVELS);
      expect(f.motion.path).toEqual(s.motion.path);
    }
  });

  it('keeps frames no wider than the preview as they are, and drops the oldest past MAX_PREVIEW_QUEUE', async () => {
    const ps = createPreviewSource(30, 0, 64);
    const offered = [0, 1, 2, 3].map((k) => stabilized(k, 48, 32));
    for (const s of offered) ps.offer(s);
    ps.end();
    const got: { index: number; output: Uint8Array; size: number[] }[] = [];
    for await (const f of ps.source.frames) got.push({ index: f.input.index, output: f.output.y.slice(), size: [f.output.width, f.output.height] });
    expect(got.map((g) => g.index)).toEqual(Array.from({ length: MAX_PREVIEW_QUEUE }, (_, i) => 4 - MAX_PREVIEW_QUEUE + i));
    for (const g of got) {
      expect(g.size).toEqual([48, 32]);
      expect(g.output).toEqual((offered[g.index] as StabilizedFrame).output.y);
    }
  });
});
