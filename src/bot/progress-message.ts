import type { ProgressReporter } from '../jobs/progress.ts';
import type { Logger } from '../log/logger.ts';
import { ChannelBudget } from './channel-budget.ts';
import type { SlackMessage } from './messages/blocks.ts';
import { retryAfterOf, slackErrorOf, type ChatApi } from './slack-api.ts';

/** What a job has reported so far; the renderer turns it into a message. */
export interface ProgressState {
  startedAt: number;
  phase: string;
  detail?: string;
  phaseStartedAt: number;
  bytes?: number;
  total?: number;
  warnings: string[];
  /** A backup set's parts, each with its own latest phase ("database" → "dumping"). */
  parts?: Record<string, string>;
  /** In-place restores: every step kind seen so far with when it started (the plan's order). */
  steps?: Array<{ kind: string; startedAt: number }>;
}

const SET_PART = /^(database|application|uploads): (.+)$/;
const IN_PLACE_STEPS = new Set(['safety-backup', 'restore-copy', 'copy-attributes', 'stop-app', 'close-connections', 'swap', 'start-app', 'confirm']);

export interface ProgressMessageOptions {
  chat: ChatApi;
  channel: string;
  render: (state: ProgressState, now: number) => SlackMessage;
  logger: Logger;
  /** At most one Slack call per this many ms for this message. Default 3000. */
  intervalMs?: number;
  clock?: () => number;
  /** The channel's shared budget (every job posting there); a private one when not given. */
  budget?: ChannelBudget;
  /** How long `finish` keeps retrying before it gives up (logging the whole message). Default 24 h. */
  finalDeadlineMs?: number;
  /** Called once the message exists (its ts), e.g. to link to it. */
  onPosted?: (ts: string) => void;
}

const DEFAULT_INTERVAL_MS = 3000;
const MAX_BACKOFF_MS = 60_000;

/**
 * One Slack message that follows a job, updated in place. The contract that keeps jobs safe
 * from Slack: the reporter only records state (synchronous, no I/O, no awaiting Slack); a
 * timer sends the latest state at most once per interval (bursts coalesce, the newest state
 * wins); a failed or rate-limited call is logged and skipped, and a 429's Retry-After delays
 * the next send. Only `finish` insists, and it runs after the job has ended.
 */
export class ProgressMessage {
  readonly reporter: ProgressReporter;
  #o: Required<Omit<ProgressMessageOptions, 'onPosted'>> & Pick<ProgressMessageOptions, 'onPosted'>;
  #stopFinal = new AbortController();
  #state: ProgressState;
  #ts: string | undefined;
  #dirty = true;
  #inFlight: Promise<void> | undefined;
  #notBefore = 0;
  #timer: NodeJS.Timeout | undefined;
  #finished = false;

