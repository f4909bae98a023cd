/**
 * `steady stabilize` on bad input and bad options (issue 3, "Bad input and faults"): exit 2 with one line
 * `steady: CODE: message` on stderr, no stack trace, nothing under the final output name, no temporary
 * file and no ffmpeg process left. Each case runs in its own folder so that leftovers can be told apart.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, symlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/run.js';
import { MotionFileEncoder } from '../../src/track/motion-file.js';
import { runCli } from '../support/cli.js';
import { countFrames, ffmpeg, makeTempDir, removeTempDir } from '../support/ffmpeg-fixtures.js';
import { makeShakyClip } from '../support/shaky-clip.js';

let root = '';
/** A good 160x90, 20-frame clip (FFV1), and the same clip as an MP4 with its index at the end. */
let good = '';
let goodMp4 = '';

beforeAll(async () => {
  root = await makeTempDir('steady-stab-bad-');
  good = (await makeShakyClip(join(root, 'good.mkv'), { seed: 31, width: 160, height: 90, frames: 20 })).path;
  goodMp4 = (await makeShakyClip(join(root, 'good.mp4'), { seed: 31, width: 160, height: 90, frames: 20, codec: 'libx264', crf: 10 })).path;
}, 60_000);

afterAll(async () => {
  if (root) await removeTempDir(root);
});

interface Case {
  readonly name: string;
  /** Prepares the case folder; returns the arguments after `stabilize` (OUT stands for the output path). */
  readonly setup: (dir: string) => Promise<string[]>;
  /** The error code expected (a regular expression). */
  readonly code: string;
  /** Standard input for the command. */
  readonly stdin?: (dir: string) => Promise<Buffer>;
  /** What the message must say, when it matters. */
  readonly message?: RegExp;
}

async function copy(from: string, to: string): Promise<string> {
  await writeFile(to, await readFile(from));
  return to;
}

async function motionFile(path: string, width: number, height: number, frames: number, fps = 30): Promise<string> {
  const enc = new MotionFileEncoder({ width, height, fps }, 'json');
  const id = Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);
  let text = enc.begin();
  // No correlation (cc null: not from a registration): taken as given, so only its header and length are judged.
  for (let k = 0; k < frames; k++) text += enc.encodeFrame({ index: k, timeSec: k / fps, ok: true, cc: Number.NaN, motion: id, fromReference: id, referenceIndex: 0 });
  await writeFile(path, text + enc.end());
  return path;
}

