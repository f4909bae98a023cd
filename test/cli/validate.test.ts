import { describe, expect, it } from 'vitest';
import { expectInteger, expectMatrix3, expectNumber, expectOneOf, expectSeconds, ffmpegSeconds, MAX_SECONDS } from '../../src/validate.js';

describe('validation messages', () => {
  it('pins the message shape "Expected X for NAME but received V"', () => {
    expect(() => expectInteger('--levels', '0', 1, 8)).toThrow('Expected an integer 1..8 for --levels but received "0"');
    expect(() => expectInteger('--levels', 'abc', 1, 8)).toThrow('Expected an integer 1..8 for --levels but received "abc"');
    expect(() => expectNumber('--epsilon', 'x', 0, 1)).toThrow('Expected a number 0..1 for --epsilon but received "x"');
    expect(() => expectOneOf('--model', 'warp', ['translation', 'affine'])).toThrow(
      'Expected one of translation|affine for --model but received "warp"',
    );
  });

  it('parses valid values', () => {
    expect(expectInteger('--levels', '3', 1, 8)).toBe(3);
    expect(expectNumber('--epsilon', '1e-4', 0, 1)).toBe(1e-4);
    expect(Array.from(expectMatrix3('--init', '[[1,0,5],[0,1,-3],[0,0,1]]'))).toEqual([1, 0, 5, 0, 1, -3, 0, 0, 1]);
  });

  it('rejects a matrix that is not 3x3 numbers', () => {
    expect(() => expectMatrix3('--init', '[[1,0],[0,1]]')).toThrow(/3x3 matrix/);
    expect(() => expectMatrix3('--init', 'nope')).toThrow(/3x3 matrix/);
    expect(() => expectMatrix3('--init', '[[1,0,0],[0,1,0],[0,0,"a"]]')).toThrow(/finite numbers/);
  });

  it('expectSeconds takes seconds and [HH:]MM:SS[.fff], as ffmpeg -ss / -t do, within 0..MAX_SECONDS', () => {
    expect(expectSeconds('--start', '90', 0)).toBe(90);
    expect(expectSeconds('--start', '01:30', 0)).toBe(90);
    expect(expectSeconds('--start', '0:01:30.5', 0)).toBe(90.5);
    expect(expectSeconds('--start', '2:00:00', 0)).toBe(7200);
    expect(expectSeconds('--start', '0', 0)).toBe(0);
    expect(() => expectSeconds('--duration', '0', 0, true)).toThrow(/for --duration but received "0"/);
    expect(() => expectSeconds('--start', '1:75', 0)).toThrow(/\[HH:\]MM:SS/);
    expect(() => expectSeconds('--start', '-1', 0)).toThrow(/for --start/);
    expect(() => expectSeconds('--duration', '1e21', 0, true)).toThrow(/at most/);
    expect(expectSeconds('--duration', String(MAX_SECONDS), 0, true)).toBe(MAX_SECONDS);
  });

  it('ffmpegSeconds never writes an exponent (ffmpeg refuses 1e-7), to the microsecond', () => {
    expect(ffmpegSeconds(1e-7)).toBe('0');
    expect(ffmpegSeconds(1.5)).toBe('1.5');
    expect(ffmpegSeconds(100)).toBe('100');
    expect(ffmpegSeconds(1e9)).toBe('1000000000');
    expect(ffmpegSeconds(2.0000015)).toBe('2.000002');
  });
});
