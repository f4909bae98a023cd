/**
 * Variable frame rate: which parts of a run keep each frame's own time.
 *
 * Raw frames on a pipe carry no time. When the frame rate may vary, the decoder reads each frame's
 * timestamp as well (decoder.ts `timestamps`, any ffmpeg), so the motion file's times are the frames'
 * own. It may vary when the probe says so (r_frame_rate and avg_frame_rate disagree), and always in a
 * container that stores a time per frame and no rate (Matroska, WebM: ffprobe reports the rate of the
 * first frames for both there, so a gap later in the clip does not show). The stream's time base must be
 * known; image sequences are timed by --framerate instead. The encoder writes them
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
  /**
   * The encoder's `timeBase`, or null to space frames evenly (an ffmpeg before 5.1). An output container
   * with a fixed rate then repeats or drops frames to keep its rate in step with the times (encoder.ts).
   */
  readonly encoderTimeBase: string | null;
  /** A note for the user, or null. */
  readonly note: string | null;
  /**
   * Why the output is evenly spaced although the frames' own times were read (an ffmpeg before 5.1), said
   * once the times turn out uneven (evenSpacingWatch); null when the output keeps the times or none were read.
   */
  readonly evenReason: string | null;
}

/**
 * How a run on this input treats frame times (see the file comment).
 * @param framerateGiven the input is an image sequence timed by --framerate.
 * @param ffmpegPath the ffmpeg that will encode. @default the resolved one
 */
export function variableTimingFor(probe: VideoProbe, framerateGiven: boolean, ffmpegPath?: string): VariableTiming {
  const variable = (probe.variableFrameRate || timedPerFrame(probe.format)) && probe.timeBase !== null && !framerateGiven;
  if (!variable || probe.timeBase === null) return { decoderTimestamps: false, encoderTimeBase: null, note: null, evenReason: null };
  if (!ffmpegFeatures(ffmpegPath).fpsMode) {
    return { decoderTimestamps: true, encoderTimeBase: null, note: probe.variableFrameRate ? OLD_FFMPEG_VFR_NOTE : null, evenReason: OLD_FFMPEG_VFR_NOTE };
  }
  return { decoderTimestamps: true, encoderTimeBase: gridTimeBase(probe.timeBase, probe.rFrameRate), note: null, evenReason: null };
}

/**
 * Said, with frame times kept, for the outputs whose container holds a fixed rate (`files`, at `fps`) once
 * the times turn out uneven: frames are repeated or dropped there to stay in step with the audio.
 */
export function fixedRateNote(files: readonly string[], fps: number): string {
  return `the input's frame rate varies, and ${files.map((f) => JSON.stringify(f)).join(' and ')} ${files.length === 1 ? 'holds' : 'hold'} a fixed rate: frames are repeated or dropped there to keep ${Number(fps.toFixed(3))} fps in step with the audio (write .mp4, .mkv or .mov to keep each frame's time)`;
}

/** Containers whose frames carry their own times and no declared rate (ffprobe format_name). */
function timedPerFrame(format: string): boolean {
  return format.split(',').some((f) => f === 'matroska' || f === 'webm');
}

/**
 * The output's time base: the finest tick that both the source's time base and the grid of its nominal
 * rate (r_frame_rate) fall on, 1/lcm(source denominator, rate numerator), so that frames the decoder
 * puts on that grid (a constant-rate Matroska file stores 1 ms ticks: 0.033, 0.067 s at 29.97 fps) come
 * out on it exactly, and the rest keep their own ticks. The source's own when there is no such tick
 * (a time base with a numerator above 1, an unknown rate, a tick finer than 1/2^31 s).
 */
export function gridTimeBase(timeBase: string, rFrameRate: string): string {
  const tb = /^(\d+)\/(\d+)$/.exec(timeBase);
  const r = /^(\d+)\/(\d+)$/.exec(rFrameRate);
  if (tb === null || r === null || Number(tb[1]) !== 1 || Number(r[2]) === 0 || Number(r[1]) === 0) return timeBase;
  const den = Number(tb[2]);
  const num = Number(r[1]) / gcd(Number(r[1]), Number(r[2]));
  const lcm = (den / gcd(den, num)) * num;
  return Number.isSafeInteger(lcm) && lcm < 2 ** 31 ? `1/${lcm}` : timeBase;
}

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/**
 * A run that read each frame's own time but writes evenly spaced frames (ffmpeg before 5.1), or keeps
 * them in outputs whose container holds a fixed rate (`fixedRateFiles`: frames repeated or dropped
 * there), cannot tell from the probe alone whether a Matroska / WebM input's rate varies: this watches the
 * times and gives the note when some frame lies more than half a frame from its evenly spaced place.
 */
export function evenSpacingWatch(
  timing: VariableTiming,
  fps: number,
  fixedRateFiles: readonly string[] = [],
): { see(index: number, timeSec: number): void; note(): string | null } {
  const fixed = timing.encoderTimeBase !== null && fixedRateFiles.length > 0;
  const watch = (timing.evenReason !== null && timing.note === null) || fixed;
  let uneven = false;
  return {
    see(index, timeSec) {
      if (watch && !uneven && Math.abs(timeSec - index / fps) > 0.5 / fps) uneven = true;
    },
    note: () => timing.note ?? (!uneven ? null : fixed ? fixedRateNote(fixedRateFiles, fps) : timing.evenReason),
  };
}
