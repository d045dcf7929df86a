import { basename, resolve } from 'node:path';
import { findBackup, readManifest } from '../../catalog/catalog.ts';
import { completeIdsOfKind, timeOfId } from '../../catalog/ids-by-kind.ts';
import type { Manifest } from '../../catalog/manifest.ts';
import { BantayError, ErrorCode } from '../../errors.ts';
import { drillFilesBackup } from '../../jobs/files/drill-files.ts';
import { restoreFilesBackup, type FilesRestoreResult, type InPlaceTarget } from '../../jobs/files/restore-files.ts';
import { idsOnDay, parseLocalDate, pickLastBackupOfDay } from '../../jobs/files/select-by-date.ts';
import { verifyFilesBackup, type FilesVerification } from '../../jobs/files/verify-files.ts';
import { runHook } from '../../jobs/run-hook.ts';
import type { CliContext } from '../context.ts';
import { formatBytes, formatDuration } from '../format.ts';
import { createCliReporter } from '../progress-bar.ts';
import { readConfirmation } from '../recovery.ts';
import { requireAppDir, requireUploadsDir } from './backup-files.ts';

/**
 * CLI entry points for restoring, verifying and drilling files backups. `bantay restore`,
 * `verify` and `drill` dispatch here when the backup is an application or uploads one (or when
 * `restore --date` is used); the database paths live in their own command files.
 */
export interface FilesRestoreCliOptions {
  /** Restore into this new directory (default ./bantay-restore-<id>). */
  to?: string;
  /** Replace the live APP_DIR / UPLOADS_DIR (pre-restore backup, atomic swap). */
  inPlace?: boolean;
  /** YYYY-MM-DD: the last uploads backup of that day in BANTAY_TZ, instead of an id. */
  date?: string;
  /** With --in-place: do not ask for confirmation. */
  yes?: boolean;
  json?: boolean;
}

export async function runFilesRestoreCommand(ctx: CliContext, id: string | undefined, opts: FilesRestoreCliOptions): Promise<void> {
  if (opts.inPlace && opts.to !== undefined) throw new BantayError(ErrorCode.Usage, 'Choose --to DIR or --in-place, not both');
  if ((id === undefined) === (opts.date === undefined)) throw new BantayError(ErrorCode.Usage, 'Name the backup to restore: an id, or --date YYYY-MM-DD for uploads');
  const manifest = opts.date !== undefined ? await uploadsBackupOfDay(ctx, opts.date) : await findFilesBackup(ctx, id!);
  const reporter = createCliReporter({ tty: ctx.io.stderr.isTTY === true && !opts.json, out: ctx.io.stderr, logger: ctx.logger });
  let result: FilesRestoreResult;
  try {
    const target = opts.inPlace ? await inPlaceTarget(ctx, manifest, opts) : { type: 'directory' as const, dir: resolve(ctx.io.cwd, opts.to ?? `bantay-restore-${manifest.id}`) };
    result = await restoreFilesBackup({ manifest, target, trigger: ctx.trigger(), signal: ctx.io.signal }, await ctx.deps(), reporter);
  } finally {
    reporter.done();
  }
  ctx.io.stdout.write(opts.json ? `${JSON.stringify(result)}\n` : `${renderRestore(result)}\n`);
}

/** `bantay verify <files backup id>`: prints the checks; a failed verification exits 1. */
export async function runFilesVerifyCommand(ctx: CliContext, id: string, opts: { json?: boolean }): Promise<FilesVerification> {
  return runChecks(ctx, id, opts, 'verification', (m, reporter) => ctx.deps().then((deps) => verifyFilesBackup(m, deps, reporter, { signal: ctx.io.signal })));
}

/** A restore drill of one files backup into a scratch directory (see drill-files.ts). */
export async function runFilesDrillCommand(ctx: CliContext, id: string, opts: { json?: boolean }): Promise<FilesVerification> {
  return runChecks(ctx, id, opts, 'restore drill', (m, reporter) => ctx.deps().then((deps) => drillFilesBackup(m, deps, reporter, { signal: ctx.io.signal })));
}

