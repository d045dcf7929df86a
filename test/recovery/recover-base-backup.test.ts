import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { unprivilegedUser } from '../../src/dev/pg-cluster-process.ts';
import { bantay } from '../support/cli.ts';
import { sql } from '../support/databases.ts';
import { startPitrCluster, startServerOn, switchAndWait, type PitrCluster } from '../support/pitr-cluster.ts';
import { newKey } from '../support/job-deps.ts';
import { installTool, runRecover } from '../support/recover-tool.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Issue 15: the kit alone recovers a point in time from what Bantay stored: the encrypted base
 * backup (decrypt-object, then tar, exactly as RECOVERY.md says) and the encrypted WAL archive
 * (wal-fetch as restore_command), with no Bantay install, configuration or state involved.
 */
describe('point in time with the recovery kit alone, from a Bantay base backup', () => {
  let p: PitrCluster;
  let fbms: string;
  let target: string;
  let baseId: string;
  beforeAll(async () => {
    // S3: the archiver (the server's user) and Bantay (root, in tests) share it without sharing file permissions.
    p = await startPitrCluster({ s3Endpoint: inject('s3Endpoint') });
    fbms = await p.cluster.createDatabase('fbms_kit_pitr');
    await sql(fbms, 'CREATE TABLE events (id serial PRIMARY KEY, label text NOT NULL)');
    await sql(fbms, "INSERT INTO events (label) VALUES ('seed')");
    const base = await bantay(['backup', 'base', '--json'], p.env, p.dir);
    expect(base.code, base.stderr).toBe(0);
    baseId = (JSON.parse(base.stdout) as { id: string }).id;
    await sql(fbms, "INSERT INTO events (label) VALUES ('before')");
    await switchAndWait(p.cluster.adminUrl);
    await sleep(1200);
    target = new Date().toISOString().replace('T', ' ').replace('Z', '+00');
    await sleep(1200);
    await sql(fbms, "INSERT INTO events (label) VALUES ('after')");
    await switchAndWait(p.cluster.adminUrl);
  }, 300_000);
  afterAll(async () => {
    await p?.stop();
  });

  it('decrypt-object | tar rebuilds the data directory, wal-fetch feeds the replay, and it stops at the time', async () => {
    const kit = installTool();
    chmodSync(kit, 0o755);
    // Only what the kit reads: where the store is, its credentials, the key.
    const storeVars = ['BANTAY_STORE', 'S3_ENDPOINT', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'].filter((k) => p.env[k] !== undefined).map((k) => [k, p.env[k]!] as const);
    const env = { ...Object.fromEntries(storeVars), BANTAY_ENCRYPTION_KEY_FILE: p.keyFile };
    // The id comes from the kit, as on a machine without Bantay.
    const listed = await runRecover(['list-base', '--json'], env, kit);
    expect(listed.code, listed.stderr).toBe(0);
    const bases = JSON.parse(listed.stdout.toString()) as Array<{ id: string; status: string; artifact: string }>;
    expect(bases).toEqual([expect.objectContaining({ id: baseId, status: 'authenticated', artifact: `base/${baseId}/base.tar.zst.enc` })]);
    const table = await runRecover(['list-base'], env, kit);
    expect(table.stdout.toString()).toMatch(new RegExp(`^${baseId}\\s+\\d{4}-\\d\\d-\\d\\dT.*authenticated$`, 'm'));
    // Under another key the record does not authenticate, and says so.
    const otherKey = join(p.dir, 'other.key');
    writeFileSync(otherKey, newKey().key.toString('base64'), { mode: 0o600 });
    const foreign = JSON.parse((await runRecover(['list-base', '--json'], { ...env, BANTAY_ENCRYPTION_KEY_FILE: otherKey }, kit)).stdout.toString()) as Array<{ status: string; reason: string }>;
    expect(foreign).toEqual([expect.objectContaining({ status: 'rejected', reason: expect.stringContaining('not configured') })]);
    const dataDir = join(p.dir, 'kit-restored');
    mkdirSync(dataDir, { mode: 0o700 });
    const user = unprivilegedUser();
    // The documented command: node bantay-recover.mjs decrypt-object base/<id>/base.tar.zst.enc | zstd -dc | tar -xf - -C DATADIR
    const decrypt = spawn(process.execPath, [join(kit, 'bantay-recover.mjs'), 'decrypt-object', `base/${baseId}/base.tar.zst.enc`], { cwd: kit, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    decrypt.stderr.on('data', (b: Buffer) => (stderr += b.toString()));
    const zstd = spawn('zstd', ['-dc'], { stdio: ['pipe', 'pipe', 'inherit'] });
    const tar = spawn('tar', ['-xf', '-', '-C', dataDir], { stdio: ['pipe', 'ignore', 'pipe'] });
    // Listen before piping: a process that closes before the listener is added would never be seen.
    const closed = Promise.all([decrypt, zstd, tar].map((child) => new Promise((r) => child.once('close', r))));
    await Promise.all([pipeline(decrypt.stdout, zstd.stdin), pipeline(zstd.stdout, tar.stdin)]);
    const [decryptCode, zstdCode, tarCode] = await closed;
    expect(decryptCode, stderr).toBe(0);
    expect(stderr).toContain('decrypted and authenticated');
    expect([zstdCode, tarCode]).toEqual([0, 0]);
    if (user) spawnSync('chown', ['-R', `${user.uid}:${user.gid}`, dataDir]);
    writeFileSync(join(dataDir, 'recovery.signal'), '');
    const restoreCommand = `${storeVars.map(([k, v]) => `${k}=${v}`).join(' ')} BANTAY_ENCRYPTION_KEY_FILE=${p.keyFile} ${process.execPath} ${kit}/bantay-recover.mjs wal-fetch %f %p`;
    writeFileSync(join(dataDir, 'postgresql.conf'), `\narchive_mode = off\nrestore_command = '${restoreCommand}'\nrecovery_target_time = '${target}'\nrecovery_target_action = 'promote'\n`, { flag: 'a' });
    if (user) chownSync(join(dataDir, 'recovery.signal'), user.uid, user.gid);
    const server = await startServerOn(dataDir);
    try {
      const url = server.url('fbms_kit_pitr', p.cluster.adminUrl);
      let inRecovery = true;
      for (let i = 0; i < 240 && inRecovery; i += 1) {
        inRecovery = (await sql<{ r: boolean }>(url, 'SELECT pg_is_in_recovery() AS r').catch(() => [{ r: true }]))[0]!.r;
        if (inRecovery) await sleep(250);
      }
      expect(inRecovery).toBe(false);
      expect((await sql<{ label: string }>(url, 'SELECT label FROM events ORDER BY id')).map((r) => r.label)).toEqual(['seed', 'before']);
    } finally {
      await server.stop();
    }
  }, 300_000);
});
