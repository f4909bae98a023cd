#!/usr/bin/env node
// Stabilization benchmark: steady stabilize against ffmpeg's vidstab (two passes) and deshake, on the same
// clips, with the same encoder settings (libx264 veryfast, crf 18) and the same ffmpeg binary, in one run.
// It runs the anchors' own scripts from ../shared/anchors (copied to a temp folder): stab_vs.sh (floor =
// ffmpeg alone decoding and re-encoding, vidstab detect + transform, steady), metrics.py (ITF, 31-frame HF
// jitter, window-free >= 1 Hz measure, the same method for every output) and zoomfill.py (mean zoom and
// share of frames with fill), plus a deshake pass timed the same way. bench/jitter_bound.py then gives, from
// the input's trajectory as metrics.py measures it, a certified lower bound on the HF jitter any no-fill path
// can reach at vidstab's zoom and at steady's: what the jitter target asks against what geometry allows.
// Wall times on a shared 2-core machine swing by up to 1.5x between runs, so the floor, vidstab and steady
// are timed TIMING_ROUNDS times in turn (stab_vs.sh's run, then the same commands again in the same order)
// and each is reported as its median; the budget is judged on the medians (STEADY_BENCH_ROUNDS=N sets the
// number of rounds; 1 times stab_vs.sh's run alone).
//
// usage: npm run build && node bench/stabilize.mjs [--clips synthetic,real] [--ffmpeg /usr/bin/ffmpeg]
//        [--seed 0] [--out DIR]
// Exported: runStabilizeBench(options) -> { markdown, rows }.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const SHARED = path.resolve(ROOT, process.env.STEADY_SHARED ?? '../shared');
const PY = '/usr/bin/python3';
const REAL = ['park_walk_handheld_480x360.mp4', 'forest_trail_walk_640x360.mp4', 'seattle_sculpture_handheld_640x360.avi', 'nus_regular0_walk_backward_640x360.avi', 'aerial_hover_nearstatic_1920x1080.mp4'];
/** The near-static control clip: its check is that no motion is added, not the jitter target. */
const CONTROL_CLIP = 'aerial_hover_nearstatic_1920x1080';
/** Timed runs of the floor, vidstab and steady per clip (medians are reported); deshake runs once. */
const TIMING_ROUNDS = Number(process.env.STEADY_BENCH_ROUNDS ?? 3);
const SYNTH = ['shaky_photo_640x360.mp4', 'shaky_video_640x360.mp4', 'shaky_photo_1280x720.mp4', 'shaky_video_1280x720.mp4'];

function anchorsCopy(dir) {
  const d = path.join(dir, 'anchors');
  if (!fs.existsSync(d)) fs.cpSync(path.join(SHARED, 'anchors'), d, { recursive: true });
  return d;
}

function timeCmd(label, pass, cmd, args, tsv, cwd, env = process.env) {
  const tf = path.join(os.tmpdir(), `steady-bench-time-${process.pid}`);
  execFileSync('/usr/bin/time', ['-f', '%e %U %S %M', '-o', tf, cmd, ...args], { cwd, stdio: 'ignore', env });
  const [e, u, s, m] = fs.readFileSync(tf, 'utf8').trim().split('\n').pop().split(/\s+/).map(Number);
  fs.appendFileSync(tsv, `${label}\t${pass}\t${e}\t${u + s}\t${m}\n`);
  return { wall: e, cpu: u + s, rssMb: m / 1024 };
}

