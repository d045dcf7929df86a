import { constants } from 'node:fs';
import { lutimes, mkdir, open, rm, symlink, chmod, utimes, type FileHandle } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import type { FileRecord, TreeState } from '../../catalog/file-index.ts';
import type { Manifest } from '../../catalog/manifest.ts';
import { BantayError, ErrorCode, wrapError } from '../../errors.ts';
import type { JobDeps } from '../job-context.ts';
import type { ProgressReporter } from '../progress.ts';
import { loadChain, loadTreeState } from './chain.ts';
import { ContentCheck, contentMismatch, entryContent } from './entry-content.ts';
import { planRestore, type RestorePlan } from './restore-plan.ts';
import { openSealed } from './sealed-object.ts';
import { readTarEntries } from './tar-reader.ts';

export interface TreeRestoreResult {
  dir: string;
  files: number;
  bytes: number;
  /** Ids of the archives read, full backup first. */
  archivesRead: string[];
  /** The tree that was restored, as the indexes describe it. */
  state: TreeState;
}

const WRITE_FLAGS = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/**
 * Restores the tree of a files backup (for uploads: the tree at that point of its chain) into
 * `dir`, which must not exist yet; its parent must. Plan first (restore-plan.ts), then
 * directories, then each archive streamed once writing only the wanted files (O_EXCL|O_NOFOLLOW,
 * content checked against the index), then symlinks, then modes and mtimes, directories last
 * and deepest first. On any failure `dir` is removed, so nothing half-restored stays behind.
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
    let written = 0;
    for (const member of chain) {
      const wanted = plan.filesByArchive.get(member.id);
      if (wanted === undefined || wanted.size === 0) continue;
      reporter.phase?.('extracting', `${wanted.size} files from ${member.id}`);
      await extractArchive(member, wanted, target, deps, signal, (bytes) => reporter.bytes?.((written += bytes), plan.bytes));
      archivesRead.push(member.id);
    }
    reporter.phase?.('finishing', 'symlinks, modes and modification times');
    await applyLinksAndMetadata(plan, target);
    return { dir: target, files: plan.files, bytes: plan.bytes, archivesRead, state };
  } catch (err) {
    await rm(target, { recursive: true, force: true }).catch(() => undefined);
    throw err;
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

/** Streams one archive to its end (so its digests are checked), writing the wanted files. */
async function extractArchive(
  member: Manifest,
  wanted: Map<string, FileRecord>,
  target: string,
  deps: JobDeps,
  signal: AbortSignal | undefined,
  onBytes: (bytes: number) => void,
): Promise<void> {
  const where = `the archive of ${member.id}`;
  const plain = await openSealed(archiveRef(member), deps, { signal });
  const pending = new Map(wanted);
  for await (const entry of readTarEntries(plain, where)) {
    const record = entry.type === 'file' ? pending.get(entry.path) : undefined;
    if (record === undefined) continue;
    pending.delete(entry.path);
    const handle = await open(join(target, ...record.path.split('/')), WRITE_FLAGS, 0o600);
    try {
      const check = new ContentCheck();
      for await (const chunk of entryContent(entry, record.size, where)) {
        check.update(chunk);
        await writeAll(handle, chunk);
        onBytes(chunk.length);
      }
      const mismatch = check.mismatch(record);
      if (mismatch !== undefined) throw contentMismatch(where, record.path, mismatch);
      await handle.chmod(record.mode);
      await handle.utimes(utimesSeconds(record.mtimeUs), utimesSeconds(record.mtimeUs));
    } finally {
      await handle.close();
    }
  }
  if (pending.size > 0) {
    const [first] = pending.keys();
    throw new BantayError(ErrorCode.Integrity, `${where} lacks ${pending.size} file(s) its index promises, e.g. ${JSON.stringify(first)}`);
  }
}

/** The archive of a files backup as openSealed wants it. */
export function archiveRef(m: Manifest) {
  return {
    key: m.artifact.key,
    sizeBytes: m.artifact.sizeBytes,
    sha256: m.artifact.sha256,
    plain: { sizeBytes: m.artifact.plainSizeBytes, sha256: m.artifact.plainSha256 },
    keyId: m.artifact.encryption?.keyId ?? null,
    describe: `the archive of ${m.id}`,
  };
}

/**
 * Seconds for utimes(2) that land on exactly `us` microseconds: Node passes a double, which
 * libuv truncates to microseconds; half a microsecond of margin absorbs the double's rounding.
 */
export function utimesSeconds(us: number): number {
  return (us + 0.5) / 1e6;
}

async function writeAll(handle: FileHandle, chunk: Buffer): Promise<void> {
  let offset = 0;
  while (offset < chunk.length) offset += (await handle.write(chunk, offset, chunk.length - offset)).bytesWritten;
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
