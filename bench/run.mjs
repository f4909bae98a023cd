#!/usr/bin/env node
// `npm run bench`: every benchmark of steady in one sitting, written to bench/RESULTS.md with the
// machine's facts. Benchmarks are not part of `npm test`.
//
// usage: npm run bench [-- --only register,stabilize,itf,objects,passthrough,kernels,memory,live,metrics] [-- --quick]
// --quick: fewer cases and clips (for a smoke run; the committed RESULTS.md comes from a full run).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const args = process.argv.slice(2);
const onlyArg = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const only = onlyArg ? onlyArg.split(',') : ['register', 'stabilize', 'itf', 'objects', 'passthrough', 'kernels', 'memory', 'live', 'metrics'];
const quick = args.includes('--quick');

function tryRun(cmd, a) {
  try {
    return execFileSync(cmd, a, { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
  } catch {
    return 'n/a';
  }
}

function machineFacts() {
  const cpus = os.cpus();
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8'));
  return [
    '| item | value |',
    '| --- | --- |',
    `| date | ${new Date().toISOString()} |`,
    `| steady | ${pkg.version} (git ${tryRun('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD'])}) |`,
    `| CPU | ${cpus[0]?.model ?? 'unknown'}, ${cpus.length} logical cores (nproc ${tryRun('nproc', [])}) |`,
    `| memory | ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB |`,
    `| OS | ${os.type()} ${os.release()} |`,
    `| Node | ${process.version} |`,
    `| ffmpeg (bench) | ${tryRun('/usr/bin/ffmpeg', ['-version']).split('\n')[0]} |`,
    `| OpenCV | ${tryRun('/usr/bin/python3', ['-c', 'import cv2; print(cv2.__version__)'])} (Debian python3-opencv) |`,
    `| load average at start | ${os.loadavg().map((x) => x.toFixed(2)).join(' ')} |`,
  ].join('\n');
}

/** When, on which commit and at what load a section's run started (the file keeps sections of several runs). */
function stamp() {
  const sha = tryRun('git', ['-C', ROOT, 'rev-parse', '--short', 'HEAD']);
  const dirty = tryRun('git', ['-C', ROOT, 'status', '--porcelain', '--untracked-files=no', '--', 'src', 'bench', 'package.json']) === '' ? '' : ' plus uncommitted changes';
  return `_Run ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on git ${sha}${dirty}; load average at start ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}._`;
}

/** A section: its heading, the stamp taken before its bench ran, then its text. */
function section(heading, stampLine, body) {
  return `${heading}\n\n${stampLine}\n\n${body}`;
}

const sections = [];
sections.push(`# steady benchmark results\n\nMade by \`npm run bench\`${quick ? ' --quick' : ''}. Timings are wall-clock on a shared VM and drift by up to ~30% over an hour (see ../shared/anchors/RESULTS.md); every ratio below compares tools run back to back in the same sitting.\n\n## Machine\n\n${machineFacts()}`);

if (only.includes('register')) {
  const st = stamp();
  const { runRegisterBench } = await import('./register.mjs');
  const r = await runRegisterBench(quick ? { seeds: [0, 1, 2], n: 3 } : { seeds: [0, 1, 2], n: 8 });
  sections.push(section('## Still registration (issue 2)', st, r.markdown));
}
if (only.includes('stabilize')) {
  const st = stamp();
  const { runStabilizeBench } = await import('./stabilize.mjs');
  const r = await runStabilizeBench(quick ? { clips: ['synthetic'] } : {});
  sections.push(section('## Stabilization against vidstab and deshake (issue 3)', st, r.markdown));
}
if (only.includes('itf')) {
  const st = stamp();
  // After the stabilize bench, whose outputs on the synthetic clip it reads.
  const { runItfBench } = await import('./itf.mjs');
  const parts = [];
  for (const clip of quick ? ['shaky_photo_640x360'] : ['shaky_photo_640x360', 'shaky_photo_1280x720']) parts.push((await runItfBench({ clip })).markdown);
  sections.push(section('## What a no-fill path can reach on ITF (issue 3)', st, parts.join('\n\n')));
}
if (only.includes('objects')) {
  const st = stamp();
  // After the stabilize bench, which makes the synthetic clip and its truth.
  const { runObjectsBench } = await import('./objects.mjs');
  const r = await runObjectsBench();
  sections.push(section('## An object crossing the frame (issue 3)', st, r.markdown));
}
if (only.includes('passthrough')) {
  const st = stamp();
  // After the stabilize bench, which makes the synthetic clips.
  const { runPassthroughBench } = await import('./passthrough.mjs');
  const r = await runPassthroughBench(quick ? { rounds: 1 } : {});
  sections.push(section('## Where the wall time goes (issue 3)', st, r.markdown));
}
if (only.includes('kernels')) {
  const st = stamp();
  // The per-pixel kernels, JavaScript against WebAssembly (bench/kernels.mjs, every row).
  const text = execFileSync(process.execPath, [path.join(HERE, 'kernels.mjs'), ...(quick ? ['--rounds', '3'] : [])], { cwd: ROOT }).toString();
  sections.push(
    section(
      '## Per-pixel kernels (issue 3)',
      st,
      `\`node bench/kernels.mjs\`: each kernel in JavaScript ('js') and in WebAssembly SIMD ('wasm', the default where the engine has it): the analysis downscale (per source pixel), the pyramid blur, ECC's template pass and one ECC iteration at the default analysis size (per template pixel), and the 8-bit bilinear warp of one plane (a 0.3 degree rotation, 3 % zoom and a fractional shift, or a fractional translation; per output pixel); the minimum over rounds of the mean per call.\n\n\`\`\`\n${text.trim()}\n\`\`\``,
    ),
  );
}
if (only.includes('memory')) {
  const st = stamp();
  const { runMemoryBench } = await import('./memory.mjs');
  const r = await runMemoryBench(quick ? { longSec: 60 } : {});
  sections.push(section('## Peak memory, long clip (issue 3)', st, r.markdown));
}
if (only.includes('live')) {
  const st = stamp();
  const { runLiveBench } = await import('./live.mjs');
  const r = await runLiveBench(quick ? { seconds: 5 } : {});
  sections.push(section('## Live 720p30 (issue 4)', st, r.markdown));
}
if (only.includes('metrics')) {
  const st = stamp();
  const { runMetricsBench } = await import('./metrics.mjs');
  const r = await runMetricsBench(quick ? { clips: 'park_walk_handheld_480x360.mp4' } : {});
  sections.push(section('## steady metrics before and after (issue 5)', st, r.markdown));
}

const out = path.join(ROOT, 'bench/RESULTS.md');
// Sections this run did not redo (another --only, the soak run) are kept from the previous file; the
// header and machine facts are this run's. Only these headings start a section (sections hold ## lines).
const SECTION_HEADINGS = [
  '## Still registration (issue 2)',
  '## Stabilization against vidstab and deshake (issue 3)',
  '## What a no-fill path can reach on ITF (issue 3)',
  '## An object crossing the frame (issue 3)',
  '## Where the wall time goes (issue 3)',
  '## Per-pixel kernels (issue 3)',
  '## Peak memory, long clip (issue 3)',
  '## Live 720p30 (issue 4)',
  '## steady metrics before and after (issue 5)',
  '## Soak',
];
// Headings of sections no run writes any more (renamed or merged): dropped, not kept.
const RETIRED_HEADINGS = ['## Frame warp kernel (issue 3)'];
const headingOf = (sec) => sec.split('\n')[0];
const fresh = new Map(sections.slice(1).map((sec) => [headingOf(sec), sec]));
const kept = [];
if (fs.existsSync(out)) {
  let current = null;
  for (const line of fs.readFileSync(out, 'utf8').split('\n')) {
    if (RETIRED_HEADINGS.includes(line)) {
      current = [];
      continue;
    }
    if (SECTION_HEADINGS.includes(line) || line === '## Machine') {
      current = [];
      if (!fresh.has(line) && line !== '## Machine') kept.push(current);
    }
    current?.push(line);
  }
}
const keptText = kept.map((lines) => lines.join('\n').trimEnd());
// In the order of SECTION_HEADINGS, whichever run made each section.
const all = [...fresh.values(), ...keptText];
const rank = (sec) => {
  const i = SECTION_HEADINGS.indexOf(headingOf(sec));
  return i < 0 ? SECTION_HEADINGS.length : i;
};
all.sort((a, b) => rank(a) - rank(b));
fs.writeFileSync(out, `${[sections[0], ...all].join('\n\n')}\n`);
console.log(`wrote ${out}`);
