import { streamStatusFileOf } from '../../jobs/wal/stream-status-file.ts';
import { createBotApp, type BotApp } from '../../bot/app.ts';
import { approverWarning, requireBotConfig } from '../../bot/bot-config.ts';
import { createBotJobs } from '../../bot/bot-jobs.ts';
import { createSlackAlertSink } from '../../bot/alerts/slack-alert-sink.ts';
import { createScheduledJobRunners } from '../../bot/scheduled-jobs.ts';
import { requireReplicationUrl, type Config } from '../../config/load-config.ts';
import { createOpsRoutes, startOpsHttpServer, type OpsHttpServer, type OpsRoute } from '../../http/routes.ts';
import { createStatusSource } from '../../http/status-data.ts';
import type { JobDeps } from '../../jobs/job-context.ts';
import { createOpsRunners } from '../../jobs/ops-runners.ts';
import { compileCron, nextRuns } from '../../schedule/next-runs.ts';
import { SCHEDULED_JOBS } from '../../schedule/schedule-config.ts';
import { startScheduler, type ScheduledJobRunner, type Scheduler } from '../../schedule/scheduler.ts';
import { openSecondaryStore } from '../../storage/open-secondary.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import type { CliContext } from '../context.ts';
import { currentPublicStatus } from '../../jobs/incident/public-status.ts';

/**
 * `bantay serve`: the Slack bot, the schedule (backups, verify, drill through the bot's job
 * runner so they post progress in #incidents; sync, retention and monitoring), monitoring's
 * alerts through the bot's notifier, and the health/metrics/status routes on BANTAY_HTTP_PORT
 * (inside Bolt's HTTP server in HTTP mode, on their own in Socket Mode). Stops cleanly on
 * SIGINT/SIGTERM: the schedule first, then running jobs post their final state.
 */
export async function runServe(ctx: CliContext): Promise<void> {
  const bot = requireBotConfig(ctx.config);
  // A long-running process must not die at 3 a.m. because some library rejected a promise
  // nobody awaits (e.g. a Socket Mode reconnect failing): log it with an id and keep serving.
  const onUnhandled = (reason: unknown) => ctx.logger.error({ err: reason }, 'unhandled rejection (kept running)');
  process.on('unhandledRejection', onUnhandled);
  try {
    await serve(ctx, bot);
  } finally {
    process.off('unhandledRejection', onUnhandled);
  }
}

