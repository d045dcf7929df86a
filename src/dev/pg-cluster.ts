import { randomBytes } from 'node:crypto';
import { appendFile, chown, mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { BantayError, ErrorCode, wrapError } from '../errors.ts';
import { pgBinary } from './pg-binaries.ts';
import { freePort, guardCluster, runProgram, serverEnv, unprivilegedUser, type RunAsUser } from './pg-cluster-process.ts';

/**
 * A throwaway PostgreSQL server for tests, demos and benchmarks: initdb into a temp dir, start
 * on a free loopback port with durability off (fsync=off: nothing here must survive a crash),
 * password (scram-sha-256) auth over TCP so callers exercise real credentials. Or, with
 * `externalUrl`, an existing server that we only create and drop databases in.
 */
export interface PgCluster {
  /** postgres://USER:PASSWORD@127.0.0.1:PORT/postgres, a superuser. */
  adminUrl: string;
  port: number;
  /** Local clusters: the data directory (undefined for an external server). */
  dataDir?: string;
  /** Creates a database (random name when omitted) and resolves with its URL. */
  createDatabase(name?: string): Promise<string>;
  /** Drops a database, disconnecting its sessions; missing databases are fine. */
  dropDatabase(name: string): Promise<void>;
  /** Local: stops the server and removes its directory. External: drops what we created. Idempotent. */
  stop(): Promise<void>;
}

export interface PgClusterOptions {
  /** Use this server (a superuser URL) instead of starting one. */
  externalUrl?: string;
  /** Fixed port; by default a free one is picked (and re-picked if another process wins it). */
  port?: number;
  /**
   * Cluster directory (must be absent or empty; when we run as root, its parents must be
   * searchable by the server user); kept on stop(). Default: inside a temp dir that stop() removes.
   */
  dataDir?: string;
  /** Receives progress lines; without it nothing is printed. */
  log?: (line: string) => void;
  /**
   * Extra server settings appended to postgresql.conf after initdb (e.g. archive_mode, or
   * wal_level=replica with max_wal_senders for the point-in-time recovery tests). Values are
   * written as given: quote strings the way postgresql.conf wants ('...').
   */
  settings?: Record<string, string>;
}

const superuser = 'bantay_test';
const startAttempts = 5;

export async function startPgCluster(options: PgClusterOptions = {}): Promise<PgCluster> {
  const log = options.log ?? (() => undefined);
  if (options.externalUrl !== undefined && options.externalUrl !== '') return externalCluster(options.externalUrl, log);
  return localCluster(options, log);
}

function databaseManager(adminUrl: string, log: (line: string) => void) {
  const created = new Set<string>();
  const admin = async (sql: string) => {
    const client = new pg.Client({ connectionString: adminUrl });
    try {
      await client.connect();
      await client.query(sql);
    } finally {
      await client.end().catch(() => undefined);
    }
  };
  return {
    created,
    async createDatabase(name = `bantay_${randomBytes(5).toString('hex')}`): Promise<string> {
      assertDatabaseName(name);
      await admin(`CREATE DATABASE ${pg.escapeIdentifier(name)}`).catch((err: unknown) => {
        throw wrapError(ErrorCode.Database, `create database ${name}`, err);
      });
      created.add(name);
      log(`created database ${name}`);
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      return url.toString();
    },
    async dropDatabase(name: string): Promise<void> {
      assertDatabaseName(name);
      await admin(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`).catch((err: unknown) => {
        throw wrapError(ErrorCode.Database, `drop database ${name}`, err);
      });
      created.delete(name);
    },
  };
}

/** Plain identifiers only, so names are safe in URLs, logs and shell-free argv alike. */
function assertDatabaseName(name: string): void {
  if (!/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(name)) {
    throw new BantayError(ErrorCode.InvalidInput, `invalid database name ${JSON.stringify(name)}: use letters, digits and _`);
  }
}

function externalCluster(externalUrl: string, log: (line: string) => void): PgCluster {
  const manager = databaseManager(externalUrl, log);
  let stopping: Promise<void> | undefined;
  return {
    adminUrl: externalUrl,
    port: Number(new URL(externalUrl).port || 5432),
    createDatabase: manager.createDatabase,
    dropDatabase: manager.dropDatabase,
    stop() {
      stopping ??= Promise.allSettled([...manager.created].map((name) => manager.dropDatabase(name))).then(() => undefined);
      return stopping;
    },
  };
}

/** Everything a local cluster's programs need. */
interface LocalContext {
  pgCtl: string;
  baseDir: string;
  dataDir: string;
  logFile: string;
  user: RunAsUser | undefined;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}

async function localCluster(options: PgClusterOptions, log: (line: string) => void): Promise<PgCluster> {
  const started = Date.now();
  const user = unprivilegedUser();
  const baseDir = await mkdtemp(join(tmpdir(), 'bantay-pg-'));
  const ctx: LocalContext = {
    pgCtl: pgBinary('pg_ctl'),
    baseDir,
    dataDir: options.dataDir ?? join(baseDir, 'data'),
    logFile: join(baseDir, 'server.log'),
    user,
    env: serverEnv(baseDir),
    log,
  };
  // Validate the directories before guarding: a guard stops whatever server runs in dataDir.
  await prepareDirs(ctx, options.dataDir !== undefined).catch(async (err: unknown) => {
    await rm(baseDir, { recursive: true, force: true });
    throw err;
  });
  const release = guardCluster({ ...ctx, removeDir: baseDir });
  try {
    const password = randomBytes(16).toString('hex');
    await initCluster(ctx, password);
    if (options.settings !== undefined) await appendSettings(ctx.dataDir, options.settings);
    const port = await startServer(ctx, options.port);
    log(`PostgreSQL cluster ready on 127.0.0.1:${port} in ${Date.now() - started} ms (${ctx.dataDir})`);
    return localHandle(ctx, port, password, release);
  } catch (err) {
    await stopServer(ctx).catch(() => undefined);
    await rm(baseDir, { recursive: true, force: true });
    release();
    throw err;
  }
}

function localHandle(ctx: LocalContext, port: number, password: string, release: () => void): PgCluster {
  const adminUrl = `postgres://${superuser}:${password}@127.0.0.1:${port}/postgres`;
  const manager = databaseManager(adminUrl, ctx.log);
  let stopping: Promise<void> | undefined;
  const stop = async () => {
    try {
      await stopServer(ctx);
    } finally {
      await rm(ctx.baseDir, { recursive: true, force: true });
      release();
      ctx.log(`PostgreSQL cluster on port ${port} stopped`);
    }
  };
  return {
    adminUrl,
    port,
    dataDir: ctx.dataDir,
    createDatabase: manager.createDatabase,
    dropDatabase: manager.dropDatabase,
    stop: () => (stopping ??= stop()),
  };
}

async function prepareDirs(ctx: LocalContext, callerDataDir: boolean): Promise<void> {
  if (callerDataDir) {
    await mkdir(ctx.dataDir, { recursive: true, mode: 0o700 });
    if ((await readdir(ctx.dataDir)).length > 0) {
      throw new BantayError(ErrorCode.InvalidInput, `dataDir ${ctx.dataDir} is not empty`);
    }
    if (ctx.user !== undefined) await chown(ctx.dataDir, ctx.user.uid, ctx.user.gid);
  }
  // The server user writes its socket, log and (by default) data directory here.
  if (ctx.user !== undefined) await chown(ctx.baseDir, ctx.user.uid, ctx.user.gid);
}

async function appendSettings(dataDir: string, settings: Record<string, string>): Promise<void> {
  const lines = Object.entries(settings).map(([name, value]) => {
    if (!/^[a-z_.]+$/.test(name) || /[\n\r]/.test(value)) throw new BantayError(ErrorCode.InvalidInput, `invalid server setting ${name}`);
    return `${name} = ${value}`;
  });
  await appendFile(join(dataDir, 'postgresql.conf'), `\n# Added by the Bantay test cluster\n${lines.join('\n')}\n`);
}

/** initdb with a superuser password from a file that exists only while initdb runs. */
async function initCluster(ctx: LocalContext, password: string): Promise<void> {
  const initdb = pgBinary('initdb');
  const pwFile = join(ctx.baseDir, 'pwfile');
  await writeFile(pwFile, `${password}\n`, { mode: 0o600 });
  if (ctx.user !== undefined) await chown(pwFile, ctx.user.uid, ctx.user.gid);
  try {
    let result;
    for (const locale of ['C.UTF-8', 'C']) {
      const args = ['-D', ctx.dataDir, '-U', superuser, `--pwfile=${pwFile}`, '-E', 'UTF8', `--locale=${locale}`];
      args.push('--auth-host=scram-sha-256', '--auth-local=trust', '--no-sync');
      result = await runProgram(initdb, args, { user: ctx.user, cwd: ctx.baseDir, env: ctx.env, timeoutMs: 120_000 });
      // Not every system has C.UTF-8 (e.g. macOS); plain C works everywhere.
      if (result.code === 0 || !/invalid locale/i.test(result.output)) break;
    }
    if (result?.code !== 0) {
      throw toolFailure(`initdb failed (exit ${result?.code})`, tail(result?.output ?? ''));
    }
  } finally {
    await rm(pwFile, { force: true });
  }
}

function serverOptions(port: number, socketDir: string): string {
  const settings = ['listen_addresses=127.0.0.1', 'fsync=off', 'synchronous_commit=off', 'full_page_writes=off'];
  // pg_ctl hands -o to a shell: quote the socket directory.
  return [`-p ${port}`, `-k '${socketDir.replaceAll("'", `'\\''`)}'`, ...settings.map((s) => `-c ${s}`)].join(' ');
}

/** Starts the server; on "address in use" with a picked port, picks another and retries. */
async function startServer(ctx: LocalContext, fixedPort: number | undefined): Promise<number> {
  for (let attempt = 1; ; attempt++) {
    const port = fixedPort ?? (await freePort());
    await rm(ctx.logFile, { force: true }); // Fresh log per attempt: its tail explains this one.
    const args = ['-D', ctx.dataDir, '-l', ctx.logFile, '-w', '-t', '60', '-o', serverOptions(port, ctx.baseDir), 'start'];
    const result = await runProgram(ctx.pgCtl, args, { user: ctx.user, cwd: ctx.baseDir, env: ctx.env, timeoutMs: 90_000 });
    if (result.code === 0) return port;
    const serverLog = await readFile(ctx.logFile, 'utf8').catch(() => '');
    const portTaken = /already in use|could not bind|could not create any TCP\/IP sockets/i.test(serverLog);
    if (portTaken && fixedPort === undefined && attempt < startAttempts) {
      ctx.log(`port ${port} was taken, retrying`);
      continue;
    }
    throw toolFailure(`PostgreSQL server did not start on port ${port} (pg_ctl exit ${result.code})`, [
      ...tail(result.output),
      ...tail(serverLog),
    ]);
  }
}

async function stopServer(ctx: LocalContext): Promise<void> {
  const running = await readFile(join(ctx.dataDir, 'postmaster.pid'), 'utf8').then(
    () => true,
    () => false,
  );
  if (!running) return;
  const args = ['-D', ctx.dataDir, '-m', 'fast', '-w', '-t', '60', 'stop'];
  const result = await runProgram(ctx.pgCtl, args, { user: ctx.user, cwd: ctx.baseDir, env: ctx.env, timeoutMs: 90_000 });
  if (result.code !== 0) {
    const serverLog = await readFile(ctx.logFile, 'utf8').catch(() => '');
    throw toolFailure(`pg_ctl stop failed (exit ${result.code})`, [...tail(result.output), ...tail(serverLog)]);
  }
}

/** The last lines of a program's output or the server log, for error details. */
function tail(text: string, lines = 25): string[] {
  return text.trimEnd().split('\n').slice(-lines).filter((line) => line.trim() !== '');
}

/** The output tail goes into the message too: test runners often show only the message. */
function toolFailure(message: string, lines: string[]): BantayError {
  return new BantayError(ErrorCode.Tool, [message, ...lines.map((line) => `  | ${line}`)].join('\n'), { details: lines });
}
