import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { readManifest, writeManifest } from '../../../src/catalog/catalog.ts';
import type { Manifest } from '../../../src/catalog/manifest.ts';
import { runUploadsBackup } from '../../../src/jobs/files/backup-files.ts';
import { restoreFilesBackup } from '../../../src/jobs/files/restore-files.ts';
import { drillFilesBackup } from '../../../src/jobs/files/drill-files.ts';
import { verifyFilesBackup } from '../../../src/jobs/files/verify-files.ts';
import type { JobDeps } from '../../../src/jobs/job-context.ts';
import { listAudit } from '../../../src/state/audit-log.ts';
import { noise, s3TestStore, snapshotTree, writeFiles, type EntrySnapshot } from '../../support/file-trees.ts';
import { cliTrigger, makeDeps, tempDir } from '../../support/job-deps.ts';

const T0 = 1_767_225_600; // 2026-01-01T00:00:00Z, in seconds
let deps: JobDeps;
let close: () => Promise<void>;
let uploads: string;
let work: string;
const points: Array<{ manifest: Manifest; tree: Record<string, EntrySnapshot> }> = [];

async function backUp(options: { full?: boolean } = {}): Promise<Manifest> {
  const manifest = await runUploadsBackup({ uploadsDir: uploads, chainDays: 7, full: options.full, trigger: cliTrigger }, deps);
  points.push({ manifest, tree: snapshotTree(uploads) });
  return manifest;
}

beforeAll(async () => {
  ({ deps, close } = await makeDeps({ store: await s3TestStore(inject('s3Endpoint')) }));
  work = tempDir('bantay-uploads-');
  uploads = join(work, 'uploads');
  writeFiles(uploads, {
    'receipts/2026/11/r1.jpg': noise(20_000, 'r1'),
    'receipts/2026/11/r2.jpg': noise(30_000, 'r2'),
    'docs/kontrata ni Señor Cruz.pdf': noise(9_000, 'pdf'),
    'notes/today notes.txt': 'Bayad na si Aling Nena.\n'.repeat(200),
    'big/scan.csv': 'date,amount,payee\n'.repeat(200_000), // > 2 MiB, compressible: gzip via a temp file
    'big/video.mp4': noise(3 * 1024 * 1024, 'video'), // > 2 MiB, stored as is
  }, T0);
  mkdirSync(join(uploads, 'empty dir'));
  symlinkSync('receipts/2026/11/r1.jpg', join(uploads, 'latest.jpg'));
});

afterAll(async () => {
  rmSync(work, { recursive: true, force: true });
  await close();
});

describe('uploads chain (real S3 server)', () => {
  it('a full backup starts a chain and stores precompressed files as they are', async () => {
    const full = await backUp();
    expect(full.chain).toMatchObject({ chainId: full.id, parentId: null, sequence: 0, deletions: 0 });
    expect(full.files).toMatchObject({ storedFiles: 6, treeFiles: 6, compressedFiles: 2 });
    expect(full.artifact.encryption).not.toBeNull();
  });

  it('each incremental stores only what changed, and records metadata changes and deletions', async () => {
    writeFiles(uploads, { 'receipts/2026/11/r3.jpg': noise(25_000, 'r3'), 'notes/today notes.txt': 'Bayad na si Aling Nena. Salamat!\n'.repeat(200) }, T0 + 86_400);
    writeFileSync(join(uploads, 'receipts/2026/11/r2.jpg'), noise(30_000, 'r2 edited')); // same size, new content
    utimesSync(join(uploads, 'receipts/2026/11/r2.jpg'), T0 + 86_400, T0 + 86_400);
    chmodSync(join(uploads, 'docs/kontrata ni Señor Cruz.pdf'), 0o600); // mode only
    utimesSync(join(uploads, 'receipts/2026/11/r1.jpg'), T0 + 3600, T0 + 3600); // mtime only
    unlinkSync(join(uploads, 'big/video.mp4'));
    const one = await backUp();
    expect(one.chain).toMatchObject({ chainId: points[0]!.manifest.id, parentId: points[0]!.manifest.id, sequence: 1, deletions: 1 });
    expect(one.files).toMatchObject({ storedFiles: 3, treeFiles: 6 });
    expect(one.artifact.plainSizeBytes).toBeLessThan(120_000);

    mkdirSync(join(uploads, 'receipts/2026/12'));
    renameSync(join(uploads, 'receipts/2026/11/r3.jpg'), join(uploads, 'receipts/2026/12/r3.jpg'));
    rmSync(join(uploads, 'empty dir'), { recursive: true });
    unlinkSync(join(uploads, 'latest.jpg'));
    symlinkSync('receipts/2026/12/r3.jpg', join(uploads, 'latest.jpg'));
    chmodSync(join(uploads, 'docs'), 0o750);
    writeFileSync(join(uploads, 'big/scan.csv'), 'date,amount,payer\n'.repeat(200_000)); // large, same size, changed
    const two = await backUp();
    expect(two.chain).toMatchObject({ sequence: 2, deletions: 2 });
    expect(two.files).toMatchObject({ storedFiles: 2 }); // the renamed receipt and the edited scan

    const three = await backUp(); // nothing changed
    expect(three.files).toMatchObject({ storedFiles: 0, treeFiles: 6 });
    expect(three.files!.count).toBeLessThanOrEqual(2);

    rmSync(join(uploads, 'notes/today notes.txt'));
    writeFiles(uploads, { 'notes/today notes.txt/inside.txt': 'now a directory', 'receipts/2026/11/r1.jpg.note': 'x' });
    unlinkSync(join(uploads, 'receipts/2026/11/r2.jpg'));
    symlinkSync('r1.jpg', join(uploads, 'receipts/2026/11/r2.jpg')); // a file replaced by a symlink
    const four = await backUp();
    expect(four.chain).toMatchObject({ sequence: 4 });
  });

  it('restores the exact tree (content, modes, mtimes, links) at every point of the chain', async () => {
    for (const [i, point] of points.entries()) {
      const target = join(work, `restore-${i}`);
      const result = await restoreFilesBackup({ manifest: point.manifest, target: { type: 'directory', dir: target }, trigger: cliTrigger }, deps);
      expect(result.restoredTo).toBe(target);
      expect(snapshotTree(target)).toEqual(point.tree);
    }
    const restores = (await listAudit(deps.state, { limit: 100 })).filter((a) => a.operationType === 'restore');
    expect(restores.every((a) => a.status === 'succeeded')).toBe(true);
    expect(restores).toHaveLength(points.length);
  });

  it('verify checks the whole chain; a drill restores and compares', async () => {
    const last = points.at(-1)!.manifest;
    const verification = await verifyFilesBackup(last, deps);
    expect(verification.passed).toBe(true);
    expect(verification.checks.map((c) => c.name)).toEqual([
      'chain',
      ...points.flatMap((p) => [`index of ${p.manifest.id}`, `archive of ${p.manifest.id}`]),
      'restorable tree',
    ]);
    const drill = await drillFilesBackup(last, deps);
    expect(drill).toMatchObject({ passed: true });
  });

  it('--full starts a new chain; so does a chain older than BANTAY_UPLOADS_CHAIN_DAYS', async () => {
    const fresh = await runUploadsBackup({ uploadsDir: uploads, chainDays: 7, full: true, trigger: cliTrigger }, deps);
    expect(fresh.chain).toMatchObject({ chainId: fresh.id, parentId: null, sequence: 0 });
    const later = { ...deps, now: () => new Date(Date.now() + 8 * 86_400_000) };
    const weekLater = await runUploadsBackup({ uploadsDir: uploads, chainDays: 7, trigger: cliTrigger }, later);
    expect(weekLater.chain?.parentId).toBeNull();
    const next = await runUploadsBackup({ uploadsDir: uploads, chainDays: 7, trigger: cliTrigger }, later);
    expect(next.chain).toMatchObject({ chainId: weekLater.id, parentId: weekLater.id, sequence: 1 });
  });
});

