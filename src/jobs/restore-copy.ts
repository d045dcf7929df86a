import type { Manifest } from '../catalog/manifest.ts';
import { ErrorCode, isBantayError } from '../errors.ts';
import { readContentsAt } from './contents/read-contents.ts';
import { readGlobals } from './globals/globals-artifact.ts';
import type { ClusterGlobals } from './globals/globals-format.ts';
import { prepareRoles, type PreparedRoles, type RoleMode } from './globals/prepare-roles.ts';
import type { JobDeps } from './job-context.ts';
import { countRowsIn, type AdminSession } from './pg/database-admin.ts';
import { findPgRestoreFor, restoreArtifactInto } from './pg/pg-restore.ts';
import { createScratchDatabase, type ScratchDatabase, type ScratchPurpose } from './pg/scratch-database.ts';
import type { ProgressReporter } from './progress.ts';
import { checkRestoredDatabase, integrityCheck, isPassing, pgRestoreErrorsCheck, type Check, type RestoredState } from './restore-checks.ts';

export interface RestoreCopyOptions {
  purpose: ScratchPurpose;
  /** Copy encoding and collation from this database (the live FBMS). */
  like?: string;
  jobs: number;
  tmpDir?: string;
  signal?: AbortSignal;
  reporter: ProgressReporter;
  /** What to do about the roles the backup needs (globals/prepare-roles.ts). */
  roles: RoleMode;
  /** The operator accepted pg_restore errors (restore --accept-restore-errors; in Slack with a second person's approval). */
  acceptRestoreErrors?: boolean;
}

export interface RestoredCopy {
  scratch: ScratchDatabase;
  checks: Check[];
  passed: boolean;
  /** Wall time from the first byte read to a counted, judged copy. */
  seconds: number;
  pgRestoreVersion: string;
  usedTempFile: boolean;
  /** The backup's cluster globals, when it has them (the database's attributes for --target-db). */
  globals?: ClusterGlobals;
  /** Roles this restore created on the server, and what it left out on purpose. */
  createdRoles: string[];
  roleNotes: string[];
  /** Restored with --no-owner --no-privileges. */
  noOwner: boolean;
  /** pg_restore's error lines (up to 50), listed in the result even when accepted. */
  restoreErrors: string[];
}

/**
 * Restores a database backup into a new scratch database and judges the copy. What is wrong
 * with the backup itself (size or SHA-256 mismatch, failed authentication, pg_restore errors,
 * wrong or missing rows, sequences, large objects, objects) becomes failed checks; what is
 * wrong around it (no connection, missing key, cancel, no right to create a missing role)
 * throws. On throw the scratch database has been dropped; otherwise the caller owns it.
 */
export async function restoreCopy(manifest: Manifest, session: AdminSession, deps: JobDeps, options: RestoreCopyOptions): Promise<RestoredCopy> {
  const started = Date.now();
  const tool = await findPgRestoreFor(manifest, deps.pgBinDir);
  options.reporter.phase?.('preparing', `scratch database for ${manifest.id}`);
  const globals = await readGlobals(manifest, deps, options.signal).then(
    (g) => ({ ok: true as const, value: g }),
    (err: unknown) => {
      if (isBantayError(err) && err.code === ErrorCode.Integrity) return { ok: false as const, reason: err.message };
      throw err;
    },
  );
  const scratch = await createScratchDatabase(session, deps.state, { purpose: options.purpose, tag: manifest.id, like: options.like });
  try {
    const base = { scratch, pgRestoreVersion: tool.version, createdRoles: [] as string[], roleNotes: [] as string[], restoreErrors: [] as string[] };
    if (!globals.ok) {
      const checks = [integrityCheck(globals.reason)];
      return { ...base, checks, passed: false, seconds: (Date.now() - started) / 1000, usedTempFile: false, noOwner: false };
    }
    const roles = await prepareRoles(session, scratch.name, globals.value, options.roles);
    const judged = await restoreAndJudge(manifest, deps, scratch, tool, options, roles);
    return {
      ...base,
      checks: judged.list,
      passed: isPassing(judged.list),
      seconds: (Date.now() - started) / 1000,
      usedTempFile: judged.usedTempFile,
      globals: globals.value,
      createdRoles: roles.created,
      roleNotes: roles.notes,
      noOwner: roles.noOwner,
      restoreErrors: judged.restoreErrors,
    };
  } catch (err) {
    await scratch.drop().catch(() => undefined);
    throw err;
  }
}

async function restoreAndJudge(
  manifest: Manifest,
  deps: JobDeps,
  scratch: ScratchDatabase,
  tool: Awaited<ReturnType<typeof findPgRestoreFor>>,
  options: RestoreCopyOptions,
  roles: PreparedRoles,
): Promise<{ list: Check[]; usedTempFile: boolean; restoreErrors: string[] }> {
  const usedTempFile = options.jobs > 1;
  let outcome;
  try {
    outcome = await restoreArtifactInto(manifest, deps, tool, {
      targetUrl: scratch.url,
      targetName: scratch.name,
      jobs: options.jobs,
      tmpDir: options.tmpDir,
      signal: options.signal,
      reporter: options.reporter,
      noOwner: roles.noOwner,
    });
  } catch (err) {
    if (isBantayError(err) && err.code === ErrorCode.Integrity) return { list: [integrityCheck(err.message)], usedTempFile, restoreErrors: [] };
    // pg_restore gave up (e.g. an archive it cannot parse): a verdict on the backup, not a crash.
    if (isBantayError(err) && err.code === ErrorCode.Tool && !options.signal?.aborted) {
      return { list: [{ name: 'pg_restore', status: 'failed', detail: err.message }], usedTempFile, restoreErrors: [] };
    }
    throw err;
  }
  options.reporter.phase?.('checking', `contents of ${scratch.name} against the manifest`);
  const restored = await readRestoredState(manifest, scratch.url);
  const accepted = options.acceptRestoreErrors === true && outcome.errorCount > 0;
  return {
    list: [
      integrityCheck(undefined),
      roles.check,
      pgRestoreErrorsCheck(outcome.errorCount, outcome.errors, options.acceptRestoreErrors === true),
      ...checkRestoredDatabase(manifest, restored, { requiredTables: deps.requiredTables, acceptRestoreErrors: accepted }),
    ],
    usedTempFile: outcome.usedTempFile,
    restoreErrors: outcome.errors,
  };
}

/** What a database holds, in the form its backup's manifest recorded (contents, or row counts for old manifests). */
export async function readRestoredState(manifest: Pick<Manifest, 'contents'>, url: string): Promise<RestoredState> {
  return manifest.contents !== undefined ? { kind: 'contents', contents: await readContentsAt(url) } : { kind: 'legacy', counts: await countRowsIn(url) };
}
