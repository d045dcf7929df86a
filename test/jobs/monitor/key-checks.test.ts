import { describe, expect, it } from 'vitest';
import { runChecks, type BackupSummary, type MonitorInput } from '../../../src/jobs/monitor/checks.ts';
import { DEFAULT_SCHEDULE } from '../../../src/schedule/schedule-config.ts';

const NOW = new Date('2026-11-26T02:00:00Z');
const OLD = 'k1:1111111111111111';
const NEW = 'k1:2222222222222222';

function b(kind: BackupSummary['kind'], hoursAgo: number, keyId: string | null | undefined): BackupSummary {
  return { id: `${kind}-${hoursAgo}`, kind, createdAt: new Date(NOW.getTime() - hoursAgo * 3600_000).toISOString(), sizeBytes: 1, format: 'x', incremental: false, keyId };
}

function input(backups: BackupSummary[], keyIds: string[] | undefined): MonitorInput {
  return {
    now: NOW,
    timezone: 'UTC',
    // No schedule: only the key check can fire.
    schedule: Object.fromEntries(Object.keys(DEFAULT_SCHEDULE).map((k) => [k, null])) as unknown as MonitorInput['schedule'],
    thresholds: { graceSeconds: 3600, minBackupBytes: { database: 0, application: 0, uploads: 0 }, sizeDropPercent: 50, stuckJobSeconds: 3600, secondaryMaxLagSeconds: 3600 },
    primary: { backups: [...backups].sort((x, y) => y.createdAt.localeCompare(x.createdAt)) },
    storage: [],
    jobRuns: [],
    fires: [],
    verifications: [],
    keyIds,
  };
}

const keyAlerts = (i: MonitorInput) => runChecks(i).filter((p) => p.key.startsWith('key-missing:'));

describe('monitoring: the newest backup of each kind must be readable with a configured key', () => {
  it('is quiet when every newest backup uses a configured key, old ones under a dropped key do not matter', () => {
    expect(keyAlerts(input([b('database', 1, NEW), b('database', 30, OLD), b('uploads', 2, NEW)], [NEW]))).toEqual([]);
  });

  it('alerts (critical) per kind whose newest backup uses a key that is not configured', () => {
    const alerts = keyAlerts(input([b('database', 1, OLD), b('database', 30, NEW), b('application', 1, NEW), b('uploads', 3, OLD)], [NEW]));
    expect(alerts.map((a) => [a.key, a.severity])).toEqual([['key-missing:database', 'critical'], ['key-missing:uploads', 'critical']]);
    expect(alerts[0]!.text).toContain(`database-1 is encrypted with key ${OLD}; the configured keys are ${NEW}`);
    expect(alerts[0]!.remedy).toContain('BANTAY_DECRYPTION_KEYS');
  });

  it('alerts when no key is configured at all but the newest backup is encrypted; unencrypted backups are not this check', () => {
    expect(keyAlerts(input([b('database', 1, NEW)], [])).map((a) => a.key)).toEqual(['key-missing:database']);
    expect(keyAlerts(input([b('database', 1, null)], [NEW]))).toEqual([]);
  });

  it('re-alerts when the configured keys change but the problem stays, and is skipped without key information', () => {
    const one = keyAlerts(input([b('database', 1, OLD)], [NEW]))[0]!;
    const two = keyAlerts(input([b('database', 1, OLD)], [NEW, 'k1:3333333333333333']))[0]!;
    expect(one.fingerprint).not.toBe(two.fingerprint);
    expect(keyAlerts(input([b('database', 1, OLD)], undefined))).toEqual([]);
  });

  it('counts a manifest refused because its tag was made with a key that is not configured', () => {
    const i = input([b('database', 30, NEW)], [NEW]);
    const refusedId = 'db-20261126T010000Z-abcd';
    i.catalog = { refused: [{ id: refusedId, status: 'rejected', reason: `its authentication tag was made with key ${OLD}, which is not configured` }], vanished: [] } as unknown as MonitorInput['catalog'];
    const alerts = keyAlerts(i);
    expect(alerts.map((a) => a.key)).toEqual(['key-missing:database']);
    expect(alerts[0]!.text).toContain(`${refusedId} is encrypted with key ${OLD}`);
  });
});
