import type { Command } from 'commander';
import { BantayError, ErrorCode } from '../../errors.ts';
import type { RetentionDecision } from '../../jobs/retention/plan-retention.ts';
import { runPrune, type PruneResult } from '../../jobs/retention/prune.ts';
import { openSecondaryStore } from '../../storage/open-secondary.ts';
import type { CliContext } from '../context.ts';
import { createCliReporter } from '../progress-bar.ts';

type Run = (fn: (ctx: CliContext) => Promise<void>) => Promise<void>;

/** `bantay prune [--dry-run]`: applies the retention policy (the README ("Operations")). */
export function registerPruneCommand(program: Command, run: Run): void {
  program
    .command('prune')
    .description('delete what the retention policy no longer keeps (see --dry-run first)')
    .option('--dry-run', 'show what would be deleted and why; delete nothing')
    .option('--secondary', 'prune the secondary location instead of the primary')
    .option('--verbose', 'also list what is kept, with every reason')
    .option('--json', 'print the result as JSON on stdout')
    .action((opts: { dryRun?: boolean; secondary?: boolean; verbose?: boolean; json?: boolean }) =>
      run(async (ctx) => {
        const deps = await ctx.deps();
        if (opts.secondary && ctx.config.secondary === undefined) throw new BantayError(ErrorCode.ConfigInvalid, 'BANTAY_SECONDARY_STORE is not set: there is no secondary location to prune');
        const store = opts.secondary ? openSecondaryStore(ctx.config.secondary!) : deps.store;
        const reporter = createCliReporter({ tty: false, out: ctx.io.stderr, logger: ctx.logger });
        const { retention, timezone } = ctx.config.ops;
        const result = await runPrune(
          { policy: retention, timezone, dryRun: opts.dryRun === true, trigger: ctx.trigger(), location: opts.secondary ? 'secondary' : 'primary', signal: ctx.io.signal },
          { ...deps, store },
          reporter,
        );
        if (opts.json) ctx.io.stdout.write(`${JSON.stringify(result)}\n`);
        else ctx.io.stdout.write(renderPrune(result, opts.verbose === true));
        if (result.failed.length + result.leftovers.failed.length > 0) throw new BantayError(ErrorCode.Storage, `${result.failed.length + result.leftovers.failed.length} deletion(s) failed; run bantay prune again later`);
      }),
    );
}

export function renderPrune(result: PruneResult, verbose: boolean): string {
  const doomed = result.plan.decisions.filter((d) => d.action === 'delete');
  const kept = result.plan.decisions.filter((d) => d.action === 'keep');
  const line = (d: RetentionDecision) => `  ${d.id}  ${d.type === 'backup' ? d.kind : d.type}  ${d.createdAt.replace(/\.\d{3}Z$/, 'Z')}  ${d.reasons.join('; ')}\n`;
  let out = `${result.dryRun ? 'Dry run: would delete' : 'Deleted'} ${result.dryRun ? doomed.length : result.deleted.length} item(s) at the ${result.location}, keeping ${kept.length}.\n`;
  if (doomed.length > 0) out += `${result.dryRun ? 'Would delete' : 'Delete'}:\n${doomed.map(line).join('')}`;
  if (verbose && kept.length > 0) out += `Keep:\n${kept.map(line).join('')}`;
  for (const f of result.failed) out += `FAILED ${f.decision.id}: ${f.error}\n`;
  const leftovers = result.leftovers.planned.filter((d) => d.action === 'remove');
  if (leftovers.length > 0) {
    out += `${result.dryRun ? 'Would remove' : 'Removed'} ${result.dryRun ? leftovers.length : result.leftovers.removed.length} leftover(s) of interrupted uploads:\n`;
    for (const d of leftovers) out += `  ${d.leftover.kind === 'temp-file' ? 'temp file' : 'multipart upload'}  ${d.leftover.key}${d.leftover.sizeBytes !== undefined ? `  ${d.leftover.sizeBytes} bytes` : ''}  ${d.reason}\n`;
  }
  const young = result.leftovers.planned.length - leftovers.length;
  if (young > 0 && verbose) out += `Kept ${young} recent temp file(s) / upload(s) that a running job may own.\n`;
  for (const f of result.leftovers.failed) out += `FAILED to remove ${f.decision.leftover.key}: ${f.error}\n`;
  for (const w of result.plan.warnings) out += `Warning: ${w}\n`;
  return out;
}
