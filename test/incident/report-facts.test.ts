import { describe, expect, it } from 'vitest';
import { dataLossOf, recoveriesOf, type AuditFact } from '../../src/jobs/incident/build-report.ts';

/** The report counts what the audit log says happened, one recovery per restore, whatever else a restore logged. */
const at = (m: number) => new Date(Date.UTC(2026, 11, 3, 6, m));
function row(over: Partial<AuditFact> & Pick<AuditFact, 'status'>): AuditFact {
  return { operationType: 'restore', backupType: 'database', performedBy: 'ana', backupId: 'db-1', errorMessage: null, createdAt: at(10), details: {}, ...over };
}
const times = new Map([['db-1', at(0).toISOString()], ['base-1', at(1).toISOString()], ['copy-1', at(30).toISOString()], ['up-1', at(2).toISOString()]]);

describe('recovery report facts', () => {
  it('a failed in-place restore and its steps, then a cleanup and a drop, are one failed recovery and no data loss measured', () => {
    const audit = [
      row({ status: 'started', details: { step: 'restore in place', target: 'fbms' } }),
      row({ status: 'succeeded', details: { step: 'safety-backup', target: 'fbms' } }),
      row({ status: 'succeeded', details: { step: 'restore-copy', target: 'fbms' } }),
      row({ status: 'failed', details: { step: 'swap', target: 'fbms' } }),
      row({ status: 'failed', details: { step: 'restore in place', target: 'fbms', error: 'swap failed' } }),
      row({ status: 'succeeded', backupId: null, details: { step: 'cleanup' } }),
      row({ status: 'succeeded', backupId: null, details: { step: 'drop kept database', database: 'fbms_before' } }),
    ];
    const recoveries = recoveriesOf(audit, times);
    expect(recoveries).toEqual([expect.objectContaining({ kind: 'restore', inPlace: true, status: 'failed' })]);
    expect(dataLossOf(at(20), recoveries).state).toBe('not-restored');
  });

  it('a point-in-time copy with no replayed transaction is recovered to the base backup, not to when the copy was dumped', () => {
    const audit = [
      row({ status: 'succeeded', backupType: 'pitr', backupId: 'base-1', details: { target: 'database', lastTransactionAt: null, copyBackupId: 'copy-1' } }),
      row({ status: 'succeeded', backupId: 'copy-1', details: { step: 'restore in place', target: 'fbms' } }),
    ];
    const recoveries = recoveriesOf(audit, times);
    expect(recoveries[1]).toMatchObject({ kind: 'restore', inPlace: true, recoveredPoint: at(1).toISOString() });
    expect(dataLossOf(at(20), recoveries)).toMatchObject({ state: 'measured', seconds: 19 * 60 });
  });

  it('a loss under a second is up to 1 s, never rounded to none; none only at or after detection', () => {
    const point = new Date('2026-11-26T06:29:00.000Z');
    const recovery = [{ kind: 'restore', inPlace: true, status: 'succeeded', recoveredPoint: point.toISOString() }] as unknown as Parameters<typeof dataLossOf>[1];
    expect(dataLossOf(new Date(point.getTime() + 400), recovery)).toMatchObject({ state: 'measured', seconds: 1 });
    expect(dataLossOf(new Date(point.getTime() + 1600), recovery)).toMatchObject({ state: 'measured', seconds: 2 });
    expect(dataLossOf(point, recovery)).toMatchObject({ state: 'none', seconds: 0 });
  });

  it('a files restore in place is flagged in place', () => {
    const recoveries = recoveriesOf([row({ status: 'succeeded', backupType: 'uploads', backupId: 'up-1', details: { target: 'in-place' } })], times);
    expect(recoveries).toEqual([expect.objectContaining({ kind: 'files', inPlace: true, recoveredPoint: at(2).toISOString() })]);
  });
});
