import type { Command } from 'commander';
import type { CliContext, CliIo } from './context.ts';

export type Run = (fn: (ctx: CliContext) => Promise<void>) => Promise<void>;
export type Registrar = (program: Command, run: Run) => void;

/**
 * Each top-level command and the modules that register it. Only the modules of the command
 * being run are imported (all of them for --help or an unknown word), so a backup does not
 * load the restore, schedule or export code: start-up time and memory are part of every
 * backup's and restore's cost.
 */
const COMMANDS: Record<string, () => Promise<Registrar[]>> = {
  backup: async () => [(await import('./commands/backup.ts')).registerBackupCommands, (await import('./commands/backup-files.ts')).registerFilesBackupCommands, (await import('./commands/backup-base.ts')).registerBaseBackupCommand],
  list: async () => [(await import('./commands/catalog.ts')).registerCatalogCommands],
  show: async () => [(await import('./commands/catalog.ts')).registerCatalogCommands],
  'export-sql': async () => [(await import('./commands/export-sql.ts')).registerExportSqlCommand],
  'export-user': async () => [(await import('./commands/export-user.ts')).registerExportUserCommand],
  serve: async () => [(await import('./commands/serve.ts')).registerServeCommand],
  console: async () => [(await import('./commands/console.ts')).registerConsoleCommand],
  verify: async () => [(await import('./commands/verify.ts')).registerVerifyCommand],
  restore: async () => [(await import('./commands/restore.ts')).registerRestoreCommand],
  drill: async () => [(await import('./commands/drill.ts')).registerDrillCommand],
  schedule: async () => [(await import('./commands/schedule.ts')).registerScheduleCommand],
  prune: async () => [(await import('./commands/prune.ts')).registerPruneCommand],
  sync: async () => [(await import('./commands/sync.ts')).registerSyncCommand],
  monitor: async () => [(await import('./commands/monitor.ts')).registerMonitorCommand],
  key: async () => [(await import('./commands/key.ts')).registerKeyCommands],
  'recovery-kit': async () => [(await import('./commands/recovery-kit.ts')).registerRecoveryKitCommand],
  wal: async () => [(await import('./commands/wal.ts')).registerWalCommands],
  incident: async () => [(await import('./commands/incident.ts')).registerIncidentCommands],
};

export async function registrarsFor(argv: string[]): Promise<Registrar[]> {
  const word = argv.find((a) => !a.startsWith('-'));
  // `bantay --version` is the root program's own option: loading every command for it took
  // 0.24 s of the 0.45 s it answered in (bench:files' start-up row).
  if (word === undefined && argv.some((a) => a === '--version' || a === '-V')) return [];
  const only = word !== undefined && word !== 'help' ? COMMANDS[word] : undefined;
  if (only) return only();
  const all = await Promise.all(Object.values(COMMANDS).map((load) => load()));
  return [...new Set(all.flat())];
}


/**
 * Registers the commands argv needs on a program, each throwing instead of exiting and
 * writing to io: main's program, and the sub-program `bantay incident run` carries a runbook
 * step out with (the same commands, in the same process and context).
 */
export async function registerCommands(program: Command, run: Run, io: Pick<CliIo, 'stdout' | 'stderr'>, argv: string[]): Promise<void> {
  for (const register of await registrarsFor(argv)) register(program, run);
  for (const cmd of program.commands) {
    cmd.exitOverride().configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
    for (const sub of cmd.commands) sub.exitOverride().configureOutput({ writeOut: (s) => io.stdout.write(s), writeErr: (s) => io.stderr.write(s) });
  }
}
