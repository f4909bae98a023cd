import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveStaticPath, serveStatic } from '../../src/server/static.js';

/** Sends one raw HTTP/1.1 request (the target exactly as given, no client-side normalisation). */
function rawRequest(port: number, method: string, target: string): Promise<{ status: number; headers: string; body: string }> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write(`${method} ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`);
    });
    let data = '';
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      data += d;
    });
    socket.on('error', reject);
    socket.on('end', () => {
      const [head = '', body = ''] = data.split('\r\n\r\n');
      const status = Number(head.split(' ')[1]);
      resolve({ status, headers: head.toLowerCase(), body });
    });
  });
}

describe('static path checks (pure)', () => {
  it('maps / to index.html and keeps plain paths', () => {
    expect(resolveStaticPath('/')).toEqual({ ok: true, relative: 'index.html' });
    expect(resolveStaticPath('/viewer.js?v=3')).toEqual({ ok: true, relative: 'viewer.js' });
    expect(resolveStaticPath('/a%20b.css#x')).toEqual({ ok: true, relative: 'a b.css' });
  });

  it('refuses traversal, absolute and malformed paths', () => {
    const refused: [string, number][] = [
      ['/../package.json', 403],
      ['/web/../../package.json', 403],
      ['/%2e%2e/package.json', 403],
      ['/..%2fpackage.json', 403],
      ['/%2E%2E%2F%2E%2E%2Fetc%2Fpasswd', 403],
      ['/.%2e/x.js', 403],
      ['/./index.html', 403],
      ['/..\\package.json', 403],
      ['/%5c..%5cpackage.json', 403],
      ['/index.html%00.js', 403],
      ['/a//b.js', 403],
      ['//etc/passwd', 400],
      ['http://127.0.0.1/etc/passwd', 400],
      ['/etc/passwd'.replace('/', ''), 400],
      ['/%E0%A4%A', 400],
      ['*', 400],
    ];
    for (const [target, status] of refused) {
      const r = resolveStaticPath(target);
      expect(r.ok, target).toBe(false);
      if (!r.ok) expect(r.status, target).toBe(status);
    }
  });
});

describe('static server over HTTP', () => {
  let root: string;
  let outside: string;
  let server: Server;
  let port: number;

  beforeAll(async () => {
    const base = realpathSync(mkdtempSync(join(tmpdir(), 'steady-static-')));
    root = join(base, 'web');
    outside = join(base, 'secret');
    mkdirSync(root);
    mkdirSync(outside);
    mkdirSync(join(root, 'sub'));
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>t</title>');
    writeFileSync(join(root, 'viewer.js'), 'export const x = 1;\n');
    writeFileSync(join(root, 'style.css'), 'body{}');
    writeFileSync(join(root, 'sub', 'deep.js'), '1');
    writeFileSync(join(root, 'notes.xyz'), 'unknown type');
    writeFileSync(join(outside, 'secret.js'), 'SECRET');
    writeFileSync(join(base, 'package.json'), '{"secret":true}');
    symlinkSync(join(outside, 'secret.js'), join(root, 'link.js'));
    server = createServer((req, res) => void serveStatic(req, res, root));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const addr = server.address();
    port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  });

  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    rmSync(join(root, '..'), { recursive: true, force: true });
  });

  it('serves files with their content types and safety headers', async () => {
    const index = await rawRequest(port, 'GET', '/');
    expect(index.status).toBe(200);
    expect(index.headers).toContain('content-type: text/html; charset=utf-8');
    expect(index.headers).toContain('x-content-type-options: nosniff');
    expect(index.headers).toContain("content-security-policy: default-src 'self'");
    expect(index.body).toBe('<!doctype html><title>t</title>');
    const js = await rawRequest(port, 'GET', '/viewer.js');
    expect(js.headers).toContain('content-type: text/javascript; charset=utf-8');
    const css = await rawRequest(port, 'GET', '/style.css');
    expect(css.headers).toContain('content-type: text/css; charset=utf-8');
    const deep = await rawRequest(port, 'GET', '/sub/deep.js');
    expect(deep.status).toBe(200);
    const head = await rawRequest(port, 'HEAD', '/viewer.js');
    expect(head.status).toBe(200);
    expect(head.body).toBe('');
  });

  it('refuses traversal, symlinks out of the folder, listings, unknown types and other methods', async () => {
    const cases: [string, string, number][] = [
      ['GET', '/../package.json', 403],
      ['GET', '/%2e%2e/package.json', 403],
      ['GET', '/..%2fpackage.json', 403],
      ['GET', '/sub/../../package.json', 403],
      ['GET', '//etc/passwd', 400],
      ['GET', 'http://127.0.0.1/../package.json', 400],
      ['GET', '/link.js', 403],
      ['GET', '/sub', 404],
      ['GET', '/sub/', 403],
      ['GET', '/missing.js', 404],
      ['GET', '/notes.xyz', 404],
      ['POST', '/index.html', 405],
      ['DELETE', '/viewer.js', 405],
    ];
    for (const [method, target, status] of cases) {
      const r = await rawRequest(port, method, target);
      expect(r.status, `${method} ${target}`).toBe(status);
      expect(r.body, `${method} ${target}`).not.toContain('SECRET');
      expect(r.body, `${method} ${target}`).not.toContain('"secret"');
    }
  });
});
