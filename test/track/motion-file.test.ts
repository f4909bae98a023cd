import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import type { Mat3 } from '../../src/motion/mat3.js';
import type { FrameMotion } from '../../src/stabilize/frame-types.js';
import {
  type Corners,
  formatMotionFile,
  MotionFileEncoder,
  type MotionFile,
  type MotionRecord,
  motionCsvColumns,
  motionFormatFromPath,
  parseMotionFile,
  ROI_STATUSES,
} from '../../src/track/motion-file.js';
import { createRng, uniform } from '../support/track-rng.js';

function randomMatrix(rng: () => number, homography = false): Mat3 {
  const m = Float64Array.of(
    1 + uniform(rng, -0.05, 0.05),
    uniform(rng, -0.05, 0.05),
    uniform(rng, -20, 20),
    uniform(rng, -0.05, 0.05),
    1 + uniform(rng, -0.05, 0.05),
    uniform(rng, -20, 20),
    0,
    0,
    1,
  );
  if (homography) {
    m[6] = uniform(rng, -1e-4, 1e-4);
    m[7] = uniform(rng, -1e-4, 1e-4);
  }
  return m;
}

function randomCorners(rng: () => number): Corners {
  return [
    [uniform(rng, 0, 640), uniform(rng, 0, 360)],
    [uniform(rng, 0, 640), uniform(rng, 0, 360)],
    [uniform(rng, 0, 640), uniform(rng, 0, 360)],
    [uniform(rng, 0, 640), uniform(rng, 0, 360)],
  ];
}

/** A clip's worth of records with every optional field, some frames failed (cc NaN) and some ROI lost. */
function randomFile(seed: number, n: number, withStab: boolean, withRoi: boolean): MotionFile {
  const rng = createRng(seed);
  const frames: MotionRecord[] = [];
  for (let k = 0; k < n; k++) {
    const failed = rng() < 0.2;
    const status = ROI_STATUSES[Math.floor(rng() * ROI_STATUSES.length)] ?? 'tracked';
    frames.push({
      index: k,
      timeSec: k / 29.97,
      ok: !failed,
      cc: failed ? Number.NaN : uniform(rng, 0.5, 1),
      motion: randomMatrix(rng, true),
      fromReference: randomMatrix(rng, true),
      referenceIndex: Math.floor(rng() * (k + 1)),
      ...(withStab
        ? {
            path: [uniform(rng, -50, 50), uniform(rng, -50, 50), uniform(rng, -0.1, 0.1)] as const,
            smoothedPath: [uniform(rng, -50, 50), uniform(rng, -50, 50), uniform(rng, -0.1, 0.1)] as const,
            correction: randomMatrix(rng),
            zoom: uniform(rng, 1, 1.2),
          }
        : {}),
      ...(withRoi ? { roi: status === 'lost' || status === 'before' ? null : randomCorners(rng), roiStatus: status } : {}),
    });
  }
  return { width: 640, height: 360, fps: 29.97, frames };
}

function expectSameRecords(a: readonly MotionRecord[], b: readonly MotionRecord[]): void {
  expect(b.length).toBe(a.length);
  for (let k = 0; k < a.length; k++) {
    const x = a[k] as MotionRecord;
    const y = b[k] as MotionRecord;
    expect(y.index).toBe(x.index);
    expect(y.timeSec).toBe(x.timeSec);
    expect(y.ok).toBe(x.ok);
    if (Number.isNaN(x.cc)) expect(Number.isNaN(y.cc)).toBe(true);
    else expect(y.cc).toBe(x.cc);
    expect(Array.from(y.motion)).toEqual(Array.from(x.motion));
    expect(Array.from(y.fromReference)).toEqual(Array.from(x.fromReference));
    expect(y.referenceIndex).toBe(x.referenceIndex);
    expect(y.path).toEqual(x.path);
    expect(y.smoothedPath).toEqual(x.smoothedPath);
    expect(y.correction === undefined ? undefined : Array.from(y.correction)).toEqual(x.correction === undefined ? undefined : Array.from(x.correction));
    expect(y.zoom).toBe(x.zoom);
    expect(y.roi).toEqual(x.roi);
    expect(y.roiStatus).toBe(x.roiStatus);
  }
}

