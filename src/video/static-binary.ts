/**
 * The environment to run an ffmpeg or ffprobe executable in.
 *
 * The static Linux builds that npm packages ship (@ffmpeg-installer, @ffprobe-installer, ffmpeg-static:
 * johnvansickle.com builds) link glibc statically. Its iconv still loads conversion modules at run time,
 * and in a static binary that crashes (SIGSEGV): every MPEG-TS input (.ts, .mts, .m2ts) makes ffprobe
 * convert its service names and dies, so the file looked like no video at all. With GCONV_PATH naming a
 * folder that holds no modules, iconv_open fails cleanly and ffmpeg keeps the bytes as they are (nothing
 * steady reads depends on them). Dynamically linked builds (Debian's) and a GCONV_PATH the user set are
 * left alone.
 */
import { closeSync, openSync, readSync } from 'node:fs';
import { dirname, join } from 'node:path';

const staticCache = new Map<string, boolean>();

/**
 * Whether `path` is a statically linked ELF executable (static-pie included): one with no PT_INTERP program
 * header (no dynamic loader). False for anything unreadable or not ELF (a script, a Mach-O or PE binary).
 */
export function isStaticElf(path: string): boolean {
  const cached = staticCache.get(path);
  if (cached !== undefined) return cached;
  let result = false;
  let fd: number | null = null;
  try {
    fd = openSync(path, 'r');
    const head = Buffer.alloc(64);
    if (readSync(fd, head, 0, 64, 0) === 64 && head.readUInt32BE(0) === 0x7f454c46) {
      const is64 = head[4] === 2;
      const little = head[5] === 1;
      const u16 = (b: Buffer, o: number): number => (little ? b.readUInt16LE(o) : b.readUInt16BE(o));
      const u32 = (b: Buffer, o: number): number => (little ? b.readUInt32LE(o) : b.readUInt32BE(o));
      const phoff = is64 ? Number(little ? head.readBigUInt64LE(32) : head.readBigUInt64BE(32)) : u32(head, 28);
      const phentsize = u16(head, is64 ? 54 : 42);
      const phnum = u16(head, is64 ? 56 : 44);
      if (phnum > 0 && phnum < 4096 && phentsize >= 4) {
        const table = Buffer.alloc(phentsize * phnum);
        if (readSync(fd, table, 0, table.length, phoff) === table.length) {
          // A static-pie executable has a PT_DYNAMIC (it relocates itself) but no loader either.
          const PT_INTERP = 3;
          let interp = false;
          for (let i = 0; i < phnum; i++) if (u32(table, i * phentsize) === PT_INTERP) interp = true;
          result = !interp;
        }
      }
    }
  } catch {
    result = false;
  } finally {
    if (fd !== null) closeSync(fd);
  }
  staticCache.set(path, result);
  return result;
}

/**
 * The environment for a child running `command`: undefined (inherit this process's) unless it is a
 * static ELF and GCONV_PATH is unset, then this process's with GCONV_PATH naming a folder that does not
 * exist next to the executable (see the file comment).
 */
export function binaryEnv(command: string, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv | undefined {
  if (env.GCONV_PATH !== undefined || !isStaticElf(command)) return undefined;
  return { ...env, GCONV_PATH: join(dirname(command), 'no-gconv-modules') };
}
