#!/usr/bin/env node
// Where steady's wall time goes against the floor: the same clip through three pipelines, alternated over
// rounds in one sitting,
//   floor        ffmpeg alone decoding and re-encoding (libx264 veryfast, crf 18, no audio), as
//                ../shared/anchors/stab_vs.sh times it;
//   passthrough  steady's own decoder -> Node -> encoder with no processing at all (src/video decoder and
//                encoder: the same ffmpeg processes and pipes as `steady stabilize`): what the two-process
//                architecture costs by itself;
//   steady       `steady stabilize` at its defaults (audio, when the clip has it, is copied).
// For each: the median wall time over the rounds, its ratio to the floor's, and the Node process's own CPU
// time (all its threads: the main thread and V8's compiler and collector threads, process.cpuUsage) per
// frame, median over the rounds.
//
// usage: npm run build && node bench/passthrough.mjs [--rounds 3] [--ffmpeg /usr/bin/ffmpeg]
// Exported: runPassthroughBench(options) -> { markdown }.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const SHARED = path.resolve(ROOT, process.env.STEADY_SHARED ?? '../shared');
/** The stabilize bench makes the synthetic clips (bench/out/videos); the real one is in STEADY_SHARED. */
const CLIPS = [
  path.join(ROOT, 'bench/out/videos/shaky_photo_640x360.mp4'),
  path.join(SHARED, 'data/real/videos/park_walk_handheld_480x360.mp4'),
  path.join(ROOT, 'bench/out/videos/shaky_photo_1280x720.mp4'),
];

/** The passthrough pipeline itself (this file run with --pipe IN OUT): every decoded frame straight to the encoder. */
async function pipe(input, output) {
  const { openDecoder } = await import(pathToFileURL(path.join(ROOT, 'dist/video/decoder.js')).href);
  const { openEncoder } = await import(pathToFileURL(path.join(ROOT, 'dist/video/encoder.js')).href);
  const { probeVideo } = await import(pathToFileURL(path.join(ROOT, 'dist/video/probe.js')).href);
  const { loadFfmpegFeatures } = await import(pathToFileURL(path.join(ROOT, 'dist/video/binaries.js')).href);
  // As `steady stabilize` starts: ffprobe and ffmpeg's option check side by side.
  const [probe] = await Promise.all([probeVideo(input), loadFfmpegFeatures()]);
  const decoder = await openDecoder(input, { probe });
  const encoder = await openEncoder(output, { width: decoder.width, height: decoder.height, fps: decoder.fpsRational });
  for await (const f of decoder.frames()) await encoder.write(f.data);
  await encoder.finish();
}

function median(values) {
  const s = [...values].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Runs a command to the end; its wall seconds, stdout, and the Node CPU seconds a --require hook printed (NaN if none). */
function run(cmd, args, env) {
  const t = performance.now();
  const r = spawnSync(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 1 << 24 });
  const wall = (performance.now() - t) / 1000;
  const stderr = r.stderr.toString();
  if (r.status !== 0) throw new Error(`${path.basename(cmd)} ${args.slice(0, 2).join(' ')} failed (${r.status ?? r.signal}): ${stderr.slice(-500)}`);
  const m = /node-cpu ([0-9.]+)/.exec(stderr);
  return { wall, out: r.stdout.toString(), cpu: m ? Number(m[1]) : Number.NaN };
}

export async function runPassthroughBench(options = {}) {
  const rounds = options.rounds ?? 3;
  const ffmpeg = options.ffmpeg ?? '/usr/bin/ffmpeg';
  const outDir = path.join(ROOT, 'bench/out/passthrough');
  fs.mkdirSync(outDir, { recursive: true });
  const env = { ...process.env, FFMPEG_PATH: ffmpeg, FFPROBE_PATH: path.join(path.dirname(ffmpeg), 'ffprobe') };
  const hook = path.join(outDir, 'cpu-report.cjs');
  fs.writeFileSync(hook, "process.on('exit', () => { const u = process.cpuUsage(); process.stderr.write('node-cpu ' + (u.user + u.system) / 1e6 + '\\n'); });\n");
  const nodeEnv = { ...env, NODE_OPTIONS: `--require ${hook}` };
  const load = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  const lines = ['| clip | frames | floor s | passthrough s (x floor) | steady s (x floor) | Node CPU ms/frame: passthrough / steady |', '| --- | --- | --- | --- | --- | --- |'];
  for (const clip of CLIPS) {
    if (!fs.existsSync(clip)) throw new Error(`${clip} is missing (run the stabilize bench first: it makes the synthetic clips)`);
    const name = path.basename(clip).replace(/\.[^.]+$/, '');
    const t = { floor: [], pass: [], steady: [], passCpu: [], steadyCpu: [] };
    let frames = 0;
    for (let r = 0; r < rounds; r++) {
      const enc = ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-pix_fmt', 'yuv420p', '-an'];
      t.floor.push(run(ffmpeg, ['-nostdin', '-loglevel', 'error', '-y', '-i', clip, ...enc, path.join(outDir, `${name}.floor.mp4`)], env).wall);
      const p = run(process.execPath, [path.join(HERE, 'passthrough.mjs'), '--pipe', clip, path.join(outDir, `${name}.pass.mp4`)], nodeEnv);
      t.pass.push(p.wall);
      t.passCpu.push(p.cpu);
      const s = run(process.execPath, [path.join(ROOT, 'dist/cli/main.js'), 'stabilize', clip, '-o', path.join(outDir, `${name}.steady.mp4`), '--overwrite', '--json'], nodeEnv);
      t.steady.push(s.wall);
      t.steadyCpu.push(s.cpu);
      frames = JSON.parse(s.out.trim().split('\n').pop()).frames;
    }
    const floor = median(t.floor);
    const f2 = (x) => x.toFixed(2);
    const perFrame = (cpu) => ((1000 * median(cpu)) / frames).toFixed(2);
    lines.push(
      `| ${name} | ${frames} | ${f2(floor)} | ${f2(median(t.pass))} (${f2(median(t.pass) / floor)}) | ${f2(median(t.steady))} (${f2(median(t.steady) / floor)}) | ${perFrame(t.passCpu)} / ${perFrame(t.steadyCpu)} |`,
    );
  }
  const markdown = `\`node bench/passthrough.mjs\`: ${rounds} rounds alternating ffmpeg alone (the floor), steady's decoder -> Node -> encoder with no processing at all (passthrough: what the two ffmpeg processes and the pipes cost by themselves) and \`steady stabilize\` at its defaults; median wall times, and the Node process's own CPU (all its threads, process.cpuUsage) per frame. Load average at start: ${load}.\n\n${lines.join('\n')}`;
  return { markdown };
}

const args = process.argv.slice(2);
if (args[0] === '--pipe') {
  await pipe(args[1], args[2]);
} else if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const arg = (name, fallback) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1] : fallback);
  const r = await runPassthroughBench({ rounds: Number(arg('rounds', '3')), ffmpeg: arg('ffmpeg', '/usr/bin/ffmpeg') });
  console.log(r.markdown);
}
