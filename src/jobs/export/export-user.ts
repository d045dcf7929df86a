import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import pg from 'pg';
import { create as createTar } from 'tar';
import { printable } from '../../catalog/backup-id.ts';
import { exportArtifactKey, exportManifestKey, newExportId, writeExportManifest, type ExportManifest } from '../../catalog/exports.ts';
import { BantayError, ErrorCode, isAbortError, wrapError } from '../../errors.ts';
import { recordAudit } from '../../state/audit-log.ts';
import { ENCRYPTION_ALGORITHM } from '../backup-database.ts';
import { openSealed, putSealed } from '../files/sealed-object.ts';
import type { JobDeps, Trigger } from '../job-context.ts';
import { describeDatabaseUrl } from '../pg/connection.ts';
import { silentReporter, type ProgressReporter } from '../progress.ts';
import { USER_TABLES, writeUserTableCsv, type CsvFileResult } from './user-data-csv.ts';
import { jobTempBase, makeJobTempDir } from '../../util/temp-dir.ts';

export interface UserExportSpec {
  databaseUrl: string;
  /** As typed by a person: any text. It is only ever a bind parameter. */
  userId: string;
  trigger: Trigger;
  signal?: AbortSignal;
  /** Keep cells that start with = + - @ as they are (csv.ts neutralises them by default). */
  raw?: boolean;
}

const MAX_USER_ID_LENGTH = 200;

/**
 * Exports what one FBMS user created (customers, their sales and those sales' items) as CSV files
 * with headers, packed into a tar.gz with a manifest.json (row counts and SHA-256 per file),
 * stored under `exports/<exportId>/` with the backups' encryption, and audited.
 *
 * The user is looked up first with `WHERE id::text = $1`: an id that is not exactly the text of
 * an existing user's id (quotes, semicolons, SQL, unicode, the empty string) matches nothing and
 * the export stops with NotFound before anything is written. All reads happen in one
 * REPEATABLE READ, READ ONLY transaction, so the three files agree with each other.
 */
