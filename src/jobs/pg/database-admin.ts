import { DEFAULT_LOCK_TIMEOUT_MS } from './lock-watch.ts';
import pg from 'pg';
import { printable } from '../../catalog/backup-id.ts';
import { BantayError, ErrorCode } from '../../errors.ts';
import { describeDatabaseUrl, withDatabase } from './connection.ts';
import { readSystemIdentifier } from './server-identity.ts';
import { countUserTableRows } from './user-tables.ts';

/**
 * Database-level administration on the FBMS server: exists, create, drop, rename, block and
 * terminate connections, count rows. Every statement runs on an AdminSession connected to the
 * maintenance database (BANTAY_MAINTENANCE_DB, default "postgres"), never to a database it
 * creates, drops or renames: PostgreSQL refuses to rename the current database and counts our
 * own session as "another user" of any database we are connected to.
 */
export interface AdminSession {
  client: pg.Client;
  /** The server's URL with the maintenance database; withDatabase() turns it into any other. */
  url: string;
  /** Who the server is: "sysid:<system identifier>", or "host:<host>:<port>" when that is not readable. */
  server: string;
  close(): Promise<void>;
}

/** Names Bantay accepts from users: lower-case, digits and underscores, 1-63 chars, no quoting needed. */
const DATABASE_NAME = /^[a-z_][a-z0-9_]{0,62}$/;

/** Validates a database name typed by a user; the message says what is allowed. */
export function parseDatabaseName(value: string): string {
  if (!DATABASE_NAME.test(value)) {
    throw new BantayError(
      ErrorCode.InvalidInput,
      `"${printable(value)}" is not an accepted database name: use 1-63 lower-case letters, digits and underscores, starting with a letter or underscore`,
    );
  }
  return value;
}

/**
 * The admin session restores, verifies and drills work from (create, rename, drop databases).
 * Its statements wait for a lock at most `lockTimeoutMs` (BANTAY_LOCK_TIMEOUT, default 300 s),
 * then fail with 55P03, classified "lock-timeout": e.g. an in-place swap behind a session that
 * holds the live database (an open transaction that ran COMMENT ON DATABASE) would otherwise
 * wait for ever, with the application stopped. The swap is one transaction: nothing changes.
 */
export async function openAdminSession(databaseUrl: string, maintenanceDb: string, options: { lockTimeoutMs?: number; applicationName?: string } = {}): Promise<AdminSession> {
  const url = withDatabase(databaseUrl, maintenanceDb);
  const lockTimeout = Math.max(1, Math.floor(options.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS));
  const client = new pg.Client({ connectionString: url, application_name: (options.applicationName ?? 'bantay-admin').slice(0, 63), connectionTimeoutMillis: 15_000, options: `-c lock_timeout=${lockTimeout}` });
  try {
    await client.connect();
  } catch (err) {
    const where = describeDatabaseUrl(url);
    throw new BantayError(
      ErrorCode.Database,
      `Could not connect to the maintenance database ${where.database} on ${where.host} (BANTAY_MAINTENANCE_DB): ${(err as Error).message}`,
      { cause: err },
    );
  }
  client.on('error', () => undefined);
  const sysid = await readSystemIdentifier(client);
  const where = describeDatabaseUrl(url);
  const server = sysid !== undefined ? `sysid:${sysid}` : `host:${where.host}:${where.port ?? 5432}`;
  return { client, url, server, close: () => client.end().catch(() => undefined) };
}

export interface DatabaseInfo {
  owner: string;
  allowConnections: boolean;
  comment: string | null;
}

export async function databaseInfo(client: pg.Client, name: string): Promise<DatabaseInfo | undefined> {
  const { rows } = await client.query<DatabaseInfo>(
    `SELECT pg_get_userbyid(datdba) AS owner, datallowconn AS "allowConnections", shobj_description(oid, 'pg_database') AS comment
       FROM pg_database WHERE datname = $1`,
    [name],
  );
  return rows[0];
}

export async function databaseExists(client: pg.Client, name: string): Promise<boolean> {
  return (await databaseInfo(client, name)) !== undefined;
}

/**
 * Creates an empty database from template0 (so nothing from template1 mixes with the restore),
 * with the encoding and collation of `like` when that database exists: a restored FBMS must
 * sort and compare text exactly as the live one does.
 */
