import { writeFile } from 'node:fs/promises';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { parseArgs } from '../../src/cli/args.js';
import type { CommandContext } from '../../src/cli/command.js';
import { main, reportError } from '../../src/cli/run.js';
import { command, type LiveSourceOptions, openLiveSource, resolveServeOptions, runServe } from '../../src/cli/serve.js';
import { InputError } from '../../src/errors.js';
import type { LiveStabilizer } from '../../src/pipeline/live-source.js';
import { decodeFrameMessage, type FrameMessage } from '../../src/server/protocol.js';
import type { StabilizedFrame } from '../../src/stabilize/frame-types.js';
import { resolveFfmpeg } from '../../src/video/binaries.js';
import { makeClip, makeTempDir, removeTempDir } from '../support/ffmpeg-fixtures.js';
import { FakeLiveSource, type FakeSourceOptions } from '../support/live-fake-source.js';
import { numberedGraph, PAN_PX_PER_FRAME, panningGraph, ROTATION_RAD, rotatingGraph, shakyGraph } from '../support/live-graphs.js';
import { jpegSize } from '../support/live-jpeg.js';
import { previewEncoderPids } from '../support/live-processes.js';

/** Hang guard for waits (not a timing assertion). */
const WAIT_MS = 20_000;

class Sink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

function context(): { ctx: CommandContext; stdout: Sink; stderr: Sink; abort: (reason: 'SIGINT' | 'SIGTERM') => void } {
  const stdout = new Sink();
  const stderr = new Sink();
  const controller = new AbortController();
  return { ctx: { stdout, stderr, signal: controller.signal }, stdout, stderr, abort: (r) => controller.abort(r) };
}

