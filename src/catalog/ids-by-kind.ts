import type { ObjectStore } from '../storage/object-store.ts';
import { isBackupId, KIND_PREFIX, type BackupKind } from './backup-id.ts';

/**
 * Ids of the complete backups (those with a manifest) of one kind, newest first, from a single
 * listing of `backups/<prefix>-` and without reading any manifest: ids start with their UTC
 * creation time, so they sort by time within a kind. Uploads backups use this to find their
 * parent (and restore --date its day) without reading every manifest in the store.
 */
export async function completeIdsOfKind(store: ObjectStore, kind: BackupKind): Promise<string[]> {
  const ids: string[] = [];
  for await (const info of store.list(`backups/${KIND_PREFIX[kind]}-`)) {
    const match = /^backups\/([^/]+)\/manifest\.json$/.exec(info.key);
    if (match?.[1] !== undefined && isBackupId(match[1])) ids.push(match[1]);
  }
  return ids.sort((a, b) => (a < b ? 1 : a > b ? -1 : 0));
}

/** The UTC creation time encoded in an id ("upl-20261126T020000Z-7f3a"), to the second. */
export function timeOfId(id: string): Date {
  const m = /-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-/.exec(id);
  return m ? new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6]))) : new Date(Number.NaN);
}
