import { BantayError, ErrorCode } from '../errors.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { isBackupId, parseBackupId, type BackupKind } from './backup-id.ts';
import { malformed, readJsonRecord, writeJsonRecord } from './json-record.ts';
import { manifestKey, manifestSchema, type Manifest } from './manifest.ts';
import { mapLimit } from '../util/map-limit.ts';

/**
 * The catalog is the store itself: a backup is listed when `backups/<id>/manifest.json`
 * exists and parses. A brand-new Bantay pointed at an existing bucket sees every backup.
 */
export async function writeManifest(store: ObjectStore, manifest: Manifest, signal?: AbortSignal): Promise<void> {
  await writeJsonRecord(store, manifestKey(manifest.id), manifest, signal);
}

export async function readManifest(store: ObjectStore, id: string): Promise<Manifest> {
  parseBackupId(id);
  const names = { missing: `backup ${id}`, record: `The manifest of ${id}` };
  const manifest = await readJsonRecord(store, manifestKey(id), manifestSchema, names);
  if (manifest.id !== id) throw malformed(names);
  return manifest;
}

export interface ListFilter {
  kind?: BackupKind;
  label?: string;
}

/** Every backup in the store, newest first. Unreadable manifests are reported, not hidden. */
export async function listBackups(
  store: ObjectStore,
  filter: ListFilter = {},
  onBadManifest: (id: string, err: unknown) => void = () => undefined,
): Promise<Manifest[]> {
  const ids: string[] = [];
  for await (const info of store.list('backups/')) {
    const match = /^backups\/([^/]+)\/manifest\.json$/.exec(info.key);
    if (match?.[1] !== undefined && isBackupId(match[1])) ids.push(match[1]);
  }
  // One GET per manifest: on S3 a few in flight turn seconds into a fraction (App Home, the
  // restore picker and monitoring all list the catalog).
  const read: Array<Manifest | undefined> = new Array(ids.length);
  await mapLimit(ids, 8, async (id, index) => {
    try {
      read[index] = await readManifest(store, id);
    } catch (err) {
      onBadManifest(id, err);
    }
  });
  const manifests = read.filter((m): m is Manifest => m !== undefined);
  return manifests
    .filter((m) => (filter.kind === undefined || m.kind === filter.kind) && (filter.label === undefined || m.label === filter.label))
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
}

/** Resolves "latest" (optionally of a kind) or a literal id to a manifest. */
export async function findBackup(store: ObjectStore, idOrLatest: string, kind?: BackupKind): Promise<Manifest> {
  if (idOrLatest === 'latest') {
    const [newest] = await listBackups(store, { kind });
    if (newest === undefined) throw new BantayError(ErrorCode.NotFound, `There are no backups${kind ? ` of kind ${kind}` : ''} in ${store.description}`);
    return newest;
  }
  return readManifest(store, parseBackupId(idOrLatest));
}
