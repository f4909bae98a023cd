import { describe, expect, it } from 'vitest';
import { expectInteger, expectMatrix3, expectNumber, expectOneOf } from '../../src/validate.js';

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
});
