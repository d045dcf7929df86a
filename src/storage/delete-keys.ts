import type { ObjectStore } from './object-store.ts';
import { mapLimit } from '../util/map-limit.ts';

export interface DeleteKeysResult {
  deleted: string[];
  failed: Array<{ key: string; error: unknown }>;
}

/**
 * Deletes `keys` with single, idempotent DELETE requests, at most `concurrency` at a time.
 *
 * Deliberately not S3 DeleteObjects: that batch call requires a Content-MD5 or checksum header,
 * the SDK (>= 3.729) sends CRC32 by default, and several S3-compatible providers reject one or
 * the other (Bantay's S3 client computes checksums only WHEN_REQUIRED, see s3-store.ts). Single
 * deletes work everywhere; a prune deletes a handful of objects per backup, so the extra
 * requests cost nothing that matters. Failures are collected, never thrown, so one bad key does
 * not leave the rest undeleted; the caller decides what a failure means.
 */
export async function deleteKeys(
  store: ObjectStore,
  keys: readonly string[],
  options: { concurrency?: number; signal?: AbortSignal } = {},
): Promise<DeleteKeysResult> {
  const result: DeleteKeysResult = { deleted: [], failed: [] };
  await mapLimit(keys, options.concurrency ?? 4, async (key) => {
    if (options.signal?.aborted) {
      result.failed.push({ key, error: options.signal.reason });
      return;
    }
    try {
      await store.delete(key);
      result.deleted.push(key);
    } catch (error) {
      result.failed.push({ key, error });
    }
  });
  return result;
}
