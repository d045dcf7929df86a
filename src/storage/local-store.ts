import { randomBytes } from 'node:crypto';
import type { Dirent } from 'node:fs';
import { mkdir, open, readdir, rename, rm, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, relative, resolve } from 'node:path';
import { addAbortSignal, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { BantayError, ErrorCode, isAbortError, isSystemError, wrapError } from '../errors.ts';
import { assertValidKey, assertValidPrefix, isValidKey } from './keys.ts';
import type { Leftover } from './leftovers.ts';
import type { GetOptions, ObjectInfo, ObjectStore, PutOptions } from './object-store.ts';

/** Temp files start with "." so they can never be valid key segments (see keys.ts) nor be listed. */
const TEMP_PREFIX = '.tmp-';
/** Backups are sensitive even when encrypted: only the owner may read them. */
const FILE_MODE = 0o600;

/**
 * An ObjectStore in a local directory: key "a/b/c" is the file ROOT/a/b/c.
 *
 * `put` streams into ROOT/a/b/.tmp-RANDOM, fsyncs it, renames it over the final name and fsyncs
 * the directory, so a crash leaves either the old object or the new one, never a torn file.
 * Any failure removes the temp file. Directories emptied by `delete` are left in place; `list`
 * skips them, and removing them would race with a concurrent `put` into the same directory.
 */
export function createLocalStore(rootDir: string): ObjectStore {
  const root = resolve(rootDir);
  const pathOf = (key: string): string => join(root, ...key.split('/'));

  return {
    description: `local:${root}`,

    async put(key: string, body: Readable, options: PutOptions = {}): Promise<{ size: number }> {
      assertValidKey(key);
      return putFile(pathOf(key), key, body, options.signal);
    },

    async get(key: string, options: GetOptions = {}): Promise<Readable> {
      assertValidKey(key);
      if (options.signal?.aborted) throw new BantayError(ErrorCode.Aborted, `get ${key}: aborted`);
      return openForRead(pathOf(key), key, options.signal);
    },

    async stat(key: string): Promise<ObjectInfo | undefined> {
      assertValidKey(key);
      try {
        const info = await stat(pathOf(key));
        return info.isFile() ? { key, size: info.size, modifiedAt: info.mtime } : undefined;
      } catch (err) {
        if (isMissing(err)) return undefined;
        throw wrapError(ErrorCode.Storage, `stat ${key} in ${root}`, err);
      }
    },

    async *list(prefix: string): AsyncIterable<ObjectInfo> {
      assertValidPrefix(prefix);
      yield* listFiles(root, prefix);
    },

    async delete(key: string): Promise<void> {
      assertValidKey(key);
      try {
        await unlink(pathOf(key));
      } catch (err) {
        if (isMissing(err)) return;
        throw wrapError(ErrorCode.Storage, `delete ${key} in ${root}`, err);
      }
    },

    leftovers: {
      listLeftovers: () => listTempFiles(root),
      async removeLeftover(leftover: Leftover): Promise<void> {
        const path = resolve(root, leftover.handle);
        // Only our own temp files, only inside the root.
        if (!path.startsWith(`${root}/`) || !basename(path).startsWith(TEMP_PREFIX)) {
          throw new BantayError(ErrorCode.InvalidInput, `not a temp file of this store: ${leftover.handle}`);
        }
        await rm(path, { force: true });
      },
    },
  };
}

/** `.tmp-*` files of uploads that never finished (the process was killed mid-put), anywhere under root. */
async function* listTempFiles(root: string, dir = root): AsyncGenerator<Leftover> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (err) {
    if (isMissing(err)) return;
    throw wrapError(ErrorCode.Storage, `list ${dir}`, err);
  }
  for (const entry of entries) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      yield* listTempFiles(root, path);
    } else if (entry.isFile() && entry.name.startsWith(TEMP_PREFIX)) {
      const info = await stat(path).catch(() => undefined);
      if (info) yield { kind: 'temp-file', key: relative(root, path), since: info.mtime, sizeBytes: info.size, handle: relative(root, path) };
    }
  }
}

async function putFile(path: string, key: string, body: Readable, signal: AbortSignal | undefined): Promise<{ size: number }> {
  const dir = dirname(path);
  const tempPath = join(dir, `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`);
  let handle: FileHandle | undefined;
  try {
    signal?.throwIfAborted();
    await mkdir(dir, { recursive: true });
    handle = await open(tempPath, 'wx', FILE_MODE);
    const size = await writeBody(handle, body, signal);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(tempPath, path);
    await syncDirectory(dir);
    return { size };
  } catch (err) {
    body.destroy();
    await handle?.close().catch(() => undefined);
    await rm(tempPath, { force: true }).catch(() => undefined);
    // The error's own kind decides, not the signal: a full disk makes the caller abort, and
    // by now the signal may be aborted because of this very error (src/failure.ts).
    if (isAbortError(err) || (signal?.aborted && !isRealStoreError(err))) {
      throw new BantayError(ErrorCode.Aborted, `put ${key}: aborted`, { cause: err });
    }
    throw wrapError(ErrorCode.Storage, `put ${key} into ${dir}`, err);
  }
}

