import { BantayError, ErrorCode, isAbortError, isBantayError } from './errors.ts';

/**
 * Failure classification, in one place: every surface (CLI exit code and message, audit row,
 * job_runs, Slack, the scheduler, monitoring) names a failure the same way.
 *
 * - cancelled: a person or a signal asked the job to stop.
 * - failed: the job could not do its work, for the FIRST real cause: the store is full, the
 *   store cannot be reached, the database went away, a table stayed locked past
 *   BANTAY_LOCK_TIMEOUT, a tool failed... Errors that are consequences of Bantay's own reaction
 *   (pg_dump killed by our abort, a broken pipe, a premature close) never win over the cause.
 * - could-not-check: a verify (or drill) could not reach a verdict because infrastructure
 *   failed (store unreachable, scratch server gone); it says nothing about the backup.
 */
export type FailureOutcome = 'cancelled' | 'failed' | 'could-not-check';

export type FailureCause =
  | 'cancelled'
  | 'store-full'
  | 'disk-full'
  | 'store-unreachable'
  | 'store-error'
  | 'database-gone'
  | 'database-error'
  | 'lock-timeout'
  | 'tool-error'
  | 'integrity'
  | 'key-missing'
  | 'not-found'
  | 'invalid-input'
  | 'config'
  | 'follow-up-step'
  | 'internal';

export interface FailureClassification {
  outcome: FailureOutcome;
  cause: FailureCause;
  /** A few words for people: "the backup store is full". */
  summary: string;
  /** What to do about it, one sentence. */
  remedy: string;
}

const TEXT: Record<FailureCause, { summary: string; remedy: string }> = {
  cancelled: { summary: 'cancelled', remedy: 'Nothing was kept; run it again when you are ready.' },
  'store-full': { summary: 'no space left where the backup is written (store full)', remedy: 'Free space on the store (prune, bigger disk or quota), then run it again.' },
  'disk-full': {
    summary: 'no space left on a disk being written (not the backup store)',
    remedy: 'Free space on the disk named in the message (the restore target, the database server, or BANTAY_DATA_DIR), or choose another target, then run it again; deleting backups does not help.',
  },
  'store-unreachable': {
    summary: 'the backup store could not be reached (network error, timeout or provider error 5xx)',
    remedy: "Bantay retried; check the network and the provider's status page, then run it again.",
  },
  'store-error': { summary: 'the backup store refused the request', remedy: "Check the store's credentials, permissions and bucket settings." },
  'database-gone': { summary: 'the database went away (server stopped, restarted or connection lost)', remedy: 'Check that PostgreSQL is running and reachable, then run it again.' },
  'database-error': { summary: 'the database refused the request', remedy: 'Read the error; check DATABASE_URL, the role and its privileges.' },
  'lock-timeout': {
    summary: 'a table stayed locked longer than BANTAY_LOCK_TIMEOUT',
    remedy: 'See which session held the lock (named above), let it finish or end it, then run it again; or raise BANTAY_LOCK_TIMEOUT.',
  },
  'tool-error': { summary: 'a PostgreSQL tool failed', remedy: "Read the tool's message; check the pg tools' version (BANTAY_PG_BIN) and the connection." },
  integrity: { summary: 'the backup does not match what was written', remedy: 'Do not rely on this backup; take a new one and look for the cause (storage, tampering).' },
  'key-missing': { summary: 'the decryption key is not configured', remedy: 'Add the key named in the message to BANTAY_DECRYPTION_KEYS.' },
  'not-found': { summary: 'not found', remedy: 'Check the id (bantay list).' },
  'invalid-input': { summary: 'refused', remedy: 'Check the input named in the message.' },
  config: { summary: 'the configuration is invalid', remedy: 'Fix the variables listed.' },
  'follow-up-step': {
    summary: 'restored, but a step after the restore failed',
    remedy: 'Do not restore again: the data is in place; do the failed step named in the message by hand.',
  },
  internal: { summary: 'an unexpected error', remedy: "Look in the log for the error id; this is a bug worth reporting." },
};

/** Causes that say the infrastructure failed, not the thing being checked. */
const INFRASTRUCTURE: ReadonlySet<FailureCause> = new Set(['store-full', 'disk-full', 'store-unreachable', 'store-error', 'database-gone', 'lock-timeout', 'internal']);

export interface ClassifyOptions {
  /** A person or a signal asked (the job's own signal is aborted). */
  cancelled?: boolean;
  /** A verify/drill: infrastructure failures become could-not-check. */
  checking?: boolean;
}

