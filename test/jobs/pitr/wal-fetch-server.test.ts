import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KeyRing } from '../../../src/crypto/keys.ts';
import { startPgCluster, type PgCluster } from '../../../src/dev/pg-cluster.ts';
import { FETCH_CLIENT, startWalFetchServer } from '../../../src/jobs/pitr/wal-fetch-server.ts';
import { requireIdentity } from '../../../src/jobs/wal/archive-identity.ts';
import { pushWalFile } from '../../../src/jobs/wal/push-wal.ts';
import { segmentName, segmentNumber, timelineOf } from '../../../src/jobs/wal/wal-names.ts';
import { createLocalStore } from '../../../src/storage/local-store.ts';
import { sql } from '../../support/databases.ts';
import { newKey, tempDir } from '../../support/job-deps.ts';

/** Writes some WAL and switches: the returned segment is complete in pg_wal. */
async function nextSegment(cluster: PgCluster): Promise<{ name: string; path: string }> {
  await sql(cluster.adminUrl, 'CREATE TABLE IF NOT EXISTS t (id serial, v text)');
  await sql(cluster.adminUrl, 'INSERT INTO t (v) SELECT md5(g::text) FROM generate_series(1, 2000) g');
  const [row] = await sql<{ name: string }>(cluster.adminUrl, 'SELECT pg_walfile_name(pg_current_wal_lsn()) AS name');
  await sql(cluster.adminUrl, 'SELECT pg_switch_wal()');
  return { name: row!.name, path: join(cluster.dataDir!, 'pg_wal', row!.name) };
}

const sha = async (path: string) => createHash('sha256').update(await readFile(path)).digest('hex');

/** restore_command as the recovery server runs it (asynchronously: the server answers in this process). */
function fetch(socket: string, name: string, destination: string): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [FETCH_CLIENT, socket, name, destination], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 30_000 });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (t: string) => (stderr += t));
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

async function until(check: () => boolean, why: () => string, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${why()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('the recovery server\'s WAL source fetches ahead without changing any answer', () => {
  let cluster: PgCluster;
  let dir: string;
  beforeAll(async () => {
    cluster = await startPgCluster();
    dir = tempDir('bantay-wal-ahead-');
  });
  afterAll(async () => {
    await cluster?.stop();
  });

  it('serves the next segments from files made ready while the current one replays; a failed fetch ahead is retried fresh and reports what it finds', async () => {
    const storeDir = join(dir, 'store');
    const deps = { store: createLocalStore(storeDir), keyRing: new KeyRing(newKey(), []) };
    // Four consecutive segments: what recovery asks for, in order. (A switch by anything else
    // on the cluster between naming and switching skips a name; start the run again then.)
    let segments: Array<{ name: string; path: string }> = [];
    const named: string[] = [];
    for (let i = 0; i < 16 && segments.length < 4; i += 1) {
      const segment = await nextSegment(cluster);
      named.push(segment.name);
      await pushWalFile(segment.path, deps, { via: 'push' });
      const last = segments.at(-1);
      const follows = last !== undefined && segment.name === segmentName(timelineOf(last.name), segmentNumber(last.name) + 1n);
      segments = follows ? [...segments, segment] : [segment];
    }
    expect(segments, `four consecutive segments (named in turn: ${named.join(' ')})`).toHaveLength(4);
    const identity = await requireIdentity(deps.store, deps);
    const objectOf = (name: string) => join(storeDir, 'wal', identity.systemIdentifier, `${name}.gz.enc`);
    const aheadDir = join(dir, 'ahead');
    const aheadErrors: string[] = [];
    const server = await startWalFetchServer(join(dir, 'fetch.sock'), deps, identity, { prefetchDir: aheadDir, prefetch: 2, onAheadError: (name, err) => aheadErrors.push(`${name}: ${String(err)}`) });
    const state = () => `segments ${segments.map((x) => x.name).join(',')}; in ${aheadDir}: ${readdirSync(aheadDir).join(',') || 'nothing'}; fetch-ahead errors: ${aheadErrors.join('; ') || 'none'}`;
    try {
      const [s0, s1, s2, s3] = segments as [typeof segments[0], typeof segments[0], typeof segments[0], typeof segments[0]];
      // Damage the stored object of s3 before anything fetches it: the fetch ahead fails.
      const good = await readFile(objectOf(s3.name));
      const bad = Buffer.from(good);
      bad[bad.length - 40] = bad[bad.length - 40]! ^ 1;
      await writeFile(objectOf(s3.name), bad);

      expect((await fetch(server.socketPath, s0.name, join(dir, 'out0'))).code).toBe(0);
      expect(await sha(join(dir, 'out0'))).toBe(await sha(s0.path));
      // s1 and s2 were fetched ahead (s3 only once s1 is asked for).
      await until(() => existsSync(join(aheadDir, s1.name)) && existsSync(join(aheadDir, s2.name)), state);
      expect((await fetch(server.socketPath, s1.name, join(dir, 'out1'))).code).toBe(0);
      expect(await sha(join(dir, 'out1'))).toBe(await sha(s1.path));
      expect((await fetch(server.socketPath, s2.name, join(dir, 'out2'))).code).toBe(0);
      expect(await sha(join(dir, 'out2'))).toBe(await sha(s2.path));
      expect(server.prefetched).toEqual([s1.name, s2.name]);
      // Served files do not stay on disk.
      await until(() => !existsSync(join(aheadDir, s1.name)) && !existsSync(join(aheadDir, s2.name)), state);

      // s3's fetch ahead found damage: asking for it reads it again and says so (126, never the bytes).
      const damaged = await fetch(server.socketPath, s3.name, join(dir, 'out3'));
      expect(damaged.code).toBe(126);
      expect(existsSync(join(dir, 'out3'))).toBe(false);
      // Repaired: the next request is served from the store, whatever was tried ahead before.
      await writeFile(objectOf(s3.name), good);
      expect((await fetch(server.socketPath, s3.name, join(dir, 'out3'))).code).toBe(0);
      expect(await sha(join(dir, 'out3'))).toBe(await sha(s3.path));
      expect(server.prefetched).toEqual([s1.name, s2.name]);
      expect(server.served).toEqual(segments.map((s) => s.name));

      // Not archived yet when it was tried ahead, archived since: served.
      const s4 = await nextSegment(cluster);
      await pushWalFile(s4.path, deps, { via: 'push' });
      expect((await fetch(server.socketPath, s4.name, join(dir, 'out4'))).code).toBe(0);
      expect(await sha(join(dir, 'out4'))).toBe(await sha(s4.path));
      // Beyond the archive: not found (exit 1), as without fetching ahead.
      const next = segmentName(timelineOf(s4.name), segmentNumber(s4.name) + 1n);
      expect((await fetch(server.socketPath, next, join(dir, 'out5'))).code).toBe(1);
    } finally {
      await server.close();
    }
    expect(existsSync(aheadDir)).toBe(false);
  }, 180_000);
});
