/**
 * What a CLI command is: its spec (flags, help, examples) and a run function that returns the
 * process exit code. Commands throw SteadyError subclasses for bad usage / input / runtime failures;
 * main.ts prints them as one line `steady: <CODE>: <message>` and exits with the error's code.
 */
import type { CommandSpec, ParsedArgs } from './args.js';

/** Streams and signal a command runs with (injectable for tests). */
export interface CommandContext {
  readonly stdout: NodeJS.WritableStream & { isTTY?: boolean };
  readonly stderr: NodeJS.WritableStream & { isTTY?: boolean };
  /** Aborted on SIGINT/SIGTERM; `signal.reason` is 'SIGINT' or 'SIGTERM'. */
  readonly signal: AbortSignal;
}

export interface Command {
  readonly spec: CommandSpec;
  run(args: ParsedArgs, ctx: CommandContext): Promise<number>;
}
