import { request } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { LiveSession, type LiveSessionOptions, type LiveSource } from '../../src/server/live-session.js';
import { DEFAULT_MAX_IN_FLIGHT } from '../../src/server/preview-encoder.js';
import { decodeFrameMessage, type FrameMessage, type ServerMessage } from '../../src/server/protocol.js';
import { type LiveServer, type LiveServerOptions, startLiveServer } from '../../src/server/server.js';
import type { StabilizedFrame } from '../../src/stabilize/frame-types.js';
import { createFrameShrinker } from '../../src/stabilize/frame-shrinker.js';
import { resolveFfmpeg } from '../../src/video/binaries.js';
import { slowAreaShrink } from '../support/area-shrink.js';
import { FakeLiveSource, type FakeSourceOptions } from '../support/live-fake-source.js';
import { decodeJpegsToGray, jpegSize, meanAbsDiff } from '../support/live-jpeg.js';

/** JPEG at quality 3 of the smooth test texture: mean absolute error about 1 grey level (measured 0.9-1.2). */
const TOL_JPEG_MAE = 4;
/** The same scene at another jitter differs by about 20 grey levels on average: far above the JPEG error. */
const MIN_WRONG_FRAME_MAE = 10;
/** Maximum time a test waits for an event before failing (not a timing assertion: a hang guard). */
const WAIT_MS = 20_000;

interface Harness {
  source: FakeLiveSource;
  session: LiveSession;
  server: LiveServer;
  run: Promise<unknown>;
}

const open: Harness[] = [];
const clients: WebSocket[] = [];

async function start(
  sourceOptions: FakeSourceOptions = {},
  serverOptions: LiveServerOptions = {},
  sessionOptions: Partial<LiveSessionOptions> = {},
  wrap: (s: FakeLiveSource) => LiveSource = (s) => s,
): Promise<Harness> {
  const source = new FakeLiveSource(sourceOptions);
  const session = new LiveSession(wrap(source), {
    ffmpegPath: resolveFfmpeg().path,
    initialSettings: { smoothingRadius: 15, zoom: 1, border: 'black' },
    fps: source.fps,
    jpegQuality: 3,
    statsIntervalMs: 100,
    ...sessionOptions,
  });
  const server = await startLiveServer(session, { port: 0, ...serverOptions });
  const run = session.run();
  run.catch(() => {});
  const h = { source, session, server, run };
  open.push(h);
  return h;
}

/**
 * The fake source with its stabilized frames delivered at a smaller size, as the live stabilizer warps
 * straight to the preview size: the output planes are the fake's full-size output shrunk (area average).
 */
function withOutputSize(inner: FakeLiveSource, width: number, height: number): LiveSource {
  const shrinker = createFrameShrinker(inner.width, inner.height, width, height);
  const c = Math.ceil(width / 2) * Math.ceil(height / 2);
  const planes = { y: new Uint8Array(width * height), u: new Uint8Array(c), v: new Uint8Array(c) };
  async function* frames(): AsyncGenerator<StabilizedFrame> {
    for await (const f of inner.frames) {
      shrinker.shrinkInto(planes, f.output);
      yield { ...f, output: { index: f.output.index, timeSec: f.output.timeSec, width, height, ...planes } };
    }
  }
  return {
    frames: frames(),
    setSmoothing: (r) => inner.setSmoothing(r),
    setZoom: (z) => inner.setZoom(z),
    setBorder: (b) => inner.setBorder(b),
    resetReference: () => inner.resetReference(),
    close: () => inner.close(),
  };
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.terminate();
  for (const h of open.splice(0)) {
    await h.session.stop();
    await h.run.catch(() => {});
    await h.server.close();
  }
});

/** A ws client that records JSON and frame messages. */
class Client {
  readonly ws: WebSocket;
  readonly json: ServerMessage[] = [];
  readonly frames: FrameMessage[] = [];
  readonly order: ('json' | 'frame')[] = [];
  closeCode: number | null = null;
  private waiters: (() => void)[] = [];

