import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireDirLock } from '../../src/state/dir-lock.ts';
import { currentProcess, processStartTime } from '../../src/state/process-identity.ts';
import { openStateDb } from '../../src/state/state-db.ts';

function lockPath(): { dir: string; path: string } {
  const dir = mkdtempSync(join(tmpdir(), 'bantay-lock-'));
  return { dir, path: join(dir, 'state.lock') };
}

describe('state lock', () => {
  it('container restart: a lock naming our own pid but an earlier start time is taken over', async () => {
    const { dir, path } = lockPath();
    const me = currentProcess();
    expect(me.startTime).toBeDefined();
    // What a kill -9 leaves behind in a container: same pid (1 there, ours here), older process.
    writeFileSync(path, JSON.stringify({ pid: me.pid, startTime: String(Number(me.startTime) - 1000), bootId: me.bootId, host: me.host }));
    const db = await openStateDb({ url: undefined, dataDir: dir });
    expect(JSON.parse(readFileSync(path, 'utf8'))).toMatchObject({ pid: me.pid, startTime: me.startTime });
    await db.close();
  });

  it('a lock from another boot of the machine is stale even when its pid is alive', async () => {
    const { path } = lockPath();
    const me = currentProcess();
    writeFileSync(path, JSON.stringify({ pid: me.pid, startTime: me.startTime, bootId: 'another-boot', host: me.host }));
    const lock = await acquireDirLock(path, 300);
    lock.release();
  });

  it('a bare-pid lock of an older Bantay naming our pid is stale; garbage is stale', async () => {
    const { path } = lockPath();
    writeFileSync(path, String(process.pid));
    (await acquireDirLock(path, 300)).release();
    writeFileSync(path, '');
    (await acquireDirLock(path, 300)).release();
  });

  it('two live processes still exclude each other', async () => {
    const { path } = lockPath();
    const child = spawn('sleep', ['30'], { stdio: 'ignore' });
    try {
      await new Promise((resolve) => child.once('spawn', resolve));
      const startTime = processStartTime(child.pid!);
      expect(startTime).toBeDefined();
      writeFileSync(path, JSON.stringify({ pid: child.pid, startTime, bootId: currentProcess().bootId, host: 'other' }));
      await expect(acquireDirLock(path, 300)).rejects.toThrow(new RegExp(`in use by another Bantay process \\(pid ${child.pid} on other\\)`));
    } finally {
      child.kill('SIGKILL');
    }
    await new Promise((resolve) => child.once('exit', resolve));
    // Once it is gone the lock is taken over.
    (await acquireDirLock(path, 300)).release();
  });

  it('concurrent acquirers in one process: exactly one holds the lock at a time', async () => {
    const { path } = lockPath();
    const first = await acquireDirLock(path, 300);
    await expect(acquireDirLock(path, 300)).rejects.toThrow(/in use/);
    first.release();
    (await acquireDirLock(path, 300)).release();
  });
});
