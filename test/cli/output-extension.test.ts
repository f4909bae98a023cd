import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkOutputContainer, VIDEO_OUTPUT_EXTENSIONS } from '../../src/video/encoder.js';
import { runCli } from '../support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'steady-ext-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('output container checked before any work', () => {
  it('accepts the known video extensions, standard output and an explicit format', () => {
    for (const ext of VIDEO_OUTPUT_EXTENSIONS) expect(() => checkOutputContainer(`out.${ext}`, undefined)).not.toThrow();
    expect(() => checkOutputContainer('OUT.MP4', undefined)).not.toThrow();
    expect(() => checkOutputContainer('-', undefined)).not.toThrow();
    expect(() => checkOutputContainer('out.bin', 'matroska')).not.toThrow();
  });

  it('refuses an unknown extension and a missing one with E_OUTPUT_FORMAT', () => {
    expect(() => checkOutputContainer('out.foo', undefined)).toThrow(/E_OUTPUT_FORMAT|Unknown video extension \.foo/);
    expect(() => checkOutputContainer('out', undefined)).toThrow(/give it an extension/);
    // Known to ffmpeg, but taking only broadcast sizes or rates: refused with the reason.
    expect(() => checkOutputContainer('out.dv', undefined)).toThrow(/720x576/);
    expect(() => checkOutputContainer('out.MXF', undefined)).toThrow(/broadcast/);
  });

  it('stabilize -o out.foo exits 2 at once with one line and leaves nothing behind', async () => {
    const r = await runCli(['stabilize', 'samples/car_shaky_480x360.mp4', '-o', join(dir, 'out.foo')]);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('E_OUTPUT_FORMAT');
    expect(existsSync(join(dir, 'out.foo'))).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('stabilize --compare side.txt is refused the same way', async () => {
    const r = await runCli(['stabilize', 'samples/car_shaky_480x360.mp4', '-o', join(dir, 'out.mp4'), '--compare', join(dir, 'side.txt')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('.txt');
    expect(readdirSync(dir)).toEqual([]);
  });
});
