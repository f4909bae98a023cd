// Faults while steady works: ffmpeg killed mid-decode and mid-encode (found by its command line and killed
// with SIGKILL), the output disk full (a 128 KiB tmpfs when this process may mount one, else a file-size
// limit, `ulimit -f`), an output that cannot be written (a read-only tmpfs, else a read-only folder),
// standard output on /dev/full, SIGINT and SIGTERM during a job (output absent, or with --keep-partial a
// playable prefix). Each run: exit code, one line on stderr, no output or temporary file left, no ffmpeg left.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveFfmpeg } from '../../src/video/binaries.js';
import { runCapture } from '../../src/video/process-registry.js';
import { CLI } from '../support/cli.js';
import { countFrames, makeClip, makeImage } from '../support/ffmpeg-fixtures.js';
import { expectOneLineError, ffmpegProcessesMentioning, listDir, type RunResult, runInProcess, tempFilesIn, waitFor, withLimit } from './support.js';

const dir = mkdtempSync(join(tmpdir(), 'steady-hardening-faults-'));
/** Frames of the clip the jobs run on: enough that a job lasts a few seconds, so a fault lands inside it. */
const CLIP_FRAMES = 200;
const clip = join(dir, 'clip.mp4');
/** A short clip for the faults that do not need a long job (refusals, results written at the end). */
const short = join(dir, 'short.mp4');
const image = join(dir, 'image.png');
const mounts: string[] = [];

beforeAll(async () => {
  await makeClip(clip, { width: 320, height: 240, frames: CLIP_FRAMES, fps: 25, source: 'testsrc2' });
  await makeClip(short, { width: 160, height: 120, frames: 30, fps: 25, source: 'testsrc2' });
  await makeImage(image, 'testsrc2=size=160x120');
}, 60_000);

afterAll(() => {
  for (const m of mounts.reverse()) {
    try {
      execFileSync('umount', ['-l', m], { stdio: 'ignore' });
    } catch {
      // Already gone.
    }
  }
  rmSync(dir, { recursive: true, force: true });
});

/** A new empty folder for one run. */
let runCount = 0;
function runDir(label: string): string {
  const d = join(dir, `${label}-${++runCount}`);
  mkdirSync(d);
  return d;
}

/** Starts the built executable; `stdoutFd` redirects its standard output to an open file descriptor. */
function startSteady(args: readonly string[], options: { stdoutFd?: number; shellPrefix?: string; group?: boolean } = {}): { child: ChildProcess; done: Promise<RunResult> } {
  const stdio: ['ignore', 'pipe' | number, 'pipe'] = ['ignore', options.stdoutFd ?? 'pipe', 'pipe'];
  // group: in a process group of its own, which a signal to -pid reaches whole, as a terminal's Ctrl-C does.
  const child =
    options.shellPrefix === undefined
      ? spawn(process.execPath, [CLI, ...args], { stdio, detached: options.group === true })
      : spawn('/bin/sh', ['-c', `${options.shellPrefix} && exec "$0" "$@"`, process.execPath, CLI, ...args], { stdio });
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const done = new Promise<RunResult>((resolve) => child.on('close', (code) => resolve({ code, stdout, stderr })));
  return { child, done };
}

/** The first ffmpeg process whose command line holds every one of `parts`. */
function findFfmpeg(parts: readonly string[]): number | null {
  const p = ffmpegProcessesMentioning(parts[0] as string).find((q) => parts.every((s) => q.cmdline.includes(s)));
  return p === undefined ? null : p.pid;
}

/**
 * Whether a temporary output (`.<stem>.tmp-...`, any stem when not given) with some bytes in it exists in
 * `d`: the job is well under way.
 */
function writing(d: string, stem?: string): boolean {
  return tempFilesIn(d).some((n) => (stem === undefined || n.startsWith(`.${stem}.tmp-`)) && statSync(join(d, n)).size > 0);
}

/** Nothing left in `d`, and no ffmpeg mentioning it. */
async function expectNothingLeft(d: string, keep: readonly string[] = []): Promise<void> {
  expect(listDir(d).filter((n) => !keep.includes(n)), `${d}: leftovers`).toEqual([]);
  await waitFor(() => ffmpegProcessesMentioning(d).length === 0, `no ffmpeg mentioning ${d}`);
}

