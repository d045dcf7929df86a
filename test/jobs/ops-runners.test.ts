import { describe, expect, it } from 'vitest';
import { createMemorySink } from '../../src/jobs/alert-sink.ts';
import { createOpsRunners } from '../../src/jobs/ops-runners.ts';
import { DEFAULT_RETENTION_POLICY } from '../../src/jobs/retention/plan-retention.ts';
import { SCHEDULE_TRIGGER, DEFAULT_SCHEDULE } from '../../src/schedule/schedule-config.ts';
import { createLocalStore } from '../../src/storage/local-store.ts';
import { keysOf, putFakeBackup } from '../support/fake-backups.ts';
import { makeDeps, tempDir } from '../support/job-deps.ts';

describe('createOpsRunners', () => {
  it('gives the scheduler sync, retention and monitor runners that use the real jobs', async () => {
    const { deps, close } = await makeDeps();
    const sink = createMemorySink();
    const secondary = createLocalStore(tempDir());
    const options = {
      ...deps,
      sink,
      timezone: 'Asia/Manila',
      schedule: { ...DEFAULT_SCHEDULE, application: null, uploads: null, full: null },
      retention: DEFAULT_RETENTION_POLICY,
      thresholds: { graceSeconds: 7200, minBackupBytes: { database: 0, application: 0, uploads: 0 }, sizeDropPercent: 50, stuckJobSeconds: 21_600, secondaryMaxLagSeconds: 108_000 },
    };
    expect(Object.keys(createOpsRunners(options)).sort()).toEqual(['monitor', 'retention']);
    const runners = createOpsRunners({ ...options, secondary });
    expect(Object.keys(runners).sort()).toEqual(['monitor', 'retention', 'sync']);
    const backup = await putFakeBackup(deps.store, { createdAt: new Date(Date.now() - 60_000) }, deps);
    const run = { fireAt: new Date(), signal: new AbortController().signal, trigger: SCHEDULE_TRIGGER };
    await runners.sync!({ ...run, job: 'sync' });
    expect(await keysOf(secondary)).toEqual(await keysOf(deps.store));
    await runners.retention!({ ...run, job: 'retention' });
    await runners.monitor!({ ...run, job: 'monitor' });
    expect(sink.alerts).toEqual([]);
    expect(backup.id).toMatch(/^db-/);
    await close();
  });
});
