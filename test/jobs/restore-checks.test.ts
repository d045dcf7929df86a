import { describe, expect, it } from 'vitest';
import { fbmsCoreTables } from '../../src/dev/fbms-fixture.ts';
import { checkRestoredDatabase, FBMS_CORE_TABLES, failureReasons, isPassing, pgRestoreErrorsCheck } from '../../src/jobs/restore-checks.ts';

const core = ['public.sales', 'public.users'];
const full = { 'public.sales': 10, 'public.users': 2, 'public.notes': 0 };

describe('checkRestoredDatabase', () => {
  it('matches the fixture: production and the test fixture agree on what FBMS core tables are', () => {
    expect([...FBMS_CORE_TABLES]).toEqual([...fbmsCoreTables]);
  });

  const cases: Array<{ name: string; manifest: Record<string, number> | undefined; restored: Record<string, number>; failed: string[] }> = [
    { name: 'identical counts pass', manifest: full, restored: { ...full }, failed: [] },
    { name: 'one row missing fails that table', manifest: full, restored: { ...full, 'public.sales': 9 }, failed: ['public.sales: expected 10 rows, restored 9'] },
    {
      name: 'an empty restore of a backup with rows fails per table and the core check',
      manifest: full,
      restored: { 'public.sales': 0, 'public.users': 0, 'public.notes': 0 },
      failed: [
        'public.sales: expected 10 rows, restored 0 (empty)',
        'public.users: expected 2 rows, restored 0 (empty)',
        'Core tables empty after restore although the backup had rows: public.sales, public.users',
      ],
    },
    {
      name: 'a missing table fails, and so does a missing core table',
      manifest: full,
      restored: { 'public.sales': 10, 'public.notes': 0 },
      failed: ['public.users is missing from the restored database (manifest: 2 rows)', 'FBMS core tables missing: public.users', 'Core tables empty after restore although the backup had rows: public.users'],
    },
    { name: 'an extra table fails', manifest: full, restored: { ...full, 'public.extra': 1 }, failed: ['public.extra is in the restored database but not in the manifest'] },
    { name: 'a manifest without counts fails', manifest: undefined, restored: { ...full }, failed: ['The manifest has no row counts, so the restored content cannot be compared with the backup'] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const checks = checkRestoredDatabase(c.manifest, c.restored, core);
      expect(failureReasons(checks)).toEqual(c.failed);
      expect(isPassing(checks)).toBe(c.failed.length === 0);
    });
  }

  it('skips the non-empty check for an FBMS that really is empty, and still passes', () => {
    const empty = { 'public.sales': 0, 'public.users': 0 };
    const checks = checkRestoredDatabase(empty, { ...empty }, core);
    expect(checks.find((c) => c.name === 'core tables not empty')?.status).toBe('skipped');
    expect(isPassing(checks)).toBe(true);
  });

  it('counts pg_restore errors as a failure', () => {
    expect(pgRestoreErrorsCheck(0, [])).toMatchObject({ status: 'passed' });
    expect(pgRestoreErrorsCheck(3, ['pg_restore: error: x'])).toMatchObject({ status: 'failed', detail: 'pg_restore reported 3 error(s): pg_restore: error: x', actual: 3 });
    expect(isPassing([])).toBe(false);
  });
});
