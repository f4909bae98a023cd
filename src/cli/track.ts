/**
 * `steady track <input>`: the motion of a clip as data (the steady-motion file, JSON or CSV), optionally
 * a region followed through it (`--roi`), a vid.stab transforms file (`--trf`) and a video with the
 * region drawn on it (`--overlay`).
 *
 * Global motion is registered on an analysis copy of each frame (the Y plane, shrunk by area averaging
 * to at most `--analysis-width` px wide) and carried back to input pixels exactly; the region is tracked
 * on the full-resolution Y plane. Files are written under temporary names and renamed when the run
 * succeeds: a bad region, a failure or Ctrl-C leaves no output file.
 */
import { createWriteStream, type WriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { InputError, RuntimeError, SteadyError, UsageError } from '../errors.js';
import { createGrayImage, grayFromBytesInto } from '../image/gray-image.js';
import type { Mat3 } from '../motion/mat3.js';
import { MODEL_NAMES, type ModelName } from '../motion/model-name.js';
import { createFrameAnalyzer, REFERENCE_MODES, type ReferenceMode } from '../stabilize/frame-analyzer.js';
import { KEYFRAME_MIN_CC, KEYFRAME_MIN_OVERLAP } from '../stabilize/stabilizer.js';
import { type MotionFileFormat, MotionFileEncoder, type MotionRecord, motionFormatFromPath } from '../track/motion-file.js';
import { drawMotionVectors, drawQuad, OVERLAY_GREEN, OVERLAY_YELLOW } from '../track/overlay.js';
import { createRoiTracker, parseRoi, type RoiFrameResult, type RoiRect, type RoiTracker, validateRoi } from '../track/roi-tracker.js';
import { formatGlobalMotionsTrf } from '../track/trf.js';
import { expectInteger, expectNumber, expectOneOf, expectSeconds, MIN_DURATION_SEC } from '../validate.js';
import { downscaleYInto } from '../video/analysis.js';
import { type Decoder, deliveredColour, openDecoder } from '../video/decoder.js';
import { type Encoder, openEncoder } from '../video/encoder.js';
import { keepsInputAudio, metadataSourceOf, probeVideo, rawStreamFrameRate } from '../video/probe.js';
import { createTempOutput, samePath, type TempOutput } from '../video/temp-output.js';
import { cutReadsFrameTimes, evenSpacingWatch, firstFrameOffsetFromProbe, variableTimingFor } from '../video/vfr.js';
import { type CommandSpec, flagBool, flagString, type ParsedArgs } from './args.js';
import type { Command, CommandContext } from './command.js';

/** Default longest analysis width: 800x600 and 960x540 are registered at full resolution, 1080p halved. */
export const TRACK_ANALYSIS_WIDTH = 960;

/** Smallest frame side tracked, pixels (the same minimum as `steady stabilize`). */
const MIN_SIDE_PX = 16;

const spec: CommandSpec = {
  name: 'track',
  usage: 'track <input> [-o motion.json|motion.csv] [options]',
  summary: 'track the motion of a clip (and a region of interest) and write it as data',
  description: [
    'Registers every frame by pyramid ECC and writes the steady-motion file (docs/motion-format.md): per frame',
    '`motion` maps pixel coordinates of frame k-1 to frame k, `fromReference` maps the reference frame to frame k,',
    'with `ok`, `cc`, `time`. Without -o the file (JSON) goes to standard output.',
    'With --roi x,y,w,h the region (in frame --roi-frame, default 0) is tracked by masked ECC from that frame,',
    'seeded by the camera motion; each frame gets `roi` (corners top-left, top-right, bottom-right, bottom-left,',
    'null when lost) and `roiStatus` (tracked|lost|recovered|before). A region not wholly inside the frame, smaller',
    'than 16x16 px or too flat to track is refused (exit 2, no output file).',
    '--trf writes the motion as vid.stab global motions for ffmpeg: -vf vidstabtransform=input=FILE:relative=1.',
  ].join('\n'),
  flags: [
    { name: 'output', short: 'o', type: 'string', value: 'FILE', help: 'motion file: .json or .csv (- or none: JSON on stdout)' },
    { name: 'model', type: 'string', value: 'NAME', help: `camera motion model: ${MODEL_NAMES.join('|')}`, defaultText: 'similarity' },
    { name: 'reference', type: 'string', value: 'MODE', help: 'register against: previous (frame to frame) | first | keyframe', defaultText: 'previous' },
    { name: 'roi', type: 'string', value: 'X,Y,W,H', help: 'track this region (pixels of the chosen frame)' },
    { name: 'roi-frame', type: 'string', value: 'N', help: 'frame (0-based) the region is chosen in', defaultText: '0' },
    { name: 'roi-model', type: 'string', value: 'NAME', help: 'region warp: homography | affine', defaultText: 'homography' },
    { name: 'overlay', type: 'string', value: 'FILE', help: 'write the video with the region drawn on it (e.g. overlay.mp4)' },
    { name: 'vectors', type: 'boolean', help: 'with --overlay: also draw the camera motion as vectors (x4)' },
    { name: 'trf', type: 'string', value: 'FILE', help: 'also write vid.stab global motions (for ffmpeg vidstabtransform)' },
    { name: 'analysis-width', type: 'string', value: 'PX', help: 'register the camera motion on frames at most this wide', defaultText: String(TRACK_ANALYSIS_WIDTH) },
    { name: 'start', type: 'string', value: 'SEC', help: 'start at this time: seconds or [HH:]MM:SS[.fff] (as ffmpeg -ss)' },
    { name: 'duration', type: 'string', value: 'SEC', help: 'track at most this long: seconds or [HH:]MM:SS[.fff] (as ffmpeg -t)' },
    { name: 'framerate', type: 'string', value: 'FPS', help: 'frame rate of an image sequence input (e.g. frames/%04d.png) or of a raw .h264/.hevc stream' },
    { name: 'json', type: 'boolean', help: 'print a one-line JSON summary on stdout (needs -o FILE)' },
    { name: 'quiet', type: 'boolean', help: 'no summary on stderr' },
  ],
  examples: [
    'steady track clip.mp4 -o motion.json                         # camera motion per frame',
    'steady track clip.mp4 -o motion.csv --model affine           # the same as CSV',
    'steady track clip.mp4 -o motion.json --roi 100,80,64,48 --overlay boxed.mp4',
    'steady track clip.mp4 -o m.json --trf global_motions.trf && ffmpeg -i clip.mp4 -vf vidstabtransform=input=global_motions.trf:relative=1 out.mp4',
  ],
  positionals: { min: 1, max: 1, names: '<input>' },
};

/** What `--json` prints. */
export interface TrackSummary {
  readonly input: string;
  readonly output: string;
  readonly frames: number;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
  readonly model: ModelName;
  readonly reference: ReferenceMode;
  readonly failedFrames: number;
  readonly roi: { readonly tracked: number; readonly lost: number; readonly recovered: number; readonly before: number } | null;
  readonly overlay: string | null;
  readonly trf: string | null;
}

/**
 * Writes a text chunk and waits until the stream took it (its write callback): that is the backpressure,
 * and a write that fails (a full disk) rejects here even when the stream failed earlier, instead of
 * waiting for a 'drain' that never comes.
 */
async function writeChunk(stream: NodeJS.WritableStream, text: string): Promise<void> {
  if (text === '') return;
  await new Promise<void>((res, rej) => {
    stream.write(text, (err?: Error | null) => (err ? rej(err) : res()));
  });
}

async function closeStream(stream: WriteStream): Promise<void> {
  if (stream.errored) throw stream.errored;
  stream.end();
  // Resolves when the file is complete and closed; rejects with the write error otherwise.
  await finished(stream);
}

async function run(args: ParsedArgs, ctx: CommandContext): Promise<number> {
  const input = args.positionals[0] as string;
  const outputArg = flagString(args, 'output');
  const output = outputArg === undefined || outputArg === '-' ? '-' : outputArg;
  const model = expectOneOf('--model', flagString(args, 'model') ?? 'similarity', MODEL_NAMES);
  const reference = expectOneOf('--reference', flagString(args, 'reference') ?? 'previous', REFERENCE_MODES);
  const roiText = flagString(args, 'roi');
  const roi: RoiRect | null = roiText === undefined ? null : parseRoi(roiText);
  const roiFrameText = flagString(args, 'roi-frame');
  if (roiFrameText !== undefined && roi === null) throw new UsageError('E_BAD_OPTION', '--roi-frame needs --roi x,y,w,h (the region to track)');
  const roiFrame = expectInteger('--roi-frame', roiFrameText ?? '0', 0, Number.MAX_SAFE_INTEGER);
  const roiModel = expectOneOf('--roi-model', flagString(args, 'roi-model') ?? 'homography', ['homography', 'affine'] as const);
  const overlay = flagString(args, 'overlay') ?? null;
  const vectors = flagBool(args, 'vectors');
  if (vectors && overlay === null) throw new UsageError('E_BAD_OPTION', '--vectors draws on the --overlay video; give --overlay FILE too');
  const trf = flagString(args, 'trf') ?? null;
  const analysisWidth = expectInteger('--analysis-width', flagString(args, 'analysis-width') ?? String(TRACK_ANALYSIS_WIDTH), 32, 8192);
  const startText = flagString(args, 'start');
  const durationText = flagString(args, 'duration');
  const framerateText = flagString(args, 'framerate');
  const startSec = startText === undefined ? undefined : expectSeconds('--start', startText, 0);
  const durationSec = durationText === undefined ? undefined : expectSeconds('--duration', durationText, MIN_DURATION_SEC);
  let framerate = framerateText === undefined ? undefined : expectNumber('--framerate', framerateText, 1e-3, 10000);
  const json = flagBool(args, 'json');
  const quiet = flagBool(args, 'quiet');
  if (json && output === '-') throw new UsageError('E_BAD_OPTION', '--json prints the summary on stdout, so the motion file needs a name: add -o motion.json');
  for (const [flag, p] of [
    ['-o', output],
    ['--overlay', overlay],
    ['--trf', trf],
  ] as const) {
    if (p !== null && samePath(p, input)) throw new UsageError('E_OUTPUT_IS_INPUT', `${flag} ${JSON.stringify(p)} is the input file; choose another output path`);
  }
  if (overlay !== null && output !== '-' && samePath(overlay, output)) throw new UsageError('E_BAD_OPTION', '--overlay and -o name the same file');
  if (trf !== null && output !== '-' && samePath(trf, output)) throw new UsageError('E_BAD_OPTION', '--trf and -o name the same file');
  if (trf !== null && overlay !== null && samePath(trf, overlay)) throw new UsageError('E_BAD_OPTION', '--trf and --overlay name the same file');
  const format: MotionFileFormat = output === '-' ? 'json' : motionFormatFromPath(output);

  let probe = await probeVideo(input, { ...(framerate !== undefined ? { framerate } : {}), ...(ctx.signal ? { signal: ctx.signal } : {}) });
  // A raw H.264/HEVC stream is read at the rate its own timing declares, as `steady stabilize` reads it.
  const rawRate = await rawStreamFrameRate(input, probe, framerate !== undefined ? { framerate } : {});
  if (rawRate !== null) {
    framerate = rawRate;
    probe = await probeVideo(input, { framerate, ...(ctx.signal ? { signal: ctx.signal } : {}) });
  }
  // A variable frame rate: the motion file (and the overlay, with ffmpeg 5.1+) keeps each frame's time.
  const timing = variableTimingFor(probe, framerate !== undefined);
  // A cut of a clip with sound is measured on the sound's clock, as `steady stabilize` measures it: the
  // same frames, so that its motion file serves stabilize's --transforms-in on the same cut.
  const keepsAudio = keepsInputAudio(input, probe);
  const readsTimes = timing.decoderTimestamps || cutReadsFrameTimes(startSec, durationSec, keepsAudio);
  const firstOffset = readsTimes && keepsAudio ? firstFrameOffsetFromProbe(probe, startSec) : undefined;
  const decoder: Decoder = await openDecoder(input, {
    probe,
    ...(readsTimes ? { timestamps: true } : {}),
    ...(firstOffset !== undefined ? { firstFrameOffsetSec: firstOffset } : {}),
    ...(startSec !== undefined ? { startSec } : {}),
    ...(durationSec !== undefined ? { durationSec } : {}),
    ...(framerate !== undefined ? { framerate } : {}),
    ...(ctx.signal ? { signal: ctx.signal } : {}),
  });
  const { width, height, fps } = decoder;
  const spacing = evenSpacingWatch(timing, overlay === null ? [] : [overlay]);
  if (width < MIN_SIDE_PX || height < MIN_SIDE_PX) {
    // Registration on a few pixels gives only failures: refuse as `steady stabilize` does.
    await decoder.close();
    throw new InputError('E_VIDEO_TOO_SMALL', `${JSON.stringify(input)} is ${width}x${height}; steady needs frames of at least ${MIN_SIDE_PX}x${MIN_SIDE_PX} pixels`);
  }
  const known = decoder.probe.frameCount;
  if (roi !== null) {
    validateRoi(roi, width, height, roiFrame);
    if (known !== null && startSec === undefined && durationSec === undefined && roiFrame >= known) {
      await decoder.close();
      throw new UsageError('E_BAD_ROI', `--roi-frame ${roiFrame} is past the end of ${JSON.stringify(input)} (${known} frames, 0..${known - 1})`);
    }
  }

  // Outputs: temporary names, renamed at the end.
  const temps: TempOutput[] = [];
  let motionStream: WriteStream | null = null;
  let encoder: Encoder | null = null;
  let ok = false;
  try {
    const motionTemp = output === '-' ? null : createTempOutput(output);
    if (motionTemp) temps.push(motionTemp);
    const trfTemp = trf === null ? null : createTempOutput(trf);
    if (trfTemp) temps.push(trfTemp);
    if (motionTemp) {
      motionStream = createWriteStream(motionTemp.tempPath);
      // Always listened to: a write still pending when the run fails and the stream is destroyed errors
      // after the fact; writeChunk and closeStream report real write errors themselves.
      motionStream.on('error', () => {});
    }
    const sink: NodeJS.WritableStream = motionStream ?? ctx.stdout;
    const metadataFrom = metadataSourceOf(input, probe, framerate !== undefined);
    const openOverlay = (file: string): Promise<Encoder> =>
      openEncoder(file, {
        width,
        height,
        fps: timing.fps,
        colour: deliveredColour(probe),
        sampleAspectRatio: probe.sampleAspectRatio,
        ...(metadataFrom !== undefined ? { metadataFrom } : {}),
        ...(timing.encoderTimeBase !== null ? { timeBase: timing.encoderTimeBase, timeOffsetSec: decoder.timeOffsetSec, ...(timing.constantRate ? { constantRate: true } : {}) } : {}),
        ...(keepsAudio ? { audioFrom: probe.spooledPath ?? input } : {}),
        ...(startSec !== undefined ? { audioStartSec: startSec } : {}),
        ...(durationSec !== undefined ? { audioDurationSec: durationSec } : {}),
        signal: ctx.signal,
      });
    // With variable timing the overlay starts at the first frame, which says where it is against the audio.
    if (overlay !== null && timing.encoderTimeBase === null) encoder = await openOverlay(overlay);

    const a = width <= analysisWidth ? { width, height } : { width: analysisWidth, height: Math.max(1, Math.round((height * analysisWidth) / width)) };
    // Camera motion: the stabilizer's frame analyzer (no pre-filter: sharp frames at up to full size).
    const analyzer = createFrameAnalyzer(
      {
        width,
        height,
        analysisWidth: a.width,
        analysisHeight: a.height,
        model,
        reference,
        iterations: 50,
        epsilonPx: 0.01,
        keyframeMinCc: KEYFRAME_MIN_CC,
        keyframeMinOverlap: KEYFRAME_MIN_OVERLAP,
        gaussianSize: 0,
      },
      downscaleYInto,
    );
    const full = roi !== null ? createGrayImage(width, height) : null;
    let roiTracker: RoiTracker | null = null;
    const counts = { tracked: 0, lost: 0, recovered: 0, before: 0 };

    const enc = new MotionFileEncoder({ width, height, fps }, format, { roi: roi !== null });
    await writeChunk(sink, enc.begin());
    const trfMotions: { motion: Mat3 }[] = [];
    let frames = 0;
    for await (const f of decoder) {
      frames++;
      const g = analyzer.analyze(f.index, f.y);
      const motion = Float64Array.from(g.motion);
      const record: { -readonly [K in keyof MotionRecord]: MotionRecord[K] } = {
        index: f.index,
        timeSec: f.timeSec,
        ok: g.ok,
        cc: g.cc,
        motion,
        fromReference: Float64Array.from(g.fromReference),
        referenceIndex: g.referenceIndex,
      };
      if (trfTemp) trfMotions.push({ motion });
      let roiResult: RoiFrameResult | null = null;
      if (roi !== null && full !== null) {
        if (f.index < roiFrame) {
          record.roi = null;
          record.roiStatus = 'before';
        } else {
          grayFromBytesInto(full, f.y);
          if (roiTracker === null) {
            roiTracker = createRoiTracker(width, height, roi, { model: roiModel });
            roiResult = roiTracker.start(full);
          } else {
            roiResult = roiTracker.track(full, motion);
          }
          record.roi = roiResult.corners;
          record.roiStatus = roiResult.status;
        }
        counts[record.roiStatus]++;
      }
      await writeChunk(sink, enc.encodeFrame(record));
      if (overlay !== null) {
        encoder ??= await openOverlay(overlay);
        if (vectors && f.index > 0) drawMotionVectors(f, motion, OVERLAY_YELLOW);
        if (roiResult?.corners) drawQuad(f, roiResult.corners, OVERLAY_GREEN, Math.max(2, Math.round(width / 320)));
        await encoder.write(f.data, f.timeSec);
        spacing.see(f.index, f.timeSec);
      }
    }
    if (frames === 0) throw new InputError('E_NO_FRAMES', `${JSON.stringify(input)} gave no frames to track${startSec !== undefined ? ` after --start ${startSec}` : ''}`);
    if (roi !== null && roiTracker === null) {
      throw new UsageError('E_BAD_ROI', `--roi-frame ${roiFrame} is past the end of the clip (${frames} frames, 0..${frames - 1})`);
    }
    await writeChunk(sink, enc.end());
    if (motionStream !== null) await closeStream(motionStream);
    if (trfTemp) {
      const { writeFile } = await import('node:fs/promises');
      await writeFile(trfTemp.tempPath, formatGlobalMotionsTrf(trfMotions, { width, height }));
    }
    const encodeResult = encoder !== null ? await encoder.finish() : null;
    for (const t of temps) await t.commit();
    ok = true;

    const summary: TrackSummary = {
      input,
      output,
      frames,
      width,
      height,
      fps,
      model,
      reference,
      failedFrames: analyzer.failedFrames,
      roi: roi !== null ? counts : null,
      overlay,
      trf,
    };
    if (json) ctx.stdout.write(`${JSON.stringify(summary)}\n`);
    if (!quiet) {
      const parts = [`tracked ${frames} frames (${width}x${height}, ${model}, reference ${reference}${rawRate === null ? '' : `, ${Number(rawRate.toFixed(3))} fps from the raw stream's timing`}), ${analyzer.failedFrames} failed`];
      if (roi !== null) parts.push(`region: ${counts.tracked} tracked, ${counts.lost} lost, ${counts.recovered} recovered${counts.before ? `, ${counts.before} before frame ${roiFrame}` : ''}`);
      if (output !== '-') parts.push(`wrote ${output}`);
      if (trf !== null) parts.push(`wrote ${trf}`);
      const overlayNotes = [...(encodeResult?.notes ?? []), ...(spacing.note() === null ? [] : [spacing.note() as string])];
      if (overlay !== null) parts.push(`wrote ${overlay}${overlayNotes.length ? ` (${overlayNotes.join('; ')})` : ''}`);
      ctx.stderr.write(`steady track: ${parts.join('; ')}\n`);
    }
    return 0;
  } catch (err) {
    if (err instanceof Error && !(err instanceof SteadyError) && typeof (err as NodeJS.ErrnoException).syscall === 'string') {
      throw new RuntimeError('E_OUTPUT_WRITE', `cannot write the output: ${err.message}`, { cause: err });
    }
    throw err;
  } finally {
    if (!ok) {
      // Wait for the stream to close: one destroyed before its file was open still opens (creates) it,
      // and a removal before that would leave the temporary file behind.
      const stream = motionStream;
      if (stream !== null) {
        await new Promise<void>((resolve) => {
          if (stream.closed) resolve();
          else {
            stream.once('close', () => resolve());
            stream.destroy();
          }
        });
      }
      if (encoder !== null) await encoder.abort();
      for (const t of temps) await t.discard();
    }
    await decoder.close();
  }
}

export const command: Command = { spec, run };