describe('ffmpeg killed mid-run', () => {
  it('mid-decode: stabilize, track and metrics fail E_DECODE_FAILED (exit 1) and leave nothing', async () => {
    const jobs: [string, (out: string) => string[], string[]][] = [
      ['stabilize', (out) => ['stabilize', clip, '-o', join(out, 'out.mp4'), '--quiet'], ['-f rawvideo pipe:1']],
      ['track', (out) => ['track', clip, '-o', join(out, 'motion.json'), '--quiet'], ['-f rawvideo pipe:1']],
      ['metrics', (out) => ['metrics', clip, '--json', '--plot', join(out, 'plot.svg')], ['-pix_fmt gray']],
    ];
    await withLimit(
      3,
      jobs.map(([label, args, marks]) => async () => {
        const out = runDir(`kill-decoder-${label}`);
        // Each job reads its own copy, so that the decoder found is this job's.
        const input = join(runDir(`input-${label}`), 'clip.mp4');
        copyFileSync(clip, input);
        const { child, done } = startSteady(args(out).map((a) => (a === clip ? input : a)));
        let killed: number | null = null;
        // The decoder of this job: reads the clip, writes raw frames to its stdout.
        await waitFor(() => (killed = findFfmpeg([`-i ${input}`, ...marks])) !== null || child.exitCode !== null, `${label}: its decoder`);
        if (killed === null) throw new Error(`${label}: no decoder found; the job ended with ${child.exitCode}: ${(await done).stderr}`);
        process.kill(killed as unknown as number, 'SIGKILL');
        const r = await done;
        expectOneLineError(r, 1, 'E_DECODE_FAILED', /killed by SIGKILL|stopped inside a frame/, label);
        await expectNothingLeft(out);
      }),
    );
  });

  it('mid-encode: stabilize and track --overlay fail E_ENCODE_FAILED (exit 1) and leave nothing', async () => {
    const jobs: [string, (out: string) => string[], string][] = [
      ['stabilize', (out) => ['stabilize', clip, '-o', join(out, 'out.mp4'), '--transforms', join(out, 'motion.json'), '--quiet'], 'out'],
      ['track', (out) => ['track', clip, '-o', join(out, 'motion.json'), '--overlay', join(out, 'overlay.mp4'), '--quiet'], 'overlay'],
    ];
    await withLimit(
      2,
      jobs.map(([label, args, video]) => async () => {
        const out = runDir(`kill-encoder-${label}`);
        const { child, done } = startSteady(args(out));
        await waitFor(() => writing(out, video) || child.exitCode !== null, `${label}: encoding under way`);
        // The encoder of this job: reads raw frames on its stdin, writes into the job's folder.
        const pid = findFfmpeg([out, '-i pipe:0']);
        if (pid === null) throw new Error(`${label}: no encoder found; the job ended with ${child.exitCode}: ${(await done).stderr}`);
        process.kill(pid as number, 'SIGKILL');
        const r = await done;
        expectOneLineError(r, 1, 'E_ENCODE_FAILED', /killed by SIGKILL|stopped reading frames|exited while frames/, label);
        await expectNothingLeft(out);
      }),
    );
  });
});

/** Mounts a tmpfs of `sizeKiB` (read-only when asked) at a new folder; null when this process may not. */
function mountTmpfs(label: string, sizeKiB: number, readOnly = false): string | null {
  const at = runDir(label);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `${readOnly ? 'ro,' : ''}size=${sizeKiB}k`, 'tmpfs', at], { stdio: 'ignore' });
    mounts.push(at);
    return at;
  } catch {
    return null;
  }
}

/** Fills the file system of `d` to the last byte. */
function fillUp(d: string): void {
  const chunk = Buffer.alloc(64 * 1024, 0x55);
  const fd = openSync(join(d, 'filler'), 'w');
  try {
    for (;;) writeFileSync(fd, chunk);
  } catch {
    // ENOSPC: full.
  } finally {
    closeSync(fd);
  }
}

