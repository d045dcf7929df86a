import { randomBytes } from 'node:crypto';
import type { Logger } from '../log/logger.ts';
import type { Trigger } from '../jobs/job-context.ts';
import type { BotJobs, JobResult } from './bot-jobs.ts';
import { describeFailure } from './errors-to-text.ts';
import { describeJob, resourcesOf, type BotJobSpec } from './job-spec.ts';
import { ChannelBudgets } from './channel-budget.ts';
import { fixActionFor, isRetryableFailure } from './failure-kind.ts';
import { buildFailureNotice, buildJobDetailsMessage, buildJobFailedMessage, buildJobProgressMessage, buildJobResultMessage, type JobHeading } from './messages/job-message.ts';
import { messageLink } from './messages/blocks.ts';
import { mentionAll } from './messages/mentions.ts';
import { failureNextSteps, resultNextSteps } from './messages/next-steps.ts';
import { ProgressMessage } from './progress-message.ts';
import { slackErrorOf, type ChatApi } from './slack-api.ts';

export interface RunningJob {
  id: string;
  spec: BotJobSpec;
  title: string;
  resources: string[];
  requestedBy: string;
  approvedBy?: string;
  startedAt: Date;
  channel: string;
  /** The progress message, once Slack has it. */
  ts?: string;
  link?: string;
  /** The latest phase, for /backups and App Home. */
  phase(): string;
}

/** How a job ended (after its final message was sent); `done` never rejects. */
export type JobOutcome = { ok: boolean; result: JobResult } | { ok: false; error: unknown; errorId: string };

/**
 * `ended` resolves when the job itself has ended (its resources are free); `done` once its final
 * message was delivered too, which can take long while Slack is down. Neither rejects.
 */
export type StartOutcome = { started: true; job: RunningJob; ended: Promise<JobOutcome>; done: Promise<JobOutcome> } | { started: false; running: RunningJob };

export interface JobRunnerOptions {
  jobs: BotJobs;
  chat: ChatApi;
  channel: string;
  logger: Logger;
  progressIntervalMs?: number;
  /** Mentioned (with the requester) when a job fails: BANTAY_ONCALL users and groups. */
  oncall?: readonly string[];
  /** Per-channel call budgets shared with everything else that posts (one per process). */
  budgets?: ChannelBudgets;
  /** How long a final message is retried after stop() before it is logged instead. Default 5 s (container stop timeouts are about 10 s). */
  stopGraceMs?: number;
  /** The expected size of a job's output (last backup's size), for an estimated ETA. */
  estimateBytes?: (spec: BotJobSpec) => number | undefined;
  /** Called when a job starts or ends (App Home refresh, catalog cache...). */
  onChange?: () => void;
}

/**
 * Runs jobs in this process, off the request path, at most one per resource. `start` decides
 * synchronously (no await between the check and taking the lock), so two clicks in the same
 * millisecond still start one job. Each job gets one message in the channel that follows it;
 * Slack trouble never reaches the job.
 */
export class JobRunner {
  #o: JobRunnerOptions;
  #running = new Map<string, RunningJob>();
  #tasks = new Set<Promise<unknown>>();
  #abort = new AbortController();
  #progress = new Set<ProgressMessage>();
  #budgets: ChannelBudgets;

  constructor(options: JobRunnerOptions) {
    this.#o = options;
    this.#budgets = options.budgets ?? new ChannelBudgets();
  }

