import type { ObjectInfo, ObjectStore } from '../storage/object-store.ts';
import { isBackupId } from './backup-id.ts';

/**
 * Every object under backups/<id>/, grouped by backup id, from one listing of the store (no
 * manifest reads). A backup is complete when its group holds manifest.json.
 */
export async function listBackupObjects(store: ObjectStore): Promise<Map<string, ObjectInfo[]>> {
  const byId = new Map<string, ObjectInfo[]>();
  for await (const info of store.list('backups/')) {
    const id = info.key.split('/')[1];
    if (id === undefined || !isBackupId(id)) continue;
    const objects = byId.get(id) ?? [];
    objects.push(info);
    byId.set(id, objects);
  }
  return byId;
}

export function hasManifest(objects: readonly ObjectInfo[]): boolean {
  return objects.some((o) => o.key.endsWith('/manifest.json'));
}

/** The creation time encoded in a backup id ("db-20261126T020000Z-7f3a"), to the second. */
export function timeOfBackupId(id: string): Date {
  const m = /-(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z-/.exec(id);
  if (!m) return new Date(Number.NaN);
  return new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])));
}

export interface StoreScan {
  /** Every object in the store: what the location costs. */
  usage: { bytes: number; objects: number };
  /** Objects under backups/<id>/ by id, as listBackupObjects. */
  backups: Map<string, ObjectInfo[]>;
}

/** One listing of the whole store: usage totals plus the backups' objects. */
export async function scanStore(store: ObjectStore): Promise<StoreScan> {
  const scan: StoreScan = { usage: { bytes: 0, objects: 0 }, backups: new Map() };
  for await (const info of store.list('')) {
    scan.usage.bytes += info.size;
    scan.usage.objects += 1;
    const [top, id] = info.key.split('/');
    if (top !== 'backups' || id === undefined || !isBackupId(id)) continue;
    const objects = scan.backups.get(id) ?? [];
    objects.push(info);
    scan.backups.set(id, objects);
  }
  return scan;
}
