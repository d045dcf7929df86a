import { describe, expect, it } from 'vitest';
import { applyRecords, comparePaths, type TreeState } from '../../../src/catalog/file-index.ts';
import type { Manifest } from '../../../src/catalog/manifest.ts';
import { planUploadsChain } from '../../../src/jobs/files/chain.ts';
import { compileExcludes } from '../../../src/jobs/files/exclude-globs.ts';
import { decideFile, deletionsSince, dirOrSymlinkChanged } from '../../../src/jobs/files/incremental-plan.ts';
import { planRestore } from '../../../src/jobs/files/restore-plan.ts';
import { unsafeSymlinkReason } from '../../../src/jobs/files/safe-path.ts';
import { idsOnDay, localDay, parseLocalDate, pickLastBackupOfDay } from '../../../src/jobs/files/select-by-date.ts';
import { timeOfId } from '../../../src/catalog/ids-by-kind.ts';

const file = (path: string, over: Partial<{ size: number; mode: number; mtimeUs: number; sha256: string; in: string }> = {}) => ({
  path,
  type: 'file' as const,
  size: 10,
  mode: 0o644,
  mtimeUs: 1_700_000_000_000_000,
  sha256: 'a'.repeat(64),
  in: 'upl-20261101T000000Z-0001',
  ...over,
});
const dir = (path: string, mode = 0o755) => ({ path, type: 'dir' as const, mode, mtimeUs: 1_700_000_000_000_000 });

describe('exclude globs', () => {
  const excluded = compileExcludes(['node_modules', 'dist', '*.log', '/public/cache', 'tmp/', 'storage/**/sessions']);
  it.each([
    ['node_modules', true, true],
    ['packages/api/node_modules', true, true],
    ['dist', true, true],
    ['src/dist.ts', false, false],
    ['logs/app.log', false, true],
    ['public/cache', true, true],
    ['src/public/cache', true, false],
    ['tmp', true, true],
    ['tmp', false, false],
    ['storage/sessions', true, true],
    ['storage/a/b/sessions', true, true],
    ['src/index.ts', false, false],
  ])('%s (dir %s) excluded: %s', (path, isDir, expected) => {
    expect(excluded(path, isDir)).toBe(expected);
  });
});

describe('incremental decisions', () => {
  const walked = (over: Partial<{ size: number; mode: number; mtimeUs: number }> = {}) => ({ path: 'a.jpg', type: 'file' as const, size: 10, mode: 0o644, mtimeUs: 1_700_000_000_000_000, ...over });
  it.each([
    ['new path', walked(), undefined, 'store'],
    ['was a directory', walked(), dir('a.jpg'), 'store'],
    ['same size, mtime and mode', walked(), file('a.jpg'), 'unchanged'],
    ['size changed', walked({ size: 11 }), file('a.jpg'), 'check'],
    ['mtime changed', walked({ mtimeUs: 1_700_000_005_000_000 }), file('a.jpg'), 'check'],
    ['mode only', walked({ mode: 0o600 }), file('a.jpg'), 'metadata'],
  ] as const)('%s -> %s', (_name, live, previous, expected) => {
    expect(decideFile(live, previous)).toBe(expected);
  });

  it('re-hashes files modified just before or during the parent backup (racy files)', () => {
    expect(decideFile(walked(), file('a.jpg'), 1_700_000_001_000)).toBe('check');
    expect(decideFile(walked(), file('a.jpg'), 1_700_000_060_000)).toBe('unchanged');
  });

  it('records directory and symlink changes, and every vanished path as a deletion', () => {
    expect(dirOrSymlinkChanged(dir('d'), dir('d'))).toBe(false);
    expect(dirOrSymlinkChanged(dir('d', 0o700), dir('d'))).toBe(true);
    expect(dirOrSymlinkChanged({ path: 'l', type: 'symlink', target: 'b', mtimeUs: 1 }, { path: 'l', type: 'symlink', target: 'a', mtimeUs: 1 })).toBe(true);
    const previous: TreeState = applyRecords(new Map(), [dir('.'), dir('a'), file('a/x'), file('b')]);
    expect(deletionsSince(previous, new Set(['.', 'b']))).toEqual([
      { path: 'a', type: 'deleted' },
      { path: 'a/x', type: 'deleted' },
    ]);
  });
});

