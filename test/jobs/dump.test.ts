import { execFile } from 'node:child_process';
import { closeSync, createWriteStream, mkdirSync, openSync, readdirSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config/load-config.ts';
import { runDatabaseBackup } from '../../src/jobs/backup-database.ts';
import { DEFAULT_DUMP_SETTINGS, parseDumpCompression, type DumpSettings } from '../../src/jobs/dump/dump-settings.ts';
import { DIRECTORY_TAR_FORMAT, openFilesOf } from '../../src/jobs/dump/parallel-dump.ts';
import { exportSql } from '../../src/jobs/export-sql.ts';
import { pgBinary } from '../../src/dev/pg-binaries.ts';
import { openArtifact } from '../../src/jobs/read-artifact.ts';
import { restoreToNewDatabase } from '../../src/jobs/restore-database.ts';
import { checksumsOf, createDatabase, createFbmsDatabase, dropDatabase, uniqueName } from '../support/databases.ts';
import { cliTrigger, makeDeps, tempDir } from '../support/job-deps.ts';
import { recoveryOptions } from '../support/recovery.ts';
import { Writable } from 'node:stream';

const run = promisify(execFile);
let source: { url: string; name: string };
let sourceChecksums: Awaited<ReturnType<typeof checksumsOf>>;
const created: string[] = [];

beforeAll(async () => {
  source = await createFbmsDatabase({ scale: 0.2 });
  sourceChecksums = await checksumsOf(source.url);
});
afterAll(async () => {
  for (const name of [source.name, ...created]) await dropDatabase(name);
});

async function pgRestoreList(file: string): Promise<string> {
  return (await run(await pgBinary('pg_restore'), ['--list', file])).stdout;
}

async function plaintextOf(manifest: Parameters<typeof openArtifact>[0], deps: Parameters<typeof openArtifact>[1], file: string): Promise<void> {
  await pipeline(await openArtifact(manifest, deps), createWriteStream(file, { mode: 0o600 }));
}

describe('dump compression (BANTAY_DUMP_COMPRESSION)', () => {
  it('parses levels and methods, and names the variable for a bad value', () => {
    expect(parseDumpCompression(undefined)).toEqual({ method: 'gzip', level: 1 });
    expect(parseDumpCompression('0')).toEqual({ method: 'none' });
    expect(parseDumpCompression('6')).toEqual({ method: 'gzip', level: 6 });
    expect(parseDumpCompression('zstd:3')).toEqual({ method: 'zstd', level: 3 });
    expect(parseDumpCompression('lz4')).toEqual({ method: 'lz4', level: undefined });
    let details: string[] = [];
    try {
      loadConfig({ env: { BANTAY_DUMP_COMPRESSION: 'brotli', BANTAY_DUMP_JOBS: '0' }, cwd: tempDir() });
    } catch (err) {
      details = (err as { details: string[] }).details;
    }
    expect(details.map((d) => d.split(':')[0]).sort()).toEqual(['BANTAY_DUMP_COMPRESSION', 'BANTAY_DUMP_JOBS']);
    expect(details.join('\n')).not.toContain('brotli');
  });

  it('the default dump is gzip level 1, and the level set is the level pg_dump used', async () => {
    for (const [setting, expected] of [[undefined, 1], ['9', 9]] as const) {
      const env = await makeDeps();
      const dump: DumpSettings = { ...DEFAULT_DUMP_SETTINGS, compression: parseDumpCompression(setting) as DumpSettings['compression'] };
      const manifest = await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, { ...env.deps, dump });
      expect(manifest.artifact.format).toBe('pg_dump-custom');
      const file = join(env.dir, 'plain.dump');
      await plaintextOf(manifest, env.deps, file);
      expect(await pgRestoreList(file)).toMatch(new RegExp(`Compression: (gzip, level )?${expected}\\b`));
      await env.close();
    }
  });

  it('lz4/zstd with a pg_dump older than 16 fails the backup naming the variable to change', async () => {
    const env = await makeDeps();
    const dump: DumpSettings = { ...DEFAULT_DUMP_SETTINGS, compression: { method: 'zstd', level: undefined } };
    const major = Number(/(\d+)/.exec((await run(await pgBinary('pg_dump'), ['--version'])).stdout)![1]);
    const backup = runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, { ...env.deps, dump });
    if (major < 16) await expect(backup).rejects.toThrow(/BANTAY_DUMP_COMPRESSION=zstd needs pg_dump 16/);
    else expect((await backup).artifact.format).toBe('pg_dump-custom');
    await env.close();
  });
});

