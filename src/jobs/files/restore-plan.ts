import { comparePaths, ROOT_PATH, type DirRecord, type FileRecord, type SymlinkRecord, type TreeState } from '../../catalog/file-index.ts';
import { BantayError, ErrorCode } from '../../errors.ts';
import { unsafeModeReason, unsafePathReason, unsafeSymlinkReason, UnsafeArchiveError } from './safe-path.ts';

/**
 * What a restore writes, decided from the tree state alone (pure, table-tested): directories
 * parents first, each file under the archive that holds its content, symlinks last. Every
 * entry is checked first: safe path and mode, safe symlink target, a real directory as parent
 * (never a symlink or a file, so nothing is ever written through a link), content in a member
 * of the chain. One bad entry refuses the whole restore before anything is written.
 */
export interface RestorePlan {
  root: DirRecord | undefined;
  /** Directories other than the root, parents before children. */
  dirs: DirRecord[];
  /** Archive (backup id) -> path -> file, for the archives that hold wanted content. */
  filesByArchive: Map<string, Map<string, FileRecord>>;
  symlinks: SymlinkRecord[];
  files: number;
  bytes: number;
}

export function planRestore(state: TreeState, chainIds: readonly string[], where: string): RestorePlan {
  const plan: RestorePlan = { root: undefined, dirs: [], filesByArchive: new Map(), symlinks: [], files: 0, bytes: 0 };
  const members = new Set(chainIds);
  for (const path of [...state.keys()].sort(comparePaths)) {
    const entry = state.get(path)!;
    if (entry.path !== path) throw new BantayError(ErrorCode.Internal, `index entry keyed ${path} names ${entry.path}`);
    if (path === ROOT_PATH) {
      if (entry.type !== 'dir') throw new UnsafeArchiveError(where, path, 'the root is not a directory');
      checkMode(where, entry);
      plan.root = entry;
      continue;
    }
    const reason = unsafePathReason(path);
    if (reason !== undefined) throw new UnsafeArchiveError(where, path, reason);
    checkParent(where, state, path);
    addEntry(plan, entry, members, where);
  }
  return plan;
}

function addEntry(plan: RestorePlan, entry: DirRecord | FileRecord | SymlinkRecord, members: ReadonlySet<string>, where: string): void {
  switch (entry.type) {
    case 'dir':
      checkMode(where, entry);
      plan.dirs.push(entry);
      return;
    case 'symlink': {
      const reason = unsafeSymlinkReason(entry.path, entry.target);
      if (reason !== undefined) throw new UnsafeArchiveError(where, entry.path, reason);
      plan.symlinks.push(entry);
      return;
    }
    case 'file': {
      checkMode(where, entry);
      if (!members.has(entry.in)) {
        throw new BantayError(ErrorCode.Integrity, `${where}: ${entry.path} should be in backup ${entry.in}, which is not part of this chain`);
      }
      let wanted = plan.filesByArchive.get(entry.in);
      if (wanted === undefined) plan.filesByArchive.set(entry.in, (wanted = new Map()));
      wanted.set(entry.path, entry);
      plan.files += 1;
      plan.bytes += entry.size;
    }
  }
}

function checkMode(where: string, entry: DirRecord | FileRecord): void {
  const reason = unsafeModeReason(entry.mode);
  if (reason !== undefined) throw new UnsafeArchiveError(where, entry.path, reason);
}

function checkParent(where: string, state: TreeState, path: string): void {
  const slash = path.lastIndexOf('/');
  if (slash < 0) return;
  const parent = state.get(path.slice(0, slash));
  if (parent?.type !== 'dir') {
    throw new UnsafeArchiveError(where, path, parent === undefined ? 'its parent directory is not in the backup' : `its parent is a ${parent.type}, not a directory`);
  }
}
