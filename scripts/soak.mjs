#!/usr/bin/env node
/**
 * Soak test of the live preview (not part of `npm test`): `steady serve` runs on a live source for N minutes
 * with two viewers, one that reads everything and one on a slow link (it takes 64 KiB/s from its socket,
 * a fraction of the stream). Every sample period it records the server's resident memory (the Node process and, apart, its
 * ffmpeg children, from /proc), and from the frames the fast viewer receives the server latency (a frame
 * leaving the decoder to its message being sent, from the frame header) and the delivery latency (message
 * sent to message received, same machine, wall clock), plus frame rates and drops. It prints each sample,
 * a verdict on whether memory and latency stayed flat, and appends the run to bench/RESULTS.md under the
 * "## Soak" heading (bench/run.mjs keeps that section when it rewrites the file).
 *
 *   npm run build && node scripts/soak.mjs [--minutes 10] [--size 640x360] [--fps 30] [--sample-sec 30] [--no-write]
 *
 * The source is an ffmpeg lavfi test pattern with a known shake, read at its own rate (as a camera
 * delivers frames), through the real executable: `steady serve "<graph>" --input-format lavfi --port 0`.
 * Flat means: resident memory over the last minute within +10% or +20 MB (whichever is larger) of the first
 * minute after warm-up, and p95 server latency over the last minute within 1.5x + 20 ms of that first
 * minute (each the mean of the samples in that minute: one sample sees one point of the GC's saw-tooth).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = `${ROOT}dist/cli/main.js`;
const RESULTS = `${ROOT}bench/RESULTS.md`;

/** Memory may grow by this share of the first sample after warm-up ... */
const RSS_GROWTH_SHARE = 0.1;
/** ... or by this many bytes, whichever is larger, and still count as flat. */
const RSS_GROWTH_BYTES = 20 * 2 ** 20;
/** The p95 server latency at the end may be this many times the first sample's ... */
const LATENCY_GROWTH_FACTOR = 1.5;
/** ... plus this many milliseconds. */
const LATENCY_SLACK_MS = 20;
/**
 * Seconds left out at the start: ffmpeg starting, the JIT, the smoother filling its look-ahead, and V8
 * sizing its heap (the Node process grows for about three minutes, then stays; a shorter run uses its
 * first third).
 */
const WARMUP_SEC = 180;
/** Length of the windows compared at the start and the end, seconds. */
const WINDOW_SEC = 60;

function parseArgs(argv) {
  const o = { minutes: 10, size: '640x360', fps: 30, sampleSec: 30, write: true };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const v = () => argv[++i];
    if (a === '--minutes') o.minutes = Number(v());
    else if (a === '--size') o.size = v();
    else if (a === '--fps') o.fps = Number(v());
    else if (a === '--sample-sec') o.sampleSec = Number(v());
    else if (a === '--no-write') o.write = false;
    else if (a === '--help' || a === '-h') {
      console.log('usage: node scripts/soak.mjs [--minutes 10] [--size 640x360] [--fps 30] [--sample-sec 30] [--no-write]');
      process.exit(0);
    } else throw new Error(`unknown argument ${a}`);
  }
  const m = /^(\d+)x(\d+)$/.exec(o.size);
  if (!m || !(o.minutes > 0) || !(o.fps > 0) || !(o.sampleSec > 0)) throw new Error('bad --size, --minutes, --fps or --sample-sec');
  o.width = Number(m[1]);
  o.height = Number(m[2]);
  return o;
}

/** A shaky test pattern: a larger pattern cropped at a wobbling position. */
function shakySource(w, h, fps) {
  return `testsrc2=size=${w + 120}x${h + 120}:rate=${fps},crop=${w}:${h}:x='60+25*sin(11*t)+15*sin(23*t+1)':y='60+20*sin(13*t+2)+12*sin(31*t)'`;
}

/** VmRSS of a process in bytes (0 when gone). */
function rssOf(pid) {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** Pids of the live children of `pid`. */
function childrenOf(pid) {
  const out = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === pid && fields[0] !== 'Z') out.push(Number(name));
    } catch {
      // Gone.
    }
  }
  return out;
}

function quantile(values, q) {
  if (values.length === 0) return Number.NaN;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length, Math.max(1, Math.ceil(q * s.length))) - 1];
}

const MB = (b) => (b / 2 ** 20).toFixed(1);
const ms = (x) => (Number.isFinite(x) ? x.toFixed(1) : 'n/a');

