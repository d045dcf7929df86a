/**
 * `npm run demo`: the whole story in about a minute, on a fresh machine, with no Slack needed.
 * A throwaway PostgreSQL seeded with FBMS sample data and a folder of receipt uploads; the real
 * CLI backs both up (encrypted), verifies, and after a bad import damages a table, restores
 * into a new database and shows the check; a recovery drill; then a short scripted session of
 * the Slack bot (the real Bolt app against a fake Slack in this process): a modal, the progress
 * message, and an in-place restore approved by a second person. Everything stays in ./var.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { PassThrough, Writable } from 'node:stream';
import pg from 'pg';
import { createBotJobs } from '../src/bot/bot-jobs.ts';
import { runConsole } from '../src/bot/console/console-session.ts';
import { listBackups } from '../src/catalog/catalog.ts';
import { main } from '../src/cli/main.ts';
import { loadConfig } from '../src/config/load-config.ts';
import { createFbmsSchema, fbmsCoreTables, seedFbmsData } from '../src/dev/fbms-fixture.ts';
import { startPgCluster } from '../src/dev/pg-cluster.ts';
import { createLogger } from '../src/log/logger.ts';
import { openStateDb } from '../src/state/state-db.ts';
import { openStore } from '../src/storage/open-store.ts';

const keyFile = resolve('var/demo-encryption.key');
const uploadsDir = resolve('var/demo-uploads');
const bold = (s: string) => `\x1b[1m${s}\x1b[0m`;
// Each CLI run below adds its own listeners to stderr; a dozen in one process is expected here.
process.stderr.setMaxListeners(50);

function say(line: string): void {
  process.stderr.write(`\n${bold(`== ${line}`)}\n`);
}

async function run(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  process.stderr.write(`$ bantay ${args.join(' ')}\n`);
  const code = await main(args, { env });
  if (code !== 0) throw new Error(`bantay ${args.join(' ')} exited with ${code}`);
}

async function query<T extends pg.QueryResultRow>(url: string, text: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(text)).rows;
  } finally {
    await client.end();
  }
}

function writeReceipts(): void {
  rmSync(uploadsDir, { recursive: true, force: true });
  mkdirSync(join(uploadsDir, '2026', '11'), { recursive: true });
  for (let i = 1; i <= 40; i += 1) writeFileSync(join(uploadsDir, '2026', '11', `receipt-${String(i).padStart(4, '0')}.jpg`), randomBytes(4096 + i * 97));
}

say('Starting a throwaway PostgreSQL server');
const cluster = await startPgCluster({ log: (line) => process.stderr.write(`   ${line}\n`) });
try {
  const databaseUrl = await cluster.createDatabase('fbms_demo');
  say('Seeding FBMS sample data and a folder of receipt uploads');
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await createFbmsSchema(client);
  const { rowCounts } = await seedFbmsData(client, { scale: 0.5 });
  await client.end();
  writeReceipts();
  process.stderr.write(`   ${Object.entries(rowCounts).map(([t, n]) => `${t}=${n}`).join(' ')}\n   40 receipts in ${uploadsDir}\n`);

  mkdirSync('var', { recursive: true });
  rmSync('var/backups', { recursive: true, force: true });
  rmSync('var/state', { recursive: true, force: true });
  if (!existsSync(keyFile)) writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  // The demo knows its own schema, so it names the tables a restored copy must have (with rows);
  // a real deployment lists its own in BANTAY_REQUIRED_TABLES, or leaves it unset.
  const env = { ...process.env, DATABASE_URL: databaseUrl, UPLOADS_DIR: uploadsDir, BANTAY_ENCRYPTION_KEY_FILE: keyFile, BANTAY_LOG_FORMAT: 'pretty', BANTAY_LOG_LEVEL: 'warn', BANTAY_REQUIRED_TABLES: fbmsCoreTables.join(',') };

  say('1. Back up the database and the uploads (streamed, hashed, encrypted)');
  await run(['backup', 'database', '--label', 'demo'], env);
  await run(['backup', 'uploads'], env);
  await run(['list'], env);

  say(`2. Prove the database backup restores: verify (and require ${fbmsCoreTables.length} tables, BANTAY_REQUIRED_TABLES)`);
  await run(['verify', 'latest'], env);

  say('3. A bad import damages a table');
  await query(databaseUrl, 'DELETE FROM public.sale_items WHERE id IN (SELECT id FROM public.sale_items ORDER BY id LIMIT 500)');
  const [damaged] = await query<{ n: string }>(databaseUrl, 'SELECT count(*) AS n FROM public.sale_items');
  process.stderr.write(`   public.sale_items now has ${damaged!.n} rows (500 gone)\n`);

  say('4. Restore the backup into a new database, checked against its manifest');
  const config = loadConfig({ env });
  const store = openStore(config.store);
  const [latest] = (await listBackups(store, { keyRing: config.keyRing })).filter((m) => m.kind === 'database');
  await run(['restore', latest!.id, '--target-db', 'fbms_demo_restored'], env);
  const restoredUrl = databaseUrl.replace(/\/fbms_demo(\?|$)/, '/fbms_demo_restored$1');
  const [restored] = await query<{ n: string }>(restoredUrl, 'SELECT count(*) AS n FROM public.sale_items');
  process.stderr.write(`   public.sale_items: live ${damaged!.n} rows, restored copy ${restored!.n} rows (as at the backup)\n`);

  say('5. A recovery drill: the newest backup of each kind, restored and checked, RTO and RPO');
  await run(['drill'], env);

  say('6. The same from Slack: a scripted session with the real bot against a fake Slack');
  await slackSession(env, databaseUrl);

  say('7. Incident mode from the console: a simulated database corruption, run to its recovery report');
  await query(databaseUrl, 'UPDATE public.sales SET total = total * 2');
  process.stderr.write('   every sale total was just doubled by a "price update"\n');
  await run(['incident', 'declare', '--scenario', 'database-corruption', '--summary', 'Sale totals doubled by a price update'], env);
  await run(['incident', 'done', '1', '--note', 'totals checked against paper receipts'], env);
  await run(['incident', 'run', '3'], env);
  await run(['incident', 'run', '4', '--target-db', 'fbms_demo_incident'], env);
  await run(['incident', 'run', '6'], env);
  await run(['incident', 'update', 'recovering', 'Sales figures from this afternoon are being corrected.'], { ...env, BANTAY_STATUS_SERVICE_NAME: 'the FBMS demo shop' });
  await run(['incident', 'resolve', '--root-cause', 'A price update ran without a WHERE clause', '--lessons', 'Stop the application before correcting data'], env);

  say('Done');
  process.stderr.write(
    [
      'Backups are in ./var/backups, the audit log in ./var/state, the demo key in var/demo-encryption.key.',
      'Try it yourself:  BANTAY_ENCRYPTION_KEY_FILE=var/demo-encryption.key npx bantay console',
      'A real deployment keeps its key outside the backup store (a secrets manager or a root-only file).',
      '',
    ].join('\n'),
  );
} finally {
  await cluster.stop();
}

/**
 * Carol (an operator) backs up from a modal and watches the progress message; Alice asks for
 * an in-place restore of the damaged database; Bob, a second approver, approves it.
 */
