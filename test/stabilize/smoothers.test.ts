import { describe, expect, it } from 'vitest';
import { createSmoother, type PathSmoother } from '../../src/stabilize/smoother.js';
import { CausalSmoother } from '../../src/stabilize/smoother-causal.js';
import { GaussianSmoother, gaussianSigma, gaussianSmoothPathInto } from '../../src/stabilize/smoother-gaussian.js';
import { optimizePathInto, TwoPassSmoother } from '../../src/stabilize/smoother-two-pass.js';
import { CameraTrajectory, PATH_DIMS, PathBuffer } from '../../src/stabilize/trajectory.js';
import { hfJitter } from '../support/jitter.js';
import { makeShake } from '../support/shake.js';

const TOL_PX = 1e-8;

/** Pushes samples one by one and records, for each push, the frames that came out. */
function run(s: PathSmoother, samples: readonly number[][]): { outs: Float64Array; firstOutAfter: number } {
  const n = samples.length;
  const outs = new Float64Array(n * PATH_DIMS);
  let firstOutAfter = -1;
  let got = 0;
  const tmp = new Float64Array(PATH_DIMS);
  const drain = () => {
    for (let k = s.pull(tmp, 0); k >= 0; k = s.pull(tmp, 0)) {
      expect(k).toBe(got);
      outs.set(tmp, k * PATH_DIMS);
      got++;
    }
  };
  for (let i = 0; i < n; i++) {
    const v = samples[i] as number[];
    s.push(v[0] as number, v[1] as number, v[2] as number, v[3] as number);
    drain();
    if (got > 0 && firstOutAfter < 0) firstOutAfter = i + 1;
  }
  s.finish();
  drain();
  expect(got).toBe(n);
  return { outs, firstOutAfter };
}

const ramp = (n: number) => Array.from({ length: n }, (_, k) => [3 + 1.5 * k, -2 - 0.25 * k, 0.001 * k, 0.0005 * k]);

/** The shake's raw path x (frame-0 pixels) as samples. */
function shakeSamples(seed: number): { samples: number[][]; raw: PathBuffer; n: number } {
  const sh = makeShake({ seed });
  const raw = new PathBuffer(sh.frames);
  const tr = new CameraTrajectory(sh.width, sh.height, raw);
  for (const m of sh.motions) tr.push(m);
  const samples: number[][] = [];
  for (let k = 0; k < sh.frames; k++) samples.push(Array.from(raw.read(k, new Float64Array(PATH_DIMS))));
  return { samples, raw, n: sh.frames };
}

/** The anchors' jitter measure of a path's x, y (as per-frame differences). */
function pathJitter(path: Float64Array, n: number): number {
  const motions: [number, number, number][] = [[0, 0, 0]];
  for (let k = 1; k < n; k++) {
    motions.push([(path[k * 4] as number) - (path[(k - 1) * 4] as number), (path[k * 4 + 1] as number) - (path[(k - 1) * 4 + 1] as number), 0]);
  }
  return hfJitter(motions).xyPx;
}

describe('Gaussian smoother', () => {
  it(`has a latency of its radius: frame 0 comes out after radius + 1 pushes (radius 15 -> 16), or lookahead + 1`, () => {
    expect(run(new GaussianSmoother(15), ramp(60)).firstOutAfter).toBe(16);
    expect(run(new GaussianSmoother(15, 4), ramp(60)).firstOutAfter).toBe(5);
    expect(run(new GaussianSmoother(0), ramp(60)).firstOutAfter).toBe(1);
    expect(new GaussianSmoother(15).lookahead).toBe(15);
    expect(new GaussianSmoother(15, 4).lookahead).toBe(4);
  });

  it('follows a steady pan exactly, ends and short look-ahead included (the local line has no lag)', () => {
    const samples = ramp(50);
    for (const s of [new GaussianSmoother(10), new GaussianSmoother(10, 3), new GaussianSmoother(10, 0)]) {
      const { outs } = run(s, samples);
      for (let k = 0; k < 50; k++) for (let c = 0; c < 4; c++) expect(Math.abs((outs[k * 4 + c] as number) - ((samples[k] as number[])[c] as number))).toBeLessThan(TOL_PX);
    }
  });

  it('inside the clip, with a full window, it is the Gaussian weighted mean (slow direct sum)', () => {
    const { samples } = shakeSamples(2);
    const r = 12;
    const { outs } = run(new GaussianSmoother(r), samples);
    const sigma = gaussianSigma(r);
    for (const k of [r, 100, 287 - r]) {
      let sw = 0;
      let sv = 0;
      for (let j = k - r; j <= k + r; j++) {
        const w = Math.exp(-((j - k) ** 2) / (2 * sigma * sigma));
        sw += w;
        sv += w * ((samples[j] as number[])[0] as number);
      }
      expect(Math.abs((outs[k * 4] as number) - sv / sw)).toBeLessThan(TOL_PX);
    }
  });

  it('streaming and whole-clip smoothing agree', () => {
    const { samples, raw, n } = shakeSamples(4);
    const { outs } = run(new GaussianSmoother(15, 7), samples);
    const whole = gaussianSmoothPathInto(new Float64Array(n * 4), raw, n, 15, 7);
    for (let i = 0; i < n * 4; i++) expect(Math.abs((outs[i] as number) - (whole[i] as number))).toBeLessThan(TOL_PX);
  });

  it('a radius change takes effect live (latency follows)', () => {
    const s = new GaussianSmoother(10);
    const tmp = new Float64Array(4);
    for (let k = 0; k < 11; k++) s.push(k, 0, 0, 0);
    expect(s.pull(tmp)).toBe(0);
    s.setRadius(20);
    expect(s.lookahead).toBe(20);
    expect(s.pull(tmp)).toBe(-1);
    s.setRadius(3);
    expect(s.pull(tmp)).toBe(1);
  });
});

