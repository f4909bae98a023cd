/**
 * The library's stream API (stabilizeFrames) refuses what it cannot use with a coded error, instead of
 * garbage colour from a short plane, frames silently dropped past the motions given, or a misspelt option
 * that does nothing.
 */
import { describe, expect, it } from 'vitest';
import { SteadyError } from '../../src/errors.js';
import type { YuvFrame } from '../../src/stabilize/frame-types.js';
import { stabilizeFrames } from '../../src/stabilize/stream.js';

const W = 64;
const H = 48;
const CHROMA = (W / 2) * (H / 2);
const IDENTITY = Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1);

function frame(index: number, planes: Partial<Pick<YuvFrame, 'y' | 'u' | 'v'>> = {}): YuvFrame {
  const y = new Uint8Array(W * H);
  for (let i = 0; i < y.length; i++) y[i] = (i * 7 + index * 3) & 255;
  return { index, timeSec: index / 30, width: W, height: H, y, u: new Uint8Array(CHROMA).fill(128), v: new Uint8Array(CHROMA).fill(128), ...planes } as YuvFrame;
}

async function* from(list: readonly YuvFrame[]): AsyncGenerator<YuvFrame> {
  for (const f of list) yield f;
}

/** Runs the stream to its end: the frames out, or the error's code. */
async function outcome(run: () => AsyncGenerator<unknown>): Promise<string | number> {
  let n = 0;
  try {
    for await (const _ of run()) n++;
  } catch (err) {
    return err instanceof SteadyError ? err.code : `not a SteadyError: ${String(err)}`;
  }
  return n;
}

describe('stabilizeFrames refuses bad input with a code', () => {
  it('a short or missing plane: E_PLANE_SIZE (a short chroma plane gave garbage colour)', async () => {
    expect(await outcome(() => stabilizeFrames(from([frame(0), frame(1, { u: new Uint8Array(10) })]), { width: W, height: H }))).toBe('E_PLANE_SIZE');
    expect(await outcome(() => stabilizeFrames(from([frame(0, { y: new Uint8Array(10) })]), { width: W, height: H }))).toBe('E_PLANE_SIZE');
    const noPlanes = { index: 0, timeSec: 0, width: W, height: H } as unknown as YuvFrame;
    expect(await outcome(() => stabilizeFrames(from([noPlanes]), { width: W, height: H }))).toBe('E_PLANE_SIZE');
  });

  it('fewer known motions than frames: E_BAD_OPTION (the frames past them were dropped)', async () => {
    expect(await outcome(() => stabilizeFrames(from([frame(0), frame(1), frame(2)]), { width: W, height: H, knownMotions: [IDENTITY] }))).toBe('E_BAD_OPTION');
    // One per frame is fine: all three come out.
    expect(await outcome(() => stabilizeFrames(from([frame(0), frame(1), frame(2)]), { width: W, height: H, knownMotions: [IDENTITY, IDENTITY, IDENTITY] }))).toBe(3);
  });

  it('a known motion that is not nine finite numbers: E_BAD_OPTION', async () => {
    const bad = [[1, 2], [3]] as unknown as Float64Array[];
    expect(await outcome(() => stabilizeFrames(from([frame(0)]), { width: W, height: H, knownMotions: bad }))).toBe('E_BAD_OPTION');
    const nan = [Float64Array.of(1, 0, Number.NaN, 0, 1, 0, 0, 0, 1)];
    expect(await outcome(() => stabilizeFrames(from([frame(0)]), { width: W, height: H, knownMotions: nan }))).toBe('E_BAD_OPTION');
  });

  it('a misspelt option: E_UNKNOWN_OPTION; a missing or too small size: E_BAD_OPTION', async () => {
    const misspelt = { smoothing: 30 } as unknown as Parameters<typeof stabilizeFrames>[2];
    expect(await outcome(() => stabilizeFrames(from([frame(0)]), { width: W, height: H }, misspelt))).toBe('E_UNKNOWN_OPTION');
    const noGeometry = undefined as unknown as Parameters<typeof stabilizeFrames>[1];
    expect(await outcome(() => stabilizeFrames(from([frame(0)]), noGeometry))).toBe('E_BAD_OPTION');
    expect(await outcome(() => stabilizeFrames(from([frame(0)]), { width: 8, height: 8 }))).toBe('E_BAD_OPTION');
  });

  it('good frames go through, one out per frame in', async () => {
    expect(await outcome(() => stabilizeFrames(from([0, 1, 2, 3].map((k) => frame(k))), { width: W, height: H }, { smoothingRadius: 2 }))).toBe(4);
  });
});
