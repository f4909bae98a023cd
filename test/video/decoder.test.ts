import { createReadStream } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { lastDistinctLines, openDecoder, yuv420pFrameBytes } from '../../src/video/decoder.js';
import { liveChildCount } from '../../src/video/process-registry.js';
import { ffmpeg, makeClip, makeClipFromYuvFrames, makeImage, makeTempDir, makeVfrClip, removeTempDir, solidYuvFrame, videoFrameTimes, yuv420pBytes } from '../support/ffmpeg-fixtures.js';
import { probeVideo } from '../../src/video/probe.js';
import { mulberry32, randomInt } from '../support/video-rng.js';

/** BT.601 limited-range conversion of 8-bit colours is exact to the 8-bit step; allow one step of rounding. */
const TOL_LEVEL = 1;
/** RGB -> limited-range Y by swscale: 8-bit rounding plus its fixed-point coefficients (no accurate_rnd). */
const TOL_RGB_TO_Y = 1.5;
/** A 10-bit round trip of 8-bit samples may move them by one step. */
const TOL_10BIT = 1;

let dir = '';
let testsrc = '';
/** Frames of the exact-content clip: frame k solid Y = 20 + 20k, U = 100 + k, V = 150 - 3k. */
let solidClip = '';
const SOLID = { width: 64, height: 48, frames: 10 };
const solidValues = (k: number): [number, number, number] => [20 + 20 * k, 100 + k, 150 - 3 * k];

beforeAll(async () => {
  dir = await makeTempDir();
  testsrc = await makeClip(join(dir, 'testsrc.mp4'), { width: 64, height: 48, frames: 10, fps: 10 });
  const frames = Array.from({ length: SOLID.frames }, (_, k) => solidYuvFrame(SOLID.width, SOLID.height, ...solidValues(k)));
  solidClip = await makeClipFromYuvFrames(join(dir, 'solid.mkv'), frames, { width: SOLID.width, height: SOLID.height, fps: 10 });
});
afterAll(async () => {
  await removeTempDir(dir);
});

