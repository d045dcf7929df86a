import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { createTask, type RunCoordinator, type ScheduledTask } from 'node-cron';
import { BantayError, ErrorCode } from '../errors.ts';
import { classifyFailure } from '../failure.ts';
import type { Trigger } from '../jobs/job-context.ts';
import type { Logger } from '../log/logger.ts';
import type { StateDb } from '../state/state-db.ts';
import { acquireLease, releaseLease, renewLease } from './lease.ts';
import { compileCron, matchesCron } from './next-runs.ts';
import { SCHEDULE_TRIGGER, SCHEDULED_JOBS, type ScheduleConfig, type ScheduledJobName } from './schedule-config.ts';

/** What a scheduled job receives: the fire it runs for, and a signal to stop on. */
export interface ScheduledRun {
  job: ScheduledJobName;
  /** The schedule's slot (e.g. 02:00:00 Manila), identical on every replica. */
  fireAt: Date;
  /** Aborted when the scheduler stops or this replica loses the lease; jobs must stop then. */
  signal: AbortSignal;
  trigger: Trigger;
}

/** Runs one job to completion; rejects when it failed. Slack, audit and progress are its business. */
export type ScheduledJobRunner = (run: ScheduledRun) => Promise<void>;

export interface SchedulerOptions {
  schedule: ScheduleConfig;
  timezone: string;
  state: StateDb;
  logger: Logger;
  /** The jobs this process can run; an enabled schedule without a runner is logged and skipped. */
  jobs: Partial<Record<ScheduledJobName, ScheduledJobRunner>>;
  /** Unique per process; default "<hostname>:<pid>:<random>". */
  owner?: string;
  /** How long a lease lives without a heartbeat; default 60 s. */
  leaseMs?: number;
  /** Heartbeat interval; default leaseMs / 4. */
  heartbeatMs?: number;
}

export interface Scheduler {
  readonly owner: string;
  /** Fires currently running in this process. */
  running(): Array<{ job: ScheduledJobName; fireAt: Date }>;
  /**
   * Stops firing; running jobs are aborted (their leases released as 'aborted') and awaited
   * up to `timeoutMs` (default 30 s).
   */
  stop(options?: { timeoutMs?: number }): Promise<void>;
}

interface ActiveRun {
  job: ScheduledJobName;
  fireAt: Date;
  abort: AbortController;
  heartbeat: NodeJS.Timeout;
  outcome?: { status: 'succeeded' | 'failed' | 'aborted'; errorMessage?: string };
}

/**
 * Starts one node-cron task per enabled job, in `timezone`, with noOverlap (no second run of
 * a job in this process while one runs) and distributed coordination through a lease in the
 * state database (exactly once per fire across replicas, no overlap across replicas either;
 * see lease.ts). Slots that Bantay's own cron evaluator does not agree are fire times are
 * refused, so `bantay schedule` and the status page never promise something else than runs.
 */
export function startScheduler(options: SchedulerOptions): Scheduler {
  const owner = options.owner ?? `${hostname()}:${process.pid}:${randomBytes(3).toString('hex')}`;
  const leaseMs = options.leaseMs ?? 60_000;
  const heartbeatMs = options.heartbeatMs ?? Math.max(250, Math.floor(leaseMs / 4));
  const active = new Map<string, ActiveRun>();
  const log = options.logger.child({ component: 'scheduler', owner });
  const tasks: ScheduledTask[] = [];
  const ctx: RunContext = { stopping: false, acquiring: new Set(), options, owner, leaseMs, heartbeatMs, active, log };
  for (const job of SCHEDULED_JOBS) {
    const expression = options.schedule[job];
    if (expression === null) continue;
    const runner = options.jobs[job];
    if (!runner) {
      log.warn({ job }, `schedule for ${job} is set but this process cannot run it; skipped`);
      continue;
    }
    tasks.push(scheduleJob(ctx, job, expression, runner));
  }
  log.info({ jobs: tasks.map((t) => t.name) }, 'scheduler started');
  return {
    owner,
    running: () => [...active.values()].map((r) => ({ job: r.job, fireAt: r.fireAt })),
    stop: (stopOptions = {}) => stopScheduler(ctx, tasks, stopOptions.timeoutMs ?? 30_000),
  };
}

