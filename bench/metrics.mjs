/**
 * Steadiness of the real clips before and after stabilization: `steady metrics` (ITF, stability,
 * cropping, distortion; docs/metrics.md) on each shaky clip of the shared real material as it is, on
 * `steady stabilize`'s output and on ffmpeg vidstab's output (two passes, the anchor settings of
 * ../shared/anchors/stab_anchors.sh, libx264 veryfast crf 18), the outputs measured against their input.
 *
 * Run: `npm run bench` (bench/run.mjs calls runMetricsBench), or `npm run build && node bench/metrics.mjs`.
 * Environment: STEADY_SHARED (real material, default ../shared), STEADY_BENCH_CLIPS (comma-separated
 * file names to limit the clips), FFMPEG_PATH (the ffmpeg for vidstab; default steady's own choice).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const CLI = join(ROOT, 'dist/cli/main.js');
const CLIPS = [
  'park_walk_handheld_480x360.mp4',
  'forest_trail_walk_640x360.mp4',
  'seattle_sculpture_handheld_640x360.avi',
  'nus_regular0_walk_backward_640x360.avi',
];
/** vid.stab as the anchors run it. */
const VIDSTAB_DETECT = 'vidstabdetect=shakiness=5:accuracy=15:stepsize=6';
const VIDSTAB_TRANSFORM = 'vidstabtransform=smoothing=15:optzoom=1:interpol=bilinear';

/** Seconds a command may linger after printing its one-line JSON result before it is killed. */
const EXIT_GRACE_SEC = 20;

/**
 * Runs a command to completion; resolves with exit code, stdout, stderr. With `jsonLine`, a process that
 * has printed a complete JSON line but does not exit within EXIT_GRACE_SEC is killed and counted as
 * done: Node 20 can deadlock at shutdown after the work is finished (nodejs/node#54918).
 */
function run(command, args, { jsonLine = false } = {}) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    let grace = null;
    let lingered = false;
    child.stdout.setEncoding('utf8').on('data', (d) => {
      stdout += d;
      if (jsonLine && grace === null && /^\{.*\}\n/m.test(stdout)) {
        grace = setTimeout(() => {
          lingered = true;
          child.kill('SIGKILL');
        }, EXIT_GRACE_SEC * 1000);
      }
    });
    child.stderr.setEncoding('utf8').on('data', (d) => (stderr += d));
    child.on('error', (err) => resolve({ code: -1, stdout, stderr: String(err) }));
    child.on('close', (code) => {
      if (grace !== null) clearTimeout(grace);
      resolve({ code: lingered ? 0 : code, stdout, stderr, lingered });
    });
  });
}

async function steady(args) {
  return run(process.execPath, [CLI, ...args], { jsonLine: args.includes('--json') });
}

async function metricsOf(video, original) {
  const r = await steady(['metrics', video, ...(original ? ['--original', original] : []), '--json']);
  if (r.code !== 0) return { error: r.stderr.trim().split('\n').pop() };
  return JSON.parse(r.stdout.trim());
}

/**
 * Runs the benchmark.
 * @returns {Promise<{markdown: string, summary: object}>}
 */
export async function runMetricsBench(options = {}) {
  const shared = options.shared ?? process.env.STEADY_SHARED ?? join(ROOT, '../shared');
  const videos = join(shared, 'data/real/videos');
  const only = (options.clips ?? process.env.STEADY_BENCH_CLIPS ?? '').split(',').filter(Boolean);
  const clips = CLIPS.filter((c) => only.length === 0 || only.includes(c)).filter((c) => existsSync(join(videos, c)));
  const { resolveFfmpeg } = await import(pathToFileURL(join(ROOT, 'dist/video/binaries.js')).href);
  const ffmpeg = process.env.FFMPEG_PATH ?? resolveFfmpeg().path;
  const version = (await run(ffmpeg, ['-version'])).stdout.split('\n')[0] ?? '?';
  const hasStabilize = existsSync(join(ROOT, 'dist/cli/stabilize.js'));
  const work = mkdtempSync(join(tmpdir(), 'steady-bench-metrics-'));
  const rows = [];
  try {
    for (const clip of clips) {
      const input = join(videos, clip);
      const stem = clip.replace(/\.[^.]+$/, '');
      const row = { clip, input: await metricsOf(input, null) };
      if (hasStabilize) {
        const out = join(work, `${stem}.steady.mp4`);
        const r = await steady(['stabilize', input, '-o', out, '--json']);
        row.steady = r.code === 0 ? await metricsOf(out, input) : { error: r.stderr.trim().split('\n').pop() };
      } else {
        row.steady = { error: 'steady stabilize is not built' };
      }
      const trf = join(work, `${stem}.trf`);
      const vs = join(work, `${stem}.vidstab.mp4`);
      const d = await run(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-y', '-i', input, '-vf', `${VIDSTAB_DETECT}:result=${trf}`, '-f', 'null', '-']);
      const t = d.code === 0 ? await run(ffmpeg, ['-hide_banner', '-loglevel', 'error', '-y', '-i', input, '-vf', `${VIDSTAB_TRANSFORM}:input=${trf}`, '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-an', vs]) : d;
      row.vidstab = t.code === 0 ? await metricsOf(vs, input) : { error: t.stderr.trim().split('\n').pop() };
      rows.push(row);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }

  const f = (x, d) => (typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : 'n/a');
  const line = (clip, label, m) =>
    m.error
      ? `| ${clip} | ${label} | ${m.error} | | | |`
      : `| ${clip} | ${label} | ${f(m.itf, 2)} | ${f(m.stability, 3)} | ${m.cropping === null ? '-' : f(m.cropping, 3)} | ${m.distortion === null ? '-' : f(m.distortion, 3)} |`;
  const markdown = [
    '## Steadiness of the real clips (steady metrics)',
    '',
    'ITF: mean PSNR of consecutive frames (dB, higher is steadier). Stability: share of the camera path\'s',
    'energy in its 5 lowest frequencies, min over x, y, angle (1 = steady). Cropping: mean 1/zoom of each',
    'output frame against its input frame. Distortion: min ratio of the singular values of that transform',
    '(1 = none). Formulas: docs/metrics.md. vid.stab: `' + VIDSTAB_DETECT + '` then `' + VIDSTAB_TRANSFORM + '`,',
    `libx264 veryfast crf 18; ffmpeg: ${version}.${hasStabilize ? ' steady: `steady stabilize` at its defaults.' : ''}`,
    '',
    '| clip | video | ITF dB | stability | cropping | distortion |',
    '| --- | --- | --- | --- | --- | --- |',
    ...rows.flatMap((r) => [line(r.clip, 'input', r.input), line(r.clip, 'steady', r.steady), line(r.clip, 'vidstab', r.vidstab)]),
    '',
  ].join('\n');
  return { markdown, summary: { ffmpeg: version, rows } };
}

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  const { markdown } = await runMetricsBench();
  process.stdout.write(`${markdown}\n`);
  process.exit(0);
}
