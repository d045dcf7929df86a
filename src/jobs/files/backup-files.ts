import { realpath, rm } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { newBackupId } from '../../catalog/backup-id.ts';
import { writeManifest } from '../../catalog/catalog.ts';
import { archiveKey, indexKey, type TreeState } from '../../catalog/file-index.ts';
import { manifestKey, type Manifest } from '../../catalog/manifest.ts';
import { BantayError, ErrorCode, isAbortError, isBantayError } from '../../errors.ts';
import { classifiedError, type ClassifiedError } from '../../failure.ts';
import { recordAudit } from '../../state/audit-log.ts';
import { finishJobRun, startJobRun } from '../../state/job-runs.ts';
import { BANTAY_VERSION } from '../../version.ts';
import { ENCRYPTION_ALGORITHM } from '../backup-database.ts';
import type { JobDeps, Trigger } from '../job-context.ts';
import { silentReporter, type ProgressReporter } from '../progress.ts';
import { archiveTree, type ArchiveOutcome } from './archive-writer.ts';
import { latestUploadsBackup, loadChain, loadTreeState, planUploadsChain } from './chain.ts';
import { compileExcludes } from './exclude-globs.ts';
import { writeIndex } from './index-store.ts';
import { putSealed, type SealedObject } from './sealed-object.ts';
import { walkTree } from './tree-walk.ts';
import { jobTempBase, makeJobTempDir } from '../../util/temp-dir.ts';

export const FILES_ARCHIVE_FORMAT = 'bantay-files-tar-v1';

interface CommonSpec {
  label?: string;
  /** Set membership (backup full / pre-deploy). */
  setId?: string;
  trigger: Trigger;
  signal?: AbortSignal;
}

export interface ApplicationBackupSpec extends CommonSpec {
  appDir: string;
  /** Globs (exclude-globs.ts); BANTAY_APP_EXCLUDE. */
  exclude: readonly string[];
}

export interface UploadsBackupSpec extends CommonSpec {
  uploadsDir: string;
  /** Start a new chain even if the current one is young enough (--full). */
  full?: boolean;
  /** BANTAY_UPLOADS_CHAIN_DAYS. */
  chainDays: number;
  /** BANTAY_UPLOADS_STRICT: a file that cannot be read consistently fails the backup instead of being skipped. */
  strict?: boolean;
}

/** A tar of APP_DIR without the excluded paths, with its file index. Always a full backup. */
export async function runApplicationBackup(spec: ApplicationBackupSpec, deps: JobDeps, reporter: ProgressReporter = silentReporter): Promise<Manifest> {
  return runFilesBackup({ kind: 'application', sourceDir: spec.appDir, exclude: [...spec.exclude], common: spec }, deps, reporter);
}

/**
 * UPLOADS_DIR, incrementally: a full backup starts a chain; later ones store only what changed
 * since the chain's latest backup (see archive-writer.ts). A parent that cannot be read (pruned,
 * damaged, key gone) starts a new chain with a warning rather than failing the night's backup.
 */
export async function runUploadsBackup(spec: UploadsBackupSpec, deps: JobDeps, reporter: ProgressReporter = silentReporter): Promise<Manifest> {
  return runFilesBackup({ kind: 'uploads', sourceDir: spec.uploadsDir, exclude: [], common: spec, uploads: spec }, deps, reporter);
}

interface FilesRun {
  kind: 'application' | 'uploads';
  sourceDir: string;
  exclude: string[];
  common: CommonSpec;
  uploads?: UploadsBackupSpec;
}

interface Parent {
  manifest: Manifest;
  state: TreeState;
}

async function runFilesBackup(run: FilesRun, deps: JobDeps, reporter: ProgressReporter): Promise<Manifest> {
  const started = deps.now?.() ?? new Date();
  const id = newBackupId(run.kind, started);
  const encrypted = deps.keyRing.primary !== undefined;
  const keys = { archive: archiveKey(id, encrypted), index: indexKey(id, encrypted) };
  await startJobRun(deps.state, { id, job: `backup ${run.kind}`, performedBy: run.common.trigger.by });
  const tempDir = await makeJobTempDir(jobTempBase(deps), 'files-');
  try {
    const manifest = await archiveToStore(run, deps, reporter, { id, keys, started, tempDir });
    await succeed(deps, run, manifest);
    return manifest;
  } catch (err) {
    const error = classifiedError('Backup', err, { cancelled: run.common.signal?.aborted === true });
    // The manifest first: it may already be stored when a later step failed, and a listed
    // backup whose archive is gone is worse than no backup at all.
    await deps.store.delete(manifestKey(id)).catch(() => undefined);
    await Promise.all([deps.store.delete(keys.archive).catch(() => undefined), deps.store.delete(keys.index).catch(() => undefined)]);
    await fail(deps, run, { id, key: keys.archive, started, error });
    throw error;
  } finally {
    await rm(tempDir, { recursive: true, force: true });
  }
}

