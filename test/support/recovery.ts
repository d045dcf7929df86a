import { writeManifest } from '../../src/catalog/catalog.ts';
import type { RecordTrust } from '../../src/catalog/json-record.ts';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { manifestKey, type Manifest } from '../../src/catalog/manifest.ts';
import type { ObjectStore } from '../../src/storage/object-store.ts';
import { adminUrl, sql } from './databases.ts';

/** Scratch/temporary databases whose name carries this backup id (verify and restore). */
export async function scratchDatabasesOf(backupId: string): Promise<string[]> {
  const tag = backupId.toLowerCase().replace(/[^a-z0-9]+/g, '_');
  const rows = await sql<{ datname: string }>(adminUrl(), `SELECT datname FROM pg_database WHERE datname ~ '^bantay_(verify|restore)_' AND strpos(datname, $1) > 0`, [tag]);
  return rows.map((r) => r.datname);
}

/** Rewrites a manifest in the store (simulates a doctored or mismatched catalog entry). */
/**
 * Replaces a backup's manifest as a key holder would (signed with `trust`'s key), to test the
 * checks beyond authentication; an attacker without the key is rejected earlier.
 */
export async function rewriteManifest(store: ObjectStore, manifest: Manifest, trust: RecordTrust): Promise<void> {
  await writeManifest(store, manifest, trust);
}

/** Flips one byte of a file in a local store, `offset` bytes from the start (negative: from the end). */
export function flipByte(storeDir: string, key: string, offset: number): void {
  const path = join(storeDir, key);
  const bytes = readFileSync(path);
  const at = offset < 0 ? bytes.length + offset : offset;
  bytes[at] = bytes[at]! ^ 0x5a;
  writeFileSync(path, bytes);
}

export function truncateFile(storeDir: string, key: string, keepBytes: number): void {
  const path = join(storeDir, key);
  writeFileSync(path, readFileSync(path).subarray(0, keepBytes));
}

/** Options every recovery job needs in tests. */
export function recoveryOptions(databaseUrl: string, jobs = 1) {
  return { databaseUrl, maintenanceDb: 'postgres', jobs };
}
