#!/usr/bin/env node
// An object crossing a shaky shot: how far it pulls the camera's motion with and without steady's moving-object
// masking (src/register/moving-objects.ts), against the clip's true motion.
//
// The clip: the synthetic shaky_photo_640x360 (made by the stabilize bench, with its truth file) with a
// 220x240 patch of other aerial content (a turned crop of the same photo) overlaid by ffmpeg, sliding left to
// right at 5 px per frame (in view in frames 1-171, about a quarter of the frame), re-encoded (libx264
// veryfast, crf 18). The frame analyzer at the stabilizer's default settings registers it twice in each
// reference mode, with movingObjects on (the default) and off; the error is the distance between where each frame-to-frame motion
// and the true one (W_prev of the truth file, frame k-1 -> k) move the frame's centre. Also the analyzer's
// time per frame, and `steady stabilize` on the clip: the true jitter its output keeps (the background's
// frame-to-frame motion through steady's corrections, high-pass filtered as the anchors' metrics do: minus its
// 31-frame moving average), against the same clip without the object.
//
// usage: npm run build && node bench/objects.mjs
// Exported: runObjectsBench() -> { markdown }.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const VIDEOS = path.join(ROOT, 'bench/out/videos');
const OUT = path.join(ROOT, 'bench/out/objects');
const CLIP = 'shaky_photo_640x360';
/** Object size and speed (px, px per frame) and the frames it is in view. */
const OBJECT_W = 220;
const OBJECT_H = 240;
const SPEED = 5;
/** The analyzer's reference modes (--reference). */
const REFERENCES = ['previous', 'first', 'keyframe'];
const inView = (k) => k >= 1 && -OBJECT_W + SPEED * k < 640;
const dist = (p) => pathToFileURL(path.join(ROOT, 'dist', p)).href;
const ffmpeg = process.env.FFMPEG_PATH ?? '/usr/bin/ffmpeg';

const flat = (m) => (Array.isArray(m[0]) ? m.flat() : Array.from(m));
/** Where m moves the centre of a 640x360 frame. */
function centreShift(m) {
  const [cx, cy] = [319.5, 179.5];
  const z = m[6] * cx + m[7] * cy + m[8];
  return [(m[0] * cx + m[1] * cy + m[2]) / z - cx, (m[3] * cx + m[4] * cy + m[5]) / z - cy];
}
const quantile = (v, q) => {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))];
};

/** The clip with the object, made once. */
function makeClip() {
  fs.mkdirSync(OUT, { recursive: true });
  const out = path.join(OUT, 'crossing_640x360.mp4');
  if (fs.existsSync(out)) return out;
  const src = path.join(VIDEOS, `${CLIP}.mp4`);
  const photo = path.join(VIDEOS, 'photo_source.png');
  const graph = `[1]crop=${2 * OBJECT_W}:${2 * OBJECT_H}:300:200,scale=${OBJECT_W}:${OBJECT_H},vflip,hflip,format=yuv420p[o];[0][o]overlay=x='-${OBJECT_W}+${SPEED}*n':y=60:eval=frame`;
  execFileSync(ffmpeg, ['-v', 'error', '-y', '-i', src, '-i', photo, '-filter_complex', graph, '-c:v', 'libx264', '-preset', 'veryfast', '-crf', '18', '-an', out]);
  return out;
}

/** Frame-to-frame motions of the analyzer at the stabilizer's defaults, and its ms per frame. */
async function analyse(file, movingObjects, reference) {
  const { createFrameAnalyzer } = await import(dist('stabilize/frame-analyzer.js'));
  const { downscaleYInto } = await import(dist('video/analysis.js'));
  const { openDecoder } = await import(dist('video/decoder.js'));
  const { stabilizerSettingsFor } = await import(dist('stabilize/stabilizer.js'));
  const { resolveStabilizeOptions } = await import(dist('stabilize/options.js'));
  const decoder = await openDecoder(file, { autorotate: false });
  let analyzer = null;
  const motions = [];
  let ms = 0;
  for await (const f of decoder.frames()) {
    analyzer ??= createFrameAnalyzer({ ...stabilizerSettingsFor(resolveStabilizeOptions({ reference }), decoder.width, decoder.height, null).analyzer, movingObjects }, downscaleYInto);
    const t = performance.now();
    const a = analyzer.analyze(f.index, f.y);
    ms += performance.now() - t;
    motions.push(Array.from(a.motion));
  }
  await decoder.close();
  return { motions, msPerFrame: ms / motions.length };
}

