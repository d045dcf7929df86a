import { isBantayError } from '../errors.ts';
import type { WalStatus } from '../jobs/wal/wal-status.ts';
import type { Logger } from '../log/logger.ts';
import { redactSecrets } from '../log/redact.ts';
import type { BotJobs } from './bot-jobs.ts';
import { withoutCliSyntax } from './failure-kind.ts';

/**
 * What the bot knows about point-in-time recovery: not set up here (`off`, with why), could not
 * be checked (`unchecked`: the store failed or did not answer in time, with why), or what
 * `bantay wal status` read from the store (`read`).
 */
export type PitrState =
  | { kind: 'off'; reason: string }
  | { kind: 'unchecked'; reason: string }
  | { kind: 'read'; status: WalStatus; mode: string; readAt: Date };

/**
 * The WAL archive's summary (window, newest archived file, the stream's state file) as the bot
 * sees it: read in the background and kept for `ttlMs`, like the catalog, because listing a big
 * archive can take longer than Slack's 3 seconds. A read that does not end within `loadTimeoutMs`
 * is given up on (the next call starts a new one), so a store that never answers makes the
 * callers say "could not check" instead of hanging.
 */
export class PitrStatusCache {
  #jobs: Pick<BotJobs, 'pitrNotSetUp' | 'readPitrStatus' | 'walMode'>;
  #logger: Logger;
  #ttlMs: number;
  #loadTimeoutMs: number;
  #last: PitrState | undefined;
  #loading: Promise<PitrState> | undefined;

  constructor(o: { jobs: Pick<BotJobs, 'pitrNotSetUp' | 'readPitrStatus' | 'walMode'>; logger: Logger; ttlMs?: number; loadTimeoutMs?: number }) {
    this.#jobs = o.jobs;
    this.#logger = o.logger;
    this.#ttlMs = o.ttlMs ?? 30_000;
    this.#loadTimeoutMs = o.loadTimeoutMs ?? 20_000;
  }

  /**
   * The state within `waitMs`: the cached one while fresh, else a new read if it ends in time,
   * else the last one (a stale read is still true enough to show), else `unchecked`. Never rejects.
   */
  async get(waitMs = 2000): Promise<PitrState> {
    const off = this.#jobs.pitrNotSetUp();
    if (off !== undefined) return { kind: 'off', reason: off };
    const last = this.#last;
    if (last?.kind === 'read' && Date.now() - last.readAt.getTime() < this.#ttlMs) return last;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), waitMs);
    });
    const result = await Promise.race([this.refresh(), timeout]);
    clearTimeout(timer);
    return result ?? last ?? { kind: 'unchecked', reason: 'the backup store did not answer in time' };
  }

  /** Reads the status now; concurrent callers share one read. Never rejects. */
  refresh(): Promise<PitrState> {
    this.#loading ??= this.#load().finally(() => {
      this.#loading = undefined;
    });
    return this.#loading;
  }

  async #load(): Promise<PitrState> {
    let timer: NodeJS.Timeout | undefined;
    const giveUp = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), this.#loadTimeoutMs);
    });
    try {
      const status = await Promise.race([this.#jobs.readPitrStatus(), giveUp]);
      const state: PitrState = { kind: 'read', status, mode: this.#jobs.walMode(), readAt: new Date() };
      this.#last = state;
      return state;
    } catch (err) {
      this.#logger.warn({ err }, 'could not read the WAL archive status');
      // Bantay's errors are written for people; anything else (a timeout, a bug) is said plainly.
      const reason = isBantayError(err) ? redactSecrets(withoutCliSyntax(err.message)) : 'the backup store did not answer';
      const state: PitrState = { kind: 'unchecked', reason };
      this.#last = state;
      return state;
    } finally {
      clearTimeout(timer);
    }
  }
}
