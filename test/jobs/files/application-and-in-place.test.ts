import { chmodSync, existsSync, lstatSync, mkdirSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listBackups, readManifest } from '../../../src/catalog/catalog.ts';
import { runApplicationBackup, runUploadsBackup } from '../../../src/jobs/files/backup-files.ts';
import { drillFilesBackup } from '../../../src/jobs/files/drill-files.ts';
import { restoreFilesBackup } from '../../../src/jobs/files/restore-files.ts';
import { verifyFilesBackup } from '../../../src/jobs/files/verify-files.ts';
import type { JobDeps } from '../../../src/jobs/job-context.ts';
import { listAudit } from '../../../src/state/audit-log.ts';
import { noise, snapshotTree, writeFiles, type EntrySnapshot } from '../../support/file-trees.ts';
import { cliTrigger, makeDeps, tempDir } from '../../support/job-deps.ts';

const T0 = 1_767_225_600;
let deps: JobDeps;
let close: () => Promise<void>;

beforeAll(async () => {
  ({ deps, close } = await makeDeps());
});
afterAll(() => close());

function without(tree: Record<string, EntrySnapshot>, excluded: (path: string) => boolean): Record<string, EntrySnapshot> {
  return Object.fromEntries(Object.entries(tree).filter(([path]) => !excluded(path)));
}

describe('application backup', () => {
  it('archives APP_DIR without the excluded paths and restores the rest exactly', async () => {
    const app = join(tempDir('bantay-app-'), 'fbms');
    writeFiles(app, {
      'package.json': '{"name":"fbms"}',
      'src/server.js': 'console.log("FBMS");\n'.repeat(100),
      'src/routes/benta ng araw.js': 'export default [];\n',
      'public/logo.png': noise(4000, 'logo'),
      'public/cache/page.html': '<html></html>',
      'node_modules/express/index.js': 'module.exports = {};',
      'packages/reports/node_modules/x/index.js': 'x',
      'dist/bundle.js': 'bundled',
      'logs/app.log': 'log line',
      'temp/upload.tmp': 'tmp',
      'src/debug.log': 'debug',
      'config/.env.example': 'DATABASE_URL=',
    }, T0);
    chmodSync(join(app, 'src/server.js'), 0o755);
    symlinkSync('src/server.js', join(app, 'server.js'));
    const exclude = ['node_modules', 'dist', 'logs', 'temp', '*.log', '/public/cache'];
    const m = await runApplicationBackup({ appDir: app, exclude, trigger: cliTrigger }, deps);
    expect(m).toMatchObject({ kind: 'application', excludes: exclude, source: { path: app } });
    expect(m.chain).toBeUndefined();
    expect(m.files).toMatchObject({ treeFiles: 5 });

    const target = join(dirname(app), 'restored');
    await restoreFilesBackup({ manifest: m, target: { type: 'directory', dir: target }, trigger: cliTrigger }, deps);
    const excluded = (p: string) => /(^|\/)(node_modules|dist|logs|temp)(\/|$)/.test(p) || p.endsWith('.log') || p.startsWith('public/cache');
    expect(snapshotTree(target)).toEqual(without(snapshotTree(app), excluded));
    expect(existsSync(join(target, 'node_modules'))).toBe(false);
    expect(await verifyFilesBackup(m, deps)).toMatchObject({ passed: true });
    expect(await drillFilesBackup(m, deps)).toMatchObject({ passed: true });
  });

  it('refuses to restore over an existing directory, and fails cleanly on a missing APP_DIR', async () => {
    const base = tempDir('bantay-app-');
    writeFiles(join(base, 'app'), { 'a.js': 'a' });
    const m = await runApplicationBackup({ appDir: join(base, 'app'), exclude: [], trigger: cliTrigger }, deps);
    await expect(restoreFilesBackup({ manifest: m, target: { type: 'directory', dir: join(base, 'app') }, trigger: cliTrigger }, deps)).rejects.toThrow(/already exists/);
    const before = (await listBackups(deps.store, deps)).length;
    await expect(runApplicationBackup({ appDir: join(base, 'nope'), exclude: [], trigger: cliTrigger }, deps)).rejects.toThrow(/cannot be read/);
    expect(await listBackups(deps.store, deps)).toHaveLength(before);
    const failed = (await listAudit(deps.state, { limit: 100 })).filter((a) => a.operationType === 'backup' && a.status === 'failed');
    expect(failed).toEqual([expect.objectContaining({ backupType: 'application', errorMessage: expect.stringMatching(/nope cannot be read/) })]);
  });
});

describe('failures leave nothing listed', () => {
  it('a cancelled backup removes its objects and is audited as cancelled', async () => {
    const app = join(tempDir('bantay-app-'), 'fbms');
    writeFiles(app, Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`f${i}.bin`, noise(50_000, `f${i}`)])));
    const keys = async () => {
      const out: string[] = [];
      for await (const o of deps.store.list('backups/')) out.push(o.key);
      return out;
    };
    const before = await keys();
    const abort = new AbortController();
    const cancelled = runApplicationBackup({ appDir: app, exclude: [], trigger: cliTrigger, signal: abort.signal }, deps, {
      bytes: (done) => {
        if (done > 1_000_000) abort.abort();
      },
    });
    await expect(cancelled).rejects.toThrow(/cancelled/);
    expect(await keys()).toEqual(before);
    const audit = (await listAudit(deps.state, { limit: 100 })).filter((a) => a.errorMessage === 'Backup cancelled');
    expect(audit).toEqual([expect.objectContaining({ operationType: 'backup', backupType: 'application', status: 'cancelled' })]);
  });
});

