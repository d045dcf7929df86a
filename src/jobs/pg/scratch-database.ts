import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { forgetScratch, listScratch, recordScratch, setScratchOid } from '../../state/scratch-registry.ts';
import type { Queryable } from '../../state/state-db.ts';
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
 * 3. SIGKILL or a crash cannot run code: every scratch database is recorded in Bantay's state
 *    database before it is created (and its oid right after), and the owning session holds a
 *    PostgreSQL advisory lock on the name for as long as it is ours; the lock dies with the
 *    connection. `dropStaleScratchDatabases` drops only recorded databases whose lock is free,
 *    whose oid is the recorded one and which Bantay's role owns. A database is never judged
 *    by its name or its comment: anyone can name a database bantay_verify_x.
 */
export type ScratchPurpose = 'verify' | 'restore';

const PREFIX: Record<ScratchPurpose, string> = { verify: 'bantay_verify_', restore: 'bantay_restore_' };
export const SCRATCH_LOCK_CLASS = 74202;

export interface ScratchDatabase {
  readonly name: string;
  readonly url: string;
  /** Drops the database (idempotent). */
  drop(): Promise<void>;
  /**
   * From now on signal handlers leave the database alone: it is about to be renamed into place,
   * or a closed live database depends on it (see cleanup-leftovers.ts). `drop()` still works;
   * a SIGKILL leaves it to the stale cleanup.
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

/** True while this process holds `name` as a scratch database (its advisory lock is ours, re-entrant). */
export function isActiveScratch(name: string): boolean {
  return active.has(name);
}

export interface ScratchOptions {
  purpose: ScratchPurpose;
  /** Readable part of the name, e.g. the backup id. */
  tag: string;
  /** Copy encoding and collation from this database when it exists. */
  like?: string;
  /** A comment for people looking at the server; never read back by Bantay. */
  comment?: string;
}

export async function createScratchDatabase(session: AdminSession, state: Queryable, options: ScratchOptions): Promise<ScratchDatabase> {
  const tag = options.tag.toLowerCase().replace(/[^a-z0-9]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 30);
  const name = `${PREFIX[options.purpose]}${tag}_${randomBytes(4).toString('hex')}`;
  const { client } = session;
  await client.query('SELECT pg_advisory_lock($1, hashtext($2))', [SCRATCH_LOCK_CLASS, name]);
  const unlock = () => client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [SCRATCH_LOCK_CLASS, name]).catch(() => undefined);
  const unrecord = () => forgetScratch(state, session.server, name).catch(() => undefined);
  let created = false;
  try {
    active.set(name, { adminUrl: session.url, protected: false });
    installSignalHandlers();
    await recordScratch(state, { server: session.server, name, purpose: options.purpose, backupId: options.tag });
    await createEmptyDatabase(client, name, options.like);
    created = true;
    const oid = await client.query<{ oid: number }>('SELECT oid FROM pg_database WHERE datname = $1', [name]);
    await setScratchOid(state, session.server, name, oid.rows[0]!.oid);
    await setDatabaseComment(client, name, options.comment ?? `Bantay ${options.purpose} scratch database (temporary)`);
  } catch (err) {
    if (created) await dropDatabase(client, name).catch(() => undefined);
    await unrecord();
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
        await unrecord();
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
      await unrecord();
      forget(name);
      await unlock();
    },
  };
}

/** Runs `fn` holding the advisory lock of scratch `name` when it is free (its owner is gone); false when the owner still holds it. */
export async function withOwnerGone(client: pg.Client, name: string, fn: () => Promise<void>): Promise<boolean> {
  // Advisory locks are re-entrant within a session, so our own live scratches must be skipped here.
  if (active.has(name)) return false;
  const lock = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [SCRATCH_LOCK_CLASS, name]);
  if (!lock.rows[0]!.ok) return false;
  try {
    await fn();
    return true;
  } finally {
    await client.query('SELECT pg_advisory_unlock($1, hashtext($2))', [SCRATCH_LOCK_CLASS, name]).catch(() => undefined);
  }
}

export interface StaleScratch {
  name: string;
}

/**
 * Drops the recorded scratch databases of this server whose owner is gone; returns them, and
 * in `warnings` the records it would not act on (another owner, another oid). Records of
 * databases that no longer exist are forgotten.
 */
export async function dropStaleScratchDatabases(session: AdminSession, state: Queryable): Promise<{ dropped: StaleScratch[]; warnings: string[] }> {
  const { client } = session;
  const dropped: StaleScratch[] = [];
  const warnings: string[] = [];
  for (const record of await listScratch(state, session.server)) {
    if (active.has(record.name)) continue;
    await withOwnerGone(client, record.name, async () => {
      const { rows } = await client.query<{ oid: number; ours: boolean }>(
        `SELECT d.oid, d.datdba = (SELECT oid FROM pg_roles WHERE rolname = current_user) AS ours FROM pg_database d WHERE d.datname = $1`,
        [record.name],
      );
      const db = rows[0];
      if (db === undefined) return forgetScratch(state, session.server, record.name);
      if (record.oid !== null && Number(db.oid) !== record.oid) {
        warnings.push(`${record.name} is not the database Bantay created under that name (another oid); left alone and forgotten`);
        return forgetScratch(state, session.server, record.name);
      }
      if (!db.ours) {
        warnings.push(`${record.name} is not owned by Bantay's role; left alone`);
        return;
      }
      await dropDatabase(client, record.name);
      await forgetScratch(state, session.server, record.name);
      dropped.push({ name: record.name });
    });
  }
  return { dropped, warnings };
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
