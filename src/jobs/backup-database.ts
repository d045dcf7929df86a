import { pipeline } from 'node:stream/promises';
import type { Readable, Transform } from 'node:stream';
import { artifactKey, manifestKey, type Manifest } from '../catalog/manifest.ts';
import { newBackupId } from '../catalog/backup-id.ts';
import { writeManifest } from '../catalog/catalog.ts';
import { createEncryptStream } from '../crypto/encrypt-stream.ts';
import { ErrorCode, wrapError } from '../errors.ts';
import { classifiedError, FirstFailure, type ClassifiedError } from '../failure.ts';
import { recordAudit } from '../state/audit-log.ts';
import { finishJobRun, startJobRun } from '../state/job-runs.ts';
import { BANTAY_VERSION } from '../version.ts';
import { linkedAbort, type JobDeps, type Trigger } from './job-context.ts';
import { startDump, type StartedDump } from './dump/start-dump.ts';
import { childEnv, describeDatabaseUrl } from './pg/connection.ts';
import { assertToolNotOlder, findPgTool } from './pg/pg-tools.ts';
import { openSourceSnapshot } from './pg/snapshot.ts';
import { DEFAULT_LOCK_TIMEOUT_MS, tellLockWaits } from './pg/lock-watch.ts';
import { silentReporter, type ProgressReporter } from './progress.ts';
import { createEndGate, StreamMeter } from './stream-meter.ts';
import { startContentCapture } from './contents/backup-contents.ts';
import { globalsKey, writeGlobals } from './globals/globals-artifact.ts';

/** Names the stream format of new artifacts in manifests; v1 in manifests of earlier versions. */
export const ENCRYPTION_ALGORITHM = 'AES-256-GCM-STREAM-v2';

export interface DatabaseBackupSpec {
  databaseUrl: string;
  label?: string;
  /** Set membership and the emergency flag, copied into the manifest (backup full/pre-deploy/emergency). */
  manifestExtras?: Pick<Manifest, 'setId' | 'setRole' | 'emergency'>;
  trigger: Trigger;
  signal?: AbortSignal;
}

/**
 * Backs up the FBMS database: one `pg_dump -Fc` streamed through SHA-256, encryption and
 * SHA-256 again into the store, with exact row counts taken in the dump's own snapshot. The
 * manifest is written last; on any failure nothing is listed and the artifact is removed.
 */
export async function runDatabaseBackup(
  spec: DatabaseBackupSpec,
  deps: JobDeps,
  reporter: ProgressReporter = silentReporter,
): Promise<Manifest> {
  const started = deps.now?.() ?? new Date();
  const id = newBackupId('database', started);
  const key = artifactKey(id, deps.keyRing.primary ? 'database.dump.enc' : 'database.dump');
  await startJobRun(deps.state, { id, job: 'backup database', performedBy: spec.trigger.by });
  try {
    const manifest = await dumpToStore(spec, deps, reporter, { id, key, started });
    await succeed(deps, spec, manifest);
    return manifest;
  } catch (err) {
    const error = classifiedError('Backup', err, { cancelled: spec.signal?.aborted === true });
    // The manifest goes first: it may already be stored when a later step failed, and a
    // listed backup whose artifact is gone is worse than no backup at all.
    await deps.store.delete(manifestKey(id)).catch(() => undefined);
    await deps.store.delete(key).catch(() => undefined);
    await deps.store.delete(globalsKey(id, deps.keyRing.primary !== undefined)).catch(() => undefined);
    await fail(deps, spec, { id, key, started, error });
    throw error;
  }
}

