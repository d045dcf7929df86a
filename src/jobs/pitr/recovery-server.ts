import { spawn, type ChildProcess } from 'node:child_process';
import { access, appendFile, chown, mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import pg from 'pg';
import { freePort, serverEnv, type RunAsUser } from '../../dev/pg-cluster-process.ts';
import { BantayError, ErrorCode } from '../../errors.ts';
import { redactSecrets } from '../../log/redact.ts';

export interface RecoverySettings {
  /** The data directory, unpacked from a base backup, owned by `user`. */
  dataDir: string;
  /** Private 0700 directory (owned by `user`): socket, log, our pg_hba. */
  runDir: string;
  postgres: string;
  user: RunAsUser | undefined;
  /** The restore_command to put on the server's command line (holds no secret). */
  restoreCommand: string;
  timeline: number;
  /** undefined: to the end of the archive. */
  targetTime: Date | undefined;
  /** The role to connect as over the private socket (trust); it must exist in the recovered cluster. */
  role: string;
  signal?: AbortSignal;
}

export interface RecoveryPoint {
  /** The last WAL record replayed. */
  lsn: string | null;
  /** Commit time of the last transaction replayed (null: none after the base backup). */
  lastTransactionAt: string | null;
  /** The timeline the cluster runs on after promotion. */
  timeline: number | null;
  /** The archive held nothing after the target's last commit: recovered to its end instead. */
  reachedEndOfArchive: boolean;
}

export interface RecoveredServer {
  socketDir: string;
  port: number;
  point: RecoveryPoint;
  /** A URL for `database` as `role` over the private socket (no password: trust, socket dir 0700). */
  url(database: string): string;
  logTail(): Promise<string>;
  /** Fast shutdown (a checkpoint, so the directory is clean). */
  stop(): Promise<void>;
}

const NOT_REACHED = /recovery ended before configured recovery target was reached/;

/**
 * Runs PostgreSQL on the unpacked directory until it has recovered: restore_command feeds it
 * the archive, recovery_target_time stops it and it is promoted at once (the exact point stays
 * readable). Only a Unix socket in a private directory is open (listen_addresses=''), with
 * our own pg_hba; archiving is off, so a scratch recovery never writes into the archive. When
 * the archive holds no commit after the target (a quiet database), PostgreSQL refuses to stop
 * "before the target"; the archive is complete up to the target, so recovering to its end is
 * the same state, and we do that.
 */
export async function recoverOnPrivateSocket(s: RecoverySettings): Promise<RecoveredServer> {
  const socketDir = join(s.runDir, 'socket');
  await mkdir(socketDir, { recursive: true, mode: 0o700 });
  const hba = join(s.runDir, 'pg_hba.conf');
  const ident = join(s.runDir, 'pg_ident.conf');
  await writeFile(hba, 'local all all trust\n', { mode: 0o600 });
  await writeFile(ident, '', { mode: 0o600 });
  // Debian keeps postgresql.conf in /etc: the directory must still start.
  const conf = join(s.dataDir, 'postgresql.conf');
  if (!(await exists(conf))) await writeFile(conf, '# created by bantay restore: the original server kept its configuration elsewhere\n', { mode: 0o600 });
  await writeFile(join(s.dataDir, 'recovery.signal'), '', { mode: 0o600 });
  if (s.user !== undefined) {
    for (const path of [socketDir, hba, ident, conf, join(s.dataDir, 'recovery.signal')]) await chown(path, s.user.uid, s.user.gid);
  }
  const logFile = join(s.runDir, 'server.log');
  let reachedEnd = false;
  let server = await startServer(s, socketDir, hba, ident, logFile, s.targetTime);
  let state = await waitForRecovery(s, server, logFile);
  if (state === 'target-not-reached') {
    reachedEnd = true;
    await appendFile(logFile, '\n# bantay: no commit after the target in the archive; recovering to its end\n');
    server = await startServer(s, socketDir, hba, ident, logFile, undefined);
    state = await waitForRecovery(s, server, logFile);
  }
  if (state !== 'promoted') throw new BantayError(ErrorCode.Tool, `Recovery did not finish: ${await tail(logFile)}`);
  const point = await readPoint(server, s.role, logFile, reachedEnd);
  return {
    socketDir,
    port: server.port,
    point,
    url: (database) => urlFor(s.role, socketDir, server.port, database),
    logTail: () => tail(logFile),
    stop: () => stopServer(server.child),
  };
}

interface Running {
  child: ChildProcess;
  port: number;
  socketDir: string;
  exited: Promise<number | null>;
  /** Where this server's lines start in the (appended) log. */
  logFrom: number;
}

async function startServer(s: RecoverySettings, socketDir: string, hba: string, ident: string, logFile: string, target: Date | undefined): Promise<Running> {
  const port = await freePort();
  const settings: Record<string, string> = {
    data_directory: s.dataDir,
    port: String(port),
    listen_addresses: '',
    unix_socket_directories: socketDir,
    hba_file: hba,
    ident_file: ident,
    archive_mode: 'off',
    // A scratch run: a crash ends it anyway (and the next start sweeps it). Without fsync the
    // server neither flushes the whole unpacked directory before replaying (SyncDataDirectory)
    // nor at every checkpoint; a --to-dir result is made durable once, after the clean
    // shutdown (run-pitr.ts), and a copied-out cluster never needs to be.
    fsync: 'off',
    // Replay and one pg_dump need few buffers (the OS caches the files); the default 128 MB,
    // touched during a copy-out, made the server the biggest process of the restore.
    shared_buffers: '32MB',
    ssl: 'off',
    logging_collector: 'off',
    log_destination: 'stderr',
    hot_standby: 'on',
    // The log is read for the moments below: in English whatever the host's locale.
    lc_messages: 'C',
    restore_command: s.restoreCommand,
    recovery_target_timeline: String(s.timeline),
  };
  if (target !== undefined) {
    settings.recovery_target_time = target.toISOString().replace('T', ' ').replace('Z', '+00');
    // Promote at once: the point reached stays readable afterwards (pg_last_wal_replay_lsn and
    // pg_last_xact_replay_timestamp keep their values once recovery is over).
    settings.recovery_target_action = 'promote';
  }
  const args = ['-D', s.dataDir, ...Object.entries(settings).flatMap(([k, v]) => ['-c', `${k}=${v}`])];
  const log = await open(logFile, 'a', 0o600);
  const logFrom = (await log.stat()).size;
  if (s.user !== undefined) await chown(logFile, s.user.uid, s.user.gid);
  const child = spawn(s.postgres, args, {
    cwd: s.dataDir,
    env: serverEnv(s.runDir),
    stdio: ['ignore', log.fd, log.fd],
    ...(s.user === undefined ? {} : { uid: s.user.uid, gid: s.user.gid }),
  });
  await log.close();
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.once('error', () => resolve(-1));
  });
  return { child, port, socketDir, exited, logFrom };
}

