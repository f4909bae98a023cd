/**
 * Options of `steady stabilize` / `stabilizeFrames`, their defaults, and their validation (once, at
 * the edge, with the project's message shape).
 */
import { UsageError } from '../errors.js';
import { MODEL_NAMES, type ModelName } from '../motion/model-name.js';
import { expectInteger, expectNumber, expectOneOf } from '../validate.js';
import { REFERENCE_MODES, type ReferenceMode } from './frame-analyzer.js';
import { BORDER_FILLS, type BorderFill, FRAME_INTERPOLATIONS, type FrameInterpolation } from './frame-warper.js';

/** Largest smoothing radius, frames: the frames waiting for the look-ahead are held in memory. */
export const MAX_SMOOTHING_RADIUS = 120;

/**
 * Default weight of rotation against translation in the pull, as a share of the squared corner radius:
 * the pull minimises |shift|^2 + w (r beta)^2 with r the centre-to-corner distance. Below 1 because a
 * rotation about the centre moves the middle of the picture, where viewers look, by nothing, while it uses
 * the crop margin at the corners. Measured on the anchors' synthetic clip recipe (5 seeds, two-pass, zoom
 * 1.03, before the path weighed its steps' fast shake, i.e. shakeWeight 0): weight 0.06 / 0.12 / 0.25 leaves
 * 0.51 / 0.57 / 0.69 px of high-frequency shift and 0.31 / 0.29 / 0.25 deg of roll; 0.1 sits between the
 * first two; the synthetic clips, with 0.7 deg of roll shake, kept 0.82 px of shift at weight 1 where 0.1
 * kept 0.50. On the real benchmark clips at a fixed shake weight of 10 (the default then), weight 1 leaves -3 to +7 % more
 * high-frequency shift and 14-40 % less roll (park walk: 5.34 against 5.01 px, 0.23 against 0.37 deg)
 * (`--rotation-weight`).
 */
export const DEFAULT_ROTATION_WEIGHT = 0.1;

/**
 * Default weight of the steps' fast shake against the slow sway in the two-pass path (smoother-two-pass.ts,
 * where the term is described; `--shake-weight`). 0: the path minimises its one-second residual alone.
 * The weight is relative: the optimiser's weight is this times the raw path's own balance of sway against
 * shake over the window planned (rawShakeBalance), so that the path keeps like shares of both whatever
 * their sizes in pixels. A walk's sway is large in pixels and its footsteps' shake small: its balance is
 * 30-50 (the park and forest walks), where a hand-held shot's jitter gives about 1.3 (the anchors'
 * synthetic clips) and the Seattle and NUS clips about 12; a fixed weight that served one of them starved
 * or overweighted the others. Measured on the benchmark clips (from steady's motion files, as the anchors'
 * metrics.py counts them: HF residual px, >= 1 Hz px/frame; vidstab in brackets):
 *   weight 3: synthetic 640x360 0.55, 0.178; park walk 5.64, 0.398; forest 8.24, 0.418; Seattle 7.61,
 *             0.902; NUS 3.65, 0.554
 *   weight 5: 0.57, 0.172; 5.74, 0.415; 8.30, 0.390; 8.42, 0.840; 3.77, 0.513
 *   weight 8: 0.60, 0.168; 5.89, 0.419; 8.38, 0.372; 8.66, 0.780; 3.93, 0.522
 *   (vidstab: 1.24, 0.223; 6.70, 0.450; 9.63, 0.461; 12.89, 1.511; 6.40, 1.013)
 * Every clip keeps less than vidstab of both at each; 5 keeps the synthetic clips' >= 1 Hz where a fixed
 * weight of 10 had it (0.170) while 3 lets it rise, and 8 gives the Seattle and NUS clips 3-4 % more
 * residual for little. The fixed weight 10 left the park and forest walks 0.64 and 0.78 px/frame, 1.4 and
 * 1.7 times vidstab's.
 */
export const DEFAULT_SHAKE_WEIGHT = 5;

/** Camera-path smoothers. */
export type SmootherName = 'gaussian' | 'causal' | 'two-pass';
export const SMOOTHERS: readonly SmootherName[] = ['gaussian', 'causal', 'two-pass'];

