import { resolve } from 'node:path';
import type { Command } from 'commander';
import { BantayError, ErrorCode } from '../../errors.ts';
import { buildRecoveryKit, storeKitCopy, writeKitToDirectory } from '../../jobs/recovery-kit/write-kit.ts';
import type { CliContext } from '../context.ts';

type Run = (fn: (ctx: CliContext) => Promise<void>) => Promise<void>;

/**
 * `bantay recovery-kit DIR` / `--print`: the standalone tool and RECOVERY.md, to keep outside
 * the bucket; a copy (without any key) also goes to recovery-kit/ in the store.
 */
export function registerRecoveryKitCommand(program: Command, run: Run): void {
  program
    .command('recovery-kit')
    .description('write the recovery kit (bantay-recover.mjs + RECOVERY.md) to DIR, or print RECOVERY.md; also stores a copy next to the backups')
    .argument('[dir]', 'directory to write the kit into (created if missing)')
    .option('--print', 'print RECOVERY.md on stdout instead of writing a directory')
    .option('--no-store', 'do not store a copy in the backup store')
    .action((dir: string | undefined, opts: { print?: boolean; store: boolean }) =>
      run(async (ctx) => {
        if (dir === undefined && !opts.print) {
          throw new BantayError(ErrorCode.Usage, 'Give a directory for the kit (bantay recovery-kit DIR) or --print');
        }
        const kit = await buildRecoveryKit({ store: ctx.store, location: ctx.config.store, secondary: ctx.config.secondary, keyRing: ctx.config.keyRing });
        if (opts.print) ctx.io.stdout.write(kit.guide);
        if (dir !== undefined) {
          const files = await writeKitToDirectory(kit, resolve(ctx.io.cwd, dir));
          ctx.io.stderr.write(`Wrote ${files.join(' and ')}\n`);
        }
        if (opts.store) {
          const keys = await storeKitCopy(kit, ctx.store, ctx.io.signal);
          ctx.io.stderr.write(`Stored a copy at ${keys.join(', ')} in ${ctx.store.description}\n`);
        }
        ctx.io.stderr.write(
          'Keep the kit and the key OUTSIDE the bucket (a USB stick in the safe, the team password manager): ' +
            'the copy in the store helps only while the store is reachable. Make a new kit after rotating keys.\n',
        );
      }),
    );
}
