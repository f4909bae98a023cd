/**
 * The display shape of the input carries over: a pixel shape other than square (sample aspect ratio, e.g.
 * 8:9 DV) reaches the output and the compare video, and the compare video of a clip shown turned a quarter
 * (portrait phone video) puts its two views side by side as the clip displays: stacked top to bottom in the
 * stored orientation, which the display rotation turns into left and right.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compareAtHalfSize, compareInto, compareSize, halfSizePlanes, halveInto, stackedForRotation } from '../../src/pipeline/stabilize-file.js';
import type { StabilizedFrame, YuvFrame } from '../../src/stabilize/frame-types.js';
import { sampleAspectOf } from '../../src/video/probe.js';
import { runCli } from '../support/cli.js';
import { ffmpeg, listStreams, makeClip, makeTempDir, readDisplayRotation, removeTempDir, setDisplayRotation } from '../support/ffmpeg-fixtures.js';

let dir = '';
beforeAll(async () => {
  dir = await makeTempDir('steady-display-shape-');
});
afterAll(async () => {
  if (dir) await removeTempDir(dir);
});

/** A frame whose every sample says which plane, which picture (input 0 / output 1) and where it is. */
function labelledFrame(w: number, h: number, picture: number): YuvFrame {
  const cw = Math.ceil(w / 2);
  const ch = Math.ceil(h / 2);
  const plane = (pw: number, ph: number, p: number) => Uint8Array.from({ length: pw * ph }, (_, i) => (p * 64 + picture * 32 + (i % 31)) & 255);
  return { index: 0, timeSec: 0, width: w, height: h, y: plane(w, h, 0), u: plane(cw, ch, 1), v: plane(cw, ch, 2) };
}

/** What the compare picture must hold at (x, y) of a plane: the half's own sample, edges repeated into the padding. */
function expectedSample(src: Uint8Array, pw: number, ph: number, x: number, y: number): number {
  return src[Math.min(y, ph - 1) * pw + Math.min(x, pw - 1)] as number;
}

describe('compare layout', () => {
  for (const [w, h] of [
    [6, 4],
    [7, 5],
  ] as const) {
    for (const stacked of [false, true]) {
      it(`${w}x${h} ${stacked ? 'top and bottom' : 'left and right'}: each half holds its picture, padded to even sides by repeating its edge`, () => {
        const input = labelledFrame(w, h, 0);
        const output = labelledFrame(w, h, 1);
        const size = compareSize(w, h, stacked);
        const ew = 2 * Math.ceil(w / 2);
        const eh = 2 * Math.ceil(h / 2);
        expect([size.width, size.height]).toEqual(stacked ? [ew, 2 * eh] : [2 * ew, h]);
        const out = new Uint8Array(size.width * size.height + 2 * (size.width / 2) * Math.ceil(size.height / 2));
        compareInto(out, { input, output } as unknown as StabilizedFrame, stacked);
        let mismatches = 0;
        const check = (plane: 'y' | 'u' | 'v', off: number, ow: number, oh: number, pw: number, ph: number, hw: number, hh: number) => {
          for (let y = 0; y < oh; y++) {
            for (let x = 0; x < ow; x++) {
              const second = stacked ? y >= hh : x >= hw;
              const src = (second ? output : input)[plane];
              const sx = stacked ? x : second ? x - hw : x;
              const sy = stacked ? (second ? y - hh : y) : y;
              if (out[off + y * ow + x] !== expectedSample(src, pw, ph, sx, sy)) mismatches++;
            }
          }
        };
        const cw = Math.ceil(w / 2);
        const ch = Math.ceil(h / 2);
        const ocw = size.width / 2;
        const och = Math.ceil(size.height / 2);
        check('y', 0, size.width, size.height, w, h, ew, eh);
        check('u', size.width * size.height, ocw, och, cw, ch, cw, ch);
        check('v', size.width * size.height + ocw * och, ocw, och, cw, ch, cw, ch);
        expect(mismatches).toBe(0);
      });
    }
  }

  it('halves a picture by 2x2 means (odd edges with themselves), as a slow reference does', () => {
    for (const [w, h] of [
      [8, 6],
      [7, 5],
    ] as const) {
      const src = labelledFrame(w, h, 1);
      const half = halveInto(halfSizePlanes(w, h), src);
      const ref = (p: Uint8Array, pw: number, ph: number, x: number, y: number) => {
        const at = (xx: number, yy: number) => p[Math.min(yy, ph - 1) * pw + Math.min(xx, pw - 1)] as number;
        return Math.floor((at(2 * x, 2 * y) + at(2 * x + 1, 2 * y) + at(2 * x, 2 * y + 1) + at(2 * x + 1, 2 * y + 1) + 2) / 4);
      };
      let mismatches = 0;
      const cw = Math.ceil(w / 2);
      const ch = Math.ceil(h / 2);
      for (const [plane, pw, ph] of [
        ['y', w, h],
        ['u', cw, ch],
        ['v', cw, ch],
      ] as const) {
        const dw = Math.ceil(pw / 2);
        for (let y = 0; y < Math.ceil(ph / 2); y++) for (let x = 0; x < dw; x++) if (half[plane][y * dw + x] !== ref(src[plane], pw, ph, x, y)) mismatches++;
      }
      expect([half.width, half.height]).toEqual([Math.ceil(w / 2), Math.ceil(h / 2)]);
      expect(mismatches).toBe(0);
    }
  });

  it('is made at half size past 4096 wide or 2304 high (4K side by side), at full size up to it', () => {
    expect(compareAtHalfSize(1920, 1080, false)).toBe(false);
    expect(compareAtHalfSize(2048, 1080, false)).toBe(false);
    expect(compareAtHalfSize(2560, 1440, false)).toBe(true);
    expect(compareAtHalfSize(3840, 2160, false)).toBe(true);
    // A portrait 1080p phone clip, stacked in stored orientation: 1920x2160.
    expect(compareAtHalfSize(1920, 1080, true)).toBe(false);
    expect(compareAtHalfSize(3840, 2160, true)).toBe(true);
  });

  it('stacks for the quarter turns only', () => {
    expect([0, 90, 180, 270].map(stackedForRotation)).toEqual([false, true, false, true]);
  });
});

