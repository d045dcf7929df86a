import { chmodSync, mkdirSync, rmSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runUploadsBackup } from '../../../src/jobs/files/backup-files.ts';
import { restoreFilesBackup } from '../../../src/jobs/files/restore-files.ts';
import { verifyFilesBackup } from '../../../src/jobs/files/verify-files.ts';
import type { JobDeps } from '../../../src/jobs/job-context.ts';
import { noise, snapshotTree, writeFiles } from '../../support/file-trees.ts';
import { cliTrigger, makeDeps, tempDir } from '../../support/job-deps.ts';

/**
 * Many small files go through the background writers (archive-scan.ts, tree-writer.ts): each
 * must come back with its exact content, its mode even where the umask would strip bits (files
 * are created with their final mode), and its µs mtime; large ones stream beside them.
 */
let deps: JobDeps;
let close: () => Promise<void>;
let work: string;

beforeAll(async () => {
  ({ deps, close } = await makeDeps());
  work = tempDir('bantay-restore-meta-');
});

afterAll(async () => {
  rmSync(work, { recursive: true, force: true });
  await close();
});

describe('restoring many files at once', () => {
  it('restores every file with content, mode (umask or not) and µs mtime, and verify agrees', async () => {
    const tree = join(work, 'uploads');
    const files: Record<string, string | Buffer> = {};
    for (let i = 0; i < 120; i += 1) files[`d${i % 5}/f${i}.${i % 3 === 0 ? 'txt' : 'jpg'}`] = i % 3 === 0 ? `row ${i}\n`.repeat(50 + i) : noise(1000 + 97 * i, `f${i}`);
    files['big/stream.jpg'] = noise(3 * 1024 * 1024, 'big');
    files['big/stream.csv'] = 'a,b,c\n'.repeat(500_000);
    writeFiles(tree, files);
    const modes = [0o666, 0o400, 0o640, 0o755, 0o600, 0o777, 0o444];
    Object.keys(files).forEach((rel, i) => {
      chmodSync(join(tree, rel), modes[i % modes.length]!);
      utimesSync(join(tree, rel), 1_700_000_000.123456 + i, 1_700_000_000.654321 + i);
    });
    mkdirSync(join(tree, 'private'), { mode: 0o700 });
    chmodSync(join(tree, 'd1'), 0o750);
    const manifest = await runUploadsBackup({ uploadsDir: tree, chainDays: 7, full: true, trigger: cliTrigger }, deps);
    const target = join(work, 'restored');
    const result = await restoreFilesBackup({ manifest, target: { type: 'directory', dir: target }, trigger: cliTrigger }, deps);
    expect(result.files).toBe(122);
    expect(snapshotTree(target)).toEqual(snapshotTree(tree));
    expect((await verifyFilesBackup(manifest, deps)).passed).toBe(true);
  });
});
