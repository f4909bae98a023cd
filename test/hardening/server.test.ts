// The live server against clients that misbehave at the socket level, beyond test/server/*.test.ts (which
// covers a slow ws client, oversize messages, --max-viewers, origins, static paths): a client that
// disconnects in the middle of a frame it sends or of one it receives, one that never reads at all,
// malformed WebSocket frames and upgrade requests, a burst of connections past --max-viewers, and the
// `steady serve` executable binding loopback only. Throughout, a well-behaved viewer keeps receiving every
// frame in sequence and the server keeps accepting viewers.
import { randomBytes } from 'node:crypto';
import { networkInterfaces } from 'node:os';
import { connect, type Socket } from 'node:net';
import { spawn } from 'node:child_process';
import { afterEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { LiveSession, type LiveSessionOptions } from '../../src/server/live-session.js';
import { decodeFrameMessage } from '../../src/server/protocol.js';
import { type LiveServer, type LiveServerOptions, startLiveServer } from '../../src/server/server.js';
import { resolveFfmpeg } from '../../src/video/binaries.js';
import { CLI } from '../support/cli.js';
import { FakeLiveSource } from '../support/live-fake-source.js';
import { expectOneLineError, ffmpegProcessesMentioning, runInProcess, waitFor } from './support.js';

interface Harness {
  session: LiveSession;
  server: LiveServer;
  run: Promise<unknown>;
}

const open: Harness[] = [];
const sockets: (Socket | WebSocket)[] = [];

async function start(serverOptions: LiveServerOptions = {}, size = { width: 64, height: 48 }, sessionOptions: Partial<LiveSessionOptions> = {}): Promise<Harness> {
  const source = new FakeLiveSource({ fps: 30, ...size });
  const session = new LiveSession(source, {
    ffmpegPath: resolveFfmpeg().path,
    initialSettings: { smoothingRadius: 15, zoom: 1, border: 'black' },
    fps: 30,
    ...sessionOptions,
  });
  const server = await startLiveServer(session, { port: 0, ...serverOptions });
  const run = session.run();
  run.catch(() => {});
  const h = { session, server, run };
  open.push(h);
  return h;
}

afterEach(async () => {
  for (const s of sockets.splice(0)) {
    if (s instanceof WebSocket) s.terminate();
    else s.destroy();
  }
  for (const h of open.splice(0)) {
    await h.session.stop();
    await h.run.catch(() => {});
    await h.server.close();
  }
});

/** A well-behaved viewer: counts frames and the gaps in their sequence numbers. */
class Watcher {
  readonly ws: WebSocket;
  frames = 0;
  gaps = 0;
  private last = -1;
  constructor(url: string) {
    this.ws = new WebSocket(url);
    sockets.push(this.ws);
    this.ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (!isBinary) return;
      const seq = decodeFrameMessage(new Uint8Array(data)).header.sequence;
      if (this.last >= 0 && seq !== this.last + 1) this.gaps++;
      this.last = seq;
      this.frames++;
    });
    this.ws.on('error', () => {});
  }
  opened(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
  }
  /** Waits for `n` more frames. */
  async more(n: number): Promise<void> {
    const target = this.frames + n;
    await waitFor(() => this.frames >= target, `${n} more frames`);
  }
}

/** A raw TCP client that performs the WebSocket handshake itself; resolves once the 101 arrived. */
async function rawUpgrade(port: number, extraHeaders = '', read = true): Promise<{ socket: Socket; response: string; received: () => Buffer }> {
  const socket = connect(port, '127.0.0.1');
  sockets.push(socket);
  socket.on('error', () => {});
  const chunks: Buffer[] = [];
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  socket.write(
    `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${extraHeaders}\r\n`,
  );
  if (!read) return { socket, response: '', received: () => Buffer.concat(chunks) };
  socket.on('data', (c: Buffer) => chunks.push(c));
  await waitFor(() => Buffer.concat(chunks).includes('\r\n\r\n') || socket.destroyed, 'the handshake answer');
  const all = Buffer.concat(chunks);
  const end = all.indexOf('\r\n\r\n');
  return { socket, response: all.subarray(0, end < 0 ? all.length : end).toString('latin1'), received: () => Buffer.concat(chunks).subarray(end + 4) };
}

