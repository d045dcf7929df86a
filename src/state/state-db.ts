import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { BantayError, ErrorCode, wrapError } from '../errors.ts';
import { acquireDirLock, type DirLock } from './dir-lock.ts';
import { closeAbandonedRuns } from './job-runs.ts';
import { applyMigrations } from './migrations.ts';

/**
 * Bantay's own state (audit log, job runs, later approvals and drill reports). Either a real
 * PostgreSQL (BANTAY_STATE_URL, needed when several replicas share state) or an embedded
 * PGlite under BANTAY_DATA_DIR. Both speak the same SQL, so every query is written once, with
 * $1-style parameters only.
 */
export interface Queryable {
  query<R extends object = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<R[]>;
}

export interface StateDb extends Queryable {
  readonly kind: 'postgres' | 'pglite';
  /** Runs fn in one transaction on one connection; rolls back if fn throws. */
  transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

export interface OpenStateDbOptions {
  url: string | undefined;
  dataDir: string;
}

/** Opens the state database and applies pending migrations. */
export async function openStateDb(options: OpenStateDbOptions): Promise<StateDb> {
  const db = options.url !== undefined ? await openPostgres(options.url) : await openPglite(options.dataDir);
  try {
    await applyMigrations(db);
  } catch (err) {
    await db.close().catch(() => undefined);
    throw wrapError(ErrorCode.Database, 'Could not migrate the state database', err);
  }
  // Every start closes the job runs a dead process left "running" (with an audit row each). The
  // embedded database is held by one process at a time, so all of its running rows are dead.
  // Never a reason not to start: the monitor's stuck-job check still sees what is left.
  await closeAbandonedRuns(db, { exclusive: db.kind === 'pglite' }).catch(() => undefined);
  return db;
}

async function openPostgres(url: string): Promise<StateDb> {
  const pool = new pg.Pool({ connectionString: url, max: 4, application_name: 'bantay-state' });
  // An idle pooled connection the server ends (restart, failover, pg_terminate_backend) is
  // reported as an 'error' event on the pool; unheard, it would crash `bantay serve`. The pool
  // drops that connection by itself, and the next query fails or reconnects as it should.
  pool.on('error', () => undefined);
  try {
    await pool.query('SELECT 1');
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new BantayError(ErrorCode.Database, `Could not connect to the state database (BANTAY_STATE_URL): ${(err as Error).message}`, {
      cause: err,
    });
  }
  return {
    kind: 'postgres',
    async query(sql, params) {
      return (await pool.query(sql, params as unknown[])).rows;
    },
    async transaction(fn) {
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        const result = await fn({ query: async (sql, params) => (await client.query(sql, params as unknown[])).rows });
        await client.query('COMMIT');
        return result;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },
    close: () => pool.end(),
  };
}

async function openPglite(dataDir: string): Promise<StateDb> {
  const dir = join(dataDir, 'state');
  mkdirSync(dir, { recursive: true });
  // PGlite is single-process: a second Bantay process opening the same directory would corrupt
  // it, so the directory is locked for as long as it is open.
  const lock: DirLock = await acquireDirLock(join(dataDir, 'state.lock'));
  try {
    // Memory: V8 otherwise optimises PGlite's 9 MB WebAssembly module in the background
    // (~100 MB), and PGlite's default shared_buffers is 128 MB; Bantay's state is a few small
    // tables. Measured: the embedded database's peak RSS falls from ~225 MB to ~133 MB.
    (await import('node:v8')).setFlagsFromString('--liftoff-only');
    const { PGlite } = await import('@electric-sql/pglite');
    const db = await PGlite.create({ dataDir: dir, startParams: [...PGlite.defaultStartParams, '-c', 'shared_buffers=16MB'] });
    return {
      kind: 'pglite',
      async query(sql, params) {
        return (await db.query(sql, params as unknown[])).rows as never;
      },
      async transaction(fn) {
        return db.transaction(async (tx) => fn({ query: async (sql, params) => (await tx.query(sql, params as unknown[])).rows as never }));
      },
      async close() {
        try {
          await db.close();
        } finally {
          lock.release();
        }
      },
    };
  } catch (err) {
    lock.release();
    throw wrapError(ErrorCode.Database, `Could not open the embedded state database in ${dir}`, err);
  }
}
