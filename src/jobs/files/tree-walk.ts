import type { BigIntStats } from 'node:fs';
import { lstat, readdir, readlink, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { comparePaths, ROOT_PATH, type DirRecord, type SymlinkRecord } from '../../catalog/file-index.ts';
import { BantayError, ErrorCode, wrapError } from '../../errors.ts';
import type { ExcludeMatcher } from './exclude-globs.ts';
import { unsafeSymlinkReason } from './safe-path.ts';

/** A regular file as the walk saw it (lstat); content is read, and hashed, later. */
export interface WalkedFile {
  path: string;
  type: 'file';
  size: number;
  mode: number;
  mtimeUs: number;
}
export type WalkedEntry = WalkedFile | DirRecord | SymlinkRecord;

export interface WalkOptions {
  exclude?: ExcludeMatcher;
  /** Something was skipped or changed on the way (a socket, an unsafe symlink, setuid bits). */
  onWarning?: (message: string) => void;
  signal?: AbortSignal;
}

const STAT_BATCH = 32;

/**
 * Walks `root` depth-first, a directory before its contents and siblings by name (the order of
 * comparePaths), yielding the root itself as ".". Symlinks are never followed (except `root`
 * itself); sockets, FIFOs and devices are skipped with a warning, as are symlinks that point
 * outside the tree (they could not be restored safely). setuid/setgid/sticky bits are dropped.
 * Excluded directories are not entered. Entries that vanish during the walk are left out.
 */
export async function* walkTree(root: string, options: WalkOptions = {}): AsyncGenerator<WalkedEntry> {
  let rootStats: BigIntStats;
  try {
    rootStats = await stat(root, { bigint: true });
  } catch (err) {
    throw new BantayError(ErrorCode.NotFound, `Cannot read the directory to back up (${root}): ${(err as Error).message}`, { cause: err });
  }
  if (!rootStats.isDirectory()) throw new BantayError(ErrorCode.InvalidInput, `${root} is not a directory`);
  yield { path: ROOT_PATH, type: 'dir', mode: permissionBits(ROOT_PATH, rootStats, options), mtimeUs: microseconds(rootStats) };
  yield* walkDirectory(root, ROOT_PATH, options);
}

async function* walkDirectory(root: string, relDir: string, options: WalkOptions): AsyncGenerator<WalkedEntry> {
  const absDir = relDir === ROOT_PATH ? root : join(root, relDir);
  let names: string[];
  try {
    names = await readdir(absDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw wrapError(ErrorCode.Internal, `Cannot list ${absDir}`, err);
  }
  names.sort(comparePaths);
  for (let i = 0; i < names.length; i += STAT_BATCH) {
    if (options.signal?.aborted) throw new BantayError(ErrorCode.Aborted, 'Backup cancelled');
    const batch = names.slice(i, i + STAT_BATCH);
    const stats = await Promise.all(batch.map((name) => lstatOrMissing(join(absDir, name))));
    for (let j = 0; j < batch.length; j += 1) {
      const path = relDir === ROOT_PATH ? batch[j]! : `${relDir}/${batch[j]!}`;
      const info = stats[j];
      if (info === undefined) {
        if (path.includes('\uFFFD')) options.onWarning?.(`skipped ${path}: its name is not valid UTF-8`);
        continue;
      }
      const entry = await describe(root, path, info, options);
      if (entry === undefined) continue;
      yield entry;
      if (entry.type === 'dir') yield* walkDirectory(root, path, options);
    }
  }
}

async function describe(root: string, path: string, info: BigIntStats, options: WalkOptions): Promise<WalkedEntry | undefined> {
  const isDir = info.isDirectory();
  if (options.exclude?.(path, isDir)) return undefined;
  if (isDir) return { path, type: 'dir', mode: permissionBits(path, info, options), mtimeUs: microseconds(info) };
  if (info.isFile()) return { path, type: 'file', size: Number(info.size), mode: permissionBits(path, info, options), mtimeUs: microseconds(info) };
  if (info.isSymbolicLink()) {
    const target = await readlink(join(root, path)).catch(() => undefined);
    if (target === undefined) return undefined;
    const reason = unsafeSymlinkReason(path, target);
    if (reason !== undefined) {
      options.onWarning?.(`skipped symlink ${path}: ${reason}`);
      return undefined;
    }
    return { path, type: 'symlink', target, mtimeUs: microseconds(info) };
  }
  options.onWarning?.(`skipped ${path}: not a regular file, directory or symlink (socket, FIFO or device)`);
  return undefined;
}

function permissionBits(path: string, info: BigIntStats, options: WalkOptions): number {
  const mode = Number(info.mode) & 0o7777;
  if ((mode & 0o7000) !== 0) options.onWarning?.(`${path}: setuid/setgid/sticky bits are not backed up (mode ${mode.toString(8)} stored as ${(mode & 0o777).toString(8)})`);
  return mode & 0o777;
}

/** Whole microseconds, exactly (a double of milliseconds cannot hold them). */
export function microseconds(info: BigIntStats): number {
  return Number(info.mtimeNs / 1000n);
}

async function lstatOrMissing(path: string): Promise<BigIntStats | undefined> {
  try {
    return await lstat(path, { bigint: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw wrapError(ErrorCode.Internal, `Cannot stat ${path}`, err);
  }
}