/** One client-to-server WebSocket frame, masked unless told otherwise; `length` overrides the length field. */
function wsFrame(o: { opcode: number; payload?: Buffer; fin?: boolean; rsv?: number; masked?: boolean; length?: bigint }): Buffer {
  const payload = o.payload ?? Buffer.alloc(0);
  const masked = o.masked ?? true;
  const len = o.length ?? BigInt(payload.length);
  const head: number[] = [((o.fin ?? true) ? 0x80 : 0) | ((o.rsv ?? 0) << 4) | o.opcode];
  const maskBit = masked ? 0x80 : 0;
  let ext = Buffer.alloc(0);
  if (len < 126n) head.push(maskBit | Number(len));
  else if (len < 65536n) {
    head.push(maskBit | 126);
    ext = Buffer.alloc(2);
    ext.writeUInt16BE(Number(len));
  } else {
    head.push(maskBit | 127);
    ext = Buffer.alloc(8);
    ext.writeBigUInt64BE(len);
  }
  const key = masked ? randomBytes(4) : Buffer.alloc(0);
  const body = Buffer.from(payload);
  if (masked) for (let i = 0; i < body.length; i++) body[i] = (body[i] as number) ^ (key[i % 4] as number);
  return Buffer.concat([Buffer.from(head), ext, key, body]);
}

/** The status code of the first close frame the server sent on a raw socket, or null. */
function closeCode(bytes: Buffer): number | null {
  let i = 0;
  while (i + 2 <= bytes.length) {
    const opcode = (bytes[i] as number) & 0x0f;
    let len = (bytes[i + 1] as number) & 0x7f;
    let at = i + 2;
    if (len === 126) {
      len = bytes.readUInt16BE(at);
      at += 2;
    } else if (len === 127) {
      len = Number(bytes.readBigUInt64BE(at));
      at += 8;
    }
    if (opcode === 0x8) return len >= 2 ? bytes.readUInt16BE(at) : 1005;
    i = at + len;
  }
  return null;
}

describe('clients that go away at the wrong moment', () => {
  it('a client that disconnects in the middle of a frame it sends, or of one it receives, disturbs no one', async () => {
    const h = await start();
    const watcher = new Watcher(h.server.wsUrl);
    await watcher.opened();
    await watcher.more(5);
    for (let k = 0; k < 5; k++) {
      // Half a frame sent (the header promises 500 bytes, 10 come), then the connection is cut.
      const a = await rawUpgrade(h.server.port);
      expect(a.response).toMatch(/^HTTP\/1\.1 101/);
      a.socket.write(wsFrame({ opcode: 0x1, payload: Buffer.alloc(500, 0x20) }).subarray(0, 16));
      a.socket.destroy();
      // Part of a frame message received, then the connection is reset.
      const b = await rawUpgrade(h.server.port);
      await waitFor(() => b.received().length > 300, 'part of a frame');
      b.socket.resetAndDestroy();
    }
    await waitFor(() => h.session.viewerCount === 1, 'the server saw them go');
    await watcher.more(20);
    expect(watcher.gaps).toBe(0);
    // The server still takes new viewers.
    const late = new Watcher(h.server.wsUrl);
    await late.opened();
    await late.more(5);
  });

  it('a client that never reads, not even the handshake answer, gets frames dropped and slows no one', async () => {
    // Large, finely compressed frames and a small per-viewer limit fill the idle socket's buffers sooner.
    const h = await start({}, { width: 640, height: 480 }, { jpegQuality: 2, viewerQueue: { maxBufferedBytes: 64 * 1024 } });
    const watcher = new Watcher(h.server.wsUrl);
    await watcher.opened();
    const idle = await rawUpgrade(h.server.port, '', false);
    idle.socket.pause();
    await waitFor(() => h.session.viewerCount === 2, 'the idle client admitted');
    await waitFor(() => h.session.counts.droppedViewers > 10, 'frames dropped for the idle client');
    await watcher.more(30);
    expect(watcher.gaps).toBe(0);
    expect(h.session.counts.droppedUpstream + h.session.counts.droppedEncoder).toBe(0);
    idle.socket.destroy();
    await waitFor(() => h.session.viewerCount === 1, 'the idle client gone');
  });
});

