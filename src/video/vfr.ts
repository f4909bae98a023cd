/**
 * Variable frame rate: which parts of a run keep each frame's own time.
 *
 * Raw frames on a pipe carry no time. When the probe says the frame rate varies (r_frame_rate and
 * avg_frame_rate disagree, and the stream's time base is known; image sequences are timed by
 * --framerate instead), the decoder reads each frame's timestamp as well (decoder.ts `timestamps`,
 * any ffmpeg), so the motion file's times are the frames' own. The encoder writes them
 * (encoder.ts `timeBase`) only with ffmpeg 5.1 or later (`-fps_mode`): older builds (the bundled one
 * is from 2018) end an MP4 at its last frame's decode time when frames come with their own times, so
 * players would drop the last B-frames; there the output's frames are evenly spaced at the average
 * rate, as before, and a note says so.
 */
import { ffmpegFeatures } from './binaries.js';
import type { VideoProbe } from './probe.js';

/** Said when a variable-frame-rate input is written with evenly spaced frames. */
export const OLD_FFMPEG_VFR_NOTE =
  "the input has a variable frame rate, and this ffmpeg (before 5.1) cannot keep each frame's time: frames are evenly spaced at the average rate (same count and length); set FFMPEG_PATH to ffmpeg 5.1 or later to keep them";

/** What keeps each frame's own time for an input. */
export interface VariableTiming {
  /** Ask the decoder for each frame's timestamp. */
  readonly decoderTimestamps: boolean;
  /** The encoder's `timeBase` (the source's), or null to space frames evenly. */
  readonly encoderTimeBase: string | null;
  /** A note for the user, or null. */
  readonly note: string | null;
}

/**
 * How a run on this input treats frame times (see the file comment).
 * @param framerateGiven the input is an image sequence timed by --framerate.
 * @param ffmpegPath the ffmpeg that will encode. @default the resolved one
 */
export function variableTimingFor(probe: VideoProbe, framerateGiven: boolean, ffmpegPath?: string): VariableTiming {
  const variable = probe.variableFrameRate && probe.timeBase !== null && !framerateGiven;
  if (!variable) return { decoderTimestamps: false, encoderTimeBase: null, note: null };
  const modern = ffmpegFeatures(ffmpegPath).fpsMode;
  return { decoderTimestamps: true, encoderTimeBase: modern ? probe.timeBase : null, note: modern ? null : OLD_FFMPEG_VFR_NOTE };
}
