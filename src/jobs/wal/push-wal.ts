import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { basename } from 'node:path';
import { createDeflateRaw } from 'node:zlib';
import { readJsonRecord, writeJsonRecord, type RecordTrust } from '../../catalog/json-record.ts';
import { BantayError, ErrorCode, isBantayError } from '../../errors.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import { putSealed } from '../files/sealed-object.ts';
import type { JobDeps } from '../job-context.ts';
import { StreamMeter } from '../stream-meter.ts';
import { walArtifactKey, walRecordKey, walRecordSchema, type ArchiveIdentity, type WalRecord } from './archive-layout.ts';
import { ensureIdentity, requireIdentity } from './archive-identity.ts';
import { readWalHeader } from './wal-header.ts';
import { parseWalFileName } from './wal-names.ts';

export const WAL_ENCRYPTION = 'AES-256-GCM-STREAM-v1';

export type WalDeps = Pick<JobDeps, 'store' | 'keyRing' | 'now'>;

export interface PushOptions {
  via: WalRecord['via'];
  /** Store under this name instead of the file's (the streamer uploads NAME.partial files). */
  name?: string;
  signal?: AbortSignal;
}

export interface PushResult {
  name: string;
  /** stored: written now; already-archived: the same bytes were already there (success). */
  status: 'stored' | 'already-archived';
  sizeBytes: number;
  storedBytes: number;
}

/**
 * Archives one WAL file with PostgreSQL's archive_command contract: resolves only when the
 * bytes are stored and confirmed (the store's put is durable, then a stat must show the exact
 * stored size) and the record is written last. The same content already archived is success;
 * different content under the same name is an error and nothing is overwritten, except for
 * `.partial` files, which the streamer replaces as they grow.
 */
export async function pushWalFile(path: string, deps: WalDeps, options: PushOptions): Promise<PushResult> {
  const { name, kind } = parseWalFileName(options.name ?? basename(path));
  const identity = kind === 'segment' || kind === 'partial' ? await identityFromSegment(path, deps.store, deps) : await requireIdentity(deps.store, deps);
  const recordKey = walRecordKey(identity.systemIdentifier, name);
  const existing = await readRecord(deps.store, deps, recordKey, name);
  if (existing !== undefined) {
    const sha256 = await sha256OfFile(path);
    if (sha256 === existing.sha256) return { name, status: 'already-archived', sizeBytes: existing.sizeBytes, storedBytes: existing.artifact.sizeBytes };
    if (kind !== 'partial') {
      throw new BantayError(
        ErrorCode.Integrity,
        `${name} is already archived in ${deps.store.description} with different content (SHA-256 ${existing.sha256.slice(0, 12)}…, ` +
          `this file ${sha256.slice(0, 12)}…); it was not overwritten. Two servers may be archiving into one archive.`,
      );
    }
  }
  return { name, status: 'stored', ...(await storeWalFile(path, name, identity, deps, options)) };
}

async function storeWalFile(path: string, name: string, identity: ArchiveIdentity, deps: WalDeps, options: PushOptions): Promise<{ sizeBytes: number; storedBytes: number }> {
  const encrypted = deps.keyRing.primary !== undefined;
  const key = walArtifactKey(identity.systemIdentifier, name, encrypted);
  const raw = new StreamMeter();
  const sealed = await putSealed(createReadStream(path), [raw, createDeflateRaw({ level: 1 })], key, deps, { signal: options.signal });
  const info = await deps.store.stat(key);
  if (info === undefined || info.size !== sealed.sizeBytes) {
    throw new BantayError(ErrorCode.Storage, `${name}: ${deps.store.description} reports ${info === undefined ? 'no object' : `${info.size} bytes`} after storing ${sealed.sizeBytes}`);
  }
  const record: WalRecord = {
    formatVersion: 1,
    kind: 'wal-file',
    name,
    systemIdentifier: identity.systemIdentifier,
    sizeBytes: raw.bytes,
    sha256: raw.digest(),
    artifact: {
      key,
      sizeBytes: sealed.sizeBytes,
      sha256: sealed.sha256,
      deflatedSizeBytes: sealed.plainSizeBytes,
      deflatedSha256: sealed.plainSha256,
      compression: 'deflate',
      encryption: encrypted ? { algorithm: WAL_ENCRYPTION, keyId: deps.keyRing.primary!.id } : null,
    },
    archivedAt: (deps.now?.() ?? new Date()).toISOString(),
    via: options.via,
  };
  await writeJsonRecord(deps.store, walRecordKey(identity.systemIdentifier, name), record, deps, options.signal);
  return { sizeBytes: raw.bytes, storedBytes: sealed.sizeBytes };
}

async function identityFromSegment(path: string, store: ObjectStore, trust: RecordTrust): Promise<ArchiveIdentity> {
  const header = await readWalHeader(path, basename(path));
  return ensureIdentity(store, trust, { systemIdentifier: header.systemIdentifier, walMagic: header.magic, segmentSize: header.segmentSize });
}

export async function readRecord(store: ObjectStore, trust: RecordTrust, key: string, name: string): Promise<WalRecord | undefined> {
  try {
    const { value: record } = await readJsonRecord(store, key, walRecordSchema, { missing: `WAL file ${name}`, record: `The archive record of ${name}` }, trust);
    if (record.name !== name) throw new BantayError(ErrorCode.Integrity, `The archive record of ${name} names ${record.name}`);
    return record;
  } catch (err) {
    if (isBantayError(err) && err.code === ErrorCode.NotFound) return undefined;
    throw err;
  }
}

async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
