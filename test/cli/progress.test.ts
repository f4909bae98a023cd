/**
 * The progress line fits the terminal: the bar narrows, then goes, before the figures are cut.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgressLine } from '../../src/cli/progress.js';

function lastLine(columns: number): string {
  const stream = Object.assign(new PassThrough(), { isTTY: true, columns });
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString()));
  const p = createProgressLine(stream, false);
  p.update(1234, 5678, 12.7, 'stabilizing');
  stream.end();
  // The last redraw: after the final carriage return, before the erase-to-end-of-line.
  return text.split('\r').pop()?.replace('\x1b[K', '') ?? '';
}

describe('progress line', () => {
  it('on an 80-column terminal the figures, time left included, fit whole', () => {
    const line = lastLine(80);
    expect(line.length).toBeLessThanOrEqual(79);
    expect(line).toMatch(/1234\/5678 frames {2}97\.2 fps 22% {2}left 0:\d\d$/);
  });

  it('on a wide terminal the bar is full width (24); on a very narrow one it goes, the figures first', () => {
    expect(lastLine(200)).toMatch(/\[#{5}-{19}\] 1234\/5678/);
    const narrow = lastLine(60);
    expect(narrow).not.toContain('[');
    expect(narrow.startsWith('stabilizing 1234/5678 frames')).toBe(true);
  });

  it('a terminal that reports no width (0) cuts nothing', () => {
    expect(lastLine(0)).toMatch(/^stabilizing \[#{5}-{19}\] 1234\/5678 frames {2}97\.2 fps 22% {2}left 0:\d\d$/);
  });

  it('prints nothing when quiet or when standard error is not a terminal', () => {
    for (const [tty, quiet] of [
      [false, false],
      [true, true],
    ] as const) {
      const stream = Object.assign(new PassThrough(), { isTTY: tty, columns: 80 });
      let n = 0;
      stream.on('data', (d: Buffer) => (n += d.length));
      const p = createProgressLine(stream, quiet);
      p.update(1, 2, 1, 'stabilizing');
      p.done();
      stream.end();
      expect(n).toBe(0);
    }
  });
});
