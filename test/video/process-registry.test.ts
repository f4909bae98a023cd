import { describe, expect, it } from 'vitest';
import { killAllChildren, liveChildCount, liveChildren, runCapture, spawnTracked, TailBuffer, waitForExit } from '../../src/video/process-registry.js';

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
