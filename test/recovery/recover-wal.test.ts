import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { pushWalFile } from '../../src/jobs/wal/push-wal.ts';
import { pgBinary } from '../../src/dev/pg-binaries.ts';
import { freePort, runProgram, serverEnv, unprivilegedUser } from '../../src/dev/pg-cluster-process.ts';
import { createLocalStore } from '../../src/storage/local-store.ts';
import { makeDeps, newKey, tempDir } from '../support/job-deps.ts';
import { RECOVER_TOOL, runRecover } from '../support/recover-tool.ts';

/**
 * Point in time with the kit: a real PostgreSQL recovery whose restore_command is
 * `node bantay-recover.mjs wal-fetch %f %p` over a WAL archive written by Bantay's own
 * `wal push` (records, deflate, encryption): fetched files are byte-exact, a missing one is
 * exit 1 (the end of the archive), a damaged one 126, and the target time is honoured.
 */
const user = unprivilegedUser();
const running: Array<{ dataDir: string; env: NodeJS.ProcessEnv }> = [];
const bases: string[] = [];
const run = (program: string, args: string[], env: NodeJS.ProcessEnv, cwd: string) => runProgram(pgBinary(program as 'pg_ctl'), args, { user, cwd, env, timeoutMs: 120_000 });

afterAll(async () => {
  for (const c of running) await run('pg_ctl', ['-D', c.dataDir, '-m', 'immediate', '-w', 'stop'], c.env, '/');
  for (const b of bases) rmSync(b, { recursive: true, force: true });
});

function own(path: string): void {
  if (user) chownSync(path, user.uid, user.gid);
}

async function start(dataDir: string, port: number, env: NodeJS.ProcessEnv, base: string): Promise<void> {
  const r = await run('pg_ctl', ['-D', dataDir, '-l', join(base, `log-${port}`), '-w', '-t', '90', '-o', `-p ${port} -k ${base} -c listen_addresses=''`, 'start'], env, base);
  if (r.code !== 0) throw new Error(`pg_ctl start failed: ${r.output}`);
  running.push({ dataDir, env });
}

