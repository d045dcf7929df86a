import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { recoveryRunsDir, sweepDeadRecoveryRuns } from '../../../src/jobs/pitr/recovery-leftovers.ts';
import { currentProcess, processToken } from '../../../src/state/process-identity.ts';
import { craftArchive } from '../../support/tar-craft.ts';
import { tempDir } from '../../support/job-deps.ts';

/** Our children stay zombies until Node reaps them: gone means exited, as Node saw it (within 2 s). */
const exits = (child: ChildProcess) =>
  new Promise<boolean>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(true);
    const timer = setTimeout(() => resolve(false), 2000);
    child.once('exit', () => (clearTimeout(timer), resolve(true)));
  });

describe('sweeping the leftovers of a killed point-in-time restore', () => {
  it('stops the tar still extracting into a --to-dir target before emptying it, and leaves any other tar alone', async () => {
    const dataDir = tempDir();
    const toDir = join(tempDir(), 'recovered');
    const elsewhere = tempDir();
    mkdirSync(toDir);
    const runDir = join(recoveryRunsDir(dataDir), 'run-1');
    mkdirSync(runDir, { recursive: true });
    // The owner is a process that is gone: this one, a pid earlier, started at another time.
    const dead = processToken({ ...currentProcess(), pid: 999_999, startTime: '1' });
    writeFileSync(join(runDir, 'owner.json'), JSON.stringify({ token: dead, dataDir: toDir, toDir }));
    // Two tars whose input stays open, as the dead run's tar fed by a zstd that is still draining.
    const start = (dir: string) => {
      const tar = spawn('tar', ['-x', '-p', '--no-same-owner', '--ignore-zeros', '-f', '-', '-C', dir], { stdio: ['pipe', 'ignore', 'ignore'] });
      tar.stdin.write(craftArchive([{ path: 'PG_VERSION', data: Buffer.from('15\n') }]).subarray(0, 1024));
      return tar;
    };
    const orphan = start(toDir);
    const other = start(elsewhere);
    try {
      for (let i = 0; i < 200 && !(existsSync(join(toDir, 'PG_VERSION')) && existsSync(join(elsewhere, 'PG_VERSION'))); i += 1) await new Promise((r) => setTimeout(r, 10));
      const swept = sweepDeadRecoveryRuns(dataDir);
      expect(swept).toEqual([{ run: 'run-1', emptied: toDir }]);
      expect(readdirSync(toDir)).toEqual([]);
      expect(await exits(orphan)).toBe(true);
      expect(other.exitCode === null && other.signalCode === null).toBe(true);
    } finally {
      orphan.kill('SIGKILL');
      other.kill('SIGKILL');
    }
  });
});
