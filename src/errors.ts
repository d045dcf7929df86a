import type { FailureClassification } from './failure.ts';

/**
 * The one error family of Bantay. Jobs and storage only throw these (or let unknown errors
 * bubble up); exactly one place per surface (CLI: src/cli/report-error.ts, Slack later) turns
 * them into text for people. `message` is safe to show: it never contains secrets.
 */
export const ErrorCode = {
  /** The configuration is invalid; `details` lists every problem. Exit code 2. */
  ConfigInvalid: 'CONFIG_INVALID',
  /** The command line is wrong (unknown command, bad id or label). Exit code 2. */
  Usage: 'USAGE',
  /** An id, label, key or path from a user failed validation. */
  InvalidInput: 'INVALID_INPUT',
  /** The backup, object or database asked for does not exist. */
  NotFound: 'NOT_FOUND',
  /** The object store failed (network, permissions, disk full). */
  Storage: 'STORAGE',
  /** Bytes read back do not match what was written: checksum, authentication or truncation. */
  Integrity: 'INTEGRITY',
  /** No configured key can decrypt the artifact. */
  KeyMissing: 'KEY_MISSING',
  /** The source database could not be reached or refused us. */
  Database: 'DATABASE',
  /** pg_dump / pg_restore failed or are too old for the server. */
  Tool: 'TOOL',
  /** The operation was cancelled (signal, user). */
  Aborted: 'ABORTED',
  /** A bug: an invariant did not hold. */
  Internal: 'INTERNAL',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class BantayError extends Error {
  readonly code: ErrorCode;
  /** Extra human-readable lines (e.g. one per config problem). Safe to show. */
  readonly details: readonly string[];
  /** Set by jobs on the error they finally throw (src/failure.ts): what every surface shows. */
  readonly classification?: FailureClassification;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; details?: readonly string[]; classification?: FailureClassification } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'BantayError';
    this.code = code;
    this.details = options.details ?? [];
    if (options.classification) this.classification = options.classification;
  }
}

export function isBantayError(err: unknown): err is BantayError {
  return err instanceof BantayError;
}

/** Wraps an unknown error with the operation that failed, keeping BantayErrors' codes. */
export function wrapError(code: ErrorCode, operation: string, cause: unknown): BantayError {
  if (isBantayError(cause)) return cause;
  const reason = cause instanceof Error ? cause.message : String(cause);
  return new BantayError(code, `${operation}: ${reason}`, { cause });
}

/**
 * `err` with where it happened in front ("writing X: ENOSPC ..."), when it cannot say so itself:
 * a bare system error (a write's ENOSPC or EIO carries no path) or a BantayError of one of the
 * `codes` given (a tool's message with paths relative to its directory). Other errors pass as they are.
 */
export function withPlace(err: unknown, place: string, codes: readonly ErrorCode[] = []): unknown {
  const known = isBantayError(err) && codes.includes(err.code);
  if (!known && (isBantayError(err) || !isSystemError(err))) return err;
  return new BantayError(known ? (err as BantayError).code : ErrorCode.Internal, `${place}: ${(err as Error).message}`, { cause: err });
}

/** An error of the operating system itself (ENOSPC, EIO, EACCES, EPIPE...): its code is an errno name. */
export function isSystemError(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^E[A-Z]+$/.test(code);
}

/** True when `err` is (or wraps) an abort. */
export function isAbortError(err: unknown): boolean {
  if (isBantayError(err)) return err.code === ErrorCode.Aborted;
  return err instanceof Error && (err.name === 'AbortError' || (err as { code?: string }).code === 'ABORT_ERR');
}