  constructor(url: string, options?: WebSocket.ClientOptions) {
    this.ws = new WebSocket(url, options);
    clients.push(this.ws);
    this.ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (isBinary) {
        this.frames.push(decodeFrameMessage(new Uint8Array(data)));
        this.order.push('frame');
      } else {
        this.json.push(JSON.parse(data.toString()) as ServerMessage);
        this.order.push('json');
      }
      this.notify();
    });
    this.ws.on('close', (code) => {
      this.closeCode = code;
      this.notify();
    });
    this.ws.on('error', () => this.notify());
  }

  private notify(): void {
    for (const w of this.waiters.splice(0)) w();
  }

  /** Waits until `cond` holds, re-checking after each event (and every 50 ms). */
  async until(cond: () => boolean, what: string): Promise<void> {
    const deadline = Date.now() + WAIT_MS;
    while (!cond()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 50);
      });
    }
  }

  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }

  ofType<T extends ServerMessage['type']>(type: T): Extract<ServerMessage, { type: T }>[] {
    return this.json.filter((m) => m.type === type) as Extract<ServerMessage, { type: T }>[];
  }
}

/** An upgrade attempt that is refused: resolves with the HTTP status and body. */
function refusedUpgrade(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    clients.push(ws);
    ws.on('unexpected-response', (_req, res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        body += d;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    ws.on('open', () => reject(new Error('the upgrade was accepted')));
    ws.on('error', () => {});
  });
}

