import { ErrorCode, wrapError } from '../../errors.ts';
import { deleteKeys } from '../../storage/delete-keys.ts';
import type { ObjectStore } from '../../storage/object-store.ts';

/**
 * Deletes a stored thing's record (`first`: its manifest) before the rest of its objects, so a
 * half-finished deletion never leaves a listed backup without its data; resolves with the
 * error text, or undefined when all is gone. What is left is removed by a later prune.
 */
export async function deleteRecordFirst(store: ObjectStore, first: string | undefined, keys: string[], signal?: AbortSignal): Promise<string | undefined> {
  try {
    if (first !== undefined && keys.includes(first)) await store.delete(first);
  } catch (err) {
    return wrapError(ErrorCode.Storage, `delete ${first}`, err).message;
  }
  const rest = await deleteKeys(store, keys.filter((k) => k !== first), { signal });
  if (rest.failed.length === 0) return undefined;
  const f = rest.failed[0]!;
  return `${rest.failed.length} of ${keys.length} object(s) not deleted (first: ${wrapError(ErrorCode.Storage, `delete ${f.key}`, f.error).message}); a later prune removes them`;
}
