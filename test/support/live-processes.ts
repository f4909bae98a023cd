/** Finds this process's preview encoder ffmpeg children through /proc (Linux), for tests of clean shutdown. */
import { readdirSync, readFileSync } from 'node:fs';

/** Pids of live (not zombie) child processes of this process whose command line contains `needle`. */
export function childProcessesMatching(needle: string): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // Fields after the command name (which may hold spaces) start after the last ')'.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const state = fields[0];
      const ppid = Number(fields[1]);
      if (ppid !== process.pid || state === 'Z') continue;
      const cmdline = readFileSync(`/proc/${name}/cmdline`, 'utf8').replace(/\0/g, ' ');
      if (cmdline.includes(needle)) out.push(Number(name));
    } catch {
      // The process ended while we looked.
    }
  }
  return out;
}

/** Pids of this process's preview encoders (ffmpeg writing image2pipe). */
export function previewEncoderPids(): number[] {
  return childProcessesMatching('image2pipe');
}
