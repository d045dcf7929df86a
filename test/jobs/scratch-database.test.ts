import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupLeftovers, inPlaceMarker, replaceMarker } from '../../src/jobs/cleanup-leftovers.ts';
import { openAdminSession, type AdminSession } from '../../src/jobs/pg/database-admin.ts';
import { createScratchDatabase } from '../../src/jobs/pg/scratch-database.ts';
import { adminUrl, createDatabase, databaseExists, dropDatabase, sql, uniqueName } from '../support/databases.ts';

const sessions: AdminSession[] = [];
async function session(): Promise<AdminSession> {
  const s = await openAdminSession(adminUrl(), 'postgres');
  sessions.push(s);
  return s;
}
afterAll(async () => {
  for (const s of sessions) await s.close();
});

describe('scratch databases', () => {
  it('a scratch database is left alone while its owner lives and dropped by the next cleanup once it was SIGKILLed', async () => {
    const { child, name } = await holdScratch();
    await cleanupLeftovers(await session());
    expect(await databaseExists(name)).toBe(true);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect(await databaseExists(name)).toBe(true);
    // The server notices the dead connection (and frees its advisory lock) within moments.
    for (let i = 0; i < 50 && (await databaseExists(name)); i += 1) {
      await cleanupLeftovers(await session());
      if (await databaseExists(name)) await new Promise((r) => setTimeout(r, 100));
    }
    expect(await databaseExists(name)).toBe(false);
  });

  for (const kind of ['in-place', 'replace'] as const) {
    it(`reopens a database that an interrupted ${kind} restore had closed`, async () => {
      const live = uniqueName('fbms_live');
      await createDatabase(live);
      // What a SIGKILLed restore leaves: its temporary database with the marker, unlocked, and the target closed.
      const temp = uniqueName('bantay_restore_db_20261126t010000z_swap');
      const marker = kind === 'in-place' ? inPlaceMarker(live) : replaceMarker(live);
      await sql(adminUrl(), `CREATE DATABASE ${temp}`);
      await sql(adminUrl(), `COMMENT ON DATABASE ${temp} IS '${marker}'`);
      await sql(adminUrl(), `ALTER DATABASE ${live} WITH ALLOW_CONNECTIONS false`);
      const report = await cleanupLeftovers(await session());
      expect(await databaseExists(temp)).toBe(false);
      // Another test file's verify may run the same cleanup first; then that run did the reopening.
      if (report.droppedDatabases.includes(temp)) {
        expect(report.reopenedDatabases).toEqual([live]);
        expect(report.interruptedInPlace).toEqual(kind === 'in-place' ? [live] : []);
      }
      const [row] = await sql<{ datallowconn: boolean }>(adminUrl(), 'SELECT datallowconn FROM pg_database WHERE datname = $1', [live]);
      expect(row!.datallowconn).toBe(true);
      await dropDatabase(live);
    });
  }

  it('reopens a live database whose name needs quoting (upper case, a hyphen) after an interrupted in-place restore', async () => {
    const live = `FBMS-Live-${uniqueName('x')}`;
    await createDatabase(live);
    const temp = uniqueName('bantay_restore_db_20261126t010000z_swap');
    await sql(adminUrl(), `CREATE DATABASE ${temp}`);
    await sql(adminUrl(), `COMMENT ON DATABASE ${temp} IS '${inPlaceMarker(live)}'`);
    await sql(adminUrl(), `ALTER DATABASE "${live}" WITH ALLOW_CONNECTIONS false`);
    await cleanupLeftovers(await session());
    expect(await databaseExists(temp)).toBe(false);
    const [row] = await sql<{ datallowconn: boolean }>(adminUrl(), 'SELECT datallowconn FROM pg_database WHERE datname = $1', [live]);
    expect(row!.datallowconn).toBe(true);
    await dropDatabase(live);
  });

  it('drops its own scratch database on drop(), idempotently', async () => {
    const scratch = await createScratchDatabase(await session(), { purpose: 'verify', tag: 'db-20261126T010000Z-own' });
    expect(await databaseExists(scratch.name)).toBe(true);
    await scratch.drop();
    await scratch.drop();
    expect(await databaseExists(scratch.name)).toBe(false);
  });

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`drops the scratch database on ${signal} and still dies of the signal`, async () => {
      const { child, name } = await holdScratch();
      expect(await databaseExists(name)).toBe(true);
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, sig) => resolve(sig)));
      child.kill(signal);
      expect(await exited).toBe(signal);
      expect(await databaseExists(name)).toBe(false);
    });
  }
});

/** A child process holding a scratch database (test/support/hold-scratch.ts). */
async function holdScratch(): Promise<{ child: ChildProcessByStdio<null, Readable, null>; name: string }> {
  const script = fileURLToPath(new URL('../support/hold-scratch.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', script, adminUrl()], { stdio: ['ignore', 'pipe', 'inherit'] });
  const name = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /SCRATCH=(\S+)/.exec(out);
      if (m) resolve(m[1]!);
    });
    child.once('exit', () => reject(new Error(`child exited early: ${out}`)));
  });
  return { child, name };
}
