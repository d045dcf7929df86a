import { describe, expect, it } from 'vitest';
import { DEFAULT_RETENTION_POLICY, planRetention, type BackupFacts, type RetentionInput } from '../../../src/jobs/retention/plan-retention.ts';

const NOW = new Date('2026-11-26T06:00:00+08:00');
const TZ = 'Asia/Manila';
/** The monthly rule would keep most old test backups (each is the first of its month); some tests look past it. */
const NO_MONTHLY = { ...DEFAULT_RETENTION_POLICY, monthlyMonths: 0 };
const daysAgo = (d: number, hour = 2) => new Date(NOW.getTime() - d * 86_400_000 - (6 - hour) * 3_600_000).toISOString();

let seq = 0;
function backup(partial: Partial<BackupFacts> & { createdAt: string }): BackupFacts {
  seq += 1;
  const kind = partial.kind ?? 'database';
  const prefix = { database: 'db', application: 'app', uploads: 'upl' }[kind];
  const stamp = partial.createdAt.replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
  return { id: `${prefix}-${stamp}-${String(seq).padStart(4, '0')}`, kind, category: 'daily', ...partial };
}

function plan(backups: BackupFacts[], extra: Partial<RetentionInput> = {}) {
  const result = planRetention({ now: NOW, timezone: TZ, policy: DEFAULT_RETENTION_POLICY, backups, ...extra });
  const action = (b: { id: string }) => result.decisions.find((d) => d.id === b.id)!.action;
  const reasons = (b: { id: string }) => result.decisions.find((d) => d.id === b.id)!.reasons.join(' | ');
  return { result, action, reasons };
}

