import { describe, expect, it } from 'vitest';
import { createMemorySink, type Alert } from '../../../src/jobs/alert-sink.ts';
import { loadAlertState } from '../../../src/jobs/monitor/alert-state.ts';
import { runMonitor, type MonitorSpec } from '../../../src/jobs/monitor/run-monitor.ts';
import { DEFAULT_SCHEDULE } from '../../../src/schedule/schedule-config.ts';
import { putFakeBackup } from '../../support/fake-backups.ts';
import { makeDeps } from '../../support/job-deps.ts';

const manila = (wall: string) => new Date(`${wall}+08:00`);
const spec = (sink: MonitorSpec['sink']): MonitorSpec => ({
  // Only the database backup is scheduled, so the other kinds are not watched here.
  schedule: { ...DEFAULT_SCHEDULE, application: null, uploads: null, full: null },
  timezone: 'Asia/Manila',
  thresholds: { graceSeconds: 7200, minBackupBytes: { database: 1000, application: 0, uploads: 0 }, sizeDropPercent: 50, stuckJobSeconds: 21_600, secondaryMaxLagSeconds: 108_000 },
  sink,
});

describe('runMonitor', () => {
  it('alerts once, stays quiet while nothing changes, alerts again when it gets worse, and says when it is resolved', async () => {
    const { deps, close } = await makeDeps();
    const sink = createMemorySink();
    await putFakeBackup(deps.store, { createdAt: manila('2026-11-25T02:00:03'), sizeBytes: 5000 }, deps);
    const at = async (wall: string) => {
      deps.now = () => manila(wall);
      const before = sink.alerts.length;
      await runMonitor(spec(sink), deps);
      return sink.alerts.slice(before);
    };
    expect(await at('2026-11-26T03:00:00')).toEqual([]); // 02:00 missed, within grace
    const [first, ...rest] = await at('2026-11-26T04:15:00');
    expect(rest).toEqual([]);
    expect(first).toMatchObject({ severity: 'critical', dedupeKey: 'stale:database', title: 'No database backup since the scheduled run of 2026-11-26 02:00' });
    expect(first!.text).toMatch(/What to do: Check that bantay serve is running/);
    expect(await at('2026-11-26T04:30:00')).toEqual([]);
    expect(await at('2026-11-26T12:00:00')).toEqual([]);
    // Another scheduled run missed: the problem changed, so people hear about it again.
    expect((await at('2026-11-27T04:15:00')).map((a: Alert) => a.title)).toEqual(['No database backup since the scheduled run of 2026-11-27 02:00']);
    await putFakeBackup(deps.store, { createdAt: manila('2026-11-27T05:00:00'), sizeBytes: 5000 }, deps);
    const resolved = await at('2026-11-27T05:15:00');
    expect(resolved).toEqual([{ severity: 'info', title: 'Resolved: No database backup since the scheduled run of 2026-11-27 02:00', text: expect.stringMatching(/no longer a problem .*lasted 25h/), dedupeKey: 'stale:database', resolved: true }]);
    expect(await at('2026-11-27T05:30:00')).toEqual([]);
    expect((await loadAlertState(deps.state)).map((r) => [r.key, r.status])).toEqual([['stale:database', 'resolved']]);
    await close();
  });

  it('an alert the sink could not deliver is sent on the next run', async () => {
    const { deps, close } = await makeDeps();
    deps.now = () => manila('2026-11-26T10:00:00');
    let fail = true;
    const delivered: Alert[] = [];
    const sink = { send: async (a: Alert) => { if (fail) throw new Error('Slack is down'); delivered.push(a); } };
    const first = await runMonitor(spec(sink), deps);
    expect(first.failed.map((f) => f.error)).toEqual(['Slack is down']);
    fail = false;
    await runMonitor(spec(sink), deps);
    expect(delivered.map((a) => a.dedupeKey)).toEqual(['stale:database']);
    await runMonitor(spec(sink), deps);
    expect(delivered).toHaveLength(1);
    await close();
  });

  it('without a sink (the CLI) it reports every problem and records nothing', async () => {
    const { deps, close } = await makeDeps();
    deps.now = () => manila('2026-11-26T10:00:00');
    const result = await runMonitor(spec(undefined), deps);
    expect(result.problems.map((p) => p.key)).toEqual(['stale:database']);
    expect(await loadAlertState(deps.state)).toEqual([]);
    await close();
  });
});

describe('runMonitor across days', () => {
  it('forgets cached manifests of backups that are gone, so a long-running serve does not grow without bound', async () => {
    const { deps, close } = await makeDeps();
    deps.now = () => manila('2026-11-26T10:00:00');
    const manifestCache = new Map();
    const old = await putFakeBackup(deps.store, { createdAt: manila('2026-11-25T02:00:00'), sizeBytes: 5000 }, deps);
    const kept = await putFakeBackup(deps.store, { createdAt: manila('2026-11-26T02:00:00'), sizeBytes: 5000 }, deps);
    await runMonitor(spec(undefined), { ...deps, manifestCache });
    expect([...manifestCache.keys()].sort()).toEqual([old.id, kept.id].sort());
    for await (const o of deps.store.list(`backups/${old.id}/`)) await deps.store.delete(o.key);
    await runMonitor(spec(undefined), { ...deps, manifestCache });
    expect([...manifestCache.keys()]).toEqual([kept.id]);
    await close();
  });
});
