import { randomBytes } from 'node:crypto';
import type { InPlaceAuthorization } from '../authorization/in-place-authorization.ts';
import { chmod, chown, mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { compactUtcStamp } from '../../catalog/json-record.ts';
import { unprivilegedUser, type RunAsUser } from '../../dev/pg-cluster-process.ts';
import { BantayError, ErrorCode } from '../../errors.ts';
import { classifiedError } from '../../failure.ts';
import { recordAudit } from '../../state/audit-log.ts';
import { finishJobRun, startJobRun } from '../../state/job-runs.ts';
import { runDatabaseBackup } from '../backup-database.ts';
import { listBaseBackups } from '../base-backup/base-manifest.ts';
import type { JobDeps } from '../job-context.ts';
import { describeDatabaseUrl } from '../pg/connection.ts';
import { findPgTool } from '../pg/pg-tools.ts';
import { silentReporter, type ProgressReporter } from '../progress.ts';
import { checkNewTarget, restoreToNewDatabase, type RestoreResult, type RestoreSpec } from '../restore-database.ts';
import { openAdminSession } from '../pg/database-admin.ts';
import { restoreInPlace } from '../restore-in-place.ts';
import { requireIdentity } from '../wal/archive-identity.ts';
import { summarizeArchive } from './archive-summary.ts';
import { checkRecoveredCluster } from './check-recovered.ts';
import { planPointInTime, type PitrPlan } from './plan-pitr.ts';
import { claimRecoveryRun } from './recovery-leftovers.ts';
import { keepFlushing, syncTree } from '../files/tree-writer.ts';
import { recoverOnPrivateSocket, type RecoveredServer, type RecoveryPoint } from './recovery-server.ts';
import { unpackBase } from './unpack-base.ts';
import { FETCH_CLIENT, startWalFetchServer } from './wal-fetch-server.ts';

/** Where the recovered state goes. */
export type PitrTarget =
  | { kind: 'dir'; dir: string }
  /** The drill's: recover and check in the scratch directory, deliver nothing (it is removed). */
  | { kind: 'check' }
  | { kind: 'database'; name: string; replace: boolean; restore: RestoreSpec }
  | { kind: 'in-place'; restore: RestoreSpec; hooks: { stop?: string; start?: string; timeoutSeconds: number }; authorization: InPlaceAuthorization | undefined };

export interface PitrSpec {
  target: Date | 'latest';
  to: PitrTarget;
  /** BANTAY_DATA_DIR: the scratch data directory lives under it (0700). */
  dataDir: string;
  /** The role to read the recovered cluster as; it must exist there (DATABASE_URL's user). */
  role: string;
  /** The FBMS database to copy out for --target-db / --in-place. */
  database?: string;
  describeTime: (d: Date) => string;
  trigger: { by: string; via: 'cli' | 'slack' | 'schedule' | 'api' };
  signal?: AbortSignal;
}

export interface PitrResult {
  baseBackupId: string;
  requested: string;
  point: RecoveryPoint;
  window: { from: string; to: string };
  /** Seconds from start to a recovered, checked cluster (to-dir) or a verified target database. */
  rtoSeconds: number;
  recoverSeconds: number;
  walFilesFetched: number;
  /** Of those, the ones fetched ahead, ready before recovery asked for them. */
  walFilesPrefetched: number;
  /** Seconds spent in each step, in order (where the RTO goes: planning, unpacking, recovering, checking, …). */
  phases: Record<string, number>;
  databases: string[];
  dir?: string;
  /** --target-db / --in-place: the catalogued dump of the recovered database (label pitr-…) and its restore. */
  copyBackupId?: string;
  restore?: RestoreResult;
}

/**
 * Recovers the cluster to a point in time and delivers it to a target. Plan (pure) first, so
 * a time outside the window is refused before anything is written; then unpack the chosen base
 * backup, recover it on a private socket fed from the archive, check it, and: leave the
 * directory (--to-dir), or dump the FBMS database from it into a catalogued backup and restore
 * that through the existing verified path (--target-db, --in-place with its safety backup and
 * atomic swap). The scratch directory is removed in every case.
 */
export async function runPointInTimeRestore(spec: PitrSpec, deps: JobDeps, reporter: ProgressReporter = silentReporter): Promise<PitrResult> {
  const started = Date.now();
  const requested = spec.target === 'latest' ? 'latest' : spec.target.toISOString();
  const runDir = join(spec.dataDir, 'pitr', `${compactUtcStamp(new Date())}-${randomBytes(3).toString('hex')}`);
  let plan: PitrPlan | undefined;
  // A job run (state/job-runs.ts): a restore killed mid-way is closed as abandoned, with an audit row, at the next start.
  const runId = `restore-pitr-${randomBytes(3).toString('hex')}`;
  let running = false;
  const phases: Record<string, number> = {};
  let phaseStarted = started;
  let phaseName = 'planning';
  const phase = (name: string, detail: string) => {
    const now = Date.now();
    phases[phaseName] = (now - phaseStarted) / 1000;
    phaseName = name;
    phaseStarted = now;
    reporter.phase?.(name, detail);
  };
  /** The last step's time, then the RTO: the run succeeded. */
  const finish = (result: Omit<PitrResult, 'rtoSeconds'>) => {
    phases[phaseName] = (Date.now() - phaseStarted) / 1000;
    return succeed(deps, spec, runId, { ...result, rtoSeconds: (Date.now() - started) / 1000 });
  };
  try {
    reporter.phase?.('planning', 'reading the WAL archive and base backups');
    const identity = await requireIdentity(deps.store, deps);
    const bases = (await listBaseBackups(deps.store, deps)).filter((b) => b.systemIdentifier === identity.systemIdentifier);
    plan = planPointInTime(bases, await summarizeArchive(identity, deps), spec.target, spec.describeTime);
    const postgres = await findPgTool('postgres', deps.pgBinDir);
    if (postgres.major !== plan.base.pgMajor) {
      throw new BantayError(ErrorCode.Tool, `${plan.base.id} is a PostgreSQL ${plan.base.pgMajor} cluster; recovering it needs the PostgreSQL ${plan.base.pgMajor} server programs (found ${postgres.version}; set BANTAY_PG_BIN)`);
    }
    if (spec.to.kind === 'database') {
      const session = await openAdminSession(spec.to.restore.databaseUrl, spec.to.restore.maintenanceDb, { lockTimeoutMs: deps.lockTimeoutMs });
      try {
        await checkNewTarget(session, spec.to.name, { maintenanceDb: spec.to.restore.maintenanceDb, replace: spec.to.replace });
      } finally {
        await session.close();
      }
    }
    const user = unprivilegedUser();
    if (spec.to.kind === 'dir') await assertEmptyDir(spec.to.dir);
    await makePrivateDir(runDir, user);
    const dataDir = spec.to.kind === 'dir' ? spec.to.dir : join(runDir, 'data');
    // First: a run cut short by a crash is swept at the next start (recovery-leftovers.ts).
    claimRecoveryRun(runDir, { dataDir, ...(spec.to.kind === 'dir' ? { toDir: spec.to.dir } : {}) });
    await startJobRun(deps.state, { id: runId, job: 'restore pitr', performedBy: spec.trigger.by, backupId: plan.base.id });
    running = true;
    // Started first: the first segments recovery will ask for are fetched while unpacking.
    const fetcher = await startWalFetchServer(join(runDir, 'wal-fetch.sock'), deps, identity, {
      signal: spec.signal,
      onError: (name, err) => deps.logger.warn({ err, wal: name }, 'WAL fetch failed'),
      prefetchDir: join(runDir, 'wal-ahead'),
      onAheadError: (name, err) => deps.logger.debug({ err, wal: name }, 'fetching WAL ahead failed; it is fetched again when recovery asks for it'),
      warm: plan.base.walFrom,
    });
    let server: RecoveredServer | undefined;
    try {
      phase('unpacking', `${plan.base.id} into ${dataDir}`);
      // A --to-dir target is synced at the end; written out while unpacking, that sync has
      // little left (tree-writer.ts keepFlushing). A scratch directory is never synced.
      const flushing = spec.to.kind === 'dir' ? keepFlushing(dataDir) : undefined;
      try {
        await unpackBase(plan.base, dataDir, deps, { owner: user, signal: spec.signal, reporter });
      } finally {
        await flushing?.stop();
      }
      phase('recovering', plan.targetTime ? `to ${spec.describeTime(plan.targetTime)}` : 'to the newest archived WAL');
      server = await recoverOnPrivateSocket({
        dataDir,
        runDir,
        postgres: join(postgres.path, '..', 'postgres'),
        user,
        restoreCommand: [process.execPath, FETCH_CLIENT, fetcher.socketPath].map(shellQuote).join(' ') + ' %f %p',
        timeline: plan.timeline,
        targetTime: plan.targetTime,
        role: spec.role,
        signal: spec.signal,
      });
      const recoverSeconds = (Date.now() - started) / 1000;
      phase('checking', 'the recovered cluster');
      const databases = await checkRecoveredCluster(server, spec.role);
      const base = { baseBackupId: plan.base.id, requested, point: server.point, window: isoWindow(plan), recoverSeconds, walFilesFetched: fetcher.served.length, walFilesPrefetched: fetcher.prefetched.length, phases, databases };
      if (spec.to.kind === 'dir') {
        phase('stopping', 'the recovered cluster (a clean shutdown, then one sync of the directory)');
        await server.stop();
        await finishDirectory(spec.to.dir, user);
        return await finish({ ...base, dir: spec.to.dir });
      }
      if (spec.to.kind === 'check') {
        phase('stopping', 'the recovered cluster');
        await server.stop();
        server = undefined;
        return await finish(base);
      }
      phase('copying', `${spec.database ?? 'the database'} out of the recovered cluster`);
      const copy = await copyOut(spec, server, deps, reporter);
      await server.stop();
      server = undefined;
      phase('restoring', spec.to.kind === 'database' ? `into ${spec.to.name}` : 'in place');
      const restore = spec.to.kind === 'database'
        ? await restoreToNewDatabase({ ...spec.to.restore, backup: copy, target: spec.to.name, replace: spec.to.replace }, deps, reporter)
        : await restoreInPlace({ ...spec.to.restore, backup: copy, hooks: spec.to.hooks, authorization: spec.to.authorization }, deps, reporter);
      return await finish({ ...base, copyBackupId: copy, restore });
    } finally {
      await server?.stop().catch(() => undefined);
      await fetcher.close();
    }
  } catch (err) {
    const error = classifiedError('Point-in-time restore', err, { cancelled: spec.signal?.aborted === true });
    const c = error.classification;
    if (spec.to.kind === 'dir' && plan !== undefined) await emptyDir(spec.to.dir);
    if (running) await finishJobRun(deps.state, runId, { status: c.outcome, errorMessage: error.message, cause: c.cause }).catch(() => undefined);
    await recordAudit(deps.state, {
      operationType: 'restore',
      backupType: 'pitr',
      status: c.outcome,
      errorMessage: error.message,
      performedBy: spec.trigger.by,
      ...(plan ? { backupId: plan.base.id } : {}),
      details: { requested, target: spec.to.kind, classification: { outcome: c.outcome, cause: c.cause } },
    }).catch(() => undefined);
    throw error;
  } finally {
    await rm(runDir, { recursive: true, force: true });
  }
}

/** The FBMS database of the recovered cluster, dumped into a catalogued, encrypted backup. */
async function copyOut(spec: PitrSpec, server: RecoveredServer, deps: JobDeps, reporter: ProgressReporter): Promise<string> {
  if (spec.database === undefined) throw new BantayError(ErrorCode.Usage, 'Copying a database out of the recovered cluster needs DATABASE_URL (which database)');
  const at = server.point.lastTransactionAt ?? new Date().toISOString();
  const manifest = await runDatabaseBackup(
    { databaseUrl: server.url(spec.database), label: `pitr-${compactUtcStamp(new Date(at))}`, trigger: spec.trigger, signal: spec.signal },
    deps,
    reporter,
  );
  return manifest.id;
}

async function succeed(deps: JobDeps, spec: PitrSpec, runId: string, result: PitrResult): Promise<PitrResult> {
  await finishJobRun(deps.state, runId, { status: 'succeeded', backupId: result.baseBackupId });
  await recordAudit(deps.state, {
    operationType: 'restore',
    backupType: 'pitr',
    status: 'succeeded',
    durationSeconds: result.rtoSeconds,
    performedBy: spec.trigger.by,
    backupId: result.baseBackupId,
    details: { requested: result.requested, target: spec.to.kind, lsn: result.point.lsn, lastTransactionAt: result.point.lastTransactionAt, copyBackupId: result.copyBackupId ?? null },
  });
  deps.logger.info({ baseBackupId: result.baseBackupId, lsn: result.point.lsn, rtoSeconds: result.rtoSeconds }, 'point-in-time restore done');
  return result;
}

/**
 * A recovered directory for a replacement server: the new timeline's history file is marked
 * ready for archiving (our private run had archiving off), so the server's own archive_command
 * sends it first when it starts and later restores can follow the new timeline; then the whole
 * directory is synced once (the private run had fsync off).
 */
async function finishDirectory(dir: string, user: RunAsUser | undefined): Promise<void> {
  const walDir = join(dir, 'pg_wal');
  const status = join(walDir, 'archive_status');
  await mkdir(status, { recursive: true });
  const names = new Set(await readdir(status));
  for (const name of await readdir(walDir)) {
    if (!/^[0-9A-F]{8}\.history$/.test(name) || names.has(`${name}.done`) || names.has(`${name}.ready`)) continue;
    const ready = join(status, `${name}.ready`);
    await writeFile(ready, '');
    if (user !== undefined) await chown(ready, user.uid, user.gid);
  }
  // The recovery server ran without fsync: one sync of the finished directory makes it durable.
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const path = (e: (typeof entries)[number]) => join(e.parentPath, e.name);
  await syncTree(dir, entries.filter((e) => e.isFile()).map(path), [...entries.filter((e) => e.isDirectory()).map(path), dir]);
}

async function makePrivateDir(dir: string, user: RunAsUser | undefined): Promise<void> {
  // BANTAY_DATA_DIR/pitr only needs to be traversable by the server's user; each run's own
  // directory is 0700 and belongs to that user.
  await mkdir(dirname(dir), { recursive: true, mode: 0o711 });
  if (user !== undefined) await chmod(dirname(dir), 0o711);
  await mkdir(dir, { recursive: true, mode: 0o700 });
  if (user !== undefined) await chown(dir, user.uid, user.gid);
}

async function assertEmptyDir(dir: string): Promise<void> {
  const entries = await readdir(dir).catch(() => []);
  if (entries.length > 0) throw new BantayError(ErrorCode.InvalidInput, `${dir} is not empty: --to-dir needs a new or empty directory`);
}

async function emptyDir(dir: string): Promise<void> {
  for (const entry of await readdir(dir).catch(() => [])) await rm(join(dir, entry), { recursive: true, force: true });
}

function isoWindow(plan: PitrPlan): { from: string; to: string } {
  return { from: plan.window.from.toISOString(), to: plan.window.to.toISOString() };
}

/** restore_command runs through /bin/sh: each word single-quoted. */
function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

export function roleOf(url: string | undefined): string {
  return (url !== undefined ? describeDatabaseUrl(url).user : undefined) ?? 'postgres';
}
