import { describe, expect, it } from 'vitest';
import { InputError } from '../../src/errors.js';
import { totalmem } from 'node:os';
import { checkHeldFrameMemory, HELD_FRAMES_MEMORY_SHARE, usableMemory } from '../../src/pipeline/stabilize-file.js';

const GIB = 2 ** 30;

describe('the up-front memory guard of stabilize', () => {
  it('accepts a look-ahead whose held frames fit in the share of memory', () => {
    // 1920x1080 4:2:0 = 3 110 400 bytes per frame; 15 + 4 frames = 59 MB against 4 GiB.
    expect(() => checkHeldFrameMemory(1920, 1080, 15, 8 * GIB)).not.toThrow();
  });

  it('refuses with E_MEMORY, naming the size and the look-ahead, when they would not fit', () => {
    // 7680x4320 = 49.8 MB per frame; 120 + 4 frames = 6.2 GB against half of 8 GiB.
    let err: unknown = null;
    try {
      checkHeldFrameMemory(7680, 4320, 120, 8 * GIB);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(InputError);
    expect((err as InputError).code).toBe('E_MEMORY');
    expect((err as Error).message).toContain('7680x4320');
    expect((err as Error).message).toContain('120 frames');
  });

  it('draws the line at the documented share of memory', () => {
    const w = 1000;
    const h = 1000;
    const frameBytes = w * h + 2 * 500 * 500;
    const frames = 100;
    const need = (frames + 4) * frameBytes;
    expect(() => checkHeldFrameMemory(w, h, frames, need / HELD_FRAMES_MEMORY_SHARE + 1)).not.toThrow();
    expect(() => checkHeldFrameMemory(w, h, frames, need / HELD_FRAMES_MEMORY_SHARE - 1)).toThrow(InputError);
  });

  it('counts the memory a container allows (cgroup: process.constrainedMemory), not the machine\'s', () => {
    const p = process as { constrainedMemory?: (() => number | undefined) | undefined };
    const saved = p.constrainedMemory;
    const limit = 600 * 2 ** 20;
    try {
      p.constrainedMemory = () => limit;
      expect(usableMemory()).toBe(Math.min(limit, totalmem()));
      // 4K frames (12.4 MB each), 90 held: 1.1 GiB, more than half of 600 MiB.
      let err: unknown;
      try {
        checkHeldFrameMemory(3840, 2160, 90);
      } catch (e) {
        err = e;
      }
      expect((err as InputError).code).toBe('E_MEMORY');
      expect((err as InputError).message).toMatch(/half of the 0\.6 GiB this process may use/);
      // No limit (0), or one above the machine's memory: the machine's.
      p.constrainedMemory = () => 0;
      expect(usableMemory()).toBe(totalmem());
      p.constrainedMemory = () => 2 ** 62;
      expect(usableMemory()).toBe(totalmem());
    } finally {
      p.constrainedMemory = saved;
    }
  });
});
