import type { FileRecord, IndexRecord, TreeState } from '../../catalog/file-index.ts';
import { applyRecords } from '../../catalog/file-index.ts';
import type { Manifest } from '../../catalog/manifest.ts';
import { BantayError, ErrorCode, isAbortError } from '../../errors.ts';
import type { JobDeps } from '../job-context.ts';
import { silentReporter, type ProgressReporter } from '../progress.ts';
import { loadChain } from './chain.ts';
import { scanArchive } from './archive-scan.ts';
import { readIndex } from './index-store.ts';
import { planRestore } from './restore-plan.ts';

/** `status` mirrors `passed` so these fit the recovery checks (catalog/verification.ts) as they are. */
export interface FilesCheck {
  name: string;
  passed: boolean;
  status: 'passed' | 'failed';
  detail: string;
}

export function filesCheck(name: string, passed: boolean, detail: string): FilesCheck {
  return { name, passed, status: passed ? 'passed' : 'failed', detail };
}

/** Same shape as the database verification, so verify/drill reports can list both. */
export interface FilesVerification {
  passed: boolean;
  checks: FilesCheck[];
  durationSeconds: number;
}

const MAX_LISTED_PROBLEMS = 5;

/**
 * Verifies a files backup without writing anything: for an uploads backup, its whole chain.
 * Every member's index must read back (digest, decryption, schema); every archive must stream
 * through with only safe entries, each stored file hashing to its index record, none missing or
 * unexpected; and the composed tree must plan as a safe restore. Damage is reported as failed
 * checks naming the backup and file, not thrown; only cancellation throws.
 */
export async function verifyFilesBackup(
  manifest: Manifest,
  deps: JobDeps,
  reporter: ProgressReporter = silentReporter,
  options: { signal?: AbortSignal } = {},
): Promise<FilesVerification> {
  const started = Date.now();
  const checks: FilesCheck[] = [];
  const finish = (): FilesVerification => ({ passed: checks.length > 0 && checks.every((c) => c.passed), checks, durationSeconds: (Date.now() - started) / 1000 });
  if (manifest.files === undefined) {
    checks.push(filesCheck('file index', false, `${manifest.id} has no file index: not a files backup`));
    return finish();
  }
  const chain = await guard(checks, 'chain', async () => {
    const members = await loadChain(manifest, deps);
    return { value: members, detail: members.length === 1 ? `${manifest.id} stands alone` : `${members.length} backups: ${members.map((m) => m.id).join(' -> ')}` };
  });
  if (chain === undefined) return finish();
  const state: TreeState | undefined = new Map();
  let complete = true;
  for (const member of chain) {
    reporter.phase?.('verifying', member.id);
    const records = await guard(checks, `index of ${member.id}`, async () => {
      const value = await readIndex(member, deps, options.signal);
      return { value, detail: `${value.length} records` };
    });
    if (records === undefined) {
      complete = false;
      continue;
    }
    applyRecords(state, records);
    await guard(checks, `archive of ${member.id}`, () => verifyArchive(member, records, deps, reporter, options.signal));
  }
  if (complete) {
    await guard(checks, 'restorable tree', async () => {
      const plan = planRestore(state, chain.map((m) => m.id), `the tree of ${manifest.id}`);
      return { value: plan, detail: `${plan.files} files, ${plan.bytes} bytes, ${plan.dirs.length} directories, ${plan.symlinks.length} symlinks` };
    });
  }
  return finish();
}

/** Runs one check; a BantayError becomes a failed check, anything else (and aborts) propagates. */
async function guard<T>(checks: FilesCheck[], name: string, fn: () => Promise<{ value: T; detail: string }>): Promise<T | undefined> {
  try {
    const { value, detail } = await fn();
    checks.push(filesCheck(name, true, detail));
    return value;
  } catch (err) {
    if (isAbortError(err) || !(err instanceof BantayError)) throw err;
    checks.push(filesCheck(name, false, err.message));
    return undefined;
  }
}

async function verifyArchive(
  member: Manifest,
  records: readonly IndexRecord[],
  deps: JobDeps,
  reporter: ProgressReporter,
  signal: AbortSignal | undefined,
): Promise<{ value: number; detail: string }> {
  const where = `the archive of ${member.id}`;
  const expected = new Map<string, FileRecord>();
  for (const r of records) if (r.type === 'file' && r.in === member.id) expected.set(r.path, r);
  const problems: string[] = [];
  const skippedHere = new Set((member.files?.skipped ?? []).map((f) => f.path));
  let result = { files: 0, bytes: 0 };
  try {
    result = await scanArchive(member, deps, {
      where,
      wanted: expected,
      signal,
      onStoredBytes: (b) => reporter.bytes?.(b, member.artifact.sizeBytes),
      // A large file that changed while it streamed into the archive left its member there, unused and listed as skipped.
      onUnwanted: (path) => void (skippedHere.has(path) || problems.push(`${JSON.stringify(path)} is in the archive but not in the index`)),
      onMismatch: (message) => problems.push(message),
    });
    for (const path of expected.keys()) problems.push(`${JSON.stringify(path)} is missing from the archive`);
  } catch (err) {
    // Unreadable from here on (digest, decryption, unsafe or damaged entry): report it with what was found before.
    if (isAbortError(err) || !(err instanceof BantayError)) throw err;
    problems.unshift(err.message);
  }
  if (problems.length > 0) {
    const listed = problems.slice(0, MAX_LISTED_PROBLEMS).join('; ');
    throw new BantayError(ErrorCode.Integrity, `${problems.length} problem(s) in ${where}: ${listed}${problems.length > MAX_LISTED_PROBLEMS ? '; …' : ''}`);
  }
  return { value: result.files, detail: `${result.files} files (${result.bytes} bytes) match their SHA-256` };
}
