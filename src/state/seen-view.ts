import { readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pendingEntries } from './journal.ts';

/**
 * A copy, beside the embedded state database, of one fact `bantay list` needs from it: which
 * backups should be in the store (catalog-trust.ts expectedBackups). Opening PGlite costs about
 * 0.4 s and 90 MB, most of a listing; with this copy a listing opens it only when something
 * may have changed or something looks wrong.
 *
 * The copy is trusted only while it is provably the database's answer: it names the store it
 * is for, and carries a fingerprint (size and mtime of the database's control file and WAL
 * files) taken after the database was closed. Any write to the database by any process moves
 * the fingerprint; any journaled write (state/journal.ts) is a pending entry; either makes the
 * copy stale and the listing reads the database. A backup missing from the store is never
 * decided from the copy either: it only proves that nothing is missing, and anything else
 * goes to the database (which also gives the dates the alert shows).
 *
 * Only for the embedded database: on PostgreSQL the query is cheap and there is no file to
 * fingerprint.
 */
const FILE = 'catalog-seen-view.json';

interface SeenViewFile {
  v: 1;
  store: string;
  fingerprint: string;
  ids: string[];
}

/** The expected ids for `store`, or undefined when there is no current copy. */
export function readSeenView(dataDir: string, store: string): string[] | undefined {
  try {
    const view = JSON.parse(readFileSync(join(dataDir, FILE), 'utf8')) as Partial<SeenViewFile>;
    if (view.v !== 1 || view.store !== store || !Array.isArray(view.ids) || view.ids.some((id) => typeof id !== 'string')) return undefined;
    if (pendingEntries(dataDir).length > 0) return undefined;
    const now = fingerprint(dataDir);
    return now !== undefined && now === view.fingerprint ? view.ids : undefined;
  } catch {
    return undefined;
  }
}

/** Call with the database closed (closing writes to it): the fingerprint is of its final files. */
export function writeSeenView(dataDir: string, store: string, ids: readonly string[]): void {
  const print = fingerprint(dataDir);
  if (print === undefined) return;
  const path = join(dataDir, FILE);
  const temp = `${path}.${process.pid}.tmp`;
  writeFileSync(temp, JSON.stringify({ v: 1, store, fingerprint: print, ids: [...ids] } satisfies SeenViewFile), { mode: 0o600 });
  renameSync(temp, path);
}

/** What changes whenever the embedded database (BANTAY_DATA_DIR/state) is written. */
function fingerprint(dataDir: string): string | undefined {
  try {
    const dir = join(dataDir, 'state');
    const files = [join(dir, 'global', 'pg_control'), ...readdirSync(join(dir, 'pg_wal')).filter((n) => /^[0-9A-F]{24}$/.test(n)).sort().map((n) => join(dir, 'pg_wal', n))];
    return files.map((f) => {
      const st = statSync(f, { bigint: true });
      return `${f.slice(dir.length)}:${st.size}:${st.mtimeNs}`;
    }).join('|');
  } catch {
    return undefined;
  }
}
