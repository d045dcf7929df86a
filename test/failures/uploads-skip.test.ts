import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { describeManifest } from '../../src/cli/commands/backup-files.ts';
import { runUploadsBackup } from '../../src/jobs/files/backup-files.ts';
import { verifyFilesBackup } from '../../src/jobs/files/verify-files.ts';
import { listBackups } from '../../src/catalog/catalog.ts';
import { noise, writeFiles } from '../support/file-trees.ts';
import { cliTrigger, makeDeps } from '../support/job-deps.ts';

/**
 * An upload that changes while it is read (a file being rewritten by FBMS at that very moment),
 * small or large (gzipped through a temp file, or streamed).
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
  /** After a read of the watched file completes, before Bantay's check: the worst moment. */
  const touched = (handle: import('node:fs/promises').FileHandle): void => {
    const target = appendAfterRead.path;
    if (target !== undefined && fstatSync(handle.fd).ino === statSync(target).ino) {
      appendAfterRead.reads += 1;
      appendFileSync(target, 'x');
    }
  };
  return {
    ...real,
    // Small files: read whole.
    readUpTo: async (handle: import('node:fs/promises').FileHandle, size: number) => {
      const data = await real.readUpTo(handle, size);
      touched(handle);
      return data;
    },
    // Large compressible files: gzipped through a temp file before anything is emitted.
    gzipToTempFile: async (handle: import('node:fs/promises').FileHandle, size: number, tempPath: string, describe: string) => {
      const out = await real.gzipToTempFile(handle, size, tempPath, describe);
      touched(handle);
      return out;
    },
    // Large incompressible files: streamed into the archive as read.
    readExactly: async function* (handle: import('node:fs/promises').FileHandle, size: number, describe: string) {
      yield* real.readExactly(handle, size, describe);
      touched(handle);
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

  it('large files too: a gzipped one is read again once, then skipped; a streamed one is skipped, its unused member tolerated by verify', async () => {
    const { deps, close, dir } = await makeDeps();
    try {
      const uploads = join(dir, 'uploads');
      writeFiles(uploads, { 'receipts/r1.jpg': noise(20_000, 'r1'), 'live/app.log': 'line\n'.repeat(1_000_000), 'live/recording.mp4': noise(5 * 1024 * 1024, 'mp4') });
      appendAfterRead.path = join(uploads, 'live/app.log');
      const log = await runUploadsBackup({ uploadsDir: uploads, chainDays: 7, full: true, trigger: cliTrigger }, deps);
      expect(log.files?.skipped).toEqual([{ path: 'live/app.log', reason: expect.stringMatching(/^changed while it was being read/) }]);
      expect(appendAfterRead.reads).toBe(2);
      appendAfterRead.path = join(uploads, 'live/recording.mp4');
      appendAfterRead.reads = 0;
      const media = await runUploadsBackup({ uploadsDir: uploads, chainDays: 7, full: true, trigger: cliTrigger }, deps);
      expect(media.files?.skipped).toEqual([{ path: 'live/recording.mp4', reason: expect.stringMatching(/^changed while it was being read .*its bytes in the archive are not used/) }]);
      expect((await verifyFilesBackup(media, deps, undefined, {})).passed).toBe(true);
    } finally {
      await close();
    }
  });

  it('BANTAY_UPLOADS_STRICT=1 fails the backup instead of storing a file that changed while read (before, it was stored torn)', async () => {
    const { deps, close, dir } = await makeDeps();
    try {
      const uploads = join(dir, 'uploads');
      writeFiles(uploads, { 'live/ledger.csv': 'x,y\n'.repeat(150_000) });
      appendAfterRead.path = join(uploads, 'live/ledger.csv');
      await expect(runUploadsBackup({ uploadsDir: uploads, chainDays: 7, trigger: cliTrigger, strict: true }, deps)).rejects.toThrow(/changed while it was being read/);
      expect(appendAfterRead.reads).toBe(1);
      expect(await listBackups(deps.store, deps)).toEqual([]);
    } finally {
      await close();
    }
  });
});
