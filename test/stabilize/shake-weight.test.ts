/**
 * --shake-weight: where the crop margin cannot hold both, how much of it goes to the frame-to-frame shake
 * against the slow sway. Measured on a clip with a known shake (its true frame-to-frame motions) and the
 * corrections steady wrote, by the anchors' two measures: the >= 1 Hz content of the output's motion per
 * frame (window-free) and the 31-frame moving-average residual of its path.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../support/cli.js';
import { makeTempDir, removeTempDir } from '../support/ffmpeg-fixtures.js';
import { hfJitter } from '../support/jitter.js';
import { hfVelocity, outputCenterMotions } from '../support/shake.js';
import { makeShakyClip, type ShakyClip, stabilizedCorrections } from '../support/shaky-clip.js';

const W = 192;
const H = 108;
const FPS = 30;
/** The default weight must leave at most this share of the >= 1 Hz shake weight 0 leaves (measured: 0.72, for 1.27x the residual). */
const FAST_SHAKE_SHARE_MAX = 0.85;
/** ... for at most this factor of the residual weight 0 leaves (measured: 1.27). */
const RESIDUAL_FACTOR_MAX = 1.5;

let dir = '';
let clip: ShakyClip;
beforeAll(async () => {
  dir = await makeTempDir('steady-shake-weight-');
  clip = await makeShakyClip(join(dir, 'walk.mkv'), { seed: 78, width: W, height: H, frames: 150, fps: FPS, jitterPx: 2, jitterDeg: 0.3 });
}, 60_000);
afterAll(async () => {
  if (dir) await removeTempDir(dir);
});

/** The anchors' two measures of the output, from the corrections steady wrote and the true motions. */
async function outputShake(extra: string[], name: string): Promise<{ fastPx: number; residualPx: number }> {
  const r = await stabilizedCorrections(clip, dir, name, extra);
  expect(r.code, r.stderr).toBe(0);
  const out = outputCenterMotions(clip.motion, r.corrections, W, H);
  return { fastPx: hfVelocity(out, FPS).xyPx, residualPx: hfJitter(out).xyPx };
}

describe('--shake-weight', () => {
  it('the default weight leaves less fast shake than weight 0 and a little more residual; out of range is refused', async () => {
    const [plain, weighted] = await Promise.all([outputShake(['--shake-weight', '0'], 'w0'), outputShake([], 'default')]);
    expect(weighted.fastPx).toBeLessThan(FAST_SHAKE_SHARE_MAX * plain.fastPx);
    expect(weighted.residualPx).toBeGreaterThan(plain.residualPx);
    expect(weighted.residualPx).toBeLessThan(RESIDUAL_FACTOR_MAX * plain.residualPx);
    const bad = await runCli(['stabilize', clip.path, '-o', join(dir, 'bad.mp4'), '--shake-weight', '-1']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--shake-weight but received "-1"/);
  });
});
