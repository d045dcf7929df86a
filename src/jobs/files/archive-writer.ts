import { createReadStream } from 'node:fs';
import { rm, type FileHandle } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { ROOT_PATH, type FileRecord, type IndexRecord, type TreeEntry, type TreeState } from '../../catalog/file-index.ts';
import { compressionPays, shouldTryCompression } from './compression.ts';
import { assertUnchanged, gzipIfSmaller, gzipToTempFile, hashOpenFile, openLiveFile, readExactly, readUpTo, sha256Hex, UnstableFileError, type FileMeta } from './file-content.ts';
import { decideFile, deletionsSince, dirOrSymlinkChanged } from './incremental-plan.ts';
import { mapOrdered } from './map-ordered.ts';
import { encodeTarHeader, PAX_COMPRESSION, TAR_END, tarPadding } from './tar-format.ts';
import type { WalkedEntry, WalkedFile } from './tree-walk.ts';

/** Files up to this size are read whole (ahead of time, PREFETCH at once); larger ones stream. */
export const SMALL_FILE_MAX = 2 * 1024 * 1024;
/** Files read, hashed and compressed ahead of the one being written: at most 32 MiB held. */
const PREFETCH = 16;

export interface ArchiveOptions {
  root: string;
  backupId: string;
  /** The parent's tree for an incremental; undefined for a full backup. */
  previous: TreeState | undefined;
  /** When the parent backup started (ms), for the racy-file rule of incremental-plan.ts. */
  parentStartedMs?: number;
  /** Private scratch directory for gzipping large files. */
  tempDir: string;
  /**
   * Uploads: a file that cannot be read or keeps changing while read is retried once, then
   * skipped and listed in `outcome.skipped` instead of failing the backup. Off for application
   * backups and with BANTAY_UPLOADS_STRICT=1.
   */
  skipUnstable?: boolean;
  /**
   * Uploads (also strict): a file whose size or mtime moved while it was read is never stored
   * as if whole. With skipUnstable it is retried, then skipped; without, the backup fails.
   */
  detectChanges?: boolean;
}

/** Filled in while the archive streams; complete once `chunks` has ended. */
export interface ArchiveOutcome {
  records: IndexRecord[];
  storedFiles: number;
  /** Uncompressed bytes of the files whose content is in this archive. */
  storedBytes: number;
  compressedFiles: number;
  treeFiles: number;
  treeBytes: number;
  deletions: number;
  /** Files left out because they could not be read consistently (see skipUnstable). */
  skipped: Array<{ path: string; reason: string }>;
}

type Prepared =
  | { kind: 'vanished' }
  | { kind: 'skipped'; path: string; reason: string; previous: TreeEntry | undefined }
  | { kind: 'seen'; entry: TreeEntry }
  | { kind: 'record'; record: TreeEntry; header: boolean }
  | { kind: 'memory'; record: FileRecord; data: Buffer; compressed: boolean }
  | { kind: 'large'; walked: WalkedFile; previous: FileRecord | undefined; handle: FileHandle; meta: FileMeta };

/**
 * The tar stream of a files backup (docs/files-format.md) from a tree walk, and the index records
 * describing it. A full backup (no `previous`) archives every entry; an incremental archives
 * only content that changed (incremental-plan.ts) and records metadata changes and deletions.
 * Memory stays bounded: at most PREFETCH small files are held at once, large ones stream.
 */
export function archiveTree(walk: AsyncIterable<WalkedEntry>, options: ArchiveOptions): { chunks: AsyncGenerator<Buffer>; outcome: ArchiveOutcome } {
  const outcome: ArchiveOutcome = { records: [], storedFiles: 0, storedBytes: 0, compressedFiles: 0, treeFiles: 0, treeBytes: 0, deletions: 0, skipped: [] };
  const chunks = async function* (): AsyncGenerator<Buffer> {
    const seen = new Set<string>();
    let temps = 0;
    for await (const item of mapOrdered(walk, PREFETCH, (entry) => prepare(entry, options), dispose)) {
      if (item.kind === 'vanished') continue;
      if (item.kind === 'skipped') {
        outcome.skipped.push({ path: item.path, reason: item.reason });
        // The parent's version stays in the tree (a skip is not a deletion); a new file is absent.
        if (item.previous !== undefined) seen.add(item.previous.path);
        continue;
      }
      let present: TreeEntry;
      let record = item.kind !== 'seen';
      if (item.kind === 'seen') {
        present = item.entry;
      } else if (item.kind === 'record') {
        present = item.record;
        if (item.header) yield entryHeader(item.record);
      } else if (item.kind === 'memory') {
        present = item.record;
        yield* emitMemory(item);
        countStored(outcome, item.record, item.compressed);
      } else {
        const done = yield* emitLarge(item, options, join(options.tempDir, `${(temps += 1)}.gz`));
        if ('skipped' in done) {
          outcome.skipped.push({ path: item.walked.path, reason: done.skipped });
          if (item.previous !== undefined) seen.add(item.previous.path);
          continue;
        }
        present = done.record;
        record = !done.unchanged;
        if (done.stored) countStored(outcome, done.record, done.compressed);
      }
      if (record) outcome.records.push(present);
      seen.add(present.path);
      if (present.type === 'file') {
        outcome.treeFiles += 1;
        outcome.treeBytes += present.size;
      }
    }
    if (options.previous !== undefined) {
      const deleted = deletionsSince(options.previous, seen);
      outcome.records.push(...deleted);
      outcome.deletions = deleted.length;
    }
    yield TAR_END;
  };
  return { chunks: chunks(), outcome };
}

