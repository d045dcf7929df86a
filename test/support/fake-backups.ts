import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { newBackupId, type BackupKind } from '../../src/catalog/backup-id.ts';
import { writeManifest } from '../../src/catalog/catalog.ts';
import { artifactKey, type Manifest } from '../../src/catalog/manifest.ts';
import { writeVerification } from '../../src/catalog/verification.ts';
import type { ObjectStore } from '../../src/storage/object-store.ts';
import type { RecordTrust } from '../../src/catalog/json-record.ts';
import { NO_KEY } from './trust.ts';

export interface FakeBackupOptions {
  kind?: BackupKind;
  createdAt: Date;
  sizeBytes?: number;
  label?: string;
  /** Member of this backup set (see src/catalog/backup-set.ts). */
  setId?: string;
  parentId?: string | null;
  /** Writes a verification record with this outcome. */
  verified?: boolean;
  /** Bytes of the artifact; default random. */
  content?: Buffer;
}

/**
 * Stores a backup the way the real jobs do (artifact, then manifest; a verification record
 * when asked) without running pg_dump: fast fixtures for retention, sync, monitoring and the
 * status page. The artifact is random bytes whose size and SHA-256 the manifest records.
 * With a key in `trust`, the records are authenticated and the manifest claims encryption
 * under that key (the bytes are not really encrypted: these backups are listed, not restored).
 */
export async function putFakeBackup(store: ObjectStore, options: FakeBackupOptions, trust: RecordTrust = NO_KEY): Promise<Manifest> {
  const kind = options.kind ?? 'database';
  const id = newBackupId(kind, options.createdAt);
  const body = options.content ?? randomBytes(options.sizeBytes ?? 2048);
  const sha256 = createHash('sha256').update(body).digest('hex');
  const key = artifactKey(id, kind === 'database' ? 'database.dump' : 'files.tar');
  await store.put(key, Readable.from([body]));
  const manifest: Manifest = {
    formatVersion: 2,
    id,
    kind,
    createdAt: options.createdAt.toISOString(),
    completedAt: new Date(options.createdAt.getTime() + 90_000).toISOString(),
    durationSeconds: 90,
    ...(options.label !== undefined ? { label: options.label } : {}),
    ...(options.setId !== undefined ? { setId: options.setId, setRole: kind } : {}),
    trigger: { by: 'schedule', via: 'schedule' },
    source: { host: 'db.internal', database: 'fbms' },
    tools: { bantay: 'test' },
    artifact: { key, format: kind === 'database' ? 'pg_dump-custom' : 'tar', sizeBytes: body.length, sha256, plainSizeBytes: body.length, plainSha256: sha256, encryption: trust.keyRing.primary ? { algorithm: 'AES-256-GCM-STREAM-v2', keyId: trust.keyRing.primary.id } : null },
    ...(options.parentId !== undefined ? { chain: { chainId: options.parentId ?? id, parentId: options.parentId, sequence: options.parentId ? 1 : 0, startedAt: options.createdAt.toISOString(), deletions: 0 } } : {}),
  };
  await writeManifest(store, manifest, trust);
  if (options.verified !== undefined) {
    await writeVerification(store, {
      formatVersion: 2,
      backupId: id,
      source: 'verify',
      verifiedAt: new Date(options.createdAt.getTime() + 3_600_000).toISOString(),
      passed: options.verified,
      durationSeconds: 12,
      checks: [{ name: 'row counts', status: options.verified ? 'passed' : 'failed', detail: options.verified ? 'all match' : 'orders: expected 10, found 3' }],
      performedBy: 'schedule',
      tools: {},
    }, trust);
  }
  return manifest;
}

export async function keysOf(store: ObjectStore, prefix = ''): Promise<string[]> {
  const keys: string[] = [];
  for await (const info of store.list(prefix)) keys.push(info.key);
  return keys;
}