function planeRange(p: Uint8Array): [number, number] {
  let lo = 255;
  let hi = 0;
  for (const v of p) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

describe('openDecoder', () => {
  it('decodes every frame of an MP4 with its size, index and timestamp', async () => {
    const dec = await openDecoder(testsrc);
    expect([dec.width, dec.height, dec.frameBytes]).toEqual([64, 48, 64 * 48 + 2 * 32 * 24]);
    const seen: [number, number][] = [];
    for await (const f of dec) {
      expect([f.width, f.height, f.y.length, f.u.length, f.v.length]).toEqual([64, 48, 64 * 48, 32 * 24, 32 * 24]);
      seen.push([f.index, f.ptsSec]);
    }
    expect(seen).toEqual(Array.from({ length: 10 }, (_, k) => [k, k / 10]));
    expect(dec.framesDecoded).toBe(10);
  });

  it('gives back exact Y/U/V values of a lossless clip of known solid frames', async () => {
    let k = 0;
    for await (const f of await openDecoder(solidClip)) {
      const [y, u, v] = solidValues(k);
      expect(planeRange(f.y)).toEqual([y, y]);
      expect(planeRange(f.u)).toEqual([u, u]);
      expect(planeRange(f.v)).toEqual([v, v]);
      k += 1;
    }
    expect(k).toBe(SOLID.frames);
  });

  it("setFrameBuffer: frames are written into the caller's buffers, with the same bytes as the decoder's own", async () => {
    // 320x240: 115200 bytes a frame, more than one chunk of a pipe (64 KiB).
    const clip = await makeClip(join(dir, 'large-frames.mp4'), { width: 320, height: 240, frames: 6, source: 'testsrc2' });
    const own: Uint8Array[] = [];
    for await (const f of await openDecoder(clip)) own.push(Uint8Array.from(f.data));
    const dec = await openDecoder(clip);
    const slots = [new Uint8Array(dec.frameBytes), new Uint8Array(dec.frameBytes), new Uint8Array(dec.frameBytes)];
    let asked = 0;
    dec.setFrameBuffer(() => slots[asked++ % slots.length] as Uint8Array);
    let k = 0;
    for await (const f of dec) {
      // The frame is larger than a pipe's chunk: every one is assembled, into the slot asked for last.
      expect(f.data.buffer).toBe((slots[(asked - 1) % slots.length] as Uint8Array).buffer);
      expect(f.y.buffer).toBe(f.data.buffer);
      expect(Buffer.from(f.data).equals(Buffer.from(own[k] as Uint8Array))).toBe(true);
      k++;
    }
    expect(k).toBe(own.length);
    expect(asked).toBe(own.length);
  });

  it('handles odd sizes: chroma is ceil(w/2) x ceil(h/2) and every byte comes back', async () => {
    const w = 65;
    const h = 49;
    const rng = mulberry32(7);
    const frames = Array.from({ length: 4 }, () => {
      const f = new Uint8Array(yuv420pBytes(w, h));
      for (let i = 0; i < f.length; i++) f[i] = randomInt(rng, 16, 235);
      return f;
    });
    const clip = await makeClipFromYuvFrames(join(dir, 'odd.mkv'), frames, { width: w, height: h });
    const dec = await openDecoder(clip);
    expect([dec.chromaWidth, dec.chromaHeight, dec.frameBytes]).toEqual([33, 25, yuv420pFrameBytes(w, h)]);
    let k = 0;
    for await (const f of dec) {
      expect(Buffer.from(f.data).equals(Buffer.from(frames[k] as Uint8Array))).toBe(true);
      k += 1;
    }
    expect(k).toBe(4);
  });

  it('decodes a lavfi colour source to BT.601 limited-range values (white: 235/128/128, red: 81/90/240)', async () => {
    for (const [colour, expected] of [
      ['white', [235, 128, 128]],
      ['red', [81, 90, 240]],
    ] as const) {
      const dec = await openDecoder(`color=c=${colour}:size=32x24:rate=10`, { inputFormat: 'lavfi', durationSec: 0.3 });
      let n = 0;
      for await (const f of dec) {
        for (const [plane, want] of [
          [f.y, expected[0]],
          [f.u, expected[1]],
          [f.v, expected[2]],
        ] as const) {
          const [lo, hi] = planeRange(plane);
          expect(Math.abs(lo - want)).toBeLessThanOrEqual(TOL_LEVEL);
          expect(Math.abs(hi - want)).toBeLessThanOrEqual(TOL_LEVEL);
        }
        n += 1;
      }
      expect(n).toBe(3);
    }
  });

  it('converts a 10-bit source to 8-bit yuv420p', async () => {
    const frames = [solidYuvFrame(32, 24, 100, 60, 200)];
    const clip = await makeClipFromYuvFrames(join(dir, 'ten.mkv'), frames, { width: 32, height: 24, codec: 'ffv1', extraArgs: ['-pix_fmt', 'yuv420p10le'] });
    const dec = await openDecoder(clip);
    expect(dec.probe.bitDepth).toBe(10);
    for await (const f of dec) {
      for (const [plane, want] of [
        [f.y, 100],
        [f.u, 60],
        [f.v, 200],
      ] as const) {
        const [lo, hi] = planeRange(plane);
        expect(Math.abs(lo - want)).toBeLessThanOrEqual(TOL_10BIT);
        expect(Math.abs(hi - want)).toBeLessThanOrEqual(TOL_10BIT);
      }
    }
    expect(dec.framesDecoded).toBe(1);
  });

  it('trims with startSec / durationSec and stamps the source time', async () => {
    const dec = await openDecoder(solidClip, { startSec: 0.3, durationSec: 0.5 });
    const got: [number, number][] = [];
    for await (const f of dec) got.push([Math.round(f.ptsSec * 1000), f.y[0] as number]);
    expect(got).toEqual([3, 4, 5, 6, 7].map((k) => [k * 100, solidValues(k)[0]]));
  });

  it('timestamps: true gives each frame of a variable-frame-rate clip its own time (without: an even clock)', async () => {
    /** Times are exact multiples of Matroska's 1 ms; this leaves room for the float product only. */
    const TIME_TOL_SEC = 1e-9;
    const clip = await makeVfrClip(join(dir, 'vfr.mkv'), { keep: [0, 1, 2, 3, 10, 11, 12, 13, 14, 30, 31] });
    const read = async (timestamps: boolean) => {
      const dec = await openDecoder(clip.path, { timestamps });
      const t: number[] = [];
      for await (const f of dec) {
        expect(f.ptsSec).toBeCloseTo(f.timeSec, 12);
        t.push(f.timeSec);
      }
      return t;
    };
    const own = await read(true);
    expect(own.length).toBe(clip.timesSec.length);
    for (let k = 0; k < own.length; k++) expect(Math.abs((own[k] as number) - (clip.timesSec[k] as number))).toBeLessThan(TIME_TOL_SEC);
    // Without: frame k at k / (average rate), which misses the gaps by up to a quarter of a second here.
    const even = await read(false);
    expect(even.length).toBe(clip.timesSec.length);
    expect(Math.max(...even.map((t, k) => Math.abs(t - (clip.timesSec[k] as number))))).toBeGreaterThan(0.2);
    expect(liveChildCount()).toBe(0);
  });

  it("timestamps: true puts a constant-rate Matroska clip's 1 ms times exactly on its 30000/1001 grid", async () => {
    /** Grid times k * 1001 / 30000 computed the same way: only the float product differs. */
    const GRID_TOL_SEC = 1e-12;
    const path = join(dir, 'ntsc.mkv');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=30000/1001', '-frames:v', '12', '-c:v', 'libx264', '-preset', 'veryfast', path]);
    const probe = await probeVideo(path);
    expect(probe.timeBase).toBe('1/1000');
    const dec = await openDecoder(path, { timestamps: true });
    const t: number[] = [];
    for await (const f of dec) t.push(f.timeSec);
    expect(t.length).toBe(12);
    for (let k = 0; k < t.length; k++) expect(Math.abs((t[k] as number) - (k * 1001) / 30000)).toBeLessThan(GRID_TOL_SEC);
    // The premise: the file itself stores them rounded to the millisecond (frame 1 at 0.033 s, not 0.0333667).
    expect(Math.abs(((await videoFrameTimes(path))[1] as number) - 1001 / 30000)).toBeGreaterThan(3e-4);
  });

  it('timestamps: true on a VP9 WebM whose decoder hands out frames in bursts: every frame arrives (ffmpeg blocked on the frames while steady waited for a time)', async () => {
    // Realtime VP9 at 640x360: each frame (345,600 bytes) is more than the pipe holds, so a frame written
    // before its timestamp line stopped both sides (the bundled ffmpeg, at frame 9).
    const path = join(dir, 'burst.webm');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=640x360:rate=30:duration=2', '-c:v', 'libvpx-vp9', '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '1M', path]);
    let n = 0;
    let last = -1;
    for await (const f of await openDecoder(path, { timestamps: true })) {
      expect(f.timeSec).toBeGreaterThan(last);
      last = f.timeSec;
      n++;
    }
    expect(n).toBe(60);
  }, 20_000);

  it('timestamps: true keeps a time off the nominal grid, and frames closer than 1 / rate log no error', async () => {
    const TIME_TOL_SEC = 1e-9;
    // Half steps (0.08 -> 0.10 -> 0.12 s) and a frame 10 ms off a 25 fps grid (0.21 s), at 1 ms ticks.
    const truth = [0, 0.04, 0.08, 0.1, 0.12, 0.16, 0.21, 0.24, 0.28];
    const expr = truth.map((x, n) => `eq(N\\,${n})*${x}`).join('+');
    const path = join(dir, 'uneven.mkv');
    await ffmpeg(['-f', 'lavfi', '-i', `testsrc2=size=64x48:rate=25`, '-frames:v', String(truth.length), '-vf', `settb=1/1000,setpts='(${expr})/TB'`, '-vsync', 'vfr', '-enc_time_base', '1:1000', '-c:v', 'libx264', '-preset', 'veryfast', '-bf', '0', path]);
    expect((await videoFrameTimes(path)).map((x) => Math.round(x * 1000) / 1000)).toEqual(truth);
    const dec = await openDecoder(path, { timestamps: true });
    const t: number[] = [];
    for await (const f of dec) t.push(f.timeSec);
    expect(t.length).toBe(truth.length);
    for (let k = 0; k < t.length; k++) expect(Math.abs((t[k] as number) - (truth[k] as number))).toBeLessThan(TIME_TOL_SEC);
    expect(dec.stderrTail).toBe('');
  });

  it('timestamps: true never lets a snapped time collide with the next frame: that one goes a tick later, and no later frame moves', async () => {
    const TIME_TOL_SEC = 1e-9;
    // 0.079 s is within a 1 ms tick of the 25 fps grid (0.08 s): snapped there, it meets the frame at 0.080.
    const stored = [0, 0.04, 0.079, 0.08, 0.12, 0.16, 0.2];
    const expr = stored.map((x, n) => `eq(N\\,${n})*${x}`).join('+');
    const path = join(dir, 'collide.mkv');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=25', '-frames:v', String(stored.length), '-vf', `settb=1/1000,setpts='(${expr})/TB'`, '-vsync', 'vfr', '-enc_time_base', '1:1000', '-c:v', 'libx264', '-preset', 'veryfast', '-bf', '0', '-r', '25', path]);
    const probe = await probeVideo(path);
    expect(probe.rFrameRate).toBe('25/1');
    expect((await videoFrameTimes(path)).map((x) => Math.round(x * 1000) / 1000)).toEqual(stored);
    const t: number[] = [];
    for await (const f of await openDecoder(path, { probe, timestamps: true })) t.push(f.timeSec);
    const truth = [0, 0.04, 0.08, 0.081, 0.12, 0.16, 0.2];
    expect(t.length).toBe(truth.length);
    for (let k = 0; k < truth.length; k++) expect(Math.abs((t[k] as number) - (truth[k] as number))).toBeLessThan(TIME_TOL_SEC);
  });

  it('timestamps: true on a Matroska clip whose clock starts at 1.5 s, with a decoding error but every frame there: no false "truncated"', async () => {
    const FRAMES = 50;
    const clean = join(dir, 'offset.mkv');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=96x64:rate=25', '-frames:v', String(FRAMES), '-c:v', 'libx264', '-preset', 'veryfast', '-g', '10', '-output_ts_offset', '1.5', clean]);
    const probe = await probeVideo(clean);
    // The premise: Matroska's duration is where the clip ends on its clock (3.5 s), not its length (2 s).
    expect(probe.startTimeSec).toBeCloseTo(1.5, 3);
    expect(probe.durationSec as number).toBeCloseTo(3.5, 1);
    // Flip bytes inside a frame until ffmpeg logs a decoding error yet gives every frame.
    const bytes = await readFile(clean);
    let damaged: string | null = null;
    for (const share of [0.4, 0.45, 0.6, 0.8, 0.35, 0.65]) {
      const b = Buffer.from(bytes);
      for (let i = 0; i < 60; i += 3) b[Math.floor(b.length * share) + i] ^= 0x5a;
      const path = join(dir, `offset-damaged-${share}.mkv`);
      await writeFile(path, b);
      const dec = await openDecoder(path, { timestamps: true, allowPartial: true });
      let n = 0;
      for await (const _ of dec) n++;
      if (n === FRAMES && dec.stderrTail !== '') {
        damaged = path;
        break;
      }
    }
    expect(damaged).not.toBeNull();
    let n = 0;
    for await (const _ of await openDecoder(damaged as string, { timestamps: true })) n++;
    expect(n).toBe(FRAMES);
  });

  it('timestamps: true on a truncated Matroska clip fails E_INPUT_CORRUPT and says how far its frames reach', async () => {
    const full = join(dir, 'long.mkv');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=64x48:rate=25', '-frames:v', '100', '-g', '10', '-c:v', 'libx264', '-preset', 'veryfast', full]);
    const bytes = await readFile(full);
    const cut = join(dir, 'cut.mkv');
    await writeFile(cut, bytes.subarray(0, Math.round(bytes.length * 0.6)));
    let frames = 0;
    let error: unknown;
    try {
      for await (const _ of await openDecoder(cut, { timestamps: true })) frames += 1;
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).code).toBe('E_INPUT_CORRUPT');
    expect((error as InputError).message).toMatch(/reaching \d+\.\d+ s of 4\.00 s; ffmpeg said: .+/);
    expect(frames).toBeGreaterThan(0);
    expect(frames).toBeLessThan(100);
  });

  it('timestamps: true with a trim starts the times at 0 at the first frame kept, and says where that frame is (timeOffsetSec)', async () => {
    const TIME_TOL_SEC = 1e-9;
    const clip = await makeVfrClip(join(dir, 'vfr-trim.mkv'), { keep: [0, 1, 2, 3, 10, 11, 12, 13, 14, 30, 31] });
    // From 0.1 s: the first frame kept is the one at 0.12 s (frame 3 of the source's 25 fps clock).
    const dec = await openDecoder(clip.path, { timestamps: true, startSec: 0.1 });
    const t: number[] = [];
    for await (const f of dec) t.push(f.timeSec);
    const truth = clip.timesSec.filter((x) => x >= 0.1).map((x) => x - 0.12);
    expect(t.length).toBe(truth.length);
    for (let k = 0; k < t.length; k++) expect(Math.abs((t[k] as number) - (truth[k] as number))).toBeLessThan(TIME_TOL_SEC);
    // The first frame kept is 0.02 s after the start point: where it goes on the audio's clock.
    expect(Math.abs(dec.timeOffsetSec - 0.02)).toBeLessThan(TIME_TOL_SEC);
    // Starting inside the gap (0.12 -> 0.40 s), the first frame comes 0.2 s after the start point.
    const inGap = await openDecoder(clip.path, { timestamps: true, startSec: 0.2 });
    const first: number[] = [];
    for await (const f of inGap) first.push(f.timeSec);
    expect(first[0]).toBe(0);
    expect(Math.abs(inGap.timeOffsetSec - 0.2)).toBeLessThan(TIME_TOL_SEC);
  });

  it("decodes the probe's video stream even when it is not ffmpeg's first (a one-frame picture stream before it)", async () => {
    const pic = await makeClip(join(dir, 'pic.mkv'), { frames: 1, width: 32, height: 24, source: 'color', color: 'red' });
    const movie = await makeClip(join(dir, 'movie.mkv'), { frames: 7, width: 32, height: 24, source: 'testsrc' });
    const both = join(dir, 'pic-then-movie.mkv');
    await ffmpeg(['-i', pic, '-i', movie, '-map', '0:v', '-map', '1:v', '-c', 'copy', both]);
    const probe = await probeVideo(both);
    expect(probe.videoMap).toBe('0:0');
    const count = async (videoMap: string) => {
      let n = 0;
      for await (const _ of await openDecoder(both, { probe: { ...probe, videoMap } })) n++;
      return n;
    };
    expect(await count('0:0')).toBe(1);
    expect(await count('0:1')).toBe(7);
  });

  it('rotates to display orientation by default and keeps stored orientation with autorotate: false', async () => {
    const clip = await makeClip(join(dir, 'rot90.mp4'), { frames: 1, rotationDeg: 90, source: 'testsrc' });
    const stored = await openDecoder(clip, { autorotate: false });
    expect([stored.width, stored.height, stored.rotationDeg]).toEqual([64, 48, 90]);
    let storedY = new Uint8Array(0);
    for await (const f of stored) storedY = Uint8Array.from(f.y);
    const shown = await openDecoder(clip);
    expect([shown.width, shown.height, shown.rotationDeg]).toEqual([48, 64, 0]);
    for await (const f of shown) {
      // Clockwise by 90: displayed (x, y) = stored (y, H - 1 - x), with W = 64, H = 48 stored.
      let maxDiff = 0;
      for (let y = 0; y < 64; y++) {
        for (let x = 0; x < 48; x++) {
          const d = Math.abs((f.y[y * 48 + x] as number) - (storedY[(47 - x) * 64 + y] as number));
          if (d > maxDiff) maxDiff = d;
        }
      }
      expect(maxDiff).toBe(0);
    }
  });

  it('decodes an image sequence at the given framerate', async () => {
    const seq = join(dir, 'seq');
    await mkdir(seq);
    for (let k = 1; k <= 3; k++) await makeImage(join(seq, `f${String(k).padStart(3, '0')}.png`), `color=c=0x${(40 * k).toString(16).padStart(2, '0').repeat(3)}:size=16x8`, 'rgb24');
    const dec = await openDecoder(join(seq, 'f%03d.png'), { framerate: 5 });
    expect(dec.fps).toBe(5);
    const got: [number, number][] = [];
    for await (const f of dec) got.push([f.ptsSec, f.y[0] as number]);
    // Gray levels 40k in full range become 16 + 40k * 219 / 255 in limited-range Y.
    expect(got.map(([t]) => t)).toEqual([0, 0.2, 0.4]);
    for (const [i, [, y]] of got.entries()) expect(Math.abs(y - (16 + (40 * (i + 1) * 219) / 255))).toBeLessThanOrEqual(TOL_RGB_TO_Y);
  });

  it('decodes standard input ("-") from a pipe', async () => {
    const dec = await openDecoder('-', { stdin: createReadStream(solidClip, { highWaterMark: 512 }) });
    const ys: number[] = [];
    for await (const f of dec) ys.push(f.y[0] as number);
    expect(ys).toEqual(Array.from({ length: SOLID.frames }, (_, k) => solidValues(k)[0]));
  });

  it('loops the input with loop: true, indices and timestamps running on', async () => {
    const dec = await openDecoder(solidClip, { loop: true });
    const ys: number[] = [];
    for await (const f of dec) {
      ys.push(f.y[0] as number);
      if (f.index === 24) {
        expect(f.ptsSec).toBeCloseTo(2.4, 9);
        break;
      }
    }
    expect(ys).toEqual(Array.from({ length: 25 }, (_, k) => solidValues(k % SOLID.frames)[0]));
  });

  it('kills ffmpeg when the consumer breaks early: no child left', async () => {
    const before = liveChildCount();
    const dec = await openDecoder('testsrc=size=64x48:rate=25', { inputFormat: 'lavfi' });
    for await (const f of dec) {
      if (f.index === 2) break;
    }
    expect(liveChildCount()).toBe(before);
  });

  it('close() during an iteration stops ffmpeg and ends the loop quietly', async () => {
    const before = liveChildCount();
    const dec = await openDecoder('testsrc=size=64x48:rate=25', { inputFormat: 'lavfi' });
    let n = 0;
    for await (const _ of dec) {
      n += 1;
      if (n === 3) await dec.close();
    }
    expect(n).toBe(3);
    expect(liveChildCount()).toBe(before);
  });

  it('fails E_INPUT_CORRUPT (bad input) with ffmpeg stderr for a truncated file, after the frames that decoded; no child left', async () => {
    const full = await makeClip(join(dir, 'long.mp4'), { frames: 30, source: 'testsrc', extraArgs: ['-movflags', '+faststart'] });
    const bytes = await readFile(full);
    const cut = join(dir, 'cut.mp4');
    await writeFile(cut, bytes.subarray(0, bytes.length >> 1));
    const before = liveChildCount();
    let frames = 0;
    let error: unknown;
    try {
      for await (const _ of await openDecoder(cut)) frames += 1;
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(InputError);
    expect((error as InputError).code).toBe('E_INPUT_CORRUPT');
    expect((error as InputError).message).toMatch(/truncated or corrupt.*ffmpeg said: .+/);
    expect(frames).toBeGreaterThan(0);
    expect(frames).toBeLessThan(30);
    expect(liveChildCount()).toBe(before);
    // allowPartial takes what is there.
    let partial = 0;
    for await (const _ of await openDecoder(cut, { allowPartial: true })) partial += 1;
    expect(partial).toBe(frames);
  });

  it('stops with the abort reason when the signal aborts; no child left', async () => {
    const before = liveChildCount();
    const ac = new AbortController();
    const dec = await openDecoder('testsrc=size=64x48:rate=25', { inputFormat: 'lavfi', signal: ac.signal });
    let error: unknown;
    try {
      for await (const f of dec) if (f.index === 1) ac.abort(new Error('stop now'));
    } catch (err) {
      error = err;
    }
    expect((error as Error).message).toBe('stop now');
    expect(liveChildCount()).toBe(before);
  });
});

describe('lastDistinctLines (what an error quotes of ffmpeg\'s log)', () => {
  it('keeps the last three different lines, in order, and at most 300 characters', () => {
    const repeated = `${'[h264 @ 0x1] error while decoding MB 3 4\n'.repeat(200)}[h264 @ 0x1] concealing 80 errors\nlast line\n`;
    expect(lastDistinctLines(repeated)).toBe('[h264 @ 0x1] error while decoding MB 3 4 | [h264 @ 0x1] concealing 80 errors | last line');
    const long = lastDistinctLines(`${'x'.repeat(1000)}\n`);
    expect(long.length).toBe(300);
    expect(long.startsWith('...')).toBe(true);
    expect(lastDistinctLines('')).toBe('');
  });
});