describe('verify detects damage in one member of a chain', () => {
  let d: JobDeps;
  let dir: string;
  let done: () => Promise<void>;
  beforeAll(async () => {
    ({ deps: d, dir, close: done } = await makeDeps({ key: null }));
  });
  afterAll(() => done());

  /** A two-backup chain; returns the second (incremental) backup and its stored archive bytes. */
  async function twoBackups(name: string, added: Buffer): Promise<{ second: Manifest; path: string; bytes: Buffer }> {
    const tree = join(dir, name);
    writeFiles(tree, { 'ok.jpg': noise(10_000, `${name} ok`) }, T0);
    await runUploadsBackup({ uploadsDir: tree, chainDays: 7, full: true, trigger: cliTrigger }, d);
    writeFiles(tree, { 'resibo ni Ana.jpg': added }, T0 + 60);
    const second = await runUploadsBackup({ uploadsDir: tree, chainDays: 7, trigger: cliTrigger }, d);
    expect(second.chain?.sequence).toBe(1);
    const path = join(dir, 'store', second.artifact.key);
    return { second, path, bytes: readFileSync(path) };
  }

  it('a flipped byte in a stored archive fails that member, naming it, and its restore', async () => {
    const { second, path, bytes } = await twoBackups('flip', noise(10_000, 'flip'));
    bytes[bytes.length >> 1] = bytes[bytes.length >> 1]! ^ 0x01;
    writeFileSync(path, bytes);
    const result = await verifyFilesBackup(second, d);
    expect(result.passed).toBe(false);
    expect(result.checks.filter((c) => !c.passed).map((c) => c.name)).toEqual([`archive of ${second.id}`]);
    const detail = result.checks.find((c) => !c.passed)?.detail;
    expect(detail).toMatch(/does not match its manifest/);
    expect(detail).toMatch(/"resibo ni Ana\.jpg": SHA-256 .* the index says/);
    const target = join(dir, 'r');
    await expect(restoreFilesBackup({ manifest: second, target: { type: 'directory', dir: target }, trigger: cliTrigger }, d)).rejects.toThrow(/does not match/);
    expect(existsSync(target)).toBe(false);
  });

  it('a changed byte inside one file is caught by its SHA-256 even when the archive digests were rewritten to match', async () => {
    const victim = noise(10_000, 'victim');
    const { second, path, bytes } = await twoBackups('rewrite', victim);
    const at = bytes.indexOf(victim.subarray(0, 64)) + 5000;
    bytes[at] = bytes[at]! ^ 0x01;
    writeFileSync(path, bytes);
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    await writeManifest(d.store, { ...second, artifact: { ...second.artifact, sha256, plainSha256: sha256 } }, d);
    const result = await verifyFilesBackup(await readManifest(d.store, d, second.id), d);
    expect(result.passed).toBe(false);
    const failed = result.checks.filter((c) => !c.passed);
    expect(failed.map((c) => c.name)).toEqual([`archive of ${second.id}`]);
    expect(failed[0]!.detail).toMatch(/"resibo ni Ana\.jpg": SHA-256 .* the index says/);
  });
});
