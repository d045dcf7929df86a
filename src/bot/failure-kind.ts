import { ErrorCode, isAbortError, isBantayError } from '../errors.ts';

/**
 * Which failures are worth a Retry button. This is the bot's own minimal predicate until the
 * shared failure classification (cancelled / failed with a cause / could not check, with its
 * `retryable` notion) lands in src/jobs; when it does, this file is the one place to switch.
 *
 * Retryable: the job was cancelled, or something outside Bantay was briefly unavailable (the
 * store, the database server, a PostgreSQL tool, an unexpected error). Not retryable: the
 * same click would fail the same way (bad input, a name already taken, a missing backup or
 * key, a backup that does not match what was written, a configuration problem).
 */
export function isRetryableFailure(err: unknown): boolean {
  if (isAbortError(err)) return true;
  if (!isBantayError(err)) return true;
  return RETRYABLE.has(err.code);
}

const RETRYABLE = new Set<ErrorCode>([ErrorCode.Storage, ErrorCode.Database, ErrorCode.Tool, ErrorCode.Internal, ErrorCode.Aborted]);

/** The fixing action for a failure that Retry cannot fix, when the bot has one. */
export type FixAction = { type: 'restore-another-name'; backupId: string };

export function fixActionFor(err: unknown, spec: { type: string; backup?: string; target?: { mode: string } }): FixAction | undefined {
  if (!isBantayError(err) || err.code !== ErrorCode.InvalidInput) return undefined;
  if (spec.type === 'restore' && spec.target?.mode === 'new' && spec.backup && /already exists/.test(err.message)) return { type: 'restore-another-name', backupId: spec.backup };
  return undefined;
}

/**
 * Job errors are written for the CLI too ("pass --replace", "see bantay list"). In Slack the
 * fix is a button, so clauses that spell out command-line syntax are cut from the sentence.
 */
export function withoutCliSyntax(message: string): string {
  const parts = message.split(/(?<=[;:])\s+|\s+(?=\()/);
  const kept = parts.filter((p) => !/(^|\s|\()--[a-z]/.test(p) && !/\bbantay [a-z]/.test(p) && !/`\/[a-z]/.test(p));
  const text = (kept.length > 0 ? kept : parts.slice(0, 1)).join(' ').replace(/[;:,]\s*$/, '').trim();
  return text.replace(/\s*\(\s*\)/g, '');
}