describe('causal smoother (Brown double exponential)', () => {
  it('has zero latency', () => {
    expect(run(new CausalSmoother(15), ramp(20)).firstOutAfter).toBe(1);
    expect(new CausalSmoother(15).lookahead).toBe(0);
  });

  it('follows a steady pan without lag once settled, and holds a constant exactly', () => {
    const samples = ramp(400);
    const { outs } = run(new CausalSmoother(15), samples);
    const TOL_SETTLED_PX = 1e-3;
    for (let k = 300; k < 400; k++) expect(Math.abs((outs[k * 4] as number) - ((samples[k] as number[])[0] as number))).toBeLessThan(TOL_SETTLED_PX);
    const flat = run(new CausalSmoother(15), Array.from({ length: 30 }, () => [7, -3, 0.1, 0]));
    for (let k = 0; k < 30; k++) expect(flat.outs[k * 4]).toBeCloseTo(7, 12);
  });

  it('matches the recurrence s1 += a (x - s1), s2 += a (s1 - s2), out = 2 s1 - s2 with a = 1 / (radius + 1) (slow version)', () => {
    const { samples } = shakeSamples(5);
    const { outs } = run(new CausalSmoother(9), samples);
    const a = 1 / 10;
    let s1 = (samples[0] as number[])[1] as number;
    let s2 = s1;
    for (let k = 0; k < samples.length; k++) {
      const x = (samples[k] as number[])[1] as number;
      if (k > 0) {
        s1 = s1 + a * (x - s1);
        s2 = s2 + a * (s1 - s2);
      }
      expect(Math.abs((outs[k * 4 + 1] as number) - (2 * s1 - s2))).toBeLessThan(TOL_PX);
    }
  });
});

describe('two-pass smoother (whole clip)', () => {
  it('releases nothing before finish(), then every frame', () => {
    const s = new TwoPassSmoother(15);
    const tmp = new Float64Array(4);
    for (let k = 0; k < 40; k++) s.push(k, 0, 0, 0);
    expect(s.pull(tmp)).toBe(-1);
    expect(s.lookahead).toBe(Number.POSITIVE_INFINITY);
    s.finish();
    for (let k = 0; k < 40; k++) expect(s.pull(tmp)).toBe(k);
    expect(s.pull(tmp)).toBe(-1);
  });

  it('keeps a steady pan (no high-frequency part, no curvature: the optimum is the line itself)', () => {
    const samples = ramp(120);
    const { outs } = run(new TwoPassSmoother(15), samples);
    const TOL_LINE_PX = 1e-3;
    for (let k = 0; k < 120; k++) expect(Math.abs((outs[k * 4] as number) - ((samples[k] as number[])[0] as number))).toBeLessThan(TOL_LINE_PX);
  });

  it('reports its iterations and stops when converged', () => {
    const { raw, n } = shakeSamples(6);
    const target = gaussianSmoothPathInto(new Float64Array(n * 4), raw, n, 15);
    const rep = optimizePathInto(new Float64Array(n * 4), raw, target, n, null, { radius: 15, maxIterations: 5000, tolerancePx: 1e-6 });
    expect(rep.iterations).toBeLessThan(5000);
    expect(rep.lastStepPx).toBeLessThan(1e-6);
  });
});

describe('every smoother removes most of a known shake (no crop constraint)', () => {
  // The raw path of the anchors' recipe has about 3.9 px of high-frequency jitter at 640x360.
  const MAX_RATIO = { gaussian: 0.25, causal: 0.45, 'two-pass': 0.12 } as const;
  for (const kind of ['gaussian', 'causal', 'two-pass'] as const) {
    it(`${kind}: the remaining jitter is at most ${MAX_RATIO[kind]}x the input's`, () => {
      const { samples, raw, n } = shakeSamples(7);
      const input = new Float64Array(n * 4);
      for (let k = 0; k < n; k++) raw.read(k, input, k * 4);
      const { outs } = run(createSmoother(kind, { radius: 15 }), samples);
      expect(pathJitter(outs, n) / pathJitter(input, n)).toBeLessThan(MAX_RATIO[kind]);
    });
  }
});

describe('buffers follow a consumer that falls behind', () => {
  it('gaussian: 500 pushes before the first pull still give the whole-clip result', () => {
    const { samples, raw, n } = shakeSamples(8);
    const s = new GaussianSmoother(15);
    for (const v of samples) s.push(v[0] as number, v[1] as number, v[2] as number, v[3] as number);
    s.finish();
    const whole = gaussianSmoothPathInto(new Float64Array(n * 4), raw, n, 15);
    const tmp = new Float64Array(4);
    for (let k = 0; k < n; k++) {
      expect(s.pull(tmp)).toBe(k);
      for (let c = 0; c < 4; c++) expect(Math.abs((tmp[c] as number) - (whole[k * 4 + c] as number))).toBeLessThan(TOL_PX);
    }
  });
});
