import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pgBinary } from '../../src/dev/pg-binaries.ts';
import { freePort, runProgram, serverEnv, unprivilegedUser } from '../../src/dev/pg-cluster-process.ts';
import { startPgCluster, type PgCluster } from '../../src/dev/pg-cluster.ts';
import { withDatabase } from '../../src/jobs/pg/connection.ts';
import { sql } from './databases.ts';
import { newKey, tempDir } from './job-deps.ts';
import { createTestBucket, TEST_S3_CREDENTIALS } from './s3-server.ts';

const BANTAY = resolve(import.meta.dirname, '../../bin/bantay.js');

/**
 * A throwaway cluster set up for point-in-time recovery the way the README tells a self-hosted
 * server to be: archive_mode=on with archive_command = `bantay wal push %p` into a local store
 * (encrypted, key from a file), plus a replication role for pg_basebackup / pg_receivewal.
 * When we run as root, the server (and so archive_command) runs as the postgres user: the
 * store, key file and data directory are made reachable for it.
 */
export interface PitrCluster {
  cluster: PgCluster;
  dir: string;
  storeDir: string;
  keyFile: string;
  dataDir: string;
  /** Environment for `bantay` commands against this cluster's archive. */
  env: Record<string, string>;
  replicationUrl: string;
  /** The archive_command line, to reuse on a replacement server. */
  archiveCommand: string;
  /** Switches to a new segment and waits until the server archived it. */
  switchAndWaitArchived(url?: string): Promise<string>;
  stop(): Promise<void>;
}

export async function startPitrCluster(options: { archive?: boolean; s3Endpoint?: string } = {}): Promise<PitrCluster> {
  const dir = tempDir('bantay-pitr-');
  chmodSync(dir, 0o755);
  const storeDir = join(dir, 'store');
  const dataDir = join(dir, 'var');
  mkdirSync(storeDir, { recursive: true });
  mkdirSync(dataDir, { recursive: true });
  chmodSync(dataDir, 0o711);
  const key = newKey();
  const keyFile = join(dir, 'key');
  writeFileSync(keyFile, key.key.toString('base64'), { mode: 0o600 });
  const user = unprivilegedUser();
  if (user !== undefined) {
    chownSync(storeDir, user.uid, user.gid);
    chownSync(keyFile, user.uid, user.gid);
  }
  const archiveCommand = `'${process.execPath}' '${BANTAY}' wal push %p`;
  // On S3 the archiver (the postgres user) and Bantay (root, in tests) share the store without
  // sharing file permissions; a local directory store needs both to run as one user.
  const store: Record<string, string> = options.s3Endpoint
    ? {
        BANTAY_STORE: `s3://${await createTestBucket(options.s3Endpoint)}/fbms`,
        S3_ENDPOINT: options.s3Endpoint,
        AWS_ACCESS_KEY_ID: TEST_S3_CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: TEST_S3_CREDENTIALS.secretAccessKey,
      }
    : { BANTAY_STORE: storeDir };
  const storeEnv = Object.entries(store).map(([k, v]) => `${k}=${v}`).join(' ');
  const archiveEnv = `${storeEnv} BANTAY_ENCRYPTION_KEY_FILE=${keyFile} BANTAY_LOG_LEVEL=warn BANTAY_DATA_DIR=${join(dir, 'archiver')}`;
  const settings: Record<string, string> = { wal_level: 'replica', max_wal_senders: '10', wal_keep_size: "'256MB'" };
  if (options.archive !== false) {
    settings.archive_mode = 'on';
    settings.archive_command = `'env ${archiveEnv} ${archiveCommand.replaceAll("'", "''")}'`;
  }
  const cluster = await startPgCluster({ settings });
  await sql(cluster.adminUrl, "CREATE ROLE bantay_repl WITH REPLICATION LOGIN PASSWORD 'repl-secret-1'");
  const replicationUrl = withDatabase(cluster.adminUrl, 'postgres').replace(/\/\/[^@]+@/, '//bantay_repl:repl-secret-1@');
  const env = { ...store, BANTAY_ENCRYPTION_KEY_FILE: keyFile, BANTAY_DATA_DIR: dataDir, BANTAY_REPLICATION_URL: replicationUrl, BANTAY_LOG_LEVEL: 'error', BANTAY_TZ: 'Asia/Manila' };
  return {
    cluster,
    dir,
    storeDir,
    keyFile,
    dataDir,
    env,
    replicationUrl,
    archiveCommand: `env ${archiveEnv} ${archiveCommand}`,
    switchAndWaitArchived: (url = cluster.adminUrl) => switchAndWait(url),
    stop: () => cluster.stop(),
  };
}

/** `bantay wal stream` as its own process, so it can be killed like a real one. */
export function startStreamer(env: Record<string, string>, cwd: string): ChildProcess {
  return spawn(process.execPath, [BANTAY, 'wal', 'stream'], { env: { ...process.env, ...env }, cwd, stdio: 'ignore' });
}

/** SIGTERM, as a service manager stops it, and its exit (also when it has already exited). */
export async function stopStreamer(streamer: ChildProcess): Promise<void> {
  if (streamer.exitCode !== null || streamer.signalCode !== null) return;
  const exited = new Promise((r) => streamer.once('exit', r));
  streamer.kill('SIGTERM');
  await exited;
}

/** Polls `check` every 300 ms until it holds; throws naming `what` after `ms`. */
export async function waitFor(what: string, check: () => Promise<boolean>, ms = 120_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`timed out waiting for ${what}`);
}

export async function switchAndWait(url: string): Promise<string> {
  const [row] = await sql<{ name: string }>(url, "SELECT pg_walfile_name(pg_switch_wal()) AS name");
  const name = row!.name;
  const deadline = Date.now() + 240_000;
  while (Date.now() < deadline) {
    const [s] = await sql<{ last: string | null; failed: string | null }>(url, 'SELECT last_archived_wal AS last, last_failed_wal AS failed FROM pg_stat_archiver');
    if (s?.last !== null && s!.last! >= name) return name;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${name} was not archived within 240 s`);
}

/** Starts a server on a recovered directory (as a replacement server would be), on a free port. */
export async function startServerOn(dataDir: string, settings: string[] = []): Promise<{ url: (db: string, adminUrl: string) => string; port: number; stop: () => Promise<void> }> {
  const user = unprivilegedUser();
  const port = await freePort();
  const socketDir = tempDir('bantay-sock-');
  if (user !== undefined) chownSync(socketDir, user.uid, user.gid);
  const logFile = join(socketDir, 'server.log');
  const opts = [`-p ${port}`, `-k ${socketDir}`, '-c listen_addresses=127.0.0.1', ...settings].join(' ');
  const env = serverEnv(socketDir);
  const result = await runProgram(pgBinary('pg_ctl'), ['-D', dataDir, '-l', logFile, '-w', '-t', '60', '-o', opts, 'start'], { user, cwd: socketDir, env, timeoutMs: 90_000 });
  if (result.code !== 0) throw new Error(`pg_ctl start failed: ${result.output}`);
  return {
    port,
    url: (db, adminUrl) => {
      const u = new URL(adminUrl);
      u.port = String(port);
      u.pathname = `/${db}`;
      return u.toString();
    },
    stop: async () => {
      await runProgram(pgBinary('pg_ctl'), ['-D', dataDir, '-m', 'fast', '-w', 'stop'], { user, cwd: socketDir, env, timeoutMs: 90_000 });
    },
  };
}
