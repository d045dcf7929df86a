import { randomBytes } from 'node:crypto';
import { text } from 'node:stream/consumers';
import { z } from 'zod';
import { BantayError, ErrorCode } from '../errors.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { printable } from './backup-id.ts';
import { compactUtcStamp, malformed, readJsonRecord, writeJsonRecord, type RecordTrust } from './json-record.ts';

/**
 * User-data exports (Data Privacy Act requests, migrations) live under `exports/<exportId>/`,
 * apart from backups: `listBackups` never sees them and retention of backups never prunes them.
 * Like a backup, an export exists when its manifest does; the manifest is written last.
 */
const sha256 = z.string().regex(/^[0-9a-f]{64}$/);

export const exportManifestSchema = z.object({
  /** 2 since authenticated records (docs/catalog-authentication.md); 1 from earlier versions. */
  formatVersion: z.union([z.literal(1), z.literal(2)]),
  exportId: z.string(),
  kind: z.literal('user-data'),
  /** The FBMS user id as stored in the database (its text form). */
  userId: z.string(),
  createdAt: z.string(),
  durationSeconds: z.number(),
  trigger: z.object({ by: z.string(), via: z.enum(['cli', 'slack', 'schedule', 'api']) }),
  source: z.object({ host: z.string(), port: z.number().optional(), database: z.string() }),
  /** Rows per CSV file in the archive. */
  rows: z.record(z.string(), z.number()),
  artifact: z.object({
    key: z.string(),
    format: z.literal('tar.gz'),
    sizeBytes: z.number(),
    sha256,
    plainSizeBytes: z.number(),
    plainSha256: sha256,
    encryption: z.object({ algorithm: z.string(), keyId: z.string() }).nullable(),
  }),
});

export type ExportManifest = z.infer<typeof exportManifestSchema>;

const EXPORT_ID = /^exp-\d{8}T\d{6}Z-[0-9a-f]{4}$/;

export function newExportId(at: Date = new Date()): string {
  return `exp-${compactUtcStamp(at)}-${randomBytes(2).toString('hex')}`;
}

export function parseExportId(value: string): string {
  const trimmed = value.trim();
  if (!EXPORT_ID.test(trimmed)) throw new BantayError(ErrorCode.InvalidInput, `"${printable(trimmed)}" is not an export id (expected exp-20261126T020000Z-7f3a)`);
  return trimmed;
}

export function exportManifestKey(exportId: string): string {
  return `exports/${exportId}/manifest.json`;
}

export function exportArtifactKey(exportId: string, encrypted: boolean): string {
  return `exports/${exportId}/user-data.tar.gz${encrypted ? '.enc' : ''}`;
}

export async function writeExportManifest(store: ObjectStore, manifest: ExportManifest, trust: RecordTrust, signal?: AbortSignal): Promise<void> {
  await writeJsonRecord(store, exportManifestKey(manifest.exportId), manifest, trust, signal);
}

export async function readExportManifest(store: ObjectStore, trust: RecordTrust, exportId: string): Promise<ExportManifest> {
  parseExportId(exportId);
  const names = { missing: `export ${exportId}`, record: `The manifest of export ${exportId}` };
  const rules = { artifactPrefix: `exports/${exportId}/` };
  const manifest = (await readJsonRecord(store, exportManifestKey(exportId), exportManifestSchema, names, trust, rules)).value;
  if (manifest.exportId !== exportId) throw malformed(names);
  return manifest;
}
