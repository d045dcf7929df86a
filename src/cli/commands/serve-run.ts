import { createBotApp, type BotApp } from '../../bot/app.ts';
import { approverWarning, requireBotConfig } from '../../bot/bot-config.ts';
import { createBotJobs } from '../../bot/bot-jobs.ts';
import { alertSinkOf } from '../../bot/notifier.ts';
import { createScheduledJobRunners } from '../../bot/scheduled-jobs.ts';
import type { Config } from '../../config/load-config.ts';
import { createOpsRoutes, startOpsHttpServer, type OpsHttpServer, type OpsRoute } from '../../http/routes.ts';
import { createStatusSource } from '../../http/status-data.ts';
import type { JobDeps } from '../../jobs/job-context.ts';
import { createOpsRunners } from '../../jobs/ops-runners.ts';
import { compileCron, nextRuns } from '../../schedule/next-runs.ts';
import { SCHEDULED_JOBS } from '../../schedule/schedule-config.ts';
import { startScheduler, type Scheduler } from '../../schedule/scheduler.ts';
import { openSecondaryStore } from '../../storage/open-secondary.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import type { CliContext } from '../context.ts';

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
  await app.start();
  const opsServer: OpsHttpServer | undefined = bot.mode.type === 'socket' ? await startOpsHttpServer({ port: ctx.config.ops.http.port, routes }) : undefined;
  const scheduler = startSchedule(ctx.config, deps, app, secondary);
  await new Promise<void>((resolve) => {
    if (ctx.io.signal.aborted) resolve();
    ctx.io.signal.addEventListener('abort', () => resolve(), { once: true });
  });
  ctx.logger.info('stopping: the schedule, then running jobs (they post their final state)');
  await scheduler.stop();
  await app.stop();
  await opsServer?.close();
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
  return createOpsRoutes({ state: deps.state, store: deps.store, status, logger: deps.logger, statusToken: ops.http.statusToken, metricsToken: ops.http.metricsToken });
}

function startSchedule(config: Config, deps: JobDeps, app: BotApp, secondary: ObjectStore | undefined): Scheduler {
  const { ops } = config;
  const opsRunners = createOpsRunners({
    store: deps.store,
    secondary,
    state: deps.state,
    keyRing: deps.keyRing,
    logger: deps.logger,
    sink: alertSinkOf(app.services.notifier),
    timezone: ops.timezone,
    schedule: ops.schedule,
    retention: ops.retention,
    thresholds: ops.monitor,
    keyIds: config.keyRing.ids(),
  });
  return startScheduler({
    schedule: ops.schedule,
    timezone: ops.timezone,
    state: deps.state,
    logger: deps.logger,
    leaseMs: ops.leaseSeconds * 1000,
    jobs: { ...opsRunners, ...createScheduledJobRunners(app.services) },
  });
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
