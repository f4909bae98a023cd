/**
 * Colour tags: raw frames on a pipe carry none, so steady reads the source's (probe), says which ones the
 * delivered 8-bit 4:2:0 samples are in (deliveredColour), stores them in the output (encoder `colour`),
 * and says when the conversion takes bits or chroma away (conversionNote). Ground truth: the tags and
 * pixel formats the test clips are made with.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversionNote, deliveredColour, openDecoder } from '../../src/video/decoder.js';
import { containerKeepsColourTags, openEncoder } from '../../src/video/encoder.js';
import { probeVideo, type VideoProbe } from '../../src/video/probe.js';
import { runCli } from '../support/cli.js';
import { ffmpeg, makeClip, makeTempDir, removeTempDir, solidYuvFrame } from '../support/ffmpeg-fixtures.js';

const HLG = { primaries: 'bt2020', transfer: 'arib-std-b67', matrix: 'bt2020nc', range: 'tv' } as const;
const NONE = { primaries: null, transfer: null, matrix: null, range: null } as const;

/** The fields the colour functions read. */
function probeOf(pixFmt: string, bitDepth: number, colour: VideoProbe['colour']): VideoProbe {
  return { pixFmt, bitDepth, colour } as unknown as VideoProbe;
}

let dir = '';
let hlgClip = '';
beforeAll(async () => {
  dir = await makeTempDir('steady-colour-');
  // 10-bit HLG, tagged in the stream (x265's VUI) and the container.
  hlgClip = await makeClip(join(dir, 'hlg.mp4'), {
    width: 96,
    height: 64,
    frames: 12,
    fps: 10,
    source: 'testsrc2',
    codec: 'libx265',
    pixFmt: 'yuv420p10le',
    extraArgs: ['-x265-params', 'log-level=error:colorprim=bt2020:transfer=arib-std-b67:colormatrix=bt2020nc', '-color_primaries', 'bt2020', '-color_trc', 'arib-std-b67', '-colorspace', 'bt2020nc', '-color_range', 'tv'],
  });
});
afterAll(async () => {
  await removeTempDir(dir);
});

