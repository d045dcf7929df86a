import { open, rename, rm } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createInflateRaw } from 'node:zlib';
import { BantayError, ErrorCode } from '../../errors.ts';
import { chainStreams } from '../chain-streams.ts';
import { openSealed } from '../files/sealed-object.ts';
import { createDigestCheck } from '../stream-meter.ts';
import { walDir, walRecordKey, type ArchiveIdentity, type WalRecord } from './archive-layout.ts';
import { requireIdentity } from './archive-identity.ts';
import { readRecord, type WalDeps } from './push-wal.ts';
import { parseWalFileName } from './wal-names.ts';

export interface OpenedWalFile {
  record: WalRecord;
  /** The plaintext; errors (never ends cleanly) when any digest or authentication fails. */
  stream: Readable;
}

/**
 * The archived bytes of WAL file `name`, as restore_command needs them. A segment that was
 * only archived as a `.partial` (the streamer's newest) is served from the partial: PostgreSQL
 * replays it up to where it ends. Throws NOT_FOUND when neither exists.
 */
export async function openWalFile(name: string, deps: WalDeps, options: { identity?: ArchiveIdentity; signal?: AbortSignal } = {}): Promise<OpenedWalFile> {
  const { kind } = parseWalFileName(name);
  const identity = options.identity ?? (await requireIdentity(deps.store, deps));
  let record = await readRecord(deps.store, deps, walRecordKey(identity.systemIdentifier, name), name);
  if (record === undefined && kind === 'segment') {
    record = await readRecord(deps.store, deps, walRecordKey(identity.systemIdentifier, `${name}.partial`), `${name}.partial`);
  }
  if (record === undefined) throw new BantayError(ErrorCode.NotFound, `${name} is not in the WAL archive in ${deps.store.description}`);
  if (record.systemIdentifier !== identity.systemIdentifier) throw new BantayError(ErrorCode.Integrity, `The archive record of ${name} belongs to another cluster`);
  const { artifact } = record;
  // The bucket is untrusted until authenticated: a record may only name this file's own objects.
  if (!artifact.key.startsWith(`${walDir(identity.systemIdentifier)}${record.name}`)) throw new BantayError(ErrorCode.Integrity, `The archive record of ${record.name} names an object outside its place`);
  const sealed = await openSealed(
    {
      key: artifact.key,
      sizeBytes: artifact.sizeBytes,
      sha256: artifact.sha256,
      plain: { sizeBytes: artifact.deflatedSizeBytes, sha256: artifact.deflatedSha256 },
      keyId: artifact.encryption?.keyId ?? null,
      describe: `archived WAL file ${record.name}`,
    },
    deps,
    { signal: options.signal },
  );
  const stream = chainStreams(sealed, createInflateRaw(), createDigestCheck(record, `Archived WAL file ${record.name}`));
  return { record, stream };
}

/**
 * restore_command's half: writes the file to `destination` only complete and checked (a temp
 * name beside it, fsync, rename), so PostgreSQL never reads a half-written segment.
 */
export async function fetchWalFile(name: string, destination: string, deps: WalDeps, options: { signal?: AbortSignal } = {}): Promise<WalRecord> {
  const { record, stream } = await openWalFile(name, deps, options);
  await writeFileAtomically(stream, destination);
  return record;
}

/** `sync: false` for files that only feed this process (a crash loses nothing they held). */
export async function writeFileAtomically(stream: Readable, destination: string, options: { sync?: boolean } = {}): Promise<void> {
  const temp = `${destination}.bantay-part`;
  const handle = await open(temp, 'w', 0o600);
  try {
    for await (const chunk of stream) await handle.write(chunk as Buffer);
    if (options.sync !== false) await handle.sync();
  } catch (err) {
    await handle.close().catch(() => undefined);
    await rm(temp, { force: true });
    throw err;
  }
  await handle.close();
  await rename(temp, destination);
}
