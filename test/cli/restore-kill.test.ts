import { rm } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.ts';
import { adminUrl, checksumsOf, createDatabase, createFbmsDatabase, dropDatabase, dropDatabasesLike, sql } from '../support/databases.ts';
import { newKey, tempDir } from '../support/job-deps.ts';
import { scratchDatabasesOf } from '../support/recovery.ts';

/**
 * The in-place restore's promise, tested the hard way: the CLI runs as a child process and is
 * SIGKILLed at several points. Whatever the point, the live name must afterwards hold a complete
 * database (the old content or the backup's), and `bantay restore --cleanup` must leave no
 * temporary database behind and the live database open.
 */
const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let live: { url: string; name: string };
let stateDb: string;
let env: Record<string, string>;
let backupId: string;
let backupChecksums: Awaited<ReturnType<typeof checksumsOf>>;
let dir: string;

beforeAll(async () => {
  live = await createFbmsDatabase({ scale: 0.2 });
  const stateUrl = await createDatabase();
  stateDb = new URL(stateUrl).pathname.slice(1);
  dir = tempDir();
  env = {
    PATH: process.env.PATH ?? '',
    DATABASE_URL: live.url,
    BANTAY_STORE: join(dir, 'store'),
    BANTAY_DATA_DIR: join(dir, 'var'),
    // A state database on the cluster: several processes in a row, no embedded-database lock.
    BANTAY_STATE_URL: stateUrl,
    BANTAY_ENCRYPTION_KEY: newKey().key.toString('base64'),
    BANTAY_LOG_FORMAT: 'json',
    BANTAY_APP_STOP_CMD: 'sleep 0.3',
    BANTAY_APP_START_CMD: 'sleep 0.3',
  };
  const backup = await cli(['backup', 'database', '--json']);
  expect(backup.code).toBe(0);
  backupId = (JSON.parse(backup.stdout) as { id: string }).id;
  backupChecksums = await checksumsOf(live.url);
});
afterAll(async () => {
  await dropDatabasesLike(`${live.name}%`);
  await dropDatabase(stateDb);
  await rm(dir, { recursive: true, force: true });
});

async function cli(args: string[]) {
  let stdout = '';
  let stderr = '';
  const sink = (append: (s: string) => void) => ({ write: (s: string) => (append(s), true), isTTY: false }) as unknown as NodeJS.WriteStream;
  const code = await main(args, { stdout: sink((s) => (stdout += s)), stderr: sink((s) => (stderr += s)), env, cwd: ROOT, signal: new AbortController().signal });
  return { code, stdout, stderr };
}

/** Runs `bantay restore ID --in-place --yes` in a child process; SIGKILLs it when a log line matches. */
function restoreKilledAt(phase: RegExp | undefined, stdin?: string) {
  return runKilledAt(stdin === undefined ? ['restore', backupId, '--in-place', '--yes'] : ['restore', backupId, '--in-place'], phase, 'SIGKILL', stdin);
}

/** Runs the CLI in a child process and sends `signal` when a log line matches `phase`. */
function runKilledAt(args: string[], phase: RegExp | undefined, signal: NodeJS.Signals, stdin?: string): Promise<{ killed: boolean; code: number | null; stderr: string; stdout: string }> {
  const child = spawn(process.execPath, ['bin/bantay.js', ...args], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  let killed = false;
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => {
    stderr += b.toString();
    if (phase && !killed && phase.test(stderr)) {
      killed = true;
      child.kill(signal);
    }
  });
  child.stdin.end(stdin ?? '');
  return new Promise((resolve) => child.once('exit', (code) => resolve({ killed, code, stderr, stdout })));
}

/** Makes the live data differ from the backup; returns its checksums. */
async function diverge(): Promise<Awaited<ReturnType<typeof checksumsOf>>> {
  await sql(live.url, 'DELETE FROM public.sale_items WHERE id IN (SELECT id FROM public.sale_items ORDER BY id LIMIT 7)');
  return checksumsOf(live.url);
}

async function dropKeptDatabases(): Promise<void> {
  await dropDatabasesLike(`${live.name}_pre_restore_%`);
}

