import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { BantayError, ErrorCode, isBantayError } from '../errors.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { isBackupId, parseBackupId, type BackupKind } from './backup-id.ts';
import { manifestKey, manifestSchema, type Manifest } from './manifest.ts';

/**
 * The catalog is the store itself: a backup is listed when `backups/<id>/manifest.json`
 * exists and parses. A brand-new Bantay pointed at an existing bucket sees every backup.
 */
export async function writeManifest(store: ObjectStore, manifest: Manifest, signal?: AbortSignal): Promise<void> {
  const body = Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`);
  await store.put(manifestKey(manifest.id), Readable.from([body]), { signal, contentType: 'application/json' });
}

export async function readManifest(store: ObjectStore, id: string): Promise<Manifest> {
  parseBackupId(id);
  let raw: string;
  try {
    raw = await text(await store.get(manifestKey(id)));
  } catch (err) {
    if (isBantayError(err) && err.code === ErrorCode.NotFound) {
      throw new BantayError(ErrorCode.NotFound, `No backup ${id} in ${store.description}`, { cause: err });
    }
    throw err;
  }
  return parseManifest(raw, id);
}

function parseManifest(raw: string, id: string): Manifest {
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch (err) {
    throw new BantayError(ErrorCode.Integrity, `The manifest of ${id} is not valid JSON`, { cause: err });
  }
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success || parsed.data.id !== id) {
    throw new BantayError(ErrorCode.Integrity, `The manifest of ${id} is malformed`, { cause: parsed.error });
  }
  return parsed.data;
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
  const manifests: Manifest[] = [];
  for (const id of ids) {
    try {
      manifests.push(await readManifest(store, id));
    } catch (err) {
      onBadManifest(id, err);
    }
  }
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