/** Framing: 'none', 'auto' (one static zoom for the clip), 'adaptive' (zoom follows need), or a percent. */
export type ZoomSetting = 'none' | 'auto' | 'adaptive' | { readonly percent: number };

/** Options of a stabilization. */
export interface StabilizeOptions {
  /** Motion model of the frame-to-frame registration. @default 'similarity' */
  readonly model?: ModelName;
  /** What each frame is registered onto. @default 'previous' */
  readonly reference?: ReferenceMode;
  /**
   * Camera-path smoother. 'two-pass' optimises the path within the crop window: over a look-ahead window
   * re-planned as frames arrive, or over the whole clip when every motion is known up front (a first
   * pass, `--whole-clip`, or a motion file). Live sources and the stream API default to 'gaussian'.
   * @default 'two-pass' (files), 'gaussian' (live sources, the stream API)
   */
  readonly smoother?: SmootherName;
  /** Smoothing radius in frames, 0..120 (the gaussian smoother's look-ahead and latency). @default 15 */
  readonly smoothingRadius?: number;
  /**
   * Where the crop margin cannot hold both, how much of it goes to rotation against shift: the weight of a
   * corner's move by rotation against the same move by a shift, 0.01..100 (see DEFAULT_ROTATION_WEIGHT).
   * Higher: a steadier horizon and a little more shake at the centre. @default 0.1
   */
  readonly rotationWeight?: number;
  /**
   * Two-pass: where the crop margin cannot hold both, how much of it goes to the frame-to-frame shake
   * (2-8 Hz: footsteps, hand tremor) against the slow sway near 1 Hz, each as a share of the clip's own,
   * 0..1000 (see DEFAULT_SHAKE_WEIGHT). Higher: a picture steadier from frame to frame that sways a little
   * more. @default 5
   */
  readonly shakeWeight?: number;
  /** Most correction shift, pixels (-1 = no limit). @default -1 */
  readonly maxShiftPx?: number;
  /** Most correction rotation, radians (-1 = no limit). @default -1 */
  readonly maxAngleRad?: number;
  /** Framing. @default 'auto' (files), 'adaptive' (live sources, the stream API) */
  readonly zoom?: ZoomSetting;
  /** Fill of pixels with no source. @default 'edge' */
  readonly border?: BorderFill;
  /** Output interpolation. @default 'bilinear' */
  readonly interpolation?: FrameInterpolation;
  /**
   * Longest side of the gray analysis image, pixels (frames are never enlarged). 320 registers 640x360,
   * 1280x720 and 1920x1080 frames at whole factors (2, 4, 6: the fastest area average); on the anchors'
   * synthetic clips and the real clips it leaves the same jitter as 480 at half the registration cost.
   * @default 320
   */
  readonly analysisWidth?: number;
  /** Most ECC iterations per pyramid level. @default 30 */
  readonly iterations?: number;
  /**
   * ECC stop: update moves every corner by less than this, analysis pixels (each coarser level halves it).
   * The step that meets it is applied before stopping, so the answer is closer than the stop: on the anchors'
   * synthetic clips 0.05, 0.1 and 0.2 all recover the known motion to 0.013 px (mean, full-resolution
   * pixels), while 0.1 needs 1.0-1.3 iterations at the finest level where 0.05 needs 1.1-1.8 (real clips).
   * @default 0.1
   */
  readonly epsilonPx?: number;
}

/** Options with every default filled in. */
export interface ResolvedStabilizeOptions {
  readonly model: ModelName;
  readonly reference: ReferenceMode;
  readonly smoother: SmootherName;
  readonly smoothingRadius: number;
  readonly rotationWeight: number;
  readonly shakeWeight: number;
  readonly maxShiftPx: number;
  readonly maxAngleRad: number;
  readonly zoom: ZoomSetting;
  readonly border: BorderFill;
  readonly interpolation: FrameInterpolation;
  readonly analysisWidth: number;
  readonly iterations: number;
  readonly epsilonPx: number;
}

