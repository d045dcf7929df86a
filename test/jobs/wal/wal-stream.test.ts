import { execFileSync, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import pg from 'pg';
import { createFbmsSchema, seedFbmsData } from '../../../src/dev/fbms-fixture.ts';
import { withDatabase } from '../../../src/jobs/pg/connection.ts';
import { bantay } from '../../support/cli.ts';
import { sql } from '../../support/databases.ts';
import { startPitrCluster, startStreamer, stopStreamer, waitFor, type PitrCluster } from '../../support/pitr-cluster.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));


function killHard(streamer: ChildProcess): void {
  // The streamer and the pg_receivewal it started, both ours, by pid.
  const children = execFileSync('pgrep', ['-P', String(streamer.pid)], { encoding: 'utf8' }).split('\n').filter(Boolean);
  streamer.kill('SIGKILL');
  for (const pid of children) process.kill(Number(pid), 'SIGKILL');
}


describe('bantay wal stream (pg_receivewal with a slot, partial uploads)', () => {
  let p: PitrCluster;
  let fbms: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    p = await startPitrCluster({ archive: false, s3Endpoint: inject('s3Endpoint') });
    fbms = await p.cluster.createDatabase('fbms_stream');
    const client = new pg.Client({ connectionString: fbms });
    await client.connect();
    await createFbmsSchema(client);
    await seedFbmsData(client, { scale: 1, seed: 5 });
    await client.end();
    await sql(fbms, 'CREATE TABLE events (id serial PRIMARY KEY, label text NOT NULL)');
    env = { ...p.env, DATABASE_URL: fbms, BANTAY_WAL_PARTIAL_INTERVAL: '1s', BANTAY_WAL_SLOT: 'bantay_test' };
  }, 300_000);
  afterAll(async () => {
    await p?.stop();
  });

  it('creates its slot, uploads the segment in progress, survives kill -9 mid-segment, and --latest restores every committed row', async () => {
    let streamer = startStreamer(env, p.dir);
    try {
      await waitFor('the slot', async () => (await sql(p.cluster.adminUrl, "SELECT 1 FROM pg_replication_slots WHERE slot_name = 'bantay_test' AND active")).length === 1);
      const base = await bantay(['backup', 'base'], env, p.dir);
      expect(base.code, base.stderr).toBe(0);
      for (let i = 0; i < 5; i++) await sql(fbms, 'INSERT INTO events (label) VALUES ($1)', [`before-kill-${i}`]);
      await sleep(3000);
      killHard(streamer);
      // Written while nothing streams: the slot keeps it on the server.
      for (let i = 0; i < 5; i++) await sql(fbms, 'INSERT INTO events (label) VALUES ($1)', [`while-dead-${i}`]);
      streamer = startStreamer(env, p.dir);
      await sql(fbms, "INSERT INTO events (label) VALUES ('after-restart')");
      const [{ lsn } = { lsn: '' }] = await sql<{ lsn: string }>(fbms, 'SELECT pg_current_wal_lsn()::text AS lsn');
      // The archive holds the newest commit once the slot confirms it was flushed and the partial went up.
      await waitFor('the stream to pass the last commit', async () => (await sql(p.cluster.adminUrl, "SELECT 1 FROM pg_replication_slots WHERE slot_name = 'bantay_test' AND confirmed_flush_lsn IS NULL AND restart_lsn >= $1::pg_lsn", [lsn])).length === 1);
      await sleep(4000);
    } finally {
      await stopStreamer(streamer);
    }
    const restored = await bantay(['restore', '--latest', '--target-db', 'fbms_streamed', '--json'], env, p.dir);
    expect(restored.code, restored.stderr).toBe(0);
    const labels = (await sql<{ label: string }>(withDatabase(fbms, 'fbms_streamed'), 'SELECT label FROM events ORDER BY id')).map((r) => r.label);
    expect(labels).toEqual([...Array.from({ length: 5 }, (_, i) => `before-kill-${i}`), ...Array.from({ length: 5 }, (_, i) => `while-dead-${i}`), 'after-restart']);
    const status = await bantay(['wal', 'status', '--json'], env, p.dir);
    expect(status.code, status.stderr).toBe(0);
    const s = JSON.parse(status.stdout) as { lastArchived: { name: string } | null; window: object | null; slot: { walStatus: string } | null; stream: { backlogFiles: number } | null; replicationUnavailable: unknown };
    expect(s.lastArchived?.name).toMatch(/^[0-9A-F]{24}(\.partial)?$/);
    expect(s.window).not.toBeNull();
    expect(s.slot?.walStatus).toMatch(/reserved|extended/);
    expect(s.stream?.backlogFiles).toBeGreaterThanOrEqual(0);
    expect(s.replicationUnavailable).toBeNull();
    // A role without REPLICATION: said plainly, with the dump schedule's recovery point instead.
    await sql(p.cluster.adminUrl, "CREATE ROLE plain_user LOGIN PASSWORD 'plain-pass-1'");
    const plainUrl = p.replicationUrl.replace('bantay_repl:repl-secret-1', 'plain_user:plain-pass-1');
    const refused = await bantay(['wal', 'status'], { ...env, BANTAY_REPLICATION_URL: plainUrl }, p.dir);
    expect(refused.code, refused.stderr).toBe(0);
    expect(refused.stdout).toMatch(/NO POINT-IN-TIME RECOVERY: The server .* allows no replication connection for plain_user/);
    expect(refused.stdout).toMatch(/Recovery point today is the newest database dump/);
    void join;
  }, 400_000);
});
