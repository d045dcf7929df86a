import type { Command } from 'commander';
import { BantayError, ErrorCode } from '../../errors.ts';
import { runDrill } from '../../jobs/drill.ts';
import { drillPitrOf } from '../../jobs/pitr/pitr-settings.ts';
import type { CliContext } from '../context.ts';
import { createCliReporter } from '../progress-bar.ts';
import { FROM_OPTION_HELP, parseFromOption, recoveryBase } from '../recovery.ts';

type Run = (fn: (ctx: CliContext) => Promise<void>) => Promise<void>;

export function registerDrillCommand(program: Command, run: Run): void {
  program
    .command('drill')
    .description('recovery drill: restore and verify the newest backup of each kind, measure RTO and RPO, store a report')
    .option('--from <where>', FROM_OPTION_HELP)
    .option('--jobs <n>', 'pg_restore parallel jobs (default BANTAY_RESTORE_JOBS)')
    .option('--json', 'print the report as one JSON object on stdout')
    .action((opts: { from?: string; jobs?: string; json?: boolean }) =>
      run(async (ctx) => {
        ctx.useReadLocation(parseFromOption(opts.from));
        const { recovery } = ctx.config;
        const objectives = { rtoSeconds: recovery.rtoObjectiveSeconds, rpoSeconds: recovery.rpoObjectiveSeconds };
        const reporter = createCliReporter({ tty: ctx.io.stderr.isTTY === true && !opts.json, out: ctx.io.stderr, logger: ctx.logger });
        let outcome;
        try {
          outcome = await runDrill({ ...recoveryBase(ctx, opts), objectives, pitr: drillPitrOf({ ...ctx.config, timeZone: ctx.config.files.timeZone }) }, await ctx.deps(), reporter);
        } finally {
          reporter.done();
        }
        ctx.io.stdout.write(opts.json ? `${JSON.stringify({ ...outcome.report, storeKey: outcome.storeKey })}\n` : `${outcome.text}Report stored as ${outcome.storeKey}\n`);
        if (!outcome.report.passed) {
          throw new BantayError(ErrorCode.Integrity, `Recovery drill ${outcome.report.id} FAILED (${outcome.report.counts.failed} failed checks)`);
        }
      }),
    );
}