/** The true HF jitter (xy px) steady's output keeps over frames `keep`, from its motion file and the truth. */
async function outputJitter(motionFile, truth, keep) {
  const { invertInto, multiplyInto } = await import(dist('motion/mat3.js'));
  const frames = JSON.parse(fs.readFileSync(motionFile, 'utf8')).frames;
  const steps = [];
  const m = new Float64Array(9);
  const c1Inv = new Float64Array(9);
  for (let k = 1; k < frames.length; k++) {
    // The background's motion as the output shows it: correction[k]^-1 W_prev[k] correction[k-1].
    multiplyInto(m, Float64Array.from(flat(truth.W_prev[k])), Float64Array.from(flat(frames[k - 1].correction)));
    invertInto(c1Inv, Float64Array.from(flat(frames[k].correction)));
    steps.push(centreShift(multiplyInto(m, c1Inv, m)));
  }
  const path_ = [];
  let x = 0;
  let y = 0;
  for (const [dx, dy] of steps) path_.push([(x += dx), (y += dy)]);
  let sum = 0;
  let n = 0;
  for (let i = 0; i < path_.length; i++) {
    if (!keep(i + 1)) continue;
    const lo = Math.max(0, i - 15);
    const hi = Math.min(path_.length - 1, i + 15);
    let mx = 0;
    let my = 0;
    for (let j = lo; j <= hi; j++) {
      mx += path_[j][0];
      my += path_[j][1];
    }
    mx /= hi - lo + 1;
    my /= hi - lo + 1;
    sum += (path_[i][0] - mx) ** 2 + (path_[i][1] - my) ** 2;
    n++;
  }
  return Math.sqrt(sum / n);
}

export async function runObjectsBench() {
  const truthFile = path.join(VIDEOS, `${CLIP}.truth.json`);
  if (!fs.existsSync(truthFile)) throw new Error('objects bench: run the stabilize bench first (it makes bench/out/videos)');
  const truth = JSON.parse(fs.readFileSync(truthFile, 'utf8'));
  const clip = makeClip();
  const rows = [];
  for (const [reference, on] of REFERENCES.flatMap((r) => [[r, true], [r, false]])) {
    const { motions, msPerFrame } = await analyse(clip, on, reference);
    const errIn = [];
    const errOut = [];
    for (let k = 1; k < motions.length; k++) {
      const [ax, ay] = centreShift(motions[k]);
      const [tx, ty] = centreShift(flat(truth.W_prev[k]));
      (inView(k) ? errIn : errOut).push(Math.hypot(ax - tx, ay - ty));
    }
    rows.push(
      `| ${reference}${reference === 'previous' ? ' (default)' : ''} | ${on ? 'on (default)' : 'off'} | ${quantile(errIn, 0.5).toFixed(3)} | ${quantile(errIn, 0.9).toFixed(3)} | ${Math.max(...errIn).toFixed(3)} | ${quantile(errOut, 0.5).toFixed(3)} | ${msPerFrame.toFixed(2)} |`,
    );
  }
  // steady stabilize on the clip with the object and on the clip without it.
  const cli = path.join(ROOT, 'dist/cli/main.js');
  const jitter = [];
  for (const [name, file] of [
    ['with the object', clip],
    ['without it (the source clip)', path.join(VIDEOS, `${CLIP}.mp4`)],
  ]) {
    const motion = path.join(OUT, `${name.startsWith('with ') ? 'crossing' : 'plain'}.steady.json`);
    execFileSync(process.execPath, [cli, 'stabilize', file, '-o', path.join(OUT, 'out.mp4'), '--overwrite', '--quiet', '--transforms', motion]);
    jitter.push(`| ${name} | ${(await outputJitter(motion, truth, inView)).toFixed(2)} | ${(await outputJitter(motion, truth, (k) => !inView(k))).toFixed(2)} |`);
  }
  const markdown = [
    "`node bench/objects.mjs`: the synthetic shaky_photo_640x360 clip with a 220x240 patch of other aerial content sliding across it at 5 px per frame (in view in frames 1-171), re-encoded; the frame analyzer at the stabilizer's defaults with moving-object masking on and off, in each reference mode (the frame-to-frame motion of 'first' and 'keyframe' is the step between two registrations onto the reference). Error: distance between where the found and the true frame-to-frame motion move the frame's centre, px.",
    '',
    '| reference | moving objects | median error, object in view | 90th percentile | max | median error, after it left | analyzer ms/frame |',
    '| --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
    '',
    "`steady stabilize` at its defaults: the true high-frequency jitter its output keeps (the background's motion through steady's corrections minus its 31-frame moving average, xy px).",
    '',
    '| clip | object in view (frames 1-171) | the rest |',
    '| --- | --- | --- |',
    ...jitter,
  ].join('\n');
  return { markdown };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  console.log((await runObjectsBench()).markdown);
}
