import { describe, expect, it } from 'vitest';
import { SteadyError } from '../../src/errors.js';
import { invertInto, type Mat3, multiplyInto } from '../../src/motion/mat3.js';
import {
  createPathPlanner,
  DEFAULT_MAX_ZOOM,
  type PathPlannerOptions,
  type PlannedFrame,
  planCameraPath,
  ZOOM_RATE_PER_FRAME,
  ZOOM_RELEASE_PER_FRAME,
} from '../../src/stabilize/framing.js';
import { poseMatrixInto } from '../../src/stabilize/trajectory.js';
import { hfJitter } from '../support/jitter.js';
import { cornerExcursion, inputCenterMotions, makeShake, outputCenterMotions, type Shake } from '../support/shake.js';

/** A corner may map this far outside the frame and still count as inside (rounding), pixels. */
const TOL_FILL_PX = 1e-6;
/** The remaining high-frequency jitter must be at most this share of the input's (the brief's 0.3x). */
const MAX_JITTER_RATIO = 0.3;
/** A causal smoother sees no future: its bound, radius 15. */
const MAX_JITTER_RATIO_CAUSAL = 0.45;
/** RMS distance of the followed path from the intended path, pixels (the raw path is 4.2 px away). */
const TOL_PATH_RMS_PX = 2.6;
const TOL_IDENTITY = 1e-12;

const SHAKE = makeShake({ seed: 1 });
const SHAKE2 = makeShake({ seed: 2 });


/** Streams motions through a planner, pulling after every push; returns every plan in order. */
function stream(options: PathPlannerOptions, motions: readonly Mat3[]): { frames: PlannedFrame[]; firstOutAfter: number } {
  const p = createPathPlanner(options);
  const frames: PlannedFrame[] = [];
  let firstOutAfter = -1;
  motions.forEach((m, i) => {
    p.push(m);
    for (let f = p.pull(); f !== null; f = p.pull()) frames.push(f);
    if (frames.length > 0 && firstOutAfter < 0) firstOutAfter = i + 1;
  });
  p.finish();
  for (let f = p.pull(); f !== null; f = p.pull()) frames.push(f);
  return { frames, firstOutAfter };
}

function jitterRatio(sh: Shake, frames: readonly PlannedFrame[]): number {
  const input = hfJitter(inputCenterMotions(sh.motions, sh.width, sh.height)).xyPx;
  const output = hfJitter(
    outputCenterMotions(
      sh.motions,
      frames.map((f) => f.correction),
      sh.width,
      sh.height,
    ),
  ).xyPx;
  return output / input;
}

/** RMS distance of the followed path's centre from the intended camera's, in frame-0 pixels. */
function distanceFromIntended(sh: Shake, frames: readonly PlannedFrame[]): number {
  const g0 = invertInto(new Float64Array(9), sh.cameras[0] as Mat3) as Mat3;
  const t = new Float64Array(9);
  const cx = (sh.width - 1) / 2;
  const cy = (sh.height - 1) / 2;
  let ss = 0;
  frames.forEach((f, k) => {
    multiplyInto(t, g0, sh.intendedCameras[k] as Mat3);
    const ix = (t[0] as number) * cx + (t[1] as number) * cy + (t[2] as number) - cx;
    const iy = (t[3] as number) * cx + (t[4] as number) * cy + (t[5] as number) - cy;
    ss += (f.smoothedPath[0] - ix) ** 2 + (f.smoothedPath[1] - iy) ** 2;
  });
  return Math.sqrt(ss / frames.length);
}

const base = (sh: Shake): PathPlannerOptions => ({ width: sh.width, height: sh.height });

