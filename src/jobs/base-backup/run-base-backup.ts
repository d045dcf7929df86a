import { BantayError, ErrorCode } from '../../errors.ts';
import { classifiedError, isConsequence } from '../../failure.ts';
import { recordAudit } from '../../state/audit-log.ts';
import { finishJobRun, startJobRun } from '../../state/job-runs.ts';
import { BANTAY_VERSION } from '../../version.ts';
import { putSealed } from '../files/sealed-object.ts';
import { linkedAbort, type JobDeps, type Trigger } from '../job-context.ts';
import { childEnv, describeDatabaseUrl } from '../pg/connection.ts';
import { assertToolNotOlder, findPgTool } from '../pg/pg-tools.ts';
import { runTool } from '../pg/run-tool.ts';
import { silentReporter, type ProgressReporter } from '../progress.ts';
import { createEndGate } from '../stream-meter.ts';
import { ensureIdentity } from '../wal/archive-identity.ts';
import { WAL_ENCRYPTION } from '../wal/push-wal.ts';
import { identifyServer } from '../wal/replication-connection.ts';
import { parseLsn, segmentOfLsn } from '../wal/wal-names.ts';
import { basebackupCompressArg, DEFAULT_BASE_COMPRESSION, describeBaseCompression, type BaseCompression } from './base-compression.ts';
import { baseArtifactKey, baseManifestKey, newBaseId, writeBaseManifest, type BaseManifest } from './base-manifest.ts';

export interface BaseBackupSpec {
  /** A role WITH REPLICATION (BANTAY_REPLICATION_URL, else DATABASE_URL). */
  replicationUrl: string;
  /** pg_basebackup --compress=server-...; default DEFAULT_BASE_COMPRESSION (zstd level 1). */
  compression?: BaseCompression;
  trigger: Trigger;
  signal?: AbortSignal;
}

/**
 * Takes a physical base backup: `pg_basebackup -D - -Ft -X fetch` with the server compressing
 * (zstd level 1 by default, see base-compression.ts), streamed through SHA-256, encryption and
 * SHA-256 into the store.
 * -X fetch puts the WAL from start to stop into the tar, so every base backup restores even if
 * the archive lost a segment; the archive carries recovery on from there. The manifest, with
 * start/stop LSN, timeline and system identifier, is written last.
 */
export async function runBaseBackup(spec: BaseBackupSpec, deps: JobDeps, reporter: ProgressReporter = silentReporter): Promise<BaseManifest> {
  const started = deps.now?.() ?? new Date();
  const id = newBaseId(started);
  const encrypted = deps.keyRing.primary !== undefined;
  const compression = spec.compression ?? DEFAULT_BASE_COMPRESSION;
  const key = baseArtifactKey(id, encrypted, compression.method);
  await startJobRun(deps.state, { id, job: 'backup base', performedBy: spec.trigger.by });
  try {
    const manifest = await backupToStore(spec, deps, reporter, { id, key, started, compression });
    await finishJobRun(deps.state, id, { status: 'succeeded', backupId: id });
    await recordAudit(deps.state, {
      operationType: 'backup',
      backupType: 'base',
      status: 'succeeded',
      filePath: key,
      fileSize: manifest.artifact.sizeBytes,
      durationSeconds: manifest.durationSeconds,
      performedBy: spec.trigger.by,
      backupId: id,
      details: { startLsn: manifest.startLsn, stopLsn: manifest.stopLsn, timeline: manifest.timeline, encrypted, via: spec.trigger.via },
    });
    deps.logger.info({ backupId: id, sizeBytes: manifest.artifact.sizeBytes, durationSeconds: manifest.durationSeconds }, 'base backup stored');
    return manifest;
  } catch (err) {
    const error = classifiedError('Base backup', err, { cancelled: spec.signal?.aborted === true });
    const c = error.classification;
    await deps.store.delete(baseManifestKey(id)).catch(() => undefined);
    await deps.store.delete(key).catch(() => undefined);
    const durationSeconds = ((deps.now?.() ?? new Date()).getTime() - started.getTime()) / 1000;
    deps.logger.error({ err: error, backupId: id, outcome: c.outcome, cause: c.cause }, `base backup ${c.outcome}`);
    await finishJobRun(deps.state, id, { status: c.outcome, errorMessage: error.message, cause: c.cause }).catch(() => undefined);
    await recordAudit(deps.state, {
      operationType: 'backup',
      backupType: 'base',
      status: c.outcome,
      filePath: key,
      durationSeconds,
      errorMessage: error.message,
      performedBy: spec.trigger.by,
      backupId: id,
      details: { classification: { outcome: c.outcome, cause: c.cause } },
    }).catch(() => undefined);
    throw error;
  }
}

