import { z } from 'zod';

/**
 * Where the WAL archive lives in the store (docs: README "Point-in-time recovery"):
 *
 *   wal/archive.json                       the archive's identity: one cluster per archive
 *   wal/<system id>/<name>.gz.enc          a segment, history file or .partial, deflated then encrypted
 *   wal/<system id>/<name>.json            its record: plaintext size and SHA-256, stored size and
 *                                          SHA-256; written last, so a file is archived exactly
 *                                          when its record exists
 *   base/<id>/base.tar.gz.enc              a physical base backup (pg_basebackup tar)
 *   base/<id>/manifest.json                its manifest, written last
 *
 * Records are authenticated like every catalog record (src/catalog/json-record.ts).
 */
export const WAL_PREFIX = 'wal/';
export const IDENTITY_KEY = 'wal/archive.json';
export const BASE_PREFIX = 'base/';

export function walDir(systemIdentifier: string): string {
  return `wal/${systemIdentifier}/`;
}

export function walArtifactKey(systemIdentifier: string, name: string, encrypted: boolean): string {
  return `${walDir(systemIdentifier)}${name}.gz${encrypted ? '.enc' : ''}`;
}

export function walRecordKey(systemIdentifier: string, name: string): string {
  return `${walDir(systemIdentifier)}${name}.json`;
}

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/);
const systemId = z.string().regex(/^\d{1,20}$/);

export const identitySchema = z.object({
  formatVersion: z.literal(1),
  kind: z.literal('wal-archive'),
  systemIdentifier: systemId,
  /** WAL page magic: changes with every major version's WAL format. */
  walMagic: z.number().int(),
  pgMajor: z.number().int().nullable(),
  segmentSize: z.number().int(),
  createdAt: z.string(),
});
export type ArchiveIdentity = z.infer<typeof identitySchema>;

export const walRecordSchema = z.object({
  formatVersion: z.literal(1),
  kind: z.literal('wal-file'),
  name: z.string(),
  systemIdentifier: systemId,
  /** Plaintext: what PostgreSQL wrote. */
  sizeBytes: z.number().int(),
  sha256: sha256Hex,
  artifact: z.object({
    key: z.string(),
    sizeBytes: z.number().int(),
    sha256: sha256Hex,
    /** The deflated stream before encryption, checked after decryption. */
    deflatedSizeBytes: z.number().int(),
    deflatedSha256: sha256Hex,
    compression: z.literal('deflate'),
    encryption: z.object({ algorithm: z.string(), keyId: z.string() }).nullable(),
  }),
  /** When the bytes were confirmed stored: the archive holds the cluster's WAL up to about then. */
  archivedAt: z.string(),
  via: z.enum(['push', 'stream']),
});
export type WalRecord = z.infer<typeof walRecordSchema>;