describe('sample aspect ratio', () => {
  it('reads N:D in lowest terms; square, unknown and absent are null', () => {
    expect(sampleAspectOf('8:9')).toBe('8:9');
    expect(sampleAspectOf('16:18')).toBe('8:9');
    expect(sampleAspectOf('1:1')).toBeNull();
    expect(sampleAspectOf('0:1')).toBeNull();
    expect(sampleAspectOf('N/A')).toBeNull();
    expect(sampleAspectOf(undefined)).toBeNull();
  });
});

describe('steady stabilize keeps the display shape', () => {
  it('an 8:9 pixel shape reaches the output and the compare video; square pixels stay square', async () => {
    const square = await makeClip(join(dir, 'square.mp4'), { width: 96, height: 64, frames: 10, fps: 10, source: 'testsrc2' });
    const dv = join(dir, 'dv.mp4');
    await ffmpeg(['-i', square, '-vf', 'setsar=8/9', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', dv]);
    const sar = async (f: string) => (await listStreams(f)).find((s) => s.codec_type === 'video')?.sample_aspect_ratio;
    expect(await sar(dv)).toBe('8:9');
    for (const [input, want] of [
      [dv, '8:9'],
      [square, undefined],
    ] as const) {
      const out = join(dir, `${want === undefined ? 'sq' : 'dv'}-out.mp4`);
      const side = join(dir, `${want === undefined ? 'sq' : 'dv'}-side.mp4`);
      const r = await runCli(['stabilize', input, '-o', out, '--compare', side, '--quiet']);
      expect(r.code, r.stderr).toBe(0);
      for (const f of [out, side]) {
        const got = await sar(f);
        if (want === undefined) expect(got === undefined || got === '1:1' || got === 'N/A' || got === '0:1').toBe(true);
        else expect(got).toBe(want);
      }
    }
  });

  it('steady track --overlay keeps the 8:9 pixel shape too', async () => {
    const square = await makeClip(join(dir, 'square-t.mp4'), { width: 96, height: 64, frames: 10, fps: 10, source: 'testsrc2' });
    const dv = join(dir, 'dv-t.mp4');
    await ffmpeg(['-i', square, '-vf', 'setsar=8/9', '-c:v', 'libx264', '-pix_fmt', 'yuv420p', dv]);
    const overlay = join(dir, 'dv-overlay.mp4');
    const r = await runCli(['track', dv, '--overlay', overlay, '-o', join(dir, 'dv-track.json')]);
    expect(r.code, r.stderr).toBe(0);
    expect((await listStreams(overlay)).find((s) => s.codec_type === 'video')?.sample_aspect_ratio).toBe('8:9');
  });

  it('a compare video too large at full size is written at half size, with a note', async () => {
    const big = await makeClip(join(dir, 'big.mp4'), { width: 2100, height: 1200, frames: 4, fps: 10, source: 'testsrc2' });
    const side = join(dir, 'big-side.mp4');
    const r = await runCli(['stabilize', big, '-o', join(dir, 'big-out.mp4'), '--compare', side, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as { notes: string[] }).notes.join('\n')).toMatch(/compare video at half size: side by side at full size it would be 4200x1200/);
    const v = (await listStreams(side)).find((s) => s.codec_type === 'video');
    expect([v?.width, v?.height]).toEqual([2100, 600]);
  });

  it('a clip shown turned a quarter: the compare video is stacked in stored orientation and keeps the rotation', async () => {
    const flat = await makeClip(join(dir, 'flat.mp4'), { width: 96, height: 64, frames: 10, fps: 10, source: 'testsrc2' });
    const turned = join(dir, 'turned.mp4');
    await setDisplayRotation(flat, turned, 90);
    expect(await readDisplayRotation(turned)).toBe(90);
    const side = join(dir, 'turned-side.mp4');
    const r = await runCli(['stabilize', turned, '-o', join(dir, 'turned-out.mp4'), '--compare', side, '--quiet']);
    expect(r.code, r.stderr).toBe(0);
    const v = (await listStreams(side)).find((s) => s.codec_type === 'video');
    expect([v?.width, v?.height]).toEqual([96, 128]);
    expect(await readDisplayRotation(side)).toBe(90);
  });
});
