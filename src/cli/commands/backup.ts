import type { Command } from 'commander';
import { parseLabel } from '../../catalog/backup-id.ts';
import { requireDatabaseUrl } from '../../config/load-config.ts';
import { runDatabaseBackup } from '../../jobs/backup-database.ts';
import type { CliContext } from '../context.ts';
import { formatBytes, formatDuration, summarizeManifest } from '../format.ts';
import { createCliReporter } from '../progress-bar.ts';

export function registerBackupCommands(program: Command, run: (fn: (ctx: CliContext) => Promise<void>) => Promise<void>): void {
  const backup = program.command('backup').description('take a backup now');
  backup
    .command('database')
    .description('dump the FBMS database (pg_dump custom format) into the store')
    .option('--label <text>', 'label to find it by later (e.g. pre-deploy-v2.3)')
    .option('--json', 'print the result as one JSON object on stdout')
    .action((opts: { label?: string; json?: boolean }) =>
      run(async (ctx) => {
        const label = opts.label === undefined ? undefined : parseLabel(opts.label);
        const databaseUrl = requireDatabaseUrl(ctx.config);
        ctx.warnIfUnencrypted();
        const reporter = createCliReporter({ tty: ctx.io.stderr.isTTY === true && !opts.json, out: ctx.io.stderr, logger: ctx.logger });
        try {
          const manifest = await runDatabaseBackup(
            { databaseUrl, label, trigger: ctx.trigger(), signal: ctx.io.signal },
            await ctx.deps(),
            reporter,
          );
          reporter.done();
          if (opts.json) {
            ctx.io.stdout.write(`${JSON.stringify(summarizeManifest(manifest))}\n`);
          } else {
            const s = summarizeManifest(manifest);
            ctx.io.stdout.write(
              `Backup ${s.id} stored: ${formatBytes(s.sizeBytes)} in ${formatDuration(s.durationSeconds)}, ` +
                `${s.tables} tables / ${s.rows} rows, ${s.encrypted ? `encrypted (key ${s.keyId})` : 'NOT ENCRYPTED'}\n`,
            );
          }
        } finally {
          reporter.done();
        }
      }),
    );
}
