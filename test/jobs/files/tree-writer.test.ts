import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { keepFlushing, syncTree } from '../../../src/jobs/files/tree-writer.ts';
import { tempDir } from '../../support/job-deps.ts';

const work = tempDir('bantay-sync-');
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('syncTree', () => {
  mkdirSync(join(work, 'd'));
  writeFileSync(join(work, 'd', 'a.txt'), 'a');
  const files = [join(work, 'd', 'a.txt'), join(work, 'd', 'gone.txt')];

  it('syncs the whole filesystem at once with `sync -f` (no per-file pass) where it exists', async () => {
    await expect(syncTree(work, files, [join(work, 'd'), work])).resolves.toBeUndefined();
  });

  it('falls back to fsyncing every file and directory when `sync` cannot run', async () => {
    const path = process.env.PATH;
    process.env.PATH = join(work, 'no-such-bin');
    try {
      await expect(syncTree(work, files, [join(work, 'd'), work])).rejects.toMatchObject({ code: 'ENOENT' });
      await expect(syncTree(work, files.slice(0, 1), [join(work, 'd'), work])).resolves.toBeUndefined();
    } finally {
      process.env.PATH = path;
    }
  });
});

describe('keepFlushing', () => {
  it('flushes until stopped and stops by itself where `sync -f` cannot run', async () => {
    const flushing = keepFlushing(work);
    await new Promise((r) => setTimeout(r, 250));
    const stopping = Date.now();
    await flushing.stop();
    expect(Date.now() - stopping).toBeLessThan(5000);
    const path = process.env.PATH;
    process.env.PATH = join(work, 'no-such-bin');
    try {
      const never = keepFlushing(work);
      await expect(never.stop()).resolves.toBeUndefined();
    } finally {
      process.env.PATH = path;
    }
  });
});