export function classifyFailure(err: unknown, options: ClassifyOptions = {}): FailureClassification {
  // A person's or a signal's cancel wins over what an inner job already named.
  if (isBantayError(err) && err.classification && !(options.cancelled && err.classification.outcome !== 'cancelled')) return err.classification;
  const cause = options.cancelled ? 'cancelled' : causeOf(err);
  const outcome: FailureOutcome = cause === 'cancelled' ? 'cancelled' : options.checking && INFRASTRUCTURE.has(cause) ? 'could-not-check' : 'failed';
  return { outcome, cause, ...TEXT[cause] };
}

/**
 * The job's error, named: a BantayError carrying its classification, whose message leads with
 * what failed and why ("Backup failed: the backup store is full: put …: ENOSPC …") and whose
 * details end with the remedy. Cancellations read "<what> cancelled".
 */
export function classifiedError(what: string, err: unknown, options: ClassifyOptions = {}): ClassifiedError {
  const c = classifyFailure(err, options);
  const inner = isBantayError(err) ? err : undefined;
  // What a cancelled or refused job's own error adds ("the live database was not changed") stays.
  if (c.outcome === 'cancelled') return classified(ErrorCode.Aborted, `${what} cancelled`, { cause: err, details: inner?.details ?? [], classification: c });
  // A refusal (bad input, a name taken, an invalid configuration) is not a failure of the job, and
  // a restore whose follow-up step failed did restore: their own sentences say it all.
  if (inner !== undefined && (c.cause === 'invalid-input' || c.cause === 'config' || c.cause === 'follow-up-step')) {
    return classified(inner.code, inner.message, { cause: err, details: inner.details, classification: c });
  }
  // Named already by a job it ran (a point-in-time restore's copy, an in-place restore's safety
  // backup): its message has the summary and its details the remedy.
  if (inner?.classification !== undefined) return classified(inner.code, `${what} failed: ${inner.message}`, { cause: err, details: inner.details, classification: c });
  const reason = err instanceof Error ? err.message : String(err);
  const verb = c.outcome === 'could-not-check' ? 'could not be checked' : 'failed';
  const code = inner?.code ?? ErrorCode.Internal;
  const status = httpStatusOf(err);
  const summary = status !== undefined && (c.cause === 'store-unreachable' || c.cause === 'store-error') ? `${c.summary} (HTTP ${status})` : c.summary;
  const message = c.cause === 'internal' || c.cause === 'not-found' || c.cause === 'invalid-input' || c.cause === 'config' ? `${what} ${verb}: ${reason}` : `${what} ${verb}: ${summary}: ${reason}`;
  return classified(code, message, { cause: err, details: [...(inner?.details ?? []), c.remedy], classification: c });
}

/** A BantayError as classifiedError returns it: it always carries its classification. */
export type ClassifiedError = BantayError & { readonly classification: FailureClassification };

function classified(code: ErrorCode, message: string, options: { cause: unknown; details: readonly string[]; classification: FailureClassification }): ClassifiedError {
  return new BantayError(code, message, options) as ClassifiedError;
}

/**
 * A restore that is in place but whose step after it (starting the application, an after-swap
 * hook) failed: named so that nobody restores a second time.
 */
export function followUpStepError(message: string, options: { cause?: unknown; details?: string[] } = {}): BantayError {
  return new BantayError(ErrorCode.Tool, message, { ...options, classification: { outcome: 'failed', cause: 'follow-up-step', ...TEXT['follow-up-step'] } });
}

/** The outcome as job_runs and audit rows record it. */
export function statusOf(c: FailureClassification): 'cancelled' | 'failed' | 'could-not-check' {
  return c.outcome;
}

/** Exit codes: 1 failed, 3 could not check, 130 cancelled (as a shell reports SIGINT). */
export function exitCodeOf(c: FailureClassification): number {
  return c.outcome === 'cancelled' ? 130 : c.outcome === 'could-not-check' ? 3 : 1;
}

/**
 * Remembers the first error that is a real cause. Jobs note every error they see, in the order
 * they see them; errors that only follow from Bantay's own reaction (aborts, broken pipes,
 * premature closes, a tool killed by our signal) are remembered only if nothing better comes.
 */
export class FirstFailure {
  #real: unknown;
  #fallback: unknown;
  #seen = false;

