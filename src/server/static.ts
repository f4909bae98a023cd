/**
 * Serves the viewer's files from one folder (web/), and nothing outside it.
 *
 * The request path is checked before the file system is touched: it must be an origin-form path
 * (`/...`, not `//host/...` or `http://...`), percent-decoding must succeed, and the decoded path may not
 * hold NUL, backslashes, `.` or `..` segments, or empty segments. The resolved file must then lie inside
 * the root after symlinks are resolved. Folders are never listed (`/` serves index.html). Only GET and
 * HEAD are answered; refusals are plain-text 400/403/404/405 responses.
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, sep } from 'node:path';

/** Content types of the files the viewer is made of. */
export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.ico': 'image/x-icon',
  '.txt': 'text/plain; charset=utf-8',
};

/** Headers sent with every static response. */
const COMMON_HEADERS = {
  'X-Content-Type-Options': 'nosniff',
  'Cache-Control': 'no-cache',
  'Referrer-Policy': 'no-referrer',
} as const;

/** Content-Security-Policy of the viewer page: its own scripts, its own WebSocket, blob images. */
const PAGE_CSP = "default-src 'self'; img-src 'self' blob: data:; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/** The outcome of checking a request path: a relative file path under the root, or a refusal. */
export type StaticPathResult = { readonly ok: true; readonly relative: string } | { readonly ok: false; readonly status: 400 | 403; readonly reason: string };

/**
 * Checks a request target (`req.url`) and turns it into a path relative to the served folder, or refuses
 * it. Pure: touches no file. `/` maps to `index.html`.
 */
export function resolveStaticPath(requestTarget: string): StaticPathResult {
  const q = requestTarget.search(/[?#]/);
  const rawPath = q >= 0 ? requestTarget.slice(0, q) : requestTarget;
  if (!rawPath.startsWith('/') || rawPath.startsWith('//')) {
    return { ok: false, status: 400, reason: 'Expected a path starting with a single /' };
  }
  let decoded: string;
  try {
    decoded = decodeURIComponent(rawPath);
  } catch {
    return { ok: false, status: 400, reason: 'The path is not valid percent-encoding' };
  }
  if (decoded.includes('\0') || decoded.includes('\\')) {
    return { ok: false, status: 403, reason: 'Forbidden characters in path' };
  }
  if (decoded === '/') return { ok: true, relative: 'index.html' };
  const segments = decoded.slice(1).split('/');
  for (const s of segments) {
    if (s === '' || s === '.' || s === '..') return { ok: false, status: 403, reason: 'Path outside the served folder' };
  }
  return { ok: true, relative: segments.join('/') };
}

function refuse(res: ServerResponse, status: number, text: string): void {
  const body = `${status} ${text}\n`;
  res.writeHead(status, { ...COMMON_HEADERS, 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(body) });
  res.end(body);
}

/**
 * Answers one HTTP request from the files under `root` (an absolute, real path: resolve symlinks before
 * passing it).
 */
export async function serveStatic(req: IncomingMessage, res: ServerResponse, root: string): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    res.setHeader('Allow', 'GET, HEAD');
    refuse(res, 405, 'Method Not Allowed');
    return;
  }
  const checked = resolveStaticPath(req.url ?? '/');
  if (!checked.ok) {
    refuse(res, checked.status, checked.reason);
    return;
  }
  const type = CONTENT_TYPES[extname(checked.relative).toLowerCase()];
  if (type === undefined) {
    refuse(res, 404, 'Not Found');
    return;
  }
  let file: string;
  try {
    file = await realpath(join(root, checked.relative));
  } catch {
    refuse(res, 404, 'Not Found');
    return;
  }
  // A symlink inside the folder may point outside it.
  if (!file.startsWith(root + sep)) {
    refuse(res, 403, 'Path outside the served folder');
    return;
  }
  let size: number;
  try {
    const st = await stat(file);
    if (!st.isFile()) {
      refuse(res, 404, 'Not Found');
      return;
    }
    size = st.size;
  } catch {
    refuse(res, 404, 'Not Found');
    return;
  }
  const headers: Record<string, string | number> = { ...COMMON_HEADERS, 'Content-Type': type, 'Content-Length': size };
  if (type.startsWith('text/html')) headers['Content-Security-Policy'] = PAGE_CSP;
  res.writeHead(200, headers);
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  const stream = createReadStream(file);
  stream.on('error', () => res.destroy());
  stream.pipe(res);
}