describe('in-place restore under SIGKILL', () => {
  /** What the cluster looks like at the kill, before cleanup: proves each point hit the state it names. */
  type State = { scratch: boolean; closed: boolean; swapped: boolean };
  const points: Array<[string, RegExp, (s: State) => boolean]> = [
    ['during the safety backup', /"msg":"dumping/, (s) => !s.swapped && !s.closed],
    ['while restoring the copy', /"msg":"restoring/, (s) => s.scratch && !s.closed && !s.swapped],
    ['while the stop hook runs', /"msg":"stop-app/, (s) => s.scratch && !s.closed && !s.swapped],
    // The swap is one transaction: it either had not committed (copy still there, live closed) or had.
    ['after closing the live database', /"msg":"swap/, (s) => (s.scratch && s.closed && !s.swapped) || (!s.scratch && !s.closed && s.swapped)],
    ['right after the swap', /"msg":"start-app/, (s) => !s.scratch && !s.closed && s.swapped],
  ];
  for (const [when, phase, expected] of points) {
    it(`leaves a complete database under the live name when killed ${when}`, async () => {
      const old = await diverge();
      const run = await restoreKilledAt(phase);
      expect(run.killed, run.stderr).toBe(true);
      const [row] = await sql<{ datallowconn: boolean }>(adminUrl(), 'SELECT datallowconn FROM pg_database WHERE datname = $1', [live.name]);
      expect(row).toBeDefined();
      const kept = await sql(adminUrl(), 'SELECT 1 FROM pg_database WHERE datname LIKE $1', [`${live.name}_pre_restore_%`]);
      const state = { scratch: (await scratchDatabasesOf(backupId)).length > 0, closed: !row!.datallowconn, swapped: kept.length > 0 };
      expect(expected(state), JSON.stringify(state)).toBe(true);

      const cleanup = await cli(['restore', '--cleanup']);
      expect(cleanup.code, cleanup.stderr).toBe(0);
      if (state.closed) expect(cleanup.stdout).toContain(`Reopened ${live.name} to connections`);
      expect(await scratchDatabasesOf(backupId)).toEqual([]);
      const now = await checksumsOf(live.url);
      expect(now).toEqual(state.swapped ? backupChecksums : old);
      await dropKeptDatabases();
    });
  }
});

describe('bantay restore --in-place (CLI)', () => {
  it('refuses without the typed name and changes nothing', async () => {
    const old = await diverge();
    const run = await restoreKilledAt(undefined, 'fbms_wrong\n');
    expect(run.code).toBe(2);
    expect(run.stderr).toContain(`Type the name of the live database (${live.name}) to restore over it:`);
    expect(run.stderr).toContain(`"fbms_wrong" is not ${live.name}; nothing was changed`);
    expect(await checksumsOf(live.url)).toEqual(old);
    const closedStdin = await restoreKilledAt(undefined, '');
    expect(closedStdin.code).toBe(2);
    expect(closedStdin.stderr).toMatch(/needs typed confirmation: run it in a terminal, or pass --yes/);
  });

  it('restores after the typed name, reports the RTO and how to drop the kept database', async () => {
    const old = await diverge();
    const run = await restoreKilledAt(undefined, `${live.name}\n`);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`Restored ${backupId} into ${live.name} \\(in-place\\): verified, \\d+ rows\\. Measured RTO [\\d.]+s, downtime`));
    const kept = /kept as (\S+)\./.exec(run.stdout)?.[1];
    expect(kept).toMatch(new RegExp(`^${live.name}_pre_restore_\\d{14}$`));
    expect(run.stdout).toContain(`DROP DATABASE "${kept}";`);
    expect(run.stdout).toMatch(/Safety backup taken before: db-\S+ \(label pre-restore\)/);
    expect(await checksumsOf(live.url)).toEqual(backupChecksums);
    expect(await checksumsOf(live.url.replace(`/${live.name}`, `/${kept}`))).toEqual(old);
    await dropKeptDatabases();
  });
});

describe('interrupting verify and restore', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`${signal} during verify cancels it and drops the scratch database`, async () => {
      const run = await runKilledAt(['verify', backupId], /"msg":"restoring/, signal);
      expect(run.killed).toBe(true);
      expect(run.code).toBe(130);
      expect(run.stderr).toMatch(/Verify cancelled/);
      expect(await scratchDatabasesOf(backupId)).toEqual([]);
    });
  }

  it('SIGTERM during an in-place restore leaves the live database as it was, open', async () => {
    const old = await diverge();
    const run = await runKilledAt(['restore', backupId, '--in-place', '--yes'], /"msg":"stop-app/, 'SIGTERM');
    expect(run.killed).toBe(true);
    expect(run.code).toBe(130);
    expect(run.stderr).toContain(`The live database ${live.name} was not changed.`);
    expect(await scratchDatabasesOf(backupId)).toEqual([]);
    expect(await checksumsOf(live.url)).toEqual(old);
  });
});
