import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { createEmptyDatabase, dropDatabase, setDatabaseComment, type AdminSession } from './database-admin.ts';
import { withDatabase } from './connection.ts';

/**
 * Scratch databases: where verify restores a backup and where restore builds the new copy
 * before it is renamed into place. Guarantees, in order of strength:
 *
 * 1. The job's try/finally drops it (`drop()`), on success, failure and abort.
 * 2. While any scratch database exists, SIGINT/SIGTERM handlers drop it at once (from a fresh
 *    connection), then, if nobody else listens to the signal, re-raise it so the process still
 *    dies as it would have.
 * 3. SIGKILL or a crash cannot run code: the owning session holds a PostgreSQL advisory lock
 *    on the name for as long as the database is ours, and the lock dies with the connection.
 *    `dropStaleScratchDatabases` (run at the start of every verify/restore/drill and by
 *    `bantay restore --cleanup`) drops every bantay_verify_* / bantay_restore_* database whose
 *    lock is free.
 */
export type ScratchPurpose = 'verify' | 'restore';

const PREFIX: Record<ScratchPurpose, string> = { verify: 'bantay_verify_', restore: 'bantay_restore_' };
const LOCK_CLASS = 74202;

export interface ScratchDatabase {
  readonly name: string;
  readonly url: string;
  /** Drops the database (idempotent). */
  drop(): Promise<void>;
  /**
   * From now on signal handlers leave the database alone: it is about to be renamed into place,
   * or a live database depends on its marker comment (see cleanup-leftovers.ts). `drop()`
   * still works; a SIGKILL leaves it to the stale cleanup.
   */
  protect(): void;
  /** The database was renamed into place and is no longer scratch: forget it; drop() becomes a no-op. */
  release(): Promise<void>;
}

interface ActiveScratch {
  adminUrl: string;
  protected: boolean;
}

const active = new Map<string, ActiveScratch>();

export interface ScratchOptions {
  purpose: ScratchPurpose;
  /** Readable part of the name, e.g. the backup id. */
  tag: string;
  /** Copy encoding and collation from this database when it exists. */
  like?: string;
  /** Stored as the database's comment; read back by dropStaleScratchDatabases. */
  marker?: string;
}

export async function createScratchDatabase(session: AdminSession, options: ScratchOptions): Promise<ScratchDatabase> {
  const tag = options.tag.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 30);
  const name = `${PREFIX[options.purpose]}${tag}_${randomBytes(4).toString('hex')}`;
  const { client } = session;
  await client.query('SELECT pg_advisory_lock($1, hashtext($2))', [LOCK_CLASS, name]);
  const unlock = () => client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_CLASS, name]).catch(() => undefined);
  try {
    active.set(name, { adminUrl: session.url, protected: false });
    installSignalHandlers();
    await createEmptyDatabase(client, name, options.like);
    await setDatabaseComment(client, name, options.marker ?? `bantay:${options.purpose}`);
  } catch (err) {
    await dropDatabase(client, name).catch(() => undefined);
    forget(name);
    await unlock();
    throw err;
  }
  let gone = false;
  return {
    name,
    url: withDatabase(session.url, name),
    async drop() {
      if (gone) return;
      gone = true;
      try {
        await dropDatabase(client, name);
      } finally {
        forget(name);
        await unlock();
      }
    },
    protect() {
      const entry = active.get(name);
      if (entry) entry.protected = true;
    },
    async release() {
      if (gone) return;
      gone = true;
      forget(name);
      await unlock();
    },
  };
}

export interface StaleScratch {
  name: string;
  /** The comment the owner left (e.g. "bantay:in-place:fbms"), or null. */
  marker: string | null;
}

/** Drops scratch databases whose owner is gone (its advisory lock is free); returns them. */
export async function dropStaleScratchDatabases(session: AdminSession): Promise<StaleScratch[]> {
  const { client } = session;
  const { rows } = await client.query<{ name: string; marker: string | null }>(
    `SELECT datname AS name, shobj_description(oid, 'pg_database') AS marker FROM pg_database
      WHERE datname LIKE 'bantay\\_verify\\_%' OR datname LIKE 'bantay\\_restore\\_%' ORDER BY datname`,
  );
  const dropped: StaleScratch[] = [];
  for (const row of rows) {
    // Advisory locks are re-entrant within a session, so our own live scratches must be skipped here.
    if (active.has(row.name)) continue;
    const lock = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [LOCK_CLASS, row.name]);
    if (!lock.rows[0]!.ok) continue;
    try {
      await dropDatabase(client, row.name);
      dropped.push(row);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_CLASS, row.name]);
    }
  }
  return dropped;
}

function forget(name: string): void {
  active.delete(name);
  if (active.size === 0) uninstallSignalHandlers();
}

const SIGNALS = ['SIGINT', 'SIGTERM'] as const;
let installed = false;

function installSignalHandlers(): void {
  if (installed) return;
  installed = true;
  for (const sig of SIGNALS) process.on(sig, onSignal);
}

function uninstallSignalHandlers(): void {
  if (!installed) return;
  installed = false;
  for (const sig of SIGNALS) process.off(sig, onSignal);
}

function onSignal(signal: NodeJS.Signals): void {
  // With no other listener, Node would have exited on this signal: keep that behaviour once the
  // databases are dropped. Decided now, before a job's cleanup can remove our listener.
  const alone = process.listenerCount(signal) === 1;
  const victims = [...active].filter(([, entry]) => !entry.protected);
  void Promise.allSettled(victims.map(([name, entry]) => dropFromFreshConnection(entry.adminUrl, name))).then(() => {
    if (!alone) return;
    uninstallSignalHandlers();
    process.kill(process.pid, signal);
  });
}

/** The session's connection may be busy or queued behind other work; a signal must not wait for it. */
async function dropFromFreshConnection(adminUrl: string, name: string): Promise<void> {
  const client = new pg.Client({ connectionString: adminUrl, application_name: 'bantay-cleanup', connectionTimeoutMillis: 5_000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await dropDatabase(client, name);
  } finally {
    await client.end().catch(() => undefined);
  }
}
