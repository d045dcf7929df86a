import { randomBytes } from 'node:crypto';
import { ErrorCode, isBantayError } from '../errors.ts';
import { classifyFailure, exitCodeOf } from '../failure.ts';
import { redactSecrets } from '../log/redact.ts';
import type { Logger } from '../log/logger.ts';

export const EXIT_OK = 0;
export const EXIT_FAILED = 1;
export const EXIT_USAGE = 2;
/** A verify or drill could not reach a verdict: infrastructure failed, not the backup (src/failure.ts). */
export const EXIT_COULD_NOT_CHECK = 3;
/** Cancelled by a person or a signal, as a shell reports SIGINT. */
export const EXIT_CANCELLED = 130;

/**
 * The one place the CLI turns an error into text. Known errors print their message and
 * details; unknown ones print a short line with an error id that is also in the log entry.
 * Returns the exit code.
 */
export function reportError(err: unknown, logger: Logger | undefined, stderr: NodeJS.WritableStream): number {
  if (isBantayError(err)) {
    const usage = err.code === ErrorCode.ConfigInvalid || err.code === ErrorCode.Usage || err.code === ErrorCode.InvalidInput;
    stderr.write(`bantay: ${redactSecrets(err.message)}\n`);
    for (const line of err.details) stderr.write(`  - ${redactSecrets(line)}\n`);
    logger?.debug({ err }, 'command failed');
    if (usage) return EXIT_USAGE;
    return exitCodeOf(classifyFailure(err));
  }
  const errorId = randomBytes(4).toString('hex');
  logger?.error({ err, errorId }, 'unexpected error');
  const reason = err instanceof Error ? err.message : String(err);
  stderr.write(`bantay: unexpected error (id ${errorId}): ${redactSecrets(reason)}\n`);
  return EXIT_FAILED;
}
