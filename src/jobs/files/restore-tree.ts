import { lutimes, mkdir, rm, symlink, chmod, utimes } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { TreeState } from '../../catalog/file-index.ts';
import type { Manifest } from '../../catalog/manifest.ts';
import { BantayError, ErrorCode, withPlace, wrapError } from '../../errors.ts';
import type { JobDeps } from '../job-context.ts';
import type { ProgressReporter } from '../progress.ts';
import { loadChain, loadTreeState } from './chain.ts';
import { scanArchive } from './archive-scan.ts';
import { planRestore, type RestorePlan } from './restore-plan.ts';
import { createTreeWriter, syncTree, utimesSeconds } from './tree-writer.ts';

export interface TreeRestoreResult {
  dir: string;
  files: number;
  bytes: number;
  /** Ids of the archives read, full backup first. */
  archivesRead: string[];
  /** The tree that was restored, as the indexes describe it. */
  state: TreeState;
}

/**
 * Restores the tree of a files backup (for uploads: the tree at that point of its chain) into
 * `dir`, which must not exist yet; its parent must. Plan first (restore-plan.ts), then
 * directories, then each archive streamed once writing only the wanted files (archive-scan.ts,
 * tree-writer.ts: O_EXCL|O_NOFOLLOW, content checked against the index, small files verified
 * before they are written), then symlinks, then modes and mtimes, directories last and deepest
 * first, then one fsync pass over the whole tree and its parent, so a result that was reported
 * (or swapped in by an in-place restore) survives a crash. On any failure `dir` is removed, so
 * nothing half-restored stays behind.
 */
export async function restoreTreeInto(
  manifest: Manifest,
  dir: string,
  deps: JobDeps,
  reporter: ProgressReporter,
  signal?: AbortSignal,
): Promise<TreeRestoreResult> {
  const target = resolve(dir);
  reporter.phase?.('planning', `reading the file index${manifest.chain ? 'es of the chain' : ''} of ${manifest.id}`);
  const chain = await loadChain(manifest, deps);
  const state = await loadTreeState(chain, deps, signal);
  const plan = planRestore(state, chain.map((m) => m.id), `the restore of ${manifest.id}`);
  await createTarget(target);
  try {
    for (const d of plan.dirs) await mkdir(join(target, ...d.path.split('/')), { mode: 0o700 });
    const archivesRead: string[] = [];
    const sink = createTreeWriter(target);
    let written = 0;
    for (const member of chain) {
      const wanted = plan.filesByArchive.get(member.id);
      if (wanted === undefined || wanted.size === 0) continue;
      reporter.phase?.('extracting', `${wanted.size} files from ${member.id}`);
      const where = `the archive of ${member.id}`;
      const pending = new Map(wanted);
      await scanArchive(member, deps, { where, wanted: pending, sink, signal, onContentBytes: (bytes) => reporter.bytes?.((written += bytes), plan.bytes) });
      if (pending.size > 0) {
        const [first] = pending.keys();
        throw new BantayError(ErrorCode.Integrity, `${where} lacks ${pending.size} file(s) its index promises, e.g. ${JSON.stringify(first)}`);
      }
      archivesRead.push(member.id);
    }
    reporter.phase?.('finishing', 'symlinks, modes and modification times');
    await applyLinksAndMetadata(plan, target);
    reporter.phase?.('syncing', `${plan.files} files to disk`);
    await syncRestored(plan, target);
    return { dir: target, files: plan.files, bytes: plan.bytes, archivesRead, state };
  } catch (err) {
    await rm(target, { recursive: true, force: true }).catch(() => undefined);
    throw withPlace(err, `writing the restored tree ${target}`);
  }
}

async function createTarget(target: string): Promise<void> {
  try {
    await mkdir(target, { mode: 0o700 });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new BantayError(ErrorCode.InvalidInput, `${target} already exists: restore into a new directory (or use --in-place)`);
    if (code === 'ENOENT') throw new BantayError(ErrorCode.InvalidInput, `The parent directory of ${target} (${dirname(target)}) does not exist`);
    throw wrapError(ErrorCode.Internal, `Cannot create ${target}`, err);
  }
}

/** Symlinks after all content (nothing is ever written through one), then directory metadata. */
async function applyLinksAndMetadata(plan: RestorePlan, target: string): Promise<void> {
  for (const link of plan.symlinks) {
    const path = join(target, ...link.path.split('/'));
    await symlink(link.target, path);
    await lutimes(path, utimesSeconds(link.mtimeUs), utimesSeconds(link.mtimeUs));
  }
  for (const d of [...plan.dirs].reverse()) {
    const path = join(target, ...d.path.split('/'));
    await chmod(path, d.mode);
    await utimes(path, utimesSeconds(d.mtimeUs), utimesSeconds(d.mtimeUs));
  }
  if (plan.root !== undefined) {
    await chmod(target, plan.root.mode);
    await utimes(target, utimesSeconds(plan.root.mtimeUs), utimesSeconds(plan.root.mtimeUs));
  }
}

/** The whole tree: files, directories deepest first, the target and its parent (which holds its name). */
async function syncRestored(plan: RestorePlan, target: string): Promise<void> {
  const pathOf = (path: string): string => join(target, ...path.split('/'));
  const files: string[] = [];
  for (const wanted of plan.filesByArchive.values()) for (const path of wanted.keys()) files.push(pathOf(path));
  const dirs = [...plan.dirs].reverse().map((d) => pathOf(d.path));
  await syncTree(target, files, [...dirs, target, dirname(target)]);
}
