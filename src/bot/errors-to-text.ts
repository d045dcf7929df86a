import { randomBytes } from 'node:crypto';
import { ErrorCode, isBantayError } from '../errors.ts';
import { classifyFailure, type FailureClassification } from '../failure.ts';
import type { Logger } from '../log/logger.ts';
import { redactSecrets } from '../log/redact.ts';
import { escape } from './messages/blocks.ts';

/**
 * The one place the bot turns errors into Slack text. Bantay's own errors carry a message
 * meant for people; anything else is a bug or an outage we did not anticipate, so the person
 * gets a short sentence plus an error id, and the log gets the same id with the whole error.
 */
export interface FailureText {
  /** One human sentence (may be followed by details). Already escaped for mrkdwn. */
  sentence: string;
  /** Extra lines (config problems...), escaped. */
  details: string[];
  /** The id logged with the error; shown to the user. */
  errorId: string;
  /** cancelled / failed (with its cause) / could-not-check, as everywhere else (src/failure.ts). */
  classification?: FailureClassification;
}

const PREFIX: Partial<Record<ErrorCode, string>> = {
  [ErrorCode.Database]: 'The database did not cooperate',
  [ErrorCode.Storage]: 'The backup store failed',
  [ErrorCode.Integrity]: 'The backup does not match what was written',
  [ErrorCode.KeyMissing]: 'The decryption key is missing',
  [ErrorCode.Tool]: 'A PostgreSQL tool failed',
  [ErrorCode.Aborted]: 'The job was cancelled',
};

export function newErrorId(): string {
  return randomBytes(4).toString('hex');
}

/** For job failures: always logs the error with a fresh id and returns text that shows it. */
export function describeFailure(err: unknown, logger: Logger, context: Record<string, unknown> = {}): FailureText {
  const errorId = newErrorId();
  if (isBantayError(err)) {
    logger.error({ err, errorId, ...context }, 'job failed');
    // A classified job error already leads with what failed and why.
    const prefix = err.classification ? undefined : PREFIX[err.code];
    const message = escape(redactSecrets(err.message));
    const classification = classifyFailure(err);
    return { sentence: prefix && !message.startsWith(prefix) ? `${prefix}: ${message}` : message, details: err.details.map((d) => escape(redactSecrets(d))), errorId, classification };
  }
  logger.error({ err, errorId, ...context }, 'job failed with an unexpected error');
  return { sentence: 'Something unexpected went wrong; the details are in the bot\'s log.', details: [], errorId, classification: classifyFailure(err) };
}

/**
 * For replies to a person (ephemeral): Bantay errors are shown as they are (they are written
 * for people and never hold secrets); unknown ones get an id that is logged.
 */
export function errorToText(err: unknown, logger: Logger, context: Record<string, unknown> = {}): string {
  if (isBantayError(err)) {
    logger.debug({ err, ...context }, 'request refused');
    const lines = [escape(redactSecrets(err.message)), ...err.details.map((d) => `• ${escape(redactSecrets(d))}`)];
    return lines.join('\n');
  }
  const errorId = newErrorId();
  logger.error({ err, errorId, ...context }, 'unexpected error in a Slack handler');
  return `:warning: Something unexpected went wrong (error id \`${errorId}\`). Nothing was started. The details are in the bot's log under that id.`;
}
