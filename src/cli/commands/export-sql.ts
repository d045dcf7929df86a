import { open, rename, rm } from 'node:fs/promises';
import { finished } from 'node:stream/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { exportSql } from '../../jobs/export-sql.ts';
import { BantayError, ErrorCode } from '../../errors.ts';
import type { CliContext } from '../context.ts';
import { formatBytes } from '../format.ts';
import { createCliReporter } from '../progress-bar.ts';

type Run = (fn: (ctx: CliContext) => Promise<void>) => Promise<void>;

export function registerExportSqlCommand(program: Command, run: Run): void {
  program
    .command('export-sql')
    .description('write a database backup as a plain SQL script (to stdout, or -o FILE)')
    .argument('<id>', 'database backup id, or "latest"')
    .option('-o, --output <file>', 'write to FILE (written as FILE.partial, renamed when complete)')
    .option('--no-owner', 'leave out ALTER ... OWNER TO statements (default: owners kept)')
    .action((id: string, opts: { output?: string; owner?: boolean }) =>
      run(async (ctx) => {
        const reporter = createCliReporter({ tty: ctx.io.stderr.isTTY === true && opts.output !== undefined, out: ctx.io.stderr, logger: ctx.logger });
        const deps = await ctx.deps();
        if (opts.output === undefined) {
          await exportSql({ id, output: ctx.io.stdout, noOwner: opts.owner === false, trigger: ctx.trigger(), signal: ctx.io.signal }, deps, reporter);
          return;
        }
        const target = resolve(ctx.io.cwd, opts.output);
        const partial = `${target}.partial`;
        // Opened before the job starts: a missing directory or someone else's FILE.partial is a
        // plain failure here, not an 'error' event nobody listens to yet (which would crash).
        const handle = await open(partial, 'wx', 0o600).catch((err: unknown) => {
          throw new BantayError(ErrorCode.Internal, `Cannot write ${partial}: ${(err as Error).message}`, { cause: err });
        });
        const file = handle.createWriteStream();
        try {
          const { bytes } = await exportSql({ id, output: file, noOwner: opts.owner === false, trigger: ctx.trigger(), signal: ctx.io.signal }, deps, reporter);
          file.end();
          await finished(file);
          await rename(partial, target);
          reporter.done();
          ctx.io.stderr.write(`Wrote ${formatBytes(bytes)} of SQL to ${target}\n`);
        } catch (err) {
          file.destroy();
          await rm(partial, { force: true });
          throw err;
        }
      }),
    );
}
