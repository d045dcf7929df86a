import { closeSync, linkSync, openSync, readFileSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { BantayError, ErrorCode } from '../errors.ts';
import { currentProcess, isPidAlive, isProcessRunning, type ProcessIdentity } from './process-identity.ts';

export interface DirLock {
  release(): void;
}

/**
 * An exclusive lock file naming its owner: pid, process start time and boot id (see
 * process-identity.ts). A lock whose owner is gone is stale and taken over, also when its pid
 * now belongs to another process (a container restarts with the same pid every time). Waits up
 * to `waitMs` for a live owner (a CLI run next to the bot), then fails with a message that
 * says what to do.
 *
 * The file is written whole before it appears: the owner record goes to a private temp file
 * that is hard-linked to the lock name (link fails if the name exists), so nobody ever reads
 * an empty or half-written lock. A stale lock is taken over by renaming it aside first and
 * checking that what was renamed is still the stale record, so two starters cannot both win.
 */
export async function acquireDirLock(path: string, waitMs = 15_000): Promise<DirLock> {
  const deadline = Date.now() + waitMs;
  const me = currentProcess();
  const record = JSON.stringify({ pid: me.pid, startTime: me.startTime, bootId: me.bootId, host: me.host });
  for (;;) {
    if (tryCreate(path, record)) return holdLock(path, record);
    const seen = readLockFile(path);
    if (seen === undefined) continue; // released between our attempt and the read
    const owner = parseOwner(seen);
    if (owner === undefined || !isOwnerRunning(owner)) {
      takeOverStale(path, seen);
      continue;
    }
    if (Date.now() > deadline) {
      throw new BantayError(
        ErrorCode.Database,
        `The embedded state database is in use by another Bantay process (pid ${owner.pid}${owner.host ? ` on ${owner.host}` : ''}). ` +
          'Wait for it to finish, or set BANTAY_STATE_URL to a PostgreSQL database so several processes can share state.',
      );
    }
    await sleep(200);
  }
}

function tryCreate(path: string, record: string): boolean {
  const temp = `${path}.${process.pid}-${randomBytes(4).toString('hex')}`;
  const fd = openSync(temp, 'wx', 0o600);
  try {
    writeSync(fd, record);
  } finally {
    closeSync(fd);
  }
  try {
    linkSync(temp, path);
    return true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    return false;
  } finally {
    unlinkSync(temp);
  }
}

function holdLock(path: string, record: string): DirLock {
  let released = false;
  const release = () => {
    if (released) return;
    released = true;
    process.off('exit', release);
    try {
      if (readFileSync(path, 'utf8') === record) unlinkSync(path);
    } catch {
      // Already gone.
    }
  };
  process.once('exit', release);
  return { release };
}

/** Renames the stale lock aside; puts it back if it turned out to be someone's fresh lock. */
function takeOverStale(path: string, staleRecord: string): void {
  const aside = `${path}.stale-${process.pid}-${randomBytes(4).toString('hex')}`;
  try {
    renameSync(path, aside);
  } catch {
    return; // someone else moved it first; retry from the top
  }
  const moved = readLockFile(aside);
  if (moved !== undefined && moved !== staleRecord) {
    // Another starter replaced the stale lock between our read and our rename: give it back.
    try {
      linkSync(aside, path);
    } catch {
      // The name is taken again; that owner's lock stands and ours will be retried.
    }
  }
  try {
    unlinkSync(aside);
  } catch {
    // Already gone.
  }
}

function readLockFile(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}

type LockOwner = Pick<ProcessIdentity, 'pid' | 'startTime' | 'bootId'> & { host?: string; legacy?: boolean };

/** The owner record; an older Bantay wrote the bare pid. Garbage (undefined) counts as stale. */
function parseOwner(text: string): LockOwner | undefined {
  const trimmed = text.trim();
  if (/^\d+$/.test(trimmed)) return { pid: Number(trimmed), legacy: true };
  try {
    const o = JSON.parse(trimmed) as Record<string, unknown>;
    if (!Number.isInteger(o.pid) || (o.pid as number) <= 0) return undefined;
    return {
      pid: o.pid as number,
      startTime: typeof o.startTime === 'string' ? o.startTime : undefined,
      bootId: typeof o.bootId === 'string' ? o.bootId : undefined,
      host: typeof o.host === 'string' ? o.host : undefined,
    };
  } catch {
    return undefined;
  }
}

function isOwnerRunning(owner: LockOwner): boolean {
  // A bare-pid lock naming our own pid was written by an earlier incarnation of this pid (this
  // version never writes bare pids): the container-restart case.
  if (owner.legacy) return owner.pid !== process.pid && isPidAlive(owner.pid);
  return isProcessRunning(owner);
}

/** True while a process with this pid exists (EPERM: it exists but is not ours). */
export function isProcessAlive(pid: number): boolean {
  return isPidAlive(pid);
}
