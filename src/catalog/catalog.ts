import { BantayError, ErrorCode, isBantayError } from '../errors.ts';
import { noteBackupsSeen } from './catalog-trust.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { isBackupId, kindOfId, parseBackupId, type BackupKind } from './backup-id.ts';
import { timeOfBackupId } from './backup-objects.ts';
import { isRecordRefused, malformed, readJsonRecord, RecordRefused, writeJsonRecord, type Authenticity, type RecordTrust } from './json-record.ts';
import { manifestKey, manifestSchema, type Manifest } from './manifest.ts';
import { mapLimit } from '../util/map-limit.ts';

/**
 * The catalog is the store itself: a backup exists when `backups/<id>/manifest.json` does.
 * A brand-new Bantay pointed at an existing bucket sees every backup. Listings show every
 * manifest: usable ones, and those that are DAMAGED (unreadable) or REJECTED (they break a
 * rule of docs/catalog-authentication.md §3), which are never verified or restored.
 */
export async function writeManifest(store: ObjectStore, manifest: Manifest, trust: RecordTrust, signal?: AbortSignal): Promise<void> {
  await writeJsonRecord(store, manifestKey(manifest.id), manifest, trust, signal);
  if (trust.state) await noteBackupsSeen(trust.state, store.description, [manifest.id]).catch(() => undefined);
}

export interface ManifestRead {
  manifest: Manifest;
  authenticity: Authenticity;
}

/** One manifest with how it stands; throws NOT_FOUND or RecordRefused. */
export async function readManifestEntry(store: ObjectStore, trust: RecordTrust, id: string): Promise<ManifestRead> {
  parseBackupId(id);
  const names = { missing: `backup ${id}`, record: `Backup ${id}` };
  const read = await readJsonRecord(store, manifestKey(id), manifestSchema, names, trust, { artifactPrefix: `backups/${id}/` });
  if (read.value.id !== id) throw malformed(names, `its manifest names another backup (${String(read.value.id).slice(0, 40)})`);
  return { manifest: read.value, authenticity: read.authenticity };
}

export async function readManifest(store: ObjectStore, trust: RecordTrust, id: string): Promise<Manifest> {
  return (await readManifestEntry(store, trust, id)).manifest;
}

export interface ListFilter {
  kind?: BackupKind;
  label?: string;
}

/** A backup as a listing shows it. */
export type CatalogEntry =
  | { id: string; kind: BackupKind; status: 'listed'; manifest: Manifest; authenticity: Authenticity }
  | { id: string; kind: BackupKind; status: 'damaged' | 'rejected'; reason: string };

/** When an entry sorts: its createdAt when usable, else the time in its id. */
export function entryTime(entry: CatalogEntry): string {
  return entry.status === 'listed' ? entry.manifest.createdAt : timeOfBackupId(entry.id).toISOString();
}

/**
 * Every backup in the store, newest first, including the damaged and rejected ones (they
 * match any label: theirs cannot be known). Records the usable ids as seen in this store.
 */
export async function readCatalog(
  store: ObjectStore,
  trust: RecordTrust,
  filter: ListFilter = {},
  /** Ids the caller knows are recorded as seen in this store already: not noted again (a write). */
  options: { alreadySeen?: ReadonlySet<string> } = {},
): Promise<CatalogEntry[]> {
  const ids: string[] = [];
  for await (const info of store.list('backups/')) {
    const match = /^backups\/([^/]+)\/manifest\.json$/.exec(info.key);
    if (match?.[1] !== undefined && isBackupId(match[1]) && (filter.kind === undefined || kindOfId(match[1]) === filter.kind)) ids.push(match[1]);
  }
  // One GET per manifest: on S3 a few in flight turn seconds into a fraction (App Home, the
  // restore picker and monitoring all list the catalog).
  const read: Array<CatalogEntry | undefined> = new Array(ids.length);
  await mapLimit(ids, 8, async (id, index) => {
    read[index] = await catalogEntry(store, trust, id);
  });
  const entries = read.filter((e): e is CatalogEntry => e !== undefined);
  if (trust.state) {
    const usable = entries.filter((e) => e.status === 'listed' && options.alreadySeen?.has(e.id) !== true).map((e) => e.id);
    await noteBackupsSeen(trust.state, store.description, usable).catch(() => undefined);
  }
  return entries
    .filter((e) => filter.label === undefined || e.status !== 'listed' || e.manifest.label === filter.label)
    .sort((a, b) => entryTime(b).localeCompare(entryTime(a)) || b.id.localeCompare(a.id));
}

/** One id's entry; undefined when its manifest went away meanwhile. Storage errors propagate. */
export async function catalogEntry(store: ObjectStore, trust: RecordTrust, id: string): Promise<CatalogEntry | undefined> {
  const kind = kindOfId(id);
  try {
    const { manifest, authenticity } = await readManifestEntry(store, trust, id);
    return { id, kind, status: 'listed', manifest, authenticity };
  } catch (err) {
    if (isRecordRefused(err)) return { id, kind, status: err.verdict, reason: err.reason };
    if (isBantayError(err) && err.code === ErrorCode.NotFound) return undefined;
    throw err;
  }
}

/** The usable backups only (what pickers, retention and sync work with), newest first. */
export async function listBackups(store: ObjectStore, trust: RecordTrust, filter: ListFilter = {}): Promise<Manifest[]> {
  const entries = await readCatalog(store, trust, filter);
  return entries.flatMap((e) => (e.status === 'listed' ? [e.manifest] : []));
}

/**
 * Resolves "latest" (optionally of a kind) or a literal id to a usable manifest. When the
 * newest backup is damaged or rejected, "latest" refuses (naming it) instead of silently taking
 * an older one: the operator decides, by naming an id.
 */
export async function findBackup(store: ObjectStore, trust: RecordTrust, idOrLatest: string, kind?: BackupKind): Promise<Manifest> {
  if (idOrLatest === 'latest') {
    const [newest] = await readCatalog(store, trust, { kind });
    if (newest === undefined) throw new BantayError(ErrorCode.NotFound, `There are no backups${kind ? ` of kind ${kind}` : ''} in ${store.description}`);
    if (newest.status !== 'listed') {
      throw new RecordRefused(newest.status, `${newest.reason}. Not taking an older backup instead: name one explicitly (see bantay list)`, `The newest ${kind ?? ''}${kind ? ' ' : ''}backup, ${newest.id},`);
    }
    return newest.manifest;
  }
  return readManifest(store, trust, parseBackupId(idOrLatest));
}