describe('chain composition and restore plans', () => {
  it('applies a chain full first: changes replace, deletions remove', () => {
    const state = applyRecords(new Map(), [dir('.'), file('a'), file('b')]);
    applyRecords(state, [file('a', { size: 20, in: 'upl-20261102T000000Z-0002' }), { path: 'b', type: 'deleted' }, file('c')]);
    expect([...state.keys()].sort(comparePaths)).toEqual(['.', 'a', 'c']);
    expect(state.get('a')).toMatchObject({ size: 20, in: 'upl-20261102T000000Z-0002' });
  });

  it('groups files by the archive holding their content, directories parents first', () => {
    const state = applyRecords(new Map(), [dir('.'), dir('x'), dir('x/y'), file('x/y/1', { in: 'A' }), file('x/2', { in: 'B' }), { path: 'l', type: 'symlink', target: 'x/2', mtimeUs: 1 }]);
    const plan = planRestore(state, ['A', 'B'], 'test');
    expect(plan.dirs.map((d) => d.path)).toEqual(['x', 'x/y']);
    expect([...plan.filesByArchive.get('A')!.keys()]).toEqual(['x/y/1']);
    expect([...plan.filesByArchive.get('B')!.keys()]).toEqual(['x/2']);
    expect(plan.symlinks.map((s) => s.path)).toEqual(['l']);
    expect(plan.files).toBe(2);
  });

  it.each([
    ['a ".." path', [file('../evil')], /"\.\." segment/],
    ['an absolute path', [file('/etc/passwd')], /absolute path/],
    ['a symlink out of the tree', [{ path: 'l', type: 'symlink' as const, target: '../../etc', mtimeUs: 1 }], /outside the tree/],
    ['an absolute symlink', [{ path: 'l', type: 'symlink' as const, target: '/etc', mtimeUs: 1 }], /absolute path/],
    ['a file below a symlink', [{ path: 'd', type: 'symlink' as const, target: '.', mtimeUs: 1 }, file('d/x')], /parent is a symlink/],
    ['a file without its directory', [file('missing/x')], /parent directory is not in the backup/],
    ['setuid bits', [file('s', { mode: 0o4755 })], /setuid/],
    ['content in a backup outside the chain', [file('x', { in: 'upl-other' })], /not part of this chain/],
  ])('refuses %s', (_name, records, message) => {
    const state = applyRecords(new Map(), [dir('.'), ...records]);
    expect(() => planRestore(state, ['upl-20261101T000000Z-0001'], 'test')).toThrow(message);
  });

  it('allows symlinks that climb only before their names, never past the root', () => {
    expect(unsafeSymlinkReason('a/b/link', '../../x/y')).toBeUndefined();
    expect(unsafeSymlinkReason('a/link', '../../x')).toMatch(/outside/);
    expect(unsafeSymlinkReason('a/link', 'b/../../x')).toMatch(/after a name/);
    expect(unsafeSymlinkReason('link', './x/./y')).toBeUndefined();
  });
});

describe('when a new uploads chain starts', () => {
  const latest = {
    id: 'upl-20261101T000000Z-0001',
    source: { host: 'h', path: '/srv/uploads' },
    files: { key: 'k', sizeBytes: 1, sha256: 'a'.repeat(64), count: 1, totalBytes: 1 },
    chain: { chainId: 'upl-20261101T000000Z-0001', parentId: null, sequence: 0, startedAt: '2026-11-01T00:00:00.000Z', deletions: 0 },
  } as unknown as Manifest;
  const base = { latest, sourcePath: '/srv/uploads', now: new Date('2026-11-05T00:00:00Z'), chainDays: 7, forceFull: false };
  it.each([
    ['continues a young chain', base, 'incremental'],
    ['--full', { ...base, forceFull: true }, 'full'],
    ['no earlier backup', { ...base, latest: undefined }, 'full'],
    ['the chain is a week old', { ...base, now: new Date('2026-11-08T00:00:00Z') }, 'full'],
    ['UPLOADS_DIR moved', { ...base, sourcePath: '/data/uploads' }, 'full'],
  ] as const)('%s -> %s', (_name, input, type) => {
    expect(planUploadsChain(input).type).toBe(type);
  });
});

describe('restore by date', () => {
  const m = (id: string, createdAt: string) => ({ id, createdAt }) as Manifest;
  it('picks the last backup of the local day in BANTAY_TZ', () => {
    const manifests = [
      m('upl-a', '2026-11-19T15:30:00.000Z'), // 2026-11-19 23:30 in Manila
      m('upl-b', '2026-11-19T16:30:00.000Z'), // 2026-11-20 00:30 in Manila
      m('upl-c', '2026-11-20T12:00:00.000Z'), // 2026-11-20 20:00 in Manila
      m('upl-d', '2026-11-20T16:00:00.000Z'), // 2026-11-21 00:00 in Manila
    ];
    expect(pickLastBackupOfDay(manifests, '2026-11-20', 'Asia/Manila')?.id).toBe('upl-c');
    expect(pickLastBackupOfDay(manifests, '2026-11-19', 'Asia/Manila')?.id).toBe('upl-a');
    expect(pickLastBackupOfDay(manifests, '2026-11-20', 'UTC')?.id).toBe('upl-d');
    expect(pickLastBackupOfDay(manifests, '2026-11-22', 'Asia/Manila')).toBeUndefined();
    expect(localDay(new Date('2026-11-19T16:30:00Z'), 'Asia/Manila')).toBe('2026-11-20');
  });

  it('narrows the candidates by the time in their ids, without reading manifests', () => {
    const ids = ['upl-20261120T160000Z-0004', 'upl-20261120T120000Z-0003', 'upl-20261119T163000Z-0002', 'upl-20261119T153000Z-0001'];
    expect(idsOnDay(ids, '2026-11-20', 'Asia/Manila', timeOfId)).toEqual(['upl-20261120T120000Z-0003', 'upl-20261119T163000Z-0002']);
  });

  it('accepts only real YYYY-MM-DD dates', () => {
    expect(parseLocalDate('2026-02-28')).toBe('2026-02-28');
    for (const bad of ['2026-02-30', '26-02-01', 'yesterday', "2026-01-01'; DROP TABLE x"]) expect(() => parseLocalDate(bad)).toThrow(/not a date/);
  });
});