export async function exportUserData(spec: UserExportSpec, deps: JobDeps, reporter: ProgressReporter = silentReporter): Promise<ExportManifest> {
  const started = deps.now?.() ?? new Date();
  const exportId = newExportId(started);
  const key = exportArtifactKey(exportId, deps.keyRing.primary !== undefined);
  const workDir = await makeJobTempDir(jobTempBase(deps), 'export-');
  try {
    const manifest = await exportToStore(spec, deps, reporter, { exportId, key, started, workDir });
    await recordAudit(deps.state, {
      operationType: 'export',
      backupType: 'user-data',
      status: 'succeeded',
      filePath: key,
      fileSize: manifest.artifact.sizeBytes,
      durationSeconds: manifest.durationSeconds,
      performedBy: spec.trigger.by,
      details: { exportId, userId: manifest.userId, rows: manifest.rows, encrypted: manifest.artifact.encryption !== null, via: spec.trigger.via },
    });
    return manifest;
  } catch (err) {
    const error = isAbortError(err) ? new BantayError(ErrorCode.Aborted, 'Export cancelled', { cause: err }) : wrapError(ErrorCode.Database, 'User export failed', err);
    // The manifest first: it may already be stored when the audit failed, and an export whose
    // archive is gone must not stay listed.
    await deps.store.delete(exportManifestKey(exportId)).catch(() => undefined);
    await deps.store.delete(key).catch(() => undefined);
    await recordAudit(deps.state, {
      operationType: 'export',
      backupType: 'user-data',
      status: 'failed',
      errorMessage: error.message,
      durationSeconds: ((deps.now?.() ?? new Date()).getTime() - started.getTime()) / 1000,
      performedBy: spec.trigger.by,
      details: { exportId, requestedUserId: printable(spec.userId) },
    }).catch(() => undefined);
    throw error;
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

async function exportToStore(
  spec: UserExportSpec,
  deps: JobDeps,
  reporter: ProgressReporter,
  run: { exportId: string; key: string; started: Date; workDir: string },
): Promise<ExportManifest> {
  const userId = checkUserIdShape(spec.userId);
  const source = describeDatabaseUrl(spec.databaseUrl);
  reporter.phase?.('connecting', `${source.host}/${source.database}`);
  const { storedUserId, files } = await writeCsvFiles(spec.databaseUrl, userId, run.workDir, reporter, spec.raw === true);
  const rows = Object.fromEntries(Object.entries(files).map(([file, r]) => [file, r.rows]));
  const inner = { format: 'bantay-user-export-v1', formulasNeutralised: spec.raw !== true, exportId: run.exportId, userId: storedUserId, createdAt: run.started.toISOString(), source: { host: source.host, database: source.database }, files };
  await writeFile(join(run.workDir, 'manifest.json'), `${JSON.stringify(inner, null, 2)}\n`, { mode: 0o600 });
  if (!deps.keyRing.primary) reporter.warn?.('No encryption key configured: this export is stored UNENCRYPTED.');
  reporter.phase?.('storing', `${run.key} in ${deps.store.description}`);
  const names = ['manifest.json', ...USER_TABLES.map((t) => t.file)];
  const tarball = createTar({ gzip: true, cwd: run.workDir, portable: true }, names) as unknown as AsyncIterable<Buffer>;
  const stored = await putSealed(Readable.from(tarball, { objectMode: false }), [], run.key, deps, { signal: spec.signal, contentType: 'application/gzip' });
  const completed = deps.now?.() ?? new Date();
  const manifest: ExportManifest = {
    formatVersion: 2,
    exportId: run.exportId,
    kind: 'user-data',
    userId: storedUserId,
    createdAt: run.started.toISOString(),
    durationSeconds: (completed.getTime() - run.started.getTime()) / 1000,
    trigger: spec.trigger,
    source: { host: source.host, ...(source.port !== undefined ? { port: source.port } : {}), database: source.database },
    rows,
    artifact: {
      key: stored.key,
      format: 'tar.gz',
      sizeBytes: stored.sizeBytes,
      sha256: stored.sha256,
      plainSizeBytes: stored.plainSizeBytes,
      plainSha256: stored.plainSha256,
      encryption: deps.keyRing.primary ? { algorithm: ENCRYPTION_ALGORITHM, keyId: deps.keyRing.primary.id } : null,
    },
  };
  await writeExportManifest(deps.store, manifest, deps, spec.signal);
  return manifest;
}

/** Only shape limits here (the lookup decides existence): not empty, not huge, no control characters. */
function checkUserIdShape(userId: string): string {
  if (userId === '') throw new BantayError(ErrorCode.InvalidInput, 'The user id is empty: give the id of an FBMS user (see the users table)');
  if (userId.length > MAX_USER_ID_LENGTH || /[\u0000-\u001f\u007f]/.test(userId)) {
    throw new BantayError(ErrorCode.InvalidInput, `"${printable(userId)}" is not a user id: ids are short and have no control characters`);
  }
  return userId;
}

async function writeCsvFiles(
  databaseUrl: string,
  userId: string,
  workDir: string,
  reporter: ProgressReporter,
  raw: boolean,
): Promise<{ storedUserId: string; files: Record<string, CsvFileResult> }> {
  const client = new pg.Client({ connectionString: databaseUrl, application_name: 'bantay-export' });
  // A connection the server ends while no query runs surfaces only as an 'error' event; unheard,
  // it would crash the process (the bot included). The next query then fails instead.
  client.on('error', () => undefined);
  try {
    await client.connect();
  } catch (err) {
    throw wrapError(ErrorCode.Database, 'Could not connect to the FBMS database', err);
  }
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const found = await client.query<{ id: string }>('SELECT id::text AS id FROM public.users WHERE id::text = $1', [userId]);
    const storedUserId = found.rows[0]?.id;
    if (storedUserId === undefined) {
      throw new BantayError(ErrorCode.NotFound, `No FBMS user has the id "${printable(userId)}"; nothing was exported`);
    }
    const files: Record<string, CsvFileResult> = {};
    for (const table of USER_TABLES) {
      reporter.phase?.('exporting', table.file);
      files[table.file] = await writeUserTableCsv(client, table, storedUserId, join(workDir, table.file), undefined, { raw });
    }
    await client.query('COMMIT');
    return { storedUserId, files };
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The plaintext tar.gz of a stored export, checked (digests, decryption) while it streams. */
export async function openUserExport(manifest: ExportManifest, deps: Pick<JobDeps, 'store' | 'keyRing'>, signal?: AbortSignal): Promise<Readable> {
  const a = manifest.artifact;
  return openSealed(
    { key: a.key, sizeBytes: a.sizeBytes, sha256: a.sha256, plain: { sizeBytes: a.plainSizeBytes, sha256: a.plainSha256 }, keyId: a.encryption?.keyId ?? null, describe: `export ${manifest.exportId}` },
    deps,
    { signal },
  );
}
