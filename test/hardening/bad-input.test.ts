// Every command on every case of the bad-input corpus (test/support/bad-input-corpus.ts): the exit code and
// the one-line error `steady: <CODE>: <message>` (no stack trace), nothing under the final output name nor a
// temporary file left behind, and no ffmpeg/ffprobe process mentioning the input still running afterwards.
// The matrix runs the CLI's core in this process (src/cli/run.ts main, as the executable does); a sample of
// one case per error code also runs the built executable, where a stack trace or an unhandled 'error'
// event would show.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpegFeatures, resolveFfmpeg } from '../../src/video/binaries.js';
import { type BadInputCorpus, CORPUS_CASES, CORPUS_FRAMES, makeBadInputCorpus, PAIR_CROP, UHD8K_HEIGHT, UHD8K_WIDTH } from '../support/bad-input-corpus.js';
import { CLI, runCli } from '../support/cli.js';
import { countFrames, listStreams, readDisplayRotation } from '../support/ffmpeg-fixtures.js';
import { expectOneLineError, expectSuccess, ffmpegProcessesMentioning, listDir, type RunResult, runInProcess, waitFor, withLimit } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'steady-hardening-input-'));
const corpusDir = join(dir, 'corpus');
mkdirSync(corpusDir);
let corpus: BadInputCorpus;