describe('output disk full', () => {
  const full = mountTmpfs('disk-full', 128);
  /** Without a tmpfs (not allowed to mount), a per-file size limit makes writes past 64 KiB fail instead. */
  const limit = full === null ? 'ulimit -f 128' : undefined;
  if (full === null) console.log('output disk full: cannot mount a tmpfs here; using a file-size limit (ulimit -f) instead');

  /** A folder on the small disk, emptied and optionally filled to the brim. */
  function target(label: string, fill: boolean): string {
    if (full === null) return runDir(label);
    for (const n of readdirSync(full)) rmSync(join(full, n), { recursive: true, force: true });
    const d = join(full, label);
    mkdirSync(d);
    if (fill) fillUp(full);
    return d;
  }

  const run = async (args: readonly string[]): Promise<RunResult> => (limit === undefined ? runInProcess(args) : startSteady(args, { shellPrefix: limit }).done);

  it('stabilize: the video does not fit (exit 1, ffmpeg says why), nothing left', async () => {
    const out = target('stabilize', false);
    const r = await run(['stabilize', clip, '-o', join(out, 'out.mp4'), '--quiet']);
    expectOneLineError(r, 1, 'E_ENCODE_FAILED', full === null ? /SIGXFSZ|File too large/ : /No space left on device/, 'stabilize on a full disk');
    await expectNothingLeft(out);
  });

  it('stabilize --transforms and track: a motion file that does not fit is E_OUTPUT_WRITE, nothing left', async () => {
    const elsewhere = runDir('disk-full-elsewhere');
    const out1 = target('transforms', true);
    const r1 = await run(['stabilize', short, '-o', join(elsewhere, 'out.mp4'), '--transforms', join(out1, 'motion.json'), '--quiet']);
    expectOneLineError(r1, 1, 'E_OUTPUT_WRITE', /motion\.json.*(ENOSPC|EFBIG)/, 'stabilize --transforms on a full disk');
    await expectNothingLeft(out1);
    await expectNothingLeft(elsewhere);
    const out2 = target('track', true);
    const r2 = await run(['track', short, '-o', join(out2, 'motion.json'), '--quiet']);
    expectOneLineError(r2, 1, 'E_OUTPUT_WRITE', /ENOSPC|EFBIG/, 'track on a full disk');
    await expectNothingLeft(out2);
  });

  it('metrics --plot and register -o: exit 1, no half-written file', async () => {
    const out1 = target('metrics', true);
    const r1 = await run(['metrics', short, '--json', '--plot', join(out1, 'plot.svg')]);
    expectOneLineError(r1, 1, 'E_OUTPUT_WRITE', /plot\.svg.*(ENOSPC|EFBIG)/, 'metrics --plot on a full disk');
    await expectNothingLeft(out1);
    const out2 = target('register', true);
    const r2 = await run(['register', image, image, '-o', join(out2, 'aligned.png'), '--json']);
    expectOneLineError(r2, 1, full === null ? 'E_(ENCODE_FAILED|OUTPUT_WRITE)' : 'E_OUTPUT_WRITE', /aligned\.png/, 'register -o on a full disk');
    await expectNothingLeft(out2);
  });

  it('standard output on /dev/full: stabilize -o -, track, metrics --json and register --json exit 1 (E_OUTPUT_WRITE)', async () => {
    const cases: string[][] = [
      ['stabilize', clip, '-o', '-', '--quiet'],
      ['track', short, '--quiet'],
      ['metrics', short, '--json'],
      ['register', image, image, '--json'],
    ];
    const results = await withLimit(
      2,
      cases.map((args) => async () => {
        const fd = openSync('/dev/full', 'w');
        try {
          return await startSteady(args, { stdoutFd: fd }).done;
        } finally {
          closeSync(fd);
        }
      }),
    );
    cases.forEach((args, i) => {
      expectOneLineError(results[i] as RunResult, 1, 'E_OUTPUT_WRITE', /ENOSPC/, args.join(' '));
    });
    await waitFor(() => ffmpegProcessesMentioning(dir).length === 0, 'no ffmpeg left');
  });
});

