import type { Command } from 'commander';
import { parseLabel } from '../../catalog/backup-id.ts';
import type { Manifest } from '../../catalog/manifest.ts';
import { configError, requireDatabaseUrl, type Config } from '../../config/load-config.ts';
import { IncompleteSetError, runEmergencyBackup, runFullBackupSet, runPreDeployBackup, type SetResult } from '../../jobs/backup-set.ts';
import { runApplicationBackup, runUploadsBackup } from '../../jobs/files/backup-files.ts';
import { BantayError, ErrorCode } from '../../errors.ts';
import type { CliContext } from '../context.ts';
import { formatBytes, formatDuration, summarizeManifest } from '../format.ts';
import { createCliReporter } from '../progress-bar.ts';

type Run = (fn: (ctx: CliContext) => Promise<void>) => Promise<void>;
type Reporter = ReturnType<typeof createCliReporter>;

/**
 * Adds the files and set subcommands to `bantay backup` (registered by commands/backup.ts, which
 * must run first): application, uploads, full, pre-deploy, emergency.
 */
export function registerFilesBackupCommands(program: Command, run: Run): void {
  const backup = program.commands.find((c) => c.name() === 'backup');
  if (backup === undefined) throw new BantayError(ErrorCode.Internal, 'registerBackupCommands must run before registerFilesBackupCommands');
  backup
    .command('application')
    .description('archive APP_DIR (without BANTAY_APP_EXCLUDE) into the store')
    .option('--label <text>', 'label to find it by later')
    .option('--json', 'print the result as one JSON object on stdout')
    .action((opts: { label?: string; json?: boolean }) =>
      withReporter(run, opts, async (ctx, reporter) => {
        const files = ctx.config.files;
        const m = await runApplicationBackup({ ...common(ctx, opts), appDir: requireAppDir(ctx.config), exclude: files.appExclude }, await ctx.deps(), reporter);
        printManifest(ctx, m, opts.json);
      }),
    );
  backup
    .command('uploads')
    .description('back up UPLOADS_DIR incrementally (a new full chain weekly, or with --full)')
    .option('--full', 'start a new chain with a full backup')
    .option('--label <text>', 'label to find it by later')
    .option('--json', 'print the result as one JSON object on stdout')
    .action((opts: { full?: boolean; label?: string; json?: boolean }) =>
      withReporter(run, opts, async (ctx, reporter) => {
        const spec = { ...common(ctx, opts), uploadsDir: requireUploadsDir(ctx.config), chainDays: ctx.config.files.uploadsChainDays, full: opts.full === true, strict: ctx.config.files.uploadsStrict };
        printManifest(ctx, await runUploadsBackup(spec, await ctx.deps(), reporter), opts.json);
      }),
    );
  backup
    .command('full')
    .description('database + application + uploads (a new full chain) as one set')
    .option('--label <text>', 'label for all three backups')
    .option('--json', 'print the set as one JSON object on stdout')
    .action((opts: { label?: string; json?: boolean }) =>
      withReporter(run, opts, async (ctx, reporter) => {
        const { files } = ctx.config;
        const spec = { ...common(ctx, opts), databaseUrl: requireDatabaseUrl(ctx.config), appDir: requireAppDir(ctx.config), uploadsDir: requireUploadsDir(ctx.config), exclude: files.appExclude, chainDays: files.uploadsChainDays };
        await printSet(ctx, () => ctx.deps().then((deps) => runFullBackupSet(spec, deps, reporter)), opts.json);
      }),
    );
  backup
    .command('pre-deploy')
    .description('database + application before a deployment, labelled with its version')
    .argument('<version>', 'the version being deployed (e.g. v2.3.1); find the backups with bantay list --label')
    .option('--json', 'print the set as one JSON object on stdout')
    .action((version: string, opts: { json?: boolean }) =>
      withReporter(run, opts, async (ctx, reporter) => {
        const spec = { version: parseLabel(version), databaseUrl: requireDatabaseUrl(ctx.config), appDir: requireAppDir(ctx.config), exclude: ctx.config.files.appExclude, trigger: ctx.trigger(), signal: ctx.io.signal };
        await printSet(ctx, () => ctx.deps().then((deps) => runPreDeployBackup(spec, deps, reporter)), opts.json);
      }),
    );
  backup
    .command('emergency')
    .description('a database backup now, marked emergency')
    .option('--label <text>', 'label (default "emergency")')
    .option('--json', 'print the result as one JSON object on stdout')
    .action((opts: { label?: string; json?: boolean }) =>
      withReporter(run, opts, async (ctx, reporter) => {
        const m = await runEmergencyBackup({ ...common(ctx, opts), databaseUrl: requireDatabaseUrl(ctx.config) }, await ctx.deps(), reporter);
        printManifest(ctx, m, opts.json);
      }),
    );
}

