import { readJsonRecord, writeJsonRecord, type RecordTrust } from '../../catalog/json-record.ts';
import { BantayError, ErrorCode, isBantayError } from '../../errors.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import { IDENTITY_KEY, identitySchema, type ArchiveIdentity } from './archive-layout.ts';
import { majorOfWalMagic } from './wal-header.ts';

const NAMES = { missing: 'WAL archive identity (wal/archive.json)', record: 'The WAL archive identity (wal/archive.json)' };

/** The archive's identity, or undefined when nothing was ever archived into this store. */
export async function readIdentity(store: ObjectStore, trust: RecordTrust): Promise<ArchiveIdentity | undefined> {
  try {
    return (await readJsonRecord(store, IDENTITY_KEY, identitySchema, NAMES, trust)).value;
  } catch (err) {
    if (isBantayError(err) && err.code === ErrorCode.NotFound) return undefined;
    throw err;
  }
}

/** What a cluster says about itself: from a WAL page header, or from a connection. */
export interface ClusterIdentity {
  systemIdentifier: string;
  walMagic?: number;
  pgMajor?: number;
  segmentSize?: number;
}

/**
 * One archive holds one cluster: the first writer records the system identifier (and the WAL
 * format), every later writer and reader is checked against it. A mismatch is refused with both
 * identifiers named, never "fixed" by writing over the record.
 */
export async function ensureIdentity(store: ObjectStore, trust: RecordTrust, cluster: ClusterIdentity, now: Date = new Date()): Promise<ArchiveIdentity> {
  const existing = await readIdentity(store, trust);
  if (existing !== undefined) {
    assertSameCluster(existing, cluster, store.description);
    return existing;
  }
  const identity: ArchiveIdentity = {
    formatVersion: 1,
    kind: 'wal-archive',
    systemIdentifier: cluster.systemIdentifier,
    walMagic: cluster.walMagic ?? 0,
    pgMajor: cluster.pgMajor ?? (cluster.walMagic !== undefined ? (majorOfWalMagic(cluster.walMagic) ?? null) : null),
    segmentSize: cluster.segmentSize ?? 16 * 1024 * 1024,
    createdAt: now.toISOString(),
  };
  await writeJsonRecord(store, IDENTITY_KEY, identity, trust);
  return identity;
}

export function assertSameCluster(identity: ArchiveIdentity, cluster: ClusterIdentity, where: string): void {
  if (identity.systemIdentifier !== cluster.systemIdentifier) {
    throw new BantayError(
      ErrorCode.InvalidInput,
      `The WAL archive in ${where} belongs to another PostgreSQL cluster (system identifier ${identity.systemIdentifier}); ` +
        `this one is ${cluster.systemIdentifier}. One archive holds one cluster: give this cluster its own BANTAY_STORE (or prefix).`,
    );
  }
  const major = cluster.pgMajor ?? (cluster.walMagic !== undefined ? majorOfWalMagic(cluster.walMagic) : undefined);
  const magicDiffers = cluster.walMagic !== undefined && identity.walMagic !== 0 && cluster.walMagic !== identity.walMagic;
  const majorDiffers = major !== undefined && identity.pgMajor !== null && major !== identity.pgMajor;
  if (magicDiffers || majorDiffers) {
    throw new BantayError(
      ErrorCode.InvalidInput,
      `The WAL archive in ${where} holds PostgreSQL ${identity.pgMajor ?? 'unknown version'} WAL; this server writes ` +
        `PostgreSQL ${major ?? 'another version'} WAL. After a major upgrade start a new archive (another BANTAY_STORE or prefix).`,
    );
  }
}

/** The identity a reader needs: refuses to guess when nothing was ever archived. */
export async function requireIdentity(store: ObjectStore, trust: RecordTrust): Promise<ArchiveIdentity> {
  const identity = await readIdentity(store, trust);
  if (identity === undefined) throw new BantayError(ErrorCode.NotFound, `No WAL archive in ${store.description} (nothing was ever archived there)`);
  return identity;
}