  constructor(options: ProgressMessageOptions) {
    // Defaults by `??`, never by spreading: an option present but undefined (a setting nobody
    // set, passed along) must not erase the default, or every tick becomes a Slack call.
    this.#o = {
      ...options,
      intervalMs: Math.max(50, options.intervalMs ?? DEFAULT_INTERVAL_MS),
      clock: options.clock ?? Date.now,
      budget: options.budget ?? new ChannelBudget(),
      finalDeadlineMs: options.finalDeadlineMs ?? 24 * 3600_000,
    };
    const now = this.#o.clock();
    this.#state = { startedAt: now, phase: 'starting', phaseStartedAt: now, warnings: [] };
    this.reporter = {
      phase: (name, detail) => this.#phase(name, detail),
      bytes: (done, total) => this.#record({ bytes: done, total }),
      warn: (message) => this.#record({ warnings: [...this.#state.warnings, message].slice(-5) }),
    };
  }

  get ts(): string | undefined {
    return this.#ts;
  }

  get state(): Readonly<ProgressState> {
    return this.#state;
  }

  /** Posts the first message right away and starts the update timer. */
  start(): void {
    const tick = Math.max(50, Math.min(250, Math.floor(this.#o.intervalMs / 4)));
    this.#timer = setInterval(() => this.#tick(), tick);
    this.#timer.unref();
    this.#tick();
  }

  /**
   * Stops live updates and delivers `final`: queued behind the channel's budget and retried
   * (honouring Retry-After, backing off to a minute) until Slack takes it, `abandon` is called
   * (shutdown) or the deadline passes. Resolves with the message ts, or undefined when Slack
   * never took it; a message given up on is logged whole, so the outcome is never lost.
   */
  async finish(final: SlackMessage): Promise<string | undefined> {
    this.#finished = true;
    clearInterval(this.#timer);
    await this.#inFlight;
    const deadline = this.#o.clock() + this.#o.finalDeadlineMs;
    const stop = this.#stopFinal.signal;
    for (let attempt = 1; ; attempt += 1) {
      const wait = Math.max(0, this.#notBefore - this.#o.clock());
      if (wait > 0) await sleep(wait, stop);
      await this.#o.budget.take();
      try {
        await this.#send(final);
        return this.#ts;
      } catch (err) {
        const retryAfter = retryAfterOf(err);
        this.#notBefore = this.#o.clock() + (retryAfter !== undefined ? retryAfter * 1000 : Math.min(MAX_BACKOFF_MS, 1000 * 2 ** attempt));
        this.#o.logger.warn({ channel: this.#o.channel, attempt, retryAfter, error: slackErrorOf(err) }, 'could not post the final job message; retrying');
        if (this.#notBefore > deadline || stop.aborted) {
          this.#o.logger.error({ channel: this.#o.channel, text: final.text }, 'gave up posting the final job message (its text is in this log line)');
          return this.#ts;
        }
      }
    }
  }

  /** Shutdown: a final message still waiting gets one more attempt now, then is logged. */
  abandon(): void {
    this.#stopFinal.abort();
    this.#notBefore = 0;
  }

  /**
   * A set's parts run at once and each reports its own phases ("application: writing
   * manifest" while the database still dumps): those are kept per part, not as the job's phase.
   */
  #phase(name: string, detail: string | undefined): void {
    const now = this.#o.clock();
    const part = SET_PART.exec(name);
    if (part) return this.#record({ parts: { ...this.#state.parts, [part[1]!]: detail ? `${part[2]} · ${detail}` : part[2]! } });
    const steps = IN_PLACE_STEPS.has(name) ? [...(this.#state.steps ?? []), { kind: name, startedAt: now }] : this.#state.steps;
    this.#record({ phase: name, detail, phaseStartedAt: now, bytes: undefined, total: undefined, steps });
  }

  #record(change: Partial<ProgressState>): void {
    if (this.#finished) return;
    this.#state = { ...this.#state, ...change };
    this.#dirty = true;
  }

  #tick(): void {
    if (this.#finished || !this.#dirty || this.#inFlight || this.#o.clock() < this.#notBefore) return;
    // The first post always goes (people must see the job started); updates only within budget.
    if (this.#ts === undefined) this.#o.budget.record();
    else if (!this.#o.budget.tryTake()) return;
    this.#dirty = false;
    const message = this.#o.render(this.#state, this.#o.clock());
    this.#inFlight = this.#send(message)
      .then(() => {
        this.#notBefore = this.#o.clock() + this.#o.intervalMs;
      })
      .catch((err: unknown) => {
        // Skip this state; the next tick sends whatever is newest by then.
        this.#dirty = true;
        const retryAfter = retryAfterOf(err);
        this.#notBefore = this.#o.clock() + (retryAfter !== undefined ? retryAfter * 1000 : this.#o.intervalMs * 2);
        this.#o.logger.warn({ channel: this.#o.channel, retryAfter, error: slackErrorOf(err) }, 'progress update skipped');
      })
      .finally(() => {
        this.#inFlight = undefined;
      });
  }

  async #send(message: SlackMessage): Promise<void> {
    if (this.#ts === undefined) {
      const { ts } = await this.#o.chat.postMessage({ channel: this.#o.channel, ...message });
      this.#ts = ts;
      this.#o.onPosted?.(ts);
    } else {
      await this.#o.chat.update({ channel: this.#o.channel, ts: this.#ts, ...message });
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
