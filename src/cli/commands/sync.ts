import type { Command } from 'commander';
import { BantayError, ErrorCode } from '../../errors.ts';
import { durationText } from '../../jobs/monitor/text.ts';
import { runSync } from '../../jobs/sync-secondary.ts';
import { openSecondaryStore } from '../../storage/open-secondary.ts';
import type { CliContext } from '../context.ts';
import { formatBytes } from '../format.ts';
import { createCliReporter } from '../progress-bar.ts';

type Run = (fn: (ctx: CliContext) => Promise<void>) => Promise<void>;

/** `bantay sync`: copy what the secondary location lacks, prove it, prune it, report the lag. */
export function registerSyncCommand(program: Command, run: Run): void {
  program
    .command('sync')
    .description('copy every backup missing at the secondary location (BANTAY_SECONDARY_STORE), verify the copies, apply retention there')
    .option('--no-prune', 'do not apply retention at the secondary')
    .option('--json', 'print the report as JSON on stdout')
    .action((opts: { prune: boolean; json?: boolean }) =>
      run(async (ctx) => {
        if (ctx.config.secondary === undefined) {
          throw new BantayError(ErrorCode.ConfigInvalid, 'BANTAY_SECONDARY_STORE is not set: there is no secondary location to sync to', {
            details: ['Set BANTAY_SECONDARY_STORE to a directory (e.g. an NFS mount) or s3://bucket/prefix; see the README ("Operations")'],
          });
        }
        const deps = await ctx.deps();
        const secondary = openSecondaryStore(ctx.config.secondary);
        const reporter = createCliReporter({ tty: false, out: ctx.io.stderr, logger: ctx.logger });
        const { retention, timezone } = ctx.config.ops;
        const report = await runSync(
          { trigger: ctx.trigger(), signal: ctx.io.signal, ...(opts.prune ? { retention: { policy: retention, timezone } } : {}) },
          { ...deps, secondary },
          reporter,
        );
        if (opts.json) {
          ctx.io.stdout.write(`${JSON.stringify(report)}\n`);
        } else {
          const lag = report.lag.missing.length === 0 ? 'up to date' : report.lag.lagSeconds === null ? 'holds no backups' : `${durationText(report.lag.lagSeconds)} behind, ${report.lag.missing.length} missing`;
          ctx.io.stdout.write(
            `Copied ${report.copiedBackups.length} backup(s), ${report.copiedObjects} object(s), ${formatBytes(report.copiedBytes)} to ${secondary.description}; ` +
              `${report.alreadyPresent} already there. Secondary: ${lag}.\n` +
              (report.prune ? `Retention at the secondary deleted ${report.prune.deleted.length} item(s).\n` : '') +
              report.failed.map((f) => `FAILED ${f.id}: ${f.error}\n`).join(''),
          );
        }
        if (report.failed.length > 0) throw new BantayError(ErrorCode.Storage, `${report.failed.length} backup(s) could not be copied; run bantay sync again`);
      }),
    );
}
