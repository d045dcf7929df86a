import { afterAll, afterEach, beforeAll, expect } from 'vitest';
import { createBotApp, type BotApp } from '../../src/bot/app.ts';
import { createBotJobs, type BotJobs, type BotJobsConfig } from '../../src/bot/bot-jobs.ts';
import { FakeSlackApi, type RecordedCall } from '../../src/bot/dev/fake-slack-api.ts';
import { SimulatedSlack, type OpenedView, type PostedMessage } from '../../src/bot/dev/simulated-slack.ts';
import type { BotSettings } from '../../src/bot/services.ts';
import type { FilesConfig, RecoveryConfig } from '../../src/config/load-config.ts';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { KeyRing } from '../../src/crypto/keys.ts';
import type { JobDeps } from '../../src/jobs/job-context.ts';
import { createLogger } from '../../src/log/logger.ts';
import { openStateDb } from '../../src/state/state-db.ts';
import { createLocalStore } from '../../src/storage/local-store.ts';
import type { Manifest } from '../../src/catalog/manifest.ts';
import { runDatabaseBackup } from '../../src/jobs/backup-database.ts';
import { createDatabase, createFbmsDatabase, dropDatabasesLike } from '../support/databases.ts';
import { newKey, tempDir } from '../support/job-deps.ts';

export const CHANNEL = 'C0INCIDENT';
export const OPERATOR = 'U0OPERATOR';
export const APPROVER_A = 'U0APPROVA';
export const APPROVER_B = 'U0APPROVB';
export const STRANGER = 'U0STRANGER';
export const SIGNING_SECRET = 'test-signing-secret-0123456789';

export const RECOVERY: RecoveryConfig = {
  appStopCmd: undefined,
  appStartCmd: undefined,
  hookTimeoutSeconds: 60,
  restoreJobs: 1,
  rtoObjectiveSeconds: 4 * 3600,
  rpoObjectiveSeconds: 3600,
  maintenanceDb: 'postgres',
  requiredTables: [],
  backupRolePasswords: false,
};

export interface TestBot {
  api: FakeSlackApi;
  bot: BotApp;
  slack: SimulatedSlack;
  deps: JobDeps;
  logLines: string[];
  url: string;
  stop(): Promise<void>;
}

/**
 * The real Bolt app in HTTP mode on a free loopback port, its Web API client pointed at a fake
 * Slack API, real jobs against a real FBMS database, a local store and PGlite state in a temp
 * dir. `settings` and `jobs` let a test tighten timings or wrap the jobs.
 */
/** A test bot on `databaseUrl` with one database backup of it already in its catalog. */
export async function startTestBotWithBackup(
  databaseUrl: string,
  options: Parameters<typeof startTestBot>[0] = {},
): Promise<{ bot: TestBot; manifest: Manifest }> {
  const bot = await startTestBot({ databaseUrl, ...options });
  const manifest = await runDatabaseBackup({ databaseUrl, trigger: { by: 'cli:test', via: 'cli' } }, bot.deps);
  await bot.bot.services.catalog.refresh();
  return { bot, manifest };
}

export async function startTestBot(o: { databaseUrl?: string; files?: FilesConfig; settings?: Partial<BotSettings>; userGroups?: Record<string, string[]>; wrapJobs?: (jobs: BotJobs) => BotJobs; pgBinDir?: string; restoreRoots?: string[]; recovery?: Partial<RecoveryConfig>; secondaryDir?: string; wal?: BotJobsConfig['wal']; dataDir?: string } = {}): Promise<TestBot> {
  const api = await new FakeSlackApi({ userGroups: o.userGroups }).start();
  const { deps, dir, logLines, close } = await makeBotDeps();
  if (o.pgBinDir) deps.pgBinDir = o.pgBinDir;
  const jobs = createBotJobs(deps, { databaseUrl: o.databaseUrl, recovery: { ...RECOVERY, ...o.recovery }, files: o.files, slack: { restoreRoots: o.restoreRoots ?? [tmpdir()] }, ...(o.secondaryDir ? { secondary: { type: 'local' as const, dir: o.secondaryDir } } : {}), wal: o.wal, dataDir: o.dataDir });
  const bot = createBotApp({
    mode: { type: 'http', signingSecret: SIGNING_SECRET, port: 0, host: '127.0.0.1' },
    botToken: 'xoxb-test-token',
    apiUrl: api.apiUrl,
    settings: { channel: CHANNEL, operators: [OPERATOR], approvers: [APPROVER_A, APPROVER_B], approvalTtlSeconds: 1800, progressIntervalMs: 100, homeDebounceMs: 50, ...o.settings },
    deps,
    jobs: o.wrapJobs ? o.wrapJobs(jobs) : jobs,
    logger: deps.logger,
  });
  const { port } = await bot.start();
  const url = `http://127.0.0.1:${port}/slack/events`;
  const slack = new SimulatedSlack({ botUrl: url, signingSecret: SIGNING_SECRET, api, channelId: CHANNEL });
  return {
    api,
    bot,
    slack,
    deps,
    logLines,
    url,
    async stop() {
      await bot.stop();
      await api.stop();
      await close();
    },
  };
}

