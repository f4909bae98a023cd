/**
 * steady's public API: explicit named exports only.
 *
 * Matrix convention everywhere: 3x3 row-major (Float64Array(9)); registering `moving` onto `fixed`
 * returns W mapping pixel coordinates of `fixed` to pixel coordinates of `moving` (OpenCV
 * findTransformECC's warp matrix), so warping `moving` with W as an inverse map aligns it onto `fixed`.
 * Pixel centres are at integer coordinates. For video, the motion of frame k maps pixel coordinates
 * of frame k-1 to frame k.
 */

// Errors and exit codes.
export { EXIT, InputError, InterruptedError, RuntimeError, SteadyError, UsageError } from './errors.js';

// Images and matrices.
export { createGrayImage, type GrayImage, grayFromBytesInto, grayToBytesInto } from './image/gray-image.js';
export { type BorderMode, type Interpolation, type PlaneWarpOptions, type WarpOptions, warpInto, warpPlaneU8Into, chromaMatrixInto } from './image/warp.js';
export { wasmWarpAvailable } from './image/wasm-warp.js';
export { wasmEccAvailable } from './register/wasm-ecc.js';
export { wasmBlurAvailable } from './image/wasm-blur.js';
export { wasmDownscaleAvailable } from './video/wasm-downscale.js';
export {
  fromRows,
  invertInto,
  type Mat3,
  mat3Identity,
  multiplyInto,
  normalizeInto,
  rescaleInto,
  toRows,
  transformPointInto,
} from './motion/mat3.js';
export { MODEL_NAMES, type ModelName } from './motion/model-name.js';
export { getMotionModel, MOTION_MODELS } from './motion/models.js';
export type { MotionModel } from './motion/motion-model.js';

// Registration.
export { createRegistrar, type Registrar, register, releaseRegisterWorkspace } from './register/register.js';
export { REGISTER_DEFAULTS, type RegisterOptions, type RobustStart } from './register/options.js';
export type { FailureReason, LevelReport, RegisterFailure, RegisterResult, RegisterSuccess, StartKind } from './register/result.js';
export { createPhaseCorrelator, type PhaseCorrelation, phaseCorrelate } from './register/phase-correlation.js';
export { estimateLogPolarStart, type LogPolarStart } from './register/log-polar.js';

// Similarity and video metrics.
export { compareImages, mse, ncc, psnr, type SimilarityScores, ssim } from './metrics/similarity.js';
export { croppingAndDistortion, frameCropping, frameDistortion, stabilityScore } from './metrics/video-metrics.js';

// Stabilization.
export type { FrameMotion, StabilizedFrame, YuvFrame } from './stabilize/frame-types.js';
export { type ResolvedStabilizeOptions, STABILIZE_DEFAULTS, type StabilizeOptions, resolveStabilizeOptions } from './stabilize/options.js';
export { stabilizeFrames } from './stabilize/stream.js';
export { type StabilizeFileOptions, type StabilizeSummary, stabilizeFile } from './pipeline/stabilize-file.js';

// Tracking and the motion file.
export { type MotionFile, type MotionRecord, formatMotionFile, parseMotionFile } from './track/motion-file.js';
export { createRoiTracker, type RoiRect, type RoiTracker } from './track/roi-tracker.js';

// Video and image I/O (ffmpeg).
export { analysisSize, type DownscaleOptions, downscaleYInto, integerAnalysisSize } from './video/analysis.js';
export { resolveFfmpeg, resolveFfprobe } from './video/binaries.js';
export { type DecodedFrame, type Decoder, type DecoderOptions, openDecoder } from './video/decoder.js';
export { formatDoctor, runDoctor, type DoctorReport } from './video/doctor.js';
export { type EncodeResult, type Encoder, type EncoderOptions, openEncoder } from './video/encoder.js';
export { type ColorImage, readImage, readImageColor, type RgbImage, writeImage } from './video/image-io.js';
export { probeVideo, type VideoProbe } from './video/probe.js';
