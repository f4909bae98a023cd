#!/usr/bin/env node
// Makes the bundled samples from the MIT-licensed car dashboard sequence (see samples/README.md):
//   car_shaky_480x360.mp4  the 102 frames at 30 fps, shrunk to 480x360, with a known seeded hand shake
//                          added (AR(1) jitter, RMS 4 px and 0.6 degrees) on top of the car's own motion;
//   car_shaky_480x360.shake.json  the added shake per frame (for checking, not needed to run steady);
//   car_a.jpg / car_b.jpg  a still pair: frame 100, and frame 100 turned 6 degrees, shifted and darkened.
// usage: npm run build && node samples/make-samples.mjs [SHARED_DIR]
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const shared = path.resolve(process.argv[2] ?? process.env.STEADY_SHARED ?? path.join(ROOT, '../shared'));
const seq = path.join(shared, 'data/real/sequences/car_dashboard_gyro');
const { resolveFfmpeg } = await import(path.join(ROOT, 'dist/video/binaries.js'));
const { warpPlaneU8Into, chromaMatrixInto } = await import(path.join(ROOT, 'dist/image/warp.js'));
const ffmpeg = resolveFfmpeg().path;
const W = 480;
const H = 360;
const N = 102;

// Seeded generator (Park-Miller) and Gaussian draws (Box-Muller).
let seed = 20261126;
const uniform = () => (seed = (seed * 48271) % 2147483647) / 2147483647;
const gauss = () => Math.sqrt(-2 * Math.log(uniform() + 1e-12)) * Math.cos(2 * Math.PI * uniform());

// Decode the sequence at 480x360, yuv420p.
const dec = spawnSync(ffmpeg, ['-v', 'error', '-framerate', '30', '-start_number', '100', '-i', path.join(seq, 'RE_frame-%d.jpg'), '-vf', `scale=${W}:${H}:flags=area`, '-pix_fmt', 'yuv420p', '-f', 'rawvideo', 'pipe:1'], { maxBuffer: 1 << 30 });
if (dec.status !== 0) throw new Error(`decode failed: ${dec.stderr}`);
const frameBytes = W * H * 1.5;
const raw = dec.stdout;
if (raw.length !== frameBytes * N) throw new Error(`expected ${N} frames, got ${raw.length / frameBytes}`);

// AR(1) shake (coefficient 0.7), scaled to the stated RMS.
const k = Math.sqrt(1 - 0.7 * 0.7);
let sx = 0;
let sy = 0;
let sa = 0;
const shake = [];
for (let i = 0; i < N; i++) {
  sx = 0.7 * sx + k * 4 * gauss();
  sy = 0.7 * sy + k * 4 * gauss();
  sa = 0.7 * sa + k * 0.6 * gauss();
  shake.push({ dx: sx, dy: sy, angleDeg: sa });
}
const out = Buffer.alloc(frameBytes * N);
const cx = (W - 1) / 2;
const cy = (H - 1) / 2;
const M = new Float64Array(9);
const C = new Float64Array(9);
for (let i = 0; i < N; i++) {
  // Output pixel -> source pixel: rotate about the centre, shift, and zoom 8% in so no border shows.
  const { dx, dy, angleDeg } = shake[i];
  const a = (angleDeg * Math.PI) / 180;
  const s = 1 / 1.08;
  const c = s * Math.cos(a);
  const n = s * Math.sin(a);
  M.set([c, -n, cx + dx - (c * cx - n * cy), n, c, cy + dy - (n * cx + c * cy), 0, 0, 1]);
  const src = raw.subarray(i * frameBytes, (i + 1) * frameBytes);
  const dst = out.subarray(i * frameBytes, (i + 1) * frameBytes);
  const cw = W / 2;
  const ch = H / 2;
  warpPlaneU8Into(dst.subarray(0, W * H), W, H, src.subarray(0, W * H), W, H, M, { border: 'replicate' });
  chromaMatrixInto(C, M);
  warpPlaneU8Into(dst.subarray(W * H, W * H + cw * ch), cw, ch, src.subarray(W * H, W * H + cw * ch), cw, ch, C, { border: 'replicate' });
  warpPlaneU8Into(dst.subarray(W * H + cw * ch), cw, ch, src.subarray(W * H + cw * ch), cw, ch, C, { border: 'replicate' });
}
const clip = path.join(HERE, 'car_shaky_480x360.mp4');
const enc = spawnSync(ffmpeg, ['-v', 'error', '-y', '-f', 'rawvideo', '-pix_fmt', 'yuv420p', '-s', `${W}x${H}`, '-framerate', '30', '-i', 'pipe:0', '-c:v', 'libx264', '-preset', 'slow', '-crf', '23', '-pix_fmt', 'yuv420p', '-movflags', '+faststart', clip], { input: out, maxBuffer: 1 << 30 });
if (enc.status !== 0) throw new Error(`encode failed: ${enc.stderr}`);
fs.writeFileSync(path.join(HERE, 'car_shaky_480x360.shake.json'), `${JSON.stringify({ note: 'added shake per frame: output pixel -> source pixel is a rotation by angleDeg about the centre, a shift by (dx, dy) px and a 1.08 zoom', frames: shake.map((f) => ({ dx: +f.dx.toFixed(4), dy: +f.dy.toFixed(4), angleDeg: +f.angleDeg.toFixed(5) })) })}\n`);

// Still pair.
const first = path.join(seq, 'RE_frame-100.jpg');
const run = (a) => {
  const r = spawnSync(ffmpeg, ['-v', 'error', '-y', ...a]);
  if (r.status !== 0) throw new Error(String(r.stderr));
};
run(['-i', first, '-vf', 'scale=640:480:flags=area', '-q:v', '3', path.join(HERE, 'car_a.jpg')]);
run(['-i', first, '-vf', `scale=640:480:flags=area,rotate=6*PI/180:fillcolor=black,crop=600:450:28:12,scale=640:480,eq=brightness=-0.06:contrast=0.9`, '-q:v', '3', path.join(HERE, 'car_b.jpg')]);
console.log('wrote samples/car_shaky_480x360.mp4, car_shaky_480x360.shake.json, car_a.jpg, car_b.jpg');