/** The defaults. */
export const STABILIZE_DEFAULTS: ResolvedStabilizeOptions = Object.freeze({
  model: 'similarity',
  reference: 'previous',
  smoother: 'two-pass',
  smoothingRadius: 15,
  rotationWeight: DEFAULT_ROTATION_WEIGHT,
  shakeWeight: DEFAULT_SHAKE_WEIGHT,
  maxShiftPx: -1,
  maxAngleRad: -1,
  zoom: 'auto',
  border: 'edge',
  interpolation: 'bilinear',
  analysisWidth: 320,
  iterations: 30,
  epsilonPx: 0.1,
});

/** Defaults that differ for a live source and the stream API: the shortest latency (a file job, standard input included, takes STABILIZE_DEFAULTS). */
export const STREAMING_DEFAULTS: Pick<ResolvedStabilizeOptions, 'smoother' | 'zoom'> = Object.freeze({ smoother: 'gaussian', zoom: 'adaptive' });

/** Parses a `--zoom` value: none|auto|adaptive|<percent 0..50>. */
export function parseZoom(name: string, value: unknown): ZoomSetting {
  if (value === 'none' || value === 'auto' || value === 'adaptive') return value;
  if (typeof value === 'object' && value !== null && 'percent' in value) {
    return { percent: expectNumber(name, (value as { percent: unknown }).percent, 0, 50) };
  }
  if (typeof value === 'string' || typeof value === 'number') {
    const text = String(value).replace(/%$/, '');
    if (/^[+-]?(\d+\.?\d*|\.\d+)$/.test(text)) return { percent: expectNumber(name, text, 0, 50) };
  }
  throw new UsageError('E_BAD_OPTION', `Expected none|auto|adaptive|<percent 0..50> for ${name} but received ${JSON.stringify(value)}`);
}

/** Validates options and fills in the defaults. `names` maps option keys to the names errors should use. */
export function resolveStabilizeOptions(
  o: StabilizeOptions = {},
  names: Partial<Record<keyof StabilizeOptions, string>> = {},
  streaming = false,
): ResolvedStabilizeOptions {
  const d = streaming ? { ...STABILIZE_DEFAULTS, ...STREAMING_DEFAULTS } : STABILIZE_DEFAULTS;
  const n = (k: keyof StabilizeOptions) => names[k] ?? k;
  const limit = (k: 'maxShiftPx' | 'maxAngleRad', v: number | undefined, def: number) =>
    v === undefined || v === -1 ? def : expectNumber(n(k), v, 0, Number.POSITIVE_INFINITY);
  return {
    model: o.model === undefined ? d.model : expectOneOf(n('model'), o.model, MODEL_NAMES),
    reference: o.reference === undefined ? d.reference : expectOneOf(n('reference'), o.reference, REFERENCE_MODES),
    smoother: o.smoother === undefined ? d.smoother : expectOneOf(n('smoother'), o.smoother, SMOOTHERS),
    smoothingRadius: o.smoothingRadius === undefined ? d.smoothingRadius : expectInteger(n('smoothingRadius'), o.smoothingRadius, 0, MAX_SMOOTHING_RADIUS),
    rotationWeight: o.rotationWeight === undefined ? d.rotationWeight : expectNumber(n('rotationWeight'), o.rotationWeight, 0.01, 100),
    shakeWeight: o.shakeWeight === undefined ? d.shakeWeight : expectNumber(n('shakeWeight'), o.shakeWeight, 0, 1000),
    maxShiftPx: limit('maxShiftPx', o.maxShiftPx, d.maxShiftPx),
    maxAngleRad: limit('maxAngleRad', o.maxAngleRad, d.maxAngleRad),
    zoom: o.zoom === undefined ? d.zoom : parseZoom(n('zoom'), o.zoom),
    border: o.border === undefined ? d.border : expectOneOf(n('border'), o.border, BORDER_FILLS),
    interpolation: o.interpolation === undefined ? d.interpolation : expectOneOf(n('interpolation'), o.interpolation, FRAME_INTERPOLATIONS),
    analysisWidth: o.analysisWidth === undefined ? d.analysisWidth : expectInteger(n('analysisWidth'), o.analysisWidth, 64, 4096),
    iterations: o.iterations === undefined ? d.iterations : expectInteger(n('iterations'), o.iterations, 1, 1000),
    epsilonPx: o.epsilonPx === undefined ? d.epsilonPx : expectNumber(n('epsilonPx'), o.epsilonPx, 0, 10),
  };
}
