import { spawnSync } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { archiveTree } from '../../../src/jobs/files/archive-writer.ts';
import type { JobDeps } from '../../../src/jobs/job-context.ts';
import { noise, writeFiles } from '../../support/file-trees.ts';
import { cliTrigger, makeDeps, newKey, tempDir } from '../../support/job-deps.ts';

const BANTAY = resolve(import.meta.dirname, '../../../bin/bantay.js');
const T0 = 1_767_225_600;
let deps: JobDeps;
let close: () => Promise<void>;
let work: string;

beforeAll(async () => {
  ({ deps, close } = await makeDeps());
  work = tempDir('bantay-unstable-');
  chmodSync(work, 0o755);
});
afterAll(async () => {
  rmSync(work, { recursive: true, force: true });
  await close();
});

/**
 * Issue 11, finding 7: one file that cannot be read, or shrinks while read, must not fail a
 * whole uploads backup: it is recorded as skipped, and BANTAY_UPLOADS_STRICT=1 fails the backup
 * instead. (Files that grow while read: test/failures/uploads-skip.test.ts.)
 */
describe('uploads: a file that keeps changing, or cannot be read', () => {
  it('a large incompressible file truncated while it streams into the archive is skipped, and the archive stays whole', async () => {
    const root = join(work, 'shrinking');
    mkdirSync(root, { recursive: true });
    const file = join(root, 'clip.mp4');
    writeFileSync(file, noise(8 * 1024 * 1024, 'clip'));
    const st = statSync(file);
    async function* walk() {
      yield { path: 'clip.mp4', type: 'file' as const, size: st.size, mode: 0o644, mtimeUs: Math.floor(st.mtimeMs * 1000) };
    }
    const temp = join(work, 'shrinking-tmp');
    mkdirSync(temp, { recursive: true });
    const { chunks, outcome } = archiveTree(walk() as never, { root, tempDir: temp, backupId: 'upl-20260101T000000Z-aaaa', previous: undefined, skipUnstable: true, detectChanges: true });
    let total = 0;
    let first = true;
    for await (const chunk of chunks) {
      // Right after the member's header went out: logrotate's copytruncate, say.
      if (first) truncateSync(file, 1024 * 1024);
      first = false;
      total += chunk.length;
    }
    expect(outcome.skipped).toEqual([{ path: 'clip.mp4', reason: expect.stringMatching(/^shrank while it was being backed up .*its bytes in the archive are not used/) }]);
    expect(outcome.records.filter((r) => r.path === 'clip.mp4')).toEqual([]);
    // Header + the promised 8 MiB (filled up) + the end marker: a well-formed tar.
    expect(total % 512).toBe(0);
    expect(total).toBeGreaterThanOrEqual(512 + 8 * 1024 * 1024 + 1024);
  });

  it('a file the backup may not read (mode 000, backup run as an ordinary user) is skipped and reported; strict mode fails', () => {
    const root = process.getuid?.() === 0;
    // Root reads any file: run the CLI as nobody then, as a real deployment's service user would be.
    const nobody = spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' });
    const uid = root ? Number(nobody.stdout.trim()) : undefined;
    const gid = root ? Number(spawnSync('id', ['-g', 'nobody'], { encoding: 'utf8' }).stdout.trim()) : undefined;
    const dir = join(work, 'eacces');
    const uploads = join(dir, 'uploads');
    writeFiles(uploads, { 'receipts/ok.jpg': noise(10_000, 'ok'), 'receipts/secret.jpg': noise(10_000, 'secret') }, T0);
    chmodSync(join(uploads, 'receipts/secret.jpg'), 0o000);
    const store = join(dir, 'store');
    const data = join(dir, 'data');
    const keyFile = join(dir, 'key');
    mkdirSync(store);
    mkdirSync(data);
    writeFileSync(keyFile, newKey().key.toString('base64'), { mode: 0o600 });
    if (root) {
      chmodSync(dir, 0o755);
      for (const p of [store, data, keyFile]) chownSync(p, uid!, gid!);
    }
    const env = { PATH: process.env.PATH ?? '', HOME: dir, BANTAY_STORE: store, BANTAY_DATA_DIR: data, BANTAY_ENCRYPTION_KEY_FILE: keyFile, UPLOADS_DIR: uploads, BANTAY_LOG_LEVEL: 'error' };
    const run = (extra: Record<string, string>) => {
      const argv = [process.execPath, BANTAY, 'backup', 'uploads'];
      const [cmd, ...args] = root ? ['setpriv', `--reuid=${uid}`, `--regid=${gid}`, '--clear-groups', ...argv] : argv;
      return spawnSync(cmd!, args, { env: { ...env, ...extra }, cwd: dir, encoding: 'utf8', timeout: 120_000 });
    };
    const lenient = run({});
    expect(lenient.status, lenient.stderr).toBe(0);
    expect(lenient.stdout).toMatch(/SKIPPED 1 file\(s\) that could not be read consistently \(not in this backup\):\n  receipts\/secret\.jpg: cannot be opened \(EACCES\)/);
    expect(lenient.stdout).toMatch(/1 of 1 files stored/);
    const strict = run({ BANTAY_UPLOADS_STRICT: '1' });
    expect(strict.status).not.toBe(0);
    expect(strict.stderr).toMatch(/secret\.jpg cannot be opened \(EACCES\)/);
  }, 180_000);
});
