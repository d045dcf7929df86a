import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { createDatabase, createFbmsDatabase, databaseExists, dropDatabase, sql, uniqueName } from '../support/databases.ts';
import { newKey, tempDir } from '../support/job-deps.ts';

/**
 * Issue 9 finding 2 and issue 11 finding 6 through the real CLI on a real database: an attacker
 * who can write the store but has no key plants a newer unencrypted manifest, copies an older
 * backup's artifact and fields into the newest manifest, or moves a manifest to another place;
 * a truncated manifest is damaged. list shows each (exit 1), verify/restore refuse and audit.
 */
let source: { url: string; name: string };
let stateDb: string;
let env: Record<string, string>;
let cwd: string;
let store: string;
let older: { id: string; artifactKey: string };
let newer: { id: string; artifactKey: string };

async function bantay(args: string[], extraEnv: Record<string, string> = {}) {
  let stdout = '';
  let stderr = '';
  const sink = (append: (s: string) => void) => ({ write: (s: string) => (append(s), true), isTTY: false }) as unknown as NodeJS.WriteStream;
  const code = await main(args, { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)), env: { ...env, ...extraEnv }, cwd, signal: new AbortController().signal });
  return { code, stdout, stderr };
}

const manifestPath = (id: string) => join(store, 'backups', id, 'manifest.json');
const readJson = (path: string) => JSON.parse(readFileSync(path, 'utf8')) as Record<string, any>;
const writeJson = (path: string, value: unknown) => {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, `${JSON.stringify(value, null, 2)}\n`);
};
const idAt = (offsetMs: number, suffix: string) => `db-${new Date(Date.now() + offsetMs).toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z')}-${suffix}`;

beforeAll(async () => {
  source = await createFbmsDatabase({ scale: 0.05 });
  const stateUrl = await createDatabase();
  stateDb = new URL(stateUrl).pathname.slice(1);
  cwd = tempDir();
  store = join(cwd, 'var/backups');
  env = { DATABASE_URL: source.url, BANTAY_STATE_URL: stateUrl, BANTAY_ENCRYPTION_KEY: newKey().key.toString('base64'), BANTAY_LOG_LEVEL: 'warn' };
  for (const target of ['older', 'newer'] as const) {
    const run = await bantay(['backup', 'database', '--json']);
    expect(run.code, run.stderr).toBe(0);
    const m = JSON.parse(run.stdout) as { id: string; artifactKey: string };
    if (target === 'older') older = m;
    else newer = m;
    await new Promise((r) => setTimeout(r, 1100));
  }
});
afterAll(async () => {
  for (const name of [source.name, stateDb]) await dropDatabase(name);
  await rm(cwd, { recursive: true, force: true });
});