const CASES: readonly Case[] = [
  { name: 'missing input', code: 'E_INPUT_NOT_FOUND', setup: async (d) => [join(d, 'nothing-here.mp4'), '-o', 'OUT'] },
  {
    name: 'empty input',
    code: 'E_INPUT_EMPTY',
    setup: async (d) => {
      await writeFile(join(d, 'empty.mp4'), '');
      return [join(d, 'empty.mp4'), '-o', 'OUT'];
    },
  },
  {
    name: 'text file named .mp4',
    code: 'E_NOT_VIDEO',
    setup: async (d) => {
      await writeFile(join(d, 'notes.mp4'), 'this is not a video\n'.repeat(50));
      return [join(d, 'notes.mp4'), '-o', 'OUT'];
    },
  },
  {
    name: 'truncated MP4 (index at the end cut off)',
    code: 'E_NOT_VIDEO',
    setup: async (d) => {
      const bytes = await readFile(goodMp4);
      await writeFile(join(d, 'cut.mp4'), bytes.subarray(0, Math.floor(bytes.length / 2)));
      return [join(d, 'cut.mp4'), '-o', 'OUT'];
    },
  },
  {
    name: 'truncated Matroska (frames cut off mid-file)',
    // Any code: what matters is the exit status of bad input, one line and nothing left.
    code: 'E_[A-Z_]+',
    setup: async (d) => {
      const bytes = await readFile(good);
      await writeFile(join(d, 'cut.mkv'), bytes.subarray(0, Math.floor(bytes.length / 2)));
      return [join(d, 'cut.mkv'), '-o', 'OUT'];
    },
  },
  {
    name: '--framerate on a video file (it has its own rate)',
    code: 'E_BAD_OPTION',
    setup: async (d) => [await copy(good, join(d, 'clip.mkv')), '-o', 'OUT', '--framerate', '30'],
  },
  {
    name: 'output is the input',
    code: 'E_OUTPUT_IS_INPUT',
    setup: async (d) => {
      const f = await copy(good, join(d, 'clip.mkv'));
      return [f, '-o', f, '--overwrite'];
    },
  },
  {
    name: 'output is the input by another spelling',
    code: 'E_OUTPUT_IS_INPUT',
    setup: async (d) => {
      const f = await copy(good, join(d, 'clip.mkv'));
      await mkdir(join(d, 'sub'));
      return [f, '-o', join(d, 'sub', '..', 'clip.mkv'), '--overwrite'];
    },
  },
  {
    name: 'existing output without --overwrite',
    code: 'E_OUTPUT_EXISTS',
    setup: async (d) => {
      await writeFile(join(d, 'taken.mp4'), 'keep me');
      return [good, '-o', join(d, 'taken.mp4')];
    },
  },
  { name: 'output folder does not exist', code: 'E_OUTPUT_UNWRITABLE', setup: async (d) => [good, '-o', join(d, 'no', 'such', 'folder', 'out.mp4')] },
  {
    name: 'output folder is a file',
    code: 'E_OUTPUT_UNWRITABLE',
    setup: async (d) => {
      await writeFile(join(d, 'plain-file'), 'x');
      return [good, '-o', join(d, 'plain-file', 'out.mp4')];
    },
  },
  { name: 'negative smoothing radius', code: 'E_BAD_OPTION', setup: async () => [good, '-o', 'OUT', '--smoothing', '-3'] },
  { name: 'unknown smoother', code: 'E_BAD_OPTION', setup: async () => [good, '-o', 'OUT', '--smoother', 'kalman'] },
  { name: 'unknown zoom mode', code: 'E_BAD_OPTION', setup: async () => [good, '-o', 'OUT', '--zoom', 'lots'] },
  { name: 'zoom percent out of range', code: 'E_BAD_OPTION', setup: async () => [good, '-o', 'OUT', '--zoom', '80'] },
  { name: 'unknown reference mode', code: 'E_BAD_OPTION', setup: async () => [good, '-o', 'OUT', '--reference', 'last'] },
  { name: 'unknown model', code: 'E_BAD_OPTION', setup: async () => [good, '-o', 'OUT', '--model', 'perspective'] },
  { name: 'unknown border', code: 'E_BAD_OPTION', setup: async () => [good, '-o', 'OUT', '--border', 'wrap'] },
  { name: 'unknown interpolation', code: 'E_BAD_OPTION', setup: async () => [good, '-o', 'OUT', '--interpolation', 'lanczos'] },
  { name: 'negative max shift', code: 'E_BAD_OPTION', setup: async () => [good, '-o', 'OUT', '--max-shift', '-1'] },
  { name: 'negative max angle', code: 'E_BAD_OPTION', setup: async () => [good, '-o', 'OUT', '--max-angle', '-2'] },
  { name: 'analysis width too small', code: 'E_BAD_OPTION', setup: async () => [good, '-o', 'OUT', '--analysis-width', '10'] },
  { name: 'crf out of range', code: 'E_BAD_OPTION', setup: async () => [good, '-o', 'OUT', '--crf', '99'] },
  { name: 'crf past x264s range', code: 'E_BAD_OPTION', message: /0\.\.51 for crf with libx264 but received 60/, setup: async () => [good, '-o', 'OUT', '--crf', '60'] },
  { name: 'unknown encoder', code: 'E_BAD_OPTION', message: /"nosuchcodec"/, setup: async () => [good, '-o', 'OUT', '--codec', 'nosuchcodec'] },
  { name: 'copy as the encoder', code: 'E_BAD_OPTION', message: /cannot be stream-copied/, setup: async () => [good, '-o', 'OUT', '--codec', 'copy'] },
  { name: 'an encoder a WebM cannot hold', code: 'E_BAD_OPTION', message: /a \.webm file can hold for codec but received "libx264" \(ffmpeg: Only VP8 or VP9/, setup: async (d) => [good, '-o', join(d, 'out.webm'), '--codec', 'libx264'] },
  { name: 'raw video in an MP4', code: 'E_BAD_OPTION', message: /a \.mp4 file can hold for codec but received "rawvideo"/, setup: async () => [good, '-o', 'OUT', '--codec', 'rawvideo'] },
  { name: 'unknown x264 preset', code: 'E_BAD_OPTION', message: /preset with libx264 but received "warp"/, setup: async () => [good, '-o', 'OUT', '--preset', 'warp'] },
  { name: 'preview port out of range, without --preview', code: 'E_BAD_OPTION', message: /--preview-port but received "99999"/, setup: async () => [good, '-o', 'OUT', '--preview-port', '99999'] },
  { name: 'negative threads', code: 'E_BAD_OPTION', setup: async () => [good, '-o', 'OUT', '--threads', '-1'] },
  { name: 'zero frame rate', code: 'E_BAD_OPTION', setup: async () => [good, '-o', 'OUT', '--framerate', '0'] },
  { name: 'negative start', code: 'E_BAD_OPTION', setup: async () => [good, '-o', 'OUT', '--start', '-1'] },
  { name: 'zero duration', code: 'E_BAD_OPTION', setup: async () => [good, '-o', 'OUT', '--duration', '0'] },
  { name: 'duration under a microsecond', code: 'E_BAD_OPTION', message: /for --duration but received "5e-7"/, setup: async () => [good, '-o', 'OUT', '--duration', '5e-7'] },
  { name: 'not a number', code: 'E_BAD_OPTION', setup: async () => [good, '-o', 'OUT', '--smoothing', 'ten'] },
  { name: 'unknown flag', code: 'E_UNKNOWN_OPTION', setup: async () => [good, '-o', 'OUT', '--stabilise-harder'] },
  { name: 'no output given', code: 'E_USAGE', setup: async () => [good] },
  { name: 'start past the end of the clip', code: 'E_NO_FRAMES', message: /check --start/, setup: async () => [good, '-o', 'OUT', '--start', '60'] },
  {
    name: 'start after the last frame, within its length',
    code: 'E_NO_FRAMES',
    message: /check --start/,
    // 20 frames at 30 fps: the last starts at 0.633 s, the clip lasts 0.667 s.
    setup: async () => [goodMp4, '-o', 'OUT', '--start', '0.65'],
  },
  { name: 'missing motion file', code: 'E_INPUT_NOT_FOUND', setup: async (d) => [good, '-o', 'OUT', '--transforms-in', join(d, 'none.json')] },
  {
    name: 'motion file for another frame size',
    code: 'E_MOTION_FILE_SIZE',
    setup: async (d) => [good, '-o', 'OUT', '--transforms-in', await motionFile(join(d, 'm.json'), 320, 180, 20)],
  },
  {
    name: 'motion file shorter than the clip',
    code: 'E_MOTION_FILE_FRAMES',
    setup: async (d) => [good, '-o', 'OUT', '--transforms-in', await motionFile(join(d, 'm.json'), 160, 90, 5)],
  },
  {
    name: 'motion file longer than the clip',
    code: 'E_MOTION_FILE_FRAMES',
    setup: async (d) => [good, '-o', 'OUT', '--transforms-in', await motionFile(join(d, 'm.json'), 160, 90, 50)],
  },
  {
    name: 'motion file from a clip at another frame rate',
    code: 'E_MOTION_FILE_MISMATCH',
    message: /at 25 fps but the input is at 30 fps/,
    setup: async (d) => [good, '-o', 'OUT', '--transforms-in', await motionFile(join(d, 'm.json'), 160, 90, 20, 25)],
  },
  {
    name: 'motion file of another clip of the same size, length and rate',
    code: 'E_MOTION_FILE_MISMATCH',
    message: /does not match the input: registered again, the motion into frame \d+ moves the centre/,
    setup: async (d) => {
      // Another shake's true motions, written as a registration would write them (with a correlation).
      const other = await makeShakyClip(join(d, 'other.mkv'), { seed: 32, width: 160, height: 90, frames: 20 });
      const enc = new MotionFileEncoder({ width: 160, height: 90, fps: 30 }, 'json');
      const id = Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);
      let text = enc.begin();
      other.motion.forEach((m, k) => {
        text += enc.encodeFrame({ index: k, timeSec: k / 30, ok: true, cc: 0.99, motion: m, fromReference: id, referenceIndex: 0 });
      });
      await writeFile(join(d, 'other.json'), text + enc.end());
      return [good, '-o', 'OUT', '--transforms-in', join(d, 'other.json')];
    },
  },
  { name: 'compare to standard output', code: 'E_BAD_OPTION', setup: async () => [good, '-o', 'OUT', '--compare', '-'] },
  { name: 'motion file to standard output', code: 'E_BAD_OPTION', message: /--transforms needs a file name, not '-'/, setup: async () => [good, '-o', 'OUT', '--transforms', '-'] },
  { name: 'compare is the output', code: 'E_BAD_OPTION', setup: async () => [good, '-o', 'OUT', '--compare', 'OUT'] },
  {
    name: 'compare is the output through a linked folder',
    code: 'E_BAD_OPTION',
    setup: async (d) => {
      await mkdir(join(d, 'real'));
      await symlink('real', join(d, 'linked'));
      return [good, '-o', join(d, 'linked', 'x.mp4'), '--compare', join(d, 'real', 'x.mp4')];
    },
  },
  { name: 'motion file is the compare video', code: 'E_BAD_OPTION', setup: async (d) => [good, '-o', 'OUT', '--compare', join(d, 's.mkv'), '--transforms', join(d, 's.mkv')] },
  {
    name: 'start inside an MPEG-TS clip with one keyframe',
    code: 'E_NO_FRAMES',
    message: /1\.5 s .*no keyframe to start from/,
    setup: async (d) => {
      // B-frames: ffmpeg logs errors for the frames it cannot decode after its seek (the decoder's check).
      await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=30:duration=3', '-c:v', 'libx264', '-g', '1000', '-bf', '2', '-preset', 'veryfast', join(d, 'one-key.ts')]);
      return [join(d, 'one-key.ts'), '-o', 'OUT', '--start', '1.5'];
    },
  },
  {
    name: 'start inside an MPEG-TS clip with one keyframe, no B-frames',
    code: 'E_NO_FRAMES',
    message: /from 1 s .*no keyframe to start from/,
    setup: async (d) => {
      // Nothing logged: the pipeline's check.
      await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=160x90:rate=30:duration=2', '-c:v', 'libx264', '-g', '1000', '-preset', 'ultrafast', join(d, 'one-key.ts')]);
      return [join(d, 'one-key.ts'), '-o', 'OUT', '--start', '1'];
    },
  },
  {
    name: 'whole-clip from standard input',
    code: 'E_BAD_OPTION',
    setup: async () => ['-', '-o', 'OUT', '--whole-clip'],
    stdin: async () => readFile(good),
  },
];

