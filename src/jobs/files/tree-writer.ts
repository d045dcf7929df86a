import { execFile } from 'node:child_process';
import { close, constants, fchmod, fsync, futimes, open, write } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { FileRecord } from '../../catalog/file-index.ts';
import type { ContentSink } from './archive-scan.ts';
import { TaskPool } from './task-pool.ts';

/**
 * Writes restored files into a target tree whose directories already exist (restore-tree.ts).
 * Every file is created with O_CREAT|O_EXCL|O_NOFOLLOW (never through a symlink, never over
 * anything) with its recorded mode, then given its µs mtime (and, when the umask removed some of
 * its mode bits, its mode) through its own descriptor. Created with the final mode rather than
 * 0600 then chmod: the tree's directories stay 0700 until the restore ends (restore-tree.ts), so
 * nobody else can reach a file before it is complete, and a chmod per file costs a round trip. The callback fs API is used (not FileHandle): one thread-pool round trip per call,
 * which is what thousands of small files cost. Nothing is fsynced here: syncTree does it once for
 * the whole tree before the restore reports success (or swaps the tree in).
 */
const openAsync = promisify(open);
const writeAsync = promisify(write);
const closeAsync = promisify(close);
const fchmodAsync = promisify(fchmod);
const futimesAsync = promisify(futimes);
const fsyncAsync = promisify(fsync);

const CREATE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
const SYNC_CONCURRENCY = 16;

export function createTreeWriter(target: string): ContentSink {
  const pathOf = (record: FileRecord): string => join(target, ...record.path.split('/'));
  // Reading the umask sets it and back: done here, before any of our files is being created.
  const umask = process.umask();
  return {
    async whole(record, content) {
      await withNewFile(pathOf(record), record, umask, async (fd) => writeAll(fd, content));
    },
    async streamed(record, content) {
      await withNewFile(pathOf(record), record, umask, async (fd) => {
        for await (const chunk of content) await writeAll(fd, chunk);
      });
    },
  };
}

async function withNewFile(path: string, record: FileRecord, umask: number, fill: (fd: number) => Promise<void>): Promise<void> {
  const fd = await openAsync(path, CREATE_FLAGS, record.mode);
  try {
    await fill(fd);
    if ((record.mode & umask) !== 0) await fchmodAsync(fd, record.mode);
    const seconds = utimesSeconds(record.mtimeUs);
    await futimesAsync(fd, seconds, seconds);
  } finally {
    await closeAsync(fd);
  }
}

async function writeAll(fd: number, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) offset += (await writeAsync(fd, chunk, offset, chunk.length - offset, null)).bytesWritten;
}

/**
 * Seconds for utimes(2) that land on exactly `us` microseconds: Node passes a double, which
 * libuv truncates to microseconds; half a microsecond of margin absorbs the double's rounding.
 */
export function utimesSeconds(us: number): number {
  return (us + 0.5) / 1e6;
}

/**
 * Makes a finished tree durable with one sync at the end instead of an fsync per file as it is
 * written: `sync -f` (coreutils; syncfs(2) of the filesystem holding `root`, which covers every
 * file and directory of the tree and the entry in its parent, and reports writeback errors).
 * Where that is not available (no coreutils `sync`, or it fails), every file and directory is
 * fsynced instead, up to SYNC_CONCURRENCY at once so the filesystem batches them into few journal
 * commits, directories last. Files are then opened O_RDONLY|O_NOFOLLOW: never through a link.
 */
export async function syncTree(root: string, files: readonly string[], dirs: readonly string[]): Promise<void> {
  if (await syncFilesystem(root)) return;
  const pool = new TaskPool({ concurrency: SYNC_CONCURRENCY, budgetBytes: Number.POSITIVE_INFINITY });
  const syncPath = async (path: string, flags: number): Promise<void> => {
    const fd = await openAsync(path, flags);
    try {
      await fsyncAsync(fd);
    } finally {
      await closeAsync(fd);
    }
  };
  try {
    for (const [paths, flags] of [
      [files, constants.O_RDONLY | constants.O_NOFOLLOW],
      [dirs, constants.O_RDONLY | constants.O_DIRECTORY],
    ] as const) {
      for (const path of paths) {
        await pool.room(0);
        pool.start(0, () => syncPath(path, flags));
      }
      await pool.drain();
    }
  } finally {
    await pool.settle();
  }
}

/**
 * Keeps writing the filesystem's dirty data to disk (`sync -f`, again 100 ms after each) until
 * stopped, so that a syncTree at the end has little left to do: the unpack of a point-in-time
 * restore is bound by creating files, the disk idles meanwhile, and the final sync then waited for
 * all 460 MB (1.1-1.5 s here; with the flushing alongside, unpack and sync took 2.6-3.0 s instead
 * of 3.2-3.9 s). Guarantees nothing: only syncTree's result makes a tree durable. Stops by
 * itself where `sync -f` is unavailable; `stop` never rejects.
 */
export function keepFlushing(root: string): { stop(): Promise<void> } {
  const stopping = new AbortController();
  const loop = (async () => {
    while (!stopping.signal.aborted && (await syncFilesystem(root, stopping.signal))) await new Promise((r) => setTimeout(r, 100));
  })();
  return {
    // The sync in flight is killed: a stuck filesystem must not hold up a cancelled restore.
    stop: async () => {
      stopping.abort();
      await loop;
    },
  };
}

/** True when `sync -f root` succeeded. Only PATH is passed on: the child sees no secrets. */
function syncFilesystem(root: string, signal?: AbortSignal): Promise<boolean> {
  if (process.platform !== 'linux') return Promise.resolve(false);
  return new Promise((resolve) => {
    execFile('sync', ['-f', root], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, ...(signal ? { signal } : {}) }, (err) => resolve(err === null));
  });
}
