/**
 * --rotation-weight: where the crop margin cannot hold both, how much of it goes to rotation. Measured
 * on a clip with a known shake (its true frame-to-frame motions) and the corrections steady wrote: the
 * output's own frame-to-frame motion is C_k^-1 M_k C_(k-1) (C: output pixel -> input pixel).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { invertInto, type Mat3, multiplyInto } from '../../src/motion/mat3.js';
import { runCli } from '../support/cli.js';
import { makeTempDir, removeTempDir } from '../support/ffmpeg-fixtures.js';
import { makeShakyClip, type ShakyClip, stabilizedCorrections } from '../support/shaky-clip.js';

/** The roll left with weight 1 must be below this share of the roll left with the default 0.1. */
const ROLL_SHARE_MAX = 0.8;

let dir = '';
let clip: ShakyClip;
beforeAll(async () => {
  dir = await makeTempDir('steady-rotation-weight-');
  clip = await makeShakyClip(join(dir, 'roll.mkv'), { seed: 77, width: 192, height: 108, frames: 60, jitterPx: 1.5, jitterDeg: 0.8 });
}, 60_000);
afterAll(async () => {
  if (dir) await removeTempDir(dir);
});

/** RMS over frames of the output's frame-to-frame rotation (degrees) and centre shift (pixels). */
async function outputShake(extra: string[], name: string): Promise<{ rollDeg: number; shiftPx: number }> {
  const r = await stabilizedCorrections(clip, dir, name, extra);
  expect(r.code, r.stderr).toBe(0);
  const corrections = r.corrections;
  const inv = new Float64Array(9);
  const t = new Float64Array(9);
  const out = new Float64Array(9);
  let roll = 0;
  let shift = 0;
  const cx = (192 - 1) / 2;
  const cy = (108 - 1) / 2;
  for (let k = 1; k < corrections.length; k++) {
    invertInto(inv, corrections[k] as Mat3);
    multiplyInto(t, clip.motion[k] as Mat3, corrections[k - 1] as Mat3);
    multiplyInto(out, inv, t);
    const a = (Math.atan2(out[3] as number, out[0] as number) * 180) / Math.PI;
    roll += a * a;
    const dx = (out[0] as number) * cx + (out[1] as number) * cy + (out[2] as number) - cx;
    const dy = (out[3] as number) * cx + (out[4] as number) * cy + (out[5] as number) - cy;
    shift += dx * dx + dy * dy;
  }
  return { rollDeg: Math.sqrt(roll / (corrections.length - 1)), shiftPx: Math.sqrt(shift / (corrections.length - 1)) };
}

describe('--rotation-weight', () => {
  it('a higher weight leaves less roll and a little more shift; out of range is refused', async () => {
    const [low, high] = await Promise.all([outputShake([], 'default'), outputShake(['--rotation-weight', '1'], 'w1')]);
    expect(high.rollDeg).toBeLessThan(ROLL_SHARE_MAX * low.rollDeg);
    expect(high.shiftPx).toBeGreaterThan(low.shiftPx);
    const bad = await runCli(['stabilize', clip.path, '-o', join(dir, 'bad.mp4'), '--rotation-weight', '0']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--rotation-weight but received "0"/);
  });
});
