import type { KeyRing } from '../crypto/keys.ts';
import type { DumpSettings } from './dump/dump-settings.ts';
import type { Logger } from '../log/logger.ts';
import type { StateDb } from '../state/state-db.ts';
import type { ObjectStore } from '../storage/object-store.ts';

/** The explicit dependencies every job receives; the CLI, the bot and tests build one each. */
export interface JobDeps {
  store: ObjectStore;
  state: StateDb;
  keyRing: KeyRing;
  logger: Logger;
  /** Directory holding pg_dump/pg_restore; found automatically when undefined. */
  pgBinDir?: string;
  /** How database backups run pg_dump (BANTAY_DUMP_*); defaults when undefined. */
  dump?: DumpSettings;
  now?: () => Date;
  /** BANTAY_BACKUP_ROLE_PASSWORDS: database backups carry role password verifiers (default off). */
  backupRolePasswords?: boolean;
  /** BANTAY_REQUIRED_TABLES as manifest keys (catalog/table-name.ts): verify fails unless each exists and has rows. */
  requiredTables?: readonly string[];
  /**
   * This process's private scratch directory (BANTAY_DATA_DIR/tmp/<process>, 0700) for the few
   * plaintext temporary files a job needs; see src/util/temp-dir.ts. Defaults to that
   * directory under BANTAY_DATA_DIR (or ./var) when a caller does not set it.
   */
  tempDir?: string;
  /** BANTAY_LOCK_TIMEOUT: how long Bantay's sessions and pg_dump wait for a lock; default 300 s. */
  lockTimeoutMs?: number;
}

/** Who or what asked for a job; lands in manifests and the audit log. */
export interface Trigger {
  /** "cli:alice", "slack:U0123", "schedule". */
  by: string;
  via: 'cli' | 'slack' | 'schedule' | 'api';
}

/** An AbortController that also aborts when its parent signal does (see linkedAbort). */
export interface LinkedAbort extends AbortController {
  /** Unlinks from the parent: call when the work is over, or the parent keeps a listener per call. */
  release(): void;
}

/**
 * A controller of its own that the parent `signal` also aborts. The link is a listener on the
 * parent, removed when this controller aborts or is released: work started many times under one
 * long-lived signal (every segment `wal stream` uploads) must release, or the listeners pile up
 * (Node warned at 11, after a minute of pgbench load).
 */
export function linkedAbort(signal: AbortSignal | undefined): LinkedAbort {
  const controller = new AbortController() as LinkedAbort;
  const forward = () => controller.abort(signal!.reason);
  const release = () => signal?.removeEventListener('abort', forward);
  controller.release = release;
  if (signal?.aborted) controller.abort(signal.reason);
  else if (signal !== undefined) {
    signal.addEventListener('abort', forward, { once: true });
    controller.signal.addEventListener('abort', release, { once: true });
  }
  return controller;
}
