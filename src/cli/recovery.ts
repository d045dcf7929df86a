import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { requireDatabaseUrl } from '../config/load-config.ts';
import { BantayError, ErrorCode } from '../errors.ts';
import { renderCheck } from '../jobs/drill-report-text.ts';
import type { Check } from '../catalog/verification.ts';
import type { CliContext, ReadLocation } from './context.ts';

/** --jobs N, else BANTAY_RESTORE_JOBS. */
export function parseJobsOption(value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new BantayError(ErrorCode.Usage, `--jobs must be a whole number from 1 to 64`);
  return n;
}

/** Parses --from primary|secondary|auto (default auto: primary, falling back to the secondary). */
export function parseFromOption(value: string | undefined): ReadLocation {
  if (value === undefined || value === 'auto') return 'auto';
  if (value === 'primary' || value === 'secondary') return value;
  throw new BantayError(ErrorCode.Usage, '--from must be primary, secondary or auto');
}

export const FROM_OPTION_HELP = 'read backups from the primary or secondary store (default: primary, falling back to the secondary when the primary is unreachable)';

/** What verify, restore and drill share: where to restore, how, and who asked. */
export function recoveryBase(ctx: CliContext, opts: { jobs?: string }) {
  return {
    databaseUrl: requireDatabaseUrl(ctx.config),
    maintenanceDb: ctx.config.recovery.maintenanceDb,
    jobs: parseJobsOption(opts.jobs, ctx.config.recovery.restoreJobs),
    tmpDir: join(ctx.config.dataDir, 'tmp'),
    trigger: ctx.trigger(),
    signal: ctx.io.signal,
  };
}

/** Said whenever --jobs > 1 put the plaintext dump on disk (the README ("Recovery") explains why). */
export const TEMP_FILE_NOTE = 'pg_restore ran in parallel from a temporary copy of the decrypted dump (BANTAY_DATA_DIR/tmp, mode 0600), deleted when it finished.';

export function renderChecks(checks: readonly Check[]): string {
  return checks.map(renderCheck).join('\n');
}

/**
 * Asks a person to type something and resolves with the line, or undefined when input ends
 * first (no terminal, nothing piped). Reads process.stdin: CliIo has no stdin of its own yet.
 */
export async function readConfirmation(prompt: string, out: NodeJS.WritableStream, input: NodeJS.ReadableStream = process.stdin): Promise<string | undefined> {
  out.write(prompt);
  const rl = createInterface({ input, terminal: false });
  try {
    return await new Promise<string | undefined>((resolve) => {
      rl.once('line', (line) => resolve(line.trim()));
      rl.once('close', () => resolve(undefined));
    });
  } finally {
    rl.close();
  }
}