async function slackSession(env: NodeJS.ProcessEnv, databaseUrl: string): Promise<void> {
  const config = loadConfig({ env });
  const logger = createLogger({ format: 'json', level: 'error', destination: new Writable({ write: (_c, _e, cb) => cb() }) as unknown as NodeJS.WritableStream });
  const deps = { store: openStore(config.store), state: await openStateDb({ url: config.stateUrl, dataDir: config.dataDir }), keyRing: config.keyRing, logger };
  const name = new URL(databaseUrl).pathname.slice(1);
  const script = [
    'as U0CAROL',
    '/backup database', // the confirmation modal
    'before the inventory import', // its label
    'y', // Start backup?
    'wait', // the progress message, then the result with its buttons
    'as U0ALICE',
    `/restore`,
    '', // keep the preselected (newest verified) backup
    '', // no uploads day
    '2', // in place
    '', // no in-place choices (pg_restore errors, another database)
    '', // no new name
    'a bad import deleted 500 sale items',
    name, // type the live database's name
    'y',
    'as U0BOB',
    'approve', // the second person
    'wait',
    'quit',
  ];
  const input = new PassThrough();
  input.end(`${script.join('\n')}\n`);
  const output = new PassThrough();
  output.on('data', (c: Buffer) => process.stderr.write(c.toString('utf8').replace(/^(U0\w+> )/gm, (m) => bold(m))));
  await runConsole({
    input,
    output,
    deps,
    jobs: createBotJobs(deps, config),
    logger,
    settings: { channel: 'C0INCIDENTS', operators: ['U0CAROL'], approvers: ['U0ALICE', 'U0BOB'], approvalTtlSeconds: 1800, progressIntervalMs: 3000 },
    user: 'U0CAROL',
  });
  await deps.state.close();
}
