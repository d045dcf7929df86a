import { BantayError, ErrorCode, isBantayError } from '../errors.ts';
import type { GetOptions, ObjectInfo, ObjectStore, PutOptions } from './object-store.ts';
import type { Readable } from 'node:stream';

export interface FallbackStoreOptions {
  primary: ObjectStore;
  secondary: ObjectStore;
  /** Called once, when reads switch to the secondary; `warning` is safe to show people. */
  onFallback?: (warning: string, cause: unknown) => void;
}

export interface FallbackStore extends ObjectStore {
  /** Where reads go now: 'primary' until the primary was found unreachable. */
  readonly activeLocation: 'primary' | 'secondary';
}

/**
 * Reads from the primary and, when the primary cannot be reached at all (connection refused,
 * DNS failure, timeouts, HTTP 5xx after the S3 client's own retries, an I/O error on a local
 * mount), from the secondary: the data-center-outage case. Once it has switched it stays on
 * the secondary for the rest of its life, so one job never mixes two catalogs.
 *
 * Errors that say something about the data rather than the connection (not found, integrity,
 * permissions) never switch: a missing object on a reachable primary is a real answer.
 * Writes and deletes always go to the primary and never fall back: the secondary is a copy
 * kept by `bantay sync`, not a second place to write to.
 */
export function createFallbackStore(options: FallbackStoreOptions): FallbackStore {
  let active: 'primary' | 'secondary' = 'primary';
  const fallBack = (err: unknown): void => {
    if (active === 'secondary') return;
    active = 'secondary';
    const reason = err instanceof Error ? err.message : String(err);
    options.onFallback?.(
      `The primary store (${options.primary.description}) is unreachable (${reason}); reading from the secondary (${options.secondary.description}) instead.`,
      err,
    );
  };
  async function read<T>(fn: (store: ObjectStore) => Promise<T>): Promise<T> {
    if (active === 'secondary') return fn(options.secondary);
    try {
      return await fn(options.primary);
    } catch (err) {
      if (!isUnreachableError(err)) throw err;
      fallBack(err);
      return fn(options.secondary);
    }
  }
  return {
    get description() {
      return active === 'primary' ? options.primary.description : `${options.secondary.description} (secondary; primary unreachable)`;
    },
    get activeLocation() {
      return active;
    },
    put: (key: string, body: Readable, putOptions?: PutOptions) => options.primary.put(key, body, putOptions),
    delete: (key: string) => options.primary.delete(key),
    get: (key: string, getOptions?: GetOptions) => read((s) => s.get(key, getOptions)),
    stat: (key: string) => read((s) => s.stat(key)),
    list: (prefix: string) => listWithFallback(prefix, () => active, options, fallBack),
  };
}

/**
 * Falls back only when the primary fails before yielding anything: switching in the middle of
 * a listing would mix two stores' keys, so a later failure is thrown.
 */
async function* listWithFallback(
  prefix: string,
  active: () => 'primary' | 'secondary',
  options: FallbackStoreOptions,
  fallBack: (err: unknown) => void,
): AsyncGenerator<ObjectInfo> {
  if (active() === 'secondary') {
    yield* options.secondary.list(prefix);
    return;
  }
  const iterator = options.primary.list(prefix)[Symbol.asyncIterator]();
  let first: IteratorResult<ObjectInfo>;
  try {
    first = await iterator.next();
  } catch (err) {
    if (!isUnreachableError(err)) throw err;
    fallBack(err);
    yield* options.secondary.list(prefix);
    return;
  }
  if (first.done) return;
  yield first.value;
  for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
}

const UNREACHABLE_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EPIPE',
  'ECONNABORTED',
  // Local or NFS mounts gone bad.
  'EIO',
  'ESTALE',
  'ENOTCONN',
]);
const UNREACHABLE_NAMES = new Set(['TimeoutError', 'RequestTimeout', 'RequestTimeoutException', 'NetworkingError', 'ServiceUnavailable', 'SlowDown', 'InternalError']);

/**
 * True when `err` (or any error in its cause chain) means the store could not be reached, as
 * opposed to answering "no". BantayErrors other than STORAGE (NOT_FOUND, INTEGRITY, ...) never
 * count; an S3 answer counts only when it is a 5xx.
 */
export function isUnreachableError(err: unknown): boolean {
  if (isBantayError(err) && err.code !== ErrorCode.Storage) return false;
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    const c = e as { code?: unknown; name?: unknown; errno?: unknown; $metadata?: { httpStatusCode?: number }; cause?: unknown; errors?: unknown[] };
    if (typeof c.code === 'string' && UNREACHABLE_CODES.has(c.code)) return true;
    if (typeof c.name === 'string' && UNREACHABLE_NAMES.has(c.name)) return true;
    const status = c.$metadata?.httpStatusCode;
    if (typeof status === 'number' && status >= 500) return true;
    if (Array.isArray(c.errors) && c.errors.some((inner) => isUnreachableError(inner))) return true;
    e = c.cause;
  }
  return false;
}

/** For callers that must refuse to continue on the secondary (e.g. writes during an outage). */
export function primaryUnreachableError(store: FallbackStore): BantayError | undefined {
  return store.activeLocation === 'secondary'
    ? new BantayError(ErrorCode.Storage, 'The primary store is unreachable; this operation needs it (reads fell back to the secondary)')
    : undefined;
}
