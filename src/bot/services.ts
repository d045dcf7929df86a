import type { webApi } from '@slack/bolt';
import type { JobDeps } from '../jobs/job-context.ts';
import type { Logger } from '../log/logger.ts';
import type { StateDb } from '../state/state-db.ts';
import { createAuthz, type Authz } from './authz.ts';
import type { BotJobs } from './bot-jobs.ts';
import { CatalogCache } from './catalog-cache.ts';
import { HomePublisher } from './home.ts';
import { JobRunner } from './job-runner.ts';
import { resourcesOf } from './job-spec.ts';
import { createNotifier, type Notifier } from './notifier.ts';
import { chatApiOf, type ChatApi } from './slack-api.ts';

/** The bot's settings, from SlackConfig plus knobs tests turn. */
export interface BotSettings {
  channel: string;
  operators: readonly string[];
  approvers: readonly string[];
  approvalTtlSeconds: number;
  alertWebhookUrl?: string;
  /** Min ms between two updates of one progress message. Default 3000. */
  progressIntervalMs?: number;
  /** How often pending approvals are checked for expiry. Default 15 s. */
  expiryCheckMs?: number;
  homeDebounceMs?: number;
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
  authz: Authz;
  notifier: Notifier;
  home: HomePublisher;
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
  const catalog = new CatalogCache({ store: o.deps.store, trust: o.deps, logger: o.logger });
  let home: HomePublisher | undefined;
  const runner = new JobRunner({
    jobs: o.jobs,
    chat,
    channel: o.settings.channel,
    logger: o.logger,
    progressIntervalMs: o.settings.progressIntervalMs,
    estimateBytes: (spec) => {
      const kind = spec.type === 'backup' ? resourcesOf(spec)[0] : undefined;
      return catalog.peek()?.entries.find((e) => e.manifest.kind === kind)?.manifest.artifact.sizeBytes;
    },
    onChange: () => {
      catalog.invalidate();
      home?.refresh();
    },
  });
  home = new HomePublisher({
    client: o.client,
    sources: { catalog, runner, state: o.deps.state, storeDescription: o.deps.store.description, nextRuns: o.nextRuns },
    logger: o.logger,
    debounceMs: o.settings.homeDebounceMs,
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
    authz: createAuthz({ operators: o.settings.operators, approvers: o.settings.approvers, client: o.client, logger: o.logger }),
    notifier: createNotifier({ chat, channel: o.settings.channel, logger: o.logger, webhookUrl: o.settings.alertWebhookUrl }),
    home,
    now: () => o.deps.now?.() ?? new Date(),
  };
}