async function serve(ctx: CliContext, bot: ReturnType<typeof requireBotConfig>): Promise<void> {
  const deps = await ctx.deps();
  ctx.warnIfUnencrypted();
  const warning = approverWarning(bot.settings.approvers);
  if (warning) ctx.logger.warn(warning);
  const secondary = openSecondary(ctx);
  const routes = opsRoutes(ctx.config, deps, secondary);
  const app = createBotApp({ ...bot, deps, jobs: createBotJobs(deps, ctx.config), logger: ctx.logger, routes, nextRuns: () => upcomingRuns(ctx.config) });
  // Boot order: everything that does not need Slack starts first. A Slack outage at boot must
  // not delay the 02:00 backup or hide /healthz; jobs post their messages once Slack answers
  // (progress messages retry on their own, final messages are queued and retried).
  const opsServer: OpsHttpServer | undefined = bot.mode.type === 'socket' ? await startOpsHttpServer({ port: ctx.config.ops.http.port, routes }) : undefined;
  const scheduler = startSchedule(ctx.config, deps, app, secondary);
  const walStream = startWalStream(ctx);
  const connecting = bot.mode.type === 'socket' ? connectInBackground(ctx, app) : app.start();
  await connecting;
  await new Promise<void>((resolve) => {
    if (ctx.io.signal.aborted) resolve();
    ctx.io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  ctx.logger.info('stopping: the schedule, then running jobs (they post their final state)');
  await scheduler.stop();
  await walStream;
  await app.stop();
  await opsServer?.close();
}

/**
 * BANTAY_WAL=stream: the WAL streamer runs beside the bot until serve stops. It supervises
 * pg_receivewal itself; should it fail for good (bad configuration), serve keeps running and
 * monitoring reports the stopped stream.
 */
async function startWalStream(ctx: CliContext): Promise<void> {
  if (ctx.config.wal.mode !== 'stream') return;
  const { streamWal } = await import('./wal.ts');
  await streamWal(ctx, ctx.io.signal).catch((err: unknown) => ctx.logger.error({ err }, 'WAL stream stopped'));
}

/**
 * Socket Mode: the client retries apps.connections.open on its own for as long as Slack is
 * away; serve keeps running (schedule, ops HTTP) meanwhile, so the start is not awaited.
 */
function connectInBackground(ctx: CliContext, app: BotApp): Promise<void> {
  app.start().then(
    () => undefined,
    (err: unknown) => ctx.logger.error({ err }, 'could not connect to Slack; the schedule and the ops HTTP server keep running'),
  );
  return Promise.resolve();
}

function openSecondary(ctx: CliContext): ObjectStore | undefined {
  try {
    return ctx.config.secondary ? openSecondaryStore(ctx.config.secondary) : undefined;
  } catch (err) {
    ctx.logger.warn({ err }, 'secondary location unavailable: sync is off until it is reachable at the next start');
    return undefined;
  }
}

function opsRoutes(config: Config, deps: JobDeps, secondary: ObjectStore | undefined): OpsRoute[] {
  const { ops, recovery } = config;
  const status = createStatusSource(
    { store: deps.store, secondary, state: deps.state, keyRing: deps.keyRing },
    { timezone: ops.timezone, schedule: ops.schedule, objectives: { rtoSeconds: recovery.rtoObjectiveSeconds, rpoSeconds: recovery.rpoObjectiveSeconds } },
  );
  const { incident } = config;
  return createOpsRoutes({
    state: deps.state,
    store: deps.store,
    status,
    logger: deps.logger,
    statusToken: ops.http.statusToken,
    metricsToken: ops.http.metricsToken,
    publicStatus: incident.publicStatus ? () => currentPublicStatus(deps.state, incident.serviceName) : undefined,
  });
}

function startSchedule(config: Config, deps: JobDeps, app: BotApp, secondary: ObjectStore | undefined): Scheduler {
  const { ops } = config;
  const opsRunners = createOpsRunners({
    store: deps.store,
    secondary,
    state: deps.state,
    keyRing: deps.keyRing,
    logger: deps.logger,
    sink: createSlackAlertSink({
      chat: app.services.chat,
      channel: app.services.settings.channel,
      state: deps.state,
      logger: deps.logger,
      oncall: config.slack.oncall,
      timeZone: ops.timezone,
      webhook: (alert) => app.services.notifier.webhook(alert),
    }),
    timezone: ops.timezone,
    schedule: ops.schedule,
    retention: ops.retention,
    thresholds: ops.monitor,
    keyIds: config.keyRing.ids(),
    walRetentionDays: config.wal.mode === 'off' ? undefined : config.wal.retentionDays,
    walMonitor: config.wal.mode === 'off' ? undefined : {
      rpoObjectiveSeconds: config.recovery.rpoObjectiveSeconds,
      slotWarnBytes: config.wal.slotWarnBytes,
      // Four partial uploads missed (at least 2 minutes): the stream is not just between uploads.
      stallSeconds: Math.max(120, 4 * config.wal.partialIntervalSeconds),
      databaseUrl: config.databaseUrl,
      replicationUrl: config.wal.replicationUrl,
      slot: config.wal.slot,
      streamStatusFile: streamStatusFileOf(config.dataDir),
    },
  });
  return startScheduler({
    schedule: ops.schedule,
    timezone: ops.timezone,
    state: deps.state,
    logger: deps.logger,
    leaseMs: ops.leaseSeconds * 1000,
    jobs: { ...opsRunners, ...createScheduledJobRunners(app.services), ...baseBackupRunner(config, deps) },
  });
}

/** The weekly base backup of point-in-time recovery, when WAL archiving is on. */
function baseBackupRunner(config: Config, deps: JobDeps): { base?: ScheduledJobRunner } {
  if (config.wal.mode === 'off') return {};
  return {
    base: async ({ signal, trigger }) => {
      const { runBaseBackup } = await import('../../jobs/base-backup/run-base-backup.ts');
      await runBaseBackup({ replicationUrl: requireReplicationUrl(config), compression: config.wal.baseCompression, trigger, signal }, deps);
    },
  };
}

/** The next run of each scheduled job, soonest first, for App Home. */
function upcomingRuns(config: Config): Array<{ job: string; at: Date }> {
  const { schedule, timezone } = config.ops;
  const now = new Date();
  return SCHEDULED_JOBS.flatMap((job) => {
    const expression = schedule[job];
    if (expression === null) return [];
    const [at] = nextRuns(compileCron(expression, timezone), now, 1);
    return at ? [{ job, at }] : [];
  }).sort((a, b) => a.at.getTime() - b.at.getTime());
}
