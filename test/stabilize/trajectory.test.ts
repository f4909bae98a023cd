import { describe, expect, it } from 'vitest';
import { invertInto, type Mat3, multiplyInto } from '../../src/motion/mat3.js';
import { composeMotionInto } from '../../src/stabilize/motion-params.js';
import { CameraTrajectory, PATH_ANGLE, PATH_LOG_SCALE, PATH_X, PATH_Y, PathBuffer, poseMatrixInto } from '../../src/stabilize/trajectory.js';
import { makeShake } from '../support/shake.js';

const TOL_PX = 1e-7;
const TOL_RAD = 1e-12;

function maxAbsDiff(a: Mat3, b: Mat3): number {
  let m = 0;
  for (let i = 0; i < 9; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
  return m;
}

describe('camera trajectory from frame-to-frame motions', () => {
  it('the pose of every frame equals the true camera relative to frame 0 (G_0^-1 G_k) on a known shake', () => {
    const sh = makeShake({ seed: 3, frames: 300 });
    const tr = new CameraTrajectory(sh.width, sh.height, new PathBuffer(16));
    for (const m of sh.motions) tr.push(m);
    const g0inv = invertInto(new Float64Array(9), sh.cameras[0] as Mat3) as Mat3;
    const truth = new Float64Array(9);
    const pose = new Float64Array(9);
    const cx = (sh.width - 1) / 2;
    const cy = (sh.height - 1) / 2;
    let worst = 0;
    for (let k = 0; k < sh.frames; k++) {
      multiplyInto(truth, g0inv, sh.cameras[k] as Mat3);
      const p = tr.path;
      poseMatrixInto(pose, p.get(k, PATH_X), p.get(k, PATH_Y), p.get(k, PATH_ANGLE), p.get(k, PATH_LOG_SCALE), cx, cy);
      worst = Math.max(worst, maxAbsDiff(pose, truth));
    }
    // Matrix entries: translations in px, so this bounds the pose error in px (and radians).
    expect(worst).toBeLessThan(TOL_PX);
  });

  it('the path is the motion of the image centre: a pure pan of +2 px/frame in content motion gives x = -2k', () => {
    const tr = new CameraTrajectory(101, 51, new PathBuffer(4));
    const m = Float64Array.of(1, 0, 2, 0, 1, 0, 0, 0, 1); // content moves right: the camera moves left
    for (let k = 0; k < 10; k++) tr.push(m);
    for (let k = 0; k < 10; k++) {
      expect(Math.abs(tr.path.get(k, PATH_X) + 2 * k)).toBeLessThan(TOL_PX);
      expect(Math.abs(tr.path.get(k, PATH_Y))).toBeLessThan(TOL_PX);
    }
  });

  it('angles accumulate without wrapping: 100 frames of 10 degrees reach -1000 degrees continuously', () => {
    const tr = new CameraTrajectory(64, 48, new PathBuffer(8));
    const step = (10 * Math.PI) / 180;
    const m = composeMotionInto(new Float64Array(9), 0, 0, step, 1, 31.5, 23.5);
    for (let k = 0; k < 101; k++) tr.push(m);
    for (let k = 0; k <= 100; k++) expect(Math.abs(tr.path.get(k, PATH_ANGLE) + k * step)).toBeLessThan(1e-9);
  });

  it('scale accumulates as a log: 1 % zoom-in per frame gives ln s = -k ln 1.01', () => {
    const tr = new CameraTrajectory(64, 48, new PathBuffer(8));
    const m = composeMotionInto(new Float64Array(9), 0.5, 0, 0.001, 1.01, 31.5, 23.5);
    for (let k = 0; k < 50; k++) tr.push(m);
    for (let k = 0; k < 50; k++) expect(Math.abs(tr.path.get(k, PATH_LOG_SCALE) + k * Math.log(1.01))).toBeLessThan(TOL_RAD * 100);
  });

  it('a motion that is not finite counts as no motion', () => {
    const tr = new CameraTrajectory(64, 48, new PathBuffer(8));
    tr.push(Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1));
    tr.push(Float64Array.of(1, 0, 3, 0, 1, 0, 0, 0, 1));
    tr.push(Float64Array.of(Number.NaN, 0, 3, 0, 1, 0, 0, 0, 1));
    expect(tr.path.get(2, PATH_X)).toBe(tr.path.get(1, PATH_X));
  });

  it('reset starts a new path at frame 0', () => {
    const tr = new CameraTrajectory(64, 48, new PathBuffer(8));
    tr.push(Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1));
    tr.push(Float64Array.of(1, 0, 3, 0, 1, 0, 0, 0, 1));
    tr.reset();
    expect(tr.push(Float64Array.of(1, 0, 3, 0, 1, 0, 0, 0, 1))).toBe(0);
    expect(tr.path.get(0, PATH_X)).toBe(0);
  });
});

describe('path buffer', () => {
  it('a growable buffer keeps every sample through its growths', () => {
    const b = new PathBuffer(2);
    for (let k = 0; k < 1000; k++) b.push(k, -k, k / 10, k / 100);
    expect(b.length).toBe(1000);
    expect(b.first).toBe(0);
    for (const k of [0, 1, 2, 3, 511, 999]) {
      expect(b.get(k, PATH_X)).toBe(k);
      expect(b.get(k, PATH_Y)).toBe(-k);
      expect(b.get(k, PATH_ANGLE)).toBe(k / 10);
      expect(b.get(k, PATH_LOG_SCALE)).toBe(k / 100);
    }
    const out = b.read(7, new Float64Array(6), 2);
    expect(Array.from(out)).toEqual([0, 0, 7, -7, 0.7, 0.07]);
  });

  it('a ring keeps the newest samples at their absolute indices and never grows', () => {
    const b = new PathBuffer(5, true);
    for (let k = 0; k < 23; k++) b.push(k, 0, 0, 0);
    expect(b.capacity).toBe(5);
    expect(b.first).toBe(18);
    for (let k = 18; k < 23; k++) expect(b.get(k, PATH_X)).toBe(k);
  });

  it('resizing a ring keeps the newest samples', () => {
    const b = new PathBuffer(5, true);
    for (let k = 0; k < 12; k++) b.push(k, 0, 0, 0);
    b.resizeRing(9);
    expect(b.first).toBe(3);
    for (let k = 7; k < 12; k++) expect(b.get(k, PATH_X)).toBe(k);
    for (let k = 12; k < 20; k++) b.push(k, 0, 0, 0);
    for (let k = 11; k < 20; k++) expect(b.get(k, PATH_X)).toBe(k);
    b.resizeRing(3);
    for (let k = 17; k < 20; k++) expect(b.get(k, PATH_X)).toBe(k);
  });
});
