import { existsSync, statSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.ts';
import { findPgBinDir, parsePgVersionOutput, pgBinary, pgToolMajorVersion } from '../../src/dev/pg-binaries.ts';
import { startPgCluster, type PgCluster } from '../../src/dev/pg-cluster.ts';

async function query<R extends pg.QueryResultRow>(url: string, text: string): Promise<R[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<R>(text)).rows;
  } finally {
    await client.end();
  }
}

function withPassword(url: string, password: string): string {
  const u = new URL(url);
  u.password = password;
  return u.toString();
}

/** Resolves true when something accepts TCP connections on 127.0.0.1:port. */
function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

describe('pg binaries', () => {
  it('finds the programs and their major version', async () => {
    expect(pgBinary('pg_dump').startsWith(findPgBinDir())).toBe(true);
    const major = await pgToolMajorVersion(pgBinary('pg_dump'));
    expect(major).toBeGreaterThanOrEqual(12);
    expect(await pgToolMajorVersion(pgBinary('postgres'))).toBe(major);
  });

  it('parses version lines', () => {
    expect(parsePgVersionOutput('pg_dump (PostgreSQL) 15.14 (Debian 15.14-1.pgdg120+1)\n')).toBe(15);
    expect(parsePgVersionOutput('postgres (PostgreSQL) 17devel')).toBe(17);
    expect(parsePgVersionOutput('pg_dump (PostgreSQL) 9.6.24')).toBe(9.6);
    expect(parsePgVersionOutput('something else')).toBeUndefined();
  });

  it('honours BANTAY_PG_BIN and refuses a directory without the program', () => {
    const saved = process.env.BANTAY_PG_BIN;
    try {
      process.env.BANTAY_PG_BIN = findPgBinDir();
      expect(pgBinary('pg_restore')).toBe(`${findPgBinDir()}/pg_restore`);
      process.env.BANTAY_PG_BIN = '/nonexistent-bantay-dir';
      expect(() => pgBinary('pg_dump')).toThrow(expect.objectContaining({ code: ErrorCode.Tool }));
      expect(() => findPgBinDir()).toThrow(/BANTAY_PG_BIN/);
    } finally {
      if (saved === undefined) delete process.env.BANTAY_PG_BIN;
      else process.env.BANTAY_PG_BIN = saved;
    }
  });
});

describe('startPgCluster (local)', () => {
  let cluster: PgCluster;
  let dataDir: string;

  beforeAll(async () => {
    const started = Date.now();
    cluster = await startPgCluster();
    expect(Date.now() - started).toBeLessThan(15_000);
    dataDir = (await query<{ d: string }>(cluster.adminUrl, "SELECT current_setting('data_directory') AS d"))[0]!.d;
  });
  afterAll(() => cluster?.stop());

  it('serves a superuser over TCP with scram password auth', async () => {
    const url = new URL(cluster.adminUrl);
    expect(url.hostname).toBe('127.0.0.1');
    expect(Number(url.port)).toBe(cluster.port);
    expect(url.password).not.toBe('');
    const [row] = await query<{ su: string; method: string }>(
      cluster.adminUrl,
      "SELECT current_setting('is_superuser') AS su, (SELECT rolpassword FROM pg_authid WHERE rolname = current_user) AS method",
    );
    expect(row!.su).toBe('on');
    expect(row!.method).toMatch(/^SCRAM-SHA-256\$/);
    await expect(query(withPassword(cluster.adminUrl, 'wrong'), 'SELECT 1')).rejects.toMatchObject({ code: '28P01' });
  });

  it('runs the server as an unprivileged user, never root', () => {
    const owner = statSync(dataDir).uid;
    if (process.getuid?.() === 0) expect(owner).not.toBe(0);
    else expect(owner).toBe(process.getuid?.());
  });

  it('creates and drops databases', async () => {
    const url = await cluster.createDatabase('bantay_cluster_test');
    expect(new URL(url).pathname).toBe('/bantay_cluster_test');
    const [row] = await query<{ db: string }>(url, 'SELECT current_database() AS db');
    expect(row!.db).toBe('bantay_cluster_test');

    const random = await cluster.createDatabase();
    await query(random, 'SELECT 1');
    const client = new pg.Client({ connectionString: random });
    await client.connect(); // An open session must not block the drop.
    client.on('error', () => undefined);
    await cluster.dropDatabase(new URL(random).pathname.slice(1));
    await client.end().catch(() => undefined);
    await expect(query(random, 'SELECT 1')).rejects.toMatchObject({ code: '3D000' });
    await cluster.dropDatabase('bantay_cluster_test');
    await cluster.dropDatabase('bantay_cluster_test'); // Missing is fine.
  });

  it('rejects unsafe database names', async () => {
    await expect(cluster.createDatabase('x"; DROP DATABASE postgres; --')).rejects.toMatchObject({ code: ErrorCode.InvalidInput });
  });

  it('works as an external server for a second handle, which only drops what it created', async () => {
    const external = await startPgCluster({ externalUrl: cluster.adminUrl });
    expect(external.port).toBe(cluster.port);
    const url = await external.createDatabase();
    const name = new URL(url).pathname.slice(1);
    await external.stop();
    const rows = await query(cluster.adminUrl, `SELECT 1 FROM pg_database WHERE datname = '${name}'`);
    expect(rows).toHaveLength(0);
    expect(await portOpen(cluster.port)).toBe(true);
  });

  it('stop() shuts the server down, closes the port and removes the data directory', async () => {
    expect(existsSync(dataDir)).toBe(true);
    await cluster.stop();
    await cluster.stop(); // Idempotent.
    expect(existsSync(dataDir)).toBe(false);
    expect(await portOpen(cluster.port)).toBe(false);
  });
});

describe('startPgCluster options', () => {
  it('initialises a caller-chosen dataDir and keeps it after stop', async () => {
    const parent = await mkdtemp(join(tmpdir(), 'bantay-datadir-test-'));
    await chmod(parent, 0o755); // As root, the server user must reach the directory.
    try {
      const dataDir = join(parent, 'cluster');
      const lines: string[] = [];
      const custom = await startPgCluster({ dataDir, log: (line) => lines.push(line) });
      expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true);
      await query(custom.adminUrl, 'SELECT 1');
      await custom.stop();
      expect(existsSync(join(dataDir, 'PG_VERSION'))).toBe(true);
      expect(existsSync(join(dataDir, 'postmaster.pid'))).toBe(false);
      expect(lines.some((line) => line.includes('ready'))).toBe(true);
      await expect(startPgCluster({ dataDir })).rejects.toMatchObject({ code: ErrorCode.InvalidInput });
    } finally {
      await rm(parent, { recursive: true, force: true });
    }
  });

  it('fails with the server log when the port is taken', async () => {
    const first = await startPgCluster();
    try {
      const err = await startPgCluster({ port: first.port }).catch((e: unknown) => e);
      expect(err).toMatchObject({ code: ErrorCode.Tool });
      expect(String((err as Error).message)).toMatch(/could not (bind|create)|already in use/i);
    } finally {
      await first.stop();
    }
  });
});
