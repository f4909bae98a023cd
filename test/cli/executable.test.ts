import { execFile } from 'node:child_process';
import { accessSync, constants, readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { CLI, REPO_ROOT } from '../support/cli.js';

/**
 * The README runs `npx --no-install steady ...`, which executes the bin file through its shebang: the
 * build must leave it executable, and the shebang (with its Node flags) must start it.
 */
describe('the steady executable', () => {
  it('is executable after the build and runs through its shebang', async () => {
    expect(() => accessSync(CLI, constants.X_OK)).not.toThrow();
    const pkg = JSON.parse(readFileSync(`${REPO_ROOT}/package.json`, 'utf8')) as { version: string; bin: { steady: string } };
    expect(`${REPO_ROOT}${pkg.bin.steady}`.replace(/\/+/g, '/')).toBe(CLI.replace(/\/+/g, '/'));
    const { stdout } = await promisify(execFile)(CLI, ['--version']);
    expect(stdout.trim()).toBe(pkg.version);
  });
});
