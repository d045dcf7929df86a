import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { describeManifest } from '../../src/cli/commands/backup-files.ts';
import { runUploadsBackup } from '../../src/jobs/files/backup-files.ts';
import { noise, writeFiles } from '../support/file-trees.ts';
import { cliTrigger, makeDeps } from '../support/job-deps.ts';

/**
 * An upload that changes while it is read (a file being rewritten by FBMS at that very moment).
 * chmod 000 cannot make a file unreadable here, because the tests run as root and root reads it
 * anyway. A concurrent writer process made this test depend on the scheduler (on a loaded 2-core
 * machine the writer may not run inside a 1 ms read window), so the change is made at the worst
 * moment instead: the real read returns, then another writer appends to the real file before
 * Bantay's consistency check, every time that file is read. The detection code is Bantay's own.
 */
const appendAfterRead = vi.hoisted(() => ({ path: undefined as string | undefined, reads: 0 }));
vi.mock('../../src/jobs/files/file-content.ts', async (importOriginal) => {
  const real = await importOriginal<typeof import('../../src/jobs/files/file-content.ts')>();
  const { appendFileSync, fstatSync, statSync } = await import('node:fs');
  return {
    ...real,
    readUpTo: async (handle: import('node:fs/promises').FileHandle, size: number) => {
      const data = await real.readUpTo(handle, size);
      const target = appendAfterRead.path;
      if (target !== undefined && fstatSync(handle.fd).ino === statSync(target).ino) {
        appendAfterRead.reads += 1;
        appendFileSync(target, 'x');
      }
      return data;
    },
  };
});
afterEach(() => {
  appendAfterRead.path = undefined;
  appendAfterRead.reads = 0;
});

describe('uploads: a file that keeps changing while read', () => {
  it('is retried once, then skipped: listed in the manifest and the result, the backup succeeds', async () => {
    const { deps, close, dir } = await makeDeps();
    try {
      const uploads = join(dir, 'uploads');
      writeFiles(uploads, { 'receipts/r1.jpg': noise(20_000, 'r1'), 'live/ledger.csv': 'x,y\n'.repeat(150_000) });
      appendAfterRead.path = join(uploads, 'live/ledger.csv');
      const warnings: string[] = [];
      const m = await runUploadsBackup({ uploadsDir: uploads, chainDays: 7, trigger: cliTrigger }, deps, { warn: (w) => warnings.push(w) });
      expect(m.files?.skipped).toEqual([{ path: 'live/ledger.csv', reason: expect.stringMatching(/changed while it was being read/) }]);
      expect(appendAfterRead.reads).toBe(2);
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
      appendAfterRead.path = join(uploads, 'live/ledger.csv');
      const m = await runUploadsBackup({ uploadsDir: uploads, chainDays: 7, trigger: cliTrigger, strict: true }, deps);
      expect(m.files?.skipped).toBeUndefined();
      expect(appendAfterRead.reads).toBe(1);
      expect(m.files?.storedFiles).toBe(1);
    } finally {
      await close();
    }
  });
});