async function waitFor(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_MS;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const options = (argv: string[]) => resolveServeOptions(parseArgs(command.spec, argv));

describe('steady serve (command)', () => {
  for (const [signal, exitCode] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`prints the two URLs, serves frames, and on ${signal} closes viewers, ffmpeg and the source (exit ${exitCode})`, async () => {
      const encodersBefore = previewEncoderPids();
      const { ctx, stdout, stderr, abort } = context();
      let source: FakeLiveSource | null = null;
      let opened: LiveSourceOptions | null = null;
      const run = runServe(options(['testsrc', '--input-format', 'lavfi', '--port', '0', '--zoom', '1.2', '--radius', '20']), ctx, {
        openSource: async (_s, o) => {
          opened = o;
          source = new FakeLiveSource({ fps: 30 });
          return source;
        },
      });
      const outcome = run.then(
        () => 0,
        (err: unknown) => reportError(err, ctx),
      );
      await waitFor(() => stdout.text.split('\n').length >= 3, 'two URL lines');
      const lines = stdout.text.trim().split('\n');
      expect(lines.length).toBe(2);
      const http = /^viewer: +(http:\/\/127\.0\.0\.1:(\d+)\/)$/.exec(lines[0] as string);
      const ws = /^websocket: +(ws:\/\/127\.0\.0\.1:(\d+)\/ws)$/.exec(lines[1] as string);
      expect(http).not.toBeNull();
      expect(ws).not.toBeNull();
      expect(http?.[2]).toBe(ws?.[2]);
      expect(Number(http?.[2])).toBeGreaterThan(0);
      expect(opened).toMatchObject({ loop: false, realtime: true, inputFormat: 'lavfi', zoom: 1.2, radius: 20 });

      const client = new WebSocket(ws?.[1] as string);
      let frames = 0;
      let hello: { settings?: unknown } | null = null;
      let closeCode = 0;
      client.on('message', (data: Buffer, isBinary: boolean) => {
        if (isBinary) frames++;
        else if (hello === null) hello = JSON.parse(data.toString()) as { settings?: unknown };
      });
      client.on('close', (code) => {
        closeCode = code;
      });
      await waitFor(() => frames >= 5, 'frames');
      // The options the source was opened with are what viewers are told.
      expect(hello).toMatchObject({ settings: { paused: false, smoothingRadius: 20, zoom: 1.2, border: 'black' } });
      const encoders = previewEncoderPids().filter((p) => !encodersBefore.includes(p));
      expect(encoders.length).toBe(1); // the preview encoder

      abort(signal);
      expect(await outcome).toBe(exitCode);
      expect(stderr.text).toBe(`steady: E_INTERRUPTED: interrupted by ${signal}\n`);
      await waitFor(() => closeCode !== 0, 'viewer closed');
      expect(closeCode).toBe(1001);
      expect((source as FakeLiveSource | null)?.closed).toBe(true);
      expect(previewEncoderPids()).not.toContain(encoders[0]);
    });
  }

  it('exits 0 when a source that is not looped ends', async () => {
    const { ctx, stdout } = context();
    const code = await runServe(options(['clip', '--input-format', 'lavfi', '--port', '0']), ctx, {
      openSource: async () => new FakeLiveSource({ fps: 0, frames: 10 }),
    });
    expect(code).toBe(0);
    expect(stdout.text).toMatch(/^viewer: +http:\/\/127\.0\.0\.1:\d+\/\nwebsocket: +ws:\/\/127\.0\.0\.1:\d+\/ws\n$/);
  });

  it('reports a source that cannot be opened in one line, exit 2, before any URL', async () => {
    const { ctx, stdout, stderr } = context();
    const err = await runServe(options(['rtsp://nowhere/stream', '--port', '0']), ctx, {
      openSource: async () => {
        throw new InputError('E_INPUT_UNREADABLE', 'rtsp://nowhere/stream: cannot be opened');
      },
    }).catch((e: unknown) => e);
    expect(reportError(err, ctx)).toBe(2);
    expect(stderr.text).toBe('steady: E_INPUT_UNREADABLE: rtsp://nowhere/stream: cannot be opened\n');
    expect(stdout.text).toBe('');
  });

  it('prints the URLs of a file once its first frame is out: a file with no decodable frame fails (exit 2) with no URL', async () => {
    // The source opens (the file exists) but its first pull fails, as a header-only or corrupt file does.
    const dir = await makeTempDir();
    try {
      const file = join(dir, 'no-frames.mp4');
      await writeFile(file, 'not really a video');
      const { ctx, stdout, stderr } = context();
      const err = await runServe(options([file, '--port', '0']), ctx, {
        openSource: async () => {
          const source = new FakeLiveSource({ fps: 0, frames: 0 });
          Object.defineProperty(source, 'frames', {
            value: (async function* () {
              yield* [];
              throw new InputError('E_NO_FRAMES', `${file} has a video stream but no frame could be decoded from it`);
            })(),
          });
          return source;
        },
      }).catch((e: unknown) => e);
      expect(reportError(err, ctx)).toBe(2);
      expect(stderr.text).toMatch(/^steady: E_NO_FRAMES: .*no frame could be decoded/);
      expect(stdout.text).toBe('');
      // The same file with frames: the URLs come once the first frame is out.
      const ok = context();
      expect(await runServe(options([file, '--port', '0']), ok.ctx, { openSource: async () => new FakeLiveSource({ fps: 0, frames: 5 }) })).toBe(0);
      expect(ok.stdout.text).toMatch(/^viewer: +http:\/\/127\.0\.0\.1:\d+\/\nwebsocket: +ws:\/\/127\.0\.0\.1:\d+\/ws\n$/);
    } finally {
      await removeTempDir(dir);
    }
  });

  it('refuses a missing file with exit 2 without opening anything', async () => {
    const { ctx, stdout, stderr } = context();
    const code = await main(['serve', 'no-such-clip.mp4', '--port', '0'], ctx);
    expect(code).toBe(2);
    expect(stderr.text).toBe(
      "steady: E_INPUT_NOT_FOUND: no-such-clip.mp4: no such file; give a video file, an ffmpeg URL, a device with --input-format, or '-' for stdin\n",
    );
    expect(stdout.text).toBe('');
  });

  it('reports a port in use (exit 2) and closes the source', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const addr = blocker.address();
    const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
    try {
      const { ctx, stdout } = context();
      const source = new FakeLiveSource({ fps: 30 });
      const err = await runServe(options(['x', '--input-format', 'lavfi', '--port', String(port)]), ctx, { openSource: async () => source }).catch(
        (e: unknown) => e,
      );
      expect(reportError(err, ctx)).toBe(2);
      expect((ctx.stderr as Sink).text).toBe(`steady: E_LISTEN: Could not listen on 127.0.0.1:${port}: EADDRINUSE; choose another --port (0 picks a free one)\n`);
      expect(stdout.text).toBe('');
      expect(source.closed).toBe(true);
    } finally {
      blocker.close();
    }
  });

  it('validates options with the shared vocabulary', async () => {
    const cases: [string[], string][] = [
      [['x', '--port', '70000'], 'steady: E_BAD_OPTION: Expected an integer 0..65535 for --port but received "70000"\n'],
      [['x', '--max-viewers', '0'], 'steady: E_BAD_OPTION: Expected an integer 1..1000 for --max-viewers but received "0"\n'],
      [['x', '--zoom', '9'], 'steady: E_BAD_OPTION: Expected a number 1..4 for --zoom but received "9"\n'],
      [['x', '--border', 'wrap'], 'steady: E_BAD_OPTION: Expected one of black|replicate|reflect for --border but received "wrap"\n'],
      [['x', '--model', 'spline'], 'steady: E_BAD_OPTION: Expected one of translation|euclidean|similarity|affine|homography for --model but received "spline"\n'],
      [['x', '--origin', 'evil.example'], 'steady: E_BAD_OPTION: Expected one of scheme://host[:port]|* for --origin but received "evil.example"\n'],
      [['x', '--jpeg-quality', '1'], 'steady: E_BAD_OPTION: Expected an integer 2..31 for --jpeg-quality but received "1"\n'],
    ];
    for (const [argv, line] of cases) {
      const { ctx, stderr } = context();
      expect(await main(['serve', ...argv], ctx)).toBe(2);
      expect(stderr.text).toBe(line);
    }
    const { ctx, stdout } = context();
    expect(await main(['serve', '--help'], ctx)).toBe(0);
    expect(stdout.text).toContain('Usage: steady serve <source> [options]');
    expect(stdout.text).toContain('--max-viewers N');
  });
});