describe('parallel dump (BANTAY_DUMP_JOBS)', () => {
  it('dumps with pg_dump -Fd -j 2 into one tar artifact that Bantay restores with pg_restore -j, leaving no plaintext behind', async () => {
    const env = await makeDeps();
    const tmp = join(env.dir, 'var', 'tmp');
    const dump: DumpSettings = { ...DEFAULT_DUMP_SETTINGS, jobs: 2, parallelMinBytes: 0, tmpDir: tmp };
    const manifest = await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, { ...env.deps, dump });
    expect(manifest.artifact.format).toBe(DIRECTORY_TAR_FORMAT);
    expect(manifest.artifact.encryption).not.toBeNull();
    expect(readdirSync(tmp)).toEqual([]);
    const name = uniqueName('par');
    created.push(name);
    const result = await restoreToNewDatabase(
      { backup: manifest.id, target: name, replace: false, ...recoveryOptions(source.url, 2), tmpDir: tmp, trigger: cliTrigger },
      { ...env.deps, dump },
    );
    expect(result.checks.every((c) => c.status !== 'failed')).toBe(true);
    expect(await checksumsOf(source.url.replace(/\/[^/]+$/, `/${name}`))).toEqual(sourceChecksums);
    expect(readdirSync(tmp)).toEqual([]);

    // SQL export reads it too.
    let sqlText = '';
    await exportSql({ id: manifest.id, output: new Writable({ write: (c, _e, cb) => void ((sqlText += String(c)), cb()) }), trigger: cliTrigger }, { ...env.deps, dump });
    expect(sqlText).toMatch(/CREATE TABLE/);
    await env.close();
  });

  it('is restorable with plain tools after decryption: tar -xf, then pg_restore -j 2 -d', async () => {
    const env = await makeDeps();
    const dump: DumpSettings = { ...DEFAULT_DUMP_SETTINGS, jobs: 2, parallelMinBytes: 0, tmpDir: join(env.dir, 'tmp') };
    const manifest = await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, { ...env.deps, dump });
    const tarFile = join(env.dir, 'dump.tar');
    await plaintextOf(manifest, env.deps, tarFile);
    const dir = join(env.dir, 'dumpdir');
    mkdirSync(dir);
    await run('tar', ['-xf', tarFile, '-C', dir]);
    expect(readdirSync(dir)).toContain('toc.dat');
    const url = await createDatabase();
    created.push(new URL(url).pathname.slice(1));
    await run(await pgBinary('pg_restore'), ['--jobs=2', '--no-owner', `--dbname=${url}`, dir]);
    expect(await checksumsOf(url)).toEqual(sourceChecksums);
    await env.close();
    await rm(env.dir, { recursive: true, force: true });
  });

  it('a database below BANTAY_DUMP_PARALLEL_MIN_MB is dumped by one process (custom format)', async () => {
    const env = await makeDeps();
    const dump: DumpSettings = { ...DEFAULT_DUMP_SETTINGS, jobs: 2, parallelMinBytes: 1024 ** 4, tmpDir: join(env.dir, 'tmp') };
    expect((await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, { ...env.deps, dump })).artifact.format).toBe('pg_dump-custom');
    await env.close();
  });

  it('tells finished files from files a process still holds open (/proc)', () => {
    const dir = tempDir();
    const fd = openSync(join(dir, 'open.dat'), 'w');
    try {
      const open = openFilesOf(process.pid);
      expect(open).toBeDefined();
      expect([...open!].some((p) => p.endsWith('/open.dat'))).toBe(true);
    } finally {
      closeSync(fd);
    }
    expect([...openFilesOf(process.pid)!].some((p) => p.endsWith('/open.dat'))).toBe(false);
  });
});
