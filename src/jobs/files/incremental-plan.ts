import type { DeletedRecord, DirRecord, SymlinkRecord, TreeEntry, TreeState } from '../../catalog/file-index.ts';
import type { WalkedFile } from './tree-walk.ts';

/**
 * What an incremental backup does with each live entry, decided from the walk (lstat) and the
 * parent state alone, before any file is read. Pure: table-tested in test/jobs/files.
 *
 * - store:     new path, or a path that was not a file: read, hash and archive the content.
 * - check:     size or mtime changed: hash it; archive only when the hash differs too
 *              (otherwise record the new metadata and keep pointing at the old content).
 * - metadata:  same size and mtime, different mode: record the new mode, no content.
 * - unchanged: nothing to record.
 */
export type FileDecision = 'store' | 'check' | 'metadata' | 'unchanged';

/**
 * Files whose recorded mtime is this close to the start of the parent backup, or after it, are
 * hashed again even when size and mtime match: a second write within the filesystem's timestamp
 * granularity, after the parent read the file, would otherwise go unnoticed ("racy" files).
 */
export const RACY_WINDOW_MS = 2000;

/** `parentStartedMs`: when the parent backup started (its createdAt); omit for no racy check. */
export function decideFile(live: WalkedFile, previous: TreeEntry | undefined, parentStartedMs = Number.POSITIVE_INFINITY): FileDecision {
  if (previous === undefined || previous.type !== 'file') return 'store';
  if (previous.size !== live.size || previous.mtimeUs !== live.mtimeUs) return 'check';
  if (previous.mtimeUs >= (parentStartedMs - RACY_WINDOW_MS) * 1000) return 'check';
  return previous.mode === live.mode ? 'unchanged' : 'metadata';
}

/** Directories and symlinks have no content: they are recorded whenever anything about them differs. */
export function dirOrSymlinkChanged(live: DirRecord | SymlinkRecord, previous: TreeEntry | undefined): boolean {
  if (previous === undefined || previous.type !== live.type) return true;
  if (previous.mtimeUs !== live.mtimeUs) return true;
  return live.type === 'dir' ? (previous as DirRecord).mode !== live.mode : (previous as SymlinkRecord).target !== live.target;
}

/** Every path of the parent state that the walk did not see, sorted: the deletions to record. */
export function deletionsSince(previous: TreeState, seen: ReadonlySet<string>): DeletedRecord[] {
  const deleted: DeletedRecord[] = [];
  for (const path of previous.keys()) if (!seen.has(path)) deleted.push({ path, type: 'deleted' });
  return deleted.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
