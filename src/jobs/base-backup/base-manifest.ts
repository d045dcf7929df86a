import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import { compactUtcStamp, malformed, readJsonRecord, writeJsonRecord, type RecordTrust } from '../../catalog/json-record.ts';
import { BantayError, ErrorCode } from '../../errors.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import { mapLimit } from '../../util/map-limit.ts';
import { BASE_PREFIX } from '../wal/archive-layout.ts';
import { baseArtifactName, type BaseCompressionMethod } from './base-compression.ts';

/**
 * A physical base backup's manifest (base/<id>/manifest.json), written last: the backup exists
 * exactly when this record does. `walFrom`..`walTo` are the segments the backup needs to become
 * consistent; they are inside its tar (pg_basebackup -X fetch), so it restores on its own, and
 * recovery past `consistentAt` continues from the WAL archive.
 */
const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);
const ID = /^base-\d{8}T\d{6}Z-[0-9a-f]{4}$/;

export const baseManifestSchema = z.object({
  formatVersion: z.literal(1),
  kind: z.literal('base'),
  id: z.string().regex(ID),
  createdAt: z.string(),
  completedAt: z.string(),
  durationSeconds: z.number(),
  trigger: z.object({ by: z.string(), via: z.enum(['cli', 'slack', 'schedule', 'api']) }),
  source: z.object({ host: z.string(), port: z.number().optional(), serverVersion: z.string() }),
  systemIdentifier: z.string().regex(/^\d{1,20}$/),
  pgMajor: z.number().int(),
  timeline: z.number().int(),
  startLsn: z.string(),
  stopLsn: z.string(),
  walFrom: z.string(),
  walTo: z.string(),
  /** The earliest time this backup can be recovered to (after pg_basebackup finished). */
  consistentAt: z.string(),
  tools: z.record(z.string(), z.string()),
  artifact: z.object({
    key: z.string(),
    format: z.literal('pg_basebackup-tar'),
    /** Compressed by the server (pg_basebackup --compress=server-...). */
    compression: z.enum(['zstd', 'gzip', 'none']),
    sizeBytes: z.number(),
    sha256: sha256Hex,
    plainSizeBytes: z.number(),
    plainSha256: sha256Hex,
    encryption: z.object({ algorithm: z.string(), keyId: z.string() }).nullable(),
  }),
});
export type BaseManifest = z.infer<typeof baseManifestSchema>;

export function newBaseId(at: Date): string {
  return `base-${compactUtcStamp(at)}-${randomBytes(2).toString('hex')}`;
}

export function isBaseId(value: string): boolean {
  return ID.test(value);
}

export function baseManifestKey(id: string): string {
  return `${BASE_PREFIX}${id}/manifest.json`;
}

/** Where a base backup's tar goes; the name says its compression (base.tar.zst, .tar.gz, .tar). */
export function baseArtifactKey(id: string, encrypted: boolean, compression: BaseCompressionMethod): string {
  return `${BASE_PREFIX}${id}/${baseArtifactName(compression)}${encrypted ? '.enc' : ''}`;
}

/** Every key a base backup's artifact can have (prune deletes only these). */
export function baseArtifactKeys(id: string): string[] {
  return (['zstd', 'gzip', 'none'] as const).flatMap((c) => [baseArtifactKey(id, true, c), baseArtifactKey(id, false, c)]);
}

export async function writeBaseManifest(store: ObjectStore, manifest: BaseManifest, trust: RecordTrust, signal?: AbortSignal): Promise<void> {
  await writeJsonRecord(store, baseManifestKey(manifest.id), manifest, trust, signal);
}

export async function readBaseManifest(store: ObjectStore, trust: RecordTrust, id: string): Promise<BaseManifest> {
  if (!isBaseId(id)) throw new BantayError(ErrorCode.InvalidInput, `"${id.slice(0, 64)}" is not a base backup id (like base-20261126T020000Z-7f3a)`);
  const names = { missing: `base backup ${id}`, record: `The manifest of ${id}` };
  const { value: manifest } = await readJsonRecord(store, baseManifestKey(id), baseManifestSchema, names, trust);
  if (manifest.id !== id || manifest.artifact.key !== baseArtifactKey(id, manifest.artifact.encryption !== null, manifest.artifact.compression)) throw malformed(names);
  return manifest;
}

/** Every base backup, oldest first; unreadable manifests are reported through `onBad`, not hidden. */
export async function listBaseBackups(store: ObjectStore, trust: RecordTrust, onBad: (id: string, err: unknown) => void = () => undefined): Promise<BaseManifest[]> {
  const ids: string[] = [];
  for await (const info of store.list(BASE_PREFIX)) {
    const match = /^base\/([^/]+)\/manifest\.json$/.exec(info.key);
    if (match?.[1] !== undefined && isBaseId(match[1])) ids.push(match[1]);
  }
  const read: Array<BaseManifest | undefined> = new Array(ids.length);
  await mapLimit(ids, 8, async (id, index) => {
    try {
      read[index] = await readBaseManifest(store, trust, id);
    } catch (err) {
      onBad(id, err);
    }
  });
  return read.filter((m): m is BaseManifest => m !== undefined).sort((a, b) => a.consistentAt.localeCompare(b.consistentAt));
}
