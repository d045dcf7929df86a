/**
 * `npm run demo`: the main job end to end on a fresh machine. Starts a throwaway PostgreSQL
 * seeded with FBMS sample data, backs it up (encrypted) to ./var/backups with the real CLI,
 * lists and shows it, then stops the server. The backups stay in ./var for you to explore.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import pg from 'pg';
import { main } from '../src/cli/main.ts';
import { createFbmsSchema, fbmsCoreTables, seedFbmsData } from '../src/dev/fbms-fixture.ts';
import { startPgCluster } from '../src/dev/pg-cluster.ts';

const keyFile = resolve('var/demo-encryption.key');

function say(line: string): void {
  process.stderr.write(`\n\x1b[1m== ${line}\x1b[0m\n`);
}

async function run(args: string[], env: NodeJS.ProcessEnv): Promise<void> {
  process.stderr.write(`$ bantay ${args.join(' ')}\n`);
  const code = await main(args, { env });
  if (code !== 0) throw new Error(`bantay ${args.join(' ')} exited with ${code}`);
}

say('Starting a throwaway PostgreSQL server');
const cluster = await startPgCluster({ log: (line) => process.stderr.write(`   ${line}\n`) });
try {
  const databaseUrl = await cluster.createDatabase('fbms_demo');
  say('Seeding FBMS sample data (customers, products, sales, receipts...)');
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  await createFbmsSchema(client);
  const { rowCounts } = await seedFbmsData(client, { scale: 1 });
  await client.end();
  process.stderr.write(`   ${Object.entries(rowCounts).map(([t, n]) => `${t}=${n}`).join(' ')}\n`);

  mkdirSync('var', { recursive: true });
  if (!existsSync(keyFile)) writeFileSync(keyFile, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
  // The demo knows its own schema, so it names the tables a restored copy must have (with rows);
  // a real deployment lists its own in BANTAY_REQUIRED_TABLES, or leaves it unset.
  const requiredTables = fbmsCoreTables.join(',');
  const env = { ...process.env, DATABASE_URL: databaseUrl, BANTAY_ENCRYPTION_KEY_FILE: keyFile, BANTAY_LOG_FORMAT: 'pretty', BANTAY_REQUIRED_TABLES: requiredTables };

  say('Backing up the database: pg_dump -> SHA-256 -> AES-256-GCM -> ./var/backups');
  await run(['backup', 'database', '--label', 'demo'], env);
  say('Listing the catalog (read from the manifests in the store)');
  await run(['list'], env);
  say('Showing the newest backup');
  await run(['show', 'latest'], env);
  say(`Verifying it: restore into a scratch database, compare with the manifest, require ${fbmsCoreTables.length} tables (BANTAY_REQUIRED_TABLES)`);
  await run(['verify', 'latest'], env);
  say('Done');
  process.stderr.write(
    [
      'Backups are in ./var/backups, the audit log in ./var/state, the demo key in var/demo-encryption.key.',
      'Try:  BANTAY_ENCRYPTION_KEY_FILE=var/demo-encryption.key npx bantay export-sql latest | head -40',
      'A real deployment keeps its key outside the backup store (a secrets manager or a root-only file).',
      '',
    ].join('\n'),
  );
} finally {
  await cluster.stop();
}