// ---------------------------------------------------------------------------------------------------
// Every option of `steady serve` changes what it does.

/** Largest error of a measured rotation against the generated one, radians. */
const TOL_RAD = 0.003;
/** Largest error of a measured pan against the generated one, pixels. */
const TOL_PAN_PX = 0.1;
/** Video black of the 'black' border fill (limited range luma). */
const VIDEO_BLACK_Y = 16;

/** A running `steady serve` on a fake source, with its URLs. */
interface Served {
  readonly httpUrl: string;
  readonly wsUrl: string;
  readonly port: number;
  /** Stops it (SIGINT) and waits for runServe to end. */
  stop(): Promise<void>;
}

async function serve(argv: string[], fake: FakeSourceOptions = { fps: 30 }): Promise<Served> {
  const { ctx, stdout, abort } = context();
  const run = runServe(options(['fake', '--input-format', 'lavfi', ...argv]), ctx, { openSource: async () => new FakeLiveSource(fake) }).catch(() => 0);
  await waitFor(() => stdout.text.split('\n').length >= 3, 'two URL lines');
  const [http, ws] = stdout.text
    .trim()
    .split('\n')
    .map((l) => l.replace(/^\w+: +/, ''));
  return {
    httpUrl: http as string,
    wsUrl: ws as string,
    port: Number(/:(\d+)\//.exec(http as string)?.[1]),
    async stop() {
      abort('SIGINT');
      await run;
    },
  };
}

/** Connects a viewer; resolves once open, or with the HTTP status of a refused upgrade. */
function connect(url: string, headers: Record<string, string> = {}): Promise<{ ws: WebSocket; status: number }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on('error', () => {});
    ws.once('open', () => resolve({ ws, status: 101 }));
    ws.once('unexpected-response', (_req, res) => {
      res.resume();
      resolve({ ws, status: res.statusCode ?? 0 });
    });
  });
}