describe('malformed WebSocket traffic', () => {
  it('closes only the offending connection (protocol error codes) and keeps serving the others', async () => {
    const h = await start();
    const watcher = new Watcher(h.server.wsUrl);
    await watcher.opened();
    const bad: [string, Buffer, number[]][] = [
      ['unmasked frame', wsFrame({ opcode: 0x1, payload: Buffer.from('{"type":"pause"}'), masked: false }), [1002]],
      ['reserved bit without an extension', wsFrame({ opcode: 0x1, payload: Buffer.from('{}'), rsv: 4 }), [1002]],
      ['reserved opcode', wsFrame({ opcode: 0x3, payload: Buffer.from('x') }), [1002]],
      ['text that is not UTF-8', wsFrame({ opcode: 0x1, payload: Buffer.from([0xc3, 0x28, 0xff]) }), [1007]],
      ['a ping longer than 125 bytes', wsFrame({ opcode: 0x9, payload: Buffer.alloc(126) }), [1002]],
      ['a fragmented ping', wsFrame({ opcode: 0x9, payload: Buffer.from('p'), fin: false }), [1002]],
      ['a continuation with nothing to continue', wsFrame({ opcode: 0x0, payload: Buffer.from('x') }), [1002]],
      ['a 64-bit length with the top bit set', wsFrame({ opcode: 0x2, length: 1n << 63n }), [1002, 1009]],
      ['a length far past maxPayload', wsFrame({ opcode: 0x2, length: 1n << 40n }), [1009]],
    ];
    for (const [what, frame, codes] of bad) {
      const c = await rawUpgrade(h.server.port);
      c.socket.write(frame);
      await waitFor(() => c.socket.destroyed || c.socket.readableEnded || closeCode(c.received()) !== null, `${what}: closed`);
      await waitFor(() => closeCode(c.received()) !== null || c.socket.readableEnded || c.socket.destroyed, `${what}: close frame`);
      const code = closeCode(c.received());
      expect(codes, `${what}: close code ${code}`).toContain(code);
    }
    await waitFor(() => h.session.viewerCount === 1, 'only the watcher left');
    await watcher.more(10);
    expect(watcher.gaps).toBe(0);
  });

  it('a binary message where a control is expected is answered with an error, not obeyed', async () => {
    const h = await start();
    const c = await rawUpgrade(h.server.port);
    c.socket.write(wsFrame({ opcode: 0x2, payload: Buffer.from('{"type":"pause"}') }));
    await waitFor(() => c.received().includes('E_CONTROL_BINARY'), 'the error answer');
    expect(h.session.currentSettings.paused).toBe(false);
  });

  it('refuses broken upgrade requests with an HTTP error and stays up', async () => {
    const h = await start();
    const requests = [
      'GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n', // no key
      `GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 12\r\n\r\n`,
      `GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      `POST /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\nContent-Length: 0\r\n\r\n`,
      `GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      'GET /%2e%2e/package.json HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      'GET http://evil.example/etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n',
      `GET /${'a'.repeat(20_000)} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`,
      'this is not HTTP\r\n\r\n',
    ];
    for (const req of requests) {
      const socket = connect(h.server.port, '127.0.0.1');
      sockets.push(socket);
      socket.on('error', () => {});
      let text = '';
      socket.setEncoding('latin1').on('data', (d: string) => {
        text += d;
      });
      socket.write(req);
      await waitFor(() => /\r\n\r\n/.test(text) || socket.destroyed || socket.readableEnded, 'an answer');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      // Refused (4xx), or the connection dropped without one; never switched, never a file outside web/.
      if (status !== 0) expect(status, req.slice(0, 60)).toBeGreaterThanOrEqual(400);
      expect(text).not.toContain('"name": "steady"');
      expect(text).not.toContain('root:');
      socket.destroy();
    }
    const watcher = new Watcher(h.server.wsUrl);
    await watcher.opened();
    await watcher.more(3);
  });

  it('admits exactly --max-viewers of a burst of simultaneous upgrades; the rest get 503', async () => {
    const MAX = 3;
    const h = await start({ maxViewers: MAX });
    const attempts = await Promise.all(Array.from({ length: 20 }, () => rawUpgrade(h.server.port)));
    const statuses = attempts.map((a) => Number(/^HTTP\/1\.1 (\d{3})/.exec(a.response)?.[1]));
    expect(statuses.filter((s) => s === 101)).toHaveLength(MAX);
    expect(statuses.filter((s) => s === 503)).toHaveLength(20 - MAX);
    expect(h.session.viewerCount).toBe(MAX);
  });
});

