import { describe, expect, it } from 'vitest';
import { type CommandSpec, formatHelp, parseArgs } from '../../src/cli/args.js';
import { UsageError } from '../../src/errors.js';

const spec: CommandSpec = {
  name: 'demo',
  usage: 'demo <a> [b]',
  summary: 'demo',
  flags: [
    { name: 'levels', type: 'string', value: 'N', help: 'levels' },
    { name: 'output', short: 'o', type: 'string', value: 'FILE', help: 'out' },
    { name: 'json', type: 'boolean', help: 'json' },
    { name: 'realtime', type: 'boolean', help: 'rt' },
    { name: 'tag', type: 'list', value: 'T', help: 'tags' },
  ],
  examples: ['steady demo x'],
  positionals: { min: 1, max: 2, names: '<a> [b]' },
};

describe('parseArgs', () => {
  it('reads long, short, inline, boolean, negated and repeated flags', () => {
    const a = parseArgs(spec, ['x', '--levels', '3', '-o', 'out.png', '--json', '--no-realtime', '--tag=a', '--tag', 'b', 'y']);
    expect(a.positionals).toEqual(['x', 'y']);
    expect(a.flags.get('levels')).toBe('3');
    expect(a.flags.get('output')).toBe('out.png');
    expect(a.flags.get('json')).toBe(true);
    expect(a.flags.get('realtime')).toBe(false);
    expect(a.flags.get('tag')).toEqual(['a', 'b']);
  });

  it('treats "-" and negative numbers as positionals, and everything after -- too', () => {
    const a = parseArgs(spec, ['-', '--', '--json']);
    expect(a.positionals).toEqual(['-', '--json']);
    expect(parseArgs(spec, ['-5']).positionals).toEqual(['-5']);
  });

  it('rejects unknown flags, missing values and wrong positional counts with usage errors', () => {
    expect(() => parseArgs(spec, ['x', '--bogus'])).toThrow(/Unknown option --bogus/);
    expect(() => parseArgs(spec, ['x', '--levels'])).toThrow(/Expected a value N after --levels/);
    expect(() => parseArgs(spec, [])).toThrow(/Expected 1..2 arguments/);
    expect(() => parseArgs(spec, ['x', '--json=1'])).toThrow(UsageError);
  });

  it('formats help with every flag and the examples', () => {
    const h = formatHelp(spec);
    for (const f of spec.flags) expect(h).toContain(`--${f.name}`);
    expect(h).toContain('steady demo x');
  });
});