export async function createEmptyDatabase(client: pg.Client, name: string, like?: string): Promise<void> {
  // to_jsonb: the locale-provider columns exist only on PostgreSQL 15 and later.
  const { rows } = await client.query<{ d: Record<string, unknown>; encoding: string }>(
    `SELECT to_jsonb(d) AS d, pg_encoding_to_char(d.encoding) AS encoding FROM pg_database d WHERE datname = $1`,
    [like ?? ''],
  );
  const source = rows[0];
  let options = '';
  if (source) {
    const lit = (v: unknown) => client.escapeLiteral(String(v));
    options = ` ENCODING ${lit(source.encoding)} LC_COLLATE ${lit(source.d.datcollate)} LC_CTYPE ${lit(source.d.datctype)}${localeProvider(source.d, lit)}`;
  }
  await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)} TEMPLATE template0${options}`);
}

/**
 * The ICU or builtin locale clause for a pg_database row. PostgreSQL 15 and 16 call the ICU
 * locale daticulocale; 17 renamed it datlocale and added the builtin provider; 16 added ICU rules.
 */
function localeProvider(d: Record<string, unknown>, lit: (v: unknown) => string): string {
  const locale = d.datlocale ?? d.daticulocale;
  if (d.datlocprovider === 'i') {
    const rules = typeof d.daticurules === 'string' ? ` ICU_RULES ${lit(d.daticurules)}` : '';
    return ` LOCALE_PROVIDER icu ICU_LOCALE ${lit(locale)}${rules}`;
  }
  if (d.datlocprovider === 'b') return ` LOCALE_PROVIDER builtin BUILTIN_LOCALE ${lit(locale)}`;
  return '';
}

/** Drops a database, disconnecting its sessions first. A missing database is fine. */
export async function dropDatabase(client: pg.Client, name: string): Promise<void> {
  await client.query(`DROP DATABASE IF EXISTS ${client.escapeIdentifier(name)} WITH (FORCE)`);
}

export async function setAllowConnections(client: pg.Client, name: string, allow: boolean): Promise<void> {
  await client.query(`ALTER DATABASE ${client.escapeIdentifier(name)} WITH ALLOW_CONNECTIONS ${allow ? 'true' : 'false'}`);
}

export async function setDatabaseComment(client: pg.Client, name: string, comment: string | null): Promise<void> {
  const value = comment === null ? 'NULL' : client.escapeLiteral(comment);
  await client.query(`COMMENT ON DATABASE ${client.escapeIdentifier(name)} IS ${value}`);
}

/** Sessions connected to any of `names`, other than our own. */
export async function countConnections(client: pg.Client, names: readonly string[]): Promise<number> {
  const { rows } = await client.query<{ n: string }>(
    'SELECT count(*) AS n FROM pg_stat_activity WHERE datname = ANY($1::text[]) AND pid <> pg_backend_pid()',
    [names],
  );
  return Number(rows[0]!.n);
}

/**
 * Terminates every other session on `names` and waits until they are gone. Connections must be
 * blocked first (setAllowConnections false) or clients may reconnect at once.
 */
export async function terminateConnections(client: pg.Client, names: readonly string[], timeoutMs = 15_000): Promise<number> {
  const { rows } = await client.query<{ n: string }>(
    `SELECT count(pg_terminate_backend(pid)) AS n FROM pg_stat_activity WHERE datname = ANY($1::text[]) AND pid <> pg_backend_pid()`,
    [names],
  );
  const deadline = Date.now() + timeoutMs;
  while ((await countConnections(client, names)) > 0) {
    if (Date.now() > deadline) {
      throw new BantayError(
        ErrorCode.Database,
        `Sessions on ${names.join(', ')} did not end within ${timeoutMs / 1000}s after pg_terminate_backend ` +
          '(is another role, e.g. a superuser, connected? Bantay can only terminate sessions of its own role)',
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return Number(rows[0]!.n);
}

/** Exact row counts of every user table of the database at `url` (the tables a backup counts). */
export async function countRowsIn(url: string): Promise<Record<string, number>> {
  const client = new pg.Client({ connectionString: url, application_name: 'bantay-count' });
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    return await countUserTableRows(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Runs statements in one transaction sent as one multi-statement query: a single round trip,
 * so nothing else queued on the connection can run between them, and they commit together or
 * not at all. Statements are built by the caller with escapeIdentifier/escapeLiteral only.
 */
export async function runAtomically(client: pg.Client, statements: readonly string[]): Promise<void> {
  try {
    await client.query(['BEGIN', ...statements, 'COMMIT'].join(';\n'));
  } catch (err) {
    // An error leaves the explicit transaction open and aborted; end it so the session is usable.
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** A name of at most 63 bytes: `base` cut short so `suffix` always fits. */
export function nameWithSuffix(base: string, suffix: string): string {
  return `${base.slice(0, Math.max(1, 63 - suffix.length))}${suffix}`;
}
