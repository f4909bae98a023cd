#!/usr/bin/env node
// What ITF a no-fill camera path can reach at vidstab's zoom on the anchors' synthetic clip, and what it
// costs in the other jitter measures (bench/itf_paths.py). It reads the stabilize bench's outputs for that
// clip (bench/out/stabilize: steady's motion file, vidstab's zoom, the metrics of both), so it runs after
// `--only stabilize` (or in the same `npm run bench`).
//
// usage: npm run build && node bench/itf.mjs [--clip shaky_photo_640x360]
// Exported: runItfBench(options) -> { markdown, rows }.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const PY = '/usr/bin/python3';

const f2 = (x) => x.toFixed(2);
const f3 = (x) => x.toFixed(3);
const pct = (x) => `${Math.round(100 * x)}%`;

/** Runs bench/itf_paths.py on one synthetic clip of the stabilize bench. */
export async function runItfBench(options = {}) {
  const clip = options.clip ?? 'shaky_photo_640x360';
  const out = path.join(ROOT, 'bench/out');
  const video = path.join(out, 'videos', `${clip}.mp4`);
  const truth = path.join(out, 'videos', `${clip}.truth.json`);
  const stab = path.join(out, 'stabilize');
  const need = [video, truth, path.join(stab, `${clip}.vs.json`), path.join(stab, `${clip}.vidstab.zf.json`), path.join(stab, `${clip}.steady.json`)];
  const missing = need.filter((p) => !fs.existsSync(p));
  if (missing.length > 0) throw new Error(`itf bench: run the stabilize bench first (missing ${missing.join(', ')})`);
  const vs = JSON.parse(fs.readFileSync(path.join(stab, `${clip}.vs.json`), 'utf8')).videos;
  const zoom = JSON.parse(fs.readFileSync(path.join(stab, `${clip}.vidstab.zf.json`), 'utf8')).zoom_mean;
  const text = execFileSync(PY, [path.join(HERE, 'itf_paths.py'), path.join(out, 'anchors'), video, truth, String(zoom), path.join(out, 'itf'), '--steady', path.join(stab, `${clip}.steady.json`)], {
    cwd: path.join(out, 'anchors'),
    maxBuffer: 1 << 24,
  }).toString();
  const rows = text
    .trim()
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l));
  const v = vs.vidstab;
  const lines = [
    `\`bench/itf_paths.py\` on ${clip} (${v.frames} frames): camera paths solved from the clip's true motion (the best any tool could find) at vidstab's mean zoom ${zoom.toFixed(3)}, with no frame showing fill, each rendered (OpenCV bilinear, libx264 veryfast crf 18) and measured by the anchors' metrics.py. ITF is a mean of per-frame logarithms: a path that holds still in some frames and catches up in others raises it, and raises the >= 1 Hz measure with it. The first row re-renders steady's own corrections through the same renderer (a check of the renderer against steady's output); the second renders the clip's true intended camera (no jitter at all) at the same zoom with fill allowed, what a perfect stabilizer that accepts fill would show.`,
    '',
    `vidstab on this clip: ITF ${f2(v.itf_db)} dB, HF jitter ${f2(v.hf_jitter.xy_px)} px, >= 1 Hz ${f3(v.hf_vel_1hz.xy_px)} px/frame, HF roll ${f3(v.hf_jitter.theta_deg)} deg, with fill in some frames. steady's output as encoded: ITF ${f2(vs.steady.itf_db)} dB.`,
    '',
    '| path | ITF dB | HF jitter px | >= 1 Hz px/frame | HF roll deg | frames with fill | ITF above vidstab | >= 1 Hz at most vidstab\'s |',
    '| --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const r of rows) {
    lines.push(`| ${r.path} | ${f2(r.itf_db)} | ${f2(r.hf_jitter_xy_px)} | ${f3(r.hz1_xy_px)} | ${f3(r.hf_roll_deg)} | ${pct(r.fill_share)} | ${r.itf_db > v.itf_db ? 'yes' : 'no'} | ${r.hz1_xy_px <= v.hf_vel_1hz.xy_px ? 'yes' : 'no'} |`);
  }
  return { markdown: lines.join('\n'), rows };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const i = args.indexOf('--clip');
  const r = await runItfBench(i >= 0 ? { clip: args[i + 1] } : {});
  console.log(r.markdown);
}
