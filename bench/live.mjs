/**
 * Live server benchmark: a 1280x720, 30 fps live source (an ffmpeg lavfi test pattern with a known
 * shake, read with -re so frames arrive at the source's rate) goes through the stabilizer and the live
 * session to one WebSocket viewer. Reports frames processed per second, frames dropped (before the session,
 * at the preview encoder, for the viewer) and latency from a frame leaving the decoder to its message being
 * sent (median, p95), against the target: no drops at 720p30, p95 < look-ahead / fps + 100 ms.
 *
 * The source is built as `steady serve` builds it (openLiveSource in src/cli/serve.ts, default stabilize
 * options); a build without the live stabilizer passes frames through unchanged (identity motion), which
 * measures decoding, preview encoding and sending alone. The report says which was measured.
 *
 * A third measurement times the stabilizer alone (push and pull per frame, wall clock and CPU) on frames of
 * the same source decoded beforehand: the ceiling that the live pipeline's frame rate cannot pass. On a
 * machine shared with other work, wall times include time spent waiting for a core: the report gives the
 * load average before and after, and ratios between columns taken in one run say more than absolutes.
 *
 * Run: `npm run bench` (bench/run.mjs calls runLiveBench), or `npm run build && node bench/live.mjs`.
 * Environment: STEADY_BENCH_LIVE_SEC (measured seconds, default 20); STEADY_BENCH_LIVE_STABILIZE (JSON of
 * stabilize options, e.g. '{"analysisWidth":240,"model":"translation"}': the live pipeline and the
 * stabilizer-alone figure then use these instead of the defaults, to see what the rest of the pipeline does
 * with a cheaper stabilizer).
 */
import { readdirSync, readFileSync } from 'node:fs';
import os from 'node:os';
import { performance } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import WebSocket from 'ws';

const DIST = new URL('../dist/', import.meta.url);
const WIDTH = 1280;
const HEIGHT = 720;
const FPS = 30;
/** Seconds of start-up (ffmpeg start, first frames) left out of the figures. */
const WARMUP_SEC = 2;
/** Latency allowance on top of the look-ahead, ms (the issue's target). */
const LATENCY_SLACK_MS = 100;

/** A shaky 720p30 test pattern: a larger pattern cropped at a position that wobbles (pixels, per time t). */
const SHAKY_SOURCE =
  `testsrc2=size=1400x840:rate=${FPS},` +
  `crop=${WIDTH}:${HEIGHT}:x='60+25*sin(11*t)+15*sin(23*t+1)':y='60+20*sin(13*t+2)+12*sin(31*t)'`;

async function load(path) {
  return import(new URL(path, DIST).href);
}

/** CPU seconds (user + system) a process has used, from /proc (Linux); NaN elsewhere. */
function cpuSecondsOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100 Hz)
  } catch {
    return Number.NaN;
  }
}

/** CPU seconds of this process's ffmpeg children (any thread may have started them), by role, from /proc. */
function childCpu() {
  const out = { preview: 0, decoder: 0 };
  let names = [];
  try {
    names = readdirSync('/proc').filter((n) => /^\d+$/.test(n));
  } catch {
    return { preview: Number.NaN, decoder: Number.NaN };
  }
  for (const name of names) {
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== process.pid) continue;
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (!cmdline.includes('ffmpeg')) continue;
      out[cmdline.includes('image2pipe') ? 'preview' : 'decoder'] += cpuSecondsOf(name);
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

function quantile(sorted, q) {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length))) - 1];
}

/** The passthrough source: decoded frames as their own "stabilized" output, identity motion. */
async function passthroughSource(openDecoder, signal) {
  const decoder = await openDecoder(SHAKY_SOURCE, { inputFormat: 'lavfi', realtime: true, signal });
  const identity = Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);
  async function* frames() {
    for await (const f of decoder) {
      const decodedAtMs = performance.now();
      yield {
        input: f,
        output: f,
        decodedAtMs,
        motion: {
          index: f.index,
          timeSec: f.timeSec,
          ok: true,
          cc: 1,
          motion: identity,
          fromReference: identity,
          referenceIndex: 0,
          path: [0, 0, 0],
          smoothedPath: [0, 0, 0],
          correction: identity,
          zoom: 1,
        },
      };
    }
  }
  return {
    frames: frames(),
    setSmoothing() {},
    setZoom() {},
    setBorder() {},
    resetReference() {},
    close: () => decoder.close(),
    info: { fps: FPS, lookaheadFrames: 0, settings: { smoothingRadius: 0, zoom: 1, border: 'black' } },
  };
}