describe('failures after the manifest', () => {
  it('a failure once the manifest is stored (state database down) leaves nothing listed', async () => {
    const { deps: own, close: closeOwn } = await makeDeps();
    const app = join(tempDir('bantay-app-'), 'fbms');
    writeFiles(app, { 'a.js': 'a', 'b.js': 'b' });
    const state = own.state;
    own.state = {
      ...state,
      // Writes are not journaled here, so every one goes through the failing query below.
      append: undefined,
      query: async (text, params) => {
        if (/UPDATE job_runs/.test(text) && params?.[1] === 'succeeded') throw new Error('state database went away');
        return state.query(text, params);
      },
    };
    await expect(runApplicationBackup({ appDir: app, exclude: [], trigger: cliTrigger }, own)).rejects.toThrow(/state database went away/);
    expect(await listBackups(own.store, own)).toEqual([]);
    const keys: string[] = [];
    for await (const o of own.store.list('')) keys.push(o.key);
    expect(keys).toEqual([]);
    await closeOwn();
  });
});

describe('in-place restore of uploads', () => {
  it('backs up the live tree, swaps atomically, keeps the old tree, and runs the hooks around it', async () => {
    const base = tempDir('bantay-live-');
    const live = join(base, 'uploads');
    writeFiles(live, { 'receipts/a.jpg': noise(5000, 'a'), 'receipts/b.jpg': noise(5000, 'b') }, T0);
    const good = await runUploadsBackup({ uploadsDir: live, chainDays: 7, trigger: cliTrigger }, deps);
    const goodTree = snapshotTree(live);

    rmSync(join(live, 'receipts/a.jpg'));
    writeFileSync(join(live, 'receipts/b.jpg'), 'overwritten by mistake');
    writeFiles(live, { 'receipts/c.jpg': noise(5000, 'c') });
    const damagedTree = snapshotTree(live);

    const calls: string[] = [];
    const result = await restoreFilesBackup(
      {
        manifest: good,
        target: { type: 'in-place', liveDir: live, exclude: [], chainDays: 7, authorization: { type: 'typed-confirmation', by: 'cli:test' }, beforeSwap: async () => void calls.push('stop'), afterSwap: async () => void calls.push('start') },
        trigger: cliTrigger,
      },
      deps,
    );
    expect(calls).toEqual(['stop', 'start']);
    expect(result.restoredTo).toBe(live);
    expect(snapshotTree(live)).toEqual(goodTree);
    expect(snapshotTree(result.previousDir!)).toEqual(damagedTree);
    expect(readdirSync(base).sort()).toEqual(['uploads', `uploads.pre-restore-${result.previousDir!.split('pre-restore-')[1]}`]);

    const pre = await readManifest(deps.store, deps, result.preRestoreBackupId!);
    expect(pre).toMatchObject({ kind: 'uploads', label: 'pre-restore' });
    const rollback = join(base, 'rollback');
    await restoreFilesBackup({ manifest: pre, target: { type: 'directory', dir: rollback }, trigger: cliTrigger }, deps);
    expect(snapshotTree(rollback)).toEqual(damagedTree);
  });

  it('restores through a symlinked live directory: the link stays, its target is replaced and backed up first', async () => {
    const base = tempDir('bantay-live-');
    const real = join(base, 'data', 'uploads');
    writeFiles(real, { 'r/a.jpg': noise(3000, 'a') }, T0);
    mkdirSync(join(base, 'srv'));
    const live = join(base, 'srv', 'uploads');
    symlinkSync(real, live);
    const good = await runUploadsBackup({ uploadsDir: live, chainDays: 7, full: true, trigger: cliTrigger }, deps);
    const goodTree = snapshotTree(real);
    writeFiles(real, { 'r/b.jpg': noise(3000, 'b') });
    const damagedTree = snapshotTree(real);

    const result = await restoreFilesBackup({ manifest: good, target: { type: 'in-place', liveDir: live, exclude: [], chainDays: 7, authorization: { type: 'typed-confirmation', by: 'cli:test' } }, trigger: cliTrigger }, deps);
    // The configured path is still the link the application uses, now showing the restored tree.
    expect(lstatSync(live).isSymbolicLink()).toBe(true);
    expect(snapshotTree(real)).toEqual(goodTree);
    // The replaced tree was backed up and kept, as for a plain directory.
    expect(result.preRestoreBackupId).toBeDefined();
    expect(snapshotTree(result.previousDir!)).toEqual(damagedTree);
  });

  it('leaves the live tree untouched when the restore fails', async () => {
    const base = tempDir('bantay-live-');
    const live = join(base, 'uploads');
    writeFiles(live, { 'x.jpg': noise(5000, 'x') }, T0);
    const m = await runUploadsBackup({ uploadsDir: live, chainDays: 7, full: true, trigger: cliTrigger }, deps);
    await deps.store.delete(m.artifact.key);
    writeFiles(live, { 'y.jpg': 'new' });
    const before = snapshotTree(live);
    await expect(restoreFilesBackup({ manifest: m, target: { type: 'in-place', liveDir: live, exclude: [], chainDays: 7, authorization: { type: 'typed-confirmation', by: 'cli:test' } }, trigger: cliTrigger }, deps)).rejects.toThrow();
    expect(snapshotTree(live)).toEqual(before);
    expect(readdirSync(base)).toEqual(['uploads']);
  });
});
