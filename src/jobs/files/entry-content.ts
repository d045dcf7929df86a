import { createHash, webcrypto } from 'node:crypto';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { promisify } from 'node:util';
import { createGunzip, gunzip } from 'node:zlib';
import type { FileRecord } from '../../catalog/file-index.ts';
import { BantayError, ErrorCode } from '../../errors.ts';
import { UnsafeArchiveError } from './safe-path.ts';
import { PAX_COMPRESSION } from './tar-format.ts';
import type { TarEntry } from './tar-reader.ts';

/**
 * The original content of an archive entry: its data as stored, or gunzipped when the entry is
 * marked `BANTAY.compression=gzip`. Output beyond `expectedSize` (the index's size) is an error
 * at once, so a damaged or hostile entry cannot fill the disk (a "gzip bomb").
 */
export async function* entryContent(entry: TarEntry, expectedSize: number, where: string): AsyncGenerator<Buffer> {
  const compression = entry.attributes.get(PAX_COMPRESSION);
  if (compression === undefined) {
    if (entry.size !== expectedSize) throw contentMismatch(where, entry.path, `${entry.size} bytes stored, the index says ${expectedSize}`);
    yield* entry.body();
    return;
  }
  if (compression !== 'gzip') throw new UnsafeArchiveError(where, entry.path, `unknown compression ${compression}`);
  const gunzip = createGunzip();
  const feeding = pipeline(Readable.from(entry.body()), gunzip);
  feeding.catch(() => undefined);
  let total = 0;
  try {
    for await (const chunk of gunzip as AsyncIterable<Buffer>) {
      total += chunk.length;
      if (total > expectedSize) throw contentMismatch(where, entry.path, `it decompresses to more than the ${expectedSize} bytes the index says`);
      yield chunk;
    }
    await feeding;
  } finally {
    gunzip.destroy();
  }
}

const gunzipAsync = promisify(gunzip);

/**
 * The original content of a small entry whose stored bytes were read whole: as stored, or
 * gunzipped on the thread pool with output capped at `expectedSize` (the same "gzip bomb" stop
 * as entryContent). Damaged gzip data is an Integrity error naming the file. The caller checks
 * size and SHA-256 (ContentCheck) before using the result.
 */
export async function wholeContent(entry: TarEntry, stored: Buffer, expectedSize: number, where: string): Promise<Buffer> {
  const compression = entry.attributes.get(PAX_COMPRESSION);
  if (compression === undefined) {
    if (stored.length !== expectedSize) throw contentMismatch(where, entry.path, `${stored.length} bytes stored, the index says ${expectedSize}`);
    return stored;
  }
  if (compression !== 'gzip') throw new UnsafeArchiveError(where, entry.path, `unknown compression ${compression}`);
  try {
    // maxOutputLength must be at least 1; one byte over the promise is caught by the size check.
    // One output chunk of the expected size: one thread-pool round trip instead of one per 16 KiB.
    const size = Math.max(1, expectedSize);
    return await gunzipAsync(stored, { maxOutputLength: size, chunkSize: Math.max(64, Math.min(size + 1, 4 * 1024 * 1024)) });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_BUFFER_TOO_LARGE') throw contentMismatch(where, entry.path, `it decompresses to more than the ${expectedSize} bytes the index says`);
    throw contentMismatch(where, entry.path, `its gzip data is damaged: ${(err as Error).message}`);
  }
}

/** Incremental SHA-256 and size of content, compared with its index record at the end. */
export class ContentCheck {
  readonly #hash = createHash('sha256');
  #size = 0;

  update(chunk: Buffer): void {
    this.#hash.update(chunk);
    this.#size += chunk.length;
  }

  /** Undefined when the content matches `record`, else why not. */
  mismatch(record: FileRecord): string | undefined {
    return contentDifference(this.#size, this.#hash.digest('hex'), record);
  }
}

/** Undefined when whole content matches `record`, else why not; hashed on the thread pool (WebCrypto). */
export async function wholeMismatch(content: Buffer, record: FileRecord): Promise<string | undefined> {
  if (content.length !== record.size) return contentDifference(content.length, '', record);
  return contentDifference(content.length, Buffer.from(await webcrypto.subtle.digest('SHA-256', content)).toString('hex'), record);
}

function contentDifference(size: number, sha256: string, record: FileRecord): string | undefined {
  if (size !== record.size) return `${size} bytes, the index says ${record.size}`;
  if (sha256 !== record.sha256) return `SHA-256 ${sha256.slice(0, 12)}…, the index says ${record.sha256.slice(0, 12)}…`;
  return undefined;
}

export function contentMismatch(where: string, path: string, reason: string): BantayError {
  return new BantayError(ErrorCode.Integrity, `${where}: ${JSON.stringify(path)} does not match the file index (${reason})`);
}
