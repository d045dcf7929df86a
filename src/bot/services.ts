import type { webApi } from '@slack/bolt';
import type { JobDeps } from '../jobs/job-context.ts';
import type { Logger } from '../log/logger.ts';
import type { StateDb } from '../state/state-db.ts';
import { createAuthz, type Authz } from './authz.ts';
import type { BotJobs } from './bot-jobs.ts';
import { CatalogCache } from './catalog-cache.ts';
import { ChannelBudgets } from './channel-budget.ts';
import { HomePublisher } from './home.ts';
import { JobRunner } from './job-runner.ts';
import { resourcesOf } from './job-spec.ts';
import { createNotifier, type Notifier } from './notifier.ts';
import { chatApiOf, type ChatApi } from './slack-api.ts';
import { IncidentSlack } from './incident/incident-slack.ts';
import { PitrStatusCache } from './pitr-status.ts';

/** The bot's settings, from SlackConfig plus knobs tests turn. */
export interface BotSettings {
  channel: string;
  operators: readonly string[];
  approvers: readonly string[];
  approvalTtlSeconds: number;
  alertWebhookUrl?: string;
  /** Min ms between two updates of one progress message (BANTAY_PROGRESS_INTERVAL). Default 3000. */
  progressIntervalMs?: number;
  /** BANTAY_ONCALL: users (U…) and/or user groups (S…) mentioned on failures and critical alerts. */
  oncall?: readonly string[];
  /** BANTAY_RESTORE_ROOTS: the only directories Slack may restore files backups under. */
  restoreRoots?: readonly string[];
  /** BANTAY_TZ: times written as text (alerts) are in this zone. Default Asia/Manila. */
  timeZone?: string;
  /** How often incident messages catch up with the console (declares, notes, steps). Default 60 s. */
  incidentSyncMs?: number;
  /** How often pending approvals are checked for expiry. Default 15 s. */
  expiryCheckMs?: number;
  homeDebounceMs?: number;
  /** How long App Home keeps republishing to someone who opened it. Default 1 h. */
  homeViewerTtlMs?: number;
  /** How long user group members are cached. Default 60 s. */
  authzCacheMs?: number;
  /** Incident mode: runbooks, the service's public name, the names public text must not contain. Default the shipped runbooks. */
  incident?: { runbookDir: string; serviceName: string; internalNames: readonly string[] };
}

/** Everything handlers need, built once at start; handlers receive it, nothing is global. */
export interface BotServices {
  settings: BotSettings;
  client: webApi.WebClient;
  chat: ChatApi;
  logger: Logger;
  state: StateDb;
  storeDescription: string;
  jobs: BotJobs;
  runner: JobRunner;
  catalog: CatalogCache;
  /** The WAL archive's window and lag, cached (the restore form and App Home show them). */
  pitr: PitrStatusCache;
  authz: Authz;
  notifier: Notifier;
  home: HomePublisher;
  /** Incident mode's messages in the channel. */
  incident: IncidentSlack;
  /** What writing and reading catalog records (the recovery report) needs. */
  records: Pick<JobDeps, 'store' | 'keyRing' | 'state'>;
  now: () => Date;
}

export function createBotServices(o: {
  client: webApi.WebClient;
  settings: BotSettings;
  deps: JobDeps;
  jobs: BotJobs;
  logger: Logger;
  nextRuns?: () => Array<{ job: string; at: Date }>;
}): BotServices {
  const chat = chatApiOf(o.client);
  const budgets = new ChannelBudgets();
  const catalog = new CatalogCache({ store: o.deps.store, trust: o.deps, logger: o.logger });
  const pitr = new PitrStatusCache({ jobs: o.jobs, logger: o.logger });
  let home: HomePublisher | undefined;
  const runner = new JobRunner({
    jobs: o.jobs,
    chat,
    channel: o.settings.channel,
    logger: o.logger,
    progressIntervalMs: o.settings.progressIntervalMs,
    oncall: o.settings.oncall,
    budgets,
    // The last backup of each kind the job writes (a full set writes three, and its uploads part
    // is a full chain, so the last full uploads backup), summed like the set reports its bytes.
    estimateBytes: (spec) => {
      if (spec.type !== 'backup') return undefined;
      const entries = catalog.peek()?.entries ?? [];
      const sizes = resourcesOf(spec).map((kind) => entries.find((e) => e.manifest.kind === kind && (spec.variant !== 'full' || e.manifest.chain?.parentId == null))?.manifest.artifact.sizeBytes);
      return sizes.every((x) => x !== undefined) ? sizes.reduce((a, b) => a! + b!, 0) : undefined;
    },
    onChange: () => {
      catalog.invalidate();
      home?.refresh();
    },
  });
  const authz = createAuthz({ operators: o.settings.operators, approvers: o.settings.approvers, client: o.client, logger: o.logger, cacheMs: o.settings.authzCacheMs });
  home = new HomePublisher({
    client: o.client,
    mayView: async (user) => (await authz.roleOf(user)) !== 'none',
    sources: { catalog, pitr, runner, state: o.deps.state, storeDescription: o.deps.store.description, nextRuns: o.nextRuns, timeZone: o.settings.timeZone ?? 'Asia/Manila' },
    logger: o.logger,
    debounceMs: o.settings.homeDebounceMs,
    viewerTtlMs: o.settings.homeViewerTtlMs,
  });
  return {
    settings: o.settings,
    client: o.client,
    chat,
    logger: o.logger,
    state: o.deps.state,
    storeDescription: o.deps.store.description,
    jobs: o.jobs,
    runner,
    catalog,
    pitr,
    authz,
    notifier: createNotifier({ chat, channel: o.settings.channel, logger: o.logger, webhookUrl: o.settings.alertWebhookUrl }),
    home,
    incident: new IncidentSlack({ chat, channel: o.settings.channel, state: o.deps.state, logger: o.logger, oncall: o.settings.oncall ?? [], intervalMs: o.settings.progressIntervalMs, budgets, now: () => o.deps.now?.() ?? new Date() }),
    records: { store: o.deps.store, keyRing: o.deps.keyRing, state: o.deps.state },
    now: () => o.deps.now?.() ?? new Date(),
  };
}
