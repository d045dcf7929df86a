import type { Command } from 'commander';
import { BantayError, ErrorCode } from '../../errors.ts';
import { compileCron, nextRuns } from '../../schedule/next-runs.ts';
import { JOB_DESCRIPTIONS, SCHEDULED_JOBS, scheduleVariable } from '../../schedule/schedule-config.ts';
import { formatWallTime } from '../../schedule/zoned-time.ts';
import type { CliContext } from '../context.ts';
import { table } from '../format.ts';

type Run = (fn: (ctx: CliContext) => Promise<void>) => Promise<void>;

/** `bantay schedule`: what `bantay serve` runs on its own, and when it runs next. Reads no state. */
export function registerScheduleCommand(program: Command, run: Run): void {
  program
    .command('schedule')
    .description('print the schedule of bantay serve and the next runs of each job')
    .option('--count <n>', 'next runs to show per job (1-20)', '3')
    .option('--json', 'print a JSON array on stdout')
    .action((opts: { count: string; json?: boolean }) =>
      run(async (ctx) => {
        const count = Number(opts.count);
        if (!Number.isInteger(count) || count < 1 || count > 20) throw new BantayError(ErrorCode.Usage, '--count must be a whole number from 1 to 20');
        const { schedule, timezone } = ctx.config.ops;
        const now = new Date();
        const jobs = SCHEDULED_JOBS.map((job) => {
          const expression = schedule[job];
          const runs = expression === null ? [] : nextRuns(compileCron(expression, timezone), now, count);
          return { job, description: JOB_DESCRIPTIONS[job], variable: scheduleVariable(job), expression, timezone, next: runs.map((d) => d.toISOString()), nextLocal: runs.map((d) => formatWallTime(d, timezone)) };
        });
        if (opts.json) {
          ctx.io.stdout.write(`${JSON.stringify(jobs)}\n`);
          return;
        }
        const rows = [['JOB', 'CRON', 'NEXT RUNS', 'WHAT'], ...jobs.map((j) => [j.job, j.expression ?? 'off', j.nextLocal.join(', ') || '-', j.description])];
        ctx.io.stdout.write(`Times in ${timezone}, now ${formatWallTime(now, timezone)}. Change with BANTAY_SCHEDULE_<JOB> (cron or "off").\n${table(rows)}\n`);
      }),
    );
}