describe('planRetention', () => {
  it.each([
    // [description, age in days, category, expected action, reason fragment]
    ['a 29-day-old daily backup is kept', 29, 'daily', 'keep', 'daily backup, 29 days old'],
    ['a 31-day-old daily backup goes', 31, 'daily', 'delete', 'outside every rule'],
    ['a 27-day-old full set is kept (weekly)', 27, 'full', 'keep', 'weekly full set'],
    ['a 31-day-old full set goes (4 weeks, 30 days daily)', 31, 'full', 'delete', 'outside every rule'],
    ['a 29-day-old pre-deploy backup is kept', 29, 'pre-deploy', 'keep', 'pre-deploy backup'],
    ['a 31-day-old pre-restore backup goes', 31, 'pre-restore', 'delete', 'older than 30 days'],
  ] as const)('%s', (_name, age, category, expected, fragment) => {
    // A newer backup of the same kind exists, so the "newest" guarantee does not interfere;
    // both are mid-month so the monthly rule does not either.
    const subject = backup({ createdAt: daysAgo(age), category: category as BackupFacts['category'] });
    const first = backup({ createdAt: '2026-10-01T00:00:00.000Z' });
    const firstOfNov = backup({ createdAt: '2026-11-01T00:00:00.000Z' });
    const newer = backup({ createdAt: daysAgo(0) });
    const { action, reasons } = plan([first, firstOfNov, subject, newer].filter((b) => b.createdAt !== subject.createdAt || b === subject));
    expect(action(subject)).toBe(expected);
    expect(reasons(subject)).toContain(fragment);
  });

  it('keeps the first backup of each month (in Manila time) for 12 months, and no other old one', () => {
    // 2026-05-31T17:00Z is 2026-06-01 01:00 in Manila: the first June backup there, though May in UTC.
    const juneInManila = backup({ createdAt: '2026-05-31T17:00:00.000Z' });
    const lateMay = backup({ createdAt: '2026-05-30T18:00:00.000Z' });
    const earlyMay = backup({ createdAt: '2026-05-01T18:00:00.000Z' });
    const secondJune = backup({ createdAt: '2026-06-01T18:00:00.000Z' });
    const firstOfNov2025 = backup({ createdAt: '2025-10-31T18:00:00.000Z' }); // 2025-11-01 02:00 Manila: 12 months + 25 days old
    const firstOfDec2025 = backup({ createdAt: '2025-11-30T18:00:00.000Z' }); // 2025-12-01 02:00 Manila: within 12 months
    const newest = backup({ createdAt: daysAgo(0) });
    const { action, reasons } = plan([juneInManila, lateMay, earlyMay, secondJune, firstOfNov2025, firstOfDec2025, newest]);
    expect(action(juneInManila)).toBe('keep');
    expect(reasons(juneInManila)).toContain('first database backup of 2026-06');
    expect(action(earlyMay)).toBe('keep');
    expect(action(lateMay)).toBe('delete');
    expect(action(secondJune)).toBe('delete');
    expect(action(firstOfDec2025)).toBe('keep');
    expect(action(firstOfNov2025)).toBe('delete');
  });

  it('months are counted per kind: the first uploads backup of a month is kept even after a database one', () => {
    const db = backup({ createdAt: '2026-03-01T00:00:00.000Z', kind: 'database' });
    const upl = backup({ createdAt: '2026-03-02T00:00:00.000Z', kind: 'uploads' });
    const dbNew = backup({ createdAt: daysAgo(0), kind: 'database' });
    const uplNew = backup({ createdAt: daysAgo(0), kind: 'uploads' });
    const { action } = plan([db, upl, dbNew, uplNew]);
    expect(action(db)).toBe('keep');
    expect(action(upl)).toBe('keep');
  });

  it('never deletes the newest backup of a kind, however old', () => {
    const ancient = backup({ createdAt: '2020-01-15T00:00:00.000Z', kind: 'application' });
    const { action, reasons } = plan([ancient]);
    expect(action(ancient)).toBe('keep');
    expect(reasons(ancient)).toContain('newest application backup');
  });

  it('never deletes the newest backup that passed verification, even behind newer unverified or failed ones', () => {
    const verified = backup({ createdAt: daysAgo(60), verification: 'passed' });
    const olderVerified = backup({ createdAt: daysAgo(70), verification: 'passed' });
    const failed = backup({ createdAt: daysAgo(50), verification: 'failed' });
    const newest = backup({ createdAt: daysAgo(0) });
    const { action, reasons } = plan([olderVerified, verified, failed, newest], { policy: NO_MONTHLY });
    expect(action(verified)).toBe('keep');
    expect(reasons(verified)).toContain('passed verification');
    expect(action(olderVerified)).toBe('delete');
    expect(action(failed)).toBe('delete');
  });

  it('never deletes a backup a running restore reads', () => {
    const old = backup({ createdAt: daysAgo(90) });
    const newest = backup({ createdAt: daysAgo(0) });
    const { action, reasons } = plan([old, newest], { policy: NO_MONTHLY, inUse: [{ id: old.id, reason: 'in use by a running restore' }] });
    expect(action(old)).toBe('keep');
    expect(reasons(old)).toBe('in use by a running restore');
  });

  it('keeps the whole uploads chain under a kept incremental, and lets a dead chain go', () => {
    const oldFull = backup({ kind: 'uploads', createdAt: daysAgo(50) });
    const oldInc = backup({ kind: 'uploads', createdAt: daysAgo(45), parentId: oldFull.id });
    const full = backup({ kind: 'uploads', createdAt: daysAgo(40) });
    const inc1 = backup({ kind: 'uploads', createdAt: daysAgo(35), parentId: full.id });
    const inc2 = backup({ kind: 'uploads', createdAt: daysAgo(20), parentId: inc1.id });
    const inc3 = backup({ kind: 'uploads', createdAt: daysAgo(1), parentId: inc2.id });
    const { action, reasons } = plan([oldFull, oldInc, full, inc1, inc2, inc3], { policy: NO_MONTHLY });
    expect([full, inc1, inc2, inc3].map(action)).toEqual(['keep', 'keep', 'keep', 'keep']);
    expect(reasons(full)).toContain(`base of kept uploads chain (needed by ${inc3.id})`);
    expect(reasons(inc1)).toContain('base of kept uploads chain');
    expect([oldFull, oldInc].map(action)).toEqual(['delete', 'delete']);
  });

  it('warns when a kept incremental is built on a backup that is gone', () => {
    const inc = backup({ kind: 'uploads', createdAt: daysAgo(1), parentId: 'upl-20260101T000000Z-dead' });
    const { result } = plan([inc]);
    expect(result.warnings.join()).toContain('upl-20260101T000000Z-dead');
  });

  it('drill reports: 12 calendar months, the newest always; exports: 30 days', () => {
    const items = [
      { type: 'drill-report' as const, id: 'drill-a', createdAt: '2025-11-20T01:00:00.000Z', keys: ['reports/drills/drill-a.json'] },
      { type: 'drill-report' as const, id: 'drill-b', createdAt: '2025-12-07T01:00:00.000Z', keys: ['reports/drills/drill-b.json'] },
      { type: 'export' as const, id: 'e-old', createdAt: daysAgo(31), keys: ['exports/e-old/x'] },
      { type: 'export' as const, id: 'e-new', createdAt: daysAgo(29), keys: ['exports/e-new/x'] },
    ];
    const { action } = plan([], { items });
    expect(items.map(action)).toEqual(['delete', 'keep', 'delete', 'keep']);
    const lone = planRetention({ now: NOW, timezone: TZ, policy: DEFAULT_RETENTION_POLICY, backups: [], items: [items[0]!] });
    expect(lone.decisions[0]).toMatchObject({ action: 'keep', reasons: ['newest drill report (always kept)'] });
  });

  it('objects without a manifest: kept while young (a backup being written), deleted once stale', () => {
    const { action } = plan([], {
      orphans: [
        { id: 'db-20261126T010000Z-aaaa', newestModifiedAt: daysAgo(0, 5), keys: ['backups/db-20261126T010000Z-aaaa/database.dump.enc'] },
        { id: 'db-20261120T010000Z-bbbb', newestModifiedAt: daysAgo(5), keys: ['backups/db-20261120T010000Z-bbbb/database.dump.enc'] },
      ],
    });
    expect(action({ id: 'db-20261126T010000Z-aaaa' })).toBe('keep');
    expect(action({ id: 'db-20261120T010000Z-bbbb' })).toBe('delete');
  });

  it('unreadable manifests are kept and reported', () => {
    const { result } = plan([], { unreadable: ['db-20261101T000000Z-cafe'] });
    expect(result.warnings[0]).toContain('db-20261101T000000Z-cafe');
    expect(result.decisions).toEqual([]);
  });

  it('a realistic 90 days of schedule: what stays is exactly the policy', () => {
    const backups: BackupFacts[] = [];
    for (let d = 0; d < 90; d++) {
      backups.push(backup({ createdAt: daysAgo(d, 2) }));
      if (new Date(daysAgo(d, 1)).getUTCDay() === 6) backups.push(backup({ createdAt: daysAgo(d, 1), category: 'full' })); // Sunday 01:00 Manila
    }
    const { result } = plan(backups);
    const age = (d: { createdAt: string }) => (NOW.getTime() - Date.parse(d.createdAt)) / 86_400_000;
    const kept = result.decisions.filter((d) => d.action === 'keep');
    const months = new Set(backups.map((b) => new Date(Date.parse(b.createdAt) + 8 * 3_600_000).toISOString().slice(0, 7)));
    expect(kept.filter((d) => d.reasons.some((r) => r.includes('(monthly'))).length).toBe(months.size);
    expect(kept.filter((d) => age(d) >= 30).every((d) => d.reasons.some((r) => r.includes('(monthly')))).toBe(true);
    expect(kept.filter((d) => age(d) < 30).length).toBe(backups.filter((b) => age(b) < 30).length);
    expect(result.decisions.filter((d) => d.action === 'delete').every((d) => age(d) >= 30)).toBe(true);
  });
});
