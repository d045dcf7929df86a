import { chmodSync, mkdirSync, readdirSync, rmSync, unlinkSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isPidAlive, isTokenRunning, processToken } from '../state/process-identity.ts';

/**
 * Plaintext scratch space. Every temporary file or directory Bantay writes (files-backup gzip
 * parts, export CSVs, the parallel-restore dump, drill trees) lives under
 * BANTAY_DATA_DIR/tmp/<process token>/ (mode 0700; files in it 0600), never in the system temp
 * directory, where other users and tmp cleaners see it. The token names the process
 * (process-identity.ts), so every start removes the directories of processes that died
 * without cleaning up (SIGKILL, power loss, OOM) and leaves those of live ones alone.
 */
export function tempRoot(dataDir: string): string {
  return join(resolve(dataDir), 'tmp');
}

/** This process's directory under `dataDir`/tmp, created (0700) on first use. */
export function processTempDir(dataDir: string): string {
  const root = tempRoot(dataDir);
  const dir = join(root, processToken());
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  // mkdir's mode is masked by the umask and leaves an existing root as it was.
  chmodSync(root, 0o700);
  chmodSync(dir, 0o700);
  return dir;
}

/** A fresh private directory for one job, inside `base` (the process temp dir). */
export async function makeJobTempDir(base: string, prefix: string): Promise<string> {
  mkdirSync(base, { recursive: true, mode: 0o700 });
  return mkdtemp(join(base, prefix));
}

/**
 * Removes what dead processes left under `dataDir`/tmp: per-process directories whose owner is
 * gone. Entries that are not process directories (the legacy `.bantay-restore-*` files are
 * handled by pg-restore's own sweep) are left alone. Returns the names removed.
 */
export function sweepDeadTempDirs(dataDir: string): string[] {
  const root = tempRoot(dataDir);
  let names: string[];
  try {
    names = readdirSync(root);
  } catch {
    return [];
  }
  const removed: string[] = [];
  for (const name of names) {
    if (!/^p\d+-/.test(name) || isTokenRunning(name)) continue;
    try {
      rmSync(join(root, name), { recursive: true, force: true });
      removed.push(name);
    } catch {
      // Another starter removed it, or it is not ours to remove; the next start retries.
    }
  }
  return removed;
}

/**
 * The directory a job writes its temporary files in: the one it was given, else this process's
 * directory under BANTAY_DATA_DIR (default ./var) so nothing falls back to the system temp dir.
 */
export function jobTempBase(deps: { tempDir?: string }): string {
  if (deps.tempDir !== undefined) {
    mkdirSync(deps.tempDir, { recursive: true, mode: 0o700 });
    return deps.tempDir;
  }
  return processTempDir(process.env.BANTAY_DATA_DIR ?? 'var');
}

/** pg_restore's temporary dumps (`prefix`...) of Bantay processes that died without cleaning up. */
export function removeOrphanRestoreDumps(dir: string, prefix = 'bantay-restore-'): string[] {
  const removed: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return removed;
  }
  for (const name of names) {
    // "<prefix><process token>_<hex>.dump"; older versions wrote "<prefix><pid>-<hex>.dump".
    const token = new RegExp(`^${prefix}(p[0-9a-zA-Z-]+)_[0-9a-f]+\\.dump$`).exec(name)?.[1];
    const pid = Number(new RegExp(`^${prefix}(\\d+)-[0-9a-f]+\\.dump$`).exec(name)?.[1]);
    if (token !== undefined ? isTokenRunning(token) : !Number.isInteger(pid) || (pid !== process.pid && isPidAlive(pid))) continue;
    try {
      unlinkSync(join(dir, name));
      removed.push(name);
    } catch {
      // Someone else removed it.
    }
  }
  return removed;
}