describe('a store tampered with by someone without the key', () => {
  it('lists authenticated backups as such, and says so', async () => {
    const run = await bantay(['list']);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`${newer.id}\\s+database .* yes\\s+yes`));
    const show = await bantay(['show', newer.id]);
    expect(show.stdout).toMatch(/Authentic {3}yes \(HMAC-SHA256, key k1:[0-9a-f]{16}\); artifact bound to this backup/);
  });

  it('a forged unencrypted manifest with a later createdAt is REJECTED by list, verify latest, verify and restore', async () => {
    const forgedId = idAt(60_000, 'f0f0');
    const forged: Record<string, any> = { ...readJson(manifestPath(newer.id)), id: forgedId, createdAt: new Date(Date.now() + 60_000).toISOString() };
    delete forged.auth;
    forged.artifact = { ...forged.artifact, key: `backups/${forgedId}/database.dump`, encryption: null };
    writeJson(manifestPath(forgedId), forged);
    copyFileSync(join(store, newer.artifactKey), join(store, 'backups', forgedId, 'database.dump'));
    try {
      const list = await bantay(['list']);
      expect(list.code).toBe(1);
      expect(list.stdout).toMatch(new RegExp(`${forgedId}\\s+database\\s+-.*REJECTED`));
      expect(list.stdout).toMatch(new RegExp(`REJECTED ${forgedId}: it carries no authentication tag`));
      expect(list.stderr).toMatch(/1 backup\(s\) .* are damaged, rejected or vanished/);
      const json = await bantay(['list', '--json']);
      expect((JSON.parse(json.stdout) as Array<{ id: string; status: string }>).find((e) => e.id === forgedId)).toMatchObject({ status: 'rejected' });

      const latest = await bantay(['verify', 'latest']);
      expect(latest.code).toBe(1);
      expect(latest.stderr).toMatch(new RegExp(`The newest database backup, ${forgedId}, is REJECTED: it carries no authentication tag\\. Not taking an older backup`));
      const verify = await bantay(['verify', forgedId]);
      expect(verify.code).toBe(1);
      expect(verify.stderr).toMatch(new RegExp(`Backup ${forgedId} is REJECTED`));
      const target = uniqueName('forged');
      const restore = await bantay(['restore', forgedId, '--target-db', target]);
      expect(restore.code).toBe(1);
      expect(restore.stderr).toMatch(/REJECTED/);
      expect(await databaseExists(target)).toBe(false);
      const audit = await sql<{ operation_type: string; status: string }>(env.BANTAY_STATE_URL!, `SELECT operation_type, status FROM backup_audit WHERE backup_id = $1 ORDER BY id`, [forgedId]);
      expect(audit).toEqual([
        { operation_type: 'verify', status: 'refused' },
        { operation_type: 'verify', status: 'refused' },
        { operation_type: 'restore', status: 'refused' },
      ]);
    } finally {
      await rm(join(store, 'backups', forgedId), { recursive: true, force: true });
    }
  });

  it('an older artifact swapped in, with its manifest fields copied, is REJECTED; a manifest moved to another place is REJECTED', async () => {
    const original = readFileSync(manifestPath(newer.id));
    const originalArtifact = readFileSync(join(store, newer.artifactKey));
    const movedId = idAt(-3_600_000, 'b0b0');
    try {
      const old = readJson(manifestPath(older.id));
      const swapped = readJson(manifestPath(newer.id));
      swapped.artifact = { ...swapped.artifact, sizeBytes: old.artifact.sizeBytes, sha256: old.artifact.sha256, plainSizeBytes: old.artifact.plainSizeBytes, plainSha256: old.artifact.plainSha256 };
      swapped.tables = old.tables;
      writeJson(manifestPath(newer.id), swapped);
      copyFileSync(join(store, older.artifactKey), join(store, newer.artifactKey));
      mkdirSync(join(store, 'backups', movedId), { recursive: true });
      copyFileSync(manifestPath(older.id), manifestPath(movedId));

      const list = await bantay(['list']);
      expect(list.code).toBe(1);
      expect(list.stdout).toMatch(new RegExp(`REJECTED ${newer.id}: its authentication tag does not verify`));
      expect(list.stdout).toMatch(new RegExp(`REJECTED ${movedId}: its authentication tag does not verify`));
      const verify = await bantay(['verify', newer.id]);
      expect(verify.code).toBe(1);
      expect(verify.stderr).toMatch(new RegExp(`Backup ${newer.id} is REJECTED`));
      const show = await bantay(['show', movedId]);
      expect(show.code).toBe(1);
    } finally {
      writeFileSync(manifestPath(newer.id), original);
      writeFileSync(join(store, newer.artifactKey), originalArtifact);
      await rm(join(store, 'backups', movedId), { recursive: true, force: true });
    }
  });

  it('a truncated newest manifest is DAMAGED: list shows it (even alone), verify latest names it and is audited', async () => {
    const original = readFileSync(manifestPath(newer.id));
    try {
      writeFileSync(manifestPath(newer.id), original.subarray(0, Math.floor(original.length / 2)));
      const list = await bantay(['list']);
      expect(list.code).toBe(1);
      expect(list.stdout).toMatch(new RegExp(`${newer.id}\\s+database\\s+-.*DAMAGED`));
      expect(list.stdout).toMatch(new RegExp(`DAMAGED  ${newer.id}: it is not valid JSON`));
      expect(list.stdout).toContain(older.id);
      const latest = await bantay(['verify', 'latest']);
      expect(latest.code).toBe(1);
      expect(latest.stderr).toMatch(new RegExp(`The newest database backup, ${newer.id}, is DAMAGED`));
      expect(latest.stdout).not.toMatch(/PASSED/);

      // Only the damaged one left: never "No backups".
      const alone = tempDir();
      mkdirSync(join(alone, 'backups', newer.id), { recursive: true });
      copyFileSync(manifestPath(newer.id), join(alone, 'backups', newer.id, 'manifest.json'));
      const single = await bantay(['list'], { BANTAY_STORE: alone });
      expect(single.code).toBe(1);
      expect(single.stdout).not.toMatch(/No backups/);
      expect(single.stdout).toMatch(/DAMAGED/);
      const audit = await sql<{ status: string; details: { verdict: string } }>(env.BANTAY_STATE_URL!, `SELECT status, details FROM backup_audit WHERE backup_id = $1 AND operation_type = 'verify'`, [newer.id]);
      expect(audit.filter((a) => a.details.verdict === 'damaged')).toEqual([{ status: 'refused', details: expect.objectContaining({ verdict: 'damaged', requested: 'latest' }) }]);
    } finally {
      writeFileSync(manifestPath(newer.id), original);
    }
  });

  it('a backup deleted behind Bantay\'s back is listed as VANISHED', async () => {
    const original = readFileSync(manifestPath(newer.id));
    try {
      await rm(manifestPath(newer.id));
      const list = await bantay(['list']);
      expect(list.code).toBe(1);
      expect(list.stdout).toMatch(new RegExp(`VANISHED ${newer.id}: seen in this store`));
    } finally {
      writeFileSync(manifestPath(newer.id), original);
    }
  });

  it('without a key, list says plainly that authenticity cannot be checked', async () => {
    const run = await bantay(['list'], { BANTAY_ENCRYPTION_KEY: '' });
    expect(run.stdout).toMatch(/authenticity cannot be checked: no encryption key configured/);
    expect(run.stdout).toMatch(new RegExp(`${older.id}\\s+database .*yes\\s+cannot check`));
  });
});
