import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InputError, RuntimeError } from '../../src/errors.js';
import { type DecodeWorker, startDecodeWorker } from '../../src/pipeline/decode-worker.js';
import { MAX_QUEUED_FRAMES, openLiveStabilizer } from '../../src/pipeline/live-source.js';
import type { StabilizedFrame } from '../../src/stabilize/frame-types.js';
import { resolveFfmpeg } from '../../src/video/binaries.js';
import { openDecoder } from '../../src/video/decoder.js';
import { slowAreaShrink } from '../support/area-shrink.js';
import { ffmpeg, makeTempDir, removeTempDir } from '../support/ffmpeg-fixtures.js';
import { NEUTRAL_CHROMA, numberedGraph as numberedGraphOf, SHAKE_X, SHAKE_Y, shakyGraph } from '../support/live-graphs.js';

/** Hang guard for waits on other processes (not a timing assertion). */
const WAIT_MS = 20_000;
/** Frame size of the generated sources (small: the tests are about the plumbing, not the pixels). */
const W = 64;
const H = 48;
/** Known shake test: largest error of a measured frame-to-frame shift, pixels. */
const TOL_PX = 0.25;
/**
 * Stabilized luma warped straight to half size against the full-size stabilized luma shrunk 2x2, mean
 * absolute difference (gray levels) over the frame: the two filters differ slightly on the smooth test
 * texture (frame-warper.test.ts bounds the same comparison at 0.5 on a rougher texture).
 */
const TOL_HALF_SIZE_MEAN_LEVELS = 0.5;

const ffmpegPath = resolveFfmpeg().path;

function numberedGraph(fps: number): string {
  return numberedGraphOf(W, H, fps);
}

/** Decoder arguments for a numbered source, built by the real decoder (which probes the graph). */
async function numberedArgs(fps: number, seconds: number, realtime: boolean): Promise<string[]> {
  const dec = await openDecoder(numberedGraph(fps), { inputFormat: 'lavfi', durationSec: seconds, realtime });
  return [...dec.args];
}

