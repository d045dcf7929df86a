import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { App, HTTPReceiver, SocketModeReceiver, webApi, type BlockAction, type CustomRoute, type Logger as BoltLogger, type Receiver, type ViewSubmitAction } from '@slack/bolt';
import type { JobDeps } from '../jobs/job-context.ts';
import type { Logger } from '../log/logger.ts';
import { ActionId, SlashCommand, ViewId } from './action-ids.ts';
import { boltLogger } from './bolt-logger.ts';
import type { BotJobs } from './bot-jobs.ts';
import { handleBackupCommand, handleBackupSubmission } from './commands/backup.ts';
import { handleBackupsCommand } from './commands/backups.ts';
import { authorize } from './commands/common.ts';
import { handleDrillCommand, handleDrillSubmission } from './commands/drill.ts';
import { handleRestoreCommand, handleRestoreSubmission } from './commands/restore.ts';
import { handleVerifyCommand, handleVerifySubmission } from './commands/verify.ts';
import { handleApproveAction, handleRejectAction, startApprovalExpiry } from './flows/approval.ts';
import { handleRetryAction } from './flows/retry.ts';
import { registerHomeActions } from './flows/home-actions.ts';
import { handleDropKeptAction, handleOpenRestoreAction, handleShowDetailsAction, handleVerifyNowAction } from './flows/next-steps.ts';
import { helpText } from './commands/help.ts';
import { section } from './messages/blocks.ts';
import { slackErrorOf } from './slack-api.ts';
import { keepReconnecting } from './socket-reconnect.ts';
import { handleIncidentCommand } from './incident/incident-command.ts';
import { handleDeclareSubmission, handleResolveSubmission, handleRunStepSubmission, handleStepDoneAction, handleStepRunAction } from './incident/incident-actions.ts';
import { DONE_ACTION, IncidentIds, RUN_ACTION } from './incident/incident-ids.ts';
import { createBotServices, type BotServices, type BotSettings } from './services.ts';

export type BotMode = { type: 'socket'; appToken: string } | { type: 'http'; signingSecret: string; port: number; host?: string };

export interface BotAppOptions {
  mode: BotMode;
  botToken: string;
  /** Web API base URL (SLACK_API_URL): a proxy, or the fake Slack API in tests and the console. */
  apiUrl?: string;
  settings: BotSettings;
  deps: JobDeps;
  jobs: BotJobs;
  logger: Logger;
  /** Extra HTTP routes served next to /slack/events in HTTP mode (health, metrics, status page). */
  routes?: CustomRoute[];
  /** The schedule's next runs, for App Home. */
  nextRuns?: () => Array<{ job: string; at: Date }>;
}

export interface BotApp {
  app: App;
  services: BotServices;
  /** Starts receiving; in HTTP mode resolves with the port actually bound. */
  start(): Promise<{ port?: number }>;
  /** Cancels running jobs, waits for their final messages, stops receiving. */
  stop(): Promise<void>;
}

/**
 * The Bolt app: Socket Mode (no public URL; the app opens a WebSocket to Slack) or HTTP mode
 * (Slack POSTs signed requests to /slack/events). Every handler acks first and does its work
 * after, and jobs run off the request path in the JobRunner.
 */
export function createBotApp(o: BotAppOptions): BotApp {
  const logger = boltLogger(o.logger);
  const apiUrl = o.apiUrl ? { slackApiUrl: o.apiUrl.endsWith('/') ? o.apiUrl : `${o.apiUrl}/` } : {};
  const clientOptions = {
    ...apiUrl,
    // A 429 comes back to the caller (who knows whether to wait) instead of pausing every
    // other Slack call of the process; progress updates then skip, final messages wait.
    rejectRateLimitedCalls: true,
    retryConfig: { retries: 2, factor: 2, minTimeout: 500, maxTimeout: 2000 },
    timeout: 15_000,
  };
  const receiver: Receiver =
    o.mode.type === 'socket'
      ? // The socket client only needs the API URL. It keeps its own retry policy for
        // apps.connections.open (about a hundred retries, backing off): with the bot's short one
        // a Slack outage while reconnecting exhausts the retries. What still fails a reconnect
        // is kept from ending the process by keepReconnecting.
        socketReceiver(o.mode.appToken, logger, apiUrl, o.logger)
      : new HTTPReceiver({
          signingSecret: o.mode.signingSecret,
          logger,
          customRoutes: withHealthz(o.routes ?? []),
        });
  const client = new webApi.WebClient(o.botToken, { ...clientOptions, logger });
  const identify = botIdentity(client, o.botToken);
  const app = new App({ receiver, logger, clientOptions, authorize: identify });
  const services = createBotServices({ client, settings: o.settings, deps: o.deps, jobs: o.jobs, logger: o.logger, nextRuns: o.nextRuns });
  registerHandlers(app, services);
  let stopExpiry: (() => void) | undefined;
  let stopIncidentSync: (() => void) | undefined;

  return {
    app,
    services,
    async start() {
      // Asked now, so the first event does not wait for it; a failure is logged and asked again.
      identify().catch((err: unknown) => o.logger.warn({ error: slackErrorOf(err) }, 'Slack did not confirm the bot token (auth.test); asking again with the next event'));
      stopExpiry = startApprovalExpiry(services);
      // Incidents declared or worked on the console while Slack was down reach #incidents.
      stopIncidentSync = services.incident.startSync(o.settings.incidentSyncMs);
      services.catalog.refresh().catch(() => undefined);
      if (o.mode.type === 'socket') {
        await app.start();
        o.logger.info('Slack bot connected in Socket Mode');
        return {};
      }
      const server = (await app.start({ port: o.mode.port, host: o.mode.host })) as Server;
      const port = (server.address() as AddressInfo).port;
      o.logger.info({ port }, 'Slack bot listening for HTTP requests on /slack/events');
      return { port };
    },
    async stop() {
      stopExpiry?.();
      stopIncidentSync?.();
      services.home.stop();
      services.incident.stop();
      await services.runner.stop();
      await app.stop().catch((err: unknown) => o.logger.warn({ err }, 'error while stopping the Slack receiver'));
    },
  };
}