type RecoveryState = 'promoted' | 'target-not-reached' | 'exited';

const READY = /database system is ready to accept connections/;

/**
 * Waits until the server is promoted or exits. It watches the server's log for the line
 * PostgreSQL writes once it accepts read-write connections and only then asks the server: a
 * connection attempt during recovery forks a backend that is refused, dozens per second on the
 * cores replay needs. Asked once a second regardless, in case the line never comes.
 */
async function waitForRecovery(s: RecoverySettings, server: Running, logFile: string): Promise<RecoveryState> {
  let exitCode: number | null | undefined;
  void server.exited.then((code) => (exitCode = code));
  let lastAsked = Date.now();
  // Only what the server appended since the last look is read (a long replay logs a line per segment).
  let read = server.logFrom;
  let carry = '';
  let ready = false;
  const readMore = async () => {
    const handle = await open(logFile, 'r').catch(() => undefined);
    if (handle === undefined) return;
    try {
      const { size } = await handle.stat();
      if (size <= read) return;
      const chunk = Buffer.alloc(size - read);
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, read);
      read += bytesRead;
      // A line split between two reads is matched once it is whole.
      const text = carry + chunk.subarray(0, bytesRead).toString('utf8');
      ready ||= READY.test(text);
      carry = text.slice(text.lastIndexOf('\n') + 1);
    } finally {
      await handle.close();
    }
  };
  for (;;) {
    if (s.signal?.aborted) {
      await stopServer(server.child);
      throw new BantayError(ErrorCode.Aborted, 'Recovery cancelled');
    }
    if (exitCode !== undefined) return NOT_REACHED.test(await readLog(logFile, server.logFrom)) ? 'target-not-reached' : 'exited';
    await readMore();
    if (ready || Date.now() - lastAsked >= 1000) {
      lastAsked = Date.now();
      const [row] = (await query<{ rec: boolean }>(server, s.role, 'SELECT pg_is_in_recovery() AS rec').catch(() => undefined)) ?? [];
      if (row?.rec === false) return 'promoted';
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** This server's part of the log, read once when it exited. */
async function readLog(logFile: string, from: number): Promise<string> {
  const text = await readFile(logFile).catch(() => Buffer.alloc(0));
  return text.subarray(from).toString('utf8');
}

async function readPoint(server: Running, role: string, logFile: string, reachedEndOfArchive: boolean): Promise<RecoveryPoint> {
  const rows = await query<{ lsn: string | null; at: Date | null }>(server, role, 'SELECT pg_last_wal_replay_lsn()::text AS lsn, pg_last_xact_replay_timestamp() AS at');
  const log = await readFile(logFile, 'utf8').catch(() => '');
  const timelines = [...log.matchAll(/selected new timeline ID: (\d+)/g)];
  const fromLog = /last completed transaction was at log time (.+)$/m.exec(log)?.[1];
  const at = rows[0]?.at ?? (fromLog !== undefined ? new Date(fromLog) : null);
  return {
    lsn: rows[0]?.lsn ?? null,
    lastTransactionAt: at === null || Number.isNaN(at.getTime()) ? null : at.toISOString(),
    timeline: timelines.length > 0 ? Number(timelines.at(-1)![1]) : null,
    reachedEndOfArchive,
  };
}

async function query<R extends pg.QueryResultRow>(server: Running, role: string, sql: string): Promise<R[]> {
  const client = new pg.Client({ host: server.socketDir, port: server.port, user: role, database: 'template1', connectionTimeoutMillis: 5000 });
  client.on('error', () => undefined);
  try {
    await client.connect();
    return (await client.query<R>(sql)).rows;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function stopServer(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGQUIT'), 60_000);
  await exited;
  clearTimeout(timer);
}

function urlFor(role: string, socketDir: string, port: number, database: string): string {
  // The host query parameter (the socket directory) wins over "localhost", as in libpq.
  return `postgres://${encodeURIComponent(role)}@localhost:${port}/${encodeURIComponent(database)}?host=${encodeURIComponent(socketDir)}`;
}

async function tail(logFile: string): Promise<string> {
  const text = await readFile(logFile, 'utf8').catch(() => '');
  return redactSecrets(text.trim().split('\n').slice(-8).join(' | '));
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}