describe('framing a known shake (the anchors recipe at 640x360, exact motions)', () => {
  const cases = [
    { name: 'default (gaussian, auto zoom, whole clip known)', whole: true, opts: {} },
    { name: 'two-pass, auto zoom', whole: true, opts: { smoother: 'two-pass' } },
    { name: 'causal, auto zoom (whole clip known)', whole: true, opts: { smoother: 'causal' } },
    { name: 'two-pass, adaptive zoom', whole: true, opts: { smoother: 'two-pass', zoom: 'adaptive' } },
    { name: 'gaussian streaming, adaptive zoom', whole: false, opts: { zoom: 'adaptive' } },
    { name: 'gaussian streaming, default options (auto acts as adaptive)', whole: false, opts: {} },
    { name: 'gaussian streaming, 3 % zoom', whole: false, opts: { zoom: { percent: 3 } } },
    { name: 'causal streaming, adaptive zoom', whole: false, opts: { smoother: 'causal', zoom: 'adaptive' } },
  ] as const;
  for (const c of cases) {
    for (const sh of [SHAKE, SHAKE2]) {
      const opts: PathPlannerOptions = { ...base(sh), ...(c.opts as Partial<PathPlannerOptions>) };
      const frames = c.whole ? (planCameraPath(sh.motions, opts).frames as PlannedFrame[]) : stream(opts, sh.motions).frames;
      const causal = 'smoother' in c.opts && c.opts.smoother === 'causal';
      const maxRatio = causal ? MAX_JITTER_RATIO_CAUSAL : MAX_JITTER_RATIO;
      it(`${c.name}: no frame shows fill (every output corner maps inside the input frame) [${sh === SHAKE ? 'seed 1' : 'seed 2'}]`, () => {
        expect(frames.length).toBe(sh.frames);
        let worst = Number.NEGATIVE_INFINITY;
        for (const f of frames) worst = Math.max(worst, cornerExcursion(f.correction, sh.width, sh.height));
        expect(worst).toBeLessThanOrEqual(TOL_FILL_PX);
        expect(frames.filter((f) => f.fill).length).toBe(0);
      });
      it(`${c.name}: the remaining jitter is at most ${maxRatio}x the input's [${sh === SHAKE ? 'seed 1' : 'seed 2'}]`, () => {
        expect(jitterRatio(sh, frames)).toBeLessThanOrEqual(maxRatio);
      });
      if (!causal) {
        it(`${c.name}: the followed path stays within ${TOL_PATH_RMS_PX} px RMS of the intended path [${sh === SHAKE ? 'seed 1' : 'seed 2'}]`, () => {
          expect(distanceFromIntended(sh, frames)).toBeLessThanOrEqual(TOL_PATH_RMS_PX);
        });
      }
    }
  }

  it('zoom none shows the fill it cannot avoid, and reports it per frame', () => {
    const frames = planCameraPath(SHAKE.motions, { ...base(SHAKE), zoom: 'none' }).frames;
    for (const f of frames) expect(f.fill).toBe(cornerExcursion(f.correction, SHAKE.width, SHAKE.height) > TOL_FILL_PX);
    expect(frames.filter((f) => f.fill).length).toBeGreaterThan(SHAKE.frames / 2);
    expect(frames.every((f) => f.zoom === 1)).toBe(true);
  });

  it('the correction is P_k^-1 Q_k Z^-1 of the reported raw and followed paths (independent composition)', () => {
    const frames = planCameraPath(SHAKE.motions, { ...base(SHAKE), smoother: 'two-pass' }).frames;
    const cx = (SHAKE.width - 1) / 2;
    const cy = (SHAKE.height - 1) / 2;
    const P = new Float64Array(9);
    const Q = new Float64Array(9);
    const C = new Float64Array(9);
    for (const f of frames) {
      poseMatrixInto(P, f.rawPath[0], f.rawPath[1], f.rawPath[2], 0, cx, cy);
      poseMatrixInto(Q, f.smoothedPath[0], f.smoothedPath[1], f.smoothedPath[2], 0, cx, cy);
      invertInto(P, P);
      multiplyInto(C, P, Q);
      const z = Float64Array.of(1 / f.zoom, 0, cx - cx / f.zoom, 0, 1 / f.zoom, cy - cy / f.zoom, 0, 0, 1);
      multiplyInto(C, C, z);
      for (let i = 0; i < 9; i++) expect(Math.abs((C[i] as number) - (f.correction[i] as number))).toBeLessThan(1e-9);
    }
  });
});