describe('standard output closed by its reader', () => {
  it('stabilize -o - and track stop quietly with 141 (as SIGPIPE) when the reader closes early; no ffmpeg left', async () => {
    for (const args of [
      ['stabilize', clip, '-o', '-', '--quiet'],
      ['track', clip, '--quiet'],
    ]) {
      const { child, done } = startSteady(args);
      let got = 0;
      // Read the first bytes and close the pipe, as `| head -c 1000` does.
      child.stdout?.removeAllListeners('data');
      child.stdout?.on('data', (d: Buffer) => {
        got += d.length;
        if (got >= 1000) child.stdout?.destroy();
      });
      const r = await done;
      expect(got, args.join(' ')).toBeGreaterThanOrEqual(1000);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(141);
      expect(r.stderr, args.join(' ')).toBe('');
    }
    await waitFor(() => ffmpegProcessesMentioning(dir).length === 0, 'no ffmpeg left');
  });
});

describe('output that cannot be written', () => {
  it('is refused before any work (E_OUTPUT_UNWRITABLE, exit 2) by every command and every output option', async () => {
    let ro = mountTmpfs('read-only', 64, true);
    if (ro === null) {
      // Not allowed to mount: a folder without write permission does the same for a user other than root.
      ro = runDir('read-only');
      chmodSync(ro, 0o555);
    }
    const ok = runDir('writable');
    const p = (name: string) => join(ro as string, name);
    const cases: string[][] = [
      ['stabilize', short, '-o', p('out.mp4')],
      ['stabilize', short, '-o', join(ok, 'a.mp4'), '--transforms', p('motion.json')],
      ['stabilize', short, '-o', join(ok, 'b.mp4'), '--compare', p('side.mp4')],
      ['track', short, '-o', p('motion.json')],
      ['track', short, '-o', join(ok, 'c.json'), '--overlay', p('overlay.mp4')],
      ['track', short, '-o', join(ok, 'd.json'), '--trf', p('global.trf')],
      ['metrics', short, '--plot', p('plot.svg')],
      ['register', image, image, '-o', p('aligned.png')],
      ['register', image, image, '--diff', p('diff.png')],
    ];
    const results = await withLimit(3, cases.map((args) => () => runInProcess(args)));
    cases.forEach((args, i) => {
      expectOneLineError(results[i] as RunResult, 2, 'E_OUTPUT_UNWRITABLE', /is not writable; choose another output path/, args.join(' '));
    });
    expect(listDir(ro)).toEqual([]);
    expect(listDir(ok)).toEqual([]);
    await waitFor(() => ffmpegProcessesMentioning(dir).length === 0, 'no ffmpeg left');
  });
});