  note(err: unknown): void {
    if (isConsequence(err)) {
      if (!this.#seen && this.#fallback === undefined) this.#fallback = err;
      return;
    }
    if (!this.#seen) {
      this.#real = err;
      this.#seen = true;
    }
  }

  /** The first real cause, else the first consequence, else `otherwise`. */
  get(otherwise?: unknown): unknown {
    return this.#seen ? this.#real : (this.#fallback ?? otherwise);
  }
}

/** Errors that are the echo of another failure, never its cause. */
export function isConsequence(err: unknown): boolean {
  if (isAbortError(err)) return true;
  const code = (err as { code?: unknown } | null)?.code;
  if (code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED' || code === 'ERR_STREAM_WRITE_AFTER_END') return true;
  const message = err instanceof Error ? err.message : '';
  return /premature close|write after end|Cannot call write after a stream was destroyed/i.test(message);
}

function causeOf(err: unknown): FailureCause {
  const chain = chainOf(err);
  const codes = new Set(chain.map((e) => (e as { code?: unknown }).code).filter((c): c is string => typeof c === 'string'));
  const text = chain.map((e) => (e instanceof Error ? e.message : String(e))).join(' | ');
  const top = chain.find(isBantayError)?.code;
  // A full disk is the store's only when the store's own request failed (a Storage error in the
  // chain): a restore target, a scratch directory, BANTAY_DATA_DIR or the database server's disk
  // is another disk, and pruning backups, the store's remedy, would not free it.
  if (codes.has('ENOSPC') || codes.has('EDQUOT') || codes.has('53100') || /no space left on device|disk quota exceeded/i.test(text)) {
    return chain.some((e) => isBantayError(e) && e.code === ErrorCode.Storage) ? 'store-full' : 'disk-full';
  }
  // pg_dump --lock-wait-timeout cancels its LOCK TABLE with a statement timeout.
  if (codes.has('55P03') || /lock timeout|could not obtain lock|lock_timeout|statement timeout[\s\S]*LOCK TABLE/i.test(text)) return 'lock-timeout';
  if (top === ErrorCode.Aborted || (top === undefined && isAbortError(err))) return 'cancelled';
  switch (top) {
    case ErrorCode.Storage:
      return isNetworkish(chain, codes, text) ? 'store-unreachable' : 'store-error';
    case ErrorCode.Database:
      return isDatabaseGone(codes, text) || isNetworkish(chain, codes, text) ? 'database-gone' : 'database-error';
    case ErrorCode.Tool:
      return isDatabaseGone(codes, text) ? 'database-gone' : 'tool-error';
    case ErrorCode.Integrity:
      return 'integrity';
    case ErrorCode.KeyMissing:
      return 'key-missing';
    case ErrorCode.NotFound:
      return 'not-found';
    case ErrorCode.InvalidInput:
      return 'invalid-input';
    case ErrorCode.ConfigInvalid:
    case ErrorCode.Usage:
      return 'config';
    default:
      if (isDatabaseGone(codes, text)) return 'database-gone';
      return 'internal';
  }
}

const NETWORK_CODES = ['ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED', 'UND_ERR_SOCKET'];

function isNetworkish(chain: unknown[], codes: Set<string>, text: string): boolean {
  if (NETWORK_CODES.some((c) => codes.has(c))) return true;
  for (const e of chain) {
    const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status !== undefined && (status >= 500 || status === 429 || status === 408)) return true;
    const name = (e as { name?: unknown }).name;
    if (name === 'TimeoutError' || name === 'RequestTimeout' || name === 'InternalError' || name === 'ServiceUnavailable' || name === 'SlowDown') return true;
  }
  return /socket hang up|timed out|timeout|ECONNRESET|ECONNREFUSED|could not be reached/i.test(text);
}

function isDatabaseGone(codes: Set<string>, text: string): boolean {
  if ([...codes].some((c) => /^(57P0[1-3]|08[0-9A-Z]{3})$/.test(c))) return true;
  return /Connection terminated|server closed the connection|terminating connection|connection to server .* failed|the database system is (shutting down|starting up)|ECONNREFUSED/i.test(text);
}

function httpStatusOf(err: unknown): number | undefined {
  for (const e of chainOf(err)) {
    const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    if (status !== undefined) return status;
  }
  return undefined;
}

function chainOf(err: unknown): unknown[] {
  const out: unknown[] = [];
  let current: unknown = err;
  while (current !== undefined && current !== null && out.length < 12 && !out.includes(current)) {
    out.push(current);
    const errors = (current as { errors?: unknown }).errors;
    if (Array.isArray(errors)) out.push(...errors.slice(0, 4));
    current = (current as { cause?: unknown }).cause;
  }
  return out;
}
