import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newBackupId } from '../../../src/catalog/backup-id.ts';
import { writeManifest } from '../../../src/catalog/catalog.ts';
import { archiveKey, indexKey, type IndexRecord } from '../../../src/catalog/file-index.ts';
import type { Manifest } from '../../../src/catalog/manifest.ts';
import { writeIndex } from '../../../src/jobs/files/index-store.ts';
import { restoreFilesBackup } from '../../../src/jobs/files/restore-files.ts';
import { putSealed } from '../../../src/jobs/files/sealed-object.ts';
import { verifyFilesBackup } from '../../../src/jobs/files/verify-files.ts';
import type { JobDeps } from '../../../src/jobs/job-context.ts';
import { listAudit } from '../../../src/state/audit-log.ts';
import { cliTrigger, makeDeps, tempDir } from '../../support/job-deps.ts';
import { craftArchive, type CraftedEntry } from '../../support/tar-craft.ts';

let deps: JobDeps;
let close: () => Promise<void>;
let victimDir: string;

beforeAll(async () => {
  ({ deps, close } = await makeDeps({ key: null }));
  victimDir = tempDir('bantay-victim-');
});
afterAll(() => close());

const MTIME_US = 1_700_000_000_000_000;
const okContent = Buffer.from('a legitimate receipt');
const okRecord = (id: string): IndexRecord => ({
  path: 'ok.txt',
  type: 'file',
  size: okContent.length,
  mode: 0o644,
  mtimeUs: MTIME_US,
  sha256: createHash('sha256').update(okContent).digest('hex'),
  in: id,
});

/** Stores a hand-made uploads backup (archive, index, manifest) the way a tampered store would hold one. */
async function plantBackup(entries: CraftedEntry[], extraRecords: IndexRecord[] = []): Promise<Manifest> {
  const id = newBackupId('uploads');
  const archive = await putSealed(Readable.from([craftArchive(entries)]), [], archiveKey(id, false), deps);
  const records: IndexRecord[] = [{ path: '.', type: 'dir', mode: 0o755, mtimeUs: MTIME_US }, okRecord(id), ...extraRecords];
  const index = await writeIndex(id, records, indexKey(id, false), deps);
  const now = new Date().toISOString();
  const manifest: Manifest = {
    formatVersion: 1,
    id,
    kind: 'uploads',
    createdAt: now,
    completedAt: now,
    durationSeconds: 0,
    trigger: cliTrigger,
    source: { host: 'attacker', path: '/srv/uploads' },
    tools: {},
    artifact: { key: archive.key, format: 'bantay-files-tar-v1', sizeBytes: archive.sizeBytes, sha256: archive.sha256, plainSizeBytes: archive.plainSizeBytes, plainSha256: archive.plainSha256, encryption: null },
    files: { key: index.key, sizeBytes: index.sizeBytes, sha256: index.sha256, count: records.length, totalBytes: okContent.length },
    chain: { chainId: id, parentId: null, sequence: 0, startedAt: now, deletions: 0 },
  };
  await writeManifest(deps.store, manifest, deps);
  return manifest;
}

/** Restores into parent/restore and asserts it was refused and that parent holds nothing afterwards. */
async function expectRefused(manifest: Manifest, message: RegExp): Promise<void> {
  const parent = tempDir('bantay-target-');
  await expect(restoreFilesBackup({ manifest, target: { type: 'directory', dir: join(parent, 'restore') }, trigger: cliTrigger }, deps)).rejects.toThrow(message);
  expect(readdirSync(parent)).toEqual([]);
  expect(readdirSync(victimDir)).toEqual([]);
  const verification = await verifyFilesBackup(manifest, deps);
  expect(verification.passed).toBe(false);
}

describe('restoring a malicious archive', () => {
  const ok: CraftedEntry = { path: 'ok.txt', data: okContent };

  it.each<[string, CraftedEntry]>([
    ['"../" paths', { path: '../../../../../../../../../../../..' + '/tmp/evil.txt', data: Buffer.from('pwned') }],
    ['a relative escape', { path: '../escaped.txt', data: Buffer.from('pwned') }],
    ['absolute paths', { path: '', data: Buffer.from('pwned') }],
    ['hard links', { path: 'hard', type: 'Link', linkpath: 'ok.txt' }],
    ['device files', { path: 'disk', type: 'BlockDevice' }],
    ['FIFOs', { path: 'pipe', type: 'FIFO' }],
    ['setuid bits', { path: 'suid.sh', mode: 0o4755, data: Buffer.from('#!/bin/sh\n') }],
  ])('refuses %s and writes nothing outside (or inside) the target', async (_name, entry) => {
    const hostile = entry.path === '' ? { ...entry, path: join(victimDir, 'abs-evil.txt') } : entry;
    await expectRefused(await plantBackup([hostile, ok]), /Refusing|unsafe/);
  });

  it('refuses a symlink escaping the target, before anything can be written through it', async () => {
    const entries: CraftedEntry[] = [
      ok,
      { path: 'escape', type: 'SymbolicLink', linkpath: `../../../../../../../../..${victimDir}` },
      { path: 'escape/pwned.txt', data: Buffer.from('pwned') },
    ];
    await expectRefused(await plantBackup(entries), /outside the tree/);
  });

  it('refuses an index that puts a file below a symlink or outside the tree, before creating the target', async () => {
    const m = await plantBackup(
      [ok],
      [
        { path: 'link', type: 'symlink', target: '.', mtimeUs: MTIME_US },
        { path: 'link/inner.txt', type: 'file', size: 1, mode: 0o644, mtimeUs: MTIME_US, sha256: 'a'.repeat(64), in: 'upl-20261126T000000Z-0000' },
      ],
    );
    await expectRefused(m, /parent is a symlink/);
    const escaping = await plantBackup([ok], [{ path: 'up', type: 'symlink', target: '../../etc/passwd', mtimeUs: MTIME_US }]);
    await expectRefused(escaping, /outside the tree/);
  });

  it('audits every refused restore as failed', async () => {
    const restores = (await listAudit(deps.state, { limit: 200 })).filter((a) => a.operationType === 'restore');
    expect(restores.length).toBeGreaterThanOrEqual(9);
    expect(restores.every((a) => a.status === 'failed')).toBe(true);
    expect(existsSync(join(victimDir, 'abs-evil.txt'))).toBe(false);
  });
});
