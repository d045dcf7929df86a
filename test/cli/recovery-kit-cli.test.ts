import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { text } from 'node:stream/consumers';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { pgBinary } from '../../src/dev/pg-binaries.ts';
import { runDatabaseBackup } from '../../src/jobs/backup-database.ts';
import { runApplicationBackup, runUploadsBackup } from '../../src/jobs/files/backup-files.ts';
import { createLocalStore } from '../../src/storage/local-store.ts';
import type { ObjectStore } from '../../src/storage/object-store.ts';
import { bantay } from '../support/cli.ts';
import { checksumsOf, createDatabase, createFbmsDatabase, dropDatabase } from '../support/databases.ts';
import { noise, s3TestStore, snapshotTree, writeFiles } from '../support/file-trees.ts';
import { cliTrigger, makeDeps, newKey, tempDir } from '../support/job-deps.ts';
import { RECOVER_TOOL, runShell } from '../support/recover-tool.ts';
import { TEST_S3_CREDENTIALS } from '../support/s3-server.ts';
import { dirname } from 'node:path';

/**
 * `bantay recovery-kit DIR`: the kit holds the tool and a RECOVERY.md whose own command blocks,
 * run from the kit directory with a bare environment (Node.js and the PostgreSQL client tools
 * only), restore the database and the files. Never a key in the kit or the store copy.
 */
const PATH = `${dirname(pgBinary('pg_restore'))}:${dirname(process.execPath)}:/usr/bin:/bin`;
const drops: string[] = [];
let source: { url: string; name: string };
beforeAll(async () => {
  source = await createFbmsDatabase({ scale: 0.2, seed: 3 });
});
afterAll(async () => {
  for (const name of [source.name, ...drops]) await dropDatabase(name);
});

/** The ```sh block under the "## N. <title>" heading of RECOVERY.md. */
function block(guide: string, title: string): string {
  const section = guide.split(/^## /m).find((s) => s.startsWith(title));
  const match = /```sh\n([\s\S]*?)```/.exec(section ?? '');
  if (!match) throw new Error(`RECOVERY.md has no sh block under "${title}"`);
  return match[1]!;
}

async function backUpEverything(store: ObjectStore, key: ReturnType<typeof newKey>, work: string) {
  const made = await makeDeps({ store, key });
  const app = join(work, 'app-src');
  writeFiles(app, { 'package.json': '{"name":"fbms"}', 'src/server.js': 'console.log("FBMS");\n'.repeat(300) }, 1_767_225_600);
  const uploads = join(work, 'uploads-src');
  writeFiles(uploads, { 'receipts/r1.jpg': noise(30_000, 'r1'), 'notes.txt': 'listahan\n'.repeat(1000) }, 1_767_225_600);
  const db = await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, made.deps);
  await runApplicationBackup({ appDir: app, exclude: [], trigger: cliTrigger }, made.deps);
  await runUploadsBackup({ uploadsDir: uploads, chainDays: 7, trigger: cliTrigger }, made.deps);
  await made.close();
  return { db, app, uploads };
}

describe.each([
  ['a directory store', async () => ({ store: createLocalStore(join(tempDir(), 'store')), env: (s: ObjectStore) => ({ BANTAY_STORE: s.description.replace(/^local:/, '') }) })],
  ['the S3 test server', async () => {
    const endpoint = inject('s3Endpoint');
    const store = await s3TestStore(endpoint);
    const bucket = /^s3:\/\/([^/]+)\//.exec(store.description)![1]!;
    return { store, env: () => ({ BANTAY_STORE: `s3://${bucket}/fbms`, S3_ENDPOINT: endpoint, AWS_ACCESS_KEY_ID: TEST_S3_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_S3_CREDENTIALS.secretAccessKey }) };
  }],
])('bantay recovery-kit with %s', (_name, setup) => {
  it('writes a kit whose RECOVERY.md commands restore the database and the files without Bantay', async () => {
    const { store, env: storeEnv } = await setup();
    const key = newKey();
    const retired = newKey();
    const work = tempDir('bantay-kit-run-');
    const { db, app, uploads } = await backUpEverything(store, key, work);
    const configEnv = { ...storeEnv(store), BANTAY_ENCRYPTION_KEY: key.key.toString('base64'), BANTAY_DECRYPTION_KEYS: retired.key.toString('base64') };
    const kitDir = join(work, 'kit');
    const made = await bantay(['recovery-kit', kitDir], configEnv, work);
    expect(made.code, made.stderr).toBe(0);
    expect(readdirSync(kitDir).sort()).toEqual(['RECOVERY.md', 'bantay-recover.mjs']);
    expect(readFileSync(join(kitDir, 'bantay-recover.mjs'))).toEqual(readFileSync(RECOVER_TOOL));
    const guide = readFileSync(join(kitDir, 'RECOVERY.md'), 'utf8');
    expect(guide).toContain(`Current key (encrypts new backups): \`${key.id}\``);
    expect(guide).toContain(`Retired key (still reads older backups): \`${retired.id}\``);
    expect(guide).toContain(db.id);
    expect(guide).toContain(createHash('sha256').update(readFileSync(RECOVER_TOOL)).digest('hex'));
    expect(guide).toContain(`BANTAY_STORE='${configEnv.BANTAY_STORE}'`);
    // No secret anywhere in the kit or in the copy stored next to the backups.
    const stored = await text(await store.get('recovery-kit/RECOVERY.md'));
    expect(stored).toBe(guide);
    expect(createHash('sha256').update(Buffer.from(await (await store.get('recovery-kit/bantay-recover.mjs')).toArray().then((c) => Buffer.concat(c)))).digest('hex')).toBe(createHash('sha256').update(readFileSync(RECOVER_TOOL)).digest('hex'));
    for (const secret of [key.key.toString('base64'), retired.key.toString('base64'), TEST_S3_CREDENTIALS.secretAccessKey]) {
      expect(guide).not.toContain(secret);
      expect(stored).not.toContain(secret);
    }

    // Run the kit's own commands from the kit directory, with nothing but Node and pg tools.
    const bare = { PATH, ...storeEnv(store), BANTAY_ENCRYPTION_KEY: key.key.toString('base64') };
    const targetUrl = await createDatabase();
    drops.push(new URL(targetUrl).pathname.slice(1));
    const restoredDb = await runShell(block(guide, '4. Database'), { ...bare, TARGET_URL: targetUrl }, kitDir);
    expect(restoredDb.code, restoredDb.stderr).toBe(0);
    expect(await checksumsOf(targetUrl)).toEqual(await checksumsOf(source.url));
    const restoredFiles = await runShell(block(guide, '6. Files'), bare, kitDir);
    expect(restoredFiles.code, restoredFiles.stderr).toBe(0);
    expect(snapshotTree(join(kitDir, 'uploads-restored'))).toEqual(snapshotTree(uploads));
    expect(snapshotTree(join(kitDir, 'app-restored'))).toEqual(snapshotTree(app));
  });
});

describe('bantay recovery-kit --print', () => {
  it('prints RECOVERY.md and says plainly when no key is configured', async () => {
    const cwd = tempDir();
    const r = await bantay(['recovery-kit', '--print', '--no-store'], { BANTAY_STORE: join(cwd, 'store') }, cwd);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^# Bantay recovery kit/);
    expect(r.stdout).toContain('No encryption key was configured');
    expect(r.stdout).toContain('There were no backups yet');
    expect(r.stderr).toContain('OUTSIDE the bucket');
    const usage = await bantay(['recovery-kit'], { BANTAY_STORE: join(cwd, 'store') }, cwd);
    expect(usage.code).toBe(2);
  });
});