/** Frames decoded for the stabilizer-alone measurement (3 s at 30 fps; the look-ahead holds back 31 of them). */
const STABILIZER_FRAMES = 90;

/**
 * The stabilizer alone, as `steady serve` builds it (default options), on the same 720p source decoded
 * beforehand: milliseconds per frame in push (analysis: downscale, pyramid ECC, path) and per pulled frame
 * in pull (warp of the three planes to the preview size), wall clock and CPU. No other thread of this process runs meanwhile,
 * so the process's CPU time is the stabilizer's.
 */
async function measureStabilizer(openDecoder, stab, stabilizeOptions) {
  const decoder = await openDecoder(SHAKY_SOURCE, { inputFormat: 'lavfi', durationSec: STABILIZER_FRAMES / FPS });
  const frames = [];
  for await (const f of decoder) {
    frames.push({ index: f.index, timeSec: f.timeSec, width: f.width, height: f.height, y: f.y.slice(), u: f.u.slice(), v: f.v.slice() });
  }
  // As `steady serve` runs it: the live defaults (streaming: gaussian, adaptive zoom) and the warp straight
  // to the viewer's preview size.
  const output = stab.previewSize(WIDTH, HEIGHT);
  const stabilizer = stab.createStabilizer(stab.stabilizerSettingsFor(stab.resolveStabilizeOptions(stabilizeOptions, {}, true), WIDTH, HEIGHT, null, output), stab.downscaleYInto);
  let pushMs = 0;
  let pullMs = 0;
  let pulled = 0;
  const cpu0 = process.cpuUsage();
  for (const f of frames) {
    let t = performance.now();
    stabilizer.push(f, t);
    pushMs += performance.now() - t;
    t = performance.now();
    for (let s = stabilizer.pull(); s !== null; s = stabilizer.pull()) pulled++;
    pullMs += performance.now() - t;
  }
  const cpu = process.cpuUsage(cpu0);
  const push = pushMs / frames.length;
  const pull = pullMs / Math.max(1, pulled);
  return {
    frames: frames.length,
    pulled,
    pushMs: push,
    pullMs: pull,
    wallMsPerFrame: push + pull,
    // A steady-state frame costs one push and one pull; on a loaded machine wall time includes time the
    // thread waited for a core, so CPU time is shared out over push and pull by their wall time.
    cpuMsPerFrame: ((push + pull) * (cpu.user + cpu.system)) / 1000 / (pushMs + pullMs),
    maxFpsWall: 1000 / (push + pull),
  };
}

