/**
 * Moving motion matrices between the full-resolution frame grid and the smaller analysis grid that
 * registration works on.
 *
 * The analysis image is an area-average shrink (video/analysis.ts): a full-resolution point x maps to
 * x_a = (x + 0.5) * sx - 0.5 with sx = analysisWidth / width (and likewise in y), pixel centres at
 * integer coordinates. With A that affine map, a motion M_a between analysis frames is the motion
 * M = A^-1 · M_a · A between full-resolution frames, and M_a = A · M · A^-1.
 */
import { type Mat3, multiplyInto } from '../motion/mat3.js';

/** The full -> analysis map A and its inverse, for one pair of sizes. */
export interface AnalysisGrid {
  readonly width: number;
  readonly height: number;
  readonly analysisWidth: number;
  readonly analysisHeight: number;
  /** Full-resolution pixel coordinates -> analysis pixel coordinates. */
  readonly toAnalysis: Mat3;
  /** Analysis pixel coordinates -> full-resolution pixel coordinates. */
  readonly toFull: Mat3;
}

/** Makes the grid maps for frames of width x height analysed at analysisWidth x analysisHeight. */
export function createAnalysisGrid(width: number, height: number, analysisWidth: number, analysisHeight: number): AnalysisGrid {
  const sx = analysisWidth / width;
  const sy = analysisHeight / height;
  const toAnalysis = Float64Array.of(sx, 0, 0.5 * sx - 0.5, 0, sy, 0.5 * sy - 0.5, 0, 0, 1);
  const toFull = Float64Array.of(1 / sx, 0, (0.5 - 0.5 * sx) / sx, 0, 1 / sy, (0.5 - 0.5 * sy) / sy, 0, 0, 1);
  return { width, height, analysisWidth, analysisHeight, toAnalysis, toFull };
}

const tmp = new Float64Array(9);

/** out = A^-1 · analysisMotion · A: a motion between analysis frames as a motion between full frames. */
export function motionToFullInto(out: Mat3, grid: AnalysisGrid, analysisMotion: Mat3): Mat3 {
  multiplyInto(tmp, analysisMotion, grid.toAnalysis);
  return multiplyInto(out, grid.toFull, tmp);
}

/** out = A · fullMotion · A^-1: a motion between full frames as a motion between analysis frames. */
export function motionToAnalysisInto(out: Mat3, grid: AnalysisGrid, fullMotion: Mat3): Mat3 {
  multiplyInto(tmp, fullMotion, grid.toFull);
  return multiplyInto(out, grid.toAnalysis, tmp);
}
