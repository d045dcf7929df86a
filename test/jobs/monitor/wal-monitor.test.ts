import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPgCluster, type PgCluster } from '../../../src/dev/pg-cluster.ts';
import { SCHEDULED_JOBS, type ScheduleConfig } from '../../../src/schedule/schedule-config.ts';
import { createMemorySink } from '../../../src/jobs/alert-sink.ts';
import { runMonitor } from '../../../src/jobs/monitor/run-monitor.ts';
import { pushWalFile } from '../../../src/jobs/wal/push-wal.ts';
import { sql } from '../../support/databases.ts';
import { makeDeps } from '../../support/job-deps.ts';

const thresholds = { graceSeconds: 3600, minBackupBytes: { database: 0, application: 0, uploads: 0 }, sizeDropPercent: 50, stuckJobSeconds: 3600, secondaryMaxLagSeconds: 86_400 };

/** Writes WAL and switches segments `times` times; resolves with the last completed segment's path. */
async function writeWal(cluster: PgCluster, times: number): Promise<string> {
  let name = '';
  await sql(cluster.adminUrl, 'CREATE TABLE IF NOT EXISTS t (id serial, v text)');
  for (let i = 0; i < times; i += 1) {
    await sql(cluster.adminUrl, 'INSERT INTO t (v) SELECT md5(g::text) FROM generate_series(1, 2000) g');
    name = (await sql<{ name: string }>(cluster.adminUrl, 'SELECT pg_walfile_name(pg_current_wal_lsn()) AS name'))[0]!.name;
    await sql(cluster.adminUrl, 'SELECT pg_switch_wal()');
  }
  return join(cluster.dataDir!, 'pg_wal', name);
}

describe('monitoring WAL archiving against a real cluster', () => {
  let cluster: PgCluster;
  beforeAll(async () => {
    cluster = await startPgCluster();
    await sql(cluster.adminUrl, 'SELECT pg_create_physical_replication_slot($1, true)', ['bantay_mon']);
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('alerts wal-lag, wal-stopped and wal-slot when the server writes WAL that is not archived, and is quiet once it is', async () => {
    const { deps, dir, close } = await makeDeps();
    const wal = { rpoObjectiveSeconds: 600, slotWarnBytes: 1024 * 1024, stallSeconds: 120, databaseUrl: cluster.adminUrl, slot: 'bantay_mon', streamStatusFile: join(dir, 'none.json') };
    const sink = createMemorySink();
    const spec = { sink, schedule: Object.fromEntries(SCHEDULED_JOBS.map((j) => [j, null])) as ScheduleConfig, timezone: 'UTC', thresholds, wal };
    // Archive one segment, then the server writes three more that nobody archives; an hour passes.
    await pushWalFile(await writeWal(cluster, 1), deps, { via: 'push' });
    await writeWal(cluster, 3);
    deps.now = () => new Date(Date.now() + 3600_000);
    const stopped = await runMonitor(spec, deps);
    const walKeys = (r: typeof stopped) => r.problems.filter((p) => p.key.startsWith('wal-')).map((p) => `${p.key}:${p.severity}`).sort();
    expect(walKeys(stopped)).toEqual(['wal-lag:critical', 'wal-slot:warning', 'wal-stopped:critical']);
    const slot = stopped.problems.find((p) => p.key === 'wal-slot')!;
    expect(slot.title).toMatch(/bantay_mon retains .* of WAL, over /);
    const [{ retained } = { retained: '0' }] = await sql<{ retained: string }>(cluster.adminUrl, 'SELECT (pg_current_wal_lsn() - restart_lsn)::text AS retained FROM pg_replication_slots WHERE slot_name = $1', ['bantay_mon']);
    // Delivered through alert state: each once, then resolved below.
    expect(sink.alerts.filter((a) => a.dedupeKey.startsWith('wal-')).map((a) => a.dedupeKey).sort()).toEqual(['wal-lag', 'wal-slot', 'wal-stopped']);
    console.log(`slot retains ${retained} bytes; problems: ${walKeys(stopped).join(', ')}`);

    // The newest segment archived just now, the slot advanced past it: no WAL problem left.
    const newest = await writeWal(cluster, 1);
    await pushWalFile(newest, deps, { via: 'push' });
    await sql(cluster.adminUrl, 'SELECT pg_replication_slot_advance($1, pg_current_wal_lsn())', ['bantay_mon']);
    deps.now = () => new Date();
    const healthy = await runMonitor(spec, deps);
    expect(walKeys(healthy)).toEqual([]);
    expect(sink.alerts.filter((a) => a.dedupeKey.startsWith('wal-') && a.resolved).map((a) => a.dedupeKey).sort()).toEqual(['wal-lag', 'wal-slot', 'wal-stopped']);

    // Without BANTAY_WAL there are no WAL checks at all.
    deps.now = () => new Date(Date.now() + 3600_000);
    const off = await runMonitor({ ...spec, wal: undefined }, deps);
    expect(walKeys(off)).toEqual([]);
    await close();
  });
});
