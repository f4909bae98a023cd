#!/usr/bin/env node
// Registration benchmark: steady's register() against OpenCV's findTransformECC (native, through
// Debian's python3-opencv) and opencv.js, on the still 640x480 cases of ../shared/anchors/gen_cases.py.
//
// usage: npm run build && node bench/register.mjs [--seeds 0,1,2] [--n 8] [--repeat 3] [--models a,b]
//        [--no-opencv] [--no-opencvjs] [--no-strict] [--no-cpu] [--out FILE.json] [--keep DIR]
//
// For each seed it generates (or reuses, under the OS temp folder) the cases, runs steady in-process
// (each PNG decoded once by ffmpeg; only the registration is timed: the first call "cold", then the
// minimum of --repeat calls, both through the one-shot register(); a reused createRegistrar is timed too),
// then OpenCV native with its quick criteria (50 iterations, eps 1e-3) and strict ones (100, 1e-6), and
// opencv.js (quick), all in the same sitting, and prints one markdown table per model x level. On a
// busy machine wall times swing; the CPU-time columns (steady's process CPU time against OpenCV's
// with one thread) give a ratio that does not.
// Accuracy = mean distance (px) of the 4 image corners mapped by the estimate and by the truth.
// Exported: runRegisterBench(options) -> { markdown, summary } (used by bench/run.mjs).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(HERE, '..');
const SHARED = path.resolve(ROOT, process.env.STEADY_SHARED ?? '../shared');
const ANCHORS = path.join(SHARED, 'anchors');
const PYTHON = '/usr/bin/python3';
const FFMPEG = path.join(ROOT, 'node_modules/@ffmpeg-installer/linux-x64/ffmpeg');
const MODELS = ['translation', 'euclidean', 'affine', 'homography'];
const LEVELS = ['small', 'medium', 'large'];
/** Untimed registrations per model before the timed ones (JIT warm-up). */
const WARMUP_CALLS = 10;

const median = (v) => {
  if (v.length === 0) return Number.NaN;
  const s = [...v].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
};
const mean = (v) => v.reduce((a, b) => a + b, 0) / v.length;

function cornerError(a, b, w, h) {
  let s = 0;
  for (const [x, y] of [[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]]) {
    const za = a[6] * x + a[7] * y + a[8];
    const zb = b[6] * x + b[7] * y + b[8];
    s += Math.hypot((a[0] * x + a[1] * y + a[2]) / za - (b[0] * x + b[1] * y + b[2]) / zb, (a[3] * x + a[4] * y + a[5]) / za - (b[3] * x + b[4] * y + b[5]) / zb);
  }
  return s / 4;
}

function decodeGray(file) {
  const probe = fs.readFileSync(file);
  // PNG IHDR: width and height, big-endian, at bytes 16..23.
  const width = probe.readUInt32BE(16);
  const height = probe.readUInt32BE(20);
  const raw = execFileSync(FFMPEG, ['-v', 'error', '-i', file, '-f', 'rawvideo', '-pix_fmt', 'gray', '-'], { maxBuffer: 1 << 28 });
  const data = new Float32Array(width * height);
  for (let i = 0; i < data.length; i++) data[i] = raw[i];
  return { width, height, data };
}

