import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeTempDir, removeTempDir } from '../support/ffmpeg-fixtures.js';
import { killAllChildren, liveChildCount, liveChildren, runCapture, spawnTracked, TailBuffer, waitForExit, whenAborted } from '../../src/video/process-registry.js';

describe('process registry', () => {
  it('tracks a child until it exits and kills every child on request', async () => {
    const before = liveChildCount();
    const a = spawnTracked('sleep', ['30']);
    const b = spawnTracked('sleep', ['30']);
    expect(liveChildCount()).toBe(before + 2);
    expect(liveChildren()).toContain(a);
    killAllChildren();
    const [ea, eb] = await Promise.all([waitForExit(a), waitForExit(b)]);
    expect([ea.signal, eb.signal]).toEqual(['SIGKILL', 'SIGKILL']);
    expect(liveChildCount()).toBe(before);
  });

  it('forgets a child that could not be started and reports the spawn error', async () => {
    const before = liveChildCount();
    const r = await runCapture('/nonexistent/ffmpeg-binary', ['-version']);
    expect(r.spawnError?.message).toMatch(/ENOENT/);
    expect(liveChildCount()).toBe(before);
  });

  it('runCapture collects stdout, the tail of stderr and feeds stdin; a timeout kills the child', async () => {
    const r = await runCapture('sh', ['-c', 'cat; echo oops >&2; exit 3'], { input: Buffer.from('hello') });
    expect([r.code, r.stdout.toString(), r.stderr]).toEqual([3, 'hello', 'oops']);
    const t = await runCapture('sleep', ['30'], { timeoutMs: 50 });
    expect(t.signal).toBe('SIGKILL');
  });

  it('TailBuffer keeps only the last characters', () => {
    const t = new TailBuffer(5);
    for (const s of ['abc', 'defgh', 'ijklmnopq']) t.push(s);
    expect(t.toString()).toBe('mnopq');
  });
});

/** True when no process `pid` runs any more (gone, or a zombie waiting to be reaped). */
function isGone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    return /^State:\s+Z/m.test(readFileSync(`/proc/${pid}/status`, 'utf8'));
  } catch {
    return true;
  }
}

describe('process registry in a separate Node process', () => {
  let dir = '';
  beforeAll(async () => {
    dir = await makeTempDir();
    await mkdir(join(dir, 'out'));
    // These modules import nothing but each other and node: transpiled one by one they run as plain
    // JavaScript, in the same layout.
    await mkdir(join(dir, 'src', 'video'), { recursive: true });
    await writeFile(join(dir, 'package.json'), '{ "type": "module" }');
    for (const file of ['errors.ts', 'video/process-registry.ts', 'video/static-binary.ts', 'video/temp-output.ts']) {
      const source = await readFile(new URL(`../../src/${file}`, import.meta.url), 'utf8');
      const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ES2022, target: ts.ScriptTarget.ES2022 } }).outputText;
      await writeFile(join(dir, 'src', file.replace(/\.ts$/, '.js')), js);
    }
    await writeFile(
      join(dir, 'child.js'),
      [
        "import { writeFileSync } from 'node:fs';",
        "import { handleSignalsInApplication, spawnTracked } from './src/video/process-registry.js';",
        "if (process.argv[2] === 'app') handleSignalsInApplication();",
        "import { createTempOutput } from './src/video/temp-output.js';",
        "const temp = createTempOutput(process.argv[3]);",
        "writeFileSync(temp.tempPath, 'partial');",
        "const c = spawnTracked('sleep', ['30']);",
        "c.on('spawn', () => {",
        '  console.log(c.pid);',
        "  if (process.argv[2] === 'signal') process.kill(process.pid, 'SIGTERM');",
        "  else if (process.argv[2] === 'handled') { process.on('SIGTERM', () => process.exit(7)); process.kill(process.pid, 'SIGTERM'); }",
        "  else if (process.argv[2] === 'app') {",
        "    process.on('SIGTERM', () => { console.log(c.exitCode === null && c.signalCode === null ? 'alive' : 'killed'); process.exit(8); });",
        "    process.kill(process.pid, 'SIGTERM');",
        '  }',
        '  else process.exit(0);',
        '});',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await removeTempDir(dir);
  });

  /** Runs the child; it leaves a temporary output for `<mode>.mp4` and a `sleep` child, then ends. */
  function runChild(mode: string): { pid: number; said: string; status: number | null; signal: string | null; leftovers: string[] } {
    const out = join(dir, 'out', `${mode}.mp4`);
    const r = spawnSync(process.execPath, [join(dir, 'child.js'), mode, out], { encoding: 'utf8', timeout: 20_000 });
    const [pid, ...rest] = r.stdout.trim().split('\n');
    return { pid: Number(pid), said: rest.join(' '), status: r.status, signal: r.signal, leftovers: readdirSync(join(dir, 'out')).filter((n) => n.includes(mode)) };
  }

  it('kills its children and removes temporary outputs when the process exits', () => {
    const r = runChild('exit');
    expect(r.status).toBe(0);
    expect(r.leftovers).toEqual([]);
    expect(r.pid).toBeGreaterThan(0);
    expect(isGone(r.pid)).toBe(true);
  });

  it('kills its children, removes temporary outputs on SIGTERM, and still dies of the signal when nobody else handles it', () => {
    const r = runChild('signal');
    expect(r.signal).toBe('SIGTERM');
    expect(r.leftovers).toEqual([]);
    expect(isGone(r.pid)).toBe(true);
  });

  it('kills its children on SIGTERM and leaves the exit to the application handler', () => {
    const r = runChild('handled');
    expect(r.status).toBe(7);
    expect(r.leftovers).toEqual([]);
    expect(isGone(r.pid)).toBe(true);
  });

  it('with handleSignalsInApplication leaves children running on SIGTERM for the application, and kills them at exit', () => {
    const r = runChild('app');
    expect(r.said).toBe('alive');
    expect(r.status).toBe(8);
    expect(r.leftovers).toEqual([]);
    expect(isGone(r.pid)).toBe(true);
  });
});

describe('whenAborted', () => {
  it('calls back at once for a signal already aborted, once when it aborts later, never without a signal', () => {
    const calls: string[] = [];
    const early = new AbortController();
    early.abort();
    whenAborted(early.signal, () => calls.push('early'));
    expect(calls).toEqual(['early']);
    const late = new AbortController();
    whenAborted(late.signal, () => calls.push('late'));
    expect(calls).toEqual(['early']);
    late.abort();
    late.abort();
    expect(calls).toEqual(['early', 'late']);
    whenAborted(undefined, () => calls.push('none'));
    expect(calls).toEqual(['early', 'late']);
  });
});