async function backupToStore(spec: BaseBackupSpec, deps: JobDeps, reporter: ProgressReporter, run: { id: string; key: string; started: Date; compression: BaseCompression }): Promise<BaseManifest> {
  const source = describeDatabaseUrl(spec.replicationUrl);
  reporter.phase?.('connecting', `replication connection to ${source.host}`);
  const server = await identifyServer(spec.replicationUrl);
  const tool = await findPgTool('pg_basebackup', deps.pgBinDir);
  assertToolNotOlder(tool, 'pg_basebackup', server.serverVersion, server.serverMajor);
  await ensureIdentity(deps.store, deps, { systemIdentifier: server.systemIdentifier, pgMajor: server.serverMajor });
  if (!deps.keyRing.primary) reporter.warn?.('No encryption key configured: this base backup is stored UNENCRYPTED.');
  const args = ['-D', '-', '-Ft', '-X', 'fetch', '--checkpoint=fast', '--no-manifest', '--verbose', '--no-password', `--label=bantay ${run.id}`];
  args.push(basebackupCompressArg(run.compression));
  reporter.phase?.('copying', `pg_basebackup ${tool.version} (${describeBaseCompression(run.compression)}) -> ${deps.store.description}`);
  const abort = linkedAbort(spec.signal);
  const child = runTool(tool.path, args, { env: childEnv(spec.replicationUrl), signal: abort.signal, name: 'pg_basebackup' });
  let sealed;
  try {
    sealed = await putSealed(child.child.stdout, [createEndGate(() => child.done)], run.key, deps, {
      signal: abort.signal,
      onBytes: (bytes) => reporter.bytes?.(bytes),
      onRetry: (message) => reporter.warn?.(message),
    });
  } catch (err) {
    abort.abort();
    // The first real cause: pg_basebackup's own message when the upload only saw the broken pipe
    // or premature end it caused; the store's error (full, unreachable) when pg_basebackup only
    // failed because of it (killed by our abort, or its pipe reset once nobody read it).
    const own = await child.done.then(() => undefined, (e: unknown) => e);
    throw own !== undefined && isConsequence(err) ? own : err;
  } finally {
    abort.release();
  }
  const points = parseBackupPoints(child.stderrTail());
  const completed = deps.now?.() ?? new Date();
  reporter.phase?.('writing manifest');
  const manifest: BaseManifest = {
    formatVersion: 1,
    kind: 'base',
    id: run.id,
    createdAt: run.started.toISOString(),
    completedAt: completed.toISOString(),
    durationSeconds: (completed.getTime() - run.started.getTime()) / 1000,
    trigger: spec.trigger,
    source: { host: source.host, ...(source.port !== undefined ? { port: source.port } : {}), serverVersion: server.serverVersion },
    systemIdentifier: server.systemIdentifier,
    pgMajor: server.serverMajor,
    timeline: points.timeline,
    startLsn: points.startLsn,
    stopLsn: points.stopLsn,
    walFrom: segmentOfLsn(points.timeline, parseLsn(points.startLsn)),
    walTo: segmentOfLsn(points.timeline, parseLsn(points.stopLsn)),
    consistentAt: completed.toISOString(),
    tools: { bantay: BANTAY_VERSION, pg_basebackup: tool.version },
    artifact: {
      key: run.key,
      format: 'pg_basebackup-tar',
      compression: run.compression.method,
      sizeBytes: sealed.sizeBytes,
      sha256: sealed.sha256,
      plainSizeBytes: sealed.plainSizeBytes,
      plainSha256: sealed.plainSha256,
      encryption: deps.keyRing.primary ? { algorithm: WAL_ENCRYPTION, keyId: deps.keyRing.primary.id } : null,
    },
  };
  await writeBaseManifest(deps.store, manifest, deps, spec.signal);
  return manifest;
}

/** pg_basebackup --verbose names the backup's WAL start (with its timeline) and end points. */
export function parseBackupPoints(stderr: string): { startLsn: string; stopLsn: string; timeline: number } {
  const start = /write-ahead log start point: ([0-9A-F]+\/[0-9A-F]+) on timeline (\d+)/i.exec(stderr);
  const stop = /write-ahead log end point: ([0-9A-F]+\/[0-9A-F]+)/i.exec(stderr);
  if (!start || !stop) throw new BantayError(ErrorCode.Tool, 'pg_basebackup did not report its WAL start and end points');
  return { startLsn: start[1]!, timeline: Number(start[2]), stopLsn: stop[1]! };
}