async function archiveToStore(
  run: FilesRun,
  deps: JobDeps,
  reporter: ProgressReporter,
  ctx: { id: string; keys: { archive: string; index: string }; started: Date; tempDir: string },
): Promise<Manifest> {
  const sourcePath = resolve(run.sourceDir);
  const root = await realpath(sourcePath).catch((err: unknown) => {
    throw new BantayError(ErrorCode.NotFound, `The ${run.kind} directory ${sourcePath} cannot be read: ${(err as Error).message}`, { cause: err });
  });
  if (!deps.keyRing.primary) reporter.warn?.('No encryption key configured: this backup is stored UNENCRYPTED.');
  const parent = run.uploads ? await chooseParent(run.uploads, sourcePath, deps, reporter, ctx.started) : undefined;
  reporter.phase?.('archiving', `${sourcePath} -> ${deps.store.description}${parent ? ` (incremental on ${parent.manifest.id})` : ''}`);
  const walk = walkTree(root, { exclude: compileExcludes(run.exclude), onWarning: (m) => reporter.warn?.(m), signal: run.common.signal });
  const { chunks, outcome } = archiveTree(walk, {
    root,
    backupId: ctx.id,
    previous: parent?.state,
    ...(parent ? { parentStartedMs: Date.parse(parent.manifest.createdAt) } : {}),
    tempDir: ctx.tempDir,
    skipUnstable: run.kind === 'uploads' && run.uploads?.strict !== true,
    detectChanges: run.kind === 'uploads',
  });
  const archive = await putSealed(Readable.from(chunks, { objectMode: false }), [], ctx.keys.archive, deps, {
    signal: run.common.signal,
    onBytes: (bytes) => reporter.bytes?.(bytes),
    onRetry: (message) => reporter.warn?.(message),
  });
  for (const skip of outcome.skipped) reporter.warn?.(`Skipped ${skip.path}: it ${skip.reason} (tried twice; BANTAY_UPLOADS_STRICT=1 fails the backup instead)`);
  reporter.phase?.('writing index', `${outcome.records.length} records`);
  const index = await writeIndex(ctx.id, outcome.records, ctx.keys.index, deps, run.common.signal);
  reporter.phase?.('writing manifest');
  const manifest = buildManifest(run, deps, { ...ctx, sourcePath, archive, index, outcome, parent: parent?.manifest });
  await writeManifest(deps.store, manifest, deps, run.common.signal);
  return manifest;
}

function buildManifest(
  run: FilesRun,
  deps: JobDeps,
  r: { id: string; started: Date; sourcePath: string; archive: SealedObject; index: SealedObject; outcome: ArchiveOutcome; parent: Manifest | undefined },
): Manifest {
  const completed = deps.now?.() ?? new Date();
  const { archive, index, outcome } = r;
  return {
    formatVersion: 2,
    id: r.id,
    kind: run.kind,
    createdAt: r.started.toISOString(),
    completedAt: completed.toISOString(),
    durationSeconds: (completed.getTime() - r.started.getTime()) / 1000,
    ...(run.common.label !== undefined ? { label: run.common.label } : {}),
    trigger: run.common.trigger,
    source: { host: hostname(), path: r.sourcePath },
    tools: { bantay: BANTAY_VERSION, node: process.version },
    artifact: {
      key: archive.key,
      format: FILES_ARCHIVE_FORMAT,
      sizeBytes: archive.sizeBytes,
      sha256: archive.sha256,
      plainSizeBytes: archive.plainSizeBytes,
      plainSha256: archive.plainSha256,
      encryption: deps.keyRing.primary ? { algorithm: ENCRYPTION_ALGORITHM, keyId: deps.keyRing.primary.id } : null,
    },
    files: {
      key: index.key,
      sizeBytes: index.sizeBytes,
      sha256: index.sha256,
      count: outcome.records.length,
      totalBytes: outcome.storedBytes,
      storedFiles: outcome.storedFiles,
      compressedFiles: outcome.compressedFiles,
      treeFiles: outcome.treeFiles,
      treeBytes: outcome.treeBytes,
      ...(outcome.skipped.length > 0 ? { skipped: outcome.skipped } : {}),
    },
    ...(run.kind === 'application' ? { excludes: run.exclude } : {}),
    ...(run.uploads ? { chain: chainOf(r.id, r.started, r.parent, outcome.deletions) } : {}),
    ...(run.common.setId !== undefined ? { setId: run.common.setId, setRole: run.kind } : {}),
  };
}

