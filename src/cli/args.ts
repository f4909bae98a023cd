/**
 * A small, strict argument parser shared by every command: declared flags only, `--flag value`,
 * `--flag=value`, `-o value`, boolean switches, `--no-<switch>`, and `--` to end options.
 * An unknown flag or a missing value is a UsageError (exit 2) naming the flag.
 */
import { UsageError } from '../errors.js';

/** One flag a command accepts. */
export interface FlagSpec {
  /** Long name without dashes, e.g. `levels`. */
  readonly name: string;
  /** One-letter alias without dash, e.g. `o`. */
  readonly short?: string;
  /** `boolean` switches take no value; `string` flags take one; `list` flags may repeat. */
  readonly type: 'boolean' | 'string' | 'list';
  /** Placeholder shown in help, e.g. `N`. */
  readonly value?: string;
  /** One line of help. */
  readonly help: string;
  /** Default shown in help (not applied by the parser). */
  readonly defaultText?: string;
}

/** A command's declared interface, used for parsing and for `--help`. */
export interface CommandSpec {
  readonly name: string;
  /** Usage line after `steady `, e.g. `register <fixed> <moving> [options]`. */
  readonly usage: string;
  readonly summary: string;
  /** Paragraphs shown after the usage line. */
  readonly description?: string;
  readonly flags: readonly FlagSpec[];
  /** Worked examples, each `command  # what it does`. */
  readonly examples: readonly string[];
  /** Fewest and most positional arguments. */
  readonly positionals: { readonly min: number; readonly max: number; readonly names: string };
}

export interface ParsedArgs {
  readonly positionals: string[];
  /** Flag values by long name: string, true/false, or string[] for lists. Absent when not given. */
  readonly flags: Map<string, string | boolean | string[]>;
}

/** Parses argv (after the command name) against a spec. */
export function parseArgs(spec: CommandSpec, argv: readonly string[]): ParsedArgs {
  const positionals: string[] = [];
  const flags = new Map<string, string | boolean | string[]>();
  const byLong = new Map(spec.flags.map((f) => [f.name, f]));
  const byShort = new Map(spec.flags.filter((f) => f.short).map((f) => [f.short as string, f]));
  let i = 0;
  let endOfOptions = false;
  while (i < argv.length) {
    const arg = argv[i] as string;
    i++;
    if (endOfOptions || arg === '-' || !arg.startsWith('-') || /^-\d/.test(arg)) {
      positionals.push(arg);
      continue;
    }
    if (arg === '--') {
      endOfOptions = true;
      continue;
    }
    let name: string;
    let inline: string | undefined;
    let spec1: FlagSpec | undefined;
    if (arg.startsWith('--')) {
      const eq = arg.indexOf('=');
      name = eq >= 0 ? arg.slice(2, eq) : arg.slice(2);
      inline = eq >= 0 ? arg.slice(eq + 1) : undefined;
      spec1 = byLong.get(name);
      if (!spec1 && name.startsWith('no-')) {
        const positive = byLong.get(name.slice(3));
        if (positive && positive.type === 'boolean') {
          flags.set(positive.name, false);
          continue;
        }
      }
    } else {
      name = arg.slice(1);
      spec1 = byShort.get(name);
    }
    if (!spec1) {
      throw new UsageError('E_UNKNOWN_OPTION', `Unknown option ${arg} for steady ${spec.name} (see steady ${spec.name} --help)`);
    }
    if (spec1.type === 'boolean') {
      if (inline !== undefined) {
        throw new UsageError('E_BAD_OPTION', `Expected no value for --${spec1.name} but received ${JSON.stringify(inline)}`);
      }
      flags.set(spec1.name, true);
      continue;
    }
    let value = inline;
    if (value === undefined) {
      if (i >= argv.length) {
        throw new UsageError('E_MISSING_VALUE', `Expected a value ${spec1.value ?? ''} after --${spec1.name}`.replace('  ', ' '));
      }
      value = argv[i] as string;
      i++;
    }
    if (spec1.type === 'list') {
      const prev = flags.get(spec1.name);
      flags.set(spec1.name, Array.isArray(prev) ? [...prev, value] : [value]);
    } else {
      flags.set(spec1.name, value);
    }
  }
  const { min, max, names } = spec.positionals;
  if (positionals.length < min || positionals.length > max) {
    const want = min === max ? `${min}` : `${min}..${max}`;
    throw new UsageError(
      'E_USAGE',
      `Expected ${want} argument${max === 1 ? '' : 's'} (${names}) for steady ${spec.name} but received ${positionals.length}` +
        (positionals.length > 0 ? `: ${positionals.map((p) => JSON.stringify(p)).join(' ')}` : '') +
        ` (usage: steady ${spec.usage})`,
    );
  }
  return { positionals, flags };
}

/** A string flag's value, or undefined. */
export function flagString(args: ParsedArgs, name: string): string | undefined {
  const v = args.flags.get(name);
  return typeof v === 'string' ? v : undefined;
}

/** A boolean switch's value, or the default. */
export function flagBool(args: ParsedArgs, name: string, def = false): boolean {
  const v = args.flags.get(name);
  return typeof v === 'boolean' ? v : def;
}

/** Formats `steady <command> --help`. */
export function formatHelp(spec: CommandSpec): string {
  const lines: string[] = [];
  lines.push(`steady ${spec.name}: ${spec.summary}`, '', `Usage: steady ${spec.usage}`, '');
  if (spec.description) lines.push(spec.description, '');
  lines.push('Options:');
  const left = spec.flags.map((f) => {
    const short = f.short ? `-${f.short}, ` : '    ';
    const val = f.type === 'boolean' ? '' : ` ${f.value ?? 'VALUE'}`;
    return `  ${short}--${f.name}${val}`;
  });
  const width = Math.min(34, Math.max(...left.map((l) => l.length), 10) + 2);
  spec.flags.forEach((f, k) => {
    const l = left[k] as string;
    const def = f.defaultText !== undefined ? ` (default: ${f.defaultText})` : '';
    const text = `${f.help}${def}`;
    lines.push(l.length >= width ? `${l}\n${' '.repeat(width)}${text}` : `${l.padEnd(width)}${text}`);
  });
  lines.push(`  -h, --help${' '.repeat(Math.max(1, width - 12))}Show this help`);
  if (spec.examples.length > 0) {
    lines.push('', 'Examples:');
    for (const e of spec.examples) lines.push(`  ${e}`);
  }
  return `${lines.join('\n')}\n`;
}