function socketReceiver(appToken: string, logger: BoltLogger, apiUrl: { slackApiUrl?: string }, log: Logger): SocketModeReceiver {
  const receiver = new SocketModeReceiver({ appToken, logger, installerOptions: { clientOptions: { ...apiUrl } } });
  keepReconnecting(receiver, log);
  return receiver;
}

/**
 * Who the bot is (auth.test), for Bolt's `authorize`. Bolt's own token check runs auth.test once
 * in its constructor and keeps that promise: with Slack down at boot it rejects with nobody
 * listening (Node then ends the process: `serve` must keep its schedule without Slack), and every
 * later event fails on the same cached rejection, even after Slack is back. Here the answer is
 * kept only once Slack gave it; a failure is the caller's and the next call asks again.
 */
function botIdentity(client: webApi.WebClient, botToken: string): () => Promise<{ botToken: string; botId?: string; botUserId?: string }> {
  let identity: Promise<{ botId?: string; botUserId?: string }> | undefined;
  return async () => {
    const asking = (identity ??= client.auth.test().then((r) => ({ botId: r.bot_id, botUserId: r.user_id })));
    try {
      return { botToken, ...(await asking) };
    } catch (err) {
      if (identity === asking) identity = undefined;
      throw err;
    }
  };
}

function registerHandlers(app: App, s: BotServices): void {
  app.command(SlashCommand.Backup, handleBackupCommand(s));
  app.command(SlashCommand.Restore, handleRestoreCommand(s));
  app.command(SlashCommand.Verify, handleVerifyCommand(s));
  app.command(SlashCommand.Drill, handleDrillCommand(s));
  app.command(SlashCommand.Backups, handleBackupsCommand(s));
  app.view<ViewSubmitAction>(ViewId.Backup, handleBackupSubmission(s));
  app.view<ViewSubmitAction>(ViewId.Restore, handleRestoreSubmission(s));
  app.view<ViewSubmitAction>(ViewId.Verify, handleVerifySubmission(s));
  app.view<ViewSubmitAction>(ViewId.Drill, handleDrillSubmission(s));
  app.action<BlockAction>(ActionId.Approve, handleApproveAction(s));
  app.action<BlockAction>(ActionId.Reject, handleRejectAction(s));
  app.action<BlockAction>(ActionId.Retry, handleRetryAction(s));
  app.action<BlockAction>(ActionId.VerifyNow, handleVerifyNowAction(s));
  app.action<BlockAction>(ActionId.OpenRestore, handleOpenRestoreAction(s, 'plain'));
  app.action<BlockAction>(ActionId.RollBack, handleOpenRestoreAction(s, 'rollback'));
  app.action<BlockAction>(ActionId.RestoreAnotherName, handleOpenRestoreAction(s, 'rename'));
  app.action<BlockAction>(ActionId.ShowDetails, handleShowDetailsAction(s));
  app.action<BlockAction>(ActionId.DropKept, handleDropKeptAction(s));
  app.command(SlashCommand.Incident, handleIncidentCommand(s));
  app.view<ViewSubmitAction>(IncidentIds.declareView, handleDeclareSubmission(s));
  app.view<ViewSubmitAction>(IncidentIds.resolveView, handleResolveSubmission(s));
  app.view<ViewSubmitAction>(IncidentIds.runView, handleRunStepSubmission(s));
  app.action<BlockAction>(RUN_ACTION, handleStepRunAction(s));
  app.action<BlockAction>(DONE_ACTION, handleStepDoneAction(s));
  registerHomeActions(app, s);
  app.event('app_mention', async ({ event }) => {
    await s.chat
      .postMessage({ channel: event.channel, thread_ts: event.thread_ts ?? event.ts, text: helpText(), blocks: [section(helpText())] })
      .catch((err: unknown) => s.logger.warn({ err }, 'could not answer a mention'));
  });
  app.event('app_home_opened', async ({ event }) => {
    if (event.tab !== 'home') return;
    // The dashboard shows what /backups shows (backups, the store, running jobs, approval
    // reasons), so it takes the same role; anyone else sees a refusal, and it is audited.
    if (await authorize(s, event.user, 'operator', { operationType: 'list', what: 'see the backups' }, undefined)) await s.home.opened(event.user);
    else await s.home.refused(event.user);
  });
  app.error(async (err) => {
    s.logger.error({ err }, 'unhandled error in a Slack handler');
  });
}

/** `GET /healthz` for load balancers, unless the given routes already answer it. */
function withHealthz(routes: CustomRoute[]): CustomRoute[] {
  if (routes.some((r) => r.path === '/healthz')) return routes;
  return [...routes, { path: '/healthz', method: ['GET'], handler: (_req, res) => void res.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n') }];
}
