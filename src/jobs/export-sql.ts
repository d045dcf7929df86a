import { pipeline } from 'node:stream/promises';
import { allowListedEnv } from './child-env.ts';
import type { Writable } from 'node:stream';
import { findBackup } from '../catalog/catalog.ts';
import { BantayError, ErrorCode, wrapError } from '../errors.ts';
import { recordAudit } from '../state/audit-log.ts';
import { linkedAbort, type JobDeps, type Trigger } from './job-context.ts';
import { DIRECTORY_TAR_FORMAT } from './dump/parallel-dump.ts';
import { withExtractedDump } from './dump/extract-dump.ts';
import { jobTempBase } from '../util/temp-dir.ts';
import { findPgRestoreFor } from './pg/pg-restore.ts';
import { runTool } from './pg/run-tool.ts';
import { silentReporter, type ProgressReporter } from './progress.ts';
import { openArtifact } from './read-artifact.ts';

export interface ExportSqlSpec {
  id: string;
  output: Writable;
  /** --no-owner: leave out ALTER … OWNER TO (the script then runs as whoever executes it). Default: owners kept. */
  noOwner?: boolean;
  trigger: Trigger;
  signal?: AbortSignal;
}

/**
 * Turns a custom-format database backup into a plain SQL script on demand (pg_restore -f -),
 * streaming: store -> checks -> decrypt -> pg_restore stdin, pg_restore stdout -> output.
 * The script is complete only when this resolves; on failure the caller discards the output.
 * Owners are kept unless `noOwner`: the script recreates the database as it was, and roles it
 * needs on a new server are in the backup's globals (see the README, "Restore onto a new server").
 */
export async function exportSql(spec: ExportSqlSpec, deps: JobDeps, reporter: ProgressReporter = silentReporter): Promise<{ bytes: number }> {
  const started = Date.now();
  // "latest" is the newest database backup: files backups have no dump to convert.
  const manifest = await findBackup(deps.store, deps, spec.id, spec.id === 'latest' ? 'database' : undefined);
  if (manifest.kind !== 'database') throw new BantayError(ErrorCode.InvalidInput, `${manifest.id} is a ${manifest.kind} backup, not a database dump`);
  try {
    // The same check as restore: a pg_restore older than the dump's pg_dump cannot read it.
    const pgRestore = await findPgRestoreFor(manifest, deps.pgBinDir);
    reporter.phase?.('converting', `${manifest.id} -> SQL with pg_restore ${pgRestore.version}`);
    const abort = linkedAbort(spec.signal);
    const input = await openArtifact(manifest, deps, { signal: abort.signal, reporter });
    let bytes = 0;
    const convert = async (dumpDir: string | undefined) => {
      const tool = runTool(pgRestore.path, ['--file=-', ...(spec.noOwner ? ['--no-owner'] : []), ...(dumpDir === undefined ? [] : [dumpDir])], { env: allowListedEnv(), signal: abort.signal, stdin: dumpDir === undefined, name: 'pg_restore' });
      tool.child.stdout.on('data', (b: Buffer) => (bytes += b.length));
      const results = await Promise.allSettled([
        dumpDir === undefined ? pipeline(input, tool.child.stdin!, { signal: abort.signal }) : Promise.resolve(),
        pipeline(tool.child.stdout, spec.output, { end: false }),
        tool.done,
      ]);
      const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) {
        abort.abort();
        // An integrity failure upstream explains a pg_restore complaint downstream, so it wins.
        throw (results[0].status === 'rejected' ? results[0].reason : failed.reason) as unknown;
      }
    };
    // A parallel dump is a directory pg_restore reads from disk (src/jobs/dump/).
    try {
      if (manifest.artifact.format === DIRECTORY_TAR_FORMAT) await withExtractedDump(input, { tmpDir: jobTempBase(deps), signal: abort.signal }, convert);
      else await convert(undefined);
    } finally {
      abort.release();
    }
    await recordAudit(deps.state, { operationType: 'export', backupType: 'database-sql', status: 'succeeded', backupId: manifest.id, fileSize: bytes, durationSeconds: (Date.now() - started) / 1000, performedBy: spec.trigger.by });
    return { bytes };
  } catch (err) {
    const error = wrapError(ErrorCode.Tool, 'SQL export failed', err);
    await recordAudit(deps.state, { operationType: 'export', backupType: 'database-sql', status: 'failed', backupId: manifest.id, errorMessage: error.message, durationSeconds: (Date.now() - started) / 1000, performedBy: spec.trigger.by }).catch(() => undefined);
    throw error;
  }
}