/** The first `n` frame messages a viewer gets. */
async function watch(url: string, n: number): Promise<FrameMessage[]> {
  const ws = new WebSocket(url);
  ws.on('error', () => {});
  const frames: FrameMessage[] = [];
  ws.on('message', (data: Buffer, isBinary: boolean) => {
    if (isBinary) frames.push(decodeFrameMessage(data));
  });
  await waitFor(() => frames.length >= n, `${n} frames`);
  ws.close();
  return frames.slice(0, n);
}

function httpStatus(url: string): Promise<number | string> {
  return new Promise((resolve) => {
    get(url, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    }).on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
}

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const addr = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return typeof addr === 'object' && addr !== null ? addr.port : 0;
}

describe('steady serve: the server options', () => {
  it('--port N listens on that port', async () => {
    const port = await freePort();
    const s = await serve(['--port', String(port)]);
    try {
      expect(s.httpUrl).toBe(`http://127.0.0.1:${port}/`);
      expect(s.wsUrl).toBe(`ws://127.0.0.1:${port}/ws`);
      expect(await httpStatus(s.httpUrl)).toBe(200);
    } finally {
      await s.stop();
    }
  });

  it('--host ADDR binds that interface instead of 127.0.0.1', async () => {
    const s = await serve(['--port', '0', '--host', '127.0.0.2']);
    try {
      expect(s.httpUrl).toBe(`http://127.0.0.2:${s.port}/`);
      expect(await httpStatus(s.httpUrl)).toBe(200);
      expect(await httpStatus(`http://127.0.0.1:${s.port}/`)).toBe('ECONNREFUSED');
    } finally {
      await s.stop();
    }
  });

  it('--max-viewers N refuses viewer N+1 with HTTP 503', async () => {
    const one = await serve(['--port', '0', '--max-viewers', '1']);
    const dflt = await serve(['--port', '0']);
    try {
      const a = await connect(one.wsUrl);
      expect(a.status).toBe(101);
      expect((await connect(one.wsUrl)).status).toBe(503);
      const b = await connect(dflt.wsUrl);
      const c = await connect(dflt.wsUrl);
      expect([b.status, c.status]).toEqual([101, 101]);
      for (const x of [a, b, c]) x.ws.close();
    } finally {
      await Promise.all([one.stop(), dflt.stop()]);
    }
  });

  it('--origin URL lets pages from that origin connect (others get 403)', async () => {
    const allowed = await serve(['--port', '0', '--origin', 'http://dash.example']);
    const plain = await serve(['--port', '0']);
    try {
      const ok = await connect(allowed.wsUrl, { Origin: 'http://dash.example' });
      expect(ok.status).toBe(101);
      ok.ws.close();
      expect((await connect(allowed.wsUrl, { Origin: 'http://other.example' })).status).toBe(403);
      expect((await connect(plain.wsUrl, { Origin: 'http://dash.example' })).status).toBe(403);
    } finally {
      await Promise.all([allowed.stop(), plain.stop()]);
    }
  });

  it('--preview-width PX scales the preview images down to that width', async () => {
    const narrow = await serve(['--port', '0', '--preview-width', '160'], { fps: 30, width: 320, height: 240 });
    const dflt = await serve(['--port', '0'], { fps: 30, width: 320, height: 240 });
    try {
      const [n] = await watch(narrow.wsUrl, 1);
      expect([n?.header.previewWidth, n?.header.previewHeight]).toEqual([160, 120]);
      expect(jpegSize(n?.original as Uint8Array)).toEqual({ width: 160, height: 120 });
      expect(jpegSize(n?.stabilized as Uint8Array)).toEqual({ width: 160, height: 120 });
      const [d] = await watch(dflt.wsUrl, 1);
      expect(jpegSize(d?.original as Uint8Array)).toEqual({ width: 320, height: 240 });
    } finally {
      await Promise.all([narrow.stop(), dflt.stop()]);
    }
  });

  it('--jpeg-quality Q trades size for quality (2 best, 31 smallest)', async () => {
    // The same seeded source for both: the images differ only by the quality asked for.
    const best = await serve(['--port', '0', '--jpeg-quality', '2'], { fps: 30, seed: 5 });
    const small = await serve(['--port', '0', '--jpeg-quality', '31'], { fps: 30, seed: 5 });
    try {
      const bytes = async (url: string) => (await watch(url, 5)).reduce((sum, f) => sum + f.original.length + f.stabilized.length, 0);
      const [b, sm] = await Promise.all([bytes(best.wsUrl), bytes(small.wsUrl)]);
      expect(b).toBeGreaterThan(2 * sm);
    } finally {
      await Promise.all([best.stop(), small.stop()]);
    }
  });
});