async function dumpToStore(
  spec: DatabaseBackupSpec,
  deps: JobDeps,
  reporter: ProgressReporter,
  run: { id: string; key: string; started: Date },
): Promise<Manifest> {
  const source = describeDatabaseUrl(spec.databaseUrl);
  reporter.phase?.('connecting', `${source.host}/${source.database}`);
  const lockTimeoutMs = deps.lockTimeoutMs ?? DEFAULT_LOCK_TIMEOUT_MS;
  // Names unique to this run, so the lock watcher finds exactly this backup's sessions.
  const apps = { snapshot: `bantay-snapshot ${run.id}`.slice(0, 63), dump: `bantay-pg_dump ${run.id}`.slice(0, 63) };
  const snapshot = await openSourceSnapshot(spec.databaseUrl, { lockTimeoutMs, applicationName: apps.snapshot });
  const watcher = tellLockWaits(spec.databaseUrl, [apps.snapshot, apps.dump], { timeoutMs: lockTimeoutMs, warn: (m) => reporter.warn?.(m), logger: deps.logger, context: { backupId: run.id } });
  try {
    const pgDump = await findPgTool('pg_dump', deps.pgBinDir);
    assertToolNotOlder(pgDump, 'pg_dump', snapshot.serverVersion, snapshot.serverMajor);
    if (!deps.keyRing.primary) reporter.warn?.('No encryption key configured: this backup is stored UNENCRYPTED.');
    const abort = linkedAbort(spec.signal);
    const capture = await startContentCapture(snapshot, run.id, { passwords: deps.backupRolePasswords === true });
    // Compression and the parallel path: src/jobs/dump/ (BANTAY_DUMP_*).
    const dump = await startDump({
      pgDump,
      databaseUrl: spec.databaseUrl,
      snapshotId: snapshot.snapshotId,
      extraArgs: [`--lock-wait-timeout=${lockTimeoutMs}`],
      env: { ...childEnv(spec.databaseUrl), PGAPPNAME: apps.dump },
      settings: deps.dump,
      signal: abort.signal,
    });
    const tool = dump.tool;
    reporter.phase?.('dumping', `pg_dump ${pgDump.version} (${dump.description}) -> ${deps.store.description}`);
    const counting = capture.reading;
    // Every error is noted in the order it happens; the first real one is the reason, never
    // the cancels and broken pipes it causes (pg_dump killed by our abort included).
    const first = new FirstFailure();
    counting.catch((error: unknown) => {
      first.note(wrapError(ErrorCode.Database, 'Counting the rows of the FBMS database failed', error));
      abort.abort();
    });
    const meters = await streamDump(tool, deps, reporter, run.key, abort, first)
      .catch((err: unknown) => {
        throw first.get(err);
      })
      .finally(() => abort.release());
    const { tables, contents, globals } = await capture.finish().catch((err: unknown) => {
      throw wrapError(ErrorCode.Database, 'Counting the rows of the FBMS database failed', err);
    });
    if (deps.backupRolePasswords === true && !globals.passwords) reporter.warn?.('BANTAY_BACKUP_ROLE_PASSWORDS is set, but this server does not let Bantay read pg_authid: roles are saved without passwords.');
    const globalsRef = await writeGlobals(globals, deps, spec.signal);
    reporter.phase?.('writing manifest');
    const completed = deps.now?.() ?? new Date();
    const manifest: Manifest = {
      formatVersion: 2,
      id: run.id,
      kind: 'database',
      createdAt: run.started.toISOString(),
      completedAt: completed.toISOString(),
      durationSeconds: (completed.getTime() - run.started.getTime()) / 1000,
      ...(spec.label !== undefined ? { label: spec.label } : {}),
      trigger: spec.trigger,
      source: {
        host: source.host,
        port: source.port,
        database: source.database,
        serverVersion: snapshot.serverVersion,
        ...(snapshot.systemIdentifier !== undefined ? { systemIdentifier: snapshot.systemIdentifier } : {}),
      },
      tools: { bantay: BANTAY_VERSION, pg_dump: pgDump.version },
      artifact: {
        key: run.key,
        format: dump.format,
        sizeBytes: meters.stored.bytes,
        sha256: meters.stored.digest(),
        plainSizeBytes: meters.plain.bytes,
        plainSha256: meters.plain.digest(),
        encryption: deps.keyRing.primary ? { algorithm: ENCRYPTION_ALGORITHM, keyId: deps.keyRing.primary.id } : null,
      },
      tables,
      contents,
      globals: globalsRef,
      ...spec.manifestExtras,
    };
    await writeManifest(deps.store, manifest, deps, spec.signal);
    return manifest;
  } finally {
    await watcher.stop();
    await snapshot.close();
  }
}