/** Copies the anchors to a scratch folder (the shared one may be read-only) and makes opencv.js runnable there. */
function scratchAnchors(dir) {
  if (!fs.existsSync(path.join(dir, 'gen_cases.py'))) {
    fs.mkdirSync(dir, { recursive: true });
    fs.cpSync(ANCHORS, dir, { recursive: true });
    for (const f of fs.readdirSync(dir)) fs.chmodSync(path.join(dir, f), 0o755);
  }
  // opencv.js from this project's dev dependencies; pngjs replaced by a small ffmpeg-backed reader.
  const nm = path.join(dir, 'node_modules');
  fs.mkdirSync(path.join(nm, '@techstark'), { recursive: true });
  const cvLink = path.join(nm, '@techstark', 'opencv-js');
  if (!fs.existsSync(cvLink)) fs.symlinkSync(path.join(ROOT, 'node_modules/@techstark/opencv-js'), cvLink, 'dir');
  const png = path.join(nm, 'pngjs');
  fs.mkdirSync(png, { recursive: true });
  fs.writeFileSync(path.join(png, 'package.json'), JSON.stringify({ name: 'pngjs', version: '0.0.0-ffmpeg-shim', main: 'index.js' }));
  fs.writeFileSync(
    path.join(png, 'index.js'),
    `// Minimal stand-in for pngjs's PNG.sync.read (RGBA), decoding with ffmpeg.
const { execFileSync } = require('node:child_process');
module.exports.PNG = { sync: { read(buf) {
  const width = buf.readUInt32BE(16), height = buf.readUInt32BE(20);
  const data = execFileSync(${JSON.stringify(FFMPEG)}, ['-v', 'error', '-f', 'png_pipe', '-i', '-', '-f', 'rawvideo', '-pix_fmt', 'rgba', '-'], { input: buf, maxBuffer: 1 << 28 });
  return { width, height, data };
} } };
`,
  );
  return dir;
}

function ensureCases(anchors, seed, n, keep) {
  const out = path.join(keep, `seed${seed}-n${n}`);
  const idx = path.join(out, 'cases', 'index.json');
  if (!fs.existsSync(idx)) {
    // The real photographs of the shared data folder are sources too, as in the anchors' own runs.
    const real = path.join(SHARED, 'data', 'real');
    execFileSync(PYTHON, [path.join(anchors, 'gen_cases.py'), out, '--n', String(n), '--seed', String(seed), '--real', real], {
      cwd: anchors,
      stdio: ['ignore', 'ignore', 'inherit'],
      env: { ...process.env, STEADY_REAL_DATA: real },
    });
  }
  return path.join(out, 'cases');
}

async function loadSteady() {
  const dist = path.join(ROOT, 'dist');
  try {
    const index = await import(pathToFileURL(path.join(dist, 'index.js')).href);
    if (typeof index.register === 'function' && typeof index.createRegistrar === 'function') return index;
  } catch {
    // fall through to the module itself
  }
  return import(pathToFileURL(path.join(dist, 'register', 'register.js')).href);
}

function runSteady(steady, casesDir, repeat, models) {
  const idx = JSON.parse(fs.readFileSync(path.join(casesDir, 'index.json'), 'utf8'));
  const registrars = new Map();
  const cases = [];
  // JIT warm-up: V8 compiles the kernels to optimised code after some calls, so the first cases of a
  // run would otherwise time the interpreter (a native library has no such phase). A few untimed
  // registrations per model on that model's first case come first; the 'cold' column then times the
  // first call on each new pair.
  for (const model of models) {
    const e = idx.cases.find((c) => c.model === model);
    if (!e) continue;
    const d = path.join(casesDir, e.dir);
    const f = decodeGray(path.join(d, 'fixed.png'));
    const m = decodeGray(path.join(d, 'moving.png'));
    for (let k = 0; k < WARMUP_CALLS; k++) steady.register(f, m, { model });
  }
  for (const e of idx.cases) {
    if (!models.includes(e.model)) continue;
    const d = path.join(casesDir, e.dir);
    const truth = JSON.parse(fs.readFileSync(path.join(d, 'truth.json'), 'utf8'));
    const fixed = decodeGray(path.join(d, 'fixed.png'));
    const moving = decodeGray(path.join(d, 'moving.png'));
    const t0 = performance.now();
    let r = steady.register(fixed, moving, { model: e.model });
    const coldMs = performance.now() - t0;
    let warmMs = Number.POSITIVE_INFINITY;
    let cpuMs = Number.POSITIVE_INFINITY;
    for (let k = 0; k < repeat; k++) {
      const u = process.cpuUsage();
      const t = performance.now();
      r = steady.register(fixed, moving, { model: e.model });
      warmMs = Math.min(warmMs, performance.now() - t);
      const du = process.cpuUsage(u);
      cpuMs = Math.min(cpuMs, (du.user + du.system) / 1000);
    }
    const key = `${e.model} ${fixed.width}x${fixed.height}`;
    if (!registrars.has(key)) registrars.set(key, steady.createRegistrar(fixed.width, fixed.height, { model: e.model }));
    const reg = registrars.get(key);
    let reusedMs = Number.POSITIVE_INFINITY;
    for (let k = 0; k < Math.max(1, repeat); k++) {
      const t = performance.now();
      reg.register(fixed, moving);
      reusedMs = Math.min(reusedMs, performance.now() - t);
    }
    const W = truth.W.flat();
    cases.push({
      id: e.id,
      model: e.model,
      level: e.level,
      success: r.ok,
      corner_err: r.ok ? cornerError(Array.from(r.matrix), W, truth.width, truth.height) : null,
      cc: r.cc,
      ms: warmMs,
      cpu_ms: cpuMs,
      cold_ms: coldMs,
      reused_ms: reusedMs,
      iterations: r.iterations,
      start: r.ok ? r.start : null,
      reason: r.ok ? null : r.reason,
      W: r.ok ? Array.from(r.matrix) : null,
    });
  }
  return cases;
}

