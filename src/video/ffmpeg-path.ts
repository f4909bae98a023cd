/**
 * How a local file's path is given to ffmpeg and ffprobe. They read a name whose first part, before any
 * '/', is followed by ':' as a protocol (`2024-01-01T12:30:00.mp4` is protocol `2024-01-01T12`,
 * `pipe:1.mp4` reads a pipe), so such a relative name is given as `./name`. Absolute paths, names without
 * that shape, standard input ('-') and anything that is not a file on disk (a URL, a device, a lavfi graph,
 * an image-sequence pattern) are passed as they are.
 */
import { existsSync } from 'node:fs';
import { isAbsolute } from 'node:path';

/** True when ffmpeg would take `p` for a protocol name (its first part, before any '/', holds ':'). */
export function looksLikeProtocol(p: string): boolean {
  return !isAbsolute(p) && /^[^/\\]*:/.test(p);
}

/** An output file's path, safe to give ffmpeg (see the module comment). */
export function ffmpegOutputPath(p: string): string {
  return p !== '-' && looksLikeProtocol(p) ? `./${p}` : p;
}

/** An input's name, safe to give ffmpeg: `./name` for an existing file whose name looks like a protocol. */
export function ffmpegInputPath(p: string): string {
  return p !== '-' && looksLikeProtocol(p) && existsSync(p) ? `./${p}` : p;
}
