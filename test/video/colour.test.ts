/**
 * Colour tags: raw frames on a pipe carry none, so steady reads the source's (probe), says which ones the
 * delivered 8-bit 4:2:0 samples are in (deliveredColour), stores them in the output (encoder `colour`),
 * and says when the conversion takes bits or chroma away (conversionNote). Ground truth: the tags and
 * pixel formats the test clips are made with.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { conversionNote, deliveredColour } from '../../src/video/decoder.js';
import { openEncoder } from '../../src/video/encoder.js';
import { probeVideo, type VideoProbe } from '../../src/video/probe.js';
import { runCli } from '../support/cli.js';
import { makeClip, makeTempDir, removeTempDir, solidYuvFrame } from '../support/ffmpeg-fixtures.js';

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
    // Full range kept where the decoder does not convert it (a yuv420p stream tagged full range).
    expect(deliveredColour(probeOf('yuv420p', 8, { ...NONE, range: 'pc' })).range).toBe('pc');
    expect(deliveredColour(probeOf('rgb24', 8, { ...NONE, matrix: 'gbr', primaries: 'bt709' }))).toEqual({ ...NONE, primaries: 'bt709', range: 'tv' });
  });

  it('conversionNote: says what 8-bit 4:2:0 takes (bits, chroma) and names HDR; silent otherwise', () => {
    expect(conversionNote(probeOf('yuv420p', 8, NONE))).toBeNull();
    expect(conversionNote(probeOf('yuvj420p', 8, NONE))).toBeNull();
    expect(conversionNote(probeOf('rgb24', 8, NONE))).toBeNull();
    expect(conversionNote(probeOf('yuv420p10le', 10, HLG))).toMatch(/10-bit \(yuv420p10le\).*8-bit 4:2:0.*HDR \(HLG\)/);
    expect(conversionNote(probeOf('yuv420p10le', 10, { ...HLG, transfer: 'smpte2084' }))).toMatch(/HDR \(PQ\)/);
    expect(conversionNote(probeOf('yuv422p', 8, NONE))).toMatch(/4:2:2 \(yuv422p\)/);
    expect(conversionNote(probeOf('yuv444p12le', 12, NONE))).toMatch(/12-bit 4:4:4/);
    expect(conversionNote(probeOf('yuv420p10le', 10, NONE))).not.toMatch(/HDR/);
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
