#!/usr/bin/env node
// Peak memory of `steady stabilize` on a 10-minute clip against a 10-second one of the same kind (issue
// 3: within +10 % or +20 MB). Both clips are made here by ffmpeg from a lavfi test pattern cropped at a
// wobbling position (a known shake), 640x360 at 30 fps, H.264; steady runs at its defaults with the
// bench's encoder settings (libx264 veryfast, crf 18), run as npx runs it (through its shebang). Peak memory is the maximum resident set size of
// the steady process (GNU time's %M). The ffmpeg children are separate processes, not counted: their
// memory is set by the frame size and the encoder, not by the clip's length.
//
// usage: npm run build && node bench/memory.mjs [--long-sec 600] [--short-sec 10] [--size 640x360]
// Exported: runMemoryBench(options) -> { markdown, rows }.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const FFMPEG = process.env.FFMPEG_PATH ?? '/usr/bin/ffmpeg';
const FFPROBE = process.env.FFPROBE_PATH ?? '/usr/bin/ffprobe';
/** The allowance: the long clip's peak within this share or this many MB of the short one's. */
const ALLOW_SHARE = 0.1;
const ALLOW_MB = 20;

function makeClip(file, seconds, size) {
  if (fs.existsSync(file)) return;
  const [w, h] = size.split('x').map(Number);
  const src = `testsrc2=size=${w + 64}x${h + 64}:rate=30,crop=${w}:${h}:'32+24*sin(2*PI*t*0.7)+6*sin(2*PI*t*5.3)':'32+20*sin(2*PI*t*0.45)+5*sin(2*PI*t*6.1)'`;
  execFileSync(FFMPEG, ['-nostdin', '-v', 'error', '-y', '-f', 'lavfi', '-i', src, '-t', String(seconds), '-c:v', 'libx264', '-preset', 'ultrafast', '-crf', '23', '-pix_fmt', 'yuv420p', file], { stdio: 'inherit' });
}

/** The executable as npx runs it: through its shebang (which sets Node's memory flags), so it must be executable. */
function steadyExecutable() {
  const main = path.join(ROOT, 'dist/cli/main.js');
  fs.chmodSync(main, 0o755);
  return main;
}

function runSteady(input, output) {
  const tf = path.join(os.tmpdir(), `steady-bench-mem-${process.pid}`);
  const json = execFileSync(
    '/usr/bin/time',
    ['-f', '%e %M', '-o', tf, steadyExecutable(), 'stabilize', input, '-o', output, '--overwrite', '--crf', '18', '--preset', 'veryfast', '--json'],
    { env: { ...process.env, FFMPEG_PATH: FFMPEG, FFPROBE_PATH: FFPROBE }, stdio: ['ignore', 'pipe', 'inherit'] },
  ).toString();
  const [wall, kb] = fs.readFileSync(tf, 'utf8').trim().split('\n').pop().split(/\s+/).map(Number);
  fs.rmSync(tf, { force: true });
  const summary = JSON.parse(json.trim().split('\n').pop());
  return { wall, peakMb: kb / 1024, frames: summary.frames, fps: summary.fps };
}

export async function runMemoryBench(options = {}) {
  const longSec = options.longSec ?? 600;
  const shortSec = options.shortSec ?? 10;
  const size = options.size ?? '640x360';
  const dir = options.dir ?? path.join(os.tmpdir(), 'steady-bench-memory');
  fs.mkdirSync(dir, { recursive: true });
  const rows = [];
  for (const sec of [shortSec, longSec]) {
    const clip = path.join(dir, `shake_${size}_${sec}s.mp4`);
    makeClip(clip, sec, size);
    const r = runSteady(clip, path.join(dir, `out_${sec}s.mp4`));
    rows.push({ seconds: sec, ...r });
    fs.rmSync(path.join(dir, `out_${sec}s.mp4`), { force: true });
  }
  const [s, l] = rows;
  const allowed = Math.max(s.peakMb * (1 + ALLOW_SHARE), s.peakMb + ALLOW_MB);
  const lines = [
    `\`node bench/memory.mjs\`: steady stabilize at its defaults (libx264 veryfast, crf 18) on two ${size} 30 fps clips made from a lavfi test pattern with a known shake. Peak memory = maximum resident set of the steady process (GNU time %M).`,
    '',
    '| clip | frames | wall s | fps | peak RSS MB |',
    '| --- | --- | --- | --- | --- |',
    ...rows.map((r) => `| ${r.seconds} s | ${r.frames} | ${r.wall.toFixed(1)} | ${r.fps.toFixed(1)} | ${r.peakMb.toFixed(1)} |`),
    '',
    `Target: the ${longSec}-s clip's peak at most max(+${ALLOW_SHARE * 100} %, +${ALLOW_MB} MB) of the ${shortSec}-s clip's = ${allowed.toFixed(1)} MB: ${l.peakMb <= allowed ? 'met' : 'missed'} (${(l.peakMb - s.peakMb).toFixed(1)} MB more).`,
  ];
  return { markdown: lines.join('\n'), rows };
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const a = process.argv.slice(2);
  const opt = (k) => (a.includes(k) ? a[a.indexOf(k) + 1] : undefined);
  const r = await runMemoryBench({
    longSec: opt('--long-sec') ? Number(opt('--long-sec')) : undefined,
    shortSec: opt('--short-sec') ? Number(opt('--short-sec')) : undefined,
    size: opt('--size'),
  });
  console.log(r.markdown);
}
