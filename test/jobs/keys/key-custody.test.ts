import { describe, expect, it } from 'vitest';
import { planKeyCustody, type KeyCustodyInput } from '../../../src/jobs/keys/key-custody.ts';

const A = 'k1:aaaaaaaaaaaaaaaa';
const B = 'k1:bbbbbbbbbbbbbbbb';
const C = 'k1:cccccccccccccccc';

function input(over: Partial<KeyCustodyInput>): KeyCustodyInput {
  return { primaryKeyId: B, retiredKeyIds: [A], backups: [], doomed: new Set(), unreadableManifests: [], ...over };
}
const backup = (id: string, keyId: string | null, day: number) => ({ id, kind: 'database' as const, createdAt: `2026-11-${String(day).padStart(2, '0')}T02:00:00.000Z`, keyId });

describe('planKeyCustody', () => {
  it('names each key with its role, its backups and what retention keeps', () => {
    const report = planKeyCustody(input({ backups: [backup('db1', A, 1), backup('db2', A, 2), backup('db3', B, 3)] }));
    expect(report.keys).toEqual([
      expect.objectContaining({ keyId: B, role: 'primary', backups: 1, kept: 1, canRetire: false, newest: { id: 'db3', createdAt: expect.any(String) } }),
      expect.objectContaining({ keyId: A, role: 'retired', backups: 2, kept: 2, canRetire: false, oldest: { id: 'db1', createdAt: expect.any(String) }, verdict: 'still needed: retention keeps 2 backups encrypted with it (newest db2)' }),
    ]);
    expect(report.unreadable).toEqual([]);
  });

  it('a retired key can go only when no kept backup uses it', () => {
    const some = planKeyCustody(input({ backups: [backup('db1', A, 1), backup('db2', A, 2)], doomed: new Set(['db1']) }));
    expect(some.keys[1]).toMatchObject({ kept: 1, canRetire: false });
    const all = planKeyCustody(input({ backups: [backup('db1', A, 1), backup('db2', A, 2)], doomed: new Set(['db1', 'db2']) }));
    expect(all.keys[1]).toMatchObject({ kept: 0, canRetire: false, verdict: 'can be retired after the next prune: retention deletes its last 2 backups' });
    const none = planKeyCustody(input({ backups: [backup('db3', B, 3)] }));
    expect(none.keys[1]).toMatchObject({ keyId: A, backups: 0, canRetire: true, verdict: 'can be retired: no backup in the store uses it' });
  });

  it('the primary key is never retirable, even with no backups yet', () => {
    expect(planKeyCustody(input({ retiredKeyIds: [] })).keys).toEqual([expect.objectContaining({ keyId: B, role: 'primary', canRetire: false })]);
  });

  it('backups under a key that is not configured are the alert, newest first; unencrypted ones are listed apart', () => {
    const report = planKeyCustody(input({ backups: [backup('db1', C, 1), backup('db2', C, 4), backup('db3', null, 5), backup('db4', B, 6)], unreadableManifests: ['db5'] }));
    expect(report.keys.map((k) => [k.keyId, k.role])).toEqual([[B, 'primary'], [A, 'retired'], [C, 'not configured']]);
    expect(report.keys[2]!.verdict).toBe('NOT CONFIGURED: 2 backups cannot be decrypted; add this key to BANTAY_DECRYPTION_KEYS');
    expect(report.unreadable.map((u) => u.id)).toEqual(['db2', 'db1']);
    expect(report.unencrypted).toEqual(['db3']);
    expect(report.unreadableManifests).toEqual(['db5']);
  });

  it('without any configured key every encrypted backup is unreadable', () => {
    const report = planKeyCustody(input({ primaryKeyId: undefined, retiredKeyIds: [], backups: [backup('db1', A, 1)] }));
    expect(report.keys).toEqual([expect.objectContaining({ keyId: A, role: 'not configured' })]);
    expect(report.unreadable).toHaveLength(1);
  });
});
