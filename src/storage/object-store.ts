import type { Readable } from 'node:stream';
import type { LeftoverCleaner } from './leftovers.ts';

/** What a store knows about one stored object. */
export interface ObjectInfo {
  /** The object's key, relative to the store's root/prefix ("backups/db-.../manifest.json"). */
  key: string;
  size: number;
  modifiedAt: Date;
}

export interface PutOptions {
  /** Aborting makes `put` reject; nothing is left under the key and no upload stays open. */
  signal?: AbortSignal;
  contentType?: string;
  /**
   * Told when the store retries a request of this upload that failed (a 5xx, a reset, a
   * timeout) before it tries again: "the store refused part 3 …; trying again (attempt 2 of 5)".
   * Progress shows it, so retries inside the S3 client are not silent.
   */
  onRetry?: (message: string) => void;
}

export interface GetOptions {
  signal?: AbortSignal;
  /**
   * Told when the store waits to retry a read that failed mid-way (a reset, a stall): "resuming
   * at byte N after …". Progress shows it, so no wait of several seconds is silent.
   */
  onRetry?: (message: string) => void;
}

/**
 * One small interface for every place Bantay keeps artifacts: a local directory, any
 * S3-compatible bucket, memory (tests). Every implementation passes test/storage/contract.ts.
 *
 * Contracts:
 * - Keys are validated by `assertValidKey` (relative, "/"-separated, no "." or ".." segments).
 * - `put` consumes `body` fully. The object becomes visible under `key` only after every byte
 *   is durably stored; if `body` errors, the signal aborts or the store fails, `put` rejects
 *   and leaves nothing under `key` (no partial file, no open multipart upload). Overwrites an
 *   existing object atomically. Resolves with the number of bytes stored.
 * - `get` resolves with a stream of exactly the stored bytes, or rejects with
 *   BantayError(NOT_FOUND) when the key does not exist. A store may retry transient read
 *   errors underneath (S3 resumes with a Range request); the consumer still sees one
 *   continuous stream of every byte, or an error, never a silently short stream.
 * - `stat` resolves undefined when the key does not exist.
 * - `list` yields every object whose key starts with `prefix`, in ascending key order.
 * - `delete` is idempotent: deleting a missing key succeeds.
 */
export interface ObjectStore {
  /** Where this store points, safe for logs and messages (never credentials). */
  readonly description: string;
  put(key: string, body: Readable, options?: PutOptions): Promise<{ size: number }>;
  get(key: string, options?: GetOptions): Promise<Readable>;
  stat(key: string): Promise<ObjectInfo | undefined>;
  list(prefix: string): AsyncIterable<ObjectInfo>;
  delete(key: string): Promise<void>;
  /** Stores whose interrupted writes can leave something behind (local temp files, S3 multipart uploads). */
  readonly leftovers?: LeftoverCleaner;
}