function expectBadFile(text: string, pattern: RegExp): void {
  let caught: unknown;
  try {
    parseMotionFile(text, 'm.json');
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(InputError);
  const e = caught as InputError;
  expect(e.code).toBe('E_BAD_MOTION_FILE');
  expect(e.exitCode).toBe(2);
  expect(e.message).toMatch(/^m\.json: /);
  expect(e.message).toMatch(pattern);
  expect(e.message).not.toContain('\n');
}

describe('steady-motion file', () => {
  it('chooses CSV for .csv names and JSON otherwise', () => {
    expect(motionFormatFromPath('out/motion.CSV')).toBe('csv');
    expect(motionFormatFromPath('motion.json')).toBe('json');
    expect(motionFormatFromPath('motion')).toBe('json');
  });

  it('writes the documented JSON field names, one frame per line, valid JSON', () => {
    const file = randomFile(1, 3, true, true);
    const text = formatMotionFile(file, 'json');
    const doc = JSON.parse(text) as Record<string, unknown>;
    expect(Object.keys(doc)).toEqual(['format', 'version', 'width', 'height', 'fps', 'frames']);
    expect(doc.format).toBe('steady-motion');
    expect(doc.version).toBe(1);
    const f0 = (doc.frames as Record<string, unknown>[])[0] as Record<string, unknown>;
    expect(Object.keys(f0)).toEqual([
      'index', 'time', 'ok', 'cc', 'motion', 'fromReference', 'referenceIndex',
      'path', 'smoothedPath', 'correction', 'zoom', 'roi', 'roiStatus',
    ]);
    expect(text.split('\n').length).toBe(3 + 3); // header line, 3 frames, closing line, final newline
  });

  it('writes the documented CSV columns (matrices row-major as motion_m00..motion_m22)', () => {
    const cols = motionCsvColumns({ stabilization: true, roi: true });
    expect(cols.slice(0, 13)).toEqual(['index', 'time', 'ok', 'cc', 'motion_m00', 'motion_m01', 'motion_m02', 'motion_m10', 'motion_m11', 'motion_m12', 'motion_m20', 'motion_m21', 'motion_m22']);
    expect(cols).toContain('fromReference_m22');
    expect(cols).toContain('path_angle');
    expect(cols).toContain('smoothedPath_x');
    expect(cols).toContain('correction_m12');
    expect(cols).toContain('roi_y3');
    expect(cols.slice(-3)).toEqual(['width', 'height', 'fps']);
    const m = Float64Array.of(1, 2, 3, 4, 5, 6, 7, 8, 9);
    const enc = new MotionFileEncoder({ width: 4, height: 3, fps: 25 }, 'csv');
    const row = enc.encodeFrame({ index: 0, timeSec: 0, ok: true, cc: 0.5, motion: m, fromReference: m, referenceIndex: 0 });
    expect(row).toBe('0,0,true,0.5,1,2,3,4,5,6,7,8,9,1,2,3,4,5,6,7,8,9,0,4,3,25\n');
  });

  for (const format of ['json', 'csv'] as const) {
    for (const [stab, roi] of [
      [false, false],
      [true, false],
      [false, true],
      [true, true],
    ] as const) {
      it(`${format} round trip is exact (stabilization ${stab}, roi ${roi}; seeded property test)`, () => {
        for (const seed of [11, 12, 13]) {
          const file = randomFile(seed, 25, stab, roi);
          const back = parseMotionFile(formatMotionFile(file, format), `m.${format}`);
          expect(back.width).toBe(640);
          expect(back.height).toBe(360);
          expect(back.fps).toBe(29.97);
          expectSameRecords(file.frames, back.frames);
        }
      });
    }
  }

  it('accepts the stabilizer FrameMotion as a record, streaming', () => {
    const I = Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);
    const fm: FrameMotion = {
      index: 0,
      timeSec: 0,
      ok: true,
      cc: 0.99,
      motion: I,
      fromReference: I,
      referenceIndex: 0,
      path: [0, 0, 0],
      smoothedPath: [0.5, -0.5, 0.001],
      correction: Float64Array.of(1, 0, 0.5, 0, 1, -0.5, 0, 0, 1),
      zoom: 1.05,
    };
    const enc = new MotionFileEncoder({ width: 8, height: 8, fps: 30 }, 'json', { stabilization: true });
    const text = enc.begin() + enc.encodeFrame(fm) + enc.encodeFrame({ ...fm, index: 1, timeSec: 1 / 30 }) + enc.end();
    const back = parseMotionFile(text);
    expect(back.frames.length).toBe(2);
    expect(back.frames[0]?.zoom).toBe(1.05);
    expect(back.frames[1]?.smoothedPath).toEqual([0.5, -0.5, 0.001]);
  });

  it('writes an empty clip as valid JSON', () => {
    const text = formatMotionFile({ width: 2, height: 2, fps: 30, frames: [] }, 'json');
    expect(JSON.parse(text)).toEqual({ format: 'steady-motion', version: 1, width: 2, height: 2, fps: 30, frames: [] });
  });

  it('rejects broken files with one-line errors naming the file, frame and field', () => {
    const good = JSON.parse(formatMotionFile(randomFile(3, 3, false, true), 'json')) as Record<string, unknown>;
    const edit = (f: (d: Record<string, unknown>) => void) => {
      const d = structuredClone(good);
      f(d);
      return JSON.stringify(d);
    };
    const frame = (d: Record<string, unknown>, k: number) => (d.frames as Record<string, unknown>[])[k] as Record<string, unknown>;
    expectBadFile('', /empty file/);
    expectBadFile('{"format":', /not valid JSON/);
    expectBadFile(edit((d) => (d.format = 'other')), /"format":"steady-motion"/);
    expectBadFile(edit((d) => (d.version = 2)), /newer steady/);
    expectBadFile(edit((d) => (d.width = 0)), /"width" as a positive integer/);
    expectBadFile(edit((d) => (frame(d, 1).motion = [[1, 0], [0, 1]])), /frame 1: expected "motion" as a 3x3 matrix/);
    expectBadFile(edit((d) => (frame(d, 2).index = 5)), /frame 2: expected "index" 2/);
    expectBadFile(edit((d) => (frame(d, 0).referenceIndex = 1)), /frame 0: expected "referenceIndex" as an integer 0..0/);
    expectBadFile(edit((d) => (frame(d, 1).roiStatus = 'gone')), /tracked\|lost\|recovered\|before/);
    expectBadFile(edit((d) => (frame(d, 1).roi = [[0, 0]])), /"roi" as null or 4 corners/);
    expectBadFile(edit((d) => (frame(d, 1).cc = 2)), /"cc" as a number -1..1/);
    expectBadFile('index,time\n0,0\n', /missing columns ok, cc, motion_m00/);
    const csv = formatMotionFile(randomFile(4, 2, false, false), 'csv');
    expectBadFile(csv.replace(/,(true|false),/, ',maybe,'), /line 2: expected true or false in column ok/);
    expectBadFile(csv.replace(/\n0,0,/, '\n0,zero,'), /line 2: expected a number in column time/);
  });
});
