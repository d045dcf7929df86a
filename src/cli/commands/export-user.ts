import { open, rename, rm } from 'node:fs/promises';
import { resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Command } from 'commander';
import { requireDatabaseUrl } from '../../config/load-config.ts';
import { exportUserData, openUserExport } from '../../jobs/export/export-user.ts';
import type { CliContext } from '../context.ts';
import { formatBytes } from '../format.ts';
import { createCliReporter } from '../progress-bar.ts';

type Run = (fn: (ctx: CliContext) => Promise<void>) => Promise<void>;

export function registerExportUserCommand(program: Command, run: Run): void {
  program
    .command('export-user')
    .description("export the customers and sales (with items) a user created, as CSV in a tar.gz stored under exports/ (Data Privacy Act requests)")
    .argument('<user-id>', 'the FBMS user id (users.id)')
    .option('-o, --output <file>', 'also write the tar.gz here, read back from the store (written as FILE.partial, renamed when complete)')
    .option('--json', 'print the export manifest as one JSON object on stdout')
    .option('--raw', "keep cells starting with = + - @ as they are (by default they get a leading ' so spreadsheets do not run them as formulas)")
    .action((userId: string, opts: { output?: string; json?: boolean; raw?: boolean }) =>
      run(async (ctx) => {
        ctx.warnIfUnencrypted();
        const reporter = createCliReporter({ tty: ctx.io.stderr.isTTY === true && !opts.json, out: ctx.io.stderr, logger: ctx.logger });
        const deps = await ctx.deps();
        try {
          const manifest = await exportUserData({ databaseUrl: requireDatabaseUrl(ctx.config), userId, trigger: ctx.trigger(), signal: ctx.io.signal, raw: opts.raw === true }, deps, reporter);
          if (opts.output !== undefined) await writeLocalCopy(resolve(ctx.io.cwd, opts.output), () => openUserExport(manifest, deps, ctx.io.signal));
          reporter.done();
          if (opts.json) {
            ctx.io.stdout.write(`${JSON.stringify(manifest)}\n`);
            return;
          }
          const rows = Object.entries(manifest.rows).map(([file, n]) => `${file} ${n}`).join(', ');
          ctx.io.stdout.write(
            `Export ${manifest.exportId} of user ${manifest.userId} stored as ${manifest.artifact.key} (${formatBytes(manifest.artifact.sizeBytes)}, ` +
              `${manifest.artifact.encryption ? `encrypted with key ${manifest.artifact.encryption.keyId}` : 'NOT ENCRYPTED'}): ${rows}\n` +
              (opts.output !== undefined ? `Wrote the tar.gz to ${resolve(ctx.io.cwd, opts.output)}\n` : ''),
          );
        } finally {
          reporter.done();
        }
      }),
    );
}

async function writeLocalCopy(target: string, openExport: () => Promise<NodeJS.ReadableStream>): Promise<void> {
  const partial = `${target}.partial`;
  // Created here, exclusively: a FILE.partial that already exists belongs to another run and is
  // neither overwritten nor removed.
  const handle = await open(partial, 'wx', 0o600);
  try {
    await pipeline(await openExport(), handle.createWriteStream());
    await rename(partial, target);
  } catch (err) {
    await rm(partial, { force: true });
    throw err;
  }
}
