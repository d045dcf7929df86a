import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { BantayError, ErrorCode } from '../errors.ts';

export interface DirLock {
  release(): void;
}

/**
 * An exclusive lock file holding the owner's pid. A lock whose owner process is gone is stale
 * and taken over. Waits up to `waitMs` for a live owner (a CLI run next to the bot), then fails
 * with a message that says what to do.
 */
export async function acquireDirLock(path: string, waitMs = 15_000): Promise<DirLock> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        try {
          if (readFileSync(path, 'utf8') === String(process.pid)) unlinkSync(path);
        } catch {
          // Already gone.
        }
      };
      process.once('exit', release);
      return { release };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = readOwner(path);
    if (owner === undefined || !isProcessAlive(owner)) {
      try {
        unlinkSync(path);
      } catch {
        // Someone else removed it first; retry.
      }
      continue;
    }
    if (Date.now() > deadline) {
      throw new BantayError(
        ErrorCode.Database,
        `The embedded state database is in use by another Bantay process (pid ${owner}). ` +
          'Wait for it to finish, or set BANTAY_STATE_URL to a PostgreSQL database so several processes can share state.',
      );
    }
    await sleep(200);
  }
}

function readOwner(path: string): number | undefined {
  try {
    const pid = Number(readFileSync(path, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/** True while a process with this pid exists (EPERM: it exists but is not ours). */
export function isProcessAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
