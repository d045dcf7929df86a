import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { BantayError, ErrorCode, wrapError } from '../errors.ts';
import { acquireDirLock, type DirLock } from './dir-lock.ts';
import { appendJournal, importJournal, journalVersion, type JournalImport } from './journal.ts';
import { closeAbandonedSteps } from './incidents.ts';
import { closeAbandonedRuns } from './job-runs.ts';
import { applyMigrations } from './migrations.ts';
import { seedFromTemplate } from './pglite-template.ts';
import type { Queryable, StateDb } from './state-types.ts';

/**
 * Bantay's own state (audit log, job runs, approvals, drill reports, leases). Either a real
 * PostgreSQL (BANTAY_STATE_URL, needed when several replicas share state) or an embedded
 * PGlite under BANTAY_DATA_DIR. Both speak the same SQL, so every query is written once, with
 * $1-style parameters only. A process that only writes (a CLI backup) can defer its writes to
 * the state journal (journal.ts) and never open PGlite at all.
 */
export type { Queryable, StateDb } from './state-types.ts';

export { writeState } from './journal.ts';

export interface OpenStateDbOptions {
  url: string | undefined;
  dataDir: string;
  /**
   * Embedded only: journal `writeState` writes and open PGlite on the first read (or
   * transaction), not at once. For one-shot commands, which mostly only write.
   */
  deferWrites?: boolean;
  /** Journal entries that could not be applied (moved to state-journal/failed/). */
  onJournalProblem?: (problem: JournalImport['failed'][number]) => void;
}

/** Opens the state database (or, deferring writes, a handle that opens it when needed). */
export async function openStateDb(options: OpenStateDbOptions): Promise<StateDb> {
  if (options.url === undefined && options.deferWrites === true) return deferredPglite(options);
  return openNow(options);
}

async function openNow(options: OpenStateDbOptions): Promise<StateDb> {
  const db = options.url !== undefined ? await openPostgres(options.url) : await openPglite(options.dataDir);
  try {
    await applyMigrations(db);
  } catch (err) {
    await db.close().catch(() => undefined);
    throw wrapError(ErrorCode.Database, 'Could not migrate the state database', err);
  }
  const ready = options.url !== undefined ? db : await importingJournal(db, options);
  // Every start closes the job runs a dead process left "running" (with an audit row each),
  // after the journal import so runs a journaling CLI process already finished are not judged.
  // Judged by owner (host, boot, pid, start time) even on the embedded database: a one-shot CLI
  // run journals its rows while another process holds PGlite, so "running" may be alive. Never
  // a reason not to start: the monitor's stuck-job check still sees what is left.
  await closeAbandonedRuns(ready, { exclusive: false }).catch(() => undefined);
  await closeAbandonedSteps(ready).catch(() => undefined);
  return ready;
}

/**
 * Embedded state with deferred writes: `append` journals until something reads; then PGlite
 * opens, imports the journal (this process's entries included, in order) and serves the rest.
 */
function deferredPglite(options: OpenStateDbOptions): StateDb {
  let opening: Promise<StateDb> | undefined;
  const open = () => (opening ??= openNow(options));
  return {
    kind: 'pglite',
    query: async (sql, params) => (await open()).query(sql, params),
    transaction: async (fn) => (await open()).transaction(fn),
    async append(sql, params) {
      if (opening !== undefined) return void (await (await opening).query(sql, params));
      appendJournal(options.dataDir, sql, params as never);
    },
    async close() {
      if (opening !== undefined) await (await opening).close();
    },
  };
}

/**
 * The process holding the embedded database imports the journal at open and again whenever
 * the journal directory changed (a CLI run beside `bantay serve`), before any query, so every
 * read sees every write made before it.
 */
async function importingJournal(db: StateDb, options: OpenStateDbOptions): Promise<StateDb> {
  let seen = -1;
  let importing: Promise<void> | undefined;
  const sync = async (): Promise<void> => {
    if (importing !== undefined) return importing;
    const version = journalVersion(options.dataDir);
    if (version === seen) return;
    importing = (async () => {
      const result = await importJournal(db, options.dataDir);
      seen = version;
      for (const problem of result.failed) options.onJournalProblem?.(problem);
    })().finally(() => (importing = undefined));
    return importing;
  };
  try {
    await sync();
  } catch (err) {
    await db.close().catch(() => undefined);
    throw wrapError(ErrorCode.Database, 'Could not import the state journal', err);
  }
  return {
    kind: db.kind,
    async query(sql, params) {
      await sync();
      return db.query(sql, params);
    },
    async transaction(fn) {
      await sync();
      return db.transaction(fn);
    },
    close: () => db.close(),
  };
}

async function openPostgres(url: string): Promise<StateDb> {
  // Loaded here, not at the top: a process on the embedded state never needs the driver.
  const { default: pg } = await import('pg');
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
  mkdirSync(dataDir, { recursive: true });
  // PGlite is single-process: a second Bantay process opening the same directory would corrupt
  // it, so the directory is locked for as long as it is open.
  const lock: DirLock = await acquireDirLock(join(dataDir, 'state.lock'));
  try {
    await seedFromTemplate(dir);
    mkdirSync(dir, { recursive: true });
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
