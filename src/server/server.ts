/**
 * The live server: one HTTP server that serves the viewer (web/) and upgrades `/ws` to a WebSocket
 * (the `ws` package) whose viewers a LiveSession feeds.
 *
 * Safety by default: it binds 127.0.0.1; a WebSocket upgrade is refused with 403 when the page that opens
 * it comes from another site (Origin header not the server's own host and not in `allowedOrigins`), with
 * 503 past `maxViewers`, with 404 on any path but `/ws`; messages from viewers larger than
 * `maxPayloadBytes` close that connection (code 1009).
 */
import { realpathSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { type RawData, type WebSocket, WebSocketServer } from 'ws';
import { UsageError } from '../errors.js';
import type { LiveSession } from './live-session.js';
import { serveStatic } from './static.js';

/** Default TCP port. */
export const DEFAULT_PORT = 8080;
/** Default interface: this machine only. */
export const DEFAULT_HOST = '127.0.0.1';
/** Default most viewers at once. */
export const DEFAULT_MAX_VIEWERS = 8;
/** Default largest message a viewer may send, bytes (controls are a few dozen bytes). */
export const DEFAULT_MAX_PAYLOAD_BYTES = 4096;
/** The WebSocket endpoint's path. */
export const WS_PATH = '/ws';
/** How long close() lets viewers answer the close handshake, ms, before cutting them off. */
const CLOSE_GRACE_MS = 500;

/** The viewer's folder in the package (web/ beside src/ and dist/). */
export function defaultWebRoot(): string {
  return fileURLToPath(new URL('../../web/', import.meta.url));
}

/** Options of the live server. */
export interface LiveServerOptions {
  /** Interface to bind. @default DEFAULT_HOST */
  readonly host?: string;
  /** TCP port; 0 picks a free one. @default DEFAULT_PORT */
  readonly port?: number;
  /** Folder whose files are served. @default defaultWebRoot() */
  readonly webRoot?: string;
  /** Most viewers at once; one more is refused with 503. @default DEFAULT_MAX_VIEWERS */
  readonly maxViewers?: number;
  /**
   * Origins (scheme://host[:port]) whose pages may open the WebSocket, besides pages served by this
   * server and clients that send no Origin (not browsers). `*` allows any. @default []
   */
  readonly allowedOrigins?: readonly string[];
  /** Largest message a viewer may send, bytes. @default DEFAULT_MAX_PAYLOAD_BYTES */
  readonly maxPayloadBytes?: number;
}

/** A running live server. */
export interface LiveServer {
  /** The page URL, with the actual port. */
  readonly httpUrl: string;
  /** The WebSocket URL, with the actual port. */
  readonly wsUrl: string;
  readonly port: number;
  /** Closes viewer connections (code 1001) and stops listening. */
  close(): Promise<void>;
}

/** Normalises an origin for comparison: lower case, no trailing slash. */
function normaliseOrigin(origin: string): string {
  return origin.trim().toLowerCase().replace(/\/+$/, '');
}

/** Whether a browser page at `origin` may open the WebSocket of a server reached as `host`. */
export function isOriginAllowed(origin: string | undefined, host: string | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined) return true;
  const o = normaliseOrigin(origin);
  if (allowed.includes('*')) return true;
  if (allowed.some((a) => normaliseOrigin(a) === o)) return true;
  if (host === undefined) return false;
  try {
    return new URL(o).host === host.toLowerCase();
  } catch {
    return false;
  }
}

