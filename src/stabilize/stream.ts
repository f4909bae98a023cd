/**
 * The stabilizer as a stream: feed frames from anywhere (an async iterable of YUV 4:2:0 frames of one
 * size), get stabilized frames with their motion data back, after the smoother's look-ahead.
 *
 * ```ts
 * for await (const s of stabilizeFrames(frames, { width: 640, height: 360 }, { smoothingRadius: 10 })) {
 *   use(s.output, s.motion.correction);   // planes valid until the next iteration
 * }
 * ```
 * Without `knownMotions`, the 'two-pass' smoother and 'auto' zoom plan over a look-ahead window
 * (framing.ts); with them, over the whole clip.
 */
import type { GrayImage } from '../image/gray-image.js';
import type { Mat3 } from '../motion/mat3.js';
import { UsageError } from '../errors.js';
import { expectInteger } from '../validate.js';
import type { StabilizedFrame, YuvFrame } from './frame-types.js';
import { resolveStabilizeOptions, type StabilizeOptions } from './options.js';
import { downscaleYInto } from '../video/analysis.js';
import { createStabilizer, type Stabilizer, stabilizerSettingsFor } from './stabilizer.js';

/** Size of the frames and, optionally, what is already known. */
export interface StreamGeometry {
  readonly width: number;
  readonly height: number;
  /** Motions of every frame (frame k-1 -> k), for whole-clip modes or to skip registration. */
  readonly knownMotions?: readonly Mat3[];
  /** Shrinks a Y plane into the analysis image. @default the area average of video/analysis.ts */
  readonly downscale?: (out: GrayImage, y: Uint8Array, width: number, height: number) => GrayImage;
  /**
   * Size of the stabilized planes, pixels, when not the input size (e.g. a preview): the warp writes them
   * at this size; motion data stays in input pixels. @default width x height
   */
  readonly output?: { readonly width: number; readonly height: number };
  /** Receives the stabilizer once made (for live controls). */
  readonly onStabilizer?: (s: Stabilizer) => void;
}

/** Stabilizes a stream of frames. */
export async function* stabilizeFrames(
  frames: AsyncIterable<YuvFrame>,
  geometry: StreamGeometry,
  options: StabilizeOptions = {},
): AsyncGenerator<StabilizedFrame, void, undefined> {
  const o = resolveStabilizeOptions(options, {}, geometry.knownMotions === undefined);
  const known = geometry.knownMotions ?? null;
  const out = geometry.output;
  const output = out === undefined ? undefined : { width: expectInteger('output.width', out.width, 1, 65535), height: expectInteger('output.height', out.height, 1, 65535) };
  const stabilizer = createStabilizer(
    stabilizerSettingsFor(o, geometry.width, geometry.height, known, output),
    geometry.downscale ?? downscaleYInto,
  );
  const { width, height } = geometry;
  geometry.onStabilizer?.(stabilizer);
  for await (const f of frames) {
    if (f.width !== width || f.height !== height) {
      throw new UsageError('E_FRAME_SIZE', `Expected frames of ${width}x${height} but frame ${f.index} is ${f.width}x${f.height}`);
    }
    stabilizer.push(f, performance.now(), known ? (known[f.index] ?? null) : null);
    for (let s = stabilizer.pull(); s !== null; s = stabilizer.pull()) yield s;
  }
  stabilizer.finish();
  for (let s = stabilizer.pull(); s !== null; s = stabilizer.pull()) yield s;
}