async function prepare(entry: WalkedEntry, options: ArchiveOptions): Promise<Prepared> {
  const previous = options.previous?.get(entry.path);
  if (entry.type !== 'file') {
    const changed = options.previous === undefined || dirOrSymlinkChanged(entry, previous);
    return changed ? { kind: 'record', record: entry, header: entry.path !== ROOT_PATH } : { kind: 'seen', entry: previous! };
  }
  const decision = options.previous === undefined ? 'store' : decideFile(entry, previous, options.parentStartedMs);
  const previousFile = previous?.type === 'file' ? previous : undefined;
  if (decision === 'unchanged') return { kind: 'seen', entry: previousFile! };
  if (decision === 'metadata') return { kind: 'record', record: { ...previousFile!, mode: entry.mode }, header: false };
  const checkAgainst = decision === 'check' ? previousFile : undefined;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await prepareContent(entry, checkAgainst, options);
    } catch (err) {
      if (!(err instanceof UnstableFileError) || !options.skipUnstable) throw err;
      if (attempt >= 2) return { kind: 'skipped', path: entry.path, reason: err.why, previous: previousFile };
    }
  }
}

/** Reads one file's content for the archive; UnstableFileError when it cannot be read consistently. */
async function prepareContent(entry: WalkedFile, checkAgainst: FileRecord | undefined, options: ArchiveOptions): Promise<Prepared> {
  const absPath = join(options.root, entry.path);
  const opened = await openLiveFile(absPath);
  if (opened === undefined) return { kind: 'vanished' };
  if (opened.meta.size > SMALL_FILE_MAX) return { kind: 'large', walked: entry, previous: checkAgainst, ...opened };
  let data: Buffer;
  try {
    data = await readUpTo(opened.handle, opened.meta.size).catch((err: unknown) => {
      throw new UnstableFileError(absPath, `cannot be read (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`, err);
    });
    if (options.skipUnstable || options.detectChanges) await assertUnchanged(opened.handle, { ...opened.meta }, absPath);
  } finally {
    await opened.handle.close();
  }
  const meta = { ...opened.meta, size: data.length };
  // Hash and gzip side by side on the thread pool: the main thread only moves buffers.
  const compressing = checkAgainst === undefined && shouldTryCompression(entry.path, data.length) ? gzipIfSmaller(data) : undefined;
  compressing?.catch(() => undefined);
  const sha256 = await sha256Hex(data);
  if (checkAgainst !== undefined && checkAgainst.sha256 === sha256) return sameContent(checkAgainst, fileRecord(entry.path, meta, sha256, checkAgainst.in));
  const compressed = compressing !== undefined ? await compressing : shouldTryCompression(entry.path, data.length) ? await gzipIfSmaller(data) : undefined;
  return { kind: 'memory', record: fileRecord(entry.path, meta, sha256, options.backupId), data: compressed ?? data, compressed: compressed !== undefined };
}

/** Same content as before: nothing to record unless metadata moved (a touch, a chmod). */
function sameContent(previous: FileRecord, now: FileRecord): Prepared {
  const unchanged = previous.size === now.size && previous.mode === now.mode && previous.mtimeUs === now.mtimeUs;
  return unchanged ? { kind: 'seen', entry: previous } : { kind: 'record', record: now, header: false };
}

async function dispose(item: Prepared): Promise<void> {
  if (item.kind === 'large') await item.handle.close().catch(() => undefined);
}

function* emitMemory(item: { record: FileRecord; data: Buffer; compressed: boolean }): Generator<Buffer> {
  yield fileHeader(item.record, item.data.length, item.compressed);
  yield item.data;
  yield tarPadding(item.data.length);
}

interface LargeOutcome {
  record: FileRecord;
  stored: boolean;
  compressed: boolean;
  /** Same content and metadata as the parent's record: nothing to record. */
  unchanged: boolean;
}

/**
 * Streams a large file: hash check first for a changed candidate, gzip through a temp file when
 * it pays. With detectChanges, a file that moved while read is never recorded as whole:
 * - hash check and gzip read it before anything is emitted, so it is read again once, then
 *   skipped (skipUnstable) or fails the backup (UnstableFileError);
 * - an incompressible file streams into the archive as it is read (no second copy), so the
 *   change is seen only after its bytes are out: it is skipped without a retry (its member is
 *   left in the archive, unreferenced by the index; verify knows it from manifest.skipped) or
 *   fails the backup.
 */
