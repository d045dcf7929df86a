import { isAbsolute, join, resolve } from 'node:path';
import { streamStatusFileOf } from '../../jobs/wal/stream-status-file.ts';
import { requireReplicationUrl } from '../../config/load-config.ts';
import type { Command } from 'commander';
import { ErrorCode, isBantayError } from '../../errors.ts';
import { fetchWalFile } from '../../jobs/wal/fetch-wal.ts';
import { pushWalFile } from '../../jobs/wal/push-wal.ts';
import type { CliContext } from '../context.ts';
import { CommandExit } from '../exit-code.ts';

type Run = (fn: (ctx: CliContext) => Promise<void>) => Promise<void>;

/** restore_command: the file is not in the archive (PostgreSQL: end of the archive). */
export const EXIT_WAL_NOT_FOUND = 1;
/**
 * restore_command: anything else went wrong (store unreachable, authentication failed).
 * PostgreSQL aborts recovery on exit codes above 125 instead of taking the file as missing,
 * which would end recovery early at the wrong point.
 */
export const EXIT_WAL_FETCH_FAILED = 126;

export function registerWalCommands(program: Command, run: Run): void {
  const wal = program.command('wal').description('continuous WAL archiving for point-in-time recovery (see the README, "Point-in-time recovery")');
  wal
    .command('push')
    .description("archive one WAL file: archive_command = 'bantay wal push %p'. Exit 0 only when stored and confirmed")
    .argument('<path>', 'the file (%p), relative to the data directory or absolute')
    .action((path: string) =>
      run(async (ctx) => {
        const file = isAbsolute(path) ? path : resolve(ctx.io.cwd, path);
        const result = await pushWalFile(file, walDeps(ctx), { via: 'push', signal: ctx.io.signal });
        ctx.logger.info({ wal: result.name, status: result.status, storedBytes: result.storedBytes }, 'WAL file archived');
      }),
    );
  wal
    .command('stream')
    .description('stream WAL continuously (pg_receivewal with a replication slot) into the store, until stopped')
    .action(() =>
      run(async (ctx) => {
        ctx.warnIfUnencrypted();
        ctx.logger.info({ slot: ctx.config.wal.slot }, 'streaming WAL');
        await streamWal(ctx, ctx.io.signal);
      }),
    );
  wal
    .command('status')
    .description('WAL archiving: newest archived segment, lag, backlog, slot state, restorable window')
    .option('--json', 'print one JSON object')
    .action((opts: { json?: boolean }) =>
      run(async (ctx) => {
        const { readWalStatus } = await import('../../jobs/wal/wal-status.ts');
        const { renderWalStatus } = await import('./wal-status-text.ts');
        const status = await readWalStatus(
          {
            databaseUrl: ctx.config.databaseUrl,
            replicationUrl: ctx.config.wal.replicationUrl,
            slot: ctx.config.wal.slot,
            streamStatusFile: streamStatusFileOf(ctx.config.dataDir),
          },
          walDeps(ctx),
        );
        ctx.io.stdout.write(opts.json ? `${JSON.stringify(status)}\n` : `${renderWalStatus(status, ctx.config.files.timeZone)}\n`);
      }),
    );
  wal
    .command('fetch')
    .description("restore one WAL file: restore_command = 'bantay wal fetch %f %p'. Exit 1: not archived; 126: could not fetch")
    .argument('<name>', 'the WAL file name (%f)')
    .argument('<path>', 'where to write it (%p)')
    .action((name: string, path: string) =>
      // Even a configuration error must not look like "not archived" to PostgreSQL.
      run(async (ctx) => {
        const destination = isAbsolute(path) ? path : resolve(ctx.io.cwd, path);
        await fetchWalFile(name, destination, walDeps(ctx), { signal: ctx.io.signal });
      }).catch((err: unknown) => {
        const notFound = isBantayError(err) && err.code === ErrorCode.NotFound;
        throw new CommandExit(notFound ? EXIT_WAL_NOT_FOUND : EXIT_WAL_FETCH_FAILED, err);
      }),
    );
}

/** `bantay wal stream`: runs until SIGINT/SIGTERM (bantay serve runs it when BANTAY_WAL=stream). */
export async function streamWal(ctx: CliContext, signal: AbortSignal): Promise<void> {
  const { runWalStream } = await import('../../jobs/wal/wal-streamer.ts');
  const { wal } = ctx.config;
  await runWalStream(
    {
      replicationUrl: requireReplicationUrl(ctx.config),
      slot: wal.slot,
      dir: join(ctx.config.dataDir, 'wal', 'backlog'),
      partialIntervalSeconds: wal.partialIntervalSeconds,
      backlogMaxBytes: wal.backlogMaxBytes,
      signal,
      pgBinDir: ctx.config.pgBinDir,
    },
    { ...walDeps(ctx), logger: ctx.logger },
  );
}

/** archive_command and restore_command run once per file: no state database, no audit row each. */
function walDeps(ctx: CliContext) {
  return { store: ctx.store, keyRing: ctx.config.keyRing };
}