/** Streams `body` into `handle` chunk by chunk (never the whole object in memory). */
async function writeBody(handle: FileHandle, body: Readable, signal: AbortSignal | undefined): Promise<number> {
  let size = 0;
  await pipeline(
    body,
    async (source: AsyncIterable<Buffer | string>) => {
      for await (const chunk of source) {
        const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk);
        let offset = 0;
        // FileHandle.write may write less than asked; loop until the chunk is on disk.
        while (offset < buffer.length) {
          const { bytesWritten } = await handle.write(buffer, offset, buffer.length - offset);
          offset += bytesWritten;
        }
        size += buffer.length;
      }
    },
    signal ? { signal } : {},
  );
  return size;
}

/** Makes the rename durable. Directories cannot be opened for fsync on Windows; skip there. */
async function syncDirectory(dir: string): Promise<void> {
  if (process.platform === 'win32') return;
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Bytes per read of a stored object (see openForRead). */
const READ_BYTES = 1024 * 1024;

/** Opens before returning so a missing key rejects here instead of erroring the stream later. */
async function openForRead(path: string, key: string, signal: AbortSignal | undefined): Promise<Readable> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (err) {
    if (isMissing(err)) throw notFound(key, path);
    throw wrapError(ErrorCode.Storage, `get ${key} from ${path}`, err);
  }
  const info = await handle.stat().catch(async (err: unknown) => {
    await handle.close();
    throw wrapError(ErrorCode.Storage, `get ${key} from ${path}`, err);
  });
  if (!info.isFile()) {
    await handle.close();
    throw notFound(key, path);
  }
  // 1 MiB reads: with the default 64 KiB, every later stage (digest, decryption frames of 64 KiB
  // plus tag, inflate) handles four times as many pieces, each straddling a frame: a 273 MB base
  // backup took 0.62-0.86 s to read, hash and decrypt against 0.44-0.49 s in 1 MiB reads.
  const stream = handle.createReadStream({ autoClose: true, highWaterMark: READ_BYTES });
  return signal ? addAbortSignal(signal, stream) : stream;
}

/**
 * Walks the directory holding `prefix` depth-first. Entries are sorted by name, with "/" appended
 * to directory names: every key below directory "d" starts with "d/", so this yields keys in
 * plain byte order ("a-c" before "a/b", "a.x" before "a/b"), the same order S3 lists in.
 */
async function* listFiles(root: string, prefix: string): AsyncGenerator<ObjectInfo> {
  const slash = prefix.lastIndexOf('/');
  const baseKey = slash === -1 ? '' : prefix.slice(0, slash + 1);
  yield* walk(root, baseKey, prefix);
}

async function* walk(root: string, dirKey: string, prefix: string): AsyncGenerator<ObjectInfo> {
  const dirPath = join(root, ...dirKey.split('/').filter(Boolean));
  let entries: Dirent[];
  try {
    entries = await readdir(dirPath, { withFileTypes: true });
  } catch (err) {
    if (isMissing(err)) return;
    throw wrapError(ErrorCode.Storage, `list ${dirPath}`, err);
  }
  const named = entries
    .filter((entry) => (entry.isFile() || entry.isDirectory()) && isValidKey(entry.name))
    .map((entry) => ({ entry, sortName: entry.isDirectory() ? `${entry.name}/` : entry.name }))
    .sort((a, b) => (a.sortName < b.sortName ? -1 : a.sortName > b.sortName ? 1 : 0));
  for (const { entry } of named) {
    const key = dirKey + entry.name;
    if (entry.isDirectory()) {
      // The walk starts in the prefix's deepest directory, so only its last, partial segment
      // is left to match: for prefix "backups/db-" descend into "backups/db-1/", not "backups/x/".
      if (`${key}/`.startsWith(prefix)) yield* walk(root, `${key}/`, prefix);
      continue;
    }
    if (!key.startsWith(prefix)) continue;
    const info = await stat(join(dirPath, entry.name)).catch((err: unknown) => {
      if (isMissing(err)) return undefined; // deleted while listing
      throw wrapError(ErrorCode.Storage, `list ${key}`, err);
    });
    if (info?.isFile()) yield { key, size: info.size, modifiedAt: info.mtime };
  }
}

/** An error of the filesystem itself (ENOSPC, EIO, EACCES...), not an echo of a cancel (EPIPE). */
function isRealStoreError(err: unknown): boolean {
  return isSystemError(err) && (err as { code: string }).code !== 'EPIPE';
}

function isMissing(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

function notFound(key: string, path: string): BantayError {
  return new BantayError(ErrorCode.NotFound, `Object ${key} not found (${path})`);
}
