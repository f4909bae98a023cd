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
