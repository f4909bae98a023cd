/**
 * Control messages a viewer sends to the live server (JSON text messages), and their validation.
 * A message that is not valid JSON, has an unknown `type`, lacks a field, carries an extra field or a value
 * out of range is refused with an `error` message naming the problem; the server then ignores it.
 *
 * | type        | fields                                   | effect                                   |
 * |-------------|------------------------------------------|------------------------------------------|
 * | `pause`     |                                          | stop sending frames (the source runs on) |
 * | `resume`    |                                          | send frames again                        |
 * | `smoothing` | `radius`: integer 0..MAX_SMOOTHING_RADIUS | smoothing radius in frames               |
 * | `zoom`      | `zoom`: number MIN_ZOOM..MAX_ZOOM        | zoom factor of the stabilized frame      |
 * | `border`    | `mode`: one of BORDER_MODES              | border fill                              |
 * | `reset`     |                                          | re-anchor the reference frame            |
 * | `view`      | `mode`: one of VIEW_MODES                | this viewer's view (confirmed back)      |
 */
import { describeValue, SteadyError } from '../errors.js';
import { expectInteger, expectNumber, expectOneOf } from '../validate.js';
import { BORDER_MODES, type BorderMode, VIEW_MODES, type ViewMode } from './protocol.js';

/** Largest smoothing radius a viewer may ask for, in frames. */
import { MAX_SMOOTHING_RADIUS } from '../stabilize/options.js';

export { MAX_SMOOTHING_RADIUS };
/** Smallest zoom factor a viewer may ask for (1 = none). */
export const MIN_ZOOM = 1;
/** Largest zoom factor a viewer may ask for. */
export const MAX_ZOOM = 4;
/** Longest control message accepted, in bytes (a control is a few dozen bytes of JSON). */
export const MAX_CONTROL_BYTES = 1024;

/** A validated control message. */
export type ControlMessage =
  | { readonly type: 'pause' }
  | { readonly type: 'resume' }
  | { readonly type: 'smoothing'; readonly radius: number }
  | { readonly type: 'zoom'; readonly zoom: number }
  | { readonly type: 'border'; readonly mode: BorderMode }
  | { readonly type: 'reset' }
  | { readonly type: 'view'; readonly mode: ViewMode };

/** Every control message type. */
export const CONTROL_TYPES = ['pause', 'resume', 'smoothing', 'zoom', 'border', 'reset', 'view'] as const;

/** The fields each control type carries besides `type`. */
const FIELDS: Record<(typeof CONTROL_TYPES)[number], readonly string[]> = {
  pause: [],
  resume: [],
  smoothing: ['radius'],
  zoom: ['zoom'],
  border: ['mode'],
  reset: [],
  view: ['mode'],
};

/** The outcome of parsing a control message: the message, or the reason it was refused. */
export type ControlParseResult =
  | { readonly ok: true; readonly message: ControlMessage }
  | { readonly ok: false; readonly code: string; readonly error: string };

function refuse(code: string, error: string): ControlParseResult {
  return { ok: false, code, error };
}

/**
 * Parses and validates one control message as received from a WebSocket (text or bytes).
 * Never throws: a refusal is a value with a code (`E_CONTROL_BINARY`, `E_CONTROL_SIZE`, `E_CONTROL_JSON`,
 * `E_CONTROL_TYPE`, `E_CONTROL_FIELD`, `E_BAD_OPTION`) and a message that says what was expected.
 */
export function parseControlMessage(data: string | Uint8Array, isBinary = false): ControlParseResult {
  if (isBinary) return refuse('E_CONTROL_BINARY', 'Expected a JSON text message but received a binary message');
  const bytes = typeof data === 'string' ? Buffer.byteLength(data) : data.length;
  if (bytes > MAX_CONTROL_BYTES) {
    return refuse('E_CONTROL_SIZE', `Expected a control message of at most ${MAX_CONTROL_BYTES} bytes but received ${bytes}`);
  }
  const text = typeof data === 'string' ? data : Buffer.from(data.buffer, data.byteOffset, data.length).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return refuse('E_CONTROL_JSON', 'Expected a JSON object such as {"type":"zoom","zoom":1.2} but the message is not valid JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return refuse('E_CONTROL_JSON', 'Expected a JSON object such as {"type":"zoom","zoom":1.2}');
  }
  const obj = value as Record<string, unknown>;
  const type = obj.type;
  if (typeof type !== 'string' || !(CONTROL_TYPES as readonly string[]).includes(type)) {
    return refuse('E_CONTROL_TYPE', `Expected "type" to be one of ${CONTROL_TYPES.join('|')} but received ${describeValue(type)}`);
  }
  const t = type as (typeof CONTROL_TYPES)[number];
  const allowed = FIELDS[t];
  for (const key of Object.keys(obj)) {
    if (key !== 'type' && !allowed.includes(key)) {
      return refuse('E_CONTROL_FIELD', `Unexpected field ${describeValue(key)} in a "${t}" control (fields: ${allowed.length > 0 ? allowed.join(', ') : 'none'})`);
    }
  }
  for (const key of allowed) {
    if (!(key in obj)) return refuse('E_CONTROL_FIELD', `Missing field "${key}" in a "${t}" control`);
  }
  try {
    switch (t) {
      case 'pause':
      case 'resume':
      case 'reset':
        return { ok: true, message: { type: t } };
      case 'smoothing':
        // Numbers only: the CLI vocabulary accepts numeric strings, a JSON control should not.
        if (typeof obj.radius !== 'number') throw badType('radius', 'an integer', obj.radius);
        return { ok: true, message: { type: t, radius: expectInteger('radius', obj.radius, 0, MAX_SMOOTHING_RADIUS) } };
      case 'zoom':
        if (typeof obj.zoom !== 'number') throw badType('zoom', 'a number', obj.zoom);
        return { ok: true, message: { type: t, zoom: expectNumber('zoom', obj.zoom, MIN_ZOOM, MAX_ZOOM) } };
      case 'border':
        return { ok: true, message: { type: t, mode: expectOneOf('mode', obj.mode, BORDER_MODES) } };
      case 'view':
        return { ok: true, message: { type: t, mode: expectOneOf('mode', obj.mode, VIEW_MODES) } };
    }
  } catch (err) {
    if (err instanceof SteadyError) return refuse(err.code, err.message);
    throw err;
  }
}

function badType(name: string, expected: string, value: unknown): SteadyError {
  return new SteadyError('E_BAD_OPTION', `Expected ${expected} for ${name} but received ${describeValue(value)}`);
}
