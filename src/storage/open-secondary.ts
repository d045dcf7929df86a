import { existsSync } from 'node:fs';
import { BantayError, ErrorCode } from '../errors.ts';
import type { ObjectStore } from './object-store.ts';
import { openStore, type StoreLocation } from './open-store.ts';

/**
 * Opens the secondary location. A local secondary directory must already exist: it is usually
 * an NFS mount point's subdirectory, and creating it on the local disk while the share is not
 * mounted would "sync" the backups onto the very machine they are meant to outlive.
 */
export function openSecondaryStore(location: StoreLocation): ObjectStore {
  if (location.type === 'local' && !existsSync(location.dir)) {
    throw new BantayError(
      ErrorCode.Storage,
      `The secondary directory ${location.dir} does not exist. If it lives on a network share, check that the share is mounted; ` +
        `otherwise create it once (mkdir -p ${location.dir}).`,
    );
  }
  return openStore(location);
}