describe('live server: frames to a ws client', () => {
  it('sends hello, then frames in sequence whose headers and pixels match the source', async () => {
    const h = await start({ fps: 60, width: 320, height: 240 });
    const c = new Client(h.server.wsUrl);
    await c.opened();
    await c.until(() => c.frames.length >= 30, '30 frames');
    expect(c.order[0]).toBe('json');
    const hello = c.ofType('hello')[0];
    expect(hello?.protocolVersion).toBe(1);
    expect(hello?.settings).toEqual({ paused: false, smoothingRadius: 15, zoom: 1, border: 'black' });

    // Sequence: a client that keeps up receives every message, consecutive numbers.
    const seq = c.frames.map((f) => f.header.sequence);
    for (let k = 1; k < seq.length; k++) expect(seq[k]).toBe((seq[k - 1] as number) + 1);
    // Frame indices strictly increase (the encoder may drop frames, never reorder them).
    for (let k = 1; k < c.frames.length; k++) {
      expect(c.frames[k]?.header.frameIndex).toBeGreaterThan(c.frames[k - 1]?.header.frameIndex as number);
    }
    // Header motion data is the source's known jitter and path.
    for (const f of c.frames) {
      const k = f.header.frameIndex;
      const [ox, oy] = h.source.offsetOf(k);
      const [sx, sy] = h.source.smoothOf(k);
      expect(Array.from(f.header.path)).toEqual([ox, oy, 0]);
      expect(Array.from(f.header.smoothedPath)).toEqual([sx, sy, 0]);
      if (k > 0) {
        const [px, py] = h.source.offsetOf(k - 1);
        expect(f.header.motion[2]).toBe(px - ox);
        expect(f.header.motion[5]).toBe(py - oy);
      }
      expect(f.header.width).toBe(320);
      expect(jpegSize(f.original)).toEqual({ width: 320, height: 240 });
      expect(jpegSize(f.stabilized)).toEqual({ width: 320, height: 240 });
      expect(f.header.sentAtMs).toBeGreaterThanOrEqual(f.header.decodedAtMs);
    }
    // Pixels: decode a few payloads and compare with the frames the source rendered.
    const picks = [c.frames[3], c.frames[17], c.frames[29]] as FrameMessage[];
    const grays = await decodeJpegsToGray(
      picks.flatMap((f) => [f.original, f.stabilized]),
      320,
      240,
    );
    picks.forEach((f, i) => {
      const k = f.header.frameIndex;
      expect(meanAbsDiff(grays[2 * i] as Uint8Array, h.source.expectedLuma(k, 'original'))).toBeLessThan(TOL_JPEG_MAE);
      expect(meanAbsDiff(grays[2 * i + 1] as Uint8Array, h.source.expectedLuma(k, 'stabilized'))).toBeLessThan(TOL_JPEG_MAE);
    });
    // The comparison can tell frames apart: frame k's original is not frame k+1's (different jitter).
    const k0 = picks[0]?.header.frameIndex as number;
    let other = k0 + 1;
    while (h.source.offsetOf(other).join() === h.source.offsetOf(k0).join()) other++;
    expect(meanAbsDiff(grays[0] as Uint8Array, h.source.expectedLuma(other, 'original'))).toBeGreaterThan(MIN_WRONG_FRAME_MAE);
  });

  it('scales previews to --preview-width and sends stats with rates and latency', async () => {
    const h = await start({ fps: 60, width: 480, height: 270 }, {}, { previewMaxWidth: 240 });
    const c = new Client(h.server.wsUrl);
    await c.opened();
    await c.until(() => c.ofType('stats').some((s) => s.fpsOut > 0 && s.sentViewer > 0), 'stats with frames');
    const f = c.frames[0] as FrameMessage;
    expect([f.header.previewWidth, f.header.previewHeight]).toEqual([240, 136]);
    expect(jpegSize(f.original)).toEqual({ width: 240, height: 136 });
    // Both images shrunk in-process (area average) to the preview size show the source's frames.
    const [orig, stab] = await decodeJpegsToGray([f.original, f.stabilized], 240, 136);
    const k = f.header.frameIndex;
    expect(meanAbsDiff(orig as Uint8Array, slowAreaShrink(h.source.expectedLuma(k, 'original'), 480, 270, 240, 136))).toBeLessThan(TOL_JPEG_MAE);
    expect(meanAbsDiff(stab as Uint8Array, slowAreaShrink(h.source.expectedLuma(k, 'stabilized'), 480, 270, 240, 136))).toBeLessThan(TOL_JPEG_MAE);
    const stats = c.ofType('stats').filter((s) => s.fpsOut > 0).at(-1);
    expect(stats?.latencyP95Ms).toBeGreaterThanOrEqual(stats?.latencyMedianMs as number);
    expect(stats?.viewers).toBe(1);
    expect(stats?.cc).not.toBeNull();
  });

  it('with a source that outputs at the preview size: the original is shrunk to match, headers keep the source size and motion, pixels match', async () => {
    // previewMaxWidth (640) would keep 320x240: the source's smaller output sets the preview size.
    const h = await start({ fps: 60, width: 320, height: 240 }, {}, {}, (s) => withOutputSize(s, 160, 120));
    const c = new Client(h.server.wsUrl);
    await c.opened();
    await c.until(() => c.frames.length >= 20, '20 frames');
    const seq = c.frames.map((f) => f.header.sequence);
    for (let k = 1; k < seq.length; k++) expect(seq[k]).toBe((seq[k - 1] as number) + 1);
    for (const f of c.frames) {
      const k = f.header.frameIndex;
      expect([f.header.width, f.header.height, f.header.previewWidth, f.header.previewHeight]).toEqual([320, 240, 160, 120]);
      expect(Array.from(f.header.path)).toEqual([...h.source.offsetOf(k), 0]);
      expect(jpegSize(f.original)).toEqual({ width: 160, height: 120 });
      expect(jpegSize(f.stabilized)).toEqual({ width: 160, height: 120 });
    }
    const picks = [c.frames[2], c.frames[11], c.frames[19]] as FrameMessage[];
    const grays = await decodeJpegsToGray(
      picks.flatMap((f) => [f.original, f.stabilized]),
      160,
      120,
    );
    const small = (luma: Uint8Array) => slowAreaShrink(luma, 320, 240, 160, 120);
    picks.forEach((f, i) => {
      const k = f.header.frameIndex;
      expect(meanAbsDiff(grays[2 * i] as Uint8Array, small(h.source.expectedLuma(k, 'original')))).toBeLessThan(TOL_JPEG_MAE);
      expect(meanAbsDiff(grays[2 * i + 1] as Uint8Array, small(h.source.expectedLuma(k, 'stabilized')))).toBeLessThan(TOL_JPEG_MAE);
    });
    // Tells frames apart at this size too.
    const k0 = picks[0]?.header.frameIndex as number;
    let other = k0 + 1;
    while (h.source.offsetOf(other).join() === h.source.offsetOf(k0).join()) other++;
    expect(meanAbsDiff(grays[0] as Uint8Array, small(h.source.expectedLuma(other, 'original')))).toBeGreaterThan(MIN_WRONG_FRAME_MAE);
  });

  it('lets viewers join mid-stream and leave without disturbing the others', async () => {
    const h = await start({ fps: 60 });
    const a = new Client(h.server.wsUrl);
    await a.opened();
    await a.until(() => a.frames.length >= 10, 'first viewer frames');
    const b = new Client(h.server.wsUrl);
    await b.opened();
    await b.until(() => b.frames.length >= 10, 'second viewer frames');
    // The late viewer starts mid-stream, at a later frame than the first viewer's first.
    expect(b.frames[0]?.header.frameIndex).toBeGreaterThan(a.frames[0]?.header.frameIndex as number);
    b.ws.close();
    await b.until(() => b.closeCode !== null, 'second viewer closed');
    await a.until(() => h.session.viewerCount === 1, 'server saw the viewer leave');
    const before = a.frames.length;
    await a.until(() => a.frames.length >= before + 10, 'first viewer frames after the second left');
    const seq = a.frames.map((f) => f.header.sequence);
    for (let k = 1; k < seq.length; k++) expect(seq[k]).toBe((seq[k - 1] as number) + 1);
  });

  it('drops frames for a slow viewer (never reading) while a fast one keeps up', async () => {
    // Large, high-quality frames fill the paused socket's kernel buffers quickly.
    const h = await start({ fps: 0, width: 640, height: 480 }, {}, { jpegQuality: 2, viewerQueue: { maxBufferedBytes: 256 * 1024 } });
    const fast = new Client(h.server.wsUrl);
    const slow = new Client(h.server.wsUrl);
    await Promise.all([fast.opened(), slow.opened()]);
    // Stop reading: the TCP receive window closes and the server's bufferedAmount grows.
    (slow.ws as unknown as { _socket: { pause(): void } })._socket.pause();
    await fast.until(() => h.session.counts.droppedViewers > 20, 'drops for the slow viewer');
    const target = fast.frames.length + 30;
    await fast.until(() => fast.frames.length >= target, '30 more frames for the fast viewer');
    const seq = fast.frames.map((f) => f.header.sequence);
    let gaps = 0;
    for (let k = 1; k < seq.length; k++) if (seq[k] !== (seq[k - 1] as number) + 1) gaps++;
    expect(gaps).toBe(0);
    // All drops are the slow viewer's, none the fast one's; the pipeline itself kept producing frames.
    await fast.until(() => fast.ofType('stats').length > 0, 'stats');
    expect(fast.ofType('stats').at(-1)?.droppedViewer).toBe(0);
    expect(h.session.counts.framesOut).toBeGreaterThan(seq.length - 1);
  });
});

