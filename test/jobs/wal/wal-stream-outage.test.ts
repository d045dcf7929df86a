import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { withDatabase } from '../../../src/jobs/pg/connection.ts';
import type { StreamStatus } from '../../../src/jobs/wal/wal-streamer.ts';
import { bantay } from '../../support/cli.ts';
import { sql } from '../../support/databases.ts';
import { startFaultProxy, type FaultProxy } from '../../support/fault-proxy.ts';
import { startPitrCluster, startStreamer, stopStreamer, waitFor, type PitrCluster } from '../../support/pitr-cluster.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


/**
 * Issue 10: "the store unreachable for a while during streaming, then back: no gap". The
 * stream goes to the S3 test server through the fault proxy, which answers every request 503
 * for a while; segments completed meanwhile wait in the local backlog (the slot keeps the
 * server's copy) and go up in order once the store answers, so a recovery to the end of the
 * archive has every row, including those written during the outage.
 */
describe('bantay wal stream while the store is down', () => {
  let proxy: FaultProxy;
  let p: PitrCluster;
  let fbms: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    proxy = await startFaultProxy(inject('s3Endpoint'));
    p = await startPitrCluster({ archive: false, s3Endpoint: proxy.endpoint });
    fbms = await p.cluster.createDatabase('fbms_outage');
    await sql(fbms, 'CREATE TABLE events (id serial PRIMARY KEY, label text NOT NULL)');
    env = { ...p.env, DATABASE_URL: fbms, BANTAY_WAL_PARTIAL_INTERVAL: '1s', BANTAY_WAL_SLOT: 'bantay_outage' };
  }, 300_000);
  afterAll(async () => {
    await p?.stop();
    await proxy?.stop();
  });

  it('keeps what the server wrote during the outage in its backlog and uploads it in order when the store is back: no gap', async () => {
    const statusFile = join(p.dataDir, 'wal', 'stream-status.json');
    const status = async () => readFile(statusFile, 'utf8').then((t) => JSON.parse(t) as StreamStatus, () => undefined);
    const streamer = startStreamer(env, p.dir);
    try {
      await waitFor('the slot', async () => (await sql(p.cluster.adminUrl, "SELECT 1 FROM pg_replication_slots WHERE slot_name = 'bantay_outage' AND active")).length === 1);
      const base = await bantay(['backup', 'base'], env, p.dir);
      expect(base.code, base.stderr).toBe(0);
      await sql(fbms, "INSERT INTO events (label) VALUES ('before-outage')");
      await sql(p.cluster.adminUrl, 'SELECT pg_switch_wal()');
      await waitFor('the segment before the outage to be archived', async () => ((await status())?.backlogFiles ?? 1) === 0 && (await status())?.lastArchived != null);

      // The store goes away: every request answers 503.
      proxy.add({ fault: { kind: 'status', status: 503, code: 'ServiceUnavailable' } });
      for (let i = 0; i < 3; i += 1) {
        await sql(fbms, 'INSERT INTO events (label) VALUES ($1)', [`during-outage-${i}`]);
        await sql(p.cluster.adminUrl, 'SELECT pg_switch_wal()');
      }
      await waitFor('completed segments to wait in the backlog', async () => ((await status())?.backlogFiles ?? 0) >= 2, 60_000);
      const waiting = await status();
      expect(waiting?.lastError).toBeTruthy();
      // The slot holds the server's copy meanwhile: it has not advanced past what was uploaded.
      expect((await sql(p.cluster.adminUrl, "SELECT 1 FROM pg_replication_slots WHERE slot_name = 'bantay_outage' AND active")).length).toBe(1);
      await sleep(3000);

      // Back: the backlog drains in order, and streaming goes on.
      proxy.clear();
      await sql(fbms, "INSERT INTO events (label) VALUES ('after-outage')");
      await sql(p.cluster.adminUrl, 'SELECT pg_switch_wal()');
      await waitFor('the backlog to drain', async () => {
        const s = await status();
        return s !== undefined && s.backlogFiles === 0 && s.lastError === null;
      }, 120_000);
      await sleep(2500);
    } finally {
      await stopStreamer(streamer);
    }
    const restored = await bantay(['restore', '--latest', '--target-db', 'fbms_after_outage', '--json'], env, p.dir);
    expect(restored.code, restored.stderr).toBe(0);
    const labels = (await sql<{ label: string }>(withDatabase(fbms, 'fbms_after_outage'), 'SELECT label FROM events ORDER BY id')).map((r) => r.label);
    expect(labels).toEqual(['before-outage', 'during-outage-0', 'during-outage-1', 'during-outage-2', 'after-outage']);
  }, 400_000);
});
