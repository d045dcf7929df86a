import type { Command } from 'commander';
import type { CliContext } from '../context.ts';

type Run = (fn: (ctx: CliContext) => Promise<void>) => Promise<void>;

/**
 * Registers `bantay serve`. The bot, the schedule and their dependencies (Bolt, node-cron) load
 * only when it runs (serve-run.ts), so every other command starts without them.
 */
export function registerServeCommand(program: Command, run: Run): void {
  program
    .command('serve')
    .description('run the Slack bot and the schedule: Socket Mode when SLACK_APP_TOKEN is set, else HTTP on BANTAY_HTTP_PORT (/slack/events)')
    .action(() => run(async (ctx) => (await import('./serve-run.ts')).runServe(ctx)));
}