function withReporter(run: Run, opts: { json?: boolean }, fn: (ctx: CliContext, reporter: Reporter) => Promise<void>): Promise<void> {
  return run(async (ctx) => {
    ctx.warnIfUnencrypted();
    const reporter = createCliReporter({ tty: ctx.io.stderr.isTTY === true && !opts.json, out: ctx.io.stderr, logger: ctx.logger });
    try {
      await fn(ctx, reporter);
    } finally {
      reporter.done();
    }
  });
}

function common(ctx: CliContext, opts: { label?: string }) {
  return { label: opts.label === undefined ? undefined : parseLabel(opts.label), trigger: ctx.trigger(), signal: ctx.io.signal };
}

export function requireAppDir(config: Config): string {
  if (config.files.appDir === undefined) throw configError([{ variable: 'APP_DIR', message: 'is required: the FBMS application directory' }]);
  return config.files.appDir;
}

export function requireUploadsDir(config: Config): string {
  if (config.files.uploadsDir === undefined) throw configError([{ variable: 'UPLOADS_DIR', message: 'is required: the FBMS uploads directory' }]);
  return config.files.uploadsDir;
}

/** The stable JSON of any backup: the common summary plus files, chain and set fields. */
/** Kept for callers that predate summarizeManifest covering files backups. */
export const summarizeAnyManifest = summarizeManifest;

export function describeManifest(m: Manifest): string {
  const encryption = m.artifact.encryption ? `encrypted (key ${m.artifact.encryption.keyId})` : 'NOT ENCRYPTED';
  const head = `${m.kind} backup ${m.id} stored: ${formatBytes(m.artifact.sizeBytes)} in ${formatDuration(m.durationSeconds)}`;
  if (m.files === undefined) return `${head}, ${m.tables ? `${Object.keys(m.tables).length} tables, ` : ''}${encryption}${m.emergency ? ' [EMERGENCY]' : ''}`;
  const f = m.files;
  const chain = m.chain ? (m.chain.parentId === null ? ', full (starts a new chain)' : `, incremental #${m.chain.sequence} on ${m.chain.parentId} (${m.chain.deletions} deletions)`) : '';
  const skipped = f.skipped?.length ? `\nSKIPPED ${f.skipped.length} file(s) that could not be read consistently (not in this backup):\n${f.skipped.map((s) => `  ${s.path}: ${s.reason}`).join('\n')}` : '';
  return `${head}, ${f.storedFiles ?? 0} of ${f.treeFiles ?? 0} files stored (${formatBytes(f.totalBytes)} of ${formatBytes(f.treeBytes ?? 0)}, ${f.compressedFiles ?? 0} gzip-compressed)${chain}, ${encryption}${skipped}`;
}

function printManifest(ctx: CliContext, m: Manifest, json: boolean | undefined): void {
  ctx.io.stdout.write(json ? `${JSON.stringify(summarizeAnyManifest(m))}\n` : `${describeManifest(m)}\n`);
}

/** Prints the set (complete or not); an incomplete set is still an error (exit 1) after printing. */
async function printSet(ctx: CliContext, take: () => Promise<SetResult>, json: boolean | undefined): Promise<void> {
  let result: SetResult;
  let failure: IncompleteSetError | undefined;
  try {
    result = await take();
  } catch (err) {
    if (!(err instanceof IncompleteSetError)) throw err;
    failure = err;
    result = err.result;
  }
  const { set, manifests } = result;
  if (json) {
    ctx.io.stdout.write(`${JSON.stringify({ ...set, backups: Object.fromEntries(Object.entries(manifests).map(([r, m]) => [r, summarizeAnyManifest(m)])) })}\n`);
  } else {
    ctx.io.stdout.write(`Backup set ${set.setId} (${set.type}${set.label ? `, label ${set.label}` : ''}): ${set.complete ? 'COMPLETE' : 'INCOMPLETE'}\n`);
    for (const [role, part] of Object.entries(set.parts)) {
      const m = manifests[role as keyof typeof manifests];
      ctx.io.stdout.write(`  ${role.padEnd(11)} ${part.status === 'succeeded' && m ? describeManifest(m) : `FAILED: ${part.status === 'failed' ? part.error : ''}`}\n`);
    }
  }
  if (failure) throw failure;
}