describe('live server: controls', () => {
  it('applies valid controls, broadcasts settings, and answers invalid ones with an error', async () => {
    const h = await start({ fps: 30 });
    const c = new Client(h.server.wsUrl);
    const other = new Client(h.server.wsUrl);
    await Promise.all([c.opened(), other.opened()]);
    await c.until(() => c.ofType('hello').length > 0 && other.ofType('hello').length > 0, 'hello');

    c.ws.send(JSON.stringify({ type: 'zoom', zoom: 1.5 }));
    c.ws.send(JSON.stringify({ type: 'smoothing', radius: 40 }));
    c.ws.send(JSON.stringify({ type: 'border', mode: 'reflect' }));
    c.ws.send(JSON.stringify({ type: 'reset' }));
    await other.until(() => other.ofType('settings').some((s) => s.settings.border === 'reflect'), 'settings broadcast');
    expect(h.source.calls).toEqual({ smoothing: [40], zoom: [1.5], border: ['reflect'], reset: 1 });
    expect(other.ofType('settings').at(-1)?.settings).toEqual({ paused: false, smoothingRadius: 40, zoom: 1.5, border: 'reflect' });

    // Frames after the zoom carry it in their header.
    await c.until(() => c.frames.some((f) => f.header.zoom === 1.5), 'a zoomed frame');

    const invalid = [
      'not json',
      '[1,2]',
      JSON.stringify({ type: 'explode' }),
      JSON.stringify({ type: 'zoom', zoom: 9 }),
      JSON.stringify({ type: 'zoom', zoom: '1.2' }),
      JSON.stringify({ type: 'smoothing', radius: 2.5 }),
      JSON.stringify({ type: 'border', mode: 'wrap' }),
      JSON.stringify({ type: 'pause', now: true }),
      JSON.stringify({ type: 'view' }),
    ];
    for (const m of invalid) c.ws.send(m);
    c.ws.send(Buffer.from([1, 2, 3]), { binary: true });
    await c.until(() => c.ofType('error').length >= invalid.length + 1, 'one error per invalid message');
    expect(c.ofType('error').map((e) => e.code)).toEqual([
      'E_CONTROL_JSON',
      'E_CONTROL_JSON',
      'E_CONTROL_TYPE',
      'E_BAD_OPTION',
      'E_BAD_OPTION',
      'E_BAD_OPTION',
      'E_BAD_OPTION',
      'E_CONTROL_FIELD',
      'E_CONTROL_FIELD',
      'E_CONTROL_BINARY',
    ]);
    expect(c.ofType('error')[3]?.message).toBe('Expected a number 1..4 for zoom but received 9');
    // Ignored: nothing reached the source, the settings did not change, the connection stays open.
    expect(h.source.calls).toEqual({ smoothing: [40], zoom: [1.5], border: ['reflect'], reset: 1 });
    expect(h.session.currentSettings).toEqual({ paused: false, smoothingRadius: 40, zoom: 1.5, border: 'reflect' });
    expect(c.ws.readyState).toBe(WebSocket.OPEN);

    // The view is per viewer: confirmed to the sender only.
    c.ws.send(JSON.stringify({ type: 'view', mode: 'difference' }));
    await c.until(() => c.ofType('view').length > 0, 'view confirmation');
    expect(c.ofType('view')[0]?.mode).toBe('difference');
    expect(other.ofType('view')).toEqual([]);
  });

  it('pauses and resumes the frame stream', async () => {
    const h = await start({ fps: 60 });
    const c = new Client(h.server.wsUrl);
    await c.opened();
    await c.until(() => c.frames.length >= 5, 'frames');
    c.ws.send(JSON.stringify({ type: 'pause' }));
    await c.until(() => c.ofType('settings').some((s) => s.settings.paused), 'paused');
    const atPause = c.frames.length;
    await c.until(() => h.session.counts.pausedFrames >= 30, 'frames skipped while paused');
    // Only the pairs already inside the encoder arrive after the pause.
    expect(c.frames.length - atPause).toBeLessThanOrEqual(DEFAULT_MAX_IN_FLIGHT);
    const whilePaused = c.frames.length;
    c.ws.send(JSON.stringify({ type: 'resume' }));
    await c.until(() => c.frames.length >= whilePaused + 10, 'frames after resume');
  });

  it('closes a connection that sends a message larger than maxPayload (1009)', async () => {
    const h = await start({ fps: 30 }, { maxPayloadBytes: 4096 });
    const c = new Client(h.server.wsUrl);
    await c.opened();
    c.ws.send(JSON.stringify({ type: 'zoom', zoom: 1.1, pad: 'x'.repeat(10_000) }));
    await c.until(() => c.closeCode !== null, 'close');
    expect(c.closeCode).toBe(1009);
    expect(h.source.calls.zoom).toEqual([]);
  });

  it('answers a control between the control limit and maxPayload with E_CONTROL_SIZE', async () => {
    const h = await start({ fps: 30 });
    const c = new Client(h.server.wsUrl);
    await c.opened();
    c.ws.send(JSON.stringify({ type: 'zoom', zoom: 1.1, pad: 'x'.repeat(2000) }));
    await c.until(() => c.ofType('error').length > 0, 'error');
    expect(c.ofType('error')[0]?.code).toBe('E_CONTROL_SIZE');
  });
});

