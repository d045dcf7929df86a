import { closeSync, fsyncSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { BantayError, ErrorCode } from '../errors.ts';
import type { Queryable } from './state-types.ts';

/**
 * The state journal: writes a short-lived process makes without opening the embedded state
 * database, applied later, in order and exactly once, by whichever process next opens it.
 *
 * Why: opening PGlite costs ~0.4 s and ~135 MB (its first initialisation several times more),
 * and a CLI backup only ever *writes* state (a job run, an audit row). A journal entry costs one
 * small file and an fsync; the database stays the one SQL schema, and a reader always sees
 * every journaled write because opening imports the journal first.
 *
 * Contract of a journaled write (any INSERT/UPDATE/DELETE whose result nobody reads):
 * - it must carry its own time and values: no now(), no column left to a time default. It runs
 *   later, maybe in another process; `assertJournalable` refuses the obvious mistakes.
 * - params are JSON values or Dates (sent as ISO text, which PostgreSQL casts to timestamptz).
 * - it may fail at import (a table a newer Bantay added): the entry is then moved to
 *   `failed/` beside the journal, kept, and reported; later entries still apply.
 * New kinds of writes need nothing here: write them with `writeState` (state-db.ts) and they
 * are journaled when the process defers writes.
 *
 * Layout: one file per write, `<dataDir>/state-journal/<ms>-<pid>-<seq>.json`, written to a
 * temporary name, fsynced and renamed, so a reader only ever sees whole entries and concurrent
 * writers need no lock. Names sort in the order the writes were made (per process strictly;
 * across processes by wall clock, which orders unrelated jobs well enough).
 */
export type JournalParam = string | number | boolean | null | Date | Record<string, unknown> | unknown[];

interface JournalEntry {
  v: 1;
  sql: string;
  params: unknown[];
}

export interface JournalImport {
  applied: number;
  failed: Array<{ file: string; error: string }>;
}

const SUFFIX = '.json';
const TEMP_PREFIX = '.tmp-';
const TIME_DEPENDENT = /\b(now\s*\(|current_(timestamp|date|time)\b|localtimestamp\b|clock_timestamp|statement_timestamp|transaction_timestamp|random\s*\()/i;

export function journalDir(dataDir: string): string {
  return join(dataDir, 'state-journal');
}

/** Refuses a statement that would mean something else when applied later. */
/** A write whose result nobody reads: journaled when `db` defers writes, run now otherwise. */
export async function writeState(db: Queryable, sql: string, params: unknown[]): Promise<void> {
  assertJournalable(sql);
  if (db.append) await db.append(sql, params);
  else await db.query(sql, params);
}

export function assertJournalable(sql: string): void {
  if (!/^\s*(INSERT|UPDATE|DELETE)\b/i.test(sql) || /\bRETURNING\b/i.test(sql) || TIME_DEPENDENT.test(sql)) {
    throw new BantayError(ErrorCode.Internal, `Not a journalable state write (a plain INSERT/UPDATE/DELETE carrying its own time): ${sql.trim().slice(0, 80)}`);
  }
}

let lastMs = 0;
let seq = 0;

/** Appends one write to the journal durably (file and directory fsynced) before resolving. */
export function appendJournal(dataDir: string, sql: string, params: readonly JournalParam[]): void {
  assertJournalable(sql);
  const dir = journalDir(dataDir);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  lastMs = Math.max(lastMs, Date.now());
  seq += 1;
  const name = `${String(lastMs).padStart(14, '0')}-${String(process.pid).padStart(8, '0')}-${String(seq).padStart(8, '0')}${SUFFIX}`;
  const entry: JournalEntry = { v: 1, sql, params: params.map((p) => (p instanceof Date ? p.toISOString() : p)) };
  const temp = join(dir, `${TEMP_PREFIX}${name}`);
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, JSON.stringify(entry));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temp, join(dir, name));
  syncDir(dir);
}

/** Pending entry names, oldest first. */
export function pendingEntries(dataDir: string): string[] {
  try {
    return readdirSync(journalDir(dataDir))
      .filter((n) => n.endsWith(SUFFIX) && !n.startsWith(TEMP_PREFIX))
      .sort();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
}

/** The journal directory's mtime (it moves whenever an entry appears); 0 when there is none. */
export function journalVersion(dataDir: string): number {
  try {
    return statSync(journalDir(dataDir)).mtimeMs;
  } catch {
    return 0;
  }
}

/**
 * Applies every pending entry, oldest first, each in its own transaction together with its
 * name in `state_journal_applied`, then deletes the file: a crash between the commit and the
 * delete cannot apply an entry twice. Only the process holding the database calls this.
 */
export async function importJournal(db: { transaction<T>(fn: (tx: Queryable) => Promise<T>): Promise<T>; query: Queryable['query'] }, dataDir: string): Promise<JournalImport> {
  const dir = journalDir(dataDir);
  const result: JournalImport = { applied: 0, failed: [] };
  for (const name of pendingEntries(dataDir)) {
    const path = join(dir, name);
    let entry: JournalEntry;
    try {
      entry = parseEntry(readFileSync(path, 'utf8'));
      await db.transaction(async (tx) => {
        const fresh = await tx.query('INSERT INTO state_journal_applied (name) VALUES ($1) ON CONFLICT (name) DO NOTHING RETURNING name', [name]);
        if (fresh.length > 0) await tx.query(entry.sql, entry.params);
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') continue;
      moveToFailed(dir, name);
      result.failed.push({ file: join(dir, 'failed', name), error: (err as Error).message });
      continue;
    }
    unlinkSync(path);
    await db.query('DELETE FROM state_journal_applied WHERE name = $1', [name]);
    result.applied += 1;
  }
  removeOrphanTemps(dir);
  return result;
}

function parseEntry(text: string): JournalEntry {
  const entry = JSON.parse(text) as Partial<JournalEntry>;
  if (entry.v !== 1 || typeof entry.sql !== 'string' || !Array.isArray(entry.params)) throw new Error('not a state journal entry');
  assertJournalable(entry.sql);
  return entry as JournalEntry;
}

function moveToFailed(dir: string, name: string): void {
  mkdirSync(join(dir, 'failed'), { recursive: true, mode: 0o700 });
  renameSync(join(dir, name), join(dir, 'failed', name));
}

/** Temporary files of writers that died between create and rename (an hour is generous). */
function removeOrphanTemps(dir: string): void {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.startsWith(TEMP_PREFIX));
  } catch {
    return;
  }
  for (const name of names) {
    try {
      if (Date.now() - statSync(join(dir, name)).mtimeMs > 3_600_000) unlinkSync(join(dir, name));
    } catch {
      // Gone already.
    }
  }
}

function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
