import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { artifactKey, type Manifest } from '../../catalog/manifest.ts';
import { BantayError, ErrorCode } from '../../errors.ts';
import { openSealed, putSealed } from '../files/sealed-object.ts';
import type { JobDeps } from '../job-context.ts';
import { globalsSchema, type ClusterGlobals } from './globals-format.ts';

/** Where a backup's globals live: beside its dump, sealed the same way (encrypted when a key is configured). */
export function globalsKey(backupId: string, encrypted: boolean): string {
  return artifactKey(backupId, encrypted ? 'globals.json.enc' : 'globals.json');
}

/** Stores the globals of backup `globals.backupId`; resolves with the manifest's `globals` field. */
export async function writeGlobals(globals: ClusterGlobals, deps: Pick<JobDeps, 'store' | 'keyRing'>, signal?: AbortSignal): Promise<NonNullable<Manifest['globals']>> {
  const key = globalsKey(globals.backupId, deps.keyRing.primary !== undefined);
  const sealed = await putSealed(Readable.from([Buffer.from(`${JSON.stringify(globals)}\n`)]), [], key, deps, { signal, contentType: 'application/json' });
  return { ...sealed, roles: globals.roles.length, passwords: globals.passwords };
}

/**
 * The globals of a database backup, checked (digests, decryption, schema, that it names this
 * backup), or undefined for backups made before Bantay captured them.
 */
export async function readGlobals(manifest: Manifest, deps: Pick<JobDeps, 'store' | 'keyRing'>, signal?: AbortSignal): Promise<ClusterGlobals | undefined> {
  const ref = manifest.globals;
  if (ref === undefined) return undefined;
  const describe = `the globals (roles) of ${manifest.id}`;
  if (!ref.key.startsWith(`backups/${manifest.id}/`)) throw new BantayError(ErrorCode.Integrity, `The manifest of ${manifest.id} names globals outside its backup (${ref.key})`);
  const plain = await openSealed(
    { key: ref.key, sizeBytes: ref.sizeBytes, sha256: ref.sha256, plain: { sizeBytes: ref.plainSizeBytes, sha256: ref.plainSha256 }, keyId: manifest.artifact.encryption?.keyId ?? null, describe },
    deps,
    { signal },
  );
  let json: unknown;
  try {
    json = JSON.parse(await text(plain));
  } catch (err) {
    if (err instanceof BantayError) throw err;
    throw new BantayError(ErrorCode.Integrity, `The globals of ${manifest.id} are not JSON`);
  }
  const parsed = globalsSchema.safeParse(json);
  if (!parsed.success || parsed.data.backupId !== manifest.id) throw new BantayError(ErrorCode.Integrity, `The globals of ${manifest.id} are malformed or belong to another backup`);
  return parsed.data;
}
