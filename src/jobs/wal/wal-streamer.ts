import { mkdir, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { isAbortError } from '../../errors.ts';
import type { Logger } from '../../log/logger.ts';
import { childEnv } from '../pg/connection.ts';
import { assertToolNotOlder, findPgTool } from '../pg/pg-tools.ts';
import { runTool, type RunningTool } from '../pg/run-tool.ts';
import { walRecordKey } from './archive-layout.ts';
import { ensureIdentity } from './archive-identity.ts';
import { pushWalFile, readRecord, type WalDeps } from './push-wal.ts';
import { identifyServer } from './replication-connection.ts';
import { walFileKind } from './wal-names.ts';

export interface StreamSpec {
  replicationUrl: string;
  slot: string;
  /** Local backlog: pg_receivewal writes here; uploaded files are removed. */
  dir: string;
  partialIntervalSeconds: number;
  backlogMaxBytes: number;
  signal: AbortSignal;
  pgBinDir?: string;
  /** How often the backlog is scanned for completed files (default 1 s). */
  pollMs?: number;
}

/** What `wal status` reads (stream-status-file.ts: beside the backlog, BANTAY_DATA_DIR/wal). */
export interface StreamStatus {
  updatedAt: string;
  receiving: boolean;
  lastArchived: string | null;
  lastArchivedAt: string | null;
  backlogFiles: number;
  backlogBytes: number;
  lastError: string | null;
}

/**
 * `bantay wal stream`: runs pg_receivewal (its own replication slot, created if missing) into
 * a local backlog and uploads in name order every completed segment and history file, and the
 * segment in progress (.partial) every partialIntervalSeconds while it grows, so the archive
 * lags the server by at most about that long even without archive_timeout. Restarts
 * pg_receivewal when it or the server goes away; when the store is down, files wait in the
 * backlog (still in order) and pg_receivewal is paused past backlogMaxBytes, leaving the WAL to
 * the slot on the server. A file leaves the backlog only after its record is stored, so a
 * kill -9 at any moment loses nothing: the next run uploads what is there, and pg_receivewal
 * resumes from the partial segment or the slot.
 */
export async function runWalStream(spec: StreamSpec, deps: WalDeps & { logger: Logger }): Promise<void> {
  await mkdir(spec.dir, { recursive: true, mode: 0o700 });
  const tool = await findPgTool('pg_receivewal', spec.pgBinDir);
  const server = await identifyServer(spec.replicationUrl);
  assertToolNotOlder(tool, 'pg_receivewal', server.serverVersion, server.serverMajor);
  const identity = await ensureIdentity(deps.store, deps, { systemIdentifier: server.systemIdentifier, pgMajor: server.serverMajor });
  const env = childEnv(spec.replicationUrl);
  const created = runTool(tool.path, ['--create-slot', '--if-not-exists', `--slot=${spec.slot}`, '--no-password'], { env, name: 'pg_receivewal --create-slot', signal: spec.signal });
  await created.done;
  const state: StreamStatus = { updatedAt: '', receiving: false, lastArchived: null, lastArchivedAt: null, backlogFiles: 0, backlogBytes: 0, lastError: null };
  const partialSent = new Map<string, number>();
  let receiver: RunningTool | undefined;
  let backoffMs = 1000;
  let restartAt = 0;
  let lastPartialUpload = 0;
  const statusFile = join(spec.dir, '..', 'stream-status.json');
  while (!spec.signal.aborted) {
    const backlog = await scanBacklog(spec.dir);
    state.backlogFiles = backlog.files.length;
    state.backlogBytes = backlog.bytes;
    const overBound = backlog.bytes > spec.backlogMaxBytes;
    if (receiver === undefined && !overBound && Date.now() >= restartAt) {
      receiver = startReceiver(tool.path, spec, env);
      state.receiving = true;
      const started = receiver;
      void started.done.then(
        () => undefined,
        (err: unknown) => {
          if (!isAbortError(err)) deps.logger.warn({ err }, 'pg_receivewal stopped; restarting');
          state.lastError = err instanceof Error ? err.message : String(err);
        },
      ).finally(() => {
        if (receiver === started) receiver = undefined;
        state.receiving = false;
        restartAt = Date.now() + backoffMs;
        backoffMs = Math.min(backoffMs * 2, 30_000);
      });
    } else if (receiver !== undefined && overBound) {
      deps.logger.warn({ backlogBytes: backlog.bytes }, 'WAL backlog over BANTAY_WAL_BACKLOG_MAX: pausing pg_receivewal (the slot keeps WAL on the server)');
      receiver.child.kill('SIGTERM');
    }
    try {
      for (const name of backlog.files) {
        await pushWalFile(join(spec.dir, name), deps, { via: 'stream', signal: spec.signal });
        await rm(join(spec.dir, name), { force: true });
        await forgetPartial(deps, identity.systemIdentifier, name);
        state.lastArchived = name;
        state.lastArchivedAt = new Date().toISOString();
        backoffMs = 1000;
      }
      const partial = backlog.partial;
      if (partial !== undefined && Date.now() - lastPartialUpload >= spec.partialIntervalSeconds * 1000) {
        const info = await stat(join(spec.dir, partial)).catch(() => undefined);
        if (info !== undefined && partialSent.get(partial) !== info.mtimeMs) {
          await pushWalFile(join(spec.dir, partial), deps, { via: 'stream', signal: spec.signal });
          partialSent.set(partial, info.mtimeMs);
          state.lastArchived = partial;
          state.lastArchivedAt = new Date().toISOString();
        }
        lastPartialUpload = Date.now();
      }
      state.lastError = null;
    } catch (err) {
      if (spec.signal.aborted) break;
      state.lastError = err instanceof Error ? err.message : String(err);
      deps.logger.warn({ err }, 'WAL upload failed; the file stays in the backlog and is retried');
    }
    state.updatedAt = new Date().toISOString();
    // Written aside and renamed: wal status, the monitor and App Home read it at any moment and
    // must never see half a file.
    await writeFile(`${statusFile}.tmp`, `${JSON.stringify(state)}\n`)
      .then(() => rename(`${statusFile}.tmp`, statusFile))
      .catch(() => undefined);
    await sleep(spec.pollMs ?? 1000, spec.signal);
  }
  receiver?.child.kill('SIGTERM');
  await receiver?.done.catch(() => undefined);
}

function startReceiver(path: string, spec: StreamSpec, env: NodeJS.ProcessEnv): RunningTool {
  // --synchronous: flush (and report the flush to the slot) after every write, so the .partial
  // file holds everything received; --no-loop: we supervise and restart it ourselves.
  return runTool(path, ['-D', spec.dir, `--slot=${spec.slot}`, '--synchronous', '--no-loop', '--no-password', '--status-interval=5'], { env, name: 'pg_receivewal', signal: spec.signal });
}

/** Completed files in upload order (history files first, then segments) and the one in progress. */
export async function scanBacklog(dir: string): Promise<{ files: string[]; partial: string | undefined; bytes: number }> {
  const names = (await readdir(dir)).sort();
  let bytes = 0;
  for (const name of names) bytes += (await stat(join(dir, name)).catch(() => ({ size: 0 }))).size;
  const history = names.filter((n) => walFileKind(n) === 'history');
  const segments = names.filter((n) => walFileKind(n) === 'segment');
  const partial = names.filter((n) => walFileKind(n) === 'partial').at(-1);
  return { files: [...history, ...segments], partial, bytes };
}

/** Once the complete segment is archived its partial is obsolete: record first, then the bytes. */
async function forgetPartial(deps: WalDeps, identity: string, name: string): Promise<void> {
  if (walFileKind(name) !== 'segment') return;
  const partial = await readRecord(deps.store, deps, walRecordKey(identity, `${name}.partial`), `${name}.partial`).catch(() => undefined);
  if (partial === undefined) return;
  await deps.store.delete(walRecordKey(identity, `${name}.partial`));
  await deps.store.delete(partial.artifact.key);
}

/** Waits ms or until aborted; the abort listener goes with the wait (the loop sleeps every second for weeks). */
export function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const onAbort = () => {
      clearTimeout(timer);
      resolve();
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