async function* emitLarge(
  item: Extract<Prepared, { kind: 'large' }>,
  options: ArchiveOptions,
  tempPath: string,
): AsyncGenerator<Buffer, LargeOutcome | { skipped: string }> {
  const { walked } = item;
  let { handle, meta } = item;
  const describe = join(options.root, walked.path);
  const check = options.skipUnstable || options.detectChanges;
  /** The reason to skip the file for `err` (it moved, or shrank under a read); a throw when nothing may be skipped. */
  const skipReason = (err: unknown): string => {
    if (!(err instanceof UnstableFileError) || !options.skipUnstable) throw err;
    return err.why;
  };
  /** undefined when unchanged since it was opened; else the reason to skip it. */
  const moved = async (): Promise<string | undefined> => (check ? assertUnchanged(handle, meta, describe).then(() => undefined, skipReason) : undefined);
  try {
    for (let attempt = 1; ; attempt += 1) {
      let sha256: string | undefined;
      let gzipped: { sha256: string; compressedSize: number } | undefined;
      let reason: string | undefined;
      try {
        if (item.previous !== undefined) sha256 = await hashOpenFile(handle, meta.size, describe);
        if ((sha256 === undefined || sha256 !== item.previous?.sha256) && shouldTryCompression(walked.path, meta.size)) {
          gzipped = await gzipToTempFile(handle, meta.size, tempPath, describe);
        }
        reason = sha256 !== undefined || gzipped !== undefined ? await moved() : undefined;
      } catch (err) {
        reason = skipReason(err);
      }
      if (reason !== undefined) {
        if (attempt >= 2) return { skipped: reason };
        await handle.close().catch(() => undefined);
        await rm(tempPath, { force: true });
        const reopened = await openLiveFile(describe);
        if (reopened === undefined) return { skipped: 'vanished while it was being read' };
        ({ handle, meta } = reopened);
        continue;
      }
      if (item.previous !== undefined && sha256 === item.previous.sha256) {
        const same = sameContent(item.previous, fileRecord(walked.path, meta, sha256, item.previous.in));
        return { record: same.kind === 'seen' ? item.previous : fileRecord(walked.path, meta, sha256, item.previous.in), stored: false, compressed: false, unchanged: same.kind === 'seen' };
      }
      if (gzipped !== undefined && compressionPays(meta.size, gzipped.compressedSize)) {
        const record = fileRecord(walked.path, meta, gzipped.sha256, options.backupId);
        yield fileHeader(record, gzipped.compressedSize, true);
        yield* createReadStream(tempPath) as AsyncIterable<Buffer>;
        yield tarPadding(gzipped.compressedSize);
        return { record, stored: true, compressed: true, unchanged: false };
      }
      const hash = createHash('sha256');
      yield fileHeader({ path: walked.path, mode: meta.mode, mtimeUs: meta.mtimeUs }, meta.size, false);
      let sent = 0;
      try {
        for await (const chunk of readExactly(handle, meta.size, describe)) {
          hash.update(chunk);
          sent += chunk.length;
          yield chunk;
        }
      } catch (err) {
        const why = skipReason(err);
        // The header promised meta.size bytes: fill the member up so the archive stays whole; it is unused.
        for (let left = meta.size - sent; left > 0; left -= Math.min(left, 1 << 20)) yield Buffer.alloc(Math.min(left, 1 << 20));
        yield tarPadding(meta.size);
        return { skipped: `${why}; its bytes in the archive are not used` };
      }
      yield tarPadding(meta.size);
      const late = await moved();
      if (late !== undefined) return { skipped: `${late}; its bytes in the archive are not used` };
      return { record: fileRecord(walked.path, meta, hash.digest('hex'), options.backupId), stored: true, compressed: false, unchanged: false };
    }
  } finally {
    await handle.close().catch(() => undefined);
    await rm(tempPath, { force: true });
  }
}

function fileRecord(path: string, meta: FileMeta, sha256: string, source: string): FileRecord {
  return { path, type: 'file', size: meta.size, mode: meta.mode, mtimeUs: meta.mtimeUs, sha256, in: source };
}

function fileHeader(file: { path: string; mode: number; mtimeUs: number }, storedSize: number, compressed: boolean): Buffer {
  return encodeTarHeader({ path: file.path, mode: file.mode, mtimeMs: file.mtimeUs / 1000, type: 'file', size: storedSize, attributes: compressed ? { [PAX_COMPRESSION]: 'gzip' } : undefined });
}

function entryHeader(entry: TreeEntry): Buffer {
  if (entry.type === 'symlink') return encodeTarHeader({ path: entry.path, type: 'symlink', size: 0, mode: 0o777, mtimeMs: entry.mtimeUs / 1000, linkpath: entry.target });
  if (entry.type === 'dir') return encodeTarHeader({ path: entry.path, type: 'dir', size: 0, mode: entry.mode, mtimeMs: entry.mtimeUs / 1000 });
  throw new Error('entryHeader is for directories and symlinks');
}

function countStored(outcome: ArchiveOutcome, record: FileRecord, compressed: boolean): void {
  outcome.storedFiles += 1;
  outcome.storedBytes += record.size;
  if (compressed) outcome.compressedFiles += 1;
}
