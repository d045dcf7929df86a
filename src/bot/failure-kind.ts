import { ErrorCode, isAbortError, isBantayError } from '../errors.ts';
import { classifyFailure, type FailureCause } from '../failure.ts';

/**
 * Which failures are worth a Retry button, on top of the shared classification (src/failure.ts:
 * cancelled / failed with its first cause / could not check). Retryable: the job was cancelled,
 * a verification could not reach a verdict, or something outside Bantay was briefly unavailable
 * (the store could not be reached, the database went away, a lock was held too long, a tool or
 * an unexpected error). Not retryable: the same click would fail the same way (bad input, a name
 * already taken, a missing backup or key, a backup that does not match what was written, a full
 * store, a refused request, a configuration problem); those get the action that fixes them.
 */
export function isRetryableFailure(err: unknown): boolean {
  if (isAbortError(err)) return true;
  const c = classifyFailure(err);
  return c.outcome !== 'failed' || RETRYABLE.has(c.cause);
}

const RETRYABLE = new Set<FailureCause>(['store-unreachable', 'database-gone', 'lock-timeout', 'tool-error', 'internal']);

/** The fixing action for a failure that Retry cannot fix, when the bot has one. */
export type FixAction = { type: 'restore-another-name'; backupId: string };

export function fixActionFor(err: unknown, spec: { type: string; backup?: string; target?: { mode: string }; from?: string }): FixAction | undefined {
  if (!isBantayError(err) || err.code !== ErrorCode.InvalidInput) return undefined;
  if (spec.type === 'restore' && spec.from !== 'secondary' && spec.target?.mode === 'new' && spec.backup && /already exists/.test(err.message)) return { type: 'restore-another-name', backupId: spec.backup };
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
