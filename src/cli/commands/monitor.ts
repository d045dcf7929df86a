import type { Command } from 'commander';
import { BantayError, ErrorCode } from '../../errors.ts';
import { runMonitor } from '../../jobs/monitor/run-monitor.ts';
import { openSecondaryStore } from '../../storage/open-secondary.ts';
import type { CliContext } from '../context.ts';

type Run = (fn: (ctx: CliContext) => Promise<void>) => Promise<void>;

/**
 * `bantay monitor`: runs every check once and prints what is wrong (exit 1 when anything is).
 * Read-only: it neither alerts Slack nor touches alert state; `bantay serve` does that.
 */
export function registerMonitorCommand(program: Command, run: Run): void {
  program
    .command('monitor')
    .description('run the monitoring checks once and print the problems (exit 1 when there are any)')
    .option('--json', 'print the problems as a JSON array on stdout')
    .action((opts: { json?: boolean }) =>
      run(async (ctx) => {
        const deps = await ctx.deps();
        const { schedule, timezone, monitor } = ctx.config.ops;
        let secondary;
        try {
          secondary = ctx.config.secondary ? openSecondaryStore(ctx.config.secondary) : undefined;
        } catch (err) {
          ctx.logger.warn({ err }, 'secondary location unavailable');
        }
        const result = await runMonitor({ schedule, timezone, thresholds: monitor, keyIds: ctx.config.keyRing.ids() }, { ...deps, ...(secondary ? { secondary } : {}) });
        if (opts.json) {
          ctx.io.stdout.write(`${JSON.stringify(result.problems)}\n`);
        } else if (result.problems.length === 0) {
          ctx.io.stdout.write('All checks pass.\n');
        } else {
          for (const p of result.problems) ctx.io.stdout.write(`[${p.severity.toUpperCase()}] ${p.title}\n  ${p.text}\n  What to do: ${p.remedy}\n`);
        }
        if (result.problems.length > 0) throw new BantayError(ErrorCode.Integrity, `Monitoring found ${result.problems.length} problem(s)`);
      }),
    );
}