/** Runs one source through a live session to one viewer for `seconds` after the warm-up; returns the figures. */
async function measure(mods, source, seconds) {
  const { LiveSession, startLiveServer, ffmpegPath } = mods;
  const lookahead = source.info?.lookaheadFrames ?? 0;
  const latencies = [];
  let measuring = false;
  let framesAtStart = null;
  const session = new LiveSession(source, {
    ffmpegPath,
    initialSettings: source.info?.settings ?? { smoothingRadius: 15, zoom: 1, border: 'black' },
    fps: FPS,
    lookaheadFrames: lookahead,
    onFrameSent(header) {
      if (measuring) latencies.push(header.sentAtMs - header.decodedAtMs);
    },
  });
  const server = await startLiveServer(session, { port: 0 });
  const viewer = new WebSocket(server.wsUrl);
  viewer.on('error', () => {});
  let viewerFrames = 0;
  let viewerGaps = 0;
  let lastSeq = -1;
  let viewerBytes = 0;
  viewer.on('message', (data, isBinary) => {
    if (!isBinary) return;
    const seq = data.readUInt32LE(8);
    if (measuring) {
      viewerFrames++;
      viewerBytes += data.length;
      if (lastSeq >= 0 && seq !== lastSeq + 1) viewerGaps++;
    }
    lastSeq = seq;
  });
  await new Promise((resolve, reject) => {
    viewer.once('open', resolve);
    viewer.once('error', reject);
  });

  const run = session.run();
  const cpuStart = { cpu: null, t: 0, children: { preview: 0, decoder: 0 } };
  const startTimer = setTimeout(() => {
    measuring = true;
    framesAtStart = session.counts;
    cpuStart.cpu = process.cpuUsage();
    cpuStart.children = childCpu();
    cpuStart.t = performance.now();
  }, WARMUP_SEC * 1000);
  await new Promise((r) => setTimeout(r, (WARMUP_SEC + seconds) * 1000));
  clearTimeout(startTimer);
  measuring = false;
  const end = session.counts;
  const cpu = cpuStart.cpu ? process.cpuUsage(cpuStart.cpu) : { user: 0, system: 0 };
  const wallMs = performance.now() - cpuStart.t;
  const childrenEnd = childCpu();
  viewer.close();
  await session.stop();
  await run.catch(() => {});
  await server.close();
  await source.close();

  const start = framesAtStart ?? { framesIn: 0, framesOut: 0, droppedUpstream: 0, droppedEncoder: 0, droppedViewers: 0 };
  const framesIn = end.framesIn - start.framesIn;
  const framesOut = end.framesOut - start.framesOut;
  const droppedUpstream = end.droppedUpstream - start.droppedUpstream;
  const droppedEncoder = end.droppedEncoder - start.droppedEncoder;
  const droppedViewer = end.droppedViewers - start.droppedViewers;
  // Frames the source should have delivered in the window but that were neither received nor counted as
  // dropped: a source read with -re whose pipe is not drained slows down instead of dropping (what the
  // live source did before it read ffmpeg in a worker thread); with the worker, what remains is ffmpeg
  // itself not keeping the rate on a loaded machine, or a processing rate that changed during the window
  // (the session sees frames one look-ahead late).
  const expected = Math.floor((wallMs / 1000) * FPS);
  const shortfall = Math.max(0, expected - framesIn - droppedUpstream);
  const sorted = [...latencies].sort((a, b) => a - b);
  const p95 = quantile(sorted, 0.95);
  const budgetMs = (lookahead / FPS) * 1000 + LATENCY_SLACK_MS;
  const dropped = droppedUpstream + droppedEncoder + droppedViewer + viewerGaps;
  return {
    measuredSec: wallMs / 1000,
    framesIn,
    framesOut,
    fpsIn: (framesIn * 1000) / wallMs,
    fpsProcessed: (framesOut * 1000) / wallMs,
    expectedFrames: expected,
    shortfall,
    droppedUpstream,
    droppedEncoder,
    droppedViewer,
    viewerSequenceGaps: viewerGaps,
    viewerFrames,
    viewerMBps: viewerBytes / 1e6 / (wallMs / 1000),
    latencyMedianMs: quantile(sorted, 0.5),
    latencyP95Ms: p95,
    latencyMaxMs: sorted.at(-1) ?? Number.NaN,
    lookaheadFrames: lookahead,
    latencyBudgetMs: budgetMs,
    nodeCpuPercent: ((cpu.user + cpu.system) / 1000 / wallMs) * 100,
    previewEncoderCpuPercent: ((childrenEnd.preview - cpuStart.children.preview) / (wallMs / 1000)) * 100,
    decoderCpuPercent: ((childrenEnd.decoder - cpuStart.children.decoder) / (wallMs / 1000)) * 100,
    meetsTarget: dropped === 0 && shortfall <= 1 && p95 < budgetMs,
  };
}

/**
 * Runs the benchmark twice on the same 720p30 source: the server alone (frames passed through unchanged)
 * and the whole live pipeline as `steady serve` builds it (openLiveSource, default stabilize options).
 * @param {{seconds?: number}} [options] measured seconds per run (default STEADY_BENCH_LIVE_SEC or 20)
 * @returns {Promise<{markdown: string, summary: {source: string, loadAverage: number[], server: object, pipeline: object | null}}>}
 */