describe('auto zoom', () => {
  it('is the smallest static zoom that hides every border of the planned path (brute-force search over zooms)', () => {
    for (const smoother of ['gaussian', 'two-pass'] as const) {
      const plan = planCameraPath(SHAKE.motions, { ...base(SHAKE), smoother });
      const z0 = plan.frames[0]?.zoom as number;
      expect(plan.frames.every((f) => f.zoom === z0)).toBe(true);
      const cx = (SHAKE.width - 1) / 2;
      const cy = (SHAKE.height - 1) / 2;
      // Undo the plan's zoom: E_k = C_k Z(z0), then search z on a grid for the smallest with no fill anywhere.
      const E = plan.frames.map((f) => multiplyInto(new Float64Array(9), f.correction, Float64Array.of(z0, 0, cx - cx * z0, 0, z0, cy - cy * z0, 0, 0, 1)));
      const fillsAt = (z: number) => E.some((e) => cornerExcursion(multiplyInto(new Float64Array(9), e, Float64Array.of(1 / z, 0, cx - cx / z, 0, 1 / z, cy - cy / z, 0, 0, 1)), SHAKE.width, SHAKE.height) > TOL_FILL_PX);
      const STEP = 1e-4;
      let z = 1;
      while (fillsAt(z)) z += STEP;
      expect(Math.abs(z - z0)).toBeLessThanOrEqual(STEP);
      expect(fillsAt(z0 - STEP)).toBe(true);
      expect(fillsAt(z0)).toBe(false);
    }
  });

  it('stays within maxZoom', () => {
    const plan = planCameraPath(SHAKE.motions, { ...base(SHAKE), smoother: 'two-pass', maxZoom: 1.01 });
    expect(plan.meanZoom).toBeLessThanOrEqual(1.01 + 1e-12);
    expect(plan.fillFrames).toBe(0);
  });
});

describe('a static clip', () => {
  const motions = Array.from({ length: 60 }, () => Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1));
  const opts = { width: 320, height: 180 };
  for (const smoother of ['gaussian', 'causal', 'two-pass'] as const) {
    for (const zoom of ['auto', 'adaptive', 'none'] as const) {
      it(`${smoother}, zoom ${zoom}: identity corrections and zoom 1 (no motion added), streaming and whole clip`, () => {
        const a = planCameraPath(motions, { ...opts, smoother, zoom }).frames;
        const b = stream({ ...opts, smoother, zoom }, motions).frames;
        for (const f of [...a, ...b]) {
          expect(f.zoom).toBe(1);
          expect(f.fill).toBe(false);
          const id = [1, 0, 0, 0, 1, 0, 0, 0, 1];
          for (let i = 0; i < 9; i++) expect(Math.abs((f.correction[i] as number) - (id[i] as number))).toBeLessThan(TOL_IDENTITY);
        }
      });
    }
  }
});

describe('caps', () => {
  const MAX_SHIFT_PX = 1.5;
  const MAX_ANGLE_RAD = 0.003;
  for (const [name, whole, smoother] of [
    ['two-pass', true, 'two-pass'],
    ['gaussian streaming', false, 'gaussian'],
    ['causal streaming', false, 'causal'],
  ] as const) {
    it(`${name}: every correction shifts the centre by at most maxShiftPx and turns by at most maxAngleRad`, () => {
      const opts: PathPlannerOptions = { ...base(SHAKE), smoother, zoom: 'adaptive', maxShiftPx: MAX_SHIFT_PX, maxAngleRad: MAX_ANGLE_RAD };
      const frames = whole ? planCameraPath(SHAKE.motions, opts).frames : stream(opts, SHAKE.motions).frames;
      const cx = (SHAKE.width - 1) / 2;
      const cy = (SHAKE.height - 1) / 2;
      let maxShift = 0;
      let maxAngle = 0;
      for (const f of frames) {
        const c = f.correction;
        // The zoom is about the centre, so the centre's displacement is the correction's shift.
        const sx = (c[0] as number) * cx + (c[1] as number) * cy + (c[2] as number) - cx;
        const sy = (c[3] as number) * cx + (c[4] as number) * cy + (c[5] as number) - cy;
        maxShift = Math.max(maxShift, Math.hypot(sx, sy));
        maxAngle = Math.max(maxAngle, Math.abs(Math.atan2(c[3] as number, c[0] as number)));
      }
      expect(maxShift).toBeLessThanOrEqual(MAX_SHIFT_PX + 1e-9);
      expect(maxAngle).toBeLessThanOrEqual(MAX_ANGLE_RAD + 1e-12);
      // The caps bind on this shake (3 px RMS jitter): they are not vacuous.
      expect(maxShift).toBeGreaterThan(0.9 * MAX_SHIFT_PX);
    });
  }
});

