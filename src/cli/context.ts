import { userInfo } from 'node:os';
import { loadConfig, type Config } from '../config/load-config.ts';
import type { JobDeps, Trigger } from '../jobs/job-context.ts';
import { createLogger, type Logger } from '../log/logger.ts';
import { openStateDb, type StateDb } from '../state/state-db.ts';
import { sweepDeadRecoveryRuns } from '../jobs/pitr/recovery-leftovers.ts';
import { processTempDir, removeOrphanRestoreDumps, sweepDeadTempDirs, tempRoot } from '../util/temp-dir.ts';
import { BantayError, ErrorCode } from '../errors.ts';
import { createFallbackStore } from '../storage/fallback-store.ts';
import { openSecondaryStore } from '../storage/open-secondary.ts';
import { openStore } from '../storage/open-store.ts';
import type { ObjectStore } from '../storage/object-store.ts';

/** Where verify, restore and drill read backups from (--from). */
export type ReadLocation = 'primary' | 'secondary' | 'auto';

export interface CliIo {
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Aborted on SIGINT/SIGTERM. */
  signal: AbortSignal;
}

/**
 * Everything a command needs, built lazily: config and logger first (so config errors are
 * reported before anything connects), the store and state database on first use.
 */
export class CliContext {
  readonly config: Config;
  readonly logger: Logger;
  readonly io: CliIo;
  #store: ObjectStore | undefined;
  #state: StateDb | undefined;

  constructor(io: CliIo) {
    this.io = io;
    this.config = loadConfig({ env: io.env, cwd: io.cwd });
    this.logger = createLogger({ level: this.config.log.level, format: this.config.log.format, destination: io.stderr });
    sweepTempAtStart(this.config.dataDir, this.logger);
  }

  get store(): ObjectStore {
    this.#store ??= openStore(this.config.store);
    return this.#store;
  }

  async state(): Promise<StateDb> {
    // deferWrites: a command that only writes state (backup, restore, verify) journals its rows
    // and never opens the embedded database; the first read opens it (src/state/journal.ts).
    this.#state ??= await openStateDb({
      url: this.config.stateUrl,
      dataDir: this.config.dataDir,
      deferWrites: true,
      onJournalProblem: (p) => this.logger.warn({ file: p.file, error: p.error }, 'a state journal entry could not be applied; it is kept in the file named'),
    });
    return this.#state;
  }

  /**
   * The store to read backups from. 'auto' (the default) reads the primary and, when a
   * secondary is configured and the primary cannot be reached, falls back to the secondary with
   * a warning: the data-center-outage case. Writes through it still go to the primary only.
   */
  readStore(from: ReadLocation = 'auto'): ObjectStore {
    const secondary = this.config.secondary;
    const primary = openStore(this.config.store);
    if (from === 'primary' || (from === 'auto' && secondary === undefined)) return primary;
    if (secondary === undefined) {
      throw new BantayError(ErrorCode.Usage, '--from secondary needs BANTAY_SECONDARY_STORE to be configured');
    }
    if (from === 'secondary') return openSecondaryStore(secondary);
    return createFallbackStore({
      primary,
      secondary: openSecondaryStore(secondary),
      onFallback: (warning) => this.logger.warn(warning),
    });
  }

  /**
   * For verify, restore and drill (--from): from now on `store` and `deps()` read through
   * `readStore(from)`. Their few writes (verification records, drill reports, the pre-restore
   * safety backup) go where that store writes: the primary, or the secondary when chosen.
   */
  useReadLocation(from: ReadLocation): void {
    this.#store = this.readStore(from);
  }

  async deps(): Promise<JobDeps> {
    return {
      store: this.store,
      state: await this.state(),
      keyRing: this.config.keyRing,
      logger: this.logger,
      pgBinDir: this.config.pgBinDir,
      requiredTables: this.config.recovery.requiredTables,
      backupRolePasswords: this.config.recovery.backupRolePasswords,
      tempDir: processTempDir(this.config.dataDir),
      // A parallel dump's plaintext goes into this process's swept temp directory too.
      dump: { ...this.config.dump, tmpDir: processTempDir(this.config.dataDir) },
      lockTimeoutMs: this.config.lockTimeoutSeconds * 1000,
    };
  }

  trigger(): Trigger {
    return { by: `cli:${safeUserName()}`, via: 'cli' };
  }

  /** Warns loudly, once per run, when backups would be stored unencrypted. */
  warnIfUnencrypted(): void {
    if (!this.config.keyRing.primary) {
      this.logger.warn('BANTAY_ENCRYPTION_KEY is not set: backups are stored UNENCRYPTED. Generate a key with: openssl rand -base64 32');
    }
  }

  async close(): Promise<void> {
    const state = this.#state;
    this.#state = undefined;
    await state?.close().catch(() => undefined);
  }
}

/**
 * Every start removes the plaintext scratch of Bantay processes that died without cleaning up
 * (per-process directories under BANTAY_DATA_DIR/tmp, and the parallel-restore dumps older
 * versions left there). Never fails the command: a read-only or missing data dir has nothing
 * to sweep.
 */
function sweepTempAtStart(dataDir: string, logger: Logger): void {
  try {
    const removed = [...sweepDeadTempDirs(dataDir), ...removeOrphanRestoreDumps(tempRoot(dataDir))];
    if (removed.length > 0) logger.info({ removed }, `removed ${removed.length} temporary item(s) left by dead Bantay processes in ${tempRoot(dataDir)}`);
  } catch (err) {
    logger.warn({ err }, 'could not sweep the temporary directory');
  }
  for (const run of sweepDeadRecoveryRuns(dataDir)) {
    const what = [run.stoppedServer !== undefined ? `stopped its recovery server (pid ${run.stoppedServer})` : undefined, run.emptied !== undefined ? `emptied ${run.emptied}` : undefined].filter(Boolean).join(', ');
    if (run.problem !== undefined) logger.warn({ run: run.run, problem: run.problem }, `could not clean up point-in-time restore ${run.run} left by a dead Bantay process`);
    else logger.warn({ run: run.run, stoppedServer: run.stoppedServer, emptied: run.emptied }, `removed point-in-time restore ${run.run} left by a dead Bantay process${what ? `: ${what}` : ''}`);
  }
}

function safeUserName(): string {
  try {
    return userInfo().username.replace(/[^A-Za-z0-9._-]/g, '_') || 'unknown';
  } catch {
    return 'unknown';
  }
}
