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
import { InputError, UsageError } from '../errors.js';
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

/** The option names of StabilizeOptions: anything else is a misspelling that would silently do nothing. */
const OPTION_NAMES: ReadonlySet<string> = new Set(['model', 'reference', 'smoother', 'smoothingRadius', 'rotationWeight', 'shakeWeight', 'maxShiftPx', 'maxAngleRad', 'zoom', 'border', 'interpolation', 'analysisWidth', 'iterations', 'epsilonPx']);

/** Checks the options' names (E_UNKNOWN_OPTION). */
function checkOptionNames(options: StabilizeOptions): void {
  for (const name of Object.keys(options)) {
    if (!OPTION_NAMES.has(name)) throw new UsageError('E_UNKNOWN_OPTION', `Unknown stabilize option ${JSON.stringify(name)}; expected one of ${[...OPTION_NAMES].join(', ')}`);
  }
}

/** The known motions as 3x3 matrices (copies), each nine finite numbers (E_BAD_OPTION otherwise). */
function checkedMotions(motions: readonly ArrayLike<number>[]): Mat3[] {
  return motions.map((m, k) => {
    if (m === null || typeof m !== 'object' || m.length !== 9) {
      throw new UsageError('E_BAD_OPTION', `Expected knownMotions[${k}] to be a 3x3 matrix (9 numbers, row-major) but received ${JSON.stringify(m)}`);
    }
    const out = Float64Array.from(m);
    if (!out.every(Number.isFinite)) throw new UsageError('E_BAD_OPTION', `Expected finite numbers in knownMotions[${k}] but received ${JSON.stringify(Array.from(m))}`);
    return out;
  });
}

/** Checks one frame's planes against the stream's size (E_FRAME_SIZE, E_PLANE_SIZE). */
function checkFrame(f: YuvFrame, width: number, height: number): void {
  if (f.width !== width || f.height !== height) {
    throw new UsageError('E_FRAME_SIZE', `Expected frames of ${width}x${height} but frame ${f.index} is ${f.width}x${f.height}`);
  }
  const chroma = Math.ceil(width / 2) * Math.ceil(height / 2);
  for (const [name, plane, need] of [
    ['y', f.y, width * height],
    ['u', f.u, chroma],
    ['v', f.v, chroma],
  ] as const) {
    if (!(plane instanceof Uint8Array) || plane.length < need) {
      const got = plane instanceof Uint8Array ? `${plane.length} bytes` : plane === undefined ? 'nothing' : typeof plane;
      throw new InputError('E_PLANE_SIZE', `Expected frame ${f.index}'s ${name} plane to be a Uint8Array of at least ${need} bytes (yuv420p ${width}x${height}) but received ${got}`);
    }
  }
}

/** Stabilizes a stream of frames. */
export async function* stabilizeFrames(
  frames: AsyncIterable<YuvFrame>,
  geometry: StreamGeometry,
  options: StabilizeOptions = {},
): AsyncGenerator<StabilizedFrame, void, undefined> {
  if (geometry === null || typeof geometry !== 'object') {
    throw new UsageError('E_BAD_OPTION', 'stabilizeFrames needs the frames\' size as its second argument: { width, height }');
  }
  expectInteger('width', geometry.width, 16, 65535);
  expectInteger('height', geometry.height, 16, 65535);
  checkOptionNames(options);
  const o = resolveStabilizeOptions(options, {}, geometry.knownMotions === undefined);
  const known = geometry.knownMotions === undefined ? null : checkedMotions(geometry.knownMotions as readonly ArrayLike<number>[]);
  const out = geometry.output;
  const output = out === undefined ? undefined : { width: expectInteger('output.width', out.width, 1, 65535), height: expectInteger('output.height', out.height, 1, 65535) };
  const stabilizer = createStabilizer(
    stabilizerSettingsFor(o, geometry.width, geometry.height, known, output),
    geometry.downscale ?? downscaleYInto,
  );
  const { width, height } = geometry;
  geometry.onStabilizer?.(stabilizer);
  for await (const f of frames) {
    checkFrame(f, width, height);
    if (known !== null && known[f.index] === undefined) {
      // The path was planned for the motions given: a frame past them has no place in it.
      throw new UsageError('E_BAD_OPTION', `knownMotions holds ${known.length} motions but frame ${f.index} arrived; give one motion per frame`);
    }
    stabilizer.push(f, performance.now(), known ? (known[f.index] ?? null) : null);
    for (let s = stabilizer.pull(); s !== null; s = stabilizer.pull()) yield s;
  }
  stabilizer.finish();
  for (let s = stabilizer.pull(); s !== null; s = stabilizer.pull()) yield s;
}