describe('latency', () => {
  const motions = SHAKE.motions.slice(0, 60);
  it('gaussian: radius frames (15 -> the first plan after 16 pushes); a shorter look-ahead lowers it', () => {
    expect(stream({ ...base(SHAKE), radius: 15 }, motions).firstOutAfter).toBe(16);
    expect(createPathPlanner({ ...base(SHAKE), radius: 15 }).latencyFrames).toBe(15);
    expect(stream({ ...base(SHAKE), radius: 15, lookahead: 5 }, motions).firstOutAfter).toBe(6);
    expect(createPathPlanner({ ...base(SHAKE), radius: 15, lookahead: 5 }).latencyFrames).toBe(5);
  });
  it('causal: zero', () => {
    expect(stream({ ...base(SHAKE), smoother: 'causal' }, motions).firstOutAfter).toBe(1);
    expect(createPathPlanner({ ...base(SHAKE), smoother: 'causal' }).latencyFrames).toBe(0);
  });
  it('whole clip known up front: every plan is ready at once', () => {
    const p = createPathPlanner({ ...base(SHAKE), smoother: 'two-pass', knownMotions: motions });
    expect(p.latencyFrames).toBe(0);
    for (let k = 0; k < 60; k++) expect(p.pull()?.index).toBe(k);
    expect(p.pull()).toBeNull();
  });
  it('a live radius change changes the latency', () => {
    const p = createPathPlanner({ ...base(SHAKE), radius: 15 });
    p.setRadius(4);
    expect(p.latencyFrames).toBe(4);
  });
});

describe('every option changes the plan', () => {
  const sh = SHAKE;
  const corrections = (opts: Partial<PathPlannerOptions>, whole = true): Float64Array => {
    const full = { ...base(sh), ...opts };
    const frames = whole ? planCameraPath(sh.motions, full).frames : stream(full, sh.motions).frames;
    const out = new Float64Array(frames.length * 9);
    frames.forEach((f, k) => {
      out.set(f.correction, k * 9);
    });
    return out;
  };
  const differ = (a: Float64Array, b: Float64Array) => {
    let m = 0;
    for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs((a[i] as number) - (b[i] as number)));
    return m;
  };
  const MIN_CHANGE = 1e-3;
  const reference = corrections({ zoom: 'adaptive' });
  const variants: [string, Partial<PathPlannerOptions>, boolean][] = [
    ['smoother causal', { zoom: 'adaptive', smoother: 'causal' }, true],
    ['smoother two-pass', { zoom: 'adaptive', smoother: 'two-pass' }, true],
    ['radius 8', { zoom: 'adaptive', radius: 8 }, true],
    ['lookahead 5', { zoom: 'adaptive', lookahead: 5 }, true],
    ['zoom auto', { zoom: 'auto' }, true],
    ['zoom none', { zoom: 'none' }, true],
    ['zoom 3 %', { zoom: { percent: 3 } }, true],
    ['maxZoom 1.02', { zoom: 'adaptive', maxZoom: 1.02 }, true],
    ['maxShiftPx 2', { zoom: 'adaptive', maxShiftPx: 2 }, true],
    ['maxAngleRad 0.002', { zoom: 'adaptive', maxAngleRad: 0.002 }, true],
    ['rotationWeight 1', { zoom: 'adaptive', rotationWeight: 1 }, true],
    ['streaming instead of whole clip', { zoom: 'adaptive' }, false],
  ];
  for (const [name, opts, whole] of variants) {
    it(name, () => {
      expect(differ(corrections(opts, whole), reference)).toBeGreaterThan(MIN_CHANGE);
    });
  }
  it('setZoom and setRadius act live on a streaming plan', () => {
    const a = stream({ ...base(sh) }, sh.motions).frames;
    const p = createPathPlanner({ ...base(sh) });
    const b: PlannedFrame[] = [];
    sh.motions.forEach((m, k) => {
      if (k === 100) {
        p.setZoom('none');
        p.setRadius(5);
      }
      p.push(m);
      for (let f = p.pull(); f !== null; f = p.pull()) b.push(f);
    });
    p.finish();
    for (let f = p.pull(); f !== null; f = p.pull()) b.push(f);
    expect(b.length).toBe(sh.frames);
    expect(b[200]?.zoom).toBe(1);
    expect(differ(a[200]?.correction as Float64Array, b[200]?.correction as Float64Array)).toBeGreaterThan(MIN_CHANGE);
  });
});

