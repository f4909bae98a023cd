import { createServer } from 'node:net';
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { parseArgs } from '../../src/cli/args.js';
import type { CommandContext } from '../../src/cli/command.js';
import { main, reportError } from '../../src/cli/run.js';
import { command, type LiveSourceOptions, resolveServeOptions, runServe } from '../../src/cli/serve.js';
import { InputError } from '../../src/errors.js';
import { FakeLiveSource } from '../support/live-fake-source.js';
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
