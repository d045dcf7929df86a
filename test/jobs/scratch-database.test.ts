import { spawn, type ChildProcessByStdio } from 'node:child_process';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanupLeftovers } from '../../src/jobs/cleanup-leftovers.ts';
import { openAdminSession, type AdminSession } from '../../src/jobs/pg/database-admin.ts';
import { createScratchDatabase } from '../../src/jobs/pg/scratch-database.ts';
import { recordClosed, recordScratch } from '../../src/state/scratch-registry.ts';
import { openStateDb, type StateDb } from '../../src/state/state-db.ts';
import { adminUrl, createDatabase, databaseExists, dropDatabase, sql, uniqueName } from '../support/databases.ts';

// A PostgreSQL state database, so the child process that holds a scratch and this test share it.
let state: StateDb;
let stateUrl: string;
const stateName = uniqueName('bantay_state');
const sessions: AdminSession[] = [];
async function session(): Promise<AdminSession> {
  const s = await openAdminSession(adminUrl(), 'postgres');
  sessions.push(s);
  return s;
}
beforeAll(async () => {
  stateUrl = await createDatabase(stateName);
  state = await openStateDb({ url: stateUrl, dataDir: '/nonexistent' });
});
afterAll(async () => {
  for (const s of sessions) await s.close();
  await state.close();
  await dropDatabase(stateName);
});

const allowsConnections = async (name: string) => (await sql<{ ok: boolean }>(adminUrl(), 'SELECT datallowconn AS ok FROM pg_database WHERE datname = $1', [name]))[0]!.ok;

