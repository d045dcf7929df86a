import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { inject } from 'vitest';
import { createFbmsSchema, seedFbmsData, tableChecksums } from '../../src/dev/fbms-fixture.ts';
import { withDatabase } from '../../src/jobs/pg/connection.ts';

/** Superuser URL of the shared test cluster started by global-setup. */
export function adminUrl(): string {
  return inject('pgAdminUrl');
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${randomBytes(4).toString('hex')}`;
}

async function withAdmin<T>(url: string, fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

/** Creates an empty database on the shared cluster; resolves with its URL. */
export async function createDatabase(name = uniqueName('t')): Promise<string> {
  await withAdmin(adminUrl(), (c) => c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}`));
  return withDatabase(adminUrl(), name);
}

export async function dropDatabase(name: string): Promise<void> {
  await withAdmin(adminUrl(), (c) => c.query(`DROP DATABASE IF EXISTS ${c.escapeIdentifier(name)} WITH (FORCE)`));
}

/** Drops every database whose name matches the LIKE `pattern` (a test's leftovers: copies, kept databases). */
export async function dropDatabasesLike(pattern: string): Promise<void> {
  const rows = await sql<{ datname: string }>(adminUrl(), 'SELECT datname FROM pg_database WHERE datname LIKE $1', [pattern]);
  for (const { datname } of rows) await dropDatabase(datname);
}

export async function databaseExists(name: string): Promise<boolean> {
  return withAdmin(adminUrl(), async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount === 1);
}

/** A new database holding the FBMS fixture at `scale`; resolves with its URL and name. */
export async function createFbmsDatabase(options: { scale?: number; seed?: number } = {}): Promise<{ url: string; name: string }> {
  const name = uniqueName('fbms');
  const url = await createDatabase(name);
  await withAdmin(url, async (client) => {
    await createFbmsSchema(client);
    await seedFbmsData(client, { scale: options.scale ?? 1, seed: options.seed ?? 1 });
  });
  return { url, name };
}

export async function checksumsOf(url: string): Promise<Record<string, { rows: number; md5: string }>> {
  return withAdmin(url, (client) => tableChecksums(client));
}

export async function sql<R extends pg.QueryResultRow = Record<string, unknown>>(url: string, text: string, params: unknown[] = []): Promise<R[]> {
  return withAdmin(url, async (client) => (await client.query<R>(text, params)).rows);
}
