import { constants, createWriteStream } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { createHash, webcrypto } from 'node:crypto';
import { pipeline } from 'node:stream/promises';
import { Readable } from 'node:stream';
import { createGzip, gzip } from 'node:zlib';
import { promisify } from 'node:util';
import { BantayError, ErrorCode, wrapError } from '../../errors.ts';
import { compressionPays, GZIP_LEVEL } from './compression.ts';

/**
 * Reading live files for a backup. Files are opened with O_NOFOLLOW (a file swapped for a symlink
 * after the walk is not followed) and described by fstat of the open descriptor, so size, mode
 * and mtime always belong to the bytes read. A file that vanished or stopped being a regular file
 * since the walk reads as `undefined`; one that shrinks while being streamed is an error.
 */
export interface FileMeta {
  size: number;
  mode: number;
  mtimeUs: number;
}

const gzipAsync = promisify(gzip);
const CHUNK = 256 * 1024;

/**
 * A file that could not be read consistently: it cannot be opened or read (EACCES, EIO...), or
 * its size or mtime changed while it was read. Uploads backups retry such a file once and then
 * record it as skipped (BANTAY_UPLOADS_STRICT=1 fails the backup instead).
 */
export class UnstableFileError extends BantayError {
  readonly path: string;
  /** What happened to the file, without its path ("changed while it was being read (…)"): a skip's reason. */
  readonly why: string;
  constructor(path: string, why: string, cause?: unknown) {
    super(ErrorCode.Internal, `${path} ${why}`, cause === undefined ? {} : { cause });
    this.path = path;
    this.why = why;
  }
}

export async function openLiveFile(absPath: string): Promise<{ handle: FileHandle; meta: FileMeta } | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(absPath, constants.O_RDONLY | constants.O_NOFOLLOW);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ELOOP') return undefined;
    throw new UnstableFileError(absPath, `cannot be opened (${code ?? (err as Error).message})`, err);
  }
  const info = await handle.stat({ bigint: true });
  if (!info.isFile()) {
    await handle.close();
    return undefined;
  }
  return { handle, meta: { size: Number(info.size), mode: Number(info.mode) & 0o777, mtimeUs: Number(info.mtimeNs / 1000n) } };
}

/** Throws UnstableFileError when the open file's size or mtime is no longer `meta`'s: it changed while read. */
export async function assertUnchanged(handle: FileHandle, meta: FileMeta, absPath: string): Promise<void> {
  const now = await handle.stat({ bigint: true });
  if (Number(now.size) !== meta.size || Number(now.mtimeNs / 1000n) !== meta.mtimeUs) {
    throw new UnstableFileError(absPath, `changed while it was being read (size ${meta.size} -> ${Number(now.size)})`);
  }
}

/** The gzip of `data` when it pays (see compression.ts), else undefined. Runs on the thread pool. */
export async function gzipIfSmaller(data: Buffer): Promise<Buffer | undefined> {
  // One output buffer (compressed data of interest is smaller than the input): one thread-pool
  // round trip instead of one per 16 KiB.
  const compressed = await gzipAsync(data, { level: GZIP_LEVEL, chunkSize: Math.max(64, data.length) });
  return compressionPays(data.length, compressed.length) ? compressed : undefined;
}

/**
 * Exactly `size` bytes of an open file, in fresh buffers, from offset 0. A file that ends early
 * changed under us: the archive header already promised `size` bytes, so that is an error.
 */
export async function* readExactly(handle: FileHandle, size: number, describe: string): AsyncGenerator<Buffer> {
  let position = 0;
  while (position < size) {
    const buffer = Buffer.allocUnsafe(Math.min(CHUNK, size - position));
    const { bytesRead } = await handle.read(buffer, 0, buffer.length, position);
    if (bytesRead === 0) {
      throw new UnstableFileError(describe, `shrank while it was being backed up (expected ${size} bytes, got ${position}); run the backup again`);
    }
    position += bytesRead;
    yield bytesRead === buffer.length ? buffer : buffer.subarray(0, bytesRead);
  }
}

/**
 * The content of a small file in one buffer: up to `size` bytes (its fstat size; a file that
 * grew since is cut there, one that shrank gives what it has). No second fstat, no probe for EOF.
 */
export async function readUpTo(handle: FileHandle, size: number): Promise<Buffer> {
  const buffer = Buffer.allocUnsafe(size);
  let position = 0;
  while (position < size) {
    const { bytesRead } = await handle.read(buffer, position, size - position, position);
    if (bytesRead === 0) break;
    position += bytesRead;
  }
  return position === size ? buffer : buffer.subarray(0, position);
}

/** SHA-256 (hex) of a buffer, computed on the thread pool (WebCrypto) instead of the main thread. */
export async function sha256Hex(data: Buffer): Promise<string> {
  return Buffer.from(await webcrypto.subtle.digest('SHA-256', data)).toString('hex');
}

/** SHA-256 of the first `size` bytes of an open file. */
export async function hashOpenFile(handle: FileHandle, size: number, describe: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of readExactly(handle, size, describe)) hash.update(chunk);
  return hash.digest('hex');
}

/**
 * Gzips the first `size` bytes of an open file into `tempPath`, hashing the original on the way.
 * Used for large compressible files, whose compressed size must be known before their header.
 */
export async function gzipToTempFile(handle: FileHandle, size: number, tempPath: string, describe: string): Promise<{ sha256: string; compressedSize: number }> {
  const hash = createHash('sha256');
  const source = Readable.from(
    (async function* () {
      for await (const chunk of readExactly(handle, size, describe)) {
        hash.update(chunk);
        yield chunk;
      }
    })(),
  );
  const out = createWriteStream(tempPath, { flags: 'wx', mode: 0o600 });
  await pipeline(source, createGzip({ level: GZIP_LEVEL }), out);
  return { sha256: hash.digest('hex'), compressedSize: out.bytesWritten };
}