beforeAll(async () => {
  corpus = await makeBadInputCorpus(corpusDir, { ffmpegPath: resolveFfmpeg().path });
}, 120_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** What a command does with a case: succeeds, or fails with this exit status and code. */
type Outcome = { readonly exit: 0 } | { readonly exit: 1 | 2; readonly code: string; readonly message?: RegExp };
const OK: Outcome = { exit: 0 };
const fail = (exit: 1 | 2, code: string, message?: RegExp): Outcome => (message === undefined ? { exit, code } : { exit, code, message });

type VideoCommand = 'stabilize' | 'track' | 'metrics';
/** For each video case: what stabilize, track and metrics do. The 8K case has its own test below. */
const VIDEO_CASES: Record<string, Record<VideoCommand, Outcome>> = {
  good: { stabilize: OK, track: OK, metrics: OK },
  'good-faststart': { stabilize: OK, track: OK, metrics: OK },
  empty: all(fail(2, 'E_INPUT_EMPTY', /is empty \(0 bytes\)/)),
  'random-bytes': all(fail(2, 'E_NOT_VIDEO', /"[^"]*random\.mp4" is not a video ffprobe can read/)),
  text: all(fail(2, 'E_NOT_VIDEO', /notes\.mp4" is not a video/)),
  'truncated-moov-25': all(fail(2, 'E_NOT_VIDEO', /moov atom not found/)),
  'truncated-moov-50': all(fail(2, 'E_NOT_VIDEO', /moov atom not found/)),
  'truncated-moov-75': all(fail(2, 'E_NOT_VIDEO', /moov atom not found/)),
  'truncated-40': all(fail(2, 'E_INPUT_CORRUPT', /truncated or corrupt: \d+ frames decoded of 30/)),
  'truncated-70': all(fail(2, 'E_INPUT_CORRUPT', /truncated or corrupt: \d+ frames decoded of 30/)),
  'truncated-95': all(fail(2, 'E_INPUT_CORRUPT', /truncated or corrupt: \d+ frames decoded of 30/)),
  'corrupt-middle': all(fail(2, 'E_INPUT_CORRUPT', /truncated or corrupt/)),
  'audio-only': all(fail(2, 'E_NOT_VIDEO', /has no video stream \(ffprobe found audio\)/)),
  'no-streams': all(fail(2, 'E_NOT_VIDEO', /has no video stream \(ffprobe found no streams\)/)),
  'zero-frames': all(fail(2, 'E_NO_FRAMES', /zero-frames\.avi/)),
  'still-image': { stabilize: OK, track: OK, metrics: fail(2, 'E_TOO_FEW_FRAMES', /has 1 frame; steady metrics needs at least 2/) },
  'one-frame': { stabilize: OK, track: OK, metrics: fail(2, 'E_TOO_FEW_FRAMES', /has 1 frame; steady metrics needs at least 2/) },
  'size-1x1': all(fail(2, 'E_VIDEO_TOO_SMALL', /is 1x1; steady needs frames of at least 16x16 pixels/)),
  'size-2x2': all(fail(2, 'E_VIDEO_TOO_SMALL', /is 2x2/)),
  'size-15x15': all(fail(2, 'E_VIDEO_TOO_SMALL', /is 15x15/)),
  'odd-97x65': { stabilize: OK, track: OK, metrics: OK },
  'odd-17x17': { stabilize: OK, track: OK, metrics: OK },
  '10-bit': { stabilize: OK, track: OK, metrics: OK },
  vfr: { stabilize: OK, track: OK, metrics: OK },
  'rotated-90': { stabilize: OK, track: OK, metrics: OK },
};

function all(o: Outcome): Record<VideoCommand, Outcome> {
  return { stabilize: o, track: o, metrics: o };
}

/** Frames each successful case has (and its outputs must have). */
const FRAMES: Record<string, number> = {
  good: CORPUS_FRAMES,
  'good-faststart': CORPUS_FRAMES,
  'still-image': 1,
  'one-frame': 1,
  'odd-97x65': 12,
  'odd-17x17': 8,
  '10-bit': 12,
  vfr: 24,
  'rotated-90': 12,
};

/** Output file of each command, inside the run's own folder. */
const OUTPUT: Record<VideoCommand, string> = { stabilize: 'out.mp4', track: 'motion.json', metrics: 'plot.svg' };

function argsFor(command: VideoCommand, input: string, outDir: string): string[] {
  const out = join(outDir, OUTPUT[command]);
  if (command === 'stabilize') return ['stabilize', input, '-o', out, '--quiet'];
  if (command === 'track') return ['track', input, '-o', out, '--quiet'];
  return ['metrics', input, '--json', '--plot', out];
}

interface CaseRun {
  readonly name: string;
  readonly command: VideoCommand;
  readonly outDir: string;
  readonly result: RunResult;
  /** ffmpeg/ffprobe processes mentioning the input once the case's three runs were over. */
  readonly leftover: string[];
}

let runs: CaseRun[] = [];

describe('every video command on every corpus case', () => {
  beforeAll(async () => {
    // The three commands of a case run one after the other (so that a process mentioning the input
    // afterwards is a leak), cases three at a time.
    const perCase = await withLimit(
      3,
      Object.keys(VIDEO_CASES).map((name) => async () => {
        const out: CaseRun[] = [];
        for (const command of ['stabilize', 'track', 'metrics'] as const) {
          const outDir = join(dir, `${command}-${name}`);
          mkdirSync(outDir);
          const result = await runInProcess(argsFor(command, corpus.path(name), outDir));
          out.push({ name, command, outDir, result, leftover: [] });
        }
        const leftover = ffmpegProcessesMentioning(corpus.path(name)).map((p) => `${p.pid} ${p.cmdline}`);
        return out.map((r) => ({ ...r, leftover }));
      }),
    );
    runs = perCase.flat();
  }, 240_000);

  it('covers every video case of the corpus but the 8K one (tested below)', () => {
    const videos = CORPUS_CASES.filter((c) => c.kind === 'video' || c.kind === 'audio').map((c) => c.name);
    expect(Object.keys(VIDEO_CASES).sort()).toEqual(videos.filter((n) => n !== 'uhd-8k').sort());
  });

  for (const command of ['stabilize', 'track', 'metrics'] as const) {
    it(`${command}: exit code and one-line error per case, no output left on failure, no ffmpeg left`, () => {
      for (const [name, expected] of Object.entries(VIDEO_CASES)) {
        const run = runs.find((r) => r.name === name && r.command === command) as CaseRun;
        const what = `${command} ${name}`;
        const e = expected[command];
        if (e.exit === 0) {
          expectSuccess(run.result, what);
          expect(listDir(run.outDir), what).toEqual([OUTPUT[command]]);
        } else {
          expectOneLineError(run.result, e.exit, e.code, e.message, what);
          expect(listDir(run.outDir), `${what}: nothing under the final name, no temporary file`).toEqual([]);
        }
        expect(run.leftover, `${name}: ffmpeg processes left`).toEqual([]);
      }
    });
  }

  it('stabilize: the outputs of the accepted cases play, with every frame, rotation and duration kept', async () => {
    for (const [name, frames] of Object.entries(FRAMES)) {
      const out = join(dir, `stabilize-${name}`, 'out.mp4');
      // Variable frame rate with an ffmpeg before 5.1: the clip's nominal 10 fps over its length (32 frame
      // slots, the dropped ones repeated; the last frame's length may make one more).
      if (name === 'vfr' && !ffmpegFeatures(resolveFfmpeg().path).fpsMode) expect(Math.abs((await countFrames(out)) - 32), name).toBeLessThanOrEqual(1);
      else expect(await countFrames(out), name).toBe(frames);
      const [v] = (await listStreams(out)).filter((s) => s.codec_type === 'video');
      // x264 needs even sizes in 4:2:0: odd ones lose their last column and row.
      const size = name === 'odd-97x65' ? [96, 64] : name === 'odd-17x17' ? [16, 16] : name === 'still-image' || name === 'one-frame' || name.startsWith('good') || name === '10-bit' || name === 'vfr' || name === 'rotated-90' ? [96, 64] : null;
      if (size !== null) expect([v?.width, v?.height], name).toEqual(size);
    }
    // Stored orientation in, display rotation carried over: the portrait clip stays portrait.
    expect(await readDisplayRotation(join(dir, 'stabilize-rotated-90', 'out.mp4'))).toBe(await readDisplayRotation(corpus.path('rotated-90')));
    // Variable frame rate: the overall duration is kept.
    const durationOf = async (p: string) => Number((await listStreams(p)).find((s) => s.codec_type === 'video')?.duration);
    const FRAME_SEC = 1 / 7.5;
    expect(Math.abs((await durationOf(join(dir, 'stabilize-vfr', 'out.mp4'))) - (await durationOf(corpus.path('vfr'))))).toBeLessThanOrEqual(FRAME_SEC);
  });

  it('track and metrics: the accepted cases give one motion record and one metrics line per frame count', () => {
    for (const [name, frames] of Object.entries(FRAMES)) {
      const motion = JSON.parse(readFileSync(join(dir, `track-${name}`, 'motion.json'), 'utf8')) as { frames: unknown[] };
      expect(motion.frames.length, name).toBe(frames);
      const m = runs.find((r) => r.name === name && r.command === 'metrics') as CaseRun;
      if (m.result.code === 0) {
        const line = JSON.parse(m.result.stdout) as { frames: number; itf: number };
        expect(line.frames, name).toBe(frames);
        expect(Number.isFinite(line.itf), name).toBe(true);
      }
    }
  });
});

describe('the executable (dist/cli/main.js), one case per error code', () => {
  it('prints one line, exits with the code\'s status, leaves no output and no ffmpeg', async () => {
    const out = join(dir, 'executable');
    mkdirSync(out);
    const o = (name: string) => join(out, name);
    const cases: [string[], number, string][] = [
      [['stabilize', corpus.path('empty'), '-o', o('a.mp4')], 2, 'E_INPUT_EMPTY'],
      [['track', corpus.path('random-bytes'), '-o', o('b.json')], 2, 'E_NOT_VIDEO'],
      [['stabilize', corpus.path('truncated-40'), '-o', o('c.mp4')], 2, 'E_INPUT_CORRUPT'],
      [['track', corpus.path('corrupt-middle'), '-o', o('d.json')], 2, 'E_INPUT_CORRUPT'],
      [['track', corpus.path('zero-frames'), '-o', o('e.json')], 2, 'E_NO_FRAMES'],
      [['metrics', corpus.path('size-2x2'), '--plot', o('f.svg')], 2, 'E_VIDEO_TOO_SMALL'],
      [['metrics', corpus.path('one-frame'), '--json'], 2, 'E_TOO_FEW_FRAMES'],
      [['register', corpus.path('image-a'), corpus.path('image-b-scaled'), '--mask', corpus.path('mask-wrong-size'), '-o', o('g.png')], 2, 'E_MASK_SIZE'],
    ];
    const results = await withLimit(3, cases.map(([args]) => () => runCli(args)));
    cases.forEach(([args, exit, code], i) => {
      const r = results[i] as RunResult;
      expectOneLineError(r, exit, code, undefined, args.join(' '));
    });
    expect(listDir(out)).toEqual([]);
    expect(ffmpegProcessesMentioning(corpusDir)).toEqual([]);
  });
});

describe('serve: a source that cannot be opened', () => {
  it('exits 2 with one line before any URL is printed, and leaves no ffmpeg', async () => {
    const cases: [string, string, RegExp][] = [
      [join(corpusDir, 'missing.mp4'), 'E_INPUT_NOT_FOUND', /no such file/],
      [corpusDir, 'E_NOT_VIDEO', /is a directory/],
      [corpus.path('empty'), 'E_INPUT_EMPTY', /empty/],
      [corpus.path('random-bytes'), 'E_NOT_VIDEO', /not a video/],
      [corpus.path('text'), 'E_NOT_VIDEO', /not a video/],
      [corpus.path('truncated-moov-50'), 'E_NOT_VIDEO', /moov atom not found/],
      [corpus.path('audio-only'), 'E_NOT_VIDEO', /no video stream/],
      [corpus.path('no-streams'), 'E_NOT_VIDEO', /no video stream/],
    ];
    const results = await withLimit(3, cases.map(([source]) => () => runInProcess(['serve', source, '--port', '0'])));
    cases.forEach(([source, code, message], i) => {
      expectOneLineError(results[i] as RunResult, 2, code, message, `serve ${source}`);
    });
    expect(ffmpegProcessesMentioning(corpusDir)).toEqual([]);
  });

  it('a source with a video stream but no frame ends with E_NO_FRAMES (exit 2) and closes everything', async () => {
    const r = await runInProcess(['serve', corpus.path('zero-frames'), '--port', '0', '--no-realtime']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^steady: E_NO_FRAMES: [^\n]+\n$/);
    await waitFor(() => ffmpegProcessesMentioning(corpusDir).length === 0, 'no ffmpeg left');
  });
});

describe('register on the image cases', () => {
  /** Mean corner distance (px) between W applied to fixed's corners and the true W of the pair. */
  const TOL_PAIR_CORNER_PX = 0.5;

  it('accepts an image pair of different sizes and finds the crop-and-scale between them', async () => {
    const out = join(dir, 'register-pair');
    mkdirSync(out);
    const r = await runInProcess(['register', corpus.path('image-a'), corpus.path('image-b-scaled'), '--json', '-o', join(out, 'aligned.png')]);
    expectSuccess(r, 'register a b');
    const res = JSON.parse(r.stdout) as { ok: boolean; matrix: number[][] };
    expect(res.ok).toBe(true);
    const c = PAIR_CROP;
    const truth = (x: number, y: number) => [c.scale * (x - c.x + 0.5) - 0.5, c.scale * (y - c.y + 0.5) - 0.5];
    // Corners of the part of image-a that image-b shows.
    const corners = [
      [c.x, c.y],
      [c.x + c.width - 1, c.y],
      [c.x + c.width - 1, c.y + c.height - 1],
      [c.x, c.y + c.height - 1],
    ] as const;
    let err = 0;
    for (const [x, y] of corners) {
      const m = res.matrix;
      const px = (m[0]?.[0] as number) * x + (m[0]?.[1] as number) * y + (m[0]?.[2] as number);
      const py = (m[1]?.[0] as number) * x + (m[1]?.[1] as number) * y + (m[1]?.[2] as number);
      const [tx, ty] = truth(x, y) as [number, number];
      err += Math.hypot(px - tx, py - ty) / 4;
    }
    expect(err).toBeLessThan(TOL_PAIR_CORNER_PX);
    // The aligned image is written in fixed's grid.
    expect(listDir(out)).toEqual(['aligned.png']);
  });

  it('refuses bad images and masks with one line, exit 2, and writes no output', async () => {
    const a = () => corpus.path('image-a');
    const cases: [string[], string, RegExp][] = [
      [[a(), corpus.path('image-b-scaled'), '--mask', corpus.path('mask-wrong-size')], 'E_MASK_SIZE', /mask for --mask is 32x32 but .*image-a\.png is 96x64/],
      [[a(), corpus.path('image-b-scaled'), '--mask-moving', corpus.path('mask-right-size')], 'E_MASK_SIZE', /mask for --mask-moving is 96x64 but .* is 120x84/],
      [[a(), corpus.path('image-1x1')], 'E_IMAGE_TOO_SMALL', /image is 1x1; at least 8x8/],
      [[corpus.path('image-2x2'), a()], 'E_IMAGE_TOO_SMALL', /image is 2x2/],
      [[a(), corpus.path('image-empty')], 'E_INPUT_EMPTY', /empty/],
      [[a(), corpus.path('image-random')], 'E_NOT_IMAGE', /random\.png" is not an image/],
      [[a(), corpus.path('image-truncated')], 'E_NOT_IMAGE', /truncated\.png" is not an image/],
      [[a(), corpus.path('audio-only')], 'E_NOT_IMAGE', /audio-only\.m4a" is not an image/],
      [[a(), corpus.path('zero-frames')], 'E_NOT_IMAGE', /zero-frames\.avi" is not an image/],
      [[a(), corpusDir], 'E_NOT_IMAGE', /is a directory; give an image file/],
      [[a(), join(corpusDir, 'missing.png')], 'E_INPUT_NOT_FOUND', /does not exist/],
      [[a(), a(), '--mask', corpus.path('image-random')], 'E_NOT_IMAGE', /random\.png" is not an image/],
    ];
    const results = await withLimit(
      3,
      cases.map(([args], i) => async () => {
        const out = join(dir, `register-bad-${i}`);
        mkdirSync(out);
        const r = await runInProcess(['register', ...args, '-o', join(out, 'aligned.png'), '--diff', join(out, 'diff.png'), '--json']);
        return { r, out };
      }),
    );
    cases.forEach(([args, code, message], i) => {
      const { r, out } = results[i] as { r: RunResult; out: string };
      expectOneLineError(r, 2, code, message, `register ${args.join(' ')}`);
      expect(listDir(out)).toEqual([]);
    });
    expect(ffmpegProcessesMentioning(corpusDir)).toEqual([]);
  });

  it('reads the first frame of a video as an image', async () => {
    const r = await runInProcess(['register', corpus.path('image-a'), corpus.path('good'), '--json']);
    expect([0, 3]).toContain(r.code);
    expect(JSON.parse(r.stdout).model).toBe('affine');
  });
});

describe('8K frames (7680x4320)', () => {
  /**
   * steady's own peak memory (VmHWM) for an 8K stabilize with --smoothing 2: a frame ring of at most the
   * look-ahead plus two frames of 49.8 MB each, plus a few working frames. Measured about 0.4-0.5 GB
   * (docs/hardening.md states the memory of other settings).
   */
  const MAX_STEADY_RSS_8K_BYTES = 1.0e9;

  it('stabilize, track and metrics handle two 8K frames; stabilize stays within its stated memory', async () => {
    const input = corpus.path('uhd-8k');
    const out = join(dir, 'uhd-8k');
    mkdirSync(out);
    // The executable, so that its peak resident memory is its own (VmHWM, polled until it exits).
    const child = spawn(process.execPath, [CLI, 'stabilize', input, '-o', join(out, 'out.mp4'), '--smoothing', '2', '--preset', 'ultrafast', '--quiet'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    let peakBytes = 0;
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m !== null) peakBytes = Math.max(peakBytes, Number(m[1]) * 1024);
      } catch {
        // Exited.
      }
    }, 50);
    const [track, metrics] = await Promise.all([
      runInProcess(['track', input, '-o', join(out, 'motion.json'), '--quiet']),
      runInProcess(['metrics', input, '--json']),
    ]);
    const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    clearInterval(poll);
    expectSuccess({ code, stdout: '', stderr }, 'stabilize 8K');
    expectSuccess(track, 'track 8K');
    expectSuccess(metrics, 'metrics 8K');
    const [v] = (await listStreams(join(out, 'out.mp4'))).filter((s) => s.codec_type === 'video');
    expect([v?.width, v?.height]).toEqual([UHD8K_WIDTH, UHD8K_HEIGHT]);
    expect(await countFrames(join(out, 'out.mp4'))).toBe(2);
    expect((JSON.parse(readFileSync(join(out, 'motion.json'), 'utf8')) as { width: number; frames: unknown[] }).frames.length).toBe(2);
    expect((JSON.parse(metrics.stdout) as { width: number }).width).toBe(UHD8K_WIDTH);
    expect(peakBytes).toBeGreaterThan(0);
    expect(peakBytes).toBeLessThan(MAX_STEADY_RSS_8K_BYTES);
    expect(ffmpegProcessesMentioning(input)).toEqual([]);
  });
});