async function runChecks(
  ctx: CliContext,
  id: string,
  opts: { json?: boolean },
  what: string,
  run: (m: Manifest, reporter: ReturnType<typeof createCliReporter>) => Promise<FilesVerification>,
): Promise<FilesVerification> {
  const manifest = await findFilesBackup(ctx, id);
  const reporter = createCliReporter({ tty: ctx.io.stderr.isTTY === true && !opts.json, out: ctx.io.stderr, logger: ctx.logger });
  let result: FilesVerification;
  try {
    result = await run(manifest, reporter);
  } finally {
    reporter.done();
  }
  ctx.io.stdout.write(opts.json ? `${JSON.stringify({ backupId: manifest.id, ...result })}\n` : `${renderFilesChecks(manifest.id, what, result)}\n`);
  if (!result.passed) {
    throw new BantayError(ErrorCode.Integrity, `Backup ${manifest.id} FAILED ${what}`, { details: result.checks.filter((c) => !c.passed).map((c) => `${c.name}: ${c.detail}`) });
  }
  return result;
}

export function renderFilesChecks(id: string, what: string, r: FilesVerification): string {
  const lines = [`Backup ${id} ${r.passed ? 'PASSED' : 'FAILED'} ${what} in ${formatDuration(r.durationSeconds)}`];
  for (const c of r.checks) lines.push(`  ${c.passed ? 'ok  ' : 'FAIL'} ${c.name}: ${c.detail}`);
  return lines.join('\n');
}

async function findFilesBackup(ctx: CliContext, id: string): Promise<Manifest> {
  const manifest = await findBackup(ctx.store, await ctx.deps(), id);
  if (manifest.kind === 'database') throw new BantayError(ErrorCode.InvalidInput, `${manifest.id} is a database backup, not a files backup`);
  return manifest;
}

async function uploadsBackupOfDay(ctx: CliContext, date: string): Promise<Manifest> {
  const day = parseLocalDate(date);
  const { timeZone } = ctx.config.files;
  const candidates = idsOnDay(await completeIdsOfKind(ctx.store, 'uploads'), day, timeZone, timeOfId);
  const picked = pickLastBackupOfDay(await Promise.all(candidates.map(async (id) => readManifest(ctx.store, await ctx.deps(), id))), day, timeZone);
  if (picked === undefined) {
    throw new BantayError(ErrorCode.NotFound, `No uploads backup was taken on ${day} (${timeZone}); see bantay list --kind uploads`);
  }
  return picked;
}

async function inPlaceTarget(ctx: CliContext, manifest: Manifest, opts: FilesRestoreCliOptions): Promise<InPlaceTarget> {
  const { files, recovery } = ctx.config;
  const liveDir = manifest.kind === 'application' ? requireAppDir(ctx.config) : requireUploadsDir(ctx.config);
  if (!opts.yes) {
    const name = basename(liveDir);
    const answer = await readConfirmation(`This replaces ${liveDir} with backup ${manifest.id} (${manifest.createdAt}). Type "${name}" to continue: `, ctx.io.stderr);
    if (answer !== name) throw new BantayError(ErrorCode.Usage, 'Not confirmed; nothing was changed (use --yes to skip the question)');
  }
  // Only the stop hook is cancellable: once the application was stopped, the start hook must run
  // even after Ctrl-C (as for database in-place restores), or the cancel leaves FBMS down.
  const hook = (name: 'stop' | 'start', command: string | undefined) =>
    command === undefined
      ? undefined
      : async () => void (await runHook(`app ${name}`, command, { timeoutSeconds: recovery.hookTimeoutSeconds, ...(name === 'stop' ? { signal: ctx.io.signal } : {}) }));
  return {
    type: 'in-place',
    liveDir,
    exclude: files.appExclude,
    chainDays: files.uploadsChainDays,
    beforeSwap: hook('stop', recovery.appStopCmd),
    afterSwap: hook('start', recovery.appStartCmd),
  };
}

function renderRestore(r: FilesRestoreResult): string {
  const lines = [`Restored ${r.kind} backup ${r.backupId} into ${r.restoredTo}: ${r.files} files, ${formatBytes(r.bytes)} from ${r.archivesRead.length} archive(s) in ${formatDuration(r.durationSeconds)}`];
  if (r.preRestoreBackupId !== undefined) lines.push(`The previous tree was backed up as ${r.preRestoreBackupId} and kept at ${r.previousDir} (delete it once satisfied).`);
  if (r.kind === 'application' && r.preRestoreBackupId !== undefined) lines.push('Excluded paths (BANTAY_APP_EXCLUDE, e.g. node_modules, dist) are not in application backups: reinstall and rebuild before starting the app.');
  return lines.join('\n');
}
