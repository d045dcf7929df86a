import type { Command } from 'commander';
import { requireReplicationUrl } from '../../config/load-config.ts';
import { runBaseBackup } from '../../jobs/base-backup/run-base-backup.ts';
import type { CliContext } from '../context.ts';
import { formatBytes, formatDuration } from '../format.ts';
import { createCliReporter } from '../progress-bar.ts';

type Run = (fn: (ctx: CliContext) => Promise<void>) => Promise<void>;

/** `bantay backup base`: a physical base backup for point-in-time recovery. */
export function registerBaseBackupCommand(program: Command, run: Run): void {
  const backup = program.commands.find((c) => c.name() === 'backup') ?? program.command('backup').description('take a backup now');
  backup
    .command('base')
    .description('physical base backup of the whole cluster (pg_basebackup) for point-in-time recovery')
    .option('--json', 'print the manifest as one JSON object on stdout')
    .action((opts: { json?: boolean }) =>
      run(async (ctx) => {
        ctx.warnIfUnencrypted();
        const reporter = createCliReporter({ tty: ctx.io.stderr.isTTY === true && !opts.json, out: ctx.io.stderr, logger: ctx.logger });
        try {
          const manifest = await runBaseBackup(
            { replicationUrl: requireReplicationUrl(ctx.config), compression: ctx.config.wal.baseCompression, trigger: ctx.trigger(), signal: ctx.io.signal },
            await ctx.deps(),
            reporter,
          );
          reporter.done();
          ctx.io.stdout.write(
            opts.json
              ? `${JSON.stringify(manifest)}\n`
              : `Base backup ${manifest.id} stored: ${formatBytes(manifest.artifact.sizeBytes)} in ${formatDuration(manifest.durationSeconds)}, ` +
                  `timeline ${manifest.timeline}, WAL ${manifest.startLsn}..${manifest.stopLsn}, ` +
                  `${manifest.artifact.encryption ? `encrypted (key ${manifest.artifact.encryption.keyId})` : 'NOT ENCRYPTED'}\n`,
          );
        } finally {
          reporter.done();
        }
      }),
    );
}