/** Writes a plain HTTP refusal on an upgrade socket and closes it. */
function refuseUpgrade(socket: Duplex, status: number, statusText: string, message: string): void {
  const body = `${message}\n`;
  socket.end(
    `HTTP/1.1 ${status} ${statusText}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

function toBytes(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}

/** Host part of a URL for an address: wildcard binds are reached through loopback; IPv6 in brackets. */
function urlHost(address: string): string {
  if (address === '0.0.0.0' || address === '') return '127.0.0.1';
  if (address === '::') return '[::1]';
  return address.includes(':') ? `[${address}]` : address;
}

/**
 * Starts listening and returns once the port is bound.
 * @throws UsageError E_LISTEN (exit 2) when the address cannot be bound (port in use, no such interface).
 */
export async function startLiveServer(session: LiveSession, options: LiveServerOptions = {}): Promise<LiveServer> {
  const host = options.host ?? DEFAULT_HOST;
  const port = options.port ?? DEFAULT_PORT;
  const maxViewers = options.maxViewers ?? DEFAULT_MAX_VIEWERS;
  const allowed = options.allowedOrigins ?? [];
  const webRoot = realpathSync(options.webRoot ?? defaultWebRoot());
  const sockets = new Set<WebSocket>();
  let upgrading = 0;
  let closing = false;

  const http: Server = createServer((req, res) => {
    serveStatic(req, res, webRoot).catch(() => res.destroy());
  });
  const wss = new WebSocketServer({ noServer: true, maxPayload: options.maxPayloadBytes ?? DEFAULT_MAX_PAYLOAD_BYTES, clientTracking: false });

  http.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    const url = req.url ?? '';
    const path = url.split('?')[0];
    if (closing) {
      refuseUpgrade(socket, 503, 'Service Unavailable', 'The server is shutting down');
      return;
    }
    if (path !== WS_PATH) {
      refuseUpgrade(socket, 404, 'Not Found', `No WebSocket endpoint at ${path}; connect to ${WS_PATH}`);
      return;
    }
    if (!isOriginAllowed(req.headers.origin, req.headers.host, allowed)) {
      refuseUpgrade(socket, 403, 'Forbidden', `Origin ${req.headers.origin} is not allowed; start the server with --origin ${req.headers.origin} to allow it`);
      return;
    }
    if (sockets.size + upgrading >= maxViewers) {
      refuseUpgrade(socket, 503, 'Service Unavailable', `Too many viewers: at most ${maxViewers} at once (--max-viewers); try again later`);
      return;
    }
    upgrading++;
    wss.handleUpgrade(req, socket, head, (ws) => {
      upgrading--;
      if (closing) {
        ws.close(1001, 'server shutting down');
        return;
      }
      sockets.add(ws);
      const viewer = session.addViewer(ws);
      ws.on('message', (data, isBinary) => session.handleMessage(viewer, toBytes(data), isBinary));
      ws.on('error', () => {
        // A protocol violation (e.g. a message over maxPayload): ws closes the connection itself.
      });
      ws.on('close', () => {
        sockets.delete(ws);
        session.removeViewer(viewer);
      });
    });
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      // Exit 2: the remedy is another --port or --host.
      reject(
        new UsageError(
          'E_LISTEN',
          `Could not listen on ${host}:${port}: ${err.code ?? err.message}${err.code === 'EADDRINUSE' ? '; choose another --port (0 picks a free one)' : ''}`,
        ),
      );
    };
    http.once('error', onError);
    http.listen(port, host, () => {
      http.off('error', onError);
      resolve();
    });
  });
  const address = http.address();
  const actualPort = typeof address === 'object' && address !== null ? address.port : port;
  const h = urlHost(typeof address === 'object' && address !== null ? address.address : host);

  let closed: Promise<void> | null = null;
  return {
    httpUrl: `http://${h}:${actualPort}/`,
    wsUrl: `ws://${h}:${actualPort}${WS_PATH}`,
    port: actualPort,
    close(): Promise<void> {
      closed ??= (async () => {
        closing = true;
        for (const ws of sockets) ws.close(1001, 'server shutting down');
        const deadline = Date.now() + CLOSE_GRACE_MS;
        while (sockets.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        for (const ws of sockets) ws.terminate();
        wss.close();
        await new Promise<void>((resolve) => {
          http.close(() => resolve());
          http.closeAllConnections();
        });
      })();
      return closed;
    },
  };
}
