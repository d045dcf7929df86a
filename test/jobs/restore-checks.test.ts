import { describe, expect, it } from 'vitest';
import type { ManifestContents } from '../../src/catalog/manifest.ts';
import { parseQualifiedName, parseTableList, qualifiedName } from '../../src/catalog/table-name.ts';
import type { DatabaseContents } from '../../src/jobs/contents/read-contents.ts';
import { checkRestoredDatabase, failureReasons, isPassing, pgRestoreErrorsCheck } from '../../src/jobs/restore-checks.ts';

const full = { 'public.sales': 10, 'public.users': 2, 'public.notes': 0 };
const legacy = (counts: Record<string, number>) => ({ kind: 'legacy' as const, counts });

const recorded: ManifestContents = {
  keyFormat: 'quoted-v1',
  partitions: { 'public.events': ['public.events_2025', 'public.events_2026'] },
  inheritance: { 'public.cities': ['public.capitals'] },
  sequences: { 'public.sales_id_seq': { lastValue: '10', isCalled: true }, 'public.busy_seq': { lastValue: '100', isCalled: true, after: { lastValue: '120', isCalled: true } } },
  largeObjects: { count: 2, sha256: 'a'.repeat(64) },
  materializedViews: { 'public.daily': true, 'public.empty_view': false },
  objects: { functions: 3, triggers: 1, indexes: 5 },
};
const tables = { 'public.sales': 10, 'public.events_2025': 4, 'public.events_2026': 0, 'public.cities': 3, 'public.capitals': 1 };
const restoredOk = (): DatabaseContents => ({
  tables: { ...tables },
  partitions: structuredClone(recorded.partitions),
  inheritance: structuredClone(recorded.inheritance),
  sequences: { 'public.sales_id_seq': { lastValue: '10', isCalled: true }, 'public.busy_seq': { lastValue: '111', isCalled: true } },
  largeObjects: { ...recorded.largeObjects },
  materializedViews: { ...recorded.materializedViews },
  objects: { ...recorded.objects },
});
const manifest = { tables, contents: recorded };
const judge = (restored: DatabaseContents, options = {}) => checkRestoredDatabase(manifest, { kind: 'contents', contents: restored }, options);

