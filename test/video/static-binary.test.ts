/**
 * Static ffmpeg / ffprobe builds (the npm packages' johnvansickle builds) crash in glibc's iconv on every
 * MPEG-TS input unless GCONV_PATH is set: static-binary.ts tells a static ELF by its program headers and
 * gives such a child a GCONV_PATH with no modules.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveFfprobe } from '../../src/video/binaries.js';
import { probeVideo } from '../../src/video/probe.js';
import { binaryEnv, isStaticElf } from '../../src/video/static-binary.js';
import { makeClip, makeTempDir, removeTempDir } from '../support/ffmpeg-fixtures.js';

let dir = '';
beforeAll(async () => {
  dir = await makeTempDir('steady-static-');
});
afterAll(async () => {
  await removeTempDir(dir);
});

/** A little-endian ELF64 file: the 64-byte header and one 56-byte program header per type given. */
function elf64(types: readonly number[]): Buffer {
  const b = Buffer.alloc(64 + 56 * types.length);
  b.writeUInt32BE(0x7f454c46, 0);
  b[4] = 2; // ELFCLASS64
  b[5] = 1; // little-endian
  b[6] = 1;
  b.writeUInt16LE(2, 16); // ET_EXEC
  b.writeUInt16LE(62, 18); // x86-64
  b.writeBigUInt64LE(64n, 32); // e_phoff
  b.writeUInt16LE(64, 52); // e_ehsize
  b.writeUInt16LE(56, 54); // e_phentsize
  b.writeUInt16LE(types.length, 56); // e_phnum
  for (let i = 0; i < types.length; i++) b.writeUInt32LE(types[i] as number, 64 + 56 * i);
  return b;
}

describe('isStaticElf / binaryEnv', () => {
  it('tells a static ELF (no PT_INTERP: no loader; static-pie too) from a dynamic one, and anything else is not static', async () => {
    const PT_LOAD = 1;
    const PT_DYNAMIC = 2;
    const PT_INTERP = 3;
    const PT_NOTE = 4;
    const files: [string, Buffer | string, boolean][] = [
      ['static', elf64([PT_LOAD, PT_LOAD, PT_NOTE]), true],
      ['dynamic', elf64([PT_LOAD, PT_INTERP, PT_LOAD, PT_DYNAMIC]), false],
      ['static-pie', elf64([PT_LOAD, PT_DYNAMIC]), true],
      ['script', '#!/bin/sh\necho ffmpeg\n', false],
      ['short', Buffer.from([0x7f, 0x45, 0x4c, 0x46]), false],
    ];
    for (const [name, bytes, isStatic] of files) {
      const p = join(dir, name);
      await writeFile(p, bytes);
      expect(isStaticElf(p)).toBe(isStatic);
      const env = binaryEnv(p, { PATH: '/usr/bin' });
      if (isStatic) {
        expect(env?.PATH).toBe('/usr/bin');
        expect(env?.GCONV_PATH).toBe(join(dir, 'no-gconv-modules'));
        expect(existsSync(env?.GCONV_PATH as string)).toBe(false);
      } else expect(env).toBeUndefined();
    }
    expect(isStaticElf(join(dir, 'missing'))).toBe(false);
    // A GCONV_PATH the user set is kept (the child inherits it).
    expect(binaryEnv(join(dir, 'static'), { GCONV_PATH: '/opt/gconv' })).toBeUndefined();
    // This Node is dynamically linked.
    expect(isStaticElf(process.execPath)).toBe(false);
  });

  it('an MPEG-TS clip probes and decodes with the ffprobe steady resolves (a static one crashed on it without GCONV_PATH)', async () => {
    const ts = await makeClip(join(dir, 'clip.ts'), { frames: 12, width: 64, height: 48, fps: 10 });
    const ffprobe = resolveFfprobe().path;
    if (isStaticElf(ffprobe)) {
      // The premise, for a static build: run bare, it dies on this file.
      const env = { ...process.env };
      delete env.GCONV_PATH;
      const bare = spawnSync(ffprobe, ['-v', 'error', '-show_streams', ts], { env });
      expect(bare.signal ?? bare.status).not.toBe(0);
    }
    const probe = await probeVideo(ts);
    expect(probe.format).toBe('mpegts');
    expect([probe.width, probe.height]).toEqual([64, 48]);
  });
});
