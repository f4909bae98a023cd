// `steady stabilize --preview [--preview-port N]`: the file job is shown live in the browser page while it
// encodes. Checked from outside, as a person would: the URL line on stderr, the page served on the asked
// port while the job runs, the job's output unchanged, and nothing listening afterwards.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ffmpeg, makeTempDir, removeTempDir } from '../support/ffmpeg-fixtures.js';
import { CLI, REPO_ROOT } from '../support/cli.js';

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Runs stabilize with --preview; resolves with the page body fetched while the job ran, and the exit. */
function runWithPreview(args: string[]): Promise<{ url: string; page: string; status: number; code: number | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let fetched: Promise<{ url: string; page: string; status: number }> | null = null;
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      const m = /preview:\s+(http:\/\/\S+)/.exec(stderr);
      if (m && fetched === null) {
        const url = m[1] as string;
        fetched = fetch(url).then(async (r) => ({ url, page: await r.text(), status: r.status }));
      }
    });
    child.stdout.resume();
    child.on('error', reject);
    child.on('close', async (code) => {
      try {
        if (fetched === null) throw new Error(`no preview URL on stderr: ${stderr}`);
        const f = await fetched;
        resolve({ ...f, code, stderr });
      } catch (err) {
        reject(err);
      }
    });
  });
}

describe('steady stabilize --preview', () => {
  let dir = '';
  let clip = '';
  beforeAll(async () => {
    dir = await makeTempDir('steady-preview-');
    clip = join(dir, 'in.mp4');
    await ffmpeg(['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=30', '-frames:v', '150', '-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p', clip]);
  }, 60_000);
  afterAll(async () => {
    await removeTempDir(dir);
  });

  it('serves the viewer page on the asked port while the job runs, then stops it; the output is written', async () => {
    const port = await freePort();
    const r = await runWithPreview(['stabilize', clip, '-o', join(dir, 'out.mp4'), '--preview', '--preview-port', String(port), '--quiet']);
    expect(r.code).toBe(0);
    expect(r.url).toBe(`http://127.0.0.1:${port}/`);
    expect(r.status).toBe(200);
    expect(r.page).toMatch(/<canvas/);
    // The job has ended: nothing listens on the port any more.
    await expect(fetch(r.url)).rejects.toThrow();
  }, 120_000);

  it('without --preview-port picks a free port itself', async () => {
    const r = await runWithPreview(['stabilize', clip, '-o', join(dir, 'out2.mp4'), '--preview', '--quiet']);
    expect(r.code).toBe(0);
    expect(r.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect(r.status).toBe(200);
  }, 120_000);
});
