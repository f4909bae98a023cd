import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuntimeError } from '../../src/errors.js';
import { ffmpegFeatures, loadFfmpegFeatures, passthroughArgs, resolveFfmpeg, resolveFfprobe } from '../../src/video/binaries.js';
import { formatDoctor, runDoctor } from '../../src/video/doctor.js';
import { makeTempDir, removeTempDir } from '../support/ffmpeg-fixtures.js';

/** A fake file system: the executables that exist. */
function fakeFs(existing: readonly string[]): (p: string) => boolean {
  const set = new Set(existing);
  return (p) => set.has(p);
}

function noPackages(name: string): unknown {
  throw new Error(`Cannot find module '${name}'`);
}

describe('resolveFfmpeg', () => {
  it('takes FFMPEG_PATH first, over every package and PATH', () => {
    const r = resolveFfmpeg({
      env: { FFMPEG_PATH: '/opt/ff/ffmpeg', PATH: '/usr/bin' },
      requireModule: (n) => (n === 'ffmpeg-static' ? '/pkg/static/ffmpeg' : { path: '/pkg/installer/ffmpeg' }),
      isExecutable: fakeFs(['/opt/ff/ffmpeg', '/pkg/static/ffmpeg', '/pkg/installer/ffmpeg', '/usr/bin/ffmpeg']),
    });
    expect(r).toEqual({ path: '/opt/ff/ffmpeg', source: 'env' });
  });

  it('fails with E_FFMPEG_NOT_FOUND when FFMPEG_PATH names no executable, and says how to fix it', () => {
    let error: unknown;
    try {
      resolveFfmpeg({ env: { FFMPEG_PATH: '/nope/ffmpeg', PATH: '/usr/bin' }, requireModule: noPackages, isExecutable: fakeFs(['/usr/bin/ffmpeg']) });
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(RuntimeError);
    expect((error as RuntimeError).code).toBe('E_FFMPEG_NOT_FOUND');
    expect((error as RuntimeError).message).toContain('FFMPEG_PATH');
    expect((error as RuntimeError).message).toContain('/nope/ffmpeg');
  });

  it('falls back ffmpeg-static -> @ffmpeg-installer/ffmpeg -> PATH, skipping paths that do not exist', () => {
    const requireModule = (n: string): unknown => {
      if (n === 'ffmpeg-static') return { default: '/pkg/static/ffmpeg' };
      if (n === '@ffmpeg-installer/ffmpeg') return { path: '/pkg/installer/ffmpeg', version: 'x' };
      throw new Error('missing');
    };
    const all = ['/pkg/static/ffmpeg', '/pkg/installer/ffmpeg', '/b/ffmpeg'];
    const env = { PATH: '/a:/b' };
    expect(resolveFfmpeg({ env, requireModule, isExecutable: fakeFs(all) })).toEqual({ path: '/pkg/static/ffmpeg', source: 'ffmpeg-static' });
    // ffmpeg-static installed but its download failed: the path does not exist.
    expect(resolveFfmpeg({ env, requireModule, isExecutable: fakeFs(all.slice(1)) })).toEqual({ path: '/pkg/installer/ffmpeg', source: '@ffmpeg-installer/ffmpeg' });
    // ffmpeg-static exporting null, installer throwing (its binary missing): PATH, first directory that has it.
    expect(
      resolveFfmpeg({ env, requireModule: (n) => (n === 'ffmpeg-static' ? null : noPackages(n)), isExecutable: fakeFs(['/b/ffmpeg']) }),
    ).toEqual({ path: '/b/ffmpeg', source: 'PATH' });
  });

  it('fails with E_FFMPEG_NOT_FOUND naming FFMPEG_PATH when nothing is found', () => {
    expect(() => resolveFfmpeg({ env: { PATH: '/a' }, requireModule: noPackages, isExecutable: fakeFs([]) })).toThrow(/set FFMPEG_PATH/);
  });

  it('resolves ffprobe: FFPROBE_PATH, then @ffprobe-installer/ffprobe, then PATH', () => {
    const requireModule = (n: string): unknown => (n === '@ffprobe-installer/ffprobe' ? { path: '/pkg/ffprobe' } : noPackages(n));
    expect(resolveFfprobe({ env: { FFPROBE_PATH: '/x/ffprobe' }, requireModule, isExecutable: fakeFs(['/x/ffprobe', '/pkg/ffprobe']) }).source).toBe('env');
    expect(resolveFfprobe({ env: { PATH: '/u' }, requireModule, isExecutable: fakeFs(['/pkg/ffprobe', '/u/ffprobe']) }).source).toBe('@ffprobe-installer/ffprobe');
    expect(resolveFfprobe({ env: { PATH: '/u' }, requireModule, isExecutable: fakeFs(['/u/ffprobe']) })).toEqual({ path: '/u/ffprobe', source: 'PATH' });
  });

  it('finds a real ffmpeg on this machine with the default rules, and caches it', () => {
    const a = resolveFfmpeg();
    expect(a.path.length).toBeGreaterThan(0);
    expect(resolveFfmpeg()).toBe(a);
  });
});

describe('doctor', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await makeTempDir();
  });
  afterAll(async () => {
    await removeTempDir(dir);
  });

  it('reports the binaries in use, their versions and the features steady needs', async () => {
    const report = await runDoctor();
    expect(report.ffmpeg.usable).toBe(true);
    expect(report.ffprobe.usable).toBe(true);
    expect(report.ffmpeg.path).toBe(resolveFfmpeg().path);
    expect(report.ffmpeg.version).toMatch(/^ffmpeg version /);
    expect(report.ffprobe.version).toMatch(/^ffprobe version /);
    // Both ffmpeg builds on this machine (bundled 2018 static, Debian 5.1) have libx264 and deshake.
    expect(report.ffmpeg.libx264).toBe(true);
    expect(report.ffmpeg.deshake).toBe(true);
    expect(report.ok).toBe(true);
    const text = formatDoctor(report);
    expect(text).toContain(report.ffmpeg.path as string);
    expect(text).toContain('libx264:  yes');
    expect(text).toContain('ok: steady can decode');
    // Node 20's V8 has WebAssembly with 128-bit SIMD, so the frame warp runs in the WebAssembly kernel.
    expect(report.warpKernel).toBe('wasm-simd');
    expect(text).toContain('frame warp: WebAssembly SIMD');
    expect(report.eccKernel).toBe('wasm-simd');
    expect(text).toContain('registration (ECC passes): WebAssembly SIMD');
    expect(report.blurKernel).toBe('wasm-simd');
    expect(text).toContain('pyramid blur: WebAssembly SIMD');
    expect(report.downscaleKernel).toBe('wasm-simd');
    expect(text).toContain('analysis downscale: WebAssembly SIMD');
  });

  it('tells how to fix a broken binary', () => {
    const text = formatDoctor({
      ffmpeg: { path: null, source: null, version: null, usable: false, error: 'not found', libx264: false, vidstab: false, deshake: false, fpsMode: false, displayRotation: false },
      ffprobe: { path: '/usr/bin/ffprobe', source: 'PATH', version: 'ffprobe version 5.1', usable: true },
      warpKernel: 'javascript',
      eccKernel: 'javascript',
      blurKernel: 'javascript',
      downscaleKernel: 'javascript',
      ok: false,
    });
    expect(text).toContain('NOT OK');
    expect(text).toContain('FFMPEG_PATH');
    expect(text).toContain('frame warp: JavaScript');
  });

  it('reads version-dependent options from ffmpeg -h (a fake ffmpeg printing known help)', async () => {
    const fake = join(dir, 'fake-ffmpeg');
    await writeFile(fake, '#!/bin/sh\necho "-fps_mode           set framerate mode"\necho "-vsync              video sync method"\n');
    await chmod(fake, 0o755);
    expect(ffmpegFeatures(fake)).toEqual({ fpsMode: true, displayRotation: false });
    // Frames pass through with -fps_mode where it exists, with the older -vsync elsewhere.
    expect(passthroughArgs(ffmpegFeatures(fake))).toEqual(['-fps_mode', 'passthrough']);
    expect(passthroughArgs({ fpsMode: false, displayRotation: false })).toEqual(['-vsync', 'passthrough']);
  });

  it('reads the same options without blocking (loadFfmpegFeatures), and the synchronous call then reuses the answer', async () => {
    const fake = join(dir, 'fake-ffmpeg-async');
    const count = join(dir, 'fake-ffmpeg-async.runs');
    // Each run appends a line to `count`, so the test sees how often the binary ran.
    await writeFile(fake, `#!/bin/sh\necho run >> "${count}"\necho "-display_rotation   set rotation"\n`);
    await chmod(fake, 0o755);
    const [a, b] = await Promise.all([loadFfmpegFeatures(fake), loadFfmpegFeatures(fake)]);
    expect(a).toEqual({ fpsMode: false, displayRotation: true });
    expect(b).toBe(a);
    expect(ffmpegFeatures(fake)).toBe(a);
    expect((await readFile(count, 'utf8')).trim().split('\n')).toHaveLength(1);
  });
});
