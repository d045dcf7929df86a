import { describe, expect, it } from 'vitest';
import { DEFAULT_RETENTION_POLICY } from '../../../src/jobs/retention/plan-retention.ts';
import { planWalRetention, type BaseFacts } from '../../../src/jobs/retention/plan-wal-retention.ts';
import { historyFileName, segmentName } from '../../../src/jobs/wal/wal-names.ts';

const NOW = new Date('2026-11-26T06:00:00Z');
const ago = (days: number) => new Date(NOW.getTime() - days * 86_400_000).toISOString();
const seg = (tli: number, n: number) => segmentName(tli, BigInt(n));
const base = (id: string, days: number, tli: number, from: number, to = from + 1): BaseFacts => ({ id, createdAt: ago(days), consistentAt: ago(days), timeline: tli, walFrom: seg(tli, from), walTo: seg(tli, to) });
const range = (tli: number, from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => seg(tli, from + i));
const policy = { ...DEFAULT_RETENTION_POLICY, dailyDays: 7, weeklyWeeks: 2, monthlyMonths: 0 };

interface Case {
  name: string;
  bases: BaseFacts[];
  wal: string[];
  histories?: Map<number, Array<{ parent: number }>>;
  unreadableBases?: string[];
  anchor: string | null;
  deletedWal: string[];
  deletedBases: string[];
}

const cases: Case[] = [
  { name: 'no base backup: no WAL is deleted', bases: [], wal: range(1, 1, 5), anchor: null, deletedWal: [], deletedBases: [] },
  {
    name: 'one timeline: WAL before the newest base at or before the window start goes',
    bases: [base('b20', 20, 1, 2), base('b10', 10, 1, 10), base('b3', 3, 1, 30)],
    wal: range(1, 1, 40),
    anchor: 'b10',
    // b20 is kept by the weekly rule (20 < 14? no) -> deleted; its segments go with it.
    deletedWal: range(1, 1, 9),
    deletedBases: ['b20'],
  },
  {
    name: 'a base kept by policy older than the anchor keeps its own walFrom..walTo',
    bases: [base('b12', 12, 1, 2, 3), base('b8', 8, 1, 10), base('b1', 1, 1, 30)],
    wal: range(1, 1, 35),
    anchor: 'b8',
    deletedWal: [seg(1, 1), ...range(1, 4, 9)],
    deletedBases: [],
  },
  {
    name: 'all bases younger than the window: WAL before the oldest base goes',
    bases: [base('b3', 3, 1, 20), base('b1', 1, 1, 30)],
    wal: range(1, 10, 35),
    anchor: 'b3',
    deletedWal: range(1, 10, 19),
    deletedBases: [],
  },
  {
    name: 'multiple timelines: a promotion after the anchor keeps both lines and both history files',
    bases: [base('b30', 30, 1, 1), base('b9', 9, 1, 10), base('b2', 2, 2, 40)],
    wal: [...range(1, 1, 25), ...range(2, 25, 45), historyFileName(2)],
    histories: new Map([[2, [{ parent: 1 }]]]),
    anchor: 'b9',
    deletedWal: range(1, 1, 9),
    deletedBases: ['b30'],
  },
  {
    name: 'multiple timelines: an abandoned timeline before the window loses its segments and history file, ancestors stay',
    bases: [base('b20', 20, 1, 1), base('b8', 8, 3, 30), base('b1', 1, 3, 50)],
    // Timeline 2 forked from 1 at 10 and was abandoned; 3 forked from 1 at 20.
    wal: [...range(1, 1, 19), ...range(2, 10, 14), ...range(3, 20, 55), historyFileName(2), historyFileName(3), historyFileName(4)],
    histories: new Map([[2, [{ parent: 1 }]], [3, [{ parent: 1 }]], [4, [{ parent: 1 }, { parent: 3 }]]]),
    anchor: 'b8',
    deletedWal: [...range(1, 1, 19), ...range(2, 10, 14), ...range(3, 20, 29), historyFileName(2)],
    deletedBases: ['b20'],
  },
  {
    name: 'an unreadable base manifest: no WAL is deleted',
    bases: [base('b20', 20, 1, 1), base('b8', 8, 1, 10)],
    wal: range(1, 1, 12),
    unreadableBases: ['bX'],
    anchor: 'b8',
    deletedWal: [],
    deletedBases: ['b20'],
  },
  {
    name: '.partial and .backup files follow their segment position',
    bases: [base('b8', 8, 1, 10)],
    wal: [`${seg(1, 3)}.partial`, `${seg(1, 4)}.00000028.backup`, `${seg(1, 10)}.00000028.backup`, `${seg(1, 12)}.partial`],
    anchor: 'b8',
    deletedWal: [`${seg(1, 3)}.partial`, `${seg(1, 4)}.00000028.backup`],
    deletedBases: [],
  },
];

describe('planWalRetention', () => {
  it.each(cases)('$name', (c) => {
    const plan = planWalRetention({ now: NOW, timezone: 'UTC', policy, retentionDays: 7, bases: c.bases, walNames: c.wal, histories: c.histories ?? new Map(), segmentSize: 16 * 1024 * 1024, unreadableBases: c.unreadableBases });
    expect(plan.anchor).toBe(c.anchor);
    expect(plan.wal.filter((d) => d.action === 'delete').map((d) => d.id).sort()).toEqual([...c.deletedWal].sort());
    expect(plan.bases.filter((d) => d.action === 'delete').map((d) => d.id).sort()).toEqual([...c.deletedBases].sort());
    expect(plan.wal).toHaveLength(c.wal.length);
    for (const d of [...plan.wal, ...plan.bases]) expect(d.reasons.length).toBeGreaterThan(0);
  });

  it('the window anchor is kept even when the policy alone would drop it', () => {
    const plan = planWalRetention({ now: NOW, timezone: 'UTC', policy: { ...policy, dailyDays: 1, weeklyWeeks: 0 }, retentionDays: 7, bases: [base('b40', 40, 1, 1), base('b2', 2, 1, 50)], walNames: range(1, 1, 60), histories: new Map(), segmentSize: 16 * 1024 * 1024 });
    expect(plan.anchor).toBe('b40');
    expect(plan.bases.find((d) => d.id === 'b40')).toMatchObject({ action: 'keep', reasons: [expect.stringMatching(/recovers the start of the 7-day WAL window/)] });
    expect(plan.wal.filter((d) => d.action === 'delete')).toEqual([]);
  });
});
