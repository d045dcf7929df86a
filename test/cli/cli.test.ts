import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createFbmsDatabase, dropDatabase } from '../support/databases.ts';
import { newKey, tempDir } from '../support/job-deps.ts';
import { bantay } from '../support/cli.ts';

const run = promisify(execFile);


let source: { url: string; name: string };
beforeAll(async () => {
  source = await createFbmsDatabase({ scale: 0.1 });
});
afterAll(async () => {
  await dropDatabase(source.name);
});

describe('bantay CLI', () => {
  it('--version answers with the version and loads no command (registrarsFor)', async () => {
    const { registrarsFor } = await import('../../src/cli/command-table.ts');
    const { BANTAY_VERSION } = await import('../../src/version.ts');
    expect(await registrarsFor(['--version'])).toEqual([]);
    expect((await registrarsFor(['restore', '--version'])).length).toBeGreaterThan(0);
    expect((await bantay(['--version'], {}, process.cwd())).stdout.trim()).toBe(BANTAY_VERSION);
  });

  it('npx bantay --help works from the bin entry point', async () => {
    const { stdout } = await run('node', ['bin/bantay.js', '--help']);
    expect(stdout).toMatch(/backup/);
    expect(stdout).toMatch(/export-sql/);
    expect(stdout).toMatch(/Exit codes: 0 ok, 1 failed, 2 usage/);
  });

  it('backup database --json, list, show and export-sql work end to end with an encrypted store', async () => {
    const cwd = tempDir();
    const env = { DATABASE_URL: source.url, BANTAY_ENCRYPTION_KEY: newKey().key.toString('base64') };
    const backup = await bantay(['backup', 'database', '--label', 'v1.2.3', '--json'], env, cwd);
    expect(backup.stderr).not.toContain(new URL(source.url).password);
    expect(backup.code).toBe(0);
    const lines = backup.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const result = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(result).toMatchObject({ kind: 'database', encrypted: true, label: 'v1.2.3' });
    expect(result.id).toMatch(/^db-/);
    expect(result.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect(result.sizeBytes).toBeGreaterThan(1000);
    expect(result.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(existsSync(join(cwd, 'var/backups/backups', String(result.id), 'manifest.json'))).toBe(true);

    const list = await bantay(['list', '--json'], env, cwd);
    expect((JSON.parse(list.stdout) as Array<{ id: string }>).map((b) => b.id)).toEqual([result.id]);
    const byLabel = await bantay(['list', '--label', 'other'], env, cwd);
    expect(byLabel.stdout).toMatch(/No backups/);

    const show = await bantay(['show', 'latest'], env, cwd);
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(`Backup      ${result.id}`);
    expect(show.stdout).toMatch(/public\.sales\s+\d+/);

    const out = join(cwd, 'fbms.sql');
    const exported = await bantay(['export-sql', String(result.id), '-o', out], env, cwd);
    expect(exported.code).toBe(0);
    const sql = readFileSync(out, 'utf8');
    expect(sql).toContain('CREATE TABLE public.sales');
    expect(sql).toContain('COPY public.sale_items');
    // Owners are kept by default (the script recreates the database as it was); --no-owner leaves them out.
    expect(sql).toMatch(/ALTER TABLE public\.sales OWNER TO /);
    expect(existsSync(`${out}.partial`)).toBe(false);
    const bare = join(cwd, 'bare.sql');
    expect((await bantay(['export-sql', String(result.id), '-o', bare, '--no-owner'], env, cwd)).code).toBe(0);
    expect(readFileSync(bare, 'utf8')).not.toMatch(/OWNER TO/);

    // Without the key, the encrypted backup cannot be read, and the message says which key.
    const noKey = await bantay(['export-sql', String(result.id)], { DATABASE_URL: source.url }, cwd);
    expect(noKey.code).toBe(1);
    expect(noKey.stderr).toMatch(/encrypted with key k1:[0-9a-f]{16}, which is not configured/);
  });

  it('export-sql latest picks the newest database backup, and a bad -o path is a clean failure', async () => {
    const cwd = tempDir();
    writeFileSync(join(cwd, 'app.js'), 'run()');
    const env = { DATABASE_URL: source.url, APP_DIR: cwd, BANTAY_APP_EXCLUDE: 'var' };
    expect((await bantay(['backup', 'database'], env, cwd)).code).toBe(0);
    // The newest backup of all is a files backup: "latest" still means the newest dump.
    expect((await bantay(['backup', 'application'], env, cwd)).code).toBe(0);
    const out = join(cwd, 'latest.sql');
    const latest = await bantay(['export-sql', 'latest', '-o', out], env, cwd);
    expect(latest.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toContain('CREATE TABLE public.sales');

    // A directory that does not exist: exit 1 with the reason, not a crash of the process.
    const missing = await bantay(['export-sql', 'latest', '-o', join(cwd, 'no/such/dir/x.sql')], env, cwd);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/ENOENT|no such file/i);
    // A leftover FILE.partial (someone else's run) is refused and left alone.
    writeFileSync(`${out}.partial`, 'theirs');
    const busy = await bantay(['export-sql', 'latest', '-o', out], env, cwd);
    expect(busy.code).toBe(1);
    expect(readFileSync(`${out}.partial`, 'utf8')).toBe('theirs');
  });

  it('without a key it warns loudly and list/show mark the backup unencrypted', async () => {
    const cwd = tempDir();
    const env = { DATABASE_URL: source.url };
    const backup = await bantay(['backup', 'database'], env, cwd);
    expect(backup.code).toBe(0);
    expect(backup.stderr).toMatch(/UNENCRYPTED/);
    expect(backup.stdout).toMatch(/NOT ENCRYPTED/);
    expect((await bantay(['list'], env, cwd)).stdout).toMatch(/NO \(unencrypted\)/);
    expect((await bantay(['show', 'latest'], env, cwd)).stdout).toMatch(/Encryption {2}NONE/);
  });

  it('exit code 2 for usage and configuration errors, with every problem listed', async () => {
    const cwd = tempDir();
    const unknown = await bantay(['frobnicate'], {}, cwd);
    expect(unknown.code).toBe(2);
    const config = await bantay(['list'], { BANTAY_STORE: 's3://UPPER', BANTAY_ENCRYPTION_KEY: 'nope' }, cwd);
    expect(config.code).toBe(2);
    expect(config.stderr).toMatch(/BANTAY_STORE: .*bucket/);
    expect(config.stderr).toMatch(/BANTAY_ENCRYPTION_KEY: /);
    const noDb = await bantay(['backup', 'database'], {}, cwd);
    expect(noDb.code).toBe(2);
    expect(noDb.stderr).toMatch(/DATABASE_URL: is required/);
    const badId = await bantay(['show', '../../etc/passwd'], {}, cwd);
    expect(badId.code).toBe(2);
    expect(badId.stderr).toMatch(/is not a backup id/);
    const badLabel = await bantay(['backup', 'database', '--label', 'x; rm -rf /'], { DATABASE_URL: source.url }, cwd);
    expect(badLabel.code).toBe(2);
    expect(badLabel.stderr).toMatch(/Invalid label/);
  });

  it('exit code 1 when the job fails, with a human message and no secret', async () => {
    const cwd = tempDir();
    const url = new URL(source.url);
    url.password = 'definitely-wrong-secret';
    const failed = await bantay(['backup', 'database'], { DATABASE_URL: url.toString() }, cwd);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toMatch(/password authentication failed/);
    expect(failed.stderr).not.toContain('definitely-wrong-secret');
    const missing = await bantay(['show', 'db-20200101T000000Z-0000'], {}, cwd);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/No backup db-20200101T000000Z-0000/);
  });
});
