import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { TreeEntry, TreeState } from '../../catalog/file-index.ts';
import type { Manifest } from '../../catalog/manifest.ts';
import { BantayError, isAbortError } from '../../errors.ts';
import { classifyFailure } from '../../failure.ts';
import type { JobDeps } from '../job-context.ts';
import { silentReporter, type ProgressReporter } from '../progress.ts';
import { restoreTreeInto } from './restore-tree.ts';
import { walkTree, type WalkedEntry } from './tree-walk.ts';
import { filesCheck, type FilesCheck, type FilesVerification } from './verify-files.ts';
import { jobTempBase, makeJobTempDir } from '../../util/temp-dir.ts';

/**
 * A restore drill for a files backup: restores it (its whole chain for uploads) into a scratch
 * directory, checks every file's content against the index on the way (restore-tree.ts), then
 * walks the restored tree and compares paths, types, sizes, modes, mtimes and symlink targets
 * with what the index says. The scratch directory is always removed.
 */
export async function drillFilesBackup(
  manifest: Manifest,
  deps: JobDeps,
  reporter: ProgressReporter = silentReporter,
  options: { signal?: AbortSignal; scratchDir?: string } = {},
): Promise<FilesVerification> {
  const started = Date.now();
  const checks: FilesCheck[] = [];
  const scratch = await makeJobTempDir(options.scratchDir ?? jobTempBase(deps), 'drill-');
  try {
    const target = join(scratch, 'tree');
    const restored = await restoreTreeInto(manifest, target, deps, reporter, options.signal);
    const seconds = (Date.now() - started) / 1000;
    checks.push(filesCheck('restore', true, `${restored.files} files (${restored.bytes} bytes) from ${restored.archivesRead.length} archive(s) in ${seconds.toFixed(1)}s, every SHA-256 matched`));
    const differences = await compareTree(target, restored.state);
    const detail = differences.length === 0 ? `${restored.state.size} entries identical (type, size, mode, mtime, link target)` : `${differences.length} difference(s): ${differences.slice(0, 5).join('; ')}`;
    checks.push(filesCheck('restored tree matches the index', differences.length === 0, detail));
  } catch (err) {
    // A full scratch disk or an unreachable store says nothing about the backup: it ends the
    // drill as could-not-check (drill.ts) instead of failing the backup's restore check.
    const c = classifyFailure(err, { checking: true });
    if (isAbortError(err) || !(err instanceof BantayError) || (c.outcome === 'could-not-check' && c.cause !== 'internal')) throw err;
    checks.push(filesCheck('restore', false, err.message));
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
  return { passed: checks.every((c) => c.passed), checks, durationSeconds: (Date.now() - started) / 1000 };
}

/** Differences between a directory on disk and a tree state, as short sentences. */
export async function compareTree(dir: string, state: TreeState): Promise<string[]> {
  const differences: string[] = [];
  const seen = new Set<string>();
  for await (const live of walkTree(dir)) {
    seen.add(live.path);
    const expected = state.get(live.path);
    const difference = expected === undefined ? 'not in the backup' : describeDifference(live, expected);
    if (difference !== undefined) differences.push(`${JSON.stringify(live.path)}: ${difference}`);
  }
  for (const path of state.keys()) if (!seen.has(path)) differences.push(`${JSON.stringify(path)}: missing`);
  return differences;
}

function describeDifference(live: WalkedEntry, expected: TreeEntry): string | undefined {
  if (live.type !== expected.type) return `is a ${live.type}, expected a ${expected.type}`;
  if (live.mtimeUs !== expected.mtimeUs) return `mtime ${live.mtimeUs} µs, expected ${expected.mtimeUs} µs`;
  if (live.type === 'symlink') return live.target === (expected as typeof live).target ? undefined : `links to ${live.target}, expected ${(expected as typeof live).target}`;
  if (live.mode !== (expected as { mode: number }).mode) return `mode ${live.mode.toString(8)}, expected ${(expected as { mode: number }).mode.toString(8)}`;
  if (live.type === 'file' && live.size !== (expected as { size: number }).size) return `${live.size} bytes, expected ${(expected as { size: number }).size}`;
  return undefined;
}
