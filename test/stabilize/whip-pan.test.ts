/**
 * A whip pan between two still stretches (exact motions: a camera at rest with a little handheld shake,
 * then 1500 px in 15 frames, then at rest again) through the default plan (two-pass, auto zoom, no fill).
 * Ground truth: while the camera rests, the view may ease toward the pan, but not leap. With the squared
 * high-frequency term the corners of the pan outweighed everything and the crop window leapt from one edge
 * to the other in two frames (27 px per frame) some frames before the pan; the Huber term leaves a gentle
 * ease.
 */
import { describe, expect, it } from 'vitest';
import type { Mat3 } from '../../src/motion/mat3.js';
import { createPathPlanner, type PlannedFrame } from '../../src/stabilize/framing.js';
import { outputCenterMotions } from '../support/shake.js';
import { mulberry32 } from '../support/rng.js';

const W = 640;
const H = 360;
const STILL_BEFORE = 60;
const PAN_FRAMES = 15;
const PAN_PX = 1500;
const STILL_AFTER = 60;
/** Handheld shake while at rest: uniform steps within +-SHAKE_PX per frame, seeded. */
const SHAKE_PX = 2;
/** Largest view motion allowed in one frame while the camera rests, px (13 with the Huber term; the leap without it: 22). */
const MAX_REST_STEP_PX = 16;
/** Rest frames kept clear of the pan on each side: the pan itself needs the window's full margin there. */
const EASE_FRAMES = 2;

function motionsOfWhipPan(): Mat3[] {
  const rand = mulberry32(7);
  const motions: Mat3[] = [Float64Array.of(1, 0, 0, 0, 1, 0, 0, 0, 1)];
  const n = STILL_BEFORE + PAN_FRAMES + STILL_AFTER;
  for (let k = 1; k < n; k++) {
    const panning = k > STILL_BEFORE && k <= STILL_BEFORE + PAN_FRAMES;
    // The scene moves left in the frame as the camera pans right: frame k-1 pixel u is at u - dx in frame k.
    const dx = (panning ? PAN_PX / PAN_FRAMES : 0) + (rand() * 2 - 1) * SHAKE_PX;
    const dy = (rand() * 2 - 1) * SHAKE_PX;
    motions.push(Float64Array.of(1, 0, -dx, 0, 1, -dy, 0, 0, 1));
  }
  return motions;
}

describe('a whip pan through the default plan', () => {
  it('the view eases toward the pan while the camera rests: no leap across the crop window', () => {
    const motions = motionsOfWhipPan();
    const planner = createPathPlanner({ width: W, height: H, smoother: 'two-pass', zoom: 'auto' });
    const frames: PlannedFrame[] = [];
    for (const m of motions) {
      planner.push(m);
      for (let f = planner.pull(); f !== null; f = planner.pull()) frames.push(f);
    }
    planner.finish();
    for (let f = planner.pull(); f !== null; f = planner.pull()) frames.push(f);
    expect(frames.length).toBe(motions.length);
    const view = outputCenterMotions(
      motions,
      frames.map((f) => f.correction),
      W,
      H,
    );
    let worst = 0;
    view.forEach(([dx, dy], k) => {
      const resting = k < STILL_BEFORE - EASE_FRAMES || k > STILL_BEFORE + PAN_FRAMES + EASE_FRAMES;
      if (resting) worst = Math.max(worst, Math.hypot(dx, dy));
    });
    expect(worst).toBeLessThanOrEqual(MAX_REST_STEP_PX);
  });
});
