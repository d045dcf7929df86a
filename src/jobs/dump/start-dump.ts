import pg from 'pg';
import type { Readable } from 'node:stream';
import { childEnv } from '../pg/connection.ts';
import type { PgTool } from '../pg/pg-tools.ts';
import { runTool, type RunningTool } from '../pg/run-tool.ts';
import { compressArg, DEFAULT_DUMP_SETTINGS, describeCompression, type DumpSettings } from './dump-settings.ts';
import { DIRECTORY_TAR_FORMAT, startParallelDump } from './parallel-dump.ts';

export interface StartedDump {
  /** pg_dump's output (or the parallel dump's tar) and its completion, as the pipeline reads them. */
  tool: Pick<RunningTool, 'done'> & { child: { stdout: Readable } };
  /** The manifest's artifact format. */
  format: string;
  /** For the progress line: `custom, gzip:1` or `directory -j 4, zstd`. */
  description: string;
}

/**
 * Starts pg_dump for a backup, in the snapshot the row counts use: one process writing the
 * custom format to stdout, or, for a database of at least `parallelMinBytes` when `jobs` > 1,
 * a parallel directory-format dump streamed as a tar (parallel-dump.ts).
 */
export async function startDump(input: {
  pgDump: PgTool;
  databaseUrl: string;
  snapshotId: string;
  /** More pg_dump arguments (--lock-wait-timeout) and its environment (connection, PGAPPNAME). */
  extraArgs?: string[];
  env?: NodeJS.ProcessEnv;
  settings: DumpSettings | undefined;
  signal: AbortSignal;
}): Promise<StartedDump> {
  const settings = input.settings ?? DEFAULT_DUMP_SETTINGS;
  const common = [`--snapshot=${input.snapshotId}`, ...(input.extraArgs ?? []), '--no-password', compressArg(settings.compression, input.pgDump.major)];
  const compression = describeCompression(settings.compression);
  const env = input.env ?? childEnv(input.databaseUrl);
  if (settings.jobs > 1 && settings.tmpDir !== undefined && (await databaseBytes(input.databaseUrl)) >= settings.parallelMinBytes) {
    const tool = startParallelDump({ pgDumpPath: input.pgDump.path, args: common, jobs: settings.jobs, env, tmpDir: settings.tmpDir, signal: input.signal });
    return { tool, format: DIRECTORY_TAR_FORMAT, description: `directory -j ${settings.jobs}, ${compression}` };
  }
  const tool = runTool(input.pgDump.path, ['--format=custom', ...common], { env, signal: input.signal, name: 'pg_dump' });
  return { tool, format: 'pg_dump-custom', description: `custom, ${compression}` };
}

async function databaseBytes(url: string): Promise<number> {
  const client = new pg.Client({ connectionString: url, application_name: 'bantay-backup' });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: string }>('SELECT pg_database_size(current_database()) AS n');
    return Number(rows[0]!.n);
  } finally {
    await client.end().catch(() => undefined);
  }
}
