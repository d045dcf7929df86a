import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, unlinkSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { Manifest } from '../../catalog/manifest.ts';
import { BantayError, ErrorCode, isBantayError } from '../../errors.ts';
import { redactSecrets } from '../../log/redact.ts';
import { linkedAbort, type JobDeps } from '../job-context.ts';
import type { ProgressReporter } from '../progress.ts';
import { openArtifact } from '../read-artifact.ts';
import { childEnv } from './connection.ts';
import { findPgTool, type PgTool } from './pg-tools.ts';
import { runTool, type RunningTool } from './run-tool.ts';
import { processToken } from '../../state/process-identity.ts';
import { jobTempBase, removeOrphanRestoreDumps } from '../../util/temp-dir.ts';
import { DIRECTORY_TAR_FORMAT } from '../dump/parallel-dump.ts';
import { withExtractedDump } from '../dump/extract-dump.ts';

export interface PgRestoreOptions {
  /** URL of the (empty) database to restore into. */
  targetUrl: string;
  targetName: string;
  /** pg_restore --jobs. 1 streams the artifact into pg_restore's stdin; more needs a seekable temp file. */
  jobs: number;
  /** Where the temp file goes when jobs > 1 (default: the process temp dir under BANTAY_DATA_DIR/tmp). */
  tmpDir?: string;
  signal?: AbortSignal;
  reporter?: ProgressReporter;
  /** pg_restore --no-owner --no-privileges: objects belong to the connecting role, no GRANTs (restore --no-owner). */
  noOwner?: boolean;
}

export interface PgRestoreOutcome {
  /** Errors pg_restore reported and skipped over; a faithful restore has none. */
  errorCount: number;
  /** The first error lines (up to 50), redacted. */
  errors: string[];
  usedTempFile: boolean;
}

const TEMP_PREFIX = 'bantay-restore-';

/**
 * Restores a database backup's artifact into an empty database with pg_restore. The artifact
 * is checked (size, SHA-256, per-chunk authentication) on the way; a mismatch rejects with
 * BantayError(INTEGRITY) even when pg_restore itself was happy, so callers can never mistake a
 * damaged backup for a good restore. pg_restore runs without --exit-on-error so every problem
 * is counted, not just the first; a count above zero is the caller's to judge.
 */
export async function restoreArtifactInto(manifest: Manifest, deps: Pick<JobDeps, 'store' | 'keyRing' | 'tempDir'>, tool: PgTool, options: PgRestoreOptions): Promise<PgRestoreOutcome> {
  const args = ['--no-password', `--dbname=${options.targetName}`, ...(options.noOwner ? ['--no-owner', '--no-privileges'] : [])];
  // A parallel dump (src/jobs/dump/): unpacked to a temp directory, restored with --jobs.
  if (manifest.artifact.format === DIRECTORY_TAR_FORMAT) return { ...(await restoreFromDumpDirectory(manifest, deps, tool, args, options)), usedTempFile: true };
  if (options.jobs <= 1) return { ...(await restoreFromStdin(manifest, deps, tool, args, options)), usedTempFile: false };
  return { ...(await restoreFromTempFile(manifest, deps, tool, [...args, `--jobs=${options.jobs}`], options)), usedTempFile: true };
}

/** Finds pg_restore and checks it can read the archive format of the backup's pg_dump. */
export async function findPgRestoreFor(manifest: Manifest, pgBinDir: string | undefined): Promise<PgTool> {
  const tool = await findPgTool('pg_restore', pgBinDir);
  const dumpMajor = Number.parseInt(manifest.tools.pg_dump ?? '0', 10);
  if (tool.major < dumpMajor) {
    throw new BantayError(
      ErrorCode.Tool,
      `pg_restore ${tool.version} cannot read a dump made by pg_dump ${manifest.tools.pg_dump}; install the PostgreSQL ${dumpMajor} client tools or point BANTAY_PG_BIN at them`,
    );
  }
  return tool;
}

async function restoreFromStdin(manifest: Manifest, deps: Pick<JobDeps, 'store' | 'keyRing'>, tool: PgTool, args: string[], options: PgRestoreOptions) {
  options.reporter?.phase?.('restoring', `${manifest.id} -> ${options.targetName} (pg_restore ${tool.version}, streaming)`);
  const abort = linkedAbort(options.signal);
  const input = await openArtifact(manifest, deps, { signal: abort.signal, reporter: options.reporter });
  const running = runTool(tool.path, args, { env: childEnv(options.targetUrl), signal: abort.signal, stdin: true, name: 'pg_restore' });
  const errors = collectErrors(running);
  running.child.stdout.resume();
  const [feed, done] = await Promise.allSettled([pipeline(input, running.child.stdin!, { signal: abort.signal }), running.done]);
  abort.release();
  if (feed.status === 'rejected') {
    abort.abort();
    await running.done.catch(() => undefined);
    // The artifact's own failure (digest, authentication, cancel) explains whatever pg_restore
    // said; a bare broken pipe means pg_restore died first, and its message says why.
    throw isBantayError(feed.reason) || done.status === 'fulfilled' ? feed.reason : done.reason;
  }
  return judgeExit(done, errors);
}

