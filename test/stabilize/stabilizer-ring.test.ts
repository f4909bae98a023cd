/**
 * Frames decoded straight into the stabilizer's look-ahead ring (Stabilizer.nextFrameBuffer, the buffer a
 * decoder writes the next frame into: Decoder.setFrameBuffer) come out exactly as frames pushed from the
 * caller's own memory, which the stabilizer copies: same output planes, same corrections, for every frame,
 * also when the ring grows while a frame waits in the buffer it gave out (a live change of the radius).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveStabilizeOptions } from '../../src/stabilize/options.js';
import { createStabilizer, type Stabilizer, stabilizerSettingsFor } from '../../src/stabilize/stabilizer.js';
import { downscaleYInto } from '../../src/video/analysis.js';
import { makeTempDir, removeTempDir } from '../support/ffmpeg-fixtures.js';
import { makeShakyClip, readYuvFrames } from '../support/shaky-clip.js';

type Planes = { y: Uint8Array; u: Uint8Array; v: Uint8Array };

let dir = '';
let frames: Planes[] = [];
let width = 0;
let height = 0;

beforeAll(async () => {
  dir = await makeTempDir('steady-ring-');
  const clip = await makeShakyClip(join(dir, 'clip.mkv'), { seed: 8080, frames: 40 });
  const read = await readYuvFrames(clip.path);
  frames = read.frames;
  width = read.width;
  height = read.height;
}, 60_000);
afterAll(async () => {
  await removeTempDir(dir);
});

/** Every output frame's planes (copied) and correction. */
interface Run {
  readonly planes: Uint8Array[];
  readonly corrections: number[][];
}

/**
 * Stabilizes the frames; `intoRing`: each frame is first written into nextFrameBuffer() and pushed as views
 * of it (as the decoder does), else pushed from its own arrays. `growAt`: before that frame is pushed
 * (after its buffer was given out) the radius grows, so the ring is reallocated.
 */
function run(intoRing: boolean, growAt: number | null): Run {
  const s: Stabilizer = createStabilizer(stabilizerSettingsFor(resolveStabilizeOptions({ smoothingRadius: 4 }), width, height, null), downscaleYInto);
  const out: Run = { planes: [], corrections: [] };
  const take = () => {
    for (let r = s.pull(); r !== null; r = s.pull()) {
      const o = r.output;
      out.planes.push(Uint8Array.from([...o.y, ...o.u, ...o.v]));
      out.corrections.push(Array.from(r.motion.correction));
    }
  };
  frames.forEach((f, k) => {
    let planes: Planes = f;
    if (intoRing) {
      const buf = s.nextFrameBuffer();
      buf.set(f.y, 0);
      buf.set(f.u, f.y.length);
      buf.set(f.v, f.y.length + f.u.length);
      planes = { y: buf.subarray(0, f.y.length), u: buf.subarray(f.y.length, f.y.length + f.u.length), v: buf.subarray(f.y.length + f.u.length, f.y.length + f.u.length + f.v.length) };
    }
    if (k === growAt) s.setSmoothingRadius(12);
    s.push({ index: k, timeSec: k / 30, width, height, ...planes }, 0);
    take();
  });
  s.finish();
  take();
  return out;
}

describe('Stabilizer.nextFrameBuffer', () => {
  it('frames written into the ring stabilize exactly as frames the stabilizer copies', () => {
    const copied = run(false, null);
    const inRing = run(true, null);
    expect(copied.planes.length).toBe(frames.length);
    expect(inRing.corrections).toEqual(copied.corrections);
    for (let k = 0; k < frames.length; k++) expect(Buffer.from(inRing.planes[k] as Uint8Array).equals(Buffer.from(copied.planes[k] as Uint8Array)), `frame ${k}`).toBe(true);
  });

  it('and when the ring grows while a frame waits in the buffer it gave out', () => {
    const copied = run(false, 20);
    const inRing = run(true, 20);
    expect(copied.planes.length).toBe(frames.length);
    expect(inRing.corrections).toEqual(copied.corrections);
    for (let k = 0; k < frames.length; k++) expect(Buffer.from(inRing.planes[k] as Uint8Array).equals(Buffer.from(copied.planes[k] as Uint8Array)), `frame ${k}`).toBe(true);
  });
});
