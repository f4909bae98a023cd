/**
 * `steady stabilize` interrupted mid-run: with --keep-partial, SIGINT finishes the frames done so far as a
 * playable file (exit 130); without it nothing is left behind (exit 130, or 143 for SIGTERM). An ffmpeg
 * that dies mid-run is a runtime failure (exit 1). In every case no temporary file and no ffmpeg process
 * outlive the command.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, readdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveFfmpeg } from '../../src/video/binaries.js';
import { CLI, REPO_ROOT, runCli } from '../support/cli.js';
import { countFrames, ffmpeg, listStreams, makeTempDir, removeTempDir } from '../support/ffmpeg-fixtures.js';

/** Frames of the long input: far more than get done before the signal. */
const INPUT_FRAMES = 3000;
/** The signal is sent once the temporary output holds at least this much (frames are being encoded). */
const STARTED_BYTES = 8192;
/** A kept prefix's audio ends with its video within this (two AAC packets of 1024 samples at 44.1 kHz), s. */
const AUDIO_END_TOL_SEC = 0.05;

let dir = '';
let input = '';

beforeAll(async () => {
  dir = await makeTempDir('steady-stab-interrupt-');
  input = join(dir, 'long.mp4');
  // With sound to its end, so that a kept prefix shows whether its audio stops with its pictures.
  await ffmpeg([
    ...['-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=30', '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=44100:duration=${INPUT_FRAMES / 30}`],
    ...['-frames:v', String(INPUT_FRAMES), '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', '-c:a', 'aac', input],
  ]);
}, 60_000);

afterAll(async () => {
  if (dir) await removeTempDir(dir);
});

/** Files in `dir` whose names are temporary outputs of `stem` (`.<stem>.tmp-<pid>-<n><ext>`). */
async function tempFiles(stem: string): Promise<string[]> {
  return (await readdir(dir)).filter((n) => n.startsWith(`.${stem}.tmp-`));
}

/** Processes whose command line names the test folder (ffmpeg children of the command). */
function processesInDir(): string {
  const r = spawnSync('pgrep', ['-af', dir], { encoding: 'utf8' });
  return r.stdout.trim();
}

/** Starts the command, sends `signal` once its temporary output has grown, and waits for it to end. */
async function interrupt(stem: string, extra: readonly string[], signal: NodeJS.Signals): Promise<{ code: number | null; stderr: string }> {
  const out = join(dir, `${stem}.mp4`);
  const child = spawn(process.execPath, [CLI, 'stabilize', input, '-o', out, ...extra], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  child.stdout.resume();
  const exited = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  let running = true;
  void exited.then(() => (running = false));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (!running) throw new Error(`steady ended before it could be interrupted: ${stderr}`);
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error('no temporary output grew within 60 s');
    }
    const temps = await tempFiles(stem);
    const sizes = await Promise.all(temps.map((t) => stat(join(dir, t)).then((s) => s.size).catch(() => 0)));
    if (sizes.some((s) => s >= STARTED_BYTES)) break;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill(signal);
  return { code: await exited, stderr };
}

describe('steady stabilize interrupted', () => {
  it('--keep-partial: SIGINT exits 130 and leaves a playable prefix under the final name', async () => {
    const r = await interrupt('kept', ['--keep-partial'], 'SIGINT');
    expect(r.code).toBe(130);
    expect(r.stderr).toMatch(/interrupted by SIGINT; kept the frames done so far in /);
    const out = join(dir, 'kept.mp4');
    expect(existsSync(out)).toBe(true);
    const frames = await countFrames(out);
    expect(frames).toBeGreaterThan(0);
    expect(frames).toBeLessThan(INPUT_FRAMES);
    // The sound stops with the pictures, not at the input's end (a long tail over a frozen frame).
    const streams = await listStreams(out);
    const video = streams.find((s) => s.codec_type === 'video');
    const audio = streams.find((s) => s.codec_type === 'audio');
    expect(Number(video?.duration)).toBeCloseTo(frames / 30, 1);
    expect(Math.abs(Number(audio?.duration) - Number(video?.duration))).toBeLessThan(AUDIO_END_TOL_SEC);
    expect(await tempFiles('kept')).toEqual([]);
    expect(processesInDir()).toBe('');
  }, 90_000);

  it('without --keep-partial: SIGINT exits 130 with one line and leaves no file', async () => {
    const r = await interrupt('dropped', [], 'SIGINT');
    expect(r.code).toBe(130);
    expect(r.stderr).toBe('steady: E_INTERRUPTED: interrupted by SIGINT\n');
    expect(existsSync(join(dir, 'dropped.mp4'))).toBe(false);
    expect(await tempFiles('dropped')).toEqual([]);
    expect(processesInDir()).toBe('');
  }, 90_000);

  it('without --keep-partial: SIGTERM exits 143 and leaves no file', async () => {
    const r = await interrupt('terminated', ['--quiet'], 'SIGTERM');
    expect(r.code).toBe(143);
    expect(existsSync(join(dir, 'terminated.mp4'))).toBe(false);
    expect(await tempFiles('terminated')).toEqual([]);
    expect(processesInDir()).toBe('');
  }, 90_000);
});

describe('steady stabilize when ffmpeg dies mid-run', () => {
  /**
   * An ffmpeg stand-in (FFMPEG_PATH) that runs the real one but kills it 1 s into the run when it is the
   * encoder (reading raw frames from pipe:0, and the test's input for its audio) or the decoder (reading
   * the test's input only), as DIE says.
   */
  async function dyingFfmpeg(): Promise<string> {
    const path = join(dir, 'dying-ffmpeg.sh');
    const real = resolveFfmpeg().path;
    await writeFile(
      path,
      [
        '#!/bin/sh',
        'role=other',
        'for a in "$@"; do',
        '  [ "$a" = pipe:0 ] && role=encoder',
        // The encoder names the input too (for its audio): pipe:0 decides.
        `  [ "$a" = ${JSON.stringify(input)} ] && [ "$role" != encoder ] && role=decoder`,
        'done',
        `if [ "$role" = "$DIE" ]; then`,
        // A background job's standard input is /dev/null: keep the encoder's pipe on fd 3 and hand it over.
        '  exec 3<&0',
        `  ${JSON.stringify(real)} "$@" <&3 & pid=$!`,
        '  sleep 1; kill -9 $pid; wait $pid; exit 137',
        'fi',
        `exec ${JSON.stringify(real)} "$@"`,
        '',
      ].join('\n'),
    );
    await chmod(path, 0o755);
    return path;
  }

  for (const role of ['encoder', 'decoder'] as const) {
    it(`the ${role} killed: exit 1 with one line, no output, no process left`, async () => {
      const out = join(dir, `died-${role}.mp4`);
      const r = await runCli(['stabilize', input, '-o', out], { env: { FFMPEG_PATH: await dyingFfmpeg(), DIE: role } });
      expect(r.stderr).toMatch(/^steady: E_[A-Z_]+: [^\n]+\n$/);
      // Killed mid-run, after frames went through (not a start-up failure).
      expect(r.stderr).toMatch(/failed after [1-9][0-9]* frames/);
      expect(r.code).toBe(1);
      expect(existsSync(out)).toBe(false);
      expect(await tempFiles(`died-${role}`)).toEqual([]);
      expect(processesInDir().split('\n').filter((l) => l.includes('died-') || l.includes('long.mp4'))).toEqual([]);
    }, 60_000);
  }
});