export async function runLiveBench(options = {}) {
  const seconds = Number(options.seconds ?? process.env.STEADY_BENCH_LIVE_SEC ?? 20);
  const { LiveSession } = await load('server/live-session.js');
  const { startLiveServer } = await load('server/server.js');
  const { resolveFfmpeg } = await load('video/binaries.js');
  const { openDecoder } = await load('video/decoder.js');
  const { openLiveSource } = await load('cli/serve.js');
  const { openLiveStabilizer } = await load('pipeline/live-source.js');
  const stabilizeOptions = process.env.STEADY_BENCH_LIVE_STABILIZE ? JSON.parse(process.env.STEADY_BENCH_LIVE_STABILIZE) : null;
  const stab = {
    ...(await load('stabilize/stabilizer.js')),
    ...(await load('stabilize/options.js')),
    ...(await load('video/analysis.js')),
    ...(await load('server/preview-encoder.js')),
  };
  const ffmpegPath = resolveFfmpeg().path;
  const mods = { LiveSession, startLiveServer, ffmpegPath };
  const loadBefore = os.loadavg();

  const controller = new AbortController();
  const server = await measure(mods, await passthroughSource(openDecoder, controller.signal), seconds);
  let pipeline = null;
  let pipelineError = null;
  try {
    const source =
      stabilizeOptions === null
        ? await openLiveSource(SHAKY_SOURCE, { inputFormat: 'lavfi', realtime: true, loop: false, ffmpegPath, signal: controller.signal })
        : await openLiveStabilizer(SHAKY_SOURCE, { ...stabilizeOptions, inputFormat: 'lavfi', realtime: true, loop: false, ffmpegPath, signal: controller.signal, outputMaxWidth: stab.DEFAULT_PREVIEW_MAX_WIDTH });
    pipeline = await measure(mods, source, seconds);
  } catch (err) {
    if (err?.code !== 'E_NOT_IMPLEMENTED') throw err;
    pipelineError = err.message;
  }
  const stabilizer = await measureStabilizer(openDecoder, stab, stabilizeOptions ?? {});
  const summary = {
    source: `${WIDTH}x${HEIGHT} ${FPS} fps lavfi (shaky testsrc2), read with -re`,
    loadAverage: loadBefore,
    loadAverageAfter: os.loadavg(),
    stabilizeOptions: stabilizeOptions ?? 'defaults',
    server,
    pipeline,
    stabilizer,
  };

  const f = (x, d = 1) => (Number.isFinite(x) ? x.toFixed(d) : 'n/a');
  const runs = [server, pipeline];
  const row = (label, cell) => `| ${label} | ${runs.map((r) => (r === null ? 'n/a' : cell(r))).join(' | ')} |`;
  const markdown = [
    '## Live server (steady serve), 1280x720 at 30 fps',
    '',
    `Source: ${summary.source}; one WebSocket viewer in the same process; ${seconds} s measured after ${WARMUP_SEC} s of warm-up.`,
    `Machine load average before the runs: ${loadBefore.map((x) => x.toFixed(1)).join(' / ')} (1 / 5 / 15 min, ${os.cpus().length} cores).`,
    'Columns: *server* passes the decoded frames through unchanged (decode, preview encode, send);',
    `*live pipeline* is what \`steady serve\` runs (decode, ECC registration, smoothing, warp, preview encode, send)${pipelineError ? ` — not available: ${pipelineError}` : ''}` +
      `${stabilizeOptions === null ? '' : `, with stabilize options ${JSON.stringify(stabilizeOptions)}`}.`,
    '',
    '| figure | server | live pipeline |',
    '| --- | --- | --- |',
    row('frames in / sent per second', (r) => `${f(r.fpsIn)} / ${f(r.fpsProcessed)}`),
    row('source frames due / shortfall (source slowed down)', (r) => `${r.expectedFrames} / ${r.shortfall}`),
    row('dropped: before the session / preview encoder / viewer queue', (r) => `${r.droppedUpstream} / ${r.droppedEncoder} / ${r.droppedViewer}`),
    row('viewer: frames, sequence gaps, MB/s', (r) => `${r.viewerFrames}, ${r.viewerSequenceGaps}, ${f(r.viewerMBps, 2)}`),
    row('latency decoder to sent, median / p95 / max (ms)', (r) => `${f(r.latencyMedianMs)} / ${f(r.latencyP95Ms)} / ${f(r.latencyMaxMs)}`),
    row('target: no drops, p95 < look-ahead / fps + 100 ms', (r) => `${r.meetsTarget ? 'met' : 'NOT met'} (budget ${f(r.latencyBudgetMs, 0)} ms, look-ahead ${r.lookaheadFrames})`),
    row('CPU % of one core: Node (all threads) / preview ffmpeg / decoder ffmpeg', (r) => `${f(r.nodeCpuPercent, 0)} / ${f(r.previewEncoderCpuPercent, 0)} / ${f(r.decoderCpuPercent, 0)}`),
    '',
    `Stabilizer alone (${stabilizeOptions === null ? "default options" : "the options above"}, ${stabilizer.frames} frames of the same source decoded beforehand, ${stabilizer.pulled} pulled): ` +
      `push ${f(stabilizer.pushMs)} ms + pull ${f(stabilizer.pullMs)} ms = ${f(stabilizer.wallMsPerFrame)} ms per frame (wall), ` +
      `${f(stabilizer.cpuMsPerFrame)} ms CPU; at most ${f(stabilizer.maxFpsWall)} frames per second on this thread at this load.`,
    `Load average after the runs: ${summary.loadAverageAfter.map((x) => x.toFixed(1)).join(' / ')}.`,
    '',
  ].join('\n');
  return { markdown, summary };
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const { markdown, summary } = await runLiveBench();
  process.stdout.write(`${markdown}\n`);
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  process.exit(0);
}
