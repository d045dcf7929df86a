/**
 * What an interrupted write leaves in a store, outside the key space `list` shows: a local
 * store's `.tmp-*` files of killed uploads, an S3 bucket's incomplete multipart uploads (billed
 * until aborted). Stores that can have them offer a LeftoverCleaner; `bantay prune` lists and
 * removes the ones old enough that no running job can own them (jobs/retention/leftovers.ts).
 */
export interface Leftover {
  kind: 'temp-file' | 'multipart-upload';
  /** The object key it was going to become (S3), or the temp file's path under the root. */
  key: string;
  /** Last write (temp file) or initiation (multipart upload). */
  since: Date;
  sizeBytes?: number;
  /** What removeLeftover needs: the upload id, or the temp file's path. */
  handle: string;
}

export interface LeftoverCleaner {
  /** Every leftover under the store's root or prefix. Providers that cannot list them yield none. */
  listLeftovers(): AsyncIterable<Leftover>;
  /** Removes one; already gone is fine. */
  removeLeftover(leftover: Leftover): Promise<void>;
}
