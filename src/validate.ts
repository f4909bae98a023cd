/**
 * One validation vocabulary and one message shape for every option, at the edge (CLI, public API):
 * "Expected an integer 1..8 for --levels but received 0". Inner code trusts its types.
 */
import { describeValue, UsageError } from './errors.js';

function fail(expected: string, name: string, value: unknown): never {
  throw new UsageError('E_BAD_OPTION', `Expected ${expected} for ${name} but received ${describeValue(value)}`);
}

/** Parses a number from a CLI string or checks a number from the API. */
function toNumber(value: unknown): number {
  if (typeof value === 'number') return value;
  if (typeof value === 'string' && value.trim() !== '' && /^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(value.trim())) {
    return Number(value);
  }
  return Number.NaN;
}

/** An integer in [min, max]. */
export function expectInteger(name: string, value: unknown, min: number, max: number): number {
  const n = toNumber(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    fail(`an integer ${min}..${max === Number.MAX_SAFE_INTEGER ? '' : max}`.replace(/\.\.$/, ' or more'), name, value);
  }
  return n;
}

/** A finite number in [min, max]. */
export function expectNumber(name: string, value: unknown, min: number, max: number): number {
  const n = toNumber(value);
  if (!Number.isFinite(n) || n < min || n > max) {
    const range = max === Number.POSITIVE_INFINITY ? `>= ${min}` : `${min}..${max}`;
    fail(`a number ${range}`, name, value);
  }
  return n;
}

/** Shortest --duration, seconds: ffmpeg keeps times to the microsecond, and a shorter one became -t 0. */
export const MIN_DURATION_SEC = 1e-6;

/** Longest time --start and --duration take, seconds (about 31 years: any real clip is shorter). */
export const MAX_SECONDS = 1e9;

/**
 * A time in seconds, as ffmpeg's -ss and -t take it: seconds (`90`, `1.5`) or `[HH:]MM:SS[.fff]`
 * (`01:30`, `0:01:30.5`). Checked to lie in min..MAX_SECONDS (min exclusive when `above` is true).
 */
export function expectSeconds(name: string, value: unknown, min: number, above = false): number {
  let n = Number.NaN;
  if (typeof value === 'string') {
    const m = /^\s*(?:(\d+):)?(\d+):(\d+(?:\.\d*)?)\s*$/.exec(value);
    if (m !== null) {
      const mm = Number(m[2]);
      const ss = Number(m[3]);
      n = mm < 60 && ss < 60 ? Number(m[1] ?? 0) * 3600 + mm * 60 + ss : Number.NaN;
    } else n = toNumber(value);
  } else n = toNumber(value);
  if (!Number.isFinite(n) || n < min || (above && n === min) || n > MAX_SECONDS) {
    fail(`seconds or [HH:]MM:SS ${above ? `> ${min}` : `>= ${min}`} (at most ${MAX_SECONDS})`, name, value);
  }
  return n;
}

/**
 * Seconds as ffmpeg's options take them: fixed-point, never in exponent form (`String(1e-7)` is `1e-7`,
 * which ffmpeg refuses), to the microsecond ffmpeg keeps.
 */
export function ffmpegSeconds(sec: number): string {
  return sec.toFixed(6).replace(/\.?0+$/, '') || '0';
}

/** A positive finite number (> 0). */
export function expectPositive(name: string, value: unknown): number {
  const n = toNumber(value);
  if (!Number.isFinite(n) || n <= 0) fail('a positive number', name, value);
  return n;
}

/** One of the listed strings. */
export function expectOneOf<T extends string>(name: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value !== 'string' || !(allowed as readonly string[]).includes(value)) {
    fail(`one of ${allowed.join('|')}`, name, value);
  }
  return value as T;
}

/** A non-empty string. */
export function expectString(name: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) fail('a non-empty string', name, value);
  return value;
}

/** A 3x3 matrix given as JSON text or as nested arrays; returns it row-major in a Float64Array(9). */
export function expectMatrix3(name: string, value: unknown): Float64Array {
  let v: unknown = value;
  if (typeof value === 'string') {
    try {
      v = JSON.parse(value);
    } catch {
      fail('a 3x3 matrix as JSON, e.g. [[1,0,0],[0,1,0],[0,0,1]]', name, value);
    }
  }
  if (v instanceof Float64Array && v.length === 9) return Float64Array.from(v);
  if (!Array.isArray(v) || v.length !== 3) fail('a 3x3 matrix as JSON, e.g. [[1,0,0],[0,1,0],[0,0,1]]', name, value);
  const out = new Float64Array(9);
  for (let r = 0; r < 3; r++) {
    const row = (v as unknown[])[r];
    if (!Array.isArray(row) || row.length !== 3) fail('a 3x3 matrix as JSON, e.g. [[1,0,0],[0,1,0],[0,0,1]]', name, value);
    for (let c = 0; c < 3; c++) {
      const x = row[c];
      if (typeof x !== 'number' || !Number.isFinite(x)) fail('a 3x3 matrix of finite numbers', name, value);
      out[r * 3 + c] = x;
    }
  }
  return out;
}
