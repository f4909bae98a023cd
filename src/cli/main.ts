#!/usr/bin/env -S node --max-semi-space-size=2
/**
 * The `steady` executable: wires process signals and streams to the CLI in run.ts.
 *
 * The shebang caps V8's young generation at 2 MB per semi-space: left to itself, V8 grows it over a long
 * run (a frame job allocates small objects at a steady rate), and a 10-minute stabilize peaked 25 MB
 * higher than a 10-second one; capped, both peak within 1 MB of each other, and the job runs no slower
 * (bench/memory.mjs).
 */
import { EXIT } from '../errors.js';
import { handleSignalsInApplication } from '../video/process-registry.js';
import { main } from './run.js';

async function runFromProcess(): Promise<void> {
  const controller = new AbortController();
  let signals = 0;
  const onSignal = (sig: 'SIGINT' | 'SIGTERM') => {
    signals++;
    if (signals > 1) process.exit(sig === 'SIGINT' ? EXIT.sigint : EXIT.sigterm);
    controller.abort(sig);
  };
  process.on('SIGINT', () => onSignal('SIGINT'));
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  // The commands abort their work on these signals (killing ffmpeg, or finishing a partial file).
  handleSignalsInApplication();
  // A closed stdout pipe (`steady ... -o - | head -c 1000`, a player closed early) stops the job quietly, as
  // SIGPIPE stops `yes | head`: no message, and the status a shell shows for it (141), so that `set -o
  // pipefail` sees that the output was not written whole. The exit hook kills ffmpeg and removes temporary files.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code === 'EPIPE') process.exit(EXIT.sigpipe);
  });
  const code = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, signal: controller.signal });
  process.exitCode = code;
  // Exit explicitly once stdout has taken everything: waiting for the event loop to drain can hang on a
  // Node shutdown deadlock under load (a background compile waiting for a collection at exit).
  process.stdout.write('', () => process.exit(code));
  setTimeout(() => process.exit(code), 2000);
}

await runFromProcess();
