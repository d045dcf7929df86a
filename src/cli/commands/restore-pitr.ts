import { resolve } from 'node:path';
import { BantayError, ErrorCode } from '../../errors.ts';
import { describeDatabaseUrl } from '../../jobs/pg/connection.ts';
import { parseRestoreTarget } from '../../jobs/restore-database.ts';
import { pitrContextOf } from '../../jobs/pitr/pitr-settings.ts';
import { runPointInTimeRestore, type PitrResult, type PitrTarget } from '../../jobs/pitr/run-pitr.ts';
import { describeTime, parseTargetTime } from '../../jobs/pitr/target-time.ts';
import type { CliContext } from '../context.ts';
import { formatDuration } from '../format.ts';
import { createCliReporter } from '../progress-bar.ts';
import { readConfirmation, recoveryBase } from '../recovery.ts';

export interface PitrOptions {
  time?: string;
  latest?: boolean;
  toDir?: string;
  targetDb?: string;
  replace?: boolean;
  inPlace?: boolean;
  yes?: boolean;
  jobs?: string;
  json?: boolean;
}

/** `bantay restore --time T | --latest` with --to-dir, --target-db or --in-place. */
export async function runPitrCommand(ctx: CliContext, id: string | undefined, opts: PitrOptions): Promise<void> {
  if (id !== undefined) throw new BantayError(ErrorCode.Usage, '--time and --latest pick the base backup themselves: give no backup id');
  if ((opts.time !== undefined) === (opts.latest === true)) throw new BantayError(ErrorCode.Usage, 'Give either --time "YYYY-MM-DD HH:MM:SS" or --latest');
  const targets = [opts.toDir !== undefined, opts.targetDb !== undefined, opts.inPlace === true].filter(Boolean).length;
  if (targets !== 1) throw new BantayError(ErrorCode.Usage, 'Choose exactly one of --to-dir DIR, --target-db NAME or --in-place');
  const tz = ctx.config.files.timeZone;
  const target = opts.latest ? 'latest' : parseTargetTime(opts.time!, tz);
  const to = await chooseTarget(ctx, opts);
  const deps = await ctx.deps();
  const reporter = createCliReporter({ tty: ctx.io.stderr.isTTY === true && !opts.json, out: ctx.io.stderr, logger: ctx.logger });
  let result: PitrResult;
  try {
    result = await runPointInTimeRestore(
      { ...pitrContextOf({ ...ctx.config, timeZone: tz }), target, to, trigger: ctx.trigger(), signal: ctx.io.signal },
      deps,
      reporter,
    );
  } finally {
    reporter.done();
  }
  ctx.io.stdout.write(opts.json ? `${JSON.stringify(result)}\n` : `${renderPitr(result, tz)}\n`);
}

async function chooseTarget(ctx: CliContext, opts: PitrOptions): Promise<PitrTarget> {
  if (opts.toDir !== undefined) return { kind: 'dir', dir: resolve(ctx.io.cwd, opts.toDir) };
  const restore = { ...recoveryBase(ctx, opts), backup: '' };
  const live = describeDatabaseUrl(restore.databaseUrl).database;
  if (opts.targetDb !== undefined) return { kind: 'database', name: parseRestoreTarget(opts.targetDb, live), replace: opts.replace === true, restore };
  if (!opts.yes) {
    const answer = await readConfirmation(`Recover ${live} to ${opts.latest ? 'the newest archived point' : opts.time} OVER the live database (it is kept, renamed). Type ${live} to go on: `, ctx.io.stderr);
    if (answer === undefined) throw new BantayError(ErrorCode.Usage, 'An in-place restore needs typed confirmation: run it in a terminal, or pass --yes');
    if (answer !== live) throw new BantayError(ErrorCode.Usage, `"${answer.slice(0, 64)}" is not ${live}; nothing was changed`);
  }
  const { recovery } = ctx.config;
  // The CLI's own path of the two-person rule: the operator typed the live name (or --yes).
  const authorization = { type: 'typed-confirmation' as const, by: restore.trigger.by };
  return { kind: 'in-place', restore, authorization, hooks: { stop: recovery.appStopCmd, start: recovery.appStartCmd, timeoutSeconds: recovery.hookTimeoutSeconds } };
}

function renderPitr(r: PitrResult, tz: string): string {
  const reached = r.point.lastTransactionAt ? describeTime(new Date(r.point.lastTransactionAt), tz) : 'no transaction after the base backup';
  const lines = [
    `Recovered from ${r.baseBackupId} to LSN ${r.point.lsn ?? '?'}: last replayed transaction ${reached}` +
      (r.point.timeline !== null ? `, now on timeline ${r.point.timeline}` : '') +
      ` (${r.walFilesFetched} WAL files, ${r.walFilesPrefetched} of them fetched ahead; recovery ${formatDuration(r.recoverSeconds)}, RTO ${formatDuration(r.rtoSeconds)}).`,
  ];
  lines.push(`Time taken: ${Object.entries(r.phases).map(([phase, seconds]) => `${phase} ${formatDuration(seconds)}`).join(', ')}.`);
  if (r.point.reachedEndOfArchive) lines.push('Nothing was committed between the newest archived transaction and the requested time: recovered to the end of the archive.');
  lines.push(`Restorable window: ${describeTime(new Date(r.window.from), tz)} to ${describeTime(new Date(r.window.to), tz)}.`);
  if (r.dir !== undefined) {
    lines.push(
      `The recovered cluster is in ${r.dir} (databases: ${r.databases.join(', ')}). To run it as the replacement server:`,
      `  1. check its postgresql.conf and pg_hba.conf (they are the original server's; port, paths, archive_command)`,
      `  2. as the PostgreSQL user: pg_ctl -D ${r.dir} -l ${r.dir}/server.log start`,
      `  3. point DATABASE_URL (and the application) at it; it archives on the new timeline into the same archive`,
    );
  }
  if (r.restore !== undefined) {
    lines.push(`Copied out as backup ${r.copyBackupId}, restored into ${r.restore.target} (${r.restore.mode}), verified.`);
    if (r.restore.keptAs) lines.push(`The previous database is kept as ${r.restore.keptAs}; drop it once the application works.`);
    if (r.restore.safetyBackupId) lines.push(`Safety backup taken before: ${r.restore.safetyBackupId}.`);
  }
  return lines.join('\n');
}
