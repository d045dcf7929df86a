import { spawn, type ChildProcess } from 'node:child_process';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { describeManifest } from '../../src/cli/commands/backup-files.ts';
import { runUploadsBackup } from '../../src/jobs/files/backup-files.ts';
import { noise, writeFiles } from '../support/file-trees.ts';
import { cliTrigger, makeDeps } from '../support/job-deps.ts';

/**
 * An upload that keeps changing while it is read (a file being rewritten by FBMS at that very
 * moment). chmod 000 cannot make a file unreadable here, because the tests run as root and root
 * reads it anyway; a file rewritten without pause is the failure we can produce for real: it is
 * retried once, then skipped and reported, and the rest of the backup succeeds.
 */
let writer: ChildProcess | undefined;
afterEach(() => {
  writer?.kill('SIGKILL');
  writer = undefined;
});

/** Starts the writer and waits until it is appending. */
async function startAppending(path: string): Promise<ChildProcess> {
  const before = statSync(path).size;
  const child = keepAppending(path);
  while (statSync(path).size === before) await new Promise((r) => setTimeout(r, 10));
  return child;
}

/** Appends one byte at a time without pause, so any read window sees the size move. */
function keepAppending(path: string): ChildProcess {
  const script = `const fs=require('fs');const fd=fs.openSync(${JSON.stringify(path)},'a');for(;;){fs.writeSync(fd,'x');}`;
  return spawn(process.execPath, ['-e', script], { stdio: 'ignore', env: { PATH: process.env.PATH ?? '' } });
}

describe('uploads: a file that keeps changing while read', () => {
  it('is retried once, then skipped: listed in the manifest and the result, the backup succeeds', async () => {
    const { deps, close, dir } = await makeDeps();
    try {
      const uploads = join(dir, 'uploads');
      writeFiles(uploads, { 'receipts/r1.jpg': noise(20_000, 'r1'), 'live/ledger.csv': 'x,y\n'.repeat(150_000) });
      writer = await startAppending(join(uploads, 'live/ledger.csv'));
      const warnings: string[] = [];
      const m = await runUploadsBackup({ uploadsDir: uploads, chainDays: 7, trigger: cliTrigger }, deps, { warn: (w) => warnings.push(w) });
      expect(m.files?.skipped).toEqual([{ path: 'live/ledger.csv', reason: expect.stringMatching(/changed while it was being read/) }]);
      expect(m.files?.storedFiles).toBe(1);
      expect(warnings.some((w) => /^Skipped live\/ledger\.csv: it changed while it was being read .*BANTAY_UPLOADS_STRICT=1/.test(w))).toBe(true);
      expect(describeManifest(m)).toMatch(/SKIPPED 1 file\(s\) that could not be read consistently \(not in this backup\):\n {2}live\/ledger\.csv: changed while/);
    } finally {
      await close();
    }
  });

  it('BANTAY_UPLOADS_STRICT=1 keeps the old behaviour: nothing is skipped', async () => {
    const { deps, close, dir } = await makeDeps();
    try {
      const uploads = join(dir, 'uploads');
      writeFiles(uploads, { 'live/ledger.csv': 'x,y\n'.repeat(150_000) });
      // Strict is the behaviour before skipping existed: the file is stored as it was read, nothing skipped.
      writer = await startAppending(join(uploads, 'live/ledger.csv'));
      const m = await runUploadsBackup({ uploadsDir: uploads, chainDays: 7, trigger: cliTrigger, strict: true }, deps);
      expect(m.files?.skipped).toBeUndefined();
      expect(m.files?.storedFiles).toBe(1);
    } finally {
      await close();
    }
  });
});