describe('SIGINT and SIGTERM during a job', () => {
  for (const [signal, exit] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${signal}: stabilize exits ${exit} and leaves no output; with --keep-partial a playable prefix`, async () => {
      await withLimit(
        2,
        [false, true].map((keep) => async () => {
          const out = runDir(`${signal}-${keep ? 'keep' : 'drop'}`);
          const output = join(out, 'out.mp4');
          const { child, done } = startSteady(['stabilize', clip, '-o', output, '--transforms', join(out, 'motion.json'), ...(keep ? ['--keep-partial'] : [])]);
          // The video's temporary file has bytes: some frames went through the whole pipeline.
          await waitFor(() => writing(out, 'out') || child.exitCode !== null, 'encoding under way');
          child.kill(signal);
          const r = await done;
          expect(r.code, r.stderr).toBe(exit);
          if (!keep) {
            expect(r.stderr).toBe(`steady: E_INTERRUPTED: interrupted by ${signal}\n`);
            await expectNothingLeft(out);
            return;
          }
          expect(r.stderr).toMatch(new RegExp(`interrupted by ${signal}; kept the frames done so far in .*out\\.mp4\\n$`));
          expect(listDir(out)).toEqual(['motion.json', 'out.mp4']);
          const frames = await countFrames(output);
          expect(frames).toBeGreaterThan(0);
          expect(frames).toBeLessThan(CLIP_FRAMES);
          // Playable: ffmpeg decodes every byte of it without a complaint.
          const check = await runCapture(resolveFfmpeg().path, ['-v', 'error', '-nostdin', '-i', output, '-f', 'null', '-']);
          expect(check.code).toBe(0);
          expect(check.stderr).toBe('');
          await expectNothingLeft(out, ['motion.json', 'out.mp4']);
        }),
      );
    });
  }

  it('SIGINT to the whole process group (a terminal\'s Ctrl-C) reaches steady alone: exit 130, and --keep-partial keeps the video, its side-by-side and its motion', async () => {
    await withLimit(
      2,
      [false, true].map((keep) => async () => {
        const out = runDir(`group-${keep ? 'keep' : 'drop'}`);
        const { child, done } = startSteady(['stabilize', clip, '-o', join(out, 'out.mp4'), '--compare', join(out, 'side.mp4'), '--transforms', join(out, 'motion.json'), ...(keep ? ['--keep-partial'] : [])], { group: true });
        await waitFor(() => writing(out, 'out') || child.exitCode !== null, 'encoding under way');
        process.kill(-(child.pid as number), 'SIGINT');
        const r = await done;
        expect(r.code, r.stderr).toBe(130);
        if (!keep) {
          expect(r.stderr).toBe('steady: E_INTERRUPTED: interrupted by SIGINT\n');
          await expectNothingLeft(out);
          return;
        }
        expect(r.stderr).toMatch(/interrupted by SIGINT; kept the frames done so far in .*out\.mp4\n$/);
        expect(listDir(out)).toEqual(['motion.json', 'out.mp4', 'side.mp4']);
        const frames = await countFrames(join(out, 'out.mp4'));
        expect(frames).toBeGreaterThan(0);
        expect(frames).toBeLessThan(CLIP_FRAMES);
        expect(await countFrames(join(out, 'side.mp4'))).toBe(frames);
        await expectNothingLeft(out, ['motion.json', 'out.mp4', 'side.mp4']);
      }),
    );
  });

  it('a signal while the input is still being probed (a FIFO nobody writes to) ends the run then: 130, nothing left', { timeout: 15_000 }, async () => {
    // Without the signal reaching the probe, ffprobe would wait on the FIFO for its 30 s timeout.
    const out = runDir('fifo');
    const fifo = join(dir, 'never-written.mp4');
    execFileSync('mkfifo', [fifo]);
    const controller = new AbortController();
    setTimeout(() => controller.abort('SIGINT'), 500);
    const r = await runInProcess(['stabilize', fifo, '-o', join(out, 'out.mp4')], controller.signal);
    expectOneLineError(r, 130, 'E_INTERRUPTED', /interrupted by SIGINT/, 'probe of a FIFO');
    await expectNothingLeft(out);
  });

  it('--keep-partial with a signal before any frame is done keeps nothing (an empty file is not a playable prefix)', async () => {
    const out = runDir('keep-nothing');
    const controller = new AbortController();
    controller.abort('SIGINT');
    const r = await runInProcess(['stabilize', clip, '-o', join(out, 'out.mp4'), '--transforms', join(out, 'motion.json'), '--keep-partial', '--quiet'], controller.signal);
    expectOneLineError(r, 130, 'E_INTERRUPTED', /interrupted by SIGINT/, 'keep-partial, no frame');
    await expectNothingLeft(out);
  });

  it('SIGINT stops track and SIGTERM stops metrics: exit 130 / 143, no output', async () => {
    const t = runDir('sigint-track');
    const track = startSteady(['track', clip, '-o', join(t, 'motion.json')]);
    await waitFor(() => writing(t) || track.child.exitCode !== null, 'track under way');
    track.child.kill('SIGINT');
    const m = runDir('sigterm-metrics');
    const metrics = startSteady(['metrics', clip, '--json', '--plot', join(m, 'plot.svg')]);
    await waitFor(() => findFfmpeg([`-i ${clip}`, '-pix_fmt gray']) !== null || metrics.child.exitCode !== null, 'metrics under way');
    metrics.child.kill('SIGTERM');
    expectOneLineError(await track.done, 130, 'E_INTERRUPTED', /interrupted by SIGINT/, 'track');
    expectOneLineError(await metrics.done, 143, 'E_INTERRUPTED', /interrupted by SIGTERM/, 'metrics');
    await expectNothingLeft(t);
    await expectNothingLeft(m);
  });

  it('a second SIGINT ends at once: exit 130, still nothing left behind', async () => {
    const out = runDir('sigint-twice');
    const { child, done } = startSteady(['stabilize', clip, '-o', join(out, 'out.mp4'), '--quiet']);
    await waitFor(() => writing(out) || child.exitCode !== null, 'encoding under way');
    child.kill('SIGINT');
    child.kill('SIGINT');
    const r = await done;
    expect(r.code).toBe(130);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    await expectNothingLeft(out);
  });
});