async function restoreFromTempFile(manifest: Manifest, deps: Pick<JobDeps, 'store' | 'keyRing' | 'tempDir'>, tool: PgTool, args: string[], options: PgRestoreOptions) {
  const dir = options.tmpDir ?? jobTempBase(deps);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  removeOrphanTempFiles(dir);
  const file = join(dir, `${TEMP_PREFIX}${processToken()}_${randomBytes(4).toString('hex')}.dump`);
  // Plaintext of a backup: removed on every path, including process.exit on a second Ctrl-C.
  const removeSync = () => {
    try {
      unlinkSync(file);
    } catch {
      // Already gone.
    }
  };
  process.once('exit', removeSync);
  try {
    options.reporter?.phase?.('downloading', `${manifest.id} -> temporary file for pg_restore --jobs=${options.jobs}`);
    const input = await openArtifact(manifest, deps, { signal: options.signal, reporter: options.reporter });
    // The file is complete and its digest verified before pg_restore reads a byte of it.
    await pipeline(input, createWriteStream(file, { flags: 'wx', mode: 0o600 }), { signal: options.signal });
    options.reporter?.phase?.('restoring', `${manifest.id} -> ${options.targetName} (pg_restore ${tool.version}, --jobs=${options.jobs})`);
    const running = runTool(tool.path, [...args, file], { env: childEnv(options.targetUrl), signal: options.signal, name: 'pg_restore' });
    const errors = collectErrors(running);
    running.child.stdout.resume();
    const [done] = await Promise.allSettled([running.done]);
    return judgeExit(done, errors);
  } finally {
    await rm(file, { force: true });
    process.off('exit', removeSync);
  }
}

/**
 * A parallel dump: the verified artifact is unpacked into a temp directory (pg_restore reads a
 * directory-format dump only from disk), then `pg_restore --jobs=N DIR`, as the plain tools do
 * it by hand: decrypt, `tar -xf`, `pg_restore -j N -d DB DIR`.
 */
async function restoreFromDumpDirectory(manifest: Manifest, deps: Pick<JobDeps, 'store' | 'keyRing' | 'tempDir'>, tool: PgTool, args: string[], options: PgRestoreOptions) {
  options.reporter?.phase?.('downloading', `${manifest.id} -> temporary directory for pg_restore --jobs=${options.jobs}`);
  const input = await openArtifact(manifest, deps, { signal: options.signal, reporter: options.reporter });
  return withExtractedDump(input, { tmpDir: options.tmpDir ?? jobTempBase(deps), signal: options.signal }, async (dir) => {
    options.reporter?.phase?.('restoring', `${manifest.id} -> ${options.targetName} (pg_restore ${tool.version}, --jobs=${options.jobs})`);
    const running = runTool(tool.path, [...args, `--jobs=${Math.max(1, options.jobs)}`, dir], { env: childEnv(options.targetUrl), signal: options.signal, name: 'pg_restore' });
    const errors = collectErrors(running);
    running.child.stdout.resume();
    const [done] = await Promise.allSettled([running.done]);
    return judgeExit(done, errors);
  });
}

/** Temp files of Bantay processes that died without cleaning up (SIGKILL, power loss). */
export function removeOrphanTempFiles(dir: string): string[] {
  return removeOrphanRestoreDumps(dir, TEMP_PREFIX);
}

interface ErrorLog {
  count(): number;
  sample(): string[];
  /** pg_restore printed its closing summary, i.e. it got to the end of the archive. */
  finished(): boolean;
}

const MAX_SAMPLE = 50;

/** Counts "pg_restore: error:" lines; the final "errors ignored on restore: N" wins when present. */
function collectErrors(running: RunningTool): ErrorLog {
  let partial = '';
  let counted = 0;
  let ignored: number | undefined;
  const sample: string[] = [];
  running.child.stderr.on('data', (text: string) => {
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      const total = /errors ignored on restore: (\d+)/.exec(line);
      if (total) ignored = Number(total[1]);
      else if (/^pg_restore: error: /.test(line)) {
        counted += 1;
        if (sample.length < MAX_SAMPLE) sample.push(redactSecrets(line.slice(0, 300)));
      }
    }
  });
  return { count: () => ignored ?? counted, sample: () => sample, finished: () => ignored !== undefined };
}

/**
 * pg_restore exits 1 when it skipped over errors but reached the end: that is a result (the
 * errors are counted), not a crash. Any other failure (fatal error, signal, cancel) throws.
 */
function judgeExit(done: PromiseSettledResult<void>, errors: ErrorLog): { errorCount: number; errors: string[] } {
  if (done.status === 'rejected' && !errors.finished()) throw done.reason;
  return { errorCount: errors.count(), errors: errors.sample() };
}