describe('adaptive zoom', () => {
  for (const [name, whole] of [
    ['whole clip', true],
    ['streaming', false],
  ] as const) {
    it(`${name}: rises by at most ${ZOOM_RATE_PER_FRAME} and falls by at most ${ZOOM_RELEASE_PER_FRAME} per frame, within [1, maxZoom]`, () => {
      const opts: PathPlannerOptions = { ...base(SHAKE), zoom: 'adaptive' };
      const frames = whole ? planCameraPath(SHAKE.motions, opts).frames : stream(opts, SHAKE.motions).frames;
      for (let k = 0; k < frames.length; k++) {
        const z = frames[k]?.zoom as number;
        expect(z).toBeGreaterThanOrEqual(1);
        expect(z).toBeLessThanOrEqual(DEFAULT_MAX_ZOOM);
        if (k > 0) {
          const dz = z - (frames[k - 1]?.zoom as number);
          expect(dz).toBeLessThanOrEqual(ZOOM_RATE_PER_FRAME + 1e-12);
          expect(-dz).toBeLessThanOrEqual(ZOOM_RELEASE_PER_FRAME + 1e-12);
        }
      }
    });
  }
});

describe('options are validated at the edge', () => {
  const bad: [string, Partial<PathPlannerOptions> & Record<string, unknown>, RegExp][] = [
    ['width 1', { width: 1 }, /Expected an integer 2\.\.65536 for width but received 1/],
    ['radius -1', { radius: -1 }, /for radius but received -1/],
    ['smoother', { smoother: 'box' as never }, /Expected one of gaussian\|causal\|two-pass for smoother but received "box"/],
    ['zoom text', { zoom: 'big' as never }, /Expected none\|auto\|adaptive\|\{percent\} for zoom but received "big"/],
    ['zoom percent', { zoom: { percent: -5 } }, /for zoom\.percent but received -5/],
    ['maxZoom', { maxZoom: 0.5 }, /for maxZoom but received 0\.5/],
    ['rotationWeight', { rotationWeight: 0 }, /for rotationWeight but received 0/],
  ];
  for (const [name, opts, message] of bad) {
    it(name, () => {
      let err: unknown = null;
      try {
        createPathPlanner({ width: 64, height: 48, ...opts } as PathPlannerOptions);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(SteadyError);
      expect((err as SteadyError).code).toBe('E_BAD_OPTION');
      expect((err as Error).message).toMatch(message);
    });
  }
});

describe('a consumer that falls behind', () => {
  it('pushing a whole clip (longer than the rings) before pulling gives the same plans as pulling after every push', () => {
    const long = makeShake({ seed: 4, frames: 700 });
    const opts = { ...base(long), zoom: 'adaptive' as const };
    const a = stream(opts, long.motions).frames;
    const p = createPathPlanner(opts);
    for (const m of long.motions) p.push(m);
    p.finish();
    const b: PlannedFrame[] = [];
    for (let f = p.pull(); f !== null; f = p.pull()) b.push(f);
    expect(b.length).toBe(a.length);
    for (let k = 0; k < a.length; k++) for (let i = 0; i < 9; i++) expect(b[k]?.correction[i]).toBe(a[k]?.correction[i]);
  });
});

describe('a camera that also zooms (similarity motions)', () => {
  it('a shake on a steady 0.2 %/frame zoom-in: no fill, and the output keeps the steady zoom (no scale correction beyond the shake)', () => {
    const sh = makeShake({ seed: 5, frames: 200 });
    const cx = (sh.width - 1) / 2;
    const cy = (sh.height - 1) / 2;
    const SCALE_STEP = 1.002;
    // motion' = S motion with S a zoom about the centre: the content grows by 0.2 % per frame.
    const S = Float64Array.of(SCALE_STEP, 0, cx - SCALE_STEP * cx, 0, SCALE_STEP, cy - SCALE_STEP * cy, 0, 0, 1);
    const motions = sh.motions.map((m, k) => (k === 0 ? m : multiplyInto(new Float64Array(9), S, m)));
    for (const smoother of ['gaussian', 'two-pass'] as const) {
      const frames = planCameraPath(motions, { width: sh.width, height: sh.height, smoother }).frames;
      let worst = Number.NEGATIVE_INFINITY;
      let worstScale = 0;
      for (const f of frames) {
        worst = Math.max(worst, cornerExcursion(f.correction, sh.width, sh.height));
        // Relative scale of the correction (zoom undone): a steady zoom is kept, so it stays near 1.
        const s = Math.hypot(f.correction[0] as number, f.correction[3] as number) * f.zoom;
        worstScale = Math.max(worstScale, Math.abs(s - 1));
      }
      expect(worst).toBeLessThanOrEqual(TOL_FILL_PX);
      const TOL_SCALE = 1e-3;
      expect(worstScale).toBeLessThan(TOL_SCALE);
    }
  });
});
