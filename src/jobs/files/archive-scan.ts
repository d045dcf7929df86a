import type { FileRecord } from '../../catalog/file-index.ts';
import type { Manifest } from '../../catalog/manifest.ts';
import { BantayError } from '../../errors.ts';
import type { JobDeps } from '../job-context.ts';
import { ContentCheck, contentMismatch, entryContent, wholeContent, wholeMismatch } from './entry-content.ts';
import { openSealed } from './sealed-object.ts';
import { readTarEntries, type TarEntry } from './tar-reader.ts';
import { TaskPool } from './task-pool.ts';

/**
 * One pass over the archive of a files backup, shared by restore and verify: the archive is
 * streamed to its end (so its digests and every encrypted chunk are checked) and each wanted
 * file's content is checked against its index record (size, SHA-256).
 *
 * Small files (up to WHOLE_FILE_MAX, stored and original) are read whole and handed to
 * background tasks (TaskPool: at most CONCURRENCY at once, BUDGET_BYTES held): gunzip and
 * SHA-256 on the thread pool, then the sink (a restore writes the file). So decryption of the next
 * entries, decompression, hashing and file creation overlap across cores, and a small file
 * reaches the sink only once its content is verified. Larger files stream through the sink in
 * order and are verified at their end (a restore then fails and removes its target).
 */
export const WHOLE_FILE_MAX = 2 * 1024 * 1024;
const CONCURRENCY = 8;
const BUDGET_BYTES = 32 * 1024 * 1024;

export interface ContentSink {
  /** A small file, content already verified. Called concurrently for different files. */
  whole(record: FileRecord, content: Buffer): Promise<void>;
  /** A large file's content, in order; verified by the scan once the sink has consumed it all. */
  streamed(record: FileRecord, content: AsyncIterable<Buffer>): Promise<void>;
}

export interface ScanOptions {
  /** How errors name the archive: "the archive of upl-…". */
  where: string;
  /** Path -> record of the files to take from this archive; found ones are removed (what is left was missing). */
  wanted: Map<string, FileRecord>;
  /** Where content goes; none for a verification. */
  sink?: ContentSink;
  /** A regular file of the archive that is not wanted; ignored when not given (content superseded later in a chain). */
  onUnwanted?: (path: string) => void;
  /**
   * Content that does not match its record (or cannot be decompressed) is reported here and the
   * scan goes on; without it the first such file fails the scan.
   */
  onMismatch?: (message: string) => void;
  signal?: AbortSignal;
  /** Stored bytes read so far. */
  onStoredBytes?: (bytes: number) => void;
  /** Original bytes of wanted files checked so far (whole files once verified). */
  onContentBytes?: (bytes: number) => void;
}

export async function scanArchive(member: Manifest, deps: Pick<JobDeps, 'store' | 'keyRing'>, options: ScanOptions): Promise<{ files: number; bytes: number }> {
  const { where, wanted } = options;
  const pool = new TaskPool({ concurrency: CONCURRENCY, budgetBytes: BUDGET_BYTES });
  const totals = { files: 0, bytes: 0 };
  const counted = (record: FileRecord): void => {
    totals.files += 1;
    totals.bytes += record.size;
    options.onContentBytes?.(record.size);
  };
  const plain = await openSealed(archiveRef(member), deps, { signal: options.signal, onBytes: options.onStoredBytes });
  try {
    for await (const entry of readTarEntries(plain, where)) {
      if (entry.type !== 'file') continue;
      const record = wanted.get(entry.path);
      if (record === undefined) {
        options.onUnwanted?.(entry.path);
        continue;
      }
      wanted.delete(entry.path);
      if (entry.size <= WHOLE_FILE_MAX && record.size <= WHOLE_FILE_MAX) {
        const held = entry.size + record.size;
        await pool.room(held);
        const stored = await readWhole(entry);
        pool.start(held, async () => {
          if (await whole(entry, stored, record, options)) counted(record);
        });
      } else {
        await pool.room(0);
        if (await streamed(entry, record, options)) counted(record);
      }
    }
    await pool.drain();
  } catch (err) {
    await pool.settle();
    throw err;
  }
  return totals;
}

async function whole(entry: TarEntry, stored: Buffer, record: FileRecord, options: ScanOptions): Promise<boolean> {
  let content: Buffer;
  try {
    content = await wholeContent(entry, stored, record.size, options.where);
  } catch (err) {
    if (options.onMismatch === undefined || !(err instanceof BantayError)) throw err;
    options.onMismatch(err.message);
    return false;
  }
  if (!mismatchHandled(await wholeMismatch(content, record), record, options)) return false;
  await options.sink?.whole(record, content);
  return true;
}

/** True when the content matched; otherwise reports the mismatch (verify) or throws it (restore). */
function mismatchHandled(mismatch: string | undefined, record: FileRecord, options: ScanOptions): boolean {
  if (mismatch === undefined) return true;
  if (options.onMismatch === undefined) throw contentMismatch(options.where, record.path, mismatch);
  options.onMismatch(`${JSON.stringify(record.path)}: ${mismatch}`);
  return false;
}

async function streamed(entry: TarEntry, record: FileRecord, options: ScanOptions): Promise<boolean> {
  const check = new ContentCheck();
  const checked = (async function* () {
    for await (const chunk of entryContent(entry, record.size, options.where)) {
      check.update(chunk);
      yield chunk;
    }
  })();
  if (options.sink) await options.sink.streamed(record, checked);
  else for await (const _ of checked) void _;
  return mismatchHandled(check.mismatch(record), record, options);
}

/** The entry's stored bytes in one buffer (a copy: the reader's chunks are views of larger ones). */
async function readWhole(entry: TarEntry): Promise<Buffer> {
  const pieces: Buffer[] = [];
  for await (const piece of entry.body()) pieces.push(piece);
  return Buffer.concat(pieces, entry.size);
}

/** The archive of a files backup as openSealed wants it. */
export function archiveRef(m: Manifest) {
  return {
    key: m.artifact.key,
    sizeBytes: m.artifact.sizeBytes,
    sha256: m.artifact.sha256,
    plain: { sizeBytes: m.artifact.plainSizeBytes, sha256: m.artifact.plainSha256 },
    keyId: m.artifact.encryption?.keyId ?? null,
    describe: `the archive of ${m.id}`,
  };
}