describe('colour tags', () => {
  it('probeVideo reads the tags a clip was made with; none on an untagged one', async () => {
    const p = await probeVideo(hlgClip);
    expect(p.colour).toEqual(HLG);
    expect(p.bitDepth).toBe(10);
    const plain = await makeClip(join(dir, 'plain.mp4'), { frames: 3 });
    expect((await probeVideo(plain)).colour.transfer).toBeNull();
  });

  it('deliveredColour: the source\'s tags, limited range for a yuvj source, no matrix for RGB', () => {
    expect(deliveredColour(probeOf('yuv420p10le', 10, HLG))).toEqual(HLG);
    expect(deliveredColour(probeOf('yuvj420p', 8, { ...NONE, range: 'pc', matrix: 'bt470bg' }))).toEqual({ ...NONE, range: 'tv', matrix: 'bt470bg' });
    // Full range is always brought to limited range by the decoder; an untagged range stays untagged.
    expect(deliveredColour(probeOf('yuv420p', 8, { ...NONE, range: 'pc' })).range).toBe('tv');
    expect(deliveredColour(probeOf('yuv422p10le', 10, { ...NONE, range: 'pc' })).range).toBe('tv');
    expect(deliveredColour(probeOf('yuv420p', 8, NONE)).range).toBeNull();
    expect(deliveredColour(probeOf('rgb24', 8, { ...NONE, matrix: 'gbr', primaries: 'bt709' }))).toEqual({ ...NONE, primaries: 'bt709', matrix: 'smpte170m', range: 'tv' });
  });

  it('conversionNote: says what 8-bit 4:2:0 takes (bits, chroma) and names HDR; silent otherwise', () => {
    expect(conversionNote(probeOf('yuv420p', 8, NONE))).toBeNull();
    // Full range is said (it loses levels): a yuvj format or a pc tag, alone or with other losses.
    expect(conversionNote(probeOf('yuvj420p', 8, NONE))).toMatch(/full range \(0-255\): written as limited range \(16-235\)/);
    expect(conversionNote(probeOf('yuv420p', 8, { ...NONE, range: 'pc' }))).toMatch(/full range/);
    expect(conversionNote(probeOf('yuv422p10le', 10, { ...NONE, range: 'pc' }))).toMatch(/10-bit 4:2:2.*full range \(0-255\), written as limited range/);
    expect(conversionNote(probeOf('yuv420p', 8, { ...NONE, range: 'tv' }))).toBeNull();
    expect(conversionNote(probeOf('rgb24', 8, NONE))).toBeNull();
    expect(conversionNote(probeOf('yuv420p10le', 10, HLG))).toMatch(/10-bit \(yuv420p10le\).*8-bit 4:2:0.*HDR \(HLG\)/);
    expect(conversionNote(probeOf('yuv420p10le', 10, { ...HLG, transfer: 'smpte2084' }))).toMatch(/HDR \(PQ\)/);
    expect(conversionNote(probeOf('yuv422p', 8, NONE))).toMatch(/4:2:2 \(yuv422p\)/);
    expect(conversionNote(probeOf('yuv444p12le', 12, NONE))).toMatch(/12-bit 4:4:4/);
    expect(conversionNote(probeOf('yuv420p10le', 10, NONE))).not.toMatch(/HDR/);
    // Where the output keeps no colour tags (GIF, Y4M, Ogg), it does not say the tags stay.
    expect(conversionNote(probeOf('yuv420p10le', 10, HLG), ['side.gif'])).toMatch(/HDR \(HLG\) and stays tagged.*except in "side\.gif", whose format keeps no colour tags/);
    // PQ (HDR10) says its static metadata is not carried over; HLG has none to lose.
    expect(conversionNote(probeOf('yuv420p10le', 10, { ...HLG, transfer: 'smpte2084' }))).toMatch(/HDR \(PQ\).*mastering-display and light-level metadata \(HDR10\), if any, are not carried over/);
    expect(conversionNote(probeOf('yuv420p10le', 10, HLG))).not.toMatch(/mastering-display/);
    expect(containerKeepsColourTags('out.gif') || containerKeepsColourTags('out.y4m') || containerKeepsColourTags('out.ogv')).toBe(false);
    expect(['out.mp4', 'out.mov', 'out.mkv', 'out.webm', '-'].every((f) => containerKeepsColourTags(f))).toBe(true);
  });

  it('an RGB source is made YUV with BT.709 at 720 lines and more, BT.601 below, and tagged so (pure red: Y = 16 + 219 Kr)', async () => {
    // Ground truth: the standards' luma weight of red, Kr = 0.2126 (BT.709) and 0.299 (BT.601), limited range.
    const TOL_LEVEL = 1;
    for (const [size, matrix, kr] of [
      ['96x720', 'bt709', 0.2126],
      ['96x360', 'smpte170m', 0.299],
    ] as const) {
      const png = join(dir, `red-${size}.png`);
      await ffmpeg(['-f', 'lavfi', '-i', `color=c=red:s=${size}`, '-frames:v', '1', png]);
      const probe = await probeVideo(png);
      expect(deliveredColour(probe).matrix).toBe(matrix);
      let frames = 0;
      for await (const f of await openDecoder(png, { probe })) {
        expect(Math.abs((f.y[100 * f.width + 40] as number) - (16 + 219 * kr)), size).toBeLessThanOrEqual(TOL_LEVEL);
        frames++;
      }
      expect(frames).toBe(1);
    }
  });

  it('openEncoder stores the colour it is given; without it, none', async () => {
    for (const [name, colour] of [
      ['tagged.mp4', HLG],
      ['untagged.mp4', undefined],
    ] as const) {
      const out = join(dir, name);
      const enc = await openEncoder(out, { width: 64, height: 48, fps: 10, ...(colour ? { colour } : {}) });
      for (let k = 0; k < 3; k++) await enc.write(solidYuvFrame(64, 48, 100 + k, 128, 128));
      await enc.finish();
      expect((await probeVideo(out)).colour).toEqual(colour ?? NONE);
    }
  });

  it('a full-range 4:2:2 source comes out limited range and tagged so: black 0 -> 16, white 255 -> 235', async () => {
    // Left half black, right half white, full range, 4:2:2, lossless (ffv1).
    const src = join(dir, 'fullrange.mkv');
    await ffmpeg(['-f', 'lavfi', '-i', 'color=c=gray:s=64x48:r=10', '-frames:v', '6', '-vf', "format=yuv422p,geq=lum='if(lt(X,32),0,255)':cb=128:cr=128,setparams=range=pc", '-color_range', 'pc', '-c:v', 'ffv1', src]);
    expect((await probeVideo(src)).colour.range).toBe('pc');
    const out = join(dir, 'fullrange-out.mkv');
    const r = await runCli(['stabilize', src, '-o', out, '--codec', 'ffv1', '--zoom', 'none', '--quiet']);
    if (r.code !== 0) throw new Error(`steady stabilize exited ${r.code}: ${r.stderr}`);
    const p = await probeVideo(out);
    expect(p.colour.range).toBe('tv');
    // BT.601/709 limited range: Y = 16 + 219 * v / 255 (lossless codec: exact, up to swscale's rounding).
    const TOL_LEVEL = 1;
    for await (const f of await openDecoder(out, { probe: p })) {
      expect(Math.abs((f.y[10 * 64 + 4] as number) - 16)).toBeLessThanOrEqual(TOL_LEVEL);
      expect(Math.abs((f.y[10 * 64 + 60] as number) - 235)).toBeLessThanOrEqual(TOL_LEVEL);
    }
  });

  it('openEncoder leaves out a tag name an older ffmpeg does not know (ebu3213), and keeps the others', async () => {
    const out = join(dir, 'ebu.mp4');
    const enc = await openEncoder(out, { width: 64, height: 48, fps: 10, colour: { primaries: 'ebu3213', transfer: 'bt709', matrix: 'bt709', range: 'tv' } });
    for (let k = 0; k < 2; k++) await enc.write(solidYuvFrame(64, 48, 100, 128, 128));
    await enc.finish();
    expect((await probeVideo(out)).colour).toEqual({ primaries: null, transfer: 'bt709', matrix: 'bt709', range: 'tv' });
  });

  it('a GIF gets its RGB from the matrix the samples are in: BT.709 when tagged so, BT.601 for untagged SD', async () => {
    /** A flat frame keeps its colour through a palette of its own; rounding in swscale and the formula. */
    const TOL_RGB = 3;
    const [Y, U, V] = [120, 70, 90];
    const rgb = (kr: number, kb: number): number[] => {
      // Limited-range Y'CbCr to full-range R'G'B' for luma weights kr, kb (ITU-R BT.601 / BT.709).
      const y = ((Y - 16) * 255) / 219;
      const cb = ((U - 128) * 255) / 224;
      const cr = ((V - 128) * 255) / 224;
      const kg = 1 - kr - kb;
      const r = y + 2 * (1 - kr) * cr;
      const b = y + 2 * (1 - kb) * cb;
      const g = (y - kr * r - kb * b) / kg;
      return [r, g, b].map((x) => Math.min(255, Math.max(0, x)));
    };
    for (const [name, colour, truth] of [
      ['bt709.gif', { ...NONE, matrix: 'bt709' }, rgb(0.2126, 0.0722)],
      ['untagged.gif', undefined, rgb(0.299, 0.114)],
    ] as const) {
      const out = join(dir, name);
      const enc = await openEncoder(out, { width: 64, height: 48, fps: 10, ...(colour ? { colour } : {}) });
      for (let k = 0; k < 2; k++) await enc.write(solidYuvFrame(64, 48, Y, U, V));
      await enc.finish();
      const got = await ffmpeg(['-i', out, '-frames:v', '1', '-f', 'rawvideo', '-pix_fmt', 'rgb24', '-']);
      const px = (24 * 64 + 32) * 3;
      for (let c = 0; c < 3; c++) expect(Math.abs((got[px + c] as number) - (truth[c] as number))).toBeLessThanOrEqual(TOL_RGB);
    }
  });

  it('steady stabilize on a 10-bit HLG clip: the output and the side-by-side keep its tags, and the summary says so', async () => {
    const out = join(dir, 'hlg-out.mp4');
    const side = join(dir, 'hlg-side.mp4');
    const r = await runCli(['stabilize', hlgClip, '-o', out, '--compare', side, '--json']);
    if (r.code !== 0) throw new Error(`steady stabilize exited ${r.code}: ${r.stderr}`);
    const summary = JSON.parse(r.stdout.trim()) as { notes: string[] };
    expect(summary.notes.join('\n')).toMatch(/10-bit.*HDR \(HLG\)/);
    for (const f of [out, side]) {
      const p = await probeVideo(f);
      expect(p.colour).toEqual(HLG);
      expect(p.pixFmt).toBe('yuv420p');
    }
  });
});
