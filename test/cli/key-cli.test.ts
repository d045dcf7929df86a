import { statSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseKey, type EncryptionKey } from '../../src/crypto/keys.ts';
import { runDatabaseBackup } from '../../src/jobs/backup-database.ts';
import { createLocalStore } from '../../src/storage/local-store.ts';
import { bantay } from '../support/cli.ts';
import { createFbmsDatabase, dropDatabase } from '../support/databases.ts';
import { cliTrigger, makeDeps, tempDir } from '../support/job-deps.ts';

/**
 * Key custody end to end with real encrypted backups under two keys: generate, rotate (new key
 * primary, old one retired), check which key reads which backup, alert when a backup has no
 * configured key, and say when the old key can go (after retention expired its backups).
 */
let source: { url: string; name: string };
beforeAll(async () => {
  source = await createFbmsDatabase({ scale: 0.1 });
});
afterAll(() => dropDatabase(source.name));

const DAY = 86_400_000;

async function generate(cwd: string): Promise<EncryptionKey> {
  const r = await bantay(['key', 'generate', '--json'], {}, cwd);
  expect(r.code, r.stderr).toBe(0);
  const { key, keyId } = JSON.parse(r.stdout) as { key: string; keyId: string };
  const parsed = parseKey(key);
  expect(parsed.id).toBe(keyId);
  return parsed;
}

describe('bantay key', () => {
  it('generate prints a new 32-byte key and its fingerprint, or writes it to a new 0600 file', async () => {
    const cwd = tempDir();
    const r = await bantay(['key', 'generate'], {}, cwd);
    expect(r.code).toBe(0);
    const [, key] = /^key +(\S+)$/m.exec(r.stdout)!;
    const [, id] = /^fingerprint +(k1:[0-9a-f]{16})$/m.exec(r.stdout)!;
    expect(parseKey(key!).id).toBe(id);
    expect(r.stderr).toMatch(/outside the backup bucket/);
    const again = await generate(cwd);
    expect(again.key.toString('base64')).not.toBe(key);

    const file = await bantay(['key', 'generate', '--out', 'bantay.key'], {}, cwd);
    expect(file.code, file.stderr).toBe(0);
    const written = readFileSync(join(cwd, 'bantay.key'), 'utf8');
    expect(file.stdout).toContain(`fingerprint  ${parseKey(written).id}`);
    expect(file.stdout + file.stderr).not.toContain(written.trim());
    expect(statSync(join(cwd, 'bantay.key')).mode & 0o777).toBe(0o600);
    const refused = await bantay(['key', 'generate', '--out', 'bantay.key'], {}, cwd);
    expect(refused.code).toBe(2);
    expect(readFileSync(join(cwd, 'bantay.key'), 'utf8')).toBe(written);
  });

  it('rotation: old backups need the retired key until retention removed them, then it can be retired', { timeout: 300_000 }, async () => {
    const cwd = tempDir();
    const oldKey = await generate(cwd);
    const newKey = await generate(cwd);
    const storeDir = join(cwd, 'store');
    const store = createLocalStore(storeDir);
    // Two backups under the old key, 400 days ago (past every default retention rule), one now
    // under the new key: the state after rotating keys a year ago.
    const old = await makeDeps({ store, key: oldKey });
    const at = (daysAgo: number) => () => new Date(Date.now() - daysAgo * DAY);
    const before1 = await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, { ...old.deps, now: at(401) });
    const before2 = await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, { ...old.deps, now: at(400) });
    await old.close();
    const current = await makeDeps({ store, key: newKey });
    const after = await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, current.deps);
    await current.close();

    const b64 = (k: EncryptionKey) => k.key.toString('base64');
    const rotated = { BANTAY_STORE: storeDir, BANTAY_ENCRYPTION_KEY: b64(newKey), BANTAY_DECRYPTION_KEYS: b64(oldKey) };
    const check = await bantay(['key', 'check', '--json'], rotated, cwd);
    expect(check.code, check.stderr).toBe(0);
    const report = JSON.parse(check.stdout) as { keys: Array<{ keyId: string; role: string; backups: number; kept: number; canRetire: boolean; verdict: string }>; unreadable: unknown[] };
    expect(report.unreadable).toEqual([]);
    expect(report.keys).toEqual([
      expect.objectContaining({ keyId: newKey.id, role: 'primary', backups: 1, kept: 1, canRetire: false }),
      expect.objectContaining({ keyId: oldKey.id, role: 'retired', backups: 2, kept: 0, canRetire: false, verdict: expect.stringMatching(/after the next prune/) }),
    ]);

    // Dropping the old key too early: the old backups are an alert, and key check fails.
    const tooEarly = await bantay(['key', 'check'], { BANTAY_STORE: storeDir, BANTAY_ENCRYPTION_KEY: b64(newKey) }, cwd);
    expect(tooEarly.code).toBe(1);
    expect(tooEarly.stdout).toContain('ALERT: 2 backup(s) cannot be decrypted with the configured keys');
    expect(tooEarly.stdout).toContain(before1.id);
    expect(tooEarly.stderr).toContain(`add the key with fingerprint ${oldKey.id} to BANTAY_DECRYPTION_KEYS`);

    // Retention expires the old backups; then Bantay says the old key can be retired.
    const prune = await bantay(['prune'], rotated, cwd);
    expect(prune.code, prune.stderr + prune.stdout).toBe(0);
    expect(prune.stdout).toContain(before2.id);
    const done = await bantay(['key', 'check'], rotated, cwd);
    expect(done.code, done.stderr).toBe(0);
    expect(done.stdout).toMatch(new RegExp(`${oldKey.id} +retired +0 +0 +- +can be retired: no backup in the store uses it`));
    expect(done.stdout).toContain(`Remove from BANTAY_DECRYPTION_KEYS (no retained backup needs them): ${oldKey.id}`);
    expect(done.stdout).toContain(after.id);
  });

  it('monitoring alerts when the newest backup of a kind cannot be decrypted with the configured keys', { timeout: 300_000 }, async () => {
    const cwd = tempDir();
    const keyA = await generate(cwd);
    const keyB = await generate(cwd);
    const storeDir = join(cwd, 'store');
    const made = await makeDeps({ store: createLocalStore(storeDir), key: keyB });
    const newest = await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, made.deps);
    await made.close();
    const quiet = { BANTAY_SCHEDULE_DATABASE: 'off', BANTAY_SCHEDULE_APPLICATION: 'off', BANTAY_SCHEDULE_UPLOADS: 'off', BANTAY_SCHEDULE_FULL: 'off' };
    const wrong = await bantay(['monitor', '--json'], { BANTAY_STORE: storeDir, BANTAY_ENCRYPTION_KEY: keyA.key.toString('base64'), ...quiet }, cwd);
    const problems = JSON.parse(wrong.stdout) as Array<{ key: string; text: string }>;
    expect(problems.find((p) => p.key === 'key-missing:database')?.text).toContain(`${newest.id} is encrypted with key ${keyB.id}`);
    const right = await bantay(['monitor', '--json'], { BANTAY_STORE: storeDir, BANTAY_ENCRYPTION_KEY: keyA.key.toString('base64'), BANTAY_DECRYPTION_KEYS: keyB.key.toString('base64'), ...quiet }, cwd);
    expect((JSON.parse(right.stdout) as Array<{ key: string }>).map((p) => p.key)).not.toContain('key-missing:database');
  });
});
