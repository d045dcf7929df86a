import { rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { noteBackupsSeen } from '../../src/catalog/catalog-trust.ts';
import { openStateDb } from '../../src/state/state-db.ts';
import { createLocalStore } from '../../src/storage/local-store.ts';
import { bantay } from '../support/cli.ts';
import { newKey, tempDir } from '../support/job-deps.ts';
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';

/**
 * `bantay list` on the embedded state database opens it only when its copy of the expected
 * backups (state/seen-view.ts) is stale or shows one missing; whatever the path, a backup
 * removed behind Bantay's back is reported, and one Bantay pruned is not.
 */
describe('bantay list with the embedded state database', () => {
  it('answers from the copy while nothing changed, and from the database whenever anything did or something is missing', async () => {
    const dir = tempDir('bantay-list-view-');
    const app = join(dir, 'app');
    mkdirSync(app);
    writeFileSync(join(app, 'index.js'), 'console.log(1)\n');
    const dataDir = join(dir, 'var');
    const env = { BANTAY_STORE: join(dir, 'store'), BANTAY_DATA_DIR: dataDir, APP_DIR: app, BANTAY_ENCRYPTION_KEY: newKey().key.toString('base64'), BANTAY_LOG_LEVEL: 'error' };
    const ids: string[] = [];
    for (let i = 0; i < 3; i += 1) {
      const run = await bantay(['backup', 'application', '--json'], env, dir);
      expect(run.code, run.stderr).toBe(0);
      ids.push((JSON.parse(run.stdout) as { id: string }).id);
    }
    const control = join(dataDir, 'state', 'global', 'pg_control');
    const opened = () => statSync(control, { bigint: true }).mtimeNs;
    const list = async () => {
      const run = await bantay(['list', '--json'], env, dir);
      return { ...run, entries: JSON.parse(run.stdout) as Array<{ id: string; status: string }> };
    };

    // The backups journaled their state: the first listing reads the database (and writes the copy).
    const first = await list();
    expect(first.code, first.stderr).toBe(0);
    expect(first.entries.map((e) => e.id).sort()).toEqual([...ids].sort());
    const after = opened();
    // Nothing changed: the next listings do not open the database at all.
    expect((await list()).code).toBe(0);
    expect((await list()).code).toBe(0);
    expect(opened()).toBe(after);

    // A backup made since (its sighting is journaled) and then removed: caught, though every
    // backup the copy knows is there.
    const made = await bantay(['backup', 'application', '--json'], env, dir);
    const madeId = (JSON.parse(made.stdout) as { id: string }).id;
    const madeDir = join(dir, 'store', 'backups', madeId);
    cpSync(madeDir, join(dir, 'saved'), { recursive: true });
    rmSync(madeDir, { recursive: true });
    const journaled = await list();
    expect(journaled.entries.find((e) => e.id === madeId)).toMatchObject({ status: 'vanished' });
    cpSync(join(dir, 'saved'), madeDir, { recursive: true });
    expect((await list()).code).toBe(0);

    // A sighting written to the database directly by another process (bantay serve holds it):
    // the copy is stale, so a backup only that process saw is still expected.
    const db = await openStateDb({ url: undefined, dataDir });
    const extraId = 'app-20261204T000000Z-beef';
    await noteBackupsSeen(db, createLocalStore(join(dir, 'store')).description, [extraId]);
    await db.close();
    const direct = await list();
    expect(direct.entries.find((e) => e.id === extraId)).toMatchObject({ status: 'vanished' });
    expect(direct.entries.find((e) => e.id === madeId)).toMatchObject({ status: 'ok' });

    // One removed behind Bantay's back: reported, and again from the copy written then.
    rmSync(join(dir, 'store', 'backups', ids[0]!), { recursive: true });
    for (let i = 0; i < 2; i += 1) {
      const gone = await list();
      expect(gone.code).toBe(1);
      expect(gone.entries.find((e) => e.id === ids[0])).toMatchObject({ status: 'vanished' });
    }
  });
});