describe('live server: admission', () => {
  it('refuses the viewer past --max-viewers with HTTP 503 and a message', async () => {
    const h = await start({ fps: 30 }, { maxViewers: 2 });
    const a = new Client(h.server.wsUrl);
    const b = new Client(h.server.wsUrl);
    await Promise.all([a.opened(), b.opened()]);
    const refused = await refusedUpgrade(h.server.wsUrl);
    expect(refused.status).toBe(503);
    expect(refused.body).toBe('Too many viewers: at most 2 at once (--max-viewers); try again later\n');
    // A place frees up when a viewer leaves.
    a.ws.close();
    await a.until(() => h.session.viewerCount === 1, 'viewer left');
    const c = new Client(h.server.wsUrl);
    await c.opened();
  });

  it('refuses pages from other origins unless allowed, and other paths', async () => {
    const h = await start({ fps: 30 }, { allowedOrigins: ['http://dashboard.example'] });
    const foreign = await refusedUpgrade(h.server.wsUrl, { Origin: 'http://evil.example' });
    expect(foreign.status).toBe(403);
    expect(foreign.body).toContain('Origin http://evil.example is not allowed');
    const wrongPath = await refusedUpgrade(h.server.wsUrl.replace('/ws', '/other'));
    expect(wrongPath.status).toBe(404);
    const own = new Client(h.server.wsUrl, { headers: { Origin: `http://127.0.0.1:${h.server.port}` } });
    await own.opened();
    const listed = new Client(h.server.wsUrl, { headers: { Origin: 'http://dashboard.example' } });
    await listed.opened();
  });

  it('serves the viewer page on the same port and binds 127.0.0.1 by default', async () => {
    const h = await start({ fps: 30 });
    expect(h.server.httpUrl).toBe(`http://127.0.0.1:${h.server.port}/`);
    expect(h.server.wsUrl).toBe(`ws://127.0.0.1:${h.server.port}/ws`);
    const { status, type, body } = await new Promise<{ status: number; type: string; body: string }>((resolve, reject) => {
      request(h.server.httpUrl, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => {
          body += d;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, type: String(res.headers['content-type']), body }));
      })
        .on('error', reject)
        .end();
    });
    expect(status).toBe(200);
    expect(type).toBe('text/html; charset=utf-8');
    expect(body).toContain('<canvas id="stabilized"');
  });
});