/** Runs the comparison on one clip; returns a row of figures. */
function benchClip(input, outDir, anchors, ffmpeg) {
  const name = path.basename(input).replace(/\.[^.]+$/, '');
  // The executable as npx runs it, through its shebang (which sets Node's memory flags).
  const steadyMain = path.join(ROOT, 'dist/cli/main.js');
  fs.chmodSync(steadyMain, 0o755);
  const steadyCmd = steadyMain;
  fs.rmSync(path.join(outDir, `${name}.steady.mp4`), { force: true });
  fs.rmSync(path.join(outDir, `${name}.steady.json`), { force: true });
  execFileSync('bash', [path.join(anchors, 'stab_vs.sh'), input, outDir, steadyCmd], {
    cwd: ROOT,
    env: { ...process.env, FFMPEG: ffmpeg },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const tsv = path.join(outDir, `${name}.vs.tsv`);
  // More rounds of the timed runs, with the commands and the order of stab_vs.sh (its outputs are rewritten
  // with the same content: each tool is deterministic).
  const enc = ['-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-pix_fmt', 'yuv420p', '-an'];
  const steadyEnv = { ...process.env, FFMPEG_PATH: ffmpeg, FFPROBE_PATH: path.join(path.dirname(ffmpeg), 'ffprobe') };
  for (let round = 1; round < TIMING_ROUNDS; round++) {
    timeCmd('floor', 'transcode', ffmpeg, ['-nostdin', '-y', '-i', input, ...enc, `${name}.floor.mp4`], tsv, outDir);
    timeCmd('vidstab', 'detect', ffmpeg, ['-nostdin', '-i', input, '-an', '-vf', `vidstabdetect=shakiness=5:accuracy=15:stepsize=6:result=${name}.trf`, '-f', 'null', '-'], tsv, outDir);
    timeCmd('vidstab', 'transform_x264', ffmpeg, ['-nostdin', '-y', '-i', input, '-vf', `vidstabtransform=smoothing=15:optzoom=1:interpol=bilinear:input=${name}.trf`, ...enc, `${name}.vidstab.mp4`], tsv, outDir);
    const steadyArgs = ['stabilize', input, '-o', path.join(outDir, `${name}.steady.mp4`), '--crf', '18', '--preset', 'veryfast', '--transforms', path.join(outDir, `${name}.steady.json`), '--quiet', '--overwrite'];
    timeCmd('steady', 'stabilize', steadyCmd, steadyArgs, tsv, ROOT, steadyEnv);
  }
  // deshake, one pass with the same encoder settings, timed the same way.
  timeCmd('deshake', 'x264', ffmpeg, ['-nostdin', '-y', '-i', input, '-vf', 'deshake=rx=16:ry=16:edge=mirror', '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-pix_fmt', 'yuv420p', '-an', path.join(outDir, `${name}.deshake.mp4`)], tsv, outDir);
  const vs = JSON.parse(fs.readFileSync(path.join(outDir, `${name}.vs.json`), 'utf8'));
  const dmFile = path.join(outDir, `${name}.deshake.metrics.json`);
  execFileSync(PY, [path.join(anchors, 'metrics.py'), `deshake=${path.join(outDir, `${name}.deshake.mp4`)}`, '--out', dmFile], { cwd: anchors, stdio: 'ignore' });
  const dm = JSON.parse(fs.readFileSync(dmFile, 'utf8'));
  const zf = (x) => JSON.parse(fs.readFileSync(path.join(outDir, `${name}.${x}.zf.json`), 'utf8'));
  const zfDeshake = JSON.parse(execFileSync(PY, [path.join(anchors, 'zoomfill.py'), input, path.join(outDir, `${name}.deshake.mp4`)], { cwd: anchors }).toString().trim().split('\n').pop());
  // Median wall and CPU over the rounds of each timed run; the largest peak memory.
  const runs = {};
  for (const line of fs.readFileSync(tsv, 'utf8').trim().split('\n')) {
    const [label, pass, wall, cpu, rss] = line.split('\t');
    (runs[`${label}:${pass}`] ??= []).push({ wall: Number(wall), cpu: Number(cpu), rssMb: Number(rss) / 1024 });
  }
  const median = (xs) => {
    const a = [...xs].sort((p, q) => p - q);
    return a.length % 2 === 1 ? a[(a.length - 1) / 2] : (a[a.length / 2 - 1] + a[a.length / 2]) / 2;
  };
  const timings = {};
  for (const [key, list] of Object.entries(runs)) {
    timings[key] = { wall: median(list.map((r) => r.wall)), cpu: median(list.map((r) => r.cpu)), rssMb: Math.max(...list.map((r) => r.rssMb)), rounds: list.length };
  }
  const frames = vs.videos.input.frames;
  const v = (label) => vs.videos[label] ?? dm.videos?.[label];
  const vidstabWall = timings['vidstab:detect'].wall + timings['vidstab:transform_x264'].wall;
  const row = {
    clip: name,
    frames,
    floorS: timings['floor:transcode'].wall,
    vidstabS: vidstabWall,
    deshakeS: timings['deshake:x264'].wall,
    rounds: timings['steady:stabilize'].rounds,
    steadyS: timings['steady:stabilize'].wall,
    steadyRssMb: timings['steady:stabilize'].rssMb,
    vidstabRssMb: Math.max(timings['vidstab:detect'].rssMb, timings['vidstab:transform_x264'].rssMb),
    budgetS: Math.max(vidstabWall / 2, 1.25 * timings['floor:transcode'].wall),
    itf: { input: v('input').itf_db, vidstab: v('vidstab').itf_db, deshake: v('deshake').itf_db, steady: v('steady').itf_db },
    jitter: { input: v('input').hf_jitter.xy_px, vidstab: v('vidstab').hf_jitter.xy_px, deshake: v('deshake').hf_jitter.xy_px, steady: v('steady').hf_jitter.xy_px },
    hz1: { input: v('input').hf_vel_1hz.xy_px, vidstab: v('vidstab').hf_vel_1hz.xy_px, deshake: v('deshake').hf_vel_1hz.xy_px, steady: v('steady').hf_vel_1hz.xy_px },
    zoom: { vidstab: zf('vidstab').zoom_mean, deshake: zfDeshake.zoom_mean, steady: zf('steady').zoom_mean },
    fill: { vidstab: zf('vidstab').fill_share, deshake: zfDeshake.fill_share, steady: zf('steady').fill_share },
  };
  // Targets: half of vidstab's, for each measure; --joint asks whether one path meets both at each zoom.
  const targets = [row.jitter.vidstab / 2, row.hz1.vidstab / 2].map(String);
  // --rotation-of: the same questions within the room steady's own rotation and zoom leave its shift.
  const boundArgs = [path.join(HERE, 'jitter_bound.py'), anchors, input, String(row.zoom.vidstab), String(row.zoom.steady), '--joint', ...targets, '--rotation-of', path.join(outDir, `${name}.steady.json`)];
  const bound = JSON.parse(execFileSync(PY, boundArgs, { cwd: anchors }).toString().trim().split('\n').pop());
  row.bound = { vidstabZoom: bound.bounds[0].bound_xy_px, steadyZoom: bound.bounds[1].bound_xy_px };
  row.hz1Bound = { vidstabZoom: bound.bounds[0].hz1_bound_xy_px, steadyZoom: bound.bounds[1].hz1_bound_xy_px };
  row.joint = { vidstabZoom: bound.bounds[0].joint, steadyZoom: bound.bounds[1].joint, givenRotation: bound.given_rotation.joint };
  row.givenRotation = { hf: bound.given_rotation.bound_xy_px, hz1: bound.given_rotation.hz1_bound_xy_px };
  return row;
}

const f2 = (x) => (x === undefined || x === null || Number.isNaN(x) ? 'n/a' : x.toFixed(2));
const f3 = (x) => (x === undefined || x === null || Number.isNaN(x) ? 'n/a' : x.toFixed(3));
const pct = (x) => (x === undefined || x === null ? 'n/a' : `${Math.round(x * 100)}%`);

function toMarkdown(rows, ffmpegVersion) {
  const lines = [];
  lines.push(`ffmpeg for every tool: \`${ffmpegVersion}\`; encoder libx264 veryfast crf 18; steady at default settings. Wall times: the median of ${rows[0]?.rounds ?? TIMING_ROUNDS} runs of the floor, of vidstab's two passes and of steady, taken in turn (deshake: one run); peak RSS: the largest of those runs.`, '');
  lines.push('| clip | frames | floor s | vidstab 2-pass s | deshake s | steady s | steady budget s | steady fps | steady / vidstab peak RSS MB |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    lines.push(`| ${r.clip} | ${r.frames} | ${f2(r.floorS)} | ${f2(r.vidstabS)} | ${f2(r.deshakeS)} | ${f2(r.steadyS)} ${r.steadyS <= r.budgetS ? '(ok)' : '(over)'} | ${f2(r.budgetS)} | ${(r.frames / r.steadyS).toFixed(1)} | ${Math.round(r.steadyRssMb)} / ${Math.round(r.vidstabRssMb)} |`);
  }
  lines.push('', 'Quality (input / vidstab / deshake / steady). Jitter: 31-frame HF residual, xy px; >= 1 Hz: px/frame; zoom: mean factor; fill: share of frames with an output corner > 1 px outside the input frame.', '');
  lines.push('| clip | ITF dB | HF jitter px | >= 1 Hz px/frame | steady / vidstab: HF jitter, >= 1 Hz | zoom vidstab / deshake / steady | fill vidstab / deshake / steady |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    const q = (o) => `${f2(o.input)} / ${f2(o.vidstab)} / ${f2(o.deshake)} / ${f2(o.steady)}`;
    lines.push(`| ${r.clip} | ${q(r.itf)} | ${q(r.jitter)} | ${f3(r.hz1.input)} / ${f3(r.hz1.vidstab)} / ${f3(r.hz1.deshake)} / ${f3(r.hz1.steady)} | ${f2(r.jitter.steady / r.jitter.vidstab)}, ${f2(r.hz1.steady / r.hz1.vidstab)} | ${f3(r.zoom.vidstab)} / ${f3(r.zoom.deshake)} / ${f3(r.zoom.steady)} | ${pct(r.fill.vidstab)} / ${pct(r.fill.deshake)} / ${pct(r.fill.steady)} |`);
  }
  lines.push('', 'What geometry allows (bench/jitter_bound.py): the least jitter any camera path can reach without fill at a static zoom, a certified lower bound computed from the input trajectory as metrics.py measures it, for each of the two measures (HF jitter, px; >= 1 Hz, px/frame). Each bound is for its measure alone: one path need not reach both. The target is half of vidstab\'s at a zoom no larger than vidstab\'s; where the bound at vidstab\'s zoom exceeds the target, no no-fill path meets it. steady\'s zoom ramps a little within a clip; its bound uses the mean zoom.', '');
  lines.push('| clip | measure | target (0.5 x vidstab) | bound at vidstab zoom | target reachable | bound at steady zoom | steady | steady / bound |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const r of rows) {
    const measures = [
      ['HF jitter px', r.jitter, r.bound, f2],
      ['>= 1 Hz px/frame', r.hz1, r.hz1Bound, f3],
    ];
    for (const [label, m, b, fmt] of measures) {
      const target = m.vidstab / 2;
      // The near-static control clip has no jitter target (its check: no motion added, test/stabilize/real-clips.test.ts).
      const reachable = r.clip === CONTROL_CLIP ? 'control clip, no target' : b.vidstabZoom <= target ? 'yes' : 'no';
      lines.push(`| ${r.clip} | ${label} | ${fmt(target)} | ${fmt(b.vidstabZoom)} | ${reachable} | ${fmt(b.steadyZoom)} | ${fmt(m.steady)} | ${b.steadyZoom > 1e-6 ? f2(m.steady / b.steadyZoom) : 'n/a (bound 0)'} |`);
    }
  }
  lines.push('', 'Both targets at once (jitter_bound.py --joint): whether one no-fill path at a static zoom meets the HF target and the >= 1 Hz target together. "yes" gives such a path\'s two values; "no" is certified (a weighted sum of the two measures whose lower bound over every no-fill path exceeds the same sum at the targets). The room steady\'s rotation leaves: each frame\'s room for the shift once steady\'s own correction has turned and scaled the crop window (from its motion file), so the last columns ask how far steady\'s shift is from the best one its own rotation allows (the bounds there are each measure\'s own, as in the table above).', '');
  lines.push('| clip | targets: HF px, >= 1 Hz px/frame | at vidstab\'s zoom | at steady\'s zoom | within the room steady\'s rotation leaves | steady | steady / bound within that room: HF, >= 1 Hz |');
  lines.push('| --- | --- | --- | --- | --- | --- | --- |');
  const verdict = (j) => (j.verdict === 'reachable' ? `yes (${f2(j.hf_xy_px)}, ${f3(j.hz1_xy_px)})` : j.verdict === 'unreachable' ? 'no' : 'undecided');
  for (const r of rows) {
    if (r.clip === CONTROL_CLIP) continue;
    const meets = r.jitter.steady <= r.jitter.vidstab / 2 && r.hz1.steady <= r.hz1.vidstab / 2;
    const ratio = (v, b) => (b > 1e-6 ? f2(v / b) : 'n/a (bound 0)');
    lines.push(
      `| ${r.clip} | ${f2(r.jitter.vidstab / 2)}, ${f3(r.hz1.vidstab / 2)} | ${verdict(r.joint.vidstabZoom)} | ${verdict(r.joint.steadyZoom)} | ${verdict(r.joint.givenRotation)} | ${f2(r.jitter.steady)}, ${f3(r.hz1.steady)}: ${meets ? 'meets both' : 'misses'} | ${ratio(r.jitter.steady, r.givenRotation.hf)}, ${ratio(r.hz1.steady, r.givenRotation.hz1)} |`,
    );
  }
  return lines.join('\n');
}

/** Runs the stabilization comparison. */
export async function runStabilizeBench(options = {}) {
  const ffmpeg = options.ffmpeg ?? '/usr/bin/ffmpeg';
  const outDir = options.out ?? path.join(ROOT, 'bench/out/stabilize');
  fs.mkdirSync(outDir, { recursive: true });
  const anchors = anchorsCopy(path.join(ROOT, 'bench/out'));
  const clips = [];
  const kinds = options.clips ?? ['synthetic', 'real'];
  if (kinds.includes('synthetic')) {
    const vdir = path.join(ROOT, 'bench/out/videos');
    if (!fs.existsSync(path.join(vdir, SYNTH[0]))) {
      execFileSync(PY, [path.join(anchors, 'make_shaky.py'), vdir, '--seed', String(options.seed ?? 0)], {
        cwd: anchors,
        stdio: 'inherit',
        // The anchors find the real material relative to their own folder unless told where it is.
        env: { ...process.env, STEADY_REAL_DATA: path.join(SHARED, 'data/real') },
      });
    }
    for (const s of SYNTH) clips.push(path.join(vdir, s));
  }
  if (kinds.includes('real')) for (const r of REAL) clips.push(path.join(SHARED, 'data/real/videos', r));
  const rows = [];
  for (const c of clips) {
    process.stderr.write(`stabilize bench: ${path.basename(c)}\n`);
    rows.push(benchClip(c, outDir, anchors, ffmpeg));
  }
  const version = execFileSync(ffmpeg, ['-version']).toString().split('\n')[0];
  return { markdown: toMarkdown(rows, version), rows };
}

if (import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const get = (k) => {
    const i = args.indexOf(k);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const r = await runStabilizeBench({
    ...(get('--clips') ? { clips: get('--clips').split(',') } : {}),
    ...(get('--ffmpeg') ? { ffmpeg: get('--ffmpeg') } : {}),
    ...(get('--out') ? { out: get('--out') } : {}),
    ...(get('--seed') ? { seed: Number(get('--seed')) } : {}),
  });
  console.log(r.markdown);
}
