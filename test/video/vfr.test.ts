/**
 * Which runs keep each frame's own time (vfr.ts): the rule for the probe's rates and the container, and
 * the output time base that holds both the source's ticks and the nominal rate's grid.
 */
import { describe, expect, it } from 'vitest';
import { ffmpegFeatures, resolveFfmpeg } from '../../src/video/binaries.js';
import type { VideoProbe } from '../../src/video/probe.js';
import { evenSpacingWatch, fixedRateNote, gridTimeBase, OLD_FFMPEG_VFR_NOTE, variableTimingFor } from '../../src/video/vfr.js';

/** The fields variableTimingFor reads; the rest of a probe does not matter to it. */
function probe(p: { format: string; rFrameRate: string; avgFrameRate: string; timeBase: string | null }): VideoProbe {
  const r = p.rFrameRate.split('/').map(Number) as [number, number];
  const a = p.avgFrameRate.split('/').map(Number) as [number, number];
  // As probeVideo: the average rate first.
  return { ...p, fps: a[0] / a[1], fpsRational: p.avgFrameRate, variableFrameRate: Math.abs(r[0] / r[1] - a[0] / a[1]) > 1e-3 * (r[0] / r[1]) } as unknown as VideoProbe;
}

describe('gridTimeBase', () => {
  it('is 1 / lcm(source denominator, rate numerator): both the ticks and every k * den / num fall on it', () => {
    expect(gridTimeBase('1/1000', '30000/1001')).toBe('1/30000');
    expect(gridTimeBase('1/1000', '24000/1001')).toBe('1/24000');
    expect(gridTimeBase('1/1000', '25/1')).toBe('1/1000');
    expect(gridTimeBase('1/1000', '60/1')).toBe('1/3000');
    expect(gridTimeBase('1/12800', '25/1')).toBe('1/12800');
    expect(gridTimeBase('1/90000', '30/1')).toBe('1/90000');
    // The rate reduced first: 50/2 is 25 fps.
    expect(gridTimeBase('1/1000', '50/2')).toBe('1/1000');
    // Check the claim on one case: 7 frames at 30000/1001 is 7 * 1001 ticks of 1/30000, 33 ms is 990.
    expect(((7 * 1001) / 30000) * 30000).toBeCloseTo(7007, 9);
  });

  it("keeps the source's time base when there is no such tick", () => {
    expect(gridTimeBase('1001/30000', '30000/1001')).toBe('1001/30000');
    expect(gridTimeBase('1/1000', '0/0')).toBe('1/1000');
    expect(gridTimeBase('1/1000', 'bad')).toBe('1/1000');
    // lcm(2^30 + 1, 2^30 - 1) is far beyond what a time base holds.
    expect(gridTimeBase(`1/${2 ** 30 + 1}`, `${2 ** 30 - 1}/1`)).toBe(`1/${2 ** 30 + 1}`);
  });
});

describe('variableTimingFor', () => {
  const modern = ffmpegFeatures(resolveFfmpeg().path).fpsMode;

  it('reads frame times when the rates disagree, and in Matroska / WebM always (they report the first frames\' rate for both)', () => {
    const mp4Constant = probe({ format: 'mov,mp4,m4a,3gp,3g2,mj2', rFrameRate: '30/1', avgFrameRate: '30/1', timeBase: '1/15360' });
    const mp4Variable = probe({ format: 'mov,mp4,m4a,3gp,3g2,mj2', rFrameRate: '30/1', avgFrameRate: '2700/97', timeBase: '1/15360' });
    const mkv = probe({ format: 'matroska,webm', rFrameRate: '30000/1001', avgFrameRate: '30000/1001', timeBase: '1/1000' });
    const avi = probe({ format: 'avi', rFrameRate: '25/1', avgFrameRate: '25/1', timeBase: '1/25' });
    expect(variableTimingFor(mp4Constant, false)).toEqual({ decoderTimestamps: false, encoderTimeBase: null, constantRate: false, fps: '30/1' });
    expect(variableTimingFor(avi, false).decoderTimestamps).toBe(false);
    expect(variableTimingFor(mp4Variable, false).decoderTimestamps).toBe(true);
    expect(variableTimingFor(mkv, false).decoderTimestamps).toBe(true);
    // An image sequence is timed by --framerate; an unknown time base gives no times to read.
    expect(variableTimingFor(mkv, true).decoderTimestamps).toBe(false);
    expect(variableTimingFor(probe({ format: 'matroska,webm', rFrameRate: '25/1', avgFrameRate: '25/1', timeBase: null }), false).decoderTimestamps).toBe(false);
    // Frames are written with their times; before ffmpeg 5.1 every output at a fixed rate.
    expect(variableTimingFor(mkv, false)).toEqual({ decoderTimestamps: true, encoderTimeBase: '1/30000', constantRate: !modern, fps: '30000/1001' });
    expect(variableTimingFor(mp4Variable, false).encoderTimeBase).toBe('1/15360');
    // The encoder's rate: the nominal one (the average would drop frames from the clip's faster parts),
    // unless r_frame_rate is far above the average (a fine time base rather than a rate).
    expect(variableTimingFor(mp4Variable, false).fps).toBe('30/1');
    expect(variableTimingFor(probe({ format: 'mov,mp4,m4a,3gp,3g2,mj2', rFrameRate: '90000/1', avgFrameRate: '2700/97', timeBase: '1/90000' }), false).fps).toBe('2700/97');
  });
});

describe('evenSpacingWatch', () => {
  const FPS = 25;
  const timed = { decoderTimestamps: true, encoderTimeBase: '1/1000', constantRate: false, fps: '25/1' } as const;
  const old = { decoderTimestamps: true, encoderTimeBase: '1/1000', constantRate: true, fps: '25/1' } as const;
  const untimed = { decoderTimestamps: false, encoderTimeBase: null, constantRate: false, fps: '25/1' } as const;
  /** Frames 0-9 at k / 25 s, then a 0.6 s gap: frame 10 is 15 frame periods from its evenly spaced place. */
  const gapped = (k: number): number => (k < 10 ? k / FPS : k / FPS + 0.6);
  const run = (w: ReturnType<typeof evenSpacingWatch>, time: (k: number) => number): string | null => {
    for (let k = 0; k < 20; k++) w.see(k, time(k));
    return w.note();
  };

  it('says nothing while the times are even (within half a frame), whatever the outputs', () => {
    for (const t of [timed, old]) expect(run(evenSpacingWatch(t, ['out.mp4', 'side.avi']), (k) => k / FPS + 0.4 / FPS)).toBeNull();
  });

  it('once a time is uneven: names the outputs with a fixed rate (all of them before ffmpeg 5.1); none when all keep the times', () => {
    expect(run(evenSpacingWatch(timed, ['out.mp4', 'side.avi']), gapped)).toBe(fixedRateNote(['side.avi'], FPS));
    expect(fixedRateNote(['side.avi'], FPS)).toMatch(/"side\.avi" holds a fixed rate: frames are repeated or dropped there to keep 25 fps/);
    expect(run(evenSpacingWatch(timed, ['out.mp4', '-', 'side.mkv']), gapped)).toBeNull();
    expect(run(evenSpacingWatch(old, ['out.mp4']), gapped)).toBe(OLD_FFMPEG_VFR_NOTE);
    // No times read: nothing to say.
    expect(run(evenSpacingWatch(untimed, ['side.avi']), gapped)).toBeNull();
  });
});
