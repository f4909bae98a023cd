import { describe, expect, it } from 'vitest';
import { MAX_CONTROL_BYTES, parseControlMessage } from '../../src/server/control.js';

function refusal(data: string, isBinary = false): { code: string; error: string } {
  const r = parseControlMessage(data, isBinary);
  if (r.ok) throw new Error(`accepted ${data}`);
  return { code: r.code, error: r.error };
}

describe('control messages', () => {
  it('accepts each control type with valid fields', () => {
    const cases: [unknown, unknown][] = [
      [{ type: 'pause' }, { type: 'pause' }],
      [{ type: 'resume' }, { type: 'resume' }],
      [{ type: 'smoothing', radius: 0 }, { type: 'smoothing', radius: 0 }],
      [{ type: 'smoothing', radius: 120 }, { type: 'smoothing', radius: 120 }],
      [{ type: 'zoom', zoom: 1 }, { type: 'zoom', zoom: 1 }],
      [{ type: 'zoom', zoom: 2.25 }, { type: 'zoom', zoom: 2.25 }],
      [{ type: 'border', mode: 'replicate' }, { type: 'border', mode: 'replicate' }],
      [{ type: 'reset' }, { type: 'reset' }],
      [{ type: 'view', mode: 'side-by-side' }, { type: 'view', mode: 'side-by-side' }],
      [{ type: 'view', mode: 'stabilized' }, { type: 'view', mode: 'stabilized' }],
      [{ type: 'view', mode: 'difference' }, { type: 'view', mode: 'difference' }],
    ];
    for (const [input, expected] of cases) {
      expect(parseControlMessage(JSON.stringify(input))).toEqual({ ok: true, message: expected });
      // Bytes (a ws text frame delivered as a Buffer) parse the same.
      expect(parseControlMessage(Buffer.from(JSON.stringify(input)))).toEqual({ ok: true, message: expected });
    }
  });

  it('refuses invalid messages with a code and a message that says what was expected', () => {
    expect(refusal('{"type":"zoom","zoom":0.5}')).toEqual({ code: 'E_BAD_OPTION', error: 'Expected a number 1..4 for zoom but received 0.5' });
    expect(refusal('{"type":"zoom","zoom":"2"}')).toEqual({ code: 'E_BAD_OPTION', error: 'Expected a number for zoom but received "2"' });
    expect(refusal('{"type":"smoothing","radius":121}')).toEqual({ code: 'E_BAD_OPTION', error: 'Expected an integer 0..120 for radius but received 121' });
    expect(refusal('{"type":"smoothing","radius":1.5}')).toEqual({ code: 'E_BAD_OPTION', error: 'Expected an integer 0..120 for radius but received 1.5' });
    expect(refusal('{"type":"smoothing","radius":null}')).toEqual({ code: 'E_BAD_OPTION', error: 'Expected an integer for radius but received null' });
    expect(refusal('{"type":"border","mode":"wrap"}')).toEqual({ code: 'E_BAD_OPTION', error: 'Expected one of black|replicate|reflect for mode but received "wrap"' });
    expect(refusal('{"type":"view","mode":"3d"}')).toEqual({
      code: 'E_BAD_OPTION',
      error: 'Expected one of side-by-side|stabilized|difference for mode but received "3d"',
    });
    expect(refusal('{"type":"jump"}')).toEqual({
      code: 'E_CONTROL_TYPE',
      error: 'Expected "type" to be one of pause|resume|smoothing|zoom|border|reset|view but received "jump"',
    });
    expect(refusal('{"zoom":2}').code).toBe('E_CONTROL_TYPE');
    expect(refusal('{"type":"zoom"}')).toEqual({ code: 'E_CONTROL_FIELD', error: 'Missing field "zoom" in a "zoom" control' });
    expect(refusal('{"type":"reset","hard":true}')).toEqual({ code: 'E_CONTROL_FIELD', error: 'Unexpected field "hard" in a "reset" control (fields: none)' });
    expect(refusal('{"type":"zoom","zoom":1.5,"radius":3}').code).toBe('E_CONTROL_FIELD');
    expect(refusal('{"type":"pause"').code).toBe('E_CONTROL_JSON');
    expect(refusal('"pause"').code).toBe('E_CONTROL_JSON');
    expect(refusal('null').code).toBe('E_CONTROL_JSON');
    expect(refusal('[{"type":"pause"}]').code).toBe('E_CONTROL_JSON');
    expect(refusal('{"type":"pause"}', true)).toEqual({ code: 'E_CONTROL_BINARY', error: 'Expected a JSON text message but received a binary message' });
    const long = JSON.stringify({ type: 'pause', pad: 'x'.repeat(MAX_CONTROL_BYTES) });
    expect(refusal(long)).toEqual({ code: 'E_CONTROL_SIZE', error: `Expected a control message of at most 1024 bytes but received ${long.length}` });
  });

  it('does not let a prototype key through as a field', () => {
    expect(refusal('{"type":"pause","__proto__":{"x":1}}').code).toBe('E_CONTROL_FIELD');
    expect(refusal('{"type":"toString"}').code).toBe('E_CONTROL_TYPE');
  });
});