describe('live session: end of source', () => {
  it('keeps the event loop turning while a source delivers frames back to back', async () => {
    const source = new FakeLiveSource({ fps: 0, frames: 200, width: 64, height: 48 });
    const session = new LiveSession(source, { ffmpegPath: resolveFfmpeg().path, initialSettings: { smoothingRadius: 15, zoom: 1, border: 'black' } });
    let producedWhenTimerRan = -1;
    setTimeout(() => {
      producedWhenTimerRan = source.produced;
    }, 0);
    const counts = await session.run();
    expect(counts.framesIn).toBe(200);
    // The timer ran while frames were still coming: sockets and pipes get their turns too.
    expect(producedWhenTimerRan).toBeGreaterThanOrEqual(0);
    expect(producedWhenTimerRan).toBeLessThan(200);
  });


  it('sends every frame of a short source to a viewer, then an end message', async () => {
    const source = new FakeLiveSource({ fps: 30, frames: 40 });
    const session = new LiveSession(source, {
      ffmpegPath: resolveFfmpeg().path,
      initialSettings: { smoothingRadius: 15, zoom: 1, border: 'black' },
    });
    const server = await startLiveServer(session, { port: 0 });
    try {
      const c = new Client(server.wsUrl);
      await c.opened();
      const counts = await session.run();
      await c.until(() => c.ofType('end').length > 0, 'end message');
      expect(counts.framesIn).toBe(40);
      expect(c.ofType('end')[0]?.frames).toBe(40);
      expect(counts.framesOut + counts.droppedEncoder).toBe(40);
      expect(c.frames.length).toBe(counts.framesOut);
    } finally {
      await server.close();
    }
  });
});
