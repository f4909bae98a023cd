/**
 * Errors of steady. Every error has a stable `code` (listed in docs/errors.md) and an exit code:
 * 2 for bad usage or bad input, 1 for runtime failures (ffmpeg died, disk full).
 * A failed registration is not an error: it is a value (see register/result.ts).
 */

/** Process exit codes used by every command. */
export const EXIT = {
  ok: 0,
  runtime: 1,
  usage: 2,
  notConverged: 3,
  sigint: 130,
  sigterm: 143,
  /** The reader of standard output went away (`| head`): as a process killed by SIGPIPE reports itself to a shell. */
  sigpipe: 141,
} as const;

/** Base class: a stable code, a message that says what to do, an exit code. */
export class SteadyError extends Error {
  /** Stable machine-readable code, e.g. `E_USAGE`. */
  readonly code: string;
  /** Process exit code a CLI should use for this error. */
  readonly exitCode: number;
  constructor(code: string, message: string, exitCode: number = EXIT.runtime, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SteadyError';
    this.code = code;
    this.exitCode = exitCode;
  }
}

/** Bad usage: an unknown flag, a missing argument, an option value out of range. Exit 2. */
export class UsageError extends SteadyError {
  constructor(code: string, message: string) {
    super(code, message, EXIT.usage);
    this.name = 'UsageError';
  }
}

/** Bad input: a missing file, a file that is not an image or video, a mask of the wrong size. Exit 2. */
export class InputError extends SteadyError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, EXIT.usage, options);
    this.name = 'InputError';
  }
}

/** Runtime failure: ffmpeg died, the disk is full, the output cannot be written. Exit 1. */
export class RuntimeError extends SteadyError {
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(code, message, EXIT.runtime, options);
    this.name = 'RuntimeError';
  }
}

/** Interrupted by a signal: exit 130 (SIGINT) or 143 (SIGTERM). */
export class InterruptedError extends SteadyError {
  readonly signal: 'SIGINT' | 'SIGTERM';
  constructor(signal: 'SIGINT' | 'SIGTERM') {
    super('E_INTERRUPTED', `interrupted by ${signal}`, signal === 'SIGINT' ? EXIT.sigint : EXIT.sigterm);
    this.name = 'InterruptedError';
    this.signal = signal;
  }
}

/** Shows a value in an error message: strings quoted, long ones cut. */
export function describeValue(value: unknown): string {
  if (typeof value === 'string') {
    const s = value.length > 60 ? `${value.slice(0, 57)}...` : value;
    return JSON.stringify(s);
  }
  if (value === undefined) return 'nothing';
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  try {
    const s = JSON.stringify(value);
    return s.length > 60 ? `${s.slice(0, 57)}...` : s;
  } catch {
    return typeof value;
  }
}