/** Streams pg_dump's stdout into the store; resolves with the plain and stored meters. */
async function streamDump(
  tool: StartedDump['tool'],
  deps: JobDeps,
  reporter: ProgressReporter,
  key: string,
  abort: AbortController,
  first: FirstFailure,
): Promise<{ plain: StreamMeter; stored: StreamMeter }> {
  const plain = new StreamMeter();
  const stored = new StreamMeter((bytes) => reporter.bytes?.(bytes));
  const stages: Array<Readable | Transform> = [tool.child.stdout, plain];
  if (deps.keyRing.primary) stages.push(createEncryptStream(deps.keyRing.primary, key));
  stages.push(stored, createEndGate(() => tool.done));
  const body = stages[stages.length - 1] as Transform;
  const piping = pipeline(stages, { signal: abort.signal });
  const putting = deps.store.put(key, body, { signal: abort.signal, contentType: 'application/octet-stream', onRetry: (message) => reporter.warn?.(message) });
  const [pipe, put] = await Promise.allSettled([piping.catch(onFail), putting.catch(onFail)]);
  if (pipe.status === 'fulfilled' && put.status === 'fulfilled') return { plain, stored };
  // pg_dump's own message ("password authentication failed", "server version mismatch") says
  // more than the broken pipe it caused downstream; it reaches `first` through the end gate
  // when pg_dump failed by itself. When it was killed by our abort, it is a consequence.
  const toolError = await tool.done.then(() => undefined, (e: unknown) => e);
  if (toolError !== undefined) first.note(toolError);
  throw first.get(put.status === 'rejected' ? put.reason : (pipe as PromiseRejectedResult).reason);

  function onFail(err: unknown): never {
    first.note(err);
    abort.abort();
    body.destroy(err instanceof Error ? err : new Error(String(err)));
    throw err;
  }
}

async function succeed(deps: JobDeps, spec: DatabaseBackupSpec, m: Manifest): Promise<void> {
  await finishJobRun(deps.state, m.id, { status: 'succeeded', backupId: m.id });
  await recordAudit(deps.state, {
    operationType: 'backup',
    backupType: 'database',
    status: 'succeeded',
    filePath: m.artifact.key,
    fileSize: m.artifact.sizeBytes,
    durationSeconds: m.durationSeconds,
    performedBy: spec.trigger.by,
    backupId: m.id,
    details: { label: m.label ?? null, encrypted: m.artifact.encryption !== null, via: spec.trigger.via },
  });
  deps.logger.info({ backupId: m.id, sizeBytes: m.artifact.sizeBytes, durationSeconds: m.durationSeconds }, 'database backup stored');
}

async function fail(deps: JobDeps, spec: DatabaseBackupSpec, run: { id: string; key: string; started: Date; error: ClassifiedError }): Promise<void> {
  const durationSeconds = ((deps.now?.() ?? new Date()).getTime() - run.started.getTime()) / 1000;
  const c = run.error.classification;
  deps.logger.error({ err: run.error, backupId: run.id, outcome: c.outcome, cause: c.cause }, `database backup ${c.outcome}`);
  await finishJobRun(deps.state, run.id, { status: c.outcome, errorMessage: run.error.message, cause: c.cause }).catch(() => undefined);
  await recordAudit(deps.state, {
    operationType: 'backup',
    backupType: 'database',
    status: c.outcome,
    filePath: run.key,
    durationSeconds,
    errorMessage: run.error.message,
    performedBy: spec.trigger.by,
    backupId: run.id,
    details: { classification: { outcome: c.outcome, cause: c.cause }, via: spec.trigger.via },
  }).catch((err: unknown) => deps.logger.error({ err }, 'could not write the audit row'));
}