/** What the slow viewer reads per second, bytes: a fraction of what the stream needs. */
const SLOW_BYTES_PER_SEC = 64 * 1024;

/**
 * A viewer on a slow link: a raw socket that does the WebSocket handshake and then takes at most
 * `bytesPerSec` from the kernel (10 reads a second), parsing the server's (unmasked) frames as they come.
 * Its receive window stays full, so the server must drop frames for it.
 */
async function openSlowViewer(wsUrl, bytesPerSec, onFrame) {
  const { hostname, port, pathname } = new URL(wsUrl);
  const socket = net.connect(Number(port), hostname);
  await new Promise((resolve, reject) => (socket.once('connect', resolve), socket.once('error', reject)));
  socket.on('error', () => {});
  socket.pause();
  socket.write(
    `GET ${pathname} HTTP/1.1\r\nHost: ${hostname}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  );
  let buf = Buffer.alloc(0);
  let upgraded = false;
  const parse = () => {
    if (!upgraded) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      if (!buf.subarray(0, end).toString('latin1').startsWith('HTTP/1.1 101')) throw new Error(`slow viewer refused: ${buf.subarray(0, end).toString('latin1')}`);
      buf = buf.subarray(end + 4);
      upgraded = true;
    }
    for (;;) {
      if (buf.length < 2) return;
      let len = buf[1] & 0x7f;
      let at = 2;
      if (len === 126) {
        if (buf.length < 4) return;
        len = buf.readUInt16BE(2);
        at = 4;
      } else if (len === 127) {
        if (buf.length < 10) return;
        len = Number(buf.readBigUInt64BE(2));
        at = 10;
      }
      if (buf.length < at + len) return;
      onFrame({ opcode: buf[0] & 0x0f, payload: buf.subarray(at, at + len) });
      buf = buf.subarray(at + len);
    }
  };
  const perTick = Math.max(1, Math.round(bytesPerSec / 10));
  const timer = setInterval(() => {
    let want = perTick;
    while (want > 0 && socket.readableLength > 0) {
      const chunk = socket.read(Math.min(want, socket.readableLength));
      if (chunk === null) break;
      want -= chunk.length;
      buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
    }
    // Asking for 0 bytes lets the socket fetch more from the kernel, up to its buffer size.
    socket.read(0);
    parse();
  }, 100);
  return {
    close() {
      clearInterval(timer);
      socket.destroy();
    },
  };
}

async function main() {
  const o = parseArgs(process.argv.slice(2));
  if (!existsSync(CLI)) throw new Error('dist/ is missing: run `npm run build` first');
  const { decodeFrameMessage } = await import(`${ROOT}dist/server/protocol.js`);
  const graph = shakySource(o.width, o.height, o.fps);
  console.log(`soak: steady serve on a ${o.width}x${o.height} ${o.fps} fps live source for ${o.minutes} min, two viewers (one slow), a sample every ${o.sampleSec} s`);

  const server = spawn(process.execPath, [CLI, 'serve', graph, '--input-format', 'lavfi', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  server.stdout.setEncoding('utf8').on('data', (d) => (out += d));
  server.stderr.setEncoding('utf8').on('data', (d) => (err += d));
  const exited = new Promise((resolve) => server.on('close', (code, signal) => resolve({ code, signal })));
  const wsUrl = await new Promise((resolve, reject) => {
    const t = setInterval(() => {
      const m = /websocket:\s+(ws:\/\/\S+)/.exec(out);
      if (m) {
        clearInterval(t);
        resolve(m[1]);
      } else if (server.exitCode !== null) {
        clearInterval(t);
        reject(new Error(`steady serve exited ${server.exitCode}: ${err.trim()}`));
      }
    }, 50);
  });

  // Per-window measurements of the fast viewer, and running totals.
  let win = { server: [], delivery: [], frames: 0, gaps: 0 };
  const fast = { frames: 0, gaps: 0, last: -1, stats: null };
  // The slow viewer's own stats messages wait in its queue behind its frames: count what it misses from
  // the sequence numbers it receives instead.
  const slow = { frames: 0, first: -1, last: -1 };
  const fastWs = new WebSocket(wsUrl);
  fastWs.on('message', (data, isBinary) => {
    if (!isBinary) {
      const m = JSON.parse(data.toString());
      if (m.type === 'stats') fast.stats = m;
      return;
    }
    const h = decodeFrameMessage(new Uint8Array(data)).header;
    if (fast.last >= 0 && h.sequence !== fast.last + 1) {
      fast.gaps++;
      win.gaps++;
    }
    fast.last = h.sequence;
    fast.frames++;
    win.frames++;
    win.server.push(h.sentAtMs - h.decodedAtMs);
    win.delivery.push(Date.now() - h.wallClockMs);
  });
  await new Promise((resolve, reject) => (fastWs.once('open', resolve), fastWs.once('error', reject)));
  const slowReader = await openSlowViewer(wsUrl, SLOW_BYTES_PER_SEC, (frame) => {
    if (frame.opcode !== 0x2) return;
    const seq = frame.payload.readUInt32LE(8);
    if (slow.first < 0) slow.first = seq;
    slow.last = seq;
    slow.frames++;
  });

  const samples = [];
  const t0 = Date.now();
  const endAt = t0 + o.minutes * 60_000;
  while (Date.now() < endAt) {
    await new Promise((r) => setTimeout(r, Math.min(o.sampleSec * 1000, endAt - Date.now())));
    if (server.exitCode !== null) throw new Error(`steady serve stopped during the soak (${server.exitCode}): ${err.trim()}`);
    const kids = childrenOf(server.pid);
    const s = {
      tSec: (Date.now() - t0) / 1000,
      nodeRss: rssOf(server.pid),
      ffmpegRss: kids.reduce((a, p) => a + rssOf(p), 0),
      children: kids.length,
      fps: win.frames / o.sampleSec,
      serverP50: quantile(win.server, 0.5),
      serverP95: quantile(win.server, 0.95),
      serverMax: quantile(win.server, 1),
      deliveryP95: quantile(win.delivery, 0.95),
      gaps: win.gaps,
      slowFrames: slow.frames,
      slowSkipped: slow.first < 0 ? 0 : slow.last - slow.first + 1 - slow.frames,
      fastDropped: fast.stats?.droppedViewer ?? null,
      droppedUpstream: fast.stats?.droppedUpstream ?? null,
      droppedEncoder: fast.stats?.droppedEncoder ?? null,
      fpsIn: fast.stats?.fpsIn ?? null,
    };
    samples.push(s);
    win = { server: [], delivery: [], frames: 0, gaps: 0 };
    console.log(
      `t=${s.tSec.toFixed(0).padStart(5)} s  node RSS ${MB(s.nodeRss)} MB  ffmpeg RSS ${MB(s.ffmpegRss)} MB (${s.children})  fast ${s.fps.toFixed(1)} fps, ` +
        `server latency p50 ${ms(s.serverP50)} / p95 ${ms(s.serverP95)} / max ${ms(s.serverMax)} ms, delivery p95 ${ms(s.deliveryP95)} ms, gaps ${s.gaps}  ` +
        `slow: ${s.slowFrames} frames, ${s.slowSkipped} skipped  upstream/encoder drops ${s.droppedUpstream}/${s.droppedEncoder}`,
    );
  }
  slowReader.close();
  fastWs.close();
  server.kill('SIGINT');
  const { code } = await exited;
  const leftover = childrenOf(server.pid).length;

  // The first minute after warm-up and the last minute, each as the mean of its samples.
  const runSec = samples.at(-1).tSec;
  const warmup = runSec >= WARMUP_SEC + 2 * WINDOW_SEC ? WARMUP_SEC : runSec / 3;
  const windowSec = Math.min(WINDOW_SEC, runSec / 3);
  const mean = (list, f) => list.reduce((a, s) => a + f(s), 0) / list.length;
  const summarize = (list) => ({
    from: list[0].tSec,
    to: list.at(-1).tSec,
    nodeRss: mean(list, (s) => s.nodeRss),
    ffmpegRss: mean(list, (s) => s.ffmpegRss),
    serverP95: mean(list, (s) => s.serverP95),
  });
  const pickWindow = (lo, hi) => samples.filter((s) => s.tSec > lo && s.tSec <= hi);
  const first = summarize(pickWindow(warmup, warmup + windowSec).length > 0 ? pickWindow(warmup, warmup + windowSec) : [samples[0]]);
  const last = summarize(pickWindow(runSec - windowSec, runSec).length > 0 ? pickWindow(runSec - windowSec, runSec) : [samples.at(-1)]);
  const totalRss = (s) => s.nodeRss + s.ffmpegRss;
  const rssLimit = totalRss(first) + Math.max(RSS_GROWTH_SHARE * totalRss(first), RSS_GROWTH_BYTES);
  const latLimit = LATENCY_GROWTH_FACTOR * first.serverP95 + LATENCY_SLACK_MS;
  const rssFlat = totalRss(last) <= rssLimit;
  const latFlat = last.serverP95 <= latLimit;
  const verdict = rssFlat && latFlat ? 'flat' : `NOT flat (${rssFlat ? '' : 'memory grew'}${!rssFlat && !latFlat ? ', ' : ''}${latFlat ? '' : 'latency grew'})`;
  const summary = [
    `start (t=${first.from.toFixed(0)}-${first.to.toFixed(0)} s, after ${warmup.toFixed(0)} s of warm-up): RSS ${MB(first.nodeRss)} MB node + ${MB(first.ffmpegRss)} MB ffmpeg, server latency p95 ${ms(first.serverP95)} ms`,
    `end (t=${last.from.toFixed(0)}-${last.to.toFixed(0)} s): RSS ${MB(last.nodeRss)} MB node + ${MB(last.ffmpegRss)} MB ffmpeg, server latency p95 ${ms(last.serverP95)} ms`,
    `verdict: ${verdict} (limits: RSS ${MB(rssLimit)} MB, p95 ${ms(latLimit)} ms); fast viewer ${fast.frames} frames, ${fast.gaps} sequence gaps; slow viewer ${slow.frames} frames, ${slow.first < 0 ? 0 : slow.last - slow.first + 1 - slow.frames} skipped; server exit ${code}, ${leftover} children left`,
  ];
  for (const line of summary) console.log(line);

  if (o.write) {
    const cpus = os.cpus();
    let gitHead = process.env.STEADY_SOAK_COMMIT ?? 'unknown';
    try {
      if (gitHead === 'unknown') gitHead = readFileSync(`${ROOT}.git/HEAD`, 'utf8').trim();
      if (gitHead.startsWith('ref: ')) gitHead = readFileSync(`${ROOT}.git/${gitHead.slice(5)}`, 'utf8').trim().slice(0, 7);
    } catch {
      // Not a git checkout.
    }
    const table = [
      '| t (s) | node RSS (MB) | ffmpeg RSS (MB) | fast fps | server latency p50 / p95 / max (ms) | delivery p95 (ms) | fast gaps | slow frames | slow skipped | upstream / encoder drops |',
      '| ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |',
      ...samples.map(
        (s) =>
          `| ${s.tSec.toFixed(0)} | ${MB(s.nodeRss)} | ${MB(s.ffmpegRss)} | ${s.fps.toFixed(1)} | ${ms(s.serverP50)} / ${ms(s.serverP95)} / ${ms(s.serverMax)} | ${ms(s.deliveryP95)} | ${s.gaps} | ${s.slowFrames} | ${s.slowSkipped} | ${s.droppedUpstream} / ${s.droppedEncoder} |`,
      ),
    ].join('\n');
    const section = [
      `### Soak run ${new Date().toISOString()}`,
      '',
      `\`node scripts/soak.mjs --minutes ${o.minutes} --size ${o.size} --fps ${o.fps} --sample-sec ${o.sampleSec}\`: \`steady serve\` (git ${gitHead}) on a ${o.width}x${o.height} ${o.fps} fps lavfi source with a known shake, two viewers, one reading at most 64 KiB/s (a slow link). Machine: ${cpus[0]?.model ?? 'unknown CPU'}, ${cpus.length} logical cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, Node ${process.version}, load average at the end ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}. Server latency: a frame leaving the decoder to its message being sent (frame header); delivery: sent to received by the fast viewer.`,
      '',
      table,
      '',
      ...summary.map((l) => `- ${l}`),
      '',
    ].join('\n');
    const old = existsSync(RESULTS) ? readFileSync(RESULTS, 'utf8') : '';
    const heading = '\n## Soak\n';
    let text;
    if (old.includes(heading)) text = `${old.replace(/\n*$/, '\n')}\n${section}`;
    else text = `${old.replace(/\n*$/, old === '' ? '' : '\n')}${heading}\nLong runs of the live preview made by \`scripts/soak.mjs\`; newest last.\n\n${section}`;
    writeFileSync(RESULTS, text);
    console.log(`appended to ${RESULTS}`);
  }
  if (code !== 130 || leftover > 0) process.exitCode = 1;
}

main().catch((e) => {
  console.error(`soak: ${e instanceof Error ? e.message : String(e)}`);
  process.exit(1);
});