interface RunContext {
  /** Set by stop(): no fire starts from then on, even one whose lease was being taken. */
  stopping: boolean;
  /** Lease acquisitions in flight; stop() waits for them, so none lands after it returned. */
  acquiring: Set<Promise<unknown>>;
  options: SchedulerOptions;
  owner: string;
  leaseMs: number;
  heartbeatMs: number;
  active: Map<string, ActiveRun>;
  log: Logger;
}

function scheduleJob(ctx: RunContext, job: ScheduledJobName, expression: string, runner: ScheduledJobRunner): ScheduledTask {
  const compiled = compileCron(expression, ctx.options.timezone);
  const task = createTask(expression, (context) => runFire(ctx, job, context.date, runner), {
    name: job,
    timezone: ctx.options.timezone,
    noOverlap: true,
    distributed: true,
    runCoordinator: createLeaseCoordinator(ctx, job, (slot) => matchesCron(compiled, slot)),
    distributedLease: ctx.leaseMs,
    // A process busy for a few seconds at the fire time still runs it instead of "missing" it.
    missedExecutionTolerance: 60_000,
    logger: cronLogger(ctx.log.child({ job })),
  });
  task.on('execution:skipped', (c) => ctx.log.debug({ job, fireAt: c.date.toISOString(), reason: c.reason }, 'fire skipped'));
  task.on('execution:overlap', (c) => ctx.log.warn({ job, fireAt: c.date.toISOString() }, 'previous run still running here; fire skipped'));
  void task.start();
  return task;
}

/**
 * node-cron asks shouldRun(key) before each fire (key = "<job>:<slot ISO>") and calls
 * onComplete(key) after it ran. The lease is taken in shouldRun, heart-beaten while the run
 * lasts, and released in onComplete with the outcome runFire recorded.
 */
function createLeaseCoordinator(ctx: RunContext, job: ScheduledJobName, isFireTime: (slot: Date) => boolean): RunCoordinator {
  return {
    async shouldRun(key: string): Promise<boolean> {
      const fireAt = new Date(key.slice(key.indexOf(':') + 1));
      if (!isFireTime(fireAt)) {
        ctx.log.warn({ job, fireAt: key }, 'node-cron fired at a time Bantay does not consider a fire time; skipped');
        return false;
      }
      if (ctx.stopping) return false;
      const taking = (async () => {
        const taken = await acquireLease(ctx.options.state, { job, fireAt, owner: ctx.owner, ttlMs: ctx.leaseMs });
        if (taken.acquired && ctx.stopping) {
          // stop() came while the lease was being taken: this fire must not start after it.
          await releaseLease(ctx.options.state, { job, fireAt, owner: ctx.owner }, { status: 'aborted', errorMessage: 'Bantay is shutting down' }).catch((err: unknown) =>
            ctx.log.error({ err, job }, 'could not release the schedule lease; it expires on its own'),
          );
          return undefined;
        }
        return taken;
      })();
      ctx.acquiring.add(taking);
      const result = await taking.finally(() => ctx.acquiring.delete(taking));
      if (result === undefined) return false;
      if (!result.acquired) {
        const detail = result.reason === 'busy' ? { runningFireAt: result.runningFireAt.toISOString() } : {};
        ctx.log.info({ job, fireAt: fireAt.toISOString(), reason: result.reason, holder: result.owner, ...detail }, 'fire not run here');
        return false;
      }
      startRun(ctx, job, fireAt, key);
      return true;
    },
    async onComplete(key: string): Promise<void> {
      const run = ctx.active.get(key);
      if (!run) return;
      clearInterval(run.heartbeat);
      const outcome = run.outcome ?? { status: 'failed', errorMessage: 'the run ended without an outcome' };
      await releaseLease(ctx.options.state, { job, fireAt: run.fireAt, owner: ctx.owner }, outcome).catch((err: unknown) =>
        ctx.log.error({ err, job }, 'could not release the schedule lease; it expires on its own'),
      );
      ctx.active.delete(key);
    },
  };
}

