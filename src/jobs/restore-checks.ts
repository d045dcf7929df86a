import type { Check, CheckStatus } from '../catalog/verification.ts';

/**
 * What "this restored database is the backup" means, as data. Verify, restore and drill all
 * judge a restored copy with these checks; a copy passes only when no check failed. A Check
 * has a stable `name` ("integrity", "rows public.sales"...), a status and one sentence with
 * the figures.
 */
export type { Check, CheckStatus };

/**
 * The tables every FBMS database has. A restored copy missing one of them, or with one empty
 * where the backup had rows, is not a usable FBMS whatever the other checks say.
 */
export const FBMS_CORE_TABLES: readonly string[] = [
  'public.users',
  'public.customers',
  'public.products',
  'public.sales',
  'public.sale_items',
  'public.expenses',
  'public.receipts',
  'accounting.accounts',
  'accounting.ledger_entries',
];

/**
 * Compares the exact row counts of a restored database with the manifest's (taken in the
 * dump's own snapshot, so they must be equal, table for table) and runs the FBMS sanity checks.
 * Pure: the caller counts the rows.
 */
export function checkRestoredDatabase(
  manifestTables: Readonly<Record<string, number>> | undefined,
  restoredCounts: Readonly<Record<string, number>>,
  coreTables: readonly string[] = FBMS_CORE_TABLES,
): Check[] {
  const checks: Check[] = [];
  if (manifestTables === undefined) {
    checks.push({ name: 'row counts recorded', status: 'failed', detail: 'The manifest has no row counts, so the restored content cannot be compared with the backup' });
  } else {
    checks.push(...compareTables(manifestTables, restoredCounts));
  }
  const missing = coreTables.filter((t) => !(t in restoredCounts));
  checks.push({
    name: 'core tables present',
    status: missing.length === 0 ? 'passed' : 'failed',
    detail: missing.length === 0 ? `All ${coreTables.length} FBMS core tables are present` : `FBMS core tables missing: ${missing.join(', ')}`,
    expected: coreTables.length,
    actual: coreTables.length - missing.length,
  });
  checks.push(checkCoreTablesNotEmpty(manifestTables, restoredCounts, coreTables));
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

function checkCoreTablesNotEmpty(
  expected: Readonly<Record<string, number>> | undefined,
  restored: Readonly<Record<string, number>>,
  coreTables: readonly string[],
): Check {
  const name = 'core tables not empty';
  const withRows = coreTables.filter((t) => (expected?.[t] ?? 0) > 0);
  if (withRows.length === 0) {
    return { name, status: 'skipped', detail: 'The manifest records no rows in any FBMS core table (an empty FBMS)' };
  }
  const empty = withRows.filter((t) => (restored[t] ?? 0) === 0);
  return {
    name,
    status: empty.length === 0 ? 'passed' : 'failed',
    detail: empty.length === 0 ? `${withRows.length} core tables hold rows, as in the manifest` : `Core tables empty after restore although the backup had rows: ${empty.join(', ')}`,
    expected: withRows.length,
    actual: withRows.length - empty.length,
  };
}

/** The artifact's SHA-256 and decryption authenticity; `failure` is the reason when they did not hold. */
export function integrityCheck(failure: string | undefined): Check {
  return failure === undefined
    ? { name: 'integrity', status: 'passed', detail: 'Size, SHA-256 and decryption authenticity match the manifest' }
    : { name: 'integrity', status: 'failed', detail: failure };
}

export function pgRestoreErrorsCheck(errorCount: number, sample: readonly string[]): Check {
  return errorCount === 0
    ? { name: 'pg_restore errors', status: 'passed', detail: 'pg_restore reported no errors', expected: 0, actual: 0 }
    : { name: 'pg_restore errors', status: 'failed', detail: `pg_restore reported ${errorCount} error(s)${sample.length ? `: ${sample[0]}` : ''}`, expected: 0, actual: errorCount };
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
