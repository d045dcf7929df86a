import type { Command } from 'commander';
import type { CliContext } from '../context.ts';

type Run = (fn: (ctx: CliContext) => Promise<void>) => Promise<void>;

/** Console users when BANTAY_OPERATORS/APPROVERS are not set: two approvers and an operator. */
export const CONSOLE_APPROVERS = ['U0ALICE', 'U0BOB'];
export const CONSOLE_OPERATORS = ['U0CAROL'];

export function registerConsoleCommand(program: Command, run: Run): void {
  program
    .command('console')
    .description('try the Slack bot in a terminal: type /backup, /restore… and see its messages and modals as text (no Slack needed)')
    .option('--as <user>', 'the Slack user id you act as at first', undefined)
    .action((opts: { as?: string }) =>
      run(async (ctx) => {
        const s = ctx.config.slack;
        const configured = s.operators.length > 0 || s.approvers.length > 0;
        const approvers = configured ? s.approvers : CONSOLE_APPROVERS;
        const operators = configured ? s.operators : CONSOLE_OPERATORS;
        // The terminal is the console's screen: only warnings and errors go to the log there.
        const logger = ctx.io.env.BANTAY_LOG_LEVEL ? ctx.logger : ctx.logger.child({}, { level: 'warn' });
        const deps = { ...(await ctx.deps()), logger };
        // Loaded on use so other commands start without Bolt.
        const { createBotJobs } = await import('../../bot/bot-jobs.ts');
        const { runConsole } = await import('../../bot/console/console-session.ts');
        await runConsole({
          input: process.stdin,
          output: ctx.io.stdout,
          deps,
          jobs: createBotJobs(deps, ctx.config),
          logger,
          settings: { channel: s.channel ?? 'C0INCIDENTS', operators, approvers, approvalTtlSeconds: s.approvalTtlSeconds, progressIntervalMs: 2000 },
          user: (opts.as ?? approvers.find((a) => !a.startsWith('S')) ?? operators[0] ?? 'U0ALICE').toUpperCase(),
        });
      }),
    );
}