describe('steady stabilize refuses bad input with exit 2 and one line', () => {
  for (const c of CASES) {
    it.concurrent(`${c.name}: ${c.code.includes('[') ? 'one error line' : c.code}`, async () => {
      const d = join(root, c.name.replace(/[^a-z0-9]+/gi, '-'));
      await mkdir(d, { recursive: true });
      const out = join(d, 'out.mp4');
      const args = (await c.setup(d)).map((a) => (a === 'OUT' ? out : a));
      const before = new Set(await readdir(d));
      const r = await runCli(['stabilize', ...args], c.stdin ? { input: await c.stdin(d) } : {});
      expect(r.stderr).toMatch(new RegExp(`^steady: ${c.code}: \\S[^\\n]*\\n$`));
      if (c.message !== undefined) expect(r.stderr).toMatch(c.message);
      expect(r.code).toBe(2);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      expect(r.stdout).toBe('');
      expect(existsSync(out)).toBe(false);
      // Nothing new in the folder (no temporary output, no motion file), and the existing files untouched.
      expect((await readdir(d)).filter((n) => !before.has(n))).toEqual([]);
      if (c.name.startsWith('existing output')) expect(await readFile(join(d, 'taken.mp4'), 'utf8')).toBe('keep me');
      expect(spawnSync('pgrep', ['-af', `${d}/`], { encoding: 'utf8' }).stdout.trim()).toBe('');
    });
  }
});