function runOpenCv(anchors, casesDir, outFile, iters, eps, repeat) {
  execFileSync(PYTHON, [path.join(anchors, 'ecc_opencv.py'), casesDir, '--out', outFile, '--iters', String(iters), '--eps', String(eps), '--repeat', String(repeat)], {
    cwd: anchors,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return JSON.parse(fs.readFileSync(outFile, 'utf8')).cases;
}

/**
 * OpenCV's CPU time per registration (one thread, quick criteria): process_time is hardly affected by
 * other work on the machine, unlike wall time, so it gives a ratio that survives a busy machine.
 */
function runOpenCvCpu(anchors, casesDir, outFile, repeat) {
  const script = path.join(anchors, 'steady_cpu_time.py');
  fs.writeFileSync(
    script,
    `import json, os, sys, time
import cv2
import bench_common as bc
cv2.setNumThreads(1)
cases_dir, out, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
idx = json.load(open(os.path.join(cases_dir, 'index.json')))
res = []
for e in idx['cases']:
    d = os.path.join(cases_dir, e['dir'])
    f = cv2.imread(os.path.join(d, 'fixed.png'), cv2.IMREAD_GRAYSCALE)
    m = cv2.imread(os.path.join(d, 'moving.png'), cv2.IMREAD_GRAYSCALE)
    best = float('inf')
    for _ in range(repeat):
        t = time.process_time()
        try:
            bc.ecc_pyramid(f, m, e['model'], 4, 50, 1e-3, 5)
        except cv2.error:
            pass
        best = min(best, time.process_time() - t)
    res.append({'id': e['id'], 'model': e['model'], 'level': e['level'], 'ms': best * 1e3})
json.dump({'cases': res}, open(out, 'w'))
`,
  );
  execFileSync(PYTHON, [script, casesDir, outFile, String(repeat)], { cwd: anchors, stdio: ['ignore', 'ignore', 'inherit'] });
  return JSON.parse(fs.readFileSync(outFile, 'utf8')).cases;
}

function runOpenCvJs(anchors, casesDir, outFile, repeat) {
  execFileSync(process.execPath, [path.join(anchors, 'ecc_opencvjs.mjs'), casesDir, '--out', outFile, '--iters', '50', '--eps', '1e-3', '--repeat', String(repeat)], {
    cwd: anchors,
    stdio: ['ignore', 'ignore', 'inherit'],
  });
  return JSON.parse(fs.readFileSync(outFile, 'utf8')).cases;
}

function cell(cases, model, level) {
  const cs = cases.filter((c) => c.model === model && c.level === level);
  if (cs.length === 0) return null;
  const err = cs.map((c) => (c.success && c.corner_err !== null ? c.corner_err : Number.POSITIVE_INFINITY));
  return {
    n: cs.length,
    success: mean(cs.map((c) => (c.success ? 1 : 0))),
    lt05: mean(err.map((e) => (e < 0.5 ? 1 : 0))),
    medErr: median(err),
    medMs: median(cs.map((c) => c.ms)),
  };
}

function ratio(a, b, model, level) {
  const byId = new Map(b.filter((c) => c.model === model && (level === null || c.level === level)).map((c) => [c.id, c]));
  const r = [];
  for (const c of a) {
    if (c.model !== model || (level !== null && c.level !== level)) continue;
    const o = byId.get(c.id);
    if (o && o.ms > 0) r.push(c.ms / o.ms);
  }
  return median(r);
}

const fmt = (x, d = 3) => (x === null || x === undefined || Number.isNaN(x) ? '-' : Number.isFinite(x) ? x.toFixed(d) : 'inf');

/**
 * Runs the benchmark. Options: seeds (number[]), n (cases per model x level), repeat, models,
 * opencv / opencvjs / strict (booleans), keep (folder for generated cases), out (JSON file).
 * Returns { markdown, summary }.
 */
export async function runRegisterBench(options = {}) {
  const seeds = options.seeds ?? [0, 1, 2];
  const n = options.n ?? 8;
  const repeat = options.repeat ?? 3;
  const models = options.models ?? MODELS;
  const keep = options.keep ?? path.join(os.tmpdir(), 'steady-bench-register');
  const anchors = scratchAnchors(path.join(keep, 'anchors'));
  const steady = await loadSteady();
  const all = { steady: [], cvFast: [], cvStrict: [], cvjs: [], cvCpu: [] };
  for (const seed of seeds) {
    const casesDir = ensureCases(anchors, seed, n, keep);
    const tag = (c) => ({ ...c, id: `s${seed}:${c.id}` });
    const keepModels = (cs) => cs.filter((c) => models.includes(c.model)).map(tag);
    all.steady.push(...runSteady(steady, casesDir, repeat, models).map(tag));
    if (options.opencv !== false) {
      all.cvFast.push(...keepModels(runOpenCv(anchors, casesDir, path.join(keep, `cv_fast_${seed}.json`), 50, 1e-3, repeat)));
      if (options.strict !== false) all.cvStrict.push(...keepModels(runOpenCv(anchors, casesDir, path.join(keep, `cv_strict_${seed}.json`), 100, 1e-6, repeat)));
      if (options.cpu !== false) all.cvCpu.push(...keepModels(runOpenCvCpu(anchors, casesDir, path.join(keep, `cv_cpu_${seed}.json`), repeat)));
    }
    if (options.opencvjs !== false) all.cvjs.push(...keepModels(runOpenCvJs(anchors, casesDir, path.join(keep, `cvjs_${seed}.json`), repeat)));
  }
  const summary = [];
  const lines = [];
  lines.push(`Registration, 640x480, seeds ${seeds.join(',')}, ${n} cases per model x level per seed; steady = register() one-shot after ${WARMUP_CALLS} untimed calls per model (JIT warm-up), warm minimum of ${repeat}.`);
  lines.push('Accuracy: success / share < 0.5 px / median mean-corner error (px, failures count as inf). Time: median ms per registration.');
  lines.push('');
  lines.push(
    '| model | level | n | steady succ | steady <0.5px | steady med err | OpenCV <0.5px | OpenCV med err | steady ms | steady cold ms | steady reused ms | OpenCV 50/1e-3 ms | OpenCV 100/1e-6 ms | opencv.js ms | steady / OpenCV 50/1e-3 | steady CPU ms | OpenCV 1-thread CPU ms | CPU ratio |',
  );
  lines.push('| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |');
  for (const model of models) {
    for (const level of LEVELS) {
      const s = cell(all.steady, model, level);
      if (s === null) continue;
      const f = cell(all.cvFast, model, level);
      const st = cell(all.cvStrict, model, level);
      const js = cell(all.cvjs, model, level);
      const cpu = cell(all.cvCpu, model, level);
      const cs = all.steady.filter((c) => c.model === model && c.level === level);
      const steadyCpu = median(cs.map((c) => c.cpu_ms));
      const cpuSteadyCases = all.steady.map((c) => ({ ...c, ms: c.cpu_ms }));
      const row = {
        model,
        level,
        n: s.n,
        steady: { ...s, coldMs: median(cs.map((c) => c.cold_ms)), reusedMs: median(cs.map((c) => c.reused_ms)) },
        opencvFast: f,
        opencvStrict: st,
        opencvJs: js,
        ratioToOpenCvFast: f ? ratio(all.steady, all.cvFast, model, level) : Number.NaN,
        cpu: { steadyMs: steadyCpu, openCvOneThreadMs: cpu ? cpu.medMs : Number.NaN, ratio: cpu ? ratio(cpuSteadyCases, all.cvCpu, model, level) : Number.NaN },
      };
      summary.push(row);
      lines.push(
        `| ${model} | ${level} | ${s.n} | ${fmt(s.success, 2)} | ${fmt(s.lt05, 2)} | ${fmt(s.medErr)} | ${fmt(f?.lt05, 2)} | ${fmt(f?.medErr)} | ${fmt(s.medMs, 1)} | ${fmt(row.steady.coldMs, 1)} | ${fmt(row.steady.reusedMs, 1)} | ${fmt(f?.medMs, 1)} | ${fmt(st?.medMs, 1)} | ${fmt(js?.medMs, 1)} | ${fmt(row.ratioToOpenCvFast, 2)} | ${fmt(steadyCpu, 1)} | ${fmt(cpu?.medMs, 1)} | ${fmt(row.cpu.ratio, 2)} |`,
      );
    }
  }
  const allRatio = all.cvFast.length ? median(all.steady.map((c) => c.ms / (all.cvFast.find((o) => o.id === c.id)?.ms ?? Number.NaN)).filter((x) => Number.isFinite(x))) : Number.NaN;
  const sum = (cs) => cs.reduce((a, c) => a + c.ms, 0);
  lines.push('');
  lines.push(
    `All cases: steady / OpenCV 50/1e-3 time ratio, median of per-case ratios ${fmt(allRatio, 2)}, summed times ${fmt(all.cvFast.length ? sum(all.steady) / sum(all.cvFast) : Number.NaN, 2)}; robust starts used: ${all.steady.filter((c) => c.start === 'phase' || c.start === 'log-polar').length} of ${all.steady.length}.`,
  );
  if (all.cvCpu.length) {
    const byId = new Map(all.cvCpu.map((c) => [c.id, c.ms]));
    const r = all.steady.map((c) => c.cpu_ms / (byId.get(c.id) ?? Number.NaN)).filter((x) => Number.isFinite(x));
    lines.push(
      `CPU time (process CPU, hardly affected by other work on the machine): steady / OpenCV with 1 thread, median of per-case ratios ${fmt(median(r), 2)}. OpenCV's 2 threads were 1.14x faster than 1 thread in the anchors' quiet run (RESULTS.md), so a ratio below 0.57 here means under half of OpenCV's 2-thread time.`,
    );
  }
  const markdown = lines.join('\n');
  if (options.out) fs.writeFileSync(options.out, JSON.stringify({ meta: { seeds, n, repeat, node: process.version, cpus: os.cpus().length }, summary, cases: all }, null, 1));
  return { markdown, summary };
}

function parseArgs(argv) {
  const o = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const next = () => argv[++i];
    if (a === '--seeds') o.seeds = next().split(',').map(Number);
    else if (a === '--n') o.n = Number(next());
    else if (a === '--repeat') o.repeat = Number(next());
    else if (a === '--models') o.models = next().split(',');
    else if (a === '--no-opencv') o.opencv = false;
    else if (a === '--no-opencvjs') o.opencvjs = false;
    else if (a === '--no-strict') o.strict = false;
    else if (a === '--no-cpu') o.cpu = false;
    else if (a === '--out') o.out = next();
    else if (a === '--keep') o.keep = next();
    else throw new Error(`unknown argument ${a}; usage: node bench/register.mjs [--seeds 0,1,2] [--n 8] [--repeat 3] [--models a,b] [--no-opencv] [--no-opencvjs] [--no-strict] [--no-cpu] [--out FILE] [--keep DIR]`);
  }
  return o;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { markdown } = await runRegisterBench(parseArgs(process.argv.slice(2)));
  console.log(markdown);
}