  running(): RunningJob[] {
    return [...new Set(this.#running.values())];
  }

  /** The running job holding any resource `spec` needs. */
  busyWith(spec: BotJobSpec): RunningJob | undefined {
    for (const r of resourcesOf(spec)) {
      const job = this.#running.get(r);
      if (job) return job;
    }
    return undefined;
  }

  /**
   * Starts `spec` unless a resource it needs is busy. `requestedBy` is a Slack user id, or a
   * name such as "schedule" together with `trigger` for jobs nobody asked for in Slack.
   */
  start(spec: BotJobSpec, requestedBy: string, extra: { approvedBy?: string; retryable?: boolean; trigger?: Trigger; signal?: AbortSignal } = {}): StartOutcome {
    const busy = this.busyWith(spec);
    if (busy) return { started: false, running: busy };
    const progress = new ProgressMessage({
      chat: this.#o.chat,
      channel: this.#o.channel,
      logger: this.#o.logger,
      intervalMs: this.#o.progressIntervalMs,
      budget: this.#budgets.of(this.#o.channel),
      render: (state, now) => buildJobProgressMessage(heading, state, now, estimate),
      onPosted: (ts) => {
        job.ts = ts;
        job.link = messageLink(this.#o.channel, ts);
      },
    });
    const job: RunningJob = {
      id: `job-${randomBytes(4).toString('hex')}`,
      spec,
      title: describeJob(spec),
      resources: resourcesOf(spec),
      requestedBy,
      approvedBy: extra.approvedBy,
      startedAt: new Date(),
      channel: this.#o.channel,
      phase: () => progress.state.phase,
    };
    const heading: JobHeading = { title: job.title, requestedBy, approvedBy: extra.approvedBy };
    const estimate = this.#o.estimateBytes?.(spec);
    for (const r of job.resources) this.#running.set(r, job);
    progress.start();
    this.#notify();
    const trigger: Trigger = extra.trigger ?? { by: `slack:${requestedBy}`, via: 'slack' };
    const signal = extra.signal ? AbortSignal.any([this.#abort.signal, extra.signal]) : this.#abort.signal;
    const release = () => {
      if (!job.resources.some((r) => this.#running.get(r) === job)) return;
      for (const r of job.resources) if (this.#running.get(r) === job) this.#running.delete(r);
      this.#notify();
    };
    this.#progress.add(progress);
    let markEnded: (o: JobOutcome) => void = () => undefined;
    const ended = new Promise<JobOutcome>((r) => (markEnded = r));
    const done = this.#execute(job, progress, heading, extra.retryable ?? true, trigger, signal, release, markEnded).finally(() => {
      release();
      this.#progress.delete(progress);
      this.#tasks.delete(done);
    });
    this.#tasks.add(done);
    void done.then(markEnded);
    return { started: true, job, ended, done };
  }

  /** Resolves when every job started so far has ended and its final message was sent. */
  async idle(): Promise<void> {
    while (this.#tasks.size > 0) await Promise.allSettled([...this.#tasks]);
  }

  /** Cancels running jobs (shutdown) and waits for them to clean up. */
  async stop(): Promise<void> {
    this.#abort.abort();
    const grace = setTimeout(() => {
      for (const p of this.#progress) p.abandon();
    }, this.#o.stopGraceMs ?? 5000);
    grace.unref();
    await this.idle();
    clearTimeout(grace);
  }

  /**
   * Runs the job, then frees its resources (`release`) before the final message is sent: that
   * send is retried for minutes when Slack is down, and must not keep the next job waiting.
   */
  async #execute(job: RunningJob, progress: ProgressMessage, heading: JobHeading, retryable: boolean, trigger: Trigger, signal: AbortSignal, release: () => void, ended: (o: JobOutcome) => void): Promise<JobOutcome> {
    const log = this.#o.logger.child({ jobId: job.id, job: job.title, requestedBy: job.requestedBy });
    log.info({ spec: job.spec }, 'job started');
    const started = Date.now();
    let final;
    let details: string[] = [];
    let outcome: JobOutcome;
    let badNews: string | undefined;
    try {
      const result = await this.#o.jobs.run(job.spec, {
        trigger,
        signal,
        reporter: progress.reporter,
      });
      final = buildJobResultMessage(heading, result, (Date.now() - started) / 1000, progress.state.warnings, resultNextSteps(job.spec, result));
      details = result.details;
      outcome = { ok: result.ok, result };
      if (!result.ok) badNews = result.headline;
      log.info({ ok: result.ok, backupId: result.backupId }, 'job finished');
    } catch (err) {
      const failure = describeFailure(err, log, { spec: job.spec });
      const next = failureNextSteps(job.spec, retryable && isRetryableFailure(err), fixActionFor(err, job.spec));
      final = buildJobFailedMessage(heading, failure, (Date.now() - started) / 1000, next);
      outcome = { ok: false, error: err, errorId: failure.errorId };
      badNews = failure.sentence;
    }
    release();
    ended(outcome);
    const ts = await progress.finish(final);
    if (ts !== undefined && badNews !== undefined) {
      const notice = buildFailureNotice(heading, badNews, mentionAll([job.requestedBy, job.approvedBy, ...(this.#o.oncall ?? [])]));
      await this.#budgets.of(this.#o.channel).take();
      await this.#o.chat
        .postMessage({ channel: this.#o.channel, thread_ts: ts, reply_broadcast: true, ...notice })
        .catch((err: unknown) => log.warn({ error: slackErrorOf(err) }, 'could not post the failure notice'));
    }
    if (ts !== undefined && details.length > 0) {
      await this.#o.chat
        .postMessage({ channel: this.#o.channel, thread_ts: ts, ...buildJobDetailsMessage(details) })
        .catch((err: unknown) => log.warn({ error: slackErrorOf(err) }, 'could not post the job details thread'));
    }
    return outcome;
  }

  #notify(): void {
    try {
      this.#o.onChange?.();
    } catch (err) {
      this.#o.logger.warn({ err }, 'job change listener failed');
    }
  }
}