/** Runs a slash command and resolves with the modal the bot opened in answer. */
export async function openModal(t: TestBot, userId: string, command: string, text = ''): Promise<OpenedView> {
  const since = t.api.nextSeq;
  const reply = await t.slack.command(userId, command, text);
  expect(reply.status).toBe(200);
  const opened = await t.slack.waitForModal(since);
  if (opened === undefined) throw new Error('expected a modal, got nothing');
  if ('reply' in opened) throw new Error(`expected a modal, got a reply: ${JSON.stringify(opened.reply.args.text)}`);
  return opened.view;
}

/** The next ephemeral reply (response_url) from `since`. */
export async function nextReply(t: TestBot, since: number): Promise<string> {
  const call = await t.api.waitFor((c) => c.method === 'response_url', { since });
  return JSON.stringify(call.args);
}

/** Waits for a post or update in a channel that `match` accepts; resolves with that message as it stands now. */
export async function waitForMessage(t: TestBot, match: (c: RecordedCall) => boolean, since = 0, timeoutMs = 30_000): Promise<PostedMessage> {
  const call = await t.api.waitFor((c) => (c.method === 'chat.postMessage' || c.method === 'chat.update') && c.response.ok === true && match(c), { since, timeoutMs });
  const ts = (call.method === 'chat.update' ? call.args.ts : call.response.ts) as string;
  return t.slack.currentMessage(call.args.channel as string, ts)!;
}

export function textOf(c: RecordedCall): string {
  return `${String(c.args.text ?? '')} ${JSON.stringify(c.args.blocks ?? c.args.view ?? '')}`;
}

/**
 * Job dependencies for a bot under test: a local store in a temp dir, state in a fresh
 * database on the test cluster (much faster to open than PGlite, and what a multi-replica
 * deployment would use), and a JSON logger whose lines the test can read.
 */
export async function makeBotDeps(): Promise<{ deps: JobDeps; dir: string; logLines: string[]; close: () => Promise<void> }> {
  const dir = tempDir('bantay-bot-');
  const logLines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      logLines.push(String(chunk));
      cb();
    },
  });
  const stateUrl = await createDatabase();
  const deps: JobDeps = {
    store: createLocalStore(join(dir, 'store')),
    state: await openStateDb({ url: stateUrl, dataDir: dir }),
    keyRing: new KeyRing(newKey(), []),
    logger: createLogger({ format: 'json', level: 'debug', destination: destination as unknown as NodeJS.WritableStream }),
  };
  return {
    deps,
    dir,
    logLines,
    // The state database stays until the throwaway test cluster goes: dropping it right after
    // the pool ends races the pool's last disconnects.
    close: () => deps.state.close(),
  };
}

/**
 * The hooks of a bot flow test file: an FBMS source database for the whole file (dropped with
 * every database named after it), and after each test the bot's Slack calls checked against
 * Slack's rules and the bot stopped.
 */
export function useBotFlowFixture(bot: () => TestBot, setSource: (db: { url: string; name: string }) => void, scale = 0.1): void {
  let name: string | undefined;
  beforeAll(async () => {
    const db = await createFbmsDatabase({ scale });
    name = db.name;
    setSource(db);
  });
  afterAll(async () => {
    if (name !== undefined) await dropDatabasesLike(`${name}%`);
  });
  afterEach(async () => {
    expect(bot().api.violations()).toEqual([]);
    await bot().stop();
  });
}