describe('steady serve (the executable)', () => {
  it('binds loopback only by default: the printed URLs say 127.0.0.1 and other interfaces refuse', async () => {
    const child = spawn(process.execPath, [CLI, 'serve', 'testsrc2=size=64x48:rate=10', '--input-format', 'lavfi', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
    try {
      await waitFor(() => stdout.split('\n').length >= 3 || child.exitCode !== null, 'the two URL lines');
      const port = Number(/http:\/\/127\.0\.0\.1:(\d+)\//.exec(stdout)?.[1]);
      expect(port, stdout + stderr).toBeGreaterThan(0);
      expect(stdout).toMatch(new RegExp(`^viewer: +http://127\\.0\\.0\\.1:${port}/\\nwebsocket: +ws://127\\.0\\.0\\.1:${port}/ws\\n$`));
      // Every non-loopback IPv4 address of this machine refuses the port.
      const others = Object.values(networkInterfaces())
        .flat()
        .filter((a) => a !== undefined && a.family === 'IPv4' && !a.internal)
        .map((a) => (a as { address: string }).address);
      for (const address of others) {
        const outcome = await new Promise<string>((resolve) => {
          const s = connect(port, address);
          s.once('connect', () => {
            s.destroy();
            resolve('connected');
          });
          s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
        });
        expect(outcome, address).toBe('ECONNREFUSED');
      }
      const viewer = new Watcher(`ws://127.0.0.1:${port}/ws`);
      await viewer.opened();
    } finally {
      child.kill('SIGINT');
    }
    expect(await exited).toBe(130);
    expect(stderr).toBe('steady: E_INTERRUPTED: interrupted by SIGINT\n');
    await waitFor(() => ffmpegProcessesMentioning('testsrc2=size=64x48:rate=10').length === 0, 'its ffmpeg gone');
  });

  it('refuses a malformed --origin, --max-viewers 0 and a --host it cannot bind, in one line', async () => {
    const lavfi = ['testsrc2=size=64x48:rate=10', '--input-format', 'lavfi', '--port', '0'];
    expectOneLineError(await runInProcess(['serve', ...lavfi, '--origin', 'evil.example']), 2, 'E_BAD_OPTION', /--origin/);
    expectOneLineError(await runInProcess(['serve', ...lavfi, '--origin', 'http://a.example/path']), 2, 'E_BAD_OPTION', /--origin/);
    expectOneLineError(await runInProcess(['serve', ...lavfi, '--max-viewers', '0']), 2, 'E_BAD_OPTION', /--max-viewers/);
    // 192.0.2.0/24 is reserved for documentation: no interface here has such an address, unless this one does.
    const own = Object.values(networkInterfaces()).flat().some((a) => a?.address === '192.0.2.1');
    if (!own) expectOneLineError(await runInProcess(['serve', ...lavfi, '--host', '192.0.2.1']), 2, 'E_LISTEN', /Could not listen on 192\.0\.2\.1/);
  });
});