async function query<T extends pg.QueryResultRow>(base: string, port: number, sql: string): Promise<T[]> {
  const client = new pg.Client({ host: base, port, user: 'postgres', database: 'postgres' });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe('point-in-time recovery through the kit', () => {
  it('PostgreSQL replays encrypted WAL fetched by wal-fetch and stops at the target time', { timeout: 240_000 }, async () => {
    const base = tempDir('bantay-rk-pitr-');
    bases.push(base);
    chmodSync(base, 0o755);
    own(base);
    const env = serverEnv(base);
    const archive = join(base, 'archive');
    const primary = join(base, 'primary');
    mkdirSync(archive);
    own(archive);
    const init = await run('initdb', ['-D', primary, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8', '--locale=C'], env, base);
    expect(init.code, init.output).toBe(0);
    writeFileSync(join(primary, 'postgresql.conf'), `\nwal_level = replica\narchive_mode = on\narchive_command = 'cp %p ${archive}/%f'\nfsync = off\n`, { flag: 'a' });
    const port = await freePort();
    await start(primary, port, env, base);
    await query(base, port, 'CREATE TABLE sales (id int PRIMARY KEY, at timestamptz NOT NULL DEFAULT clock_timestamp())');
    const baseBackup = join(base, 'base');
    const bb = await run('pg_basebackup', ['-h', base, '-p', String(port), '-U', 'postgres', '-D', baseBackup, '-X', 'none', '--no-sync'], env, base);
    expect(bb.code, bb.output).toBe(0);
    await query(base, port, 'INSERT INTO sales (id) SELECT g FROM generate_series(1, 100) g');
    await query(base, port, 'SELECT pg_switch_wal()');
    const [{ target }] = (await query<{ target: string }>(base, port, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' AS target, pg_sleep(1.1)")) as [{ target: string }];
    await new Promise((r) => setTimeout(r, 1100));
    await query(base, port, 'INSERT INTO sales (id) SELECT g FROM generate_series(101, 150) g');
    await query(base, port, 'SELECT pg_switch_wal()');
    const [{ sysid }] = (await query<{ sysid: string }>(base, port, 'SELECT system_identifier::text AS sysid FROM pg_control_system()')) as [{ sysid: string }];
    await run('pg_ctl', ['-D', primary, '-m', 'fast', '-w', 'stop'], env, base);
    running.pop();

    // Bantay archives the files (as `bantay wal push %p` does from archive_command).
    const key = newKey();
    const storeDir = join(base, 'store');
    const store = createLocalStore(storeDir);
    const made = await makeDeps({ store, key });
    const files = readdirSync(archive).sort();
    expect(files.length).toBeGreaterThanOrEqual(3);
    for (const file of files) await pushWalFile(join(archive, file), made.deps, { via: 'push' });
    await made.close();
    expect(readdirSync(join(storeDir, 'wal', sysid)).filter((f) => f.endsWith('.gz.enc'))).toHaveLength(files.length);
    const kit = join(base, 'kit');
    mkdirSync(kit);
    copyFileSync(RECOVER_TOOL, join(kit, 'bantay-recover.mjs'));
    const keyFile = join(base, 'bantay.key');
    writeFileSync(keyFile, key.key.toString('base64'), { mode: 0o600 });
    own(keyFile);
    for (const dir of [storeDir, kit]) runProgramSync(['chmod', '-R', 'a+rX', dir]);

    // Byte-exact: what the kit fetches is what PostgreSQL archived.
    const segment = files.find((f) => /^[0-9A-F]{24}$/.test(f))!;
    const fetchedPath = join(base, 'fetched');
    const fetchEnv = { BANTAY_STORE: storeDir, BANTAY_ENCRYPTION_KEY_FILE: keyFile };
    const fetched = await runRecover(['wal-fetch', segment, fetchedPath], fetchEnv, kit);
    expect(fetched.code, fetched.stderr).toBe(0);
    expect(readFileSync(fetchedPath).equals(readFileSync(join(archive, segment)))).toBe(true);
    const missing = await runRecover(['wal-fetch', '0000000100000000000000FF', fetchedPath + '2'], fetchEnv, kit);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('is not in the WAL archive');
    // A damaged segment is exit 126 (PostgreSQL aborts recovery), never "not found".
    const stored = join(storeDir, 'wal', sysid, `${segment}.gz.enc`);
    const original = readFileSync(stored);
    const damaged = Buffer.from(original);
    damaged[damaged.length - 5]! ^= 1;
    writeFileSync(stored, damaged);
    const bad = await runRecover(['wal-fetch', segment, fetchedPath + '3'], fetchEnv, kit);
    writeFileSync(stored, original);
    expect(bad.code).toBe(126);
    expect(existsSync(fetchedPath + '3')).toBe(false);

    // Recover a copy of the base backup to the target time, WAL fetched through the kit.
    const restored = join(base, 'restored');
    runProgramSync(['cp', '-a', baseBackup, restored]);
    own(restored);
    writeFileSync(join(restored, 'recovery.signal'), '');
    const restoreCommand = `BANTAY_STORE=${storeDir} BANTAY_ENCRYPTION_KEY_FILE=${keyFile} ${process.execPath} ${kit}/bantay-recover.mjs wal-fetch %f %p`;
    writeFileSync(join(restored, 'postgresql.conf'), `\narchive_mode = off\nrestore_command = '${restoreCommand}'\nrecovery_target_time = '${target}'\nrecovery_target_action = 'promote'\n`, { flag: 'a' });
    const port2 = await freePort();
    await start(restored, port2, env, base);
    let inRecovery = true;
    for (let i = 0; i < 120 && inRecovery; i++) {
      inRecovery = (await query<{ r: boolean }>(base, port2, 'SELECT pg_is_in_recovery() AS r'))[0]!.r;
      if (inRecovery) await new Promise((r) => setTimeout(r, 500));
    }
    expect(inRecovery).toBe(false);
    const [{ n }] = (await query<{ n: string }>(base, port2, 'SELECT count(*)::text AS n FROM sales')) as [{ n: string }];
    expect(n).toBe('100');
    const log = readFileSync(join(base, `log-${port2}`), 'utf8');
    expect(log).toMatch(/restored log file "[0-9A-F]{24}" from archive/);
    expect(log).toMatch(/recovery stopping before commit of transaction/);
  });
});

function runProgramSync(argv: string[]): void {
  const r = spawnSync(argv[0]!, argv.slice(1), { stdio: 'pipe' });
  if (r.status !== 0) throw new Error(`${argv.join(' ')} failed: ${r.stderr}`);
}
