/**
 * Variable frame rate: which parts of a run keep each frame's own time.
 *
 * Raw frames on a pipe carry no time. When the frame rate may vary, the decoder reads each frame's
 * timestamp as well (decoder.ts `timestamps`, any ffmpeg), so the motion file's times are the frames'
 * own. It may vary when the probe says so (r_frame_rate and avg_frame_rate disagree), and always in a
 * container that stores a time per frame and no rate (Matroska, WebM: ffprobe reports the rate of the
 * first frames for both there, so a gap later in the clip does not show). The stream's time base must be
 * known; image sequences are timed by --framerate instead. The encoder writes them (encoder.ts
 * `timeBase`) as they are with ffmpeg 5.1 or later (`-fps_mode`), into containers that hold a time per
 * frame. A container with a fixed rate (.avi, .mpg, ...) gets the nominal rate, frames repeated or dropped
 * to stay in step with their times and the audio; so does every output with an older ffmpeg (the bundled
 * one is from 2018), which ends an MP4 at its last frame's decode time when frames pass through with their
 * own times, so that players would drop the last B-frames. A note says so when the times were uneven.
 */
import { ffmpegFeatures } from './binaries.js';
import { containerKeepsFrameTimes } from './encoder.js';
import { parseRational, type VideoProbe } from './probe.js';

/** Said when the frames of a variable-frame-rate input are written at a fixed rate by an ffmpeg before 5.1. */
export const OLD_FFMPEG_VFR_NOTE =
  "the input's frame rate varies, and this ffmpeg (before 5.1) cannot keep each frame's time: frames are repeated or dropped to keep the nominal rate in step with the audio; set FFMPEG_PATH to ffmpeg 5.1 or later to keep them";

/** What keeps each frame's own time for an input. */
export interface VariableTiming {
  /** Ask the decoder for each frame's timestamp. */
  readonly decoderTimestamps: boolean;
  /** The encoder's `timeBase` (frames written with their times), or null (frame k at k / fps). */
  readonly encoderTimeBase: string | null;
  /**
   * Every output at a fixed rate, frames repeated or dropped to stay in step with their times (encoder
   * `constantRate`): an ffmpeg before 5.1, which ends an MP4 early when frames pass through with their own
   * times. Otherwise only outputs whose container holds a fixed rate are.
   */
  readonly constantRate: boolean;
  /**
   * The rate for the encoder (`num/den`): with frame times, the nominal rate (r_frame_rate, the rate the
   * frames are on), which a fixed-rate output keeps; ffprobe's average would drop real frames from the
   * faster parts of a clip. Its average where r_frame_rate is missing or far from it (more than 2.5x: a
   * fine time base rather than a rate). Otherwise the probe's rate.
   */
  readonly fps: string;
}

/**
 * How a run on this input treats frame times (see the file comment).
 * @param framerateGiven the input is an image sequence timed by --framerate.
 * @param ffmpegPath the ffmpeg that will encode. @default the resolved one
 */
export function variableTimingFor(probe: VideoProbe, framerateGiven: boolean, ffmpegPath?: string): VariableTiming {
  const variable = (probe.variableFrameRate || timedPerFrame(probe.format)) && probe.timeBase !== null && !framerateGiven;
  if (!variable || probe.timeBase === null) return { decoderTimestamps: false, encoderTimeBase: null, constantRate: false, fps: probe.fpsRational };
  const r = parseRational(probe.rFrameRate);
  const nominal = r !== null && r.num / r.den <= 2.5 * probe.fps ? `${r.num}/${r.den}` : probe.fpsRational;
  return { decoderTimestamps: true, encoderTimeBase: gridTimeBase(probe.timeBase, probe.rFrameRate), constantRate: !ffmpegFeatures(ffmpegPath).fpsMode, fps: nominal };
}

/** Said, with frame times read, for the outputs written at a fixed rate (`files`, at `fps`) once the times turn out uneven. */
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
 * Outputs written at a fixed rate (all of them with an ffmpeg before 5.1, else those whose container
 * holds one) cannot show from the probe alone whether a Matroska / WebM input's rate varies: this watches
 * the frame times and gives the note once some frame lies more than half a frame from its evenly spaced
 * place. `outputs` are the files written (`-` for standard output).
 */
export function evenSpacingWatch(timing: VariableTiming, outputs: readonly string[]): { see(index: number, timeSec: number): void; note(): string | null } {
  const rate = parseRational(timing.fps);
  const fps = rate === null ? 25 : rate.num / rate.den;
  const fixed = timing.encoderTimeBase === null ? [] : outputs.filter((f) => timing.constantRate || !containerKeepsFrameTimes(f));
  let uneven = false;
  return {
    see(index, timeSec) {
      if (fixed.length > 0 && !uneven && Math.abs(timeSec - index / fps) > 0.5 / fps) uneven = true;
    },
    note: () => (!uneven ? null : timing.constantRate ? OLD_FFMPEG_VFR_NOTE : fixedRateNote(fixed, fps)),
  };
}

/**
 * A cut (--start, --duration) of an input whose sound goes to the output is measured on the sound's
 * clock: the decoder then reads each frame's time, to place the first frame against the sound (a seek
 * lands where the keyframes allow; a video can start after its sound) and to end the pictures with the
 * sound (ffmpeg's input -t counts from the first video frame it reads).
 * @param keepsAudio the input's audio goes to an output (a file, or standard input kept in a file).
 */
export function cutReadsFrameTimes(startSec: number | undefined, durationSec: number | undefined, keepsAudio: boolean): boolean {
  return keepsAudio && ((startSec !== undefined && startSec > 0) || durationSec !== undefined);
}

/**
 * Where the first frame is on the sound's clock when the input is read from its start: how much later
 * than the file's earliest stream the video starts, seconds; undefined after a --start point (the seek
 * decides, and the first frame's own time tells).
 */
export function firstFrameOffsetFromProbe(probe: VideoProbe, startSec: number | undefined): number | undefined {
  if (startSec !== undefined && startSec > 0) return undefined;
  return Math.max(0, probe.startTimeSec - probe.formatStartSec);
}