/** Whether a process has ended (gone, or a zombie waiting to be reaped). */
function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true;
  }
}

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Keeps the main thread busy (as synchronous registration does) until `cond` holds. */
function blockUntil(cond: () => boolean, what: string): void {
  const deadline = Date.now() + WAIT_MS;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

/** Checks a frame of the numbered source against its index. */
function expectNumbered(f: { index: number; y: Uint8Array; u: Uint8Array; v: Uint8Array }): void {
  const want = f.index % 256;
  expect(f.y.every((s) => s === want)).toBe(true);
  expect(f.u.every((s) => s === NEUTRAL_CHROMA)).toBe(true);
  expect(f.v.every((s) => s === NEUTRAL_CHROMA)).toBe(true);
}

describe('decode worker', () => {
  it('hands every frame over in order with its content, time and decode stamp when the reader keeps up', async () => {
    const fps = 25;
    const frames = 60;
    const reader = startDecodeWorker({ ffmpegPath, args: await numberedArgs(fps, frames / fps, false), width: W, height: H, fps, dropWhenBehind: false });
    const seen: number[] = [];
    let lastStamp = Number.NEGATIVE_INFINITY;
    for (let f = await reader.next(); f !== null; f = await reader.next()) {
      expectNumbered(f);
      expect(f.timeSec).toBeCloseTo(f.index / fps, 9);
      expect(f.decodedAtMs).toBeGreaterThanOrEqual(lastStamp);
      expect(f.decodedAtMs).toBeLessThanOrEqual(performance.now());
      lastStamp = f.decodedAtMs;
      seen.push(f.index);
    }
    expect(seen).toEqual(Array.from({ length: frames }, (_, k) => k));
    expect(reader.droppedFrames).toBe(0);
    expect(reader.framesDecoded).toBe(frames);
    await reader.close();
  });

  it('without dropping, makes ffmpeg wait while the main thread is busy: no frame is lost', async () => {
    const frames = 40;
    const reader = startDecodeWorker({ ffmpegPath, args: await numberedArgs(25, frames / 25, false), width: W, height: H, fps: 25, dropWhenBehind: false });
    const seen: number[] = [];
    for (let f = await reader.next(); f !== null; f = await reader.next()) {
      expectNumbered(f);
      seen.push(f.index);
      if (f.index % 10 === 0) {
        // Busy until the worker has filled every slot it may (it then has to wait for this thread).
        blockUntil(() => reader.framesDecoded >= Math.min(frames, f.index + reader.slotCount - 1), 'the pool to fill');
      }
    }
    expect(seen).toEqual(Array.from({ length: frames }, (_, k) => k));
    expect(reader.droppedFrames).toBe(0);
    await reader.close();
  });

  it('drops the oldest waiting frames while the main thread is busy, keeps the newest, and counts every drop', async () => {
    const fps = 60;
    const frames = 120;
    const reader = startDecodeWorker({ ffmpegPath, args: await numberedArgs(fps, frames / fps, true), width: W, height: H, fps, maxWaitingFrames: MAX_QUEUED_FRAMES });
    const seen: number[] = [];
    let blocked = false;
    for (let f = await reader.next(); f !== null; f = await reader.next()) {
      expectNumbered(f);
      seen.push(f.index);
      if (!blocked && f.index >= 10) {
        blocked = true;
        const k = f.index;
        const burst = 10;
        // While this thread is busy, `burst` more frames arrive; only MAX_QUEUED_FRAMES of them can wait.
        blockUntil(() => reader.framesDecoded >= k + 1 + burst, 'frames to arrive');
        const next = await reader.next();
        expect(next).not.toBeNull();
        const n = next as NonNullable<typeof next>;
        expectNumbered(n);
        expect(n.index).toBeGreaterThanOrEqual(k + 1 + burst - MAX_QUEUED_FRAMES);
        expect(reader.droppedFrames).toBeGreaterThanOrEqual(burst - MAX_QUEUED_FRAMES);
        seen.push(n.index);
      }
    }
    expect(blocked).toBe(true);
    for (let i = 1; i < seen.length; i++) expect(seen[i] as number).toBeGreaterThan(seen[i - 1] as number);
    expect(seen.length + reader.droppedFrames).toBe(frames);
    expect(reader.framesDecoded).toBe(frames);
    // Every frame not handed over was counted as dropped: the gaps add up to the drop count.
    const gaps = seen.reduce((sum, index, i) => sum + (i === 0 ? index : index - (seen[i - 1] as number) - 1), 0) + (frames - 1 - (seen.at(-1) as number));
    expect(gaps).toBe(reader.droppedFrames);
    await reader.close();
  });

  it('kills ffmpeg on close() mid-stream; next() then returns null', async () => {
    const reader = startDecodeWorker({ ffmpegPath, args: await numberedArgs(30, 60, true), width: W, height: H, fps: 30 });
    for (let i = 0; i < 3; i++) expect(await reader.next()).not.toBeNull();
    const pid = reader.processId;
    expect(pid).not.toBeNull();
    expect(isGone(pid as number)).toBe(false);
    await reader.close();
    expect(isGone(pid as number)).toBe(true);
    expect(reader.processId).toBeNull();
    expect(await reader.next()).toBeNull();
    await reader.close(); // twice is fine
  });

  it('kills ffmpeg when the signal aborts; the frames end without an error', async () => {
    const ac = new AbortController();
    const reader = startDecodeWorker({ ffmpegPath, args: await numberedArgs(30, 60, true), width: W, height: H, fps: 30, signal: ac.signal });
    expect(await reader.next()).not.toBeNull();
    const pid = reader.processId as number;
    ac.abort('SIGINT');
    expect(await reader.next()).toBeNull();
    await waitFor(() => isGone(pid), 'ffmpeg to die');
    await reader.close();
  });

  it('reports an ffmpeg that cannot run, an input with no frame and a stream that stops inside a frame', async () => {
    const args = await numberedArgs(10, 0.3, false);
    const missing = startDecodeWorker({ ffmpegPath: '/nonexistent/ffmpeg', args, width: W, height: H, fps: 10 });
    const e1 = await missing.next().catch((e: unknown) => e);
    expect(e1).toBeInstanceOf(RuntimeError);
    expect((e1 as RuntimeError).code).toBe('E_FFMPEG_NOT_FOUND');
    await missing.close();

    const bad = startDecodeWorker({ ffmpegPath, args: ['-hide_banner', '-loglevel', 'error', '-f', 'lavfi', '-i', 'nosuchsource', '-f', 'rawvideo', 'pipe:1'], width: W, height: H, fps: 10 });
    const e2 = await bad.next().catch((e: unknown) => e);
    expect(e2).toBeInstanceOf(InputError);
    expect((e2 as InputError).code).toBe('E_NO_FRAMES');
    await bad.close();

    // 3 frames of W x H read as frames of W x 2H: one whole frame, then half of one.
    const short = startDecodeWorker({ ffmpegPath, args, width: W, height: 2 * H, fps: 10, dropWhenBehind: false, inputName: 'the short source' });
    expect(await short.next()).not.toBeNull();
    const e3 = await short.next().catch((e: unknown) => e);
    expect(e3).toBeInstanceOf(RuntimeError);
    expect((e3 as RuntimeError).code).toBe('E_DECODE_FAILED');
    expect((e3 as RuntimeError).message).toBe(
      `Decoding the short source failed after 1 frames: ffmpeg stopped inside a frame (${W * H + (W * H) / 2} of ${2 * (W * H + (W * H) / 2)} bytes of a ${W}x${2 * H} yuv420p frame)`,
    );
    await short.close();
  });

  it('feeds standard input to ffmpeg from a stream (flow-controlled through the worker)', async () => {
    const frames = 12;
    const y4m = await ffmpeg(['-f', 'lavfi', '-i', numberedGraph(10), '-frames:v', String(frames), '-f', 'yuv4mpegpipe', 'pipe:1']);
    // Small chunks: many messages, and the stream must be read to its end.
    const chunks: Buffer[] = [];
    for (let at = 0; at < y4m.length; at += 1000) chunks.push(y4m.subarray(at, at + 1000));
    const args = ['-hide_banner', '-loglevel', 'error', '-f', 'yuv4mpegpipe', '-i', 'pipe:0', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', 'pipe:1'];
    const reader = startDecodeWorker({ ffmpegPath, args, width: W, height: H, fps: 10, dropWhenBehind: false, stdin: Readable.from(chunks) });
    const seen: number[] = [];
    for (let f = await reader.next(); f !== null; f = await reader.next()) {
      expectNumbered(f);
      seen.push(f.index);
    }
    expect(seen).toEqual(Array.from({ length: frames }, (_, k) => k));
    await reader.close();
  });

  it('holds maxWaitingFrames + 2 frames in its pool', async () => {
    const reader: DecodeWorker = startDecodeWorker({ ffmpegPath, args: await numberedArgs(10, 0.2, false), width: W, height: H, fps: 10, maxWaitingFrames: 3 });
    expect(reader.slotCount).toBe(5);
    expect(reader.frameBytes).toBe(W * H + 2 * (W / 2) * (H / 2));
    await reader.close();
  });

  it('refuses a pool it cannot build', () => {
    expect(() => startDecodeWorker({ ffmpegPath, args: [], width: 0, height: H, fps: 10 })).toThrow('Expected a positive integer frame size for the decode worker but received 0x48');
    expect(() => startDecodeWorker({ ffmpegPath, args: [], width: W, height: H, fps: 10, maxWaitingFrames: 0 })).toThrow(
      'Expected an integer 1..64 for maxWaitingFrames but received 0',
    );
  });
});

describe('decode worker: ffmpeg dies with the process', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await makeTempDir();
    // These modules import nothing but each other and node: transpiled one by one they run as plain
    // JavaScript, in the same layout.
    await mkdir(join(dir, 'src', 'video'), { recursive: true });
    await mkdir(join(dir, 'src', 'pipeline'), { recursive: true });
    await writeFile(join(dir, 'package.json'), '{ "type": "module" }');
    for (const file of ['errors.ts', 'video/process-registry.ts', 'video/static-binary.ts', 'pipeline/decode-worker.ts']) {
      const source = await readFile(new URL(`../../src/${file}`, import.meta.url), 'utf8');
      const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 } }).outputText;
      await writeFile(join(dir, 'src', file.replace(/\.ts$/, '.js')), js);
    }
    await writeFile(
      join(dir, 'child.js'),
      [
        "import { startDecodeWorker } from './src/pipeline/decode-worker.js';",
        "import { handleSignalsInApplication } from './src/video/process-registry.js';",
        'const [mode, ffmpegPath, argsJson] = process.argv.slice(2);',
        "if (mode === 'app') handleSignalsInApplication();",
        `const reader = startDecodeWorker({ ffmpegPath, args: JSON.parse(argsJson), width: ${W}, height: ${H}, fps: 30 });`,
        'await reader.next();',
        'console.log(reader.processId);',
        "if (mode === 'sigint') process.kill(process.pid, 'SIGINT');",
        "else if (mode === 'exit') process.exit(0);",
        "else if (mode === 'sigkill') process.kill(process.pid, 'SIGKILL');",
        "else if (mode === 'app') {",
        "  process.on('SIGINT', async () => { await reader.close(); console.log('closed'); process.exit(130); });",
        "  process.kill(process.pid, 'SIGINT');",
        '}',
        // Keep the event loop busy so that only the mode's ending ends the process.
        'setInterval(() => {}, 1000);',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await removeTempDir(dir);
  });

  /** Runs the child in `mode` on a long real-time source; resolves with ffmpeg's pid and how the child ended. */
  async function runChild(mode: string): Promise<{ pid: number; said: string; code: number | null; signal: string | null }> {
    const args = await numberedArgs(30, 120, true);
    const child = spawn(process.execPath, [join(dir, 'child.js'), mode, ffmpegPath, JSON.stringify(args)], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
    });
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), WAIT_MS);
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.once('close', (c, s) => resolve([c, s])));
    clearTimeout(timer);
    const [pid, ...rest] = out.trim().split('\n');
    expect(err).toBe('');
    return { pid: Number(pid), said: rest.join(' '), code, signal };
  }

  it('SIGINT with no handler of the application: ffmpeg is killed and the process dies of the signal', async () => {
    const r = await runChild('sigint');
    expect(r.signal).toBe('SIGINT');
    expect(r.pid).toBeGreaterThan(0);
    expect(isGone(r.pid)).toBe(true);
  });

  it('SIGINT handled by the application, which closes the reader: ffmpeg is gone before it exits', async () => {
    const r = await runChild('app');
    expect(r.code).toBe(130);
    expect(r.said).toBe('closed');
    expect(isGone(r.pid)).toBe(true);
  });

  it('process.exit without close(): the exit hook kills ffmpeg', async () => {
    const r = await runChild('exit');
    expect(r.code).toBe(0);
    expect(isGone(r.pid)).toBe(true);
  });

  it('the process killed outright (SIGKILL): ffmpeg ends on its broken pipe', async () => {
    const r = await runChild('sigkill');
    expect(r.signal).toBe('SIGKILL');
    await waitFor(() => isGone(r.pid), 'the orphaned ffmpeg to end');
  });
});