async function chooseParent(spec: UploadsBackupSpec, sourcePath: string, deps: JobDeps, reporter: ProgressReporter, now: Date): Promise<Parent | undefined> {
  reporter.phase?.('planning', 'looking for the current uploads chain');
  const plan = planUploadsChain({ latest: await latestUploadsBackup(deps), sourcePath, now, chainDays: spec.chainDays, forceFull: spec.full === true });
  if (plan.type === 'full') {
    reporter.phase?.('planning', `full backup: ${plan.reason}`);
    return undefined;
  }
  try {
    const chain = await loadChain(plan.parent, deps);
    return { manifest: plan.parent, state: await loadTreeState(chain, deps, spec.signal) };
  } catch (err) {
    if (isAbortError(err) || !isBantayError(err) || ![ErrorCode.NotFound, ErrorCode.Integrity, ErrorCode.KeyMissing].includes(err.code as 'NOT_FOUND')) throw err;
    reporter.warn?.(`Starting a new chain: the current one cannot be read (${err.message})`);
    return undefined;
  }
}

function chainOf(id: string, started: Date, parent: Manifest | undefined, deletions: number): NonNullable<Manifest['chain']> {
  if (parent?.chain === undefined) return { chainId: id, parentId: null, sequence: 0, startedAt: started.toISOString(), deletions: 0 };
  return { chainId: parent.chain.chainId, parentId: parent.id, sequence: parent.chain.sequence + 1, startedAt: parent.chain.startedAt, deletions };
}

async function succeed(deps: JobDeps, run: FilesRun, m: Manifest): Promise<void> {
  await finishJobRun(deps.state, m.id, { status: 'succeeded', backupId: m.id });
  const details = {
    label: m.label ?? null,
    encrypted: m.artifact.encryption !== null,
    via: run.common.trigger.via,
    storedFiles: m.files?.storedFiles,
    treeFiles: m.files?.treeFiles,
    chain: m.chain ? { chainId: m.chain.chainId, sequence: m.chain.sequence, deletions: m.chain.deletions } : null,
    setId: m.setId ?? null,
  };
  await recordAudit(deps.state, {
    operationType: 'backup',
    backupType: run.kind,
    status: 'succeeded',
    filePath: m.artifact.key,
    fileSize: m.artifact.sizeBytes,
    durationSeconds: m.durationSeconds,
    performedBy: run.common.trigger.by,
    backupId: m.id,
    details,
  });
  deps.logger.info({ backupId: m.id, sizeBytes: m.artifact.sizeBytes, durationSeconds: m.durationSeconds, files: m.files?.treeFiles }, `${run.kind} backup stored`);
}

async function fail(deps: JobDeps, run: FilesRun, failed: { id: string; key: string; started: Date; error: ClassifiedError }): Promise<void> {
  const durationSeconds = ((deps.now?.() ?? new Date()).getTime() - failed.started.getTime()) / 1000;
  const c = failed.error.classification;
  deps.logger.error({ err: failed.error, backupId: failed.id, outcome: c.outcome, cause: c.cause }, `${run.kind} backup ${c.outcome}`);
  await finishJobRun(deps.state, failed.id, { status: c.outcome, errorMessage: failed.error.message, cause: c.cause }).catch(() => undefined);
  await recordAudit(deps.state, {
    operationType: 'backup',
    backupType: run.kind,
    status: c.outcome,
    filePath: failed.key,
    durationSeconds,
    errorMessage: failed.error.message,
    performedBy: run.common.trigger.by,
    backupId: failed.id,
    details: { setId: run.common.setId ?? null, classification: { outcome: c.outcome, cause: c.cause } },
  }).catch((err: unknown) => deps.logger.error({ err }, 'could not write the audit row'));
}
