import type { Manifest } from '../catalog/manifest.ts';
import type { Check, CheckStatus } from '../catalog/verification.ts';
import type { DatabaseContents } from './contents/read-contents.ts';
import { checkObjects } from './contents/check-objects.ts';

/**
 * What "this restored database is the backup" means, as data. Verify, restore and drill all
 * judge a restored copy with these checks; a copy passes only when no check failed. A Check
 * has a stable `name` ("integrity", "rows public.sales"...), a status and one sentence with
 * the figures. There is no built-in list of tables: the manifest says what the backup held,
 * and BANTAY_REQUIRED_TABLES (optional) what the operator insists on.
 */
export type { Check, CheckStatus };

/** The restored copy as read back: full contents for current manifests, bare counts for older ones. */
export type RestoredState = { kind: 'contents'; contents: DatabaseContents } | { kind: 'legacy'; counts: Record<string, number> };

export interface JudgeOptions {
  /** Manifest keys of tables that must exist and hold rows (BANTAY_REQUIRED_TABLES). */
  requiredTables?: readonly string[];
  /** The operator accepted pg_restore errors: object-level consequences are reported, not failed. */
  acceptRestoreErrors?: boolean;
}

/**
 * Compares the restored copy with the manifest (everything it records was taken in the dump's
 * own snapshot, so it must be equal) and checks the required tables. Pure: the caller reads.
 */
export function checkRestoredDatabase(manifest: Pick<Manifest, 'tables' | 'contents'>, restored: RestoredState, options: JudgeOptions = {}): Check[] {
  const checks: Check[] = [];
  const restoredTables = restored.kind === 'contents' ? restored.contents.tables : restored.counts;
  if (manifest.tables === undefined) {
    checks.push({ name: 'row counts recorded', status: 'failed', detail: 'The manifest has no row counts, so the restored content cannot be compared with the backup' });
  } else {
    checks.push(...compareTables(manifest.tables, restoredTables));
  }
  if (manifest.contents !== undefined && restored.kind === 'contents') {
    checks.push(...checkObjects(manifest.contents, restored.contents, { accepted: options.acceptRestoreErrors === true }));
  } else {
    checks.push({ name: 'contents recorded', status: 'skipped', detail: 'This backup was made before Bantay recorded sequences, large objects, views and object counts: only row counts are compared' });
  }
  checks.push(...checkRequiredTables(options.requiredTables ?? [], restored));
  return checks;
}

function compareTables(expected: Readonly<Record<string, number>>, restored: Readonly<Record<string, number>>): Check[] {
  const names = [...new Set([...Object.keys(expected), ...Object.keys(restored)])].sort();
  return names.map((table): Check => {
    const want = expected[table];
    const got = restored[table];
    const name = `rows ${table}`;
    if (want === undefined) return { name, status: 'failed', detail: `${table} is in the restored database but not in the manifest`, actual: got };
    if (got === undefined) return { name, status: 'failed', detail: `${table} is missing from the restored database (manifest: ${want} rows)`, expected: want };
    if (want === got) return { name, status: 'passed', detail: `${table}: ${got} rows, as in the manifest`, expected: want, actual: got };
    const empty = got === 0 ? ' (empty)' : '';
    return { name, status: 'failed', detail: `${table}: expected ${want} rows, restored ${got}${empty}`, expected: want, actual: got };
  });
}

/**
 * Each required table must be in the restored copy and hold rows; a partitioned table counts
 * the rows of its partitions. Not configured: no check (the copy is judged against the manifest
 * alone, which a correct restore of any database passes).
 */
function checkRequiredTables(required: readonly string[], restored: RestoredState): Check[] {
  const tables = restored.kind === 'contents' ? restored.contents.tables : restored.counts;
  const partitions = restored.kind === 'contents' ? restored.contents.partitions : {};
  const rowsOf = (t: string, depth = 0): number | undefined => {
    if (t in tables) return tables[t];
    const parts = partitions[t];
    if (parts === undefined || depth > 32) return undefined;
    return parts.reduce((sum, p) => sum + (rowsOf(p, depth + 1) ?? 0), 0);
  };
  return required.map((table): Check => {
    const name = `required ${table}`;
    const rows = rowsOf(table);
    if (rows === undefined) return { name, status: 'failed', detail: `Required table ${table} (BANTAY_REQUIRED_TABLES) is not in the restored database` };
    if (rows === 0) return { name, status: 'failed', detail: `Required table ${table} (BANTAY_REQUIRED_TABLES) is empty in the restored database`, actual: 0 };
    return { name, status: 'passed', detail: `Required table ${table} is present with ${rows} rows`, actual: rows };
  });
}

/** The artifact's SHA-256 and decryption authenticity; `failure` is the reason when they did not hold. */
export function integrityCheck(failure: string | undefined): Check {
  return failure === undefined
    ? { name: 'integrity', status: 'passed', detail: 'Size, SHA-256 and decryption authenticity match the manifest' }
    : { name: 'integrity', status: 'failed', detail: failure };
}

/** pg_restore's errors fail the copy, unless the operator accepted them (then they are listed, not failed). */
export function pgRestoreErrorsCheck(errorCount: number, sample: readonly string[], accepted = false): Check {
  if (errorCount === 0) return { name: 'pg_restore errors', status: 'passed', detail: 'pg_restore reported no errors', expected: 0, actual: 0 };
  const detail = `pg_restore reported ${errorCount} error(s)${sample.length ? `: ${sample[0]}` : ''}`;
  if (accepted) return { name: 'pg_restore errors', status: 'skipped', detail: `Accepted by the operator (--accept-restore-errors): ${detail}`, expected: 0, actual: errorCount };
  return { name: 'pg_restore errors', status: 'failed', detail, expected: 0, actual: errorCount };
}

export function isPassing(checks: readonly Check[]): boolean {
  return checks.length > 0 && checks.every((c) => c.status !== 'failed');
}

/** The details of the failed checks: the reasons to show when a copy did not pass. */
export function failureReasons(checks: readonly Check[]): string[] {
  return checks.filter((c) => c.status === 'failed').map((c) => c.detail);
}

export function countByStatus(checks: readonly Check[]): Record<CheckStatus, number> {
  const counts: Record<CheckStatus, number> = { passed: 0, failed: 0, skipped: 0 };
  for (const c of checks) counts[c.status] += 1;
  return counts;
}