async function collect(frames: AsyncIterable<StabilizedFrame>, each?: (f: StabilizedFrame) => void): Promise<{ index: number; motion: Float64Array; ok: boolean }[]> {
  const out: { index: number; motion: Float64Array; ok: boolean }[] = [];
  for await (const f of frames) {
    each?.(f);
    out.push({ index: f.input.index, motion: Float64Array.from(f.motion.motion), ok: f.motion.ok });
  }
  return out;
}

describe('live stabilizer (decode worker + stabilizer)', () => {
  it('read as fast as possible (no realtime), stabilizes every frame in order and measures the known shake', async () => {
    const frames = 24;
    const src = await openLiveStabilizer(shakyGraph(30), { inputFormat: 'lavfi', realtime: false, loop: false, smoothingRadius: 3, model: 'translation' });
    expect(src.ffmpegArgs).not.toContain('-re');
    const got: { index: number; motion: Float64Array; ok: boolean }[] = [];
    for await (const f of src.frames) {
      expect(f.output.width).toBe(128);
      expect(f.output.height).toBe(96);
      got.push({ index: f.input.index, motion: Float64Array.from(f.motion.motion), ok: f.motion.ok });
      if (got.length === frames) break;
    }
    expect(got.map((g) => g.index)).toEqual(Array.from({ length: frames }, (_, k) => k));
    expect(src.droppedFrames).toBe(0);
    // Frame k shows the pattern shifted by the crop offset o_k: a point at p in frame k-1 is at p - (o_k - o_{k-1}) in frame k.
    for (const g of got.slice(1)) {
      const n = SHAKE_X.length;
      const dx = (SHAKE_X[g.index % n] as number) - (SHAKE_X[(g.index - 1) % n] as number);
      const dy = (SHAKE_Y[g.index % n] as number) - (SHAKE_Y[(g.index - 1) % n] as number);
      expect(g.ok).toBe(true);
      expect(Math.abs((g.motion[2] as number) + dx)).toBeLessThan(TOL_PX);
      expect(Math.abs((g.motion[5] as number) + dy)).toBeLessThan(TOL_PX);
    }
    expect(src.decoderProcessId).toBeNull(); // the loop's end closed the source
  });

  it('with outputMaxWidth, warps straight to the preview size: same motion data, input at the source size, planes = the full-size output shrunk', async () => {
    const frames = 16;
    const run = async (outputMaxWidth?: number) => {
      const src = await openLiveStabilizer(shakyGraph(30), {
        inputFormat: 'lavfi',
        realtime: false,
        loop: false,
        smoothingRadius: 3,
        model: 'translation',
        ...(outputMaxWidth !== undefined ? { outputMaxWidth } : {}),
      });
      const got: { index: number; input: number[]; output: number[]; correction: number[]; path: number[]; y: Uint8Array }[] = [];
      for await (const f of src.frames) {
        got.push({
          index: f.input.index,
          input: [f.input.width, f.input.height],
          output: [f.output.width, f.output.height, f.output.y.length, f.output.u.length],
          correction: [...f.motion.correction],
          path: [...f.motion.path, ...f.motion.smoothedPath],
          y: f.output.y.slice(),
        });
        if (got.length === frames) break;
      }
      return got;
    };
    const full = await run();
    const small = await run(64);
    expect(small.map((g) => g.index)).toEqual(full.map((g) => g.index));
    for (let k = 0; k < frames; k++) {
      const a = full[k] as (typeof full)[number];
      const b = small[k] as (typeof small)[number];
      expect(b.input).toEqual([128, 96]);
      expect(b.output).toEqual([64, 48, 64 * 48, 32 * 24]);
      expect(b.correction).toEqual(a.correction);
      expect(b.path).toEqual(a.path);
      let sum = 0;
      const shrunk = slowAreaShrink(a.y, 128, 96, 64, 48);
      for (let i = 0; i < shrunk.length; i++) sum += Math.abs((shrunk[i] as number) - (b.y[i] as number));
      expect(sum / shrunk.length).toBeLessThan(TOL_HALF_SIZE_MEAN_LEVELS);
    }
  });

  it('in real time, drops the frames the stabilizer has no time for and shows them as index gaps', async () => {
    const fps = 60;
    const seconds = 2;
    const src = await openLiveStabilizer(numberedGraph(fps), { inputFormat: 'lavfi', realtime: true, smoother: 'causal' });
    expect(src.ffmpegArgs).toContain('-re');
    let blocked = false;
    // Stop after the source's last frame index would have come (the graph is endless: -t is not given).
    const got = await (async () => {
      const out: number[] = [];
      for await (const f of src.frames) {
        expectNumbered(f.input);
        out.push(f.input.index);
        if (!blocked && f.input.index >= 5) {
          blocked = true;
          const k = f.input.index;
          // Stand-in for slow registration: busy until the source is well ahead.
          blockUntil(() => src.droppedFrames >= 5, 'drops while behind');
          expect(k).toBeLessThan(fps * seconds);
        }
        if (f.input.index >= fps * seconds) break;
      }
      return out;
    })();
    expect(blocked).toBe(true);
    for (let i = 1; i < got.length; i++) expect(got[i] as number).toBeGreaterThan(got[i - 1] as number);
    const gaps = got.reduce((sum, index, i) => sum + (i === 0 ? index : index - (got[i - 1] as number) - 1), 0);
    // Drops counted after the last frame taken (frames still arriving) are not gaps yet.
    expect(gaps).toBeLessThanOrEqual(src.droppedFrames);
    expect(gaps).toBeGreaterThanOrEqual(5);
    await src.close();
  });

  it('close() mid-stream kills the decoding ffmpeg and ends the frames', async () => {
    const src = await openLiveStabilizer(numberedGraph(30), { inputFormat: 'lavfi', realtime: true, smoother: 'causal' });
    const it = src.frames[Symbol.asyncIterator]();
    expect((await it.next()).done).toBe(false);
    const pid = src.decoderProcessId;
    expect(pid).not.toBeNull();
    await src.close();
    expect(isGone(pid as number)).toBe(true);
    const rest = await collect({ [Symbol.asyncIterator]: () => it });
    // At most the frames already waiting in the pool may still come through before the end.
    expect(rest.length).toBeLessThanOrEqual(MAX_QUEUED_FRAMES + 1);
  });

  it('an abort (SIGINT in the CLI) ends the frames without an error and kills ffmpeg', async () => {
    const ac = new AbortController();
    const src = await openLiveStabilizer(numberedGraph(30), { inputFormat: 'lavfi', realtime: true, smoother: 'causal', signal: ac.signal });
    let pid: number | null = null;
    const got = await collect(src.frames, () => {
      pid ??= src.decoderProcessId;
      if (!ac.signal.aborted) ac.abort('SIGINT');
    });
    expect(got.length).toBeGreaterThanOrEqual(1);
    expect(pid).not.toBeNull();
    await waitFor(() => isGone(pid as unknown as number), 'ffmpeg to die');
  });

  it("stabilizes standard input ('-')", async () => {
    const frames = 8;
    const y4m = await ffmpeg(['-f', 'lavfi', '-i', numberedGraph(10), '-frames:v', String(frames), '-f', 'yuv4mpegpipe', 'pipe:1']);
    // Standard input may be a live pipe: frames are dropped when behind unless told otherwise.
    const src = await openLiveStabilizer('-', { stdin: Readable.from([y4m]), smoother: 'causal', dropWhenBehind: false });
    const got = await collect(src.frames, (f) => expectNumbered(f.input));
    expect(got.map((g) => g.index)).toEqual(Array.from({ length: frames }, (_, k) => k));
  });

  it('refuses the whole-clip smoother and zoom', async () => {
    const e = await openLiveStabilizer(numberedGraph(10), { inputFormat: 'lavfi', smoother: 'two-pass' }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).message).toBe("A live source cannot use the 'two-pass' smoother or 'auto' zoom (they plan over seconds of look-ahead); use gaussian or causal");
  });
});