/** What a test keeps of a stabilized frame. */
interface Seen {
  readonly index: number;
  readonly motion: number[];
  readonly referenceIndex: number;
  readonly zoom: number;
  /** Luma of the stabilized frame's four corner pixels. */
  readonly corners: number[];
}

/** Opens the source the way `steady serve <argv>` does (options validated by the command's parser). */
async function openFromCli(argv: string[]): Promise<LiveStabilizer> {
  const o = options(argv);
  return openLiveSource(o.source, { ...o.sourceOptions, ffmpegPath: resolveFfmpeg().path, signal: new AbortController().signal });
}

/** The first `n` stabilized frames (fewer when the source ends first); closes the source. */
async function take(src: LiveStabilizer, n: number, each?: (f: StabilizedFrame) => void): Promise<Seen[]> {
  const out: Seen[] = [];
  try {
    for await (const f of src.frames) {
      each?.(f);
      const { width: w, height: h, y } = f.output;
      out.push({
        index: f.input.index,
        motion: [...f.motion.motion],
        referenceIndex: f.motion.referenceIndex,
        zoom: f.motion.zoom,
        corners: [y[0] as number, y[w - 1] as number, y[(h - 1) * w] as number, y[h * w - 1] as number],
      });
      if (out.length >= n) break;
    }
  } finally {
    await src.close();
  }
  return out;
}

/** Keeps this thread busy (as slow registration would) until `cond` holds. */
function blockUntil(cond: () => boolean, what: string): void {
  const deadline = Date.now() + WAIT_MS;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
  }
}

