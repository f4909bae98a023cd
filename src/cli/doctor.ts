/** `steady doctor`: which ffmpeg and ffprobe steady uses, their versions, and whether they work. */
import { formatDoctor, runDoctor } from '../video/doctor.js';
import { flagBool, type CommandSpec, type ParsedArgs } from './args.js';
import type { Command, CommandContext } from './command.js';

const spec: CommandSpec = {
  name: 'doctor',
  usage: 'doctor [--json]',
  summary: 'show which ffmpeg/ffprobe binaries are used, their versions, and whether each is usable',
  description: [
    'Binaries are looked up in this order. ffmpeg: $FFMPEG_PATH, the ffmpeg-static package (optional; its',
    'install-time download may fail), the @ffmpeg-installer/ffmpeg package, then ffmpeg on the PATH.',
    'ffprobe: $FFPROBE_PATH, the @ffprobe-installer/ffprobe package, then ffprobe on the PATH.',
    'Exit code 0 when both work, 1 when one is missing or broken.',
  ].join('\n'),
  flags: [{ name: 'json', type: 'boolean', help: 'print the report as one JSON object' }],
  examples: ['steady doctor', 'FFMPEG_PATH=/usr/bin/ffmpeg FFPROBE_PATH=/usr/bin/ffprobe steady doctor --json'],
  positionals: { min: 0, max: 0, names: 'none' },
};

async function run(args: ParsedArgs, ctx: CommandContext): Promise<number> {
  const report = await runDoctor();
  ctx.stdout.write(flagBool(args, 'json') ? `${JSON.stringify(report)}\n` : formatDoctor(report));
  return report.ok ? 0 : 1;
}

export const command: Command = { spec, run };
