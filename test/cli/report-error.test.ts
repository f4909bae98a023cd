/** How a failure becomes one line on stderr and an exit code (src/cli/run.ts reportError). */
import { describe, expect, it } from 'vitest';
import { reportError } from '../../src/cli/run.js';
import { RuntimeError } from '../../src/errors.js';

function report(err: unknown, aborted?: 'SIGINT' | 'SIGTERM'): { code: number; line: string } {
  let line = '';
  const controller = new AbortController();
  if (aborted !== undefined) controller.abort(aborted);
  const write = (t: string): boolean => {
    line += t;
    return true;
  };
  const code = reportError(err, { stderr: { write } as unknown as NodeJS.WritableStream, signal: controller.signal });
  return { code, line };
}

describe('reportError', () => {
  it('a steady error: its code, its exit status, one line', () => {
    expect(report(new RuntimeError('E_ENCODE_FAILED', 'ffmpeg died\nbadly'))).toEqual({ code: 1, line: 'steady: E_ENCODE_FAILED: ffmpeg died | badly\n' });
  });

  it('after a signal, any failure is the interruption (ffmpeg stopped by it): 130 / 143', () => {
    expect(report(new RuntimeError('E_ENCODE_FAILED', 'No space left on device'), 'SIGINT')).toEqual({ code: 130, line: 'steady: E_INTERRUPTED: interrupted by SIGINT; then E_ENCODE_FAILED: No space left on device\n' });
    expect(report(new Error('anything'), 'SIGTERM')).toEqual({ code: 143, line: 'steady: E_INTERRUPTED: interrupted by SIGTERM\n' });
  });

  it('a buffer the memory limit refused is E_MEMORY, not a bug', () => {
    const r = report(new RangeError('Array buffer allocation failed'));
    expect(r.code).toBe(1);
    expect(r.line).toMatch(/^steady: E_MEMORY: out of memory \(Array buffer allocation failed\); free memory or raise the limit/);
    expect(report(new TypeError('x is undefined')).line).toMatch(/^steady: E_INTERNAL: x is undefined \(this is a bug/);
  });
});
