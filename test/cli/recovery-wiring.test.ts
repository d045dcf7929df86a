import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { createFbmsDatabase, dropDatabase } from '../support/databases.ts';
import { newKey, tempDir } from '../support/job-deps.ts';
import { createTestBucket, TEST_S3_CREDENTIALS } from '../support/s3-server.ts';
import { bantay } from '../support/cli.ts';


let source: { url: string; name: string };
beforeAll(async () => {
  source = await createFbmsDatabase({ scale: 0.1 });
});
afterAll(async () => {
  await dropDatabase(source.name);
});

describe('verify and restore dispatch on the backup kind', () => {
  it('verify and restore --to handle an application backup; verify latest --kind picks the newest of that kind', async () => {
    const cwd = tempDir();
    const appDir = join(cwd, 'fbms-app');
    mkdirSync(join(appDir, 'config'), { recursive: true });
    writeFileSync(join(appDir, 'server.js'), 'console.log("FBMS");\n');
    writeFileSync(join(appDir, 'config', 'settings.json'), '{"currency":"PHP","city":"Lungsod ng Quezon"}\n');
    const env = { DATABASE_URL: source.url, APP_DIR: appDir, BANTAY_ENCRYPTION_KEY: newKey().key.toString('base64') };
    const backup = await bantay(['backup', 'application', '--json'], env, cwd);
    expect(backup.code, backup.stderr).toBe(0);
    const { id } = JSON.parse(backup.stdout) as { id: string };

    const verified = await bantay(['verify', id], env, cwd);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toMatch(/PASSED|passed/);
    const latest = await bantay(['verify', 'latest', '--kind', 'application', '--json'], env, cwd);
    expect(latest.code, latest.stderr).toBe(0);

    const target = join(cwd, 'restored');
    const restored = await bantay(['restore', id, '--to', target], env, cwd);
    expect(restored.code, restored.stderr).toBe(0);
    expect(readFileSync(join(target, 'config', 'settings.json'), 'utf8')).toContain('Lungsod ng Quezon');

    const wrong = await bantay(['verify', id, '--kind', 'uploads'], env, cwd);
    expect(wrong.code).toBe(2);
    expect(wrong.stderr).toMatch(/--kind only goes with latest/);
  });
});

describe('reading from the secondary store', () => {
  it('--from secondary reads the synced copy, and with the primary down verify falls back with a warning', async () => {
    const endpoint = inject('s3Endpoint');
    const bucket = await createTestBucket(endpoint);
    const cwd = tempDir();
    const secondary = join(cwd, 'secondary');
    mkdirSync(secondary);
    const env = {
      DATABASE_URL: source.url,
      BANTAY_STORE: `s3://${bucket}/fbms`,
      S3_ENDPOINT: endpoint,
      AWS_ACCESS_KEY_ID: TEST_S3_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: TEST_S3_CREDENTIALS.secretAccessKey,
      BANTAY_SECONDARY_STORE: secondary,
      BANTAY_ENCRYPTION_KEY: newKey().key.toString('base64'),
    };
    const backup = await bantay(['backup', 'database', '--json'], env, cwd);
    expect(backup.code, backup.stderr).toBe(0);
    const { id } = JSON.parse(backup.stdout) as { id: string };
    const synced = await bantay(['sync'], env, cwd);
    expect(synced.code, synced.stderr).toBe(0);

    const fromSecondary = await bantay(['verify', id, '--from', 'secondary', '--json'], env, cwd);
    expect(fromSecondary.code, fromSecondary.stderr).toBe(0);
    expect(JSON.parse(fromSecondary.stdout)).toMatchObject({ backupId: id, passed: true });

    // The data-center outage: the primary's endpoint no longer answers.
    const down = { ...env, S3_ENDPOINT: 'http://127.0.0.1:1' };
    const fallback = await bantay(['verify', 'latest', '--json'], down, cwd);
    expect(fallback.code, fallback.stderr).toBe(0);
    expect(fallback.stderr).toMatch(/primary store .* is unreachable .*reading from the secondary/);
    expect(JSON.parse(fallback.stdout)).toMatchObject({ backupId: id, passed: true });

    const onlyPrimary = await bantay(['verify', 'latest', '--from', 'primary'], down, cwd);
    expect(onlyPrimary.code).toBe(1);
    const bad = await bantay(['verify', 'latest', '--from', 'elsewhere'], env, cwd);
    expect(bad.code).toBe(2);
  }, 120_000);
});