describe('scratch databases', () => {
  it('a scratch database is left alone while its owner lives and dropped by the next cleanup once it was SIGKILLed', async () => {
    const { child, name } = await holdScratch();
    await cleanupLeftovers(await session(), state);
    expect(await databaseExists(name)).toBe(true);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    expect(await databaseExists(name)).toBe(true);
    // The server notices the dead connection (and frees its advisory lock) within moments.
    for (let i = 0; i < 50 && (await databaseExists(name)); i += 1) {
      await cleanupLeftovers(await session(), state);
      if (await databaseExists(name)) await new Promise((r) => setTimeout(r, 100));
    }
    expect(await databaseExists(name)).toBe(false);
    expect(await state.query('SELECT 1 FROM scratch_databases WHERE name = $1', [name])).toEqual([]);
  });

  it('never drops a database it did not create, whatever its name or comment, and never reopens one it did not close', async () => {
    const live = uniqueName('fbms_live');
    await createDatabase(live);
    // What an attacker or a careless colleague can make: a scratch-looking name with Bantay's old marker comment.
    const foreign = uniqueName('bantay_restore_db_20261126t010000z_swap');
    await sql(adminUrl(), `CREATE DATABASE ${foreign}`);
    await sql(adminUrl(), `COMMENT ON DATABASE ${foreign} IS 'bantay:in-place:${live}'`);
    await sql(adminUrl(), `ALTER DATABASE ${live} WITH ALLOW_CONNECTIONS false`);
    const report = await cleanupLeftovers(await session(), state);
    expect(await databaseExists(foreign)).toBe(true);
    expect(await allowsConnections(live)).toBe(false);
    expect(report.droppedDatabases).not.toContain(foreign);
    expect(report.reopenedDatabases).not.toContain(live);
    await sql(adminUrl(), `ALTER DATABASE ${live} WITH ALLOW_CONNECTIONS true`);
    await dropDatabase(live);
    await dropDatabase(foreign);
  });

  it('leaves a recorded name alone when the database under it is another one (recreated by someone else)', async () => {
    const s = await session();
    const scratch = await createScratchDatabase(s, state, { purpose: 'verify', tag: 'db-20261126T010000Z-oid' });
    // Bantay's copy vanishes (dropped by hand) and someone creates a database of the same name.
    await scratch.release();
    await state.query("INSERT INTO scratch_databases (server, name, db_oid, purpose) VALUES ($1, $2, 1, 'verify')", [s.server, scratch.name]);
    await sql(adminUrl(), `DROP DATABASE ${scratch.name}`);
    await sql(adminUrl(), `CREATE DATABASE ${scratch.name}`);
    const report = await cleanupLeftovers(await session(), state);
    expect(await databaseExists(scratch.name)).toBe(true);
    expect(report.warnings.join('\n')).toMatch(/not the database Bantay created/);
    await dropDatabase(scratch.name);
  });

  it('leaves a recorded database alone when Bantay\'s role does not own it', async () => {
    const s = await session();
    const owner = uniqueName('someone');
    const name = uniqueName('bantay_verify_foreign_owner');
    await sql(adminUrl(), `CREATE ROLE ${owner}`);
    await sql(adminUrl(), `CREATE DATABASE ${name} OWNER ${owner}`);
    await recordScratch(state, { server: s.server, name, purpose: 'verify', backupId: null });
    const report = await cleanupLeftovers(await session(), state);
    expect(await databaseExists(name)).toBe(true);
    expect(report.warnings.join('\n')).toMatch(/not owned by Bantay's role/);
    await dropDatabase(name);
    await sql(adminUrl(), `DROP ROLE ${owner}`);
  });

  for (const kind of ['in-place', 'replace'] as const) {
    it(`reopens a database that an interrupted ${kind} restore had closed (recorded), and reports it`, async () => {
      const s = await session();
      const live = uniqueName('fbms_live');
      await createDatabase(live);
      const [{ oid }] = (await sql<{ oid: number }>(adminUrl(), 'SELECT oid FROM pg_database WHERE datname = $1', [live])) as [{ oid: number }];
      // What a SIGKILLed restore leaves: the record of what it closed, its scratch lock free, the target closed.
      await recordClosed(state, { server: s.server, name: live, oid: Number(oid), scratch: uniqueName('bantay_restore_gone'), kind });
      await sql(adminUrl(), `ALTER DATABASE ${live} WITH ALLOW_CONNECTIONS false`);
      const report = await cleanupLeftovers(await session(), state);
      expect(report.reopenedDatabases).toEqual([live]);
      expect(report.interruptedInPlace).toEqual(kind === 'in-place' ? [live] : []);
      expect(await allowsConnections(live)).toBe(true);
      expect(await state.query('SELECT 1 FROM closed_databases WHERE name = $1', [live])).toEqual([]);
      await dropDatabase(live);
    });
  }

  it('reopens a recorded live database whose name needs quoting (upper case, a hyphen)', async () => {
    const s = await session();
    const live = `FBMS-Live-${uniqueName('x')}`;
    await createDatabase(live);
    const [row] = await sql<{ oid: number }>(adminUrl(), 'SELECT oid FROM pg_database WHERE datname = $1', [live]);
    await recordClosed(state, { server: s.server, name: live, oid: Number(row!.oid), scratch: uniqueName('bantay_restore_gone'), kind: 'in-place' });
    await sql(adminUrl(), `ALTER DATABASE "${live}" WITH ALLOW_CONNECTIONS false`);
    await cleanupLeftovers(await session(), state);
    expect(await allowsConnections(live)).toBe(true);
    await dropDatabase(live);
  });

  it('turns cleanup problems into warnings instead of failing', async () => {
    const s = await session();
    const broken = { ...s, server: s.server };
    await state.query('ALTER TABLE closed_databases RENAME TO closed_databases_away');
    try {
      const report = await cleanupLeftovers(broken, state);
      expect(report.warnings.join('\n')).toMatch(/reopening databases an interrupted restore closed/);
    } finally {
      await state.query('ALTER TABLE closed_databases_away RENAME TO closed_databases');
    }
  });

  it('drops its own scratch database on drop(), idempotently, and forgets it', async () => {
    const scratch = await createScratchDatabase(await session(), state, { purpose: 'verify', tag: 'db-20261126T010000Z-own' });
    expect(await databaseExists(scratch.name)).toBe(true);
    expect(await state.query('SELECT 1 FROM scratch_databases WHERE name = $1 AND db_oid IS NOT NULL', [scratch.name])).toHaveLength(1);
    await scratch.drop();
    await scratch.drop();
    expect(await databaseExists(scratch.name)).toBe(false);
    expect(await state.query('SELECT 1 FROM scratch_databases WHERE name = $1', [scratch.name])).toEqual([]);
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
  const child = spawn(process.execPath, ['--import', 'tsx', script, adminUrl(), stateUrl], { stdio: ['ignore', 'pipe', 'inherit'] });
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