describe('checkRestoredDatabase', () => {
  const cases: Array<{ name: string; manifest: Record<string, number> | undefined; restored: Record<string, number>; failed: string[] }> = [
    { name: 'identical counts pass', manifest: full, restored: { ...full }, failed: [] },
    { name: 'one row missing fails that table', manifest: full, restored: { ...full, 'public.sales': 9 }, failed: ['public.sales: expected 10 rows, restored 9'] },
    {
      name: 'an empty restore of a backup with rows fails per table',
      manifest: full,
      restored: { 'public.sales': 0, 'public.users': 0, 'public.notes': 0 },
      failed: ['public.sales: expected 10 rows, restored 0 (empty)', 'public.users: expected 2 rows, restored 0 (empty)'],
    },
    { name: 'a missing table fails', manifest: full, restored: { 'public.sales': 10, 'public.notes': 0 }, failed: ['public.users is missing from the restored database (manifest: 2 rows)'] },
    { name: 'an extra table fails', manifest: full, restored: { ...full, 'public.extra': 1 }, failed: ['public.extra is in the restored database but not in the manifest'] },
    { name: 'a manifest without counts fails', manifest: undefined, restored: { ...full }, failed: ['The manifest has no row counts, so the restored content cannot be compared with the backup'] },
  ];
  for (const c of cases) {
    it(`legacy manifest: ${c.name}`, () => {
      const checks = checkRestoredDatabase({ tables: c.manifest }, legacy(c.restored));
      expect(failureReasons(checks)).toEqual(c.failed);
      expect(isPassing(checks)).toBe(c.failed.length === 0);
    });
  }

  it('has no built-in table list: any database whose copy matches its manifest passes', () => {
    const checks = judge(restoredOk());
    expect(failureReasons(checks)).toEqual([]);
    expect(checks.filter((c) => c.name.startsWith('required'))).toEqual([]);
    expect(checks.find((c) => c.name === 'materialized view public.daily')!.detail).toMatch(/pg_restore refreshed it/);
    expect(checks.find((c) => c.name === 'sequence public.busy_seq')).toMatchObject({ status: 'passed' });
  });

  it('BANTAY_REQUIRED_TABLES: a missing or empty required table fails; a partitioned parent counts its partitions', () => {
    const checks = judge(restoredOk(), { requiredTables: ['public.sales', 'public.events', 'public.users', 'public.events_2026'] });
    expect(failureReasons(checks)).toEqual([
      'Required table public.users (BANTAY_REQUIRED_TABLES) is not in the restored database',
      'Required table public.events_2026 (BANTAY_REQUIRED_TABLES) is empty in the restored database',
    ]);
    expect(checks.find((c) => c.name === 'required public.events')).toMatchObject({ status: 'passed', actual: 4 });
  });

  it('catches a wrong sequence value, one outside the range seen during the dump, and lost or changed large objects', () => {
    const r = restoredOk();
    r.sequences['public.sales_id_seq'] = { lastValue: '9', isCalled: true };
    r.sequences['public.busy_seq'] = { lastValue: '121', isCalled: true };
    r.largeObjects = { count: 1, sha256: 'b'.repeat(64) };
    expect(failureReasons(judge(r))).toEqual([
      'public.busy_seq: expected last_value between 100 and 120, restored 121',
      'public.sales_id_seq: expected last_value 10, restored 9',
      'Large objects: expected 2, restored 1',
    ]);
    const same = restoredOk();
    same.largeObjects = { count: 2, sha256: 'c'.repeat(64) };
    expect(failureReasons(judge(same))).toEqual(['Large objects: their contents differ from the backup']);
  });

  it('catches a partition attached elsewhere, an unpopulated view and missing functions, triggers and indexes', () => {
    const r = restoredOk();
    r.partitions['public.events'] = ['public.events_2025'];
    r.materializedViews['public.daily'] = false;
    r.objects = { functions: 2, triggers: 0, indexes: 5 };
    const failed = failureReasons(judge(r));
    expect(failed).toEqual([
      'public.events: expected partitions public.events_2025, public.events_2026, restored public.events_2025',
      'public.daily: populated in the backup, not populated after the restore',
      'expected 3 functions, restored 2',
      'expected 1 triggers, restored 0',
    ]);
    // Accepted restore errors: structure differences are reported but do not fail; data still does.
    const accepted = judge(r, { acceptRestoreErrors: true });
    expect(failureReasons(accepted)).toEqual([]);
    expect(accepted.find((c) => c.name === 'functions')).toMatchObject({ status: 'skipped', detail: 'Accepted with the pg_restore errors: expected 3 functions, restored 2' });
    r.tables['public.sales'] = 9;
    expect(failureReasons(judge(r, { acceptRestoreErrors: true }))).toEqual(['public.sales: expected 10 rows, restored 9']);
  });

  it('counts pg_restore errors as a failure unless accepted', () => {
    expect(pgRestoreErrorsCheck(0, [])).toMatchObject({ status: 'passed' });
    expect(pgRestoreErrorsCheck(3, ['pg_restore: error: x'])).toMatchObject({ status: 'failed', detail: 'pg_restore reported 3 error(s): pg_restore: error: x', actual: 3 });
    expect(pgRestoreErrorsCheck(3, ['pg_restore: error: x'], true)).toMatchObject({ status: 'skipped', detail: 'Accepted by the operator (--accept-restore-errors): pg_restore reported 3 error(s): pg_restore: error: x' });
    expect(isPassing([])).toBe(false);
  });
});

describe('table names', () => {
  it('gives "a.b".c and a."b.c" different keys, keeps plain names as they were, and parses keys back', () => {
    expect(qualifiedName('a.b', 'c')).toBe('"a.b".c');
    expect(qualifiedName('a', 'b.c')).toBe('a."b.c"');
    expect(qualifiedName('public', 'sales')).toBe('public.sales');
    expect(qualifiedName('Kasama', 'say "hi"')).toBe('"Kasama"."say ""hi"""');
    expect(qualifiedName('tindahan', 'résibo')).toBe('tindahan."résibo"');
    for (const [schema, name] of [['a.b', 'c'], ['a', 'b.c'], ['Kasama', 'say "hi"'], ['tindahan', 'résibo'], ['public', 'sales']] as const) {
      expect(parseQualifiedName(qualifiedName(schema, name))).toEqual({ schema, name });
    }
  });

  it('parses BANTAY_REQUIRED_TABLES like SQL: unquoted parts fold to lower case, one part means public, commas in quotes belong to the name', () => {
    expect(parseTableList('public.Sales, accounting.accounts ,users')).toEqual(['public.sales', 'accounting.accounts', 'public.users']);
    expect(parseTableList('"a.b".c,a."b.c","x,y".z')).toEqual(['"a.b".c', 'a."b.c"', '"x,y".z']);
    for (const bad of ['a.b.c', 'a.', '"open', 'a b', '"".x', '1abc']) expect(() => parseTableList(bad), bad).toThrow(/is not a table name/);
  });
});