function startRun(ctx: RunContext, job: ScheduledJobName, fireAt: Date, key: string): void {
  const abort = new AbortController();
  const lease = { job, fireAt, owner: ctx.owner, ttlMs: ctx.leaseMs };
  const heartbeat = setInterval(() => {
    renewLease(ctx.options.state, lease).then(
      (held) => {
        if (held || abort.signal.aborted) return;
        ctx.log.error({ job, fireAt: fireAt.toISOString() }, 'lost the schedule lease; aborting the run');
        abort.abort(new BantayError(ErrorCode.Aborted, `Lost the schedule lease of ${job} (the state database was unreachable for too long)`));
      },
      (err: unknown) => ctx.log.warn({ err, job }, 'schedule lease heartbeat failed; retrying'),
    );
  }, ctx.heartbeatMs);
  heartbeat.unref();
  ctx.active.set(key, { job, fireAt, abort, heartbeat });
}

async function runFire(ctx: RunContext, job: ScheduledJobName, fireAt: Date, runner: ScheduledJobRunner): Promise<void> {
  const run = ctx.active.get(`${job}:${fireAt.toISOString()}`);
  if (!run) return; // Not elected here (node-cron only calls this after shouldRun said yes).
  const started = Date.now();
  ctx.log.info({ job, fireAt: fireAt.toISOString() }, 'scheduled run started');
  try {
    await runner({ job, fireAt, signal: run.abort.signal, trigger: SCHEDULE_TRIGGER });
    run.outcome = { status: 'succeeded' };
    ctx.log.info({ job, durationMs: Date.now() - started }, 'scheduled run succeeded');
  } catch (err) {
    // Named by the one classification (src/failure.ts): a store failure that made the job abort
    // its own pg_dump is a failure, not a cancel.
    const aborted = classifyFailure(err, { cancelled: run.abort.signal.aborted }).outcome === 'cancelled';
    const message = err instanceof Error ? err.message : String(err);
    run.outcome = { status: aborted ? 'aborted' : 'failed', errorMessage: message };
    ctx.log.error({ err, job, durationMs: Date.now() - started }, `scheduled run ${aborted ? 'aborted' : 'failed'}`);
  }
}

async function stopScheduler(ctx: RunContext, tasks: ScheduledTask[], timeoutMs: number): Promise<void> {
  ctx.stopping = true;
  await Promise.all(tasks.map(async (t) => t.destroy()));
  const runs = [...ctx.active.values()];
  for (const run of runs) run.abort.abort(new BantayError(ErrorCode.Aborted, 'Bantay is shutting down'));
  const deadline = Date.now() + timeoutMs;
  while ((ctx.active.size > 0 || ctx.acquiring.size > 0) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const [key, run] of ctx.active) {
    clearInterval(run.heartbeat);
    ctx.active.delete(key);
    ctx.log.warn({ job: run.job }, 'run did not stop in time; its lease expires on its own');
  }
  ctx.log.info('scheduler stopped');
}

/** node-cron's logger interface on top of pino. */
function cronLogger(log: Logger): { info(m: string): void; warn(m: string): void; error(m: string | Error, e?: Error): void; debug(m: string | Error, e?: Error): void } {
  return {
    info: (m) => log.debug(m),
    warn: (m) => log.warn(m),
    error: (m, e) => log.error({ err: e ?? m }, typeof m === 'string' ? m : 'node-cron error'),
    debug: (m) => log.debug(typeof m === 'string' ? m : { err: m }),
  };
}