describe('steady serve: the source and stabilizer options (real ffmpeg and stabilizer)', () => {
  let dir = '';
  let clip = '';
  const FAST = ['--no-realtime'];
  beforeAll(async () => {
    dir = await makeTempDir();
    clip = await makeClip(join(dir, 'three.nut'), { frames: 3, width: 64, height: 48, source: 'testsrc2' });
  });
  afterAll(async () => {
    await removeTempDir(dir);
  });

  it('--loop replays a file forever (frame indices go on past its last frame)', async () => {
    const once = await take(await openFromCli([clip, ...FAST, '--smoother', 'causal']), 10);
    expect(once.map((f) => f.index)).toEqual([0, 1, 2]);
    const looped = await take(await openFromCli([clip, ...FAST, '--smoother', 'causal', '--loop']), 10);
    expect(looped.map((f) => f.index)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('--realtime (default) reads at the source rate and drops frames when behind; --no-realtime makes the source wait', async () => {
    const graph = numberedGraph(64, 48, 60);
    const live = await openFromCli([graph, '--input-format', 'lavfi', '--smoother', 'causal']);
    expect(live.ffmpegArgs).toContain('-re');
    const liveSeen = await take(live, 20, (f) => {
      if (f.input.index === 2) blockUntil(() => live.droppedFrames >= 5, 'drops while behind');
    });
    expect(liveSeen.some((f, i) => i > 0 && f.index > (liveSeen[i - 1] as Seen).index + 1)).toBe(true);

    const fast = await openFromCli([graph, '--input-format', 'lavfi', '--smoother', 'causal', ...FAST]);
    expect(fast.ffmpegArgs).not.toContain('-re');
    let busyUntil = 0;
    const fastSeen = await take(fast, 20, (f) => {
      // Behind by far more than the pool holds: the source must wait, not drop.
      if (f.input.index === 2) {
        busyUntil = Date.now() + 300;
        blockUntil(() => Date.now() > busyUntil, 'the busy spell');
      }
    });
    expect(fastSeen.map((f) => f.index)).toEqual(Array.from({ length: 20 }, (_, k) => k));
    expect(fast.droppedFrames).toBe(0);
  });

  it('--input-format FMT tells ffmpeg what the source is (without it a lavfi graph is a missing file)', async () => {
    const graph = numberedGraph(64, 48, 10);
    const { ctx, stderr } = context();
    expect(await main(['serve', graph, '--port', '0'], ctx)).toBe(2);
    expect(stderr.text).toMatch(/^steady: E_INPUT_NOT_FOUND: /);
    const src = await openFromCli([graph, '--input-format', 'lavfi', ...FAST, '--smoother', 'causal']);
    expect(src.ffmpegArgs.join(' ')).toContain(`-f lavfi`);
    expect((await take(src, 3)).map((f) => f.index)).toEqual([0, 1, 2]);
  });

  it('--model NAME chooses the motion model (translation measures no rotation; the default similarity does)', async () => {
    const graph = rotatingGraph(30);
    const angle = (m: number[]) => Math.atan2(m[3] as number, m[0] as number);
    const similarity = await take(await openFromCli([graph, '--input-format', 'lavfi', ...FAST, '--smoother', 'causal']), 8);
    for (const f of similarity.slice(1)) expect(Math.abs(Math.abs(angle(f.motion)) - ROTATION_RAD)).toBeLessThan(TOL_RAD);
    const translation = await take(await openFromCli([graph, '--input-format', 'lavfi', ...FAST, '--smoother', 'causal', '--model', 'translation']), 8);
    for (const f of translation) expect([f.motion[0], f.motion[1], f.motion[3], f.motion[4]]).toEqual([1, 0, 0, 1]);
  });

  it('--reference MODE chooses what each frame is registered onto (keyframe: re-anchors as the view pans away)', async () => {
    const frames = 30;
    const args = [panningGraph(30), '--input-format', 'lavfi', ...FAST, '--smoother', 'causal'];
    // 'previous' (the default): each frame's reference is the frame before it (docs/motion-format.md).
    const previous = await take(await openFromCli(args), frames);
    expect(previous.slice(1).every((f) => f.referenceIndex === f.index - 1)).toBe(true);
    // 'keyframe' re-anchors on the previous frame once less than 3/4 of the keyframe is in view (measured
    // on a grid of points): not before a quarter of the 128-pixel view has panned away, and before half has.
    const keyframe = await take(await openFromCli([...args, '--reference', 'keyframe']), frames);
    const firstAnchor = keyframe.find((f) => f.referenceIndex > 0);
    expect(firstAnchor).toBeDefined();
    expect((firstAnchor as Seen).index).toBeGreaterThanOrEqual(128 / 4 / PAN_PX_PER_FRAME);
    expect((firstAnchor as Seen).index).toBeLessThan(128 / 2 / PAN_PX_PER_FRAME);
    expect((firstAnchor as Seen).referenceIndex).toBe((firstAnchor as Seen).index - 1);
    // Every frame's motion is still the pan: the content moves left by PAN_PX_PER_FRAME.
    for (const f of keyframe.slice(1)) expect(Math.abs((f.motion[2] as number) + PAN_PX_PER_FRAME)).toBeLessThan(TOL_PAN_PX);
  });

  it('--smoother NAME and --smoothing N (alias --radius) set the look-ahead, hence the latency', async () => {
    const args = [shakyGraph(30), '--input-format', 'lavfi', ...FAST];
    const lookahead = async (extra: string[]) => {
      const src = await openFromCli([...args, ...extra]);
      await src.close();
      return { frames: src.info?.lookaheadFrames, radius: src.info?.settings?.smoothingRadius };
    };
    const dflt = await lookahead([]);
    const five = await lookahead(['--smoothing', '5']);
    expect(five.radius).toBe(5);
    expect(dflt.radius).toBe(15);
    expect(five.frames).toBeGreaterThan(0);
    expect(five.frames).toBeLessThan(dflt.frames as number);
    expect(await lookahead(['--radius', '5'])).toEqual(five);
    expect(await lookahead(['--smoothing', '5', '--radius', '5'])).toEqual(five);
    expect((await lookahead(['--smoother', 'causal'])).frames).toBe(0);
  });

  it('--zoom Z fixes the zoom factor of the stabilized frames (default: adaptive)', async () => {
    const args = [shakyGraph(30), '--input-format', 'lavfi', ...FAST, '--smoother', 'causal'];
    const zoomed = await take(await openFromCli([...args, '--zoom', '1.2']), 10);
    for (const f of zoomed) expect(f.zoom).toBeCloseTo(1.2, 9);
    const adaptive = await take(await openFromCli(args), 10);
    expect(adaptive.some((f) => Math.abs(f.zoom - 1.2) > 0.01)).toBe(true);
  });

  it('--border MODE fills the uncovered corners (black: video black; replicate: the nearest edge pixel)', async () => {
    // No zoom, so the corrections uncover the corners; the texture itself is never video black.
    const args = [shakyGraph(30), '--input-format', 'lavfi', ...FAST, '--zoom', '1'];
    const isBlack = (f: Seen) => f.corners.some((c) => c === VIDEO_BLACK_Y);
    const black = await take(await openFromCli([...args, '--border', 'black']), 40);
    expect(black.filter(isBlack).length).toBeGreaterThan(0);
    const replicate = await take(await openFromCli([...args, '--border', 'replicate']), 40);
    expect(replicate.filter(isBlack).length).toBe(0);
  });
});

describe('steady serve: option validation', () => {
  it('refuses unknown modes, radii past the bound its help states, and two different smoothing radii', async () => {
    const help = context();
    expect(await main(['serve', '--help'], help.ctx)).toBe(0);
    const bound = /--smoothing N +smoothing radius, frames 0\.\.(\d+) /.exec(help.stdout.text);
    expect(bound).not.toBeNull();
    const max = Number(bound?.[1]);
    const cases: [string[], string][] = [
      [['x', '--reference', 'last'], 'steady: E_BAD_OPTION: Expected one of previous|first|keyframe for --reference but received "last"\n'],
      [['x', '--smoother', 'two-pass'], 'steady: E_BAD_OPTION: Expected one of gaussian|causal for --smoother but received "two-pass"\n'],
      [['x', '--smoothing', String(max + 1)], `steady: E_BAD_OPTION: Expected an integer 0..${max} for --smoothing but received "${max + 1}"\n`],
      [['x', '--radius', '-1'], `steady: E_BAD_OPTION: Expected an integer 0..${max} for --radius but received "-1"\n`],
      [
        ['x', '--smoothing', '10', '--radius', '20'],
        'steady: E_BAD_OPTION: Expected one smoothing radius but received --smoothing 10 and --radius 20; give --smoothing only (--radius is its alias)\n',
      ],
    ];
    for (const [argv, line] of cases) {
      const { ctx, stderr } = context();
      expect(await main(['serve', ...argv], ctx)).toBe(2);
      expect(stderr.text).toBe(line);
    }
    const { ctx, stdout } = context();
    expect(await main(['serve', '--help'], ctx)).toBe(0);
    expect(stdout.text).toContain('--radius N');
    expect(stdout.text).toContain('alias of --smoothing');
  });
});