describe('steady stabilize -o - on a terminal', () => {
  it('refuses to write binary video to a terminal (E_BAD_OPTION, exit 2), and writes nothing there', async () => {
    const stdout = Object.assign(new PassThrough(), { isTTY: true });
    const stderr = new PassThrough();
    let out = 0;
    let err = '';
    stdout.on('data', (d: Buffer) => (out += d.length));
    stderr.on('data', (d: Buffer) => (err += d.toString()));
    const code = await main(['stabilize', good, '-o', '-'], { stdout, stderr, signal: new AbortController().signal });
    expect(code).toBe(2);
    expect(err).toMatch(/^steady: E_BAD_OPTION: -o - writes binary video to standard output, which is a terminal here[^\n]*\n$/);
    expect(out).toBe(0);
  });
});

describe('steady stabilize - with an MP4 whose index is at its end', () => {
  it('reads it whole from standard input (ffmpeg cannot seek back in a pipe): every frame, and its audio', async () => {
    const d = join(root, 'stdin-moov-at-end');
    await mkdir(d, { recursive: true });
    const src = join(d, 'with-audio.mp4');
    // ffmpeg writes an MP4's index at its end unless told otherwise (no +faststart).
    await ffmpeg(['-i', goodMp4, '-f', 'lavfi', '-i', 'sine=frequency=440:duration=0.7', '-map', '0:v', '-map', '1:a', '-c:v', 'copy', '-c:a', 'aac', '-shortest', src]);
    const out = join(d, 'out.mp4');
    // Its own temporary folder, to see that the kept copy of standard input is gone with the process.
    const tmp = join(d, 'tmp');
    await mkdir(tmp);
    const r = await runCli(['stabilize', '-', '-o', out, '--json'], { input: await readFile(src), env: { TMPDIR: tmp } });
    if (r.code !== 0) throw new Error(`steady stabilize exited ${r.code}: ${r.stderr}`);
    const summary = JSON.parse(r.stdout.trim()) as { frames: number; audio: string };
    expect(summary.frames).toBe(20);
    expect(summary.audio).toBe('copied');
    expect(await countFrames(out)).toBe(20);
    expect(await readdir(tmp)).toEqual([]);
  });

  it('a temporary folder that cannot be written: E_OUTPUT_WRITE saying so (not an internal error); a cut-off one names standard input', async () => {
    const d = join(root, 'stdin-moov-errors');
    await mkdir(d, { recursive: true });
    const bytes = await readFile(goodMp4);
    const noTmp = await runCli(['stabilize', '-', '-o', join(d, 'a.mp4')], { input: bytes, env: { TMPDIR: join(d, 'no-such-folder') } });
    expect(noTmp.code).toBe(1);
    expect(noTmp.stderr).toMatch(/^steady: E_OUTPUT_WRITE: Cannot keep standard input in a temporary file [^\n]*set TMPDIR[^\n]*\n$/);
    // The index cut off: what is wrong is said of standard input, not of the temporary copy.
    const tmp = join(d, 'tmp');
    await mkdir(tmp);
    const cut = await runCli(['stabilize', '-', '-o', join(d, 'b.mp4')], { input: bytes.subarray(0, bytes.length - 200), env: { TMPDIR: tmp } });
    expect(cut.code).toBe(2);
    expect(cut.stderr).toMatch(/^steady: E_NOT_VIDEO: standard input /);
    expect(await readdir(tmp)).toEqual([]);
    expect(existsSync(join(d, 'a.mp4')) || existsSync(join(d, 'b.mp4'))).toBe(false);
  });
});
