import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Manifest } from '../../src/catalog/manifest.ts';
import { pgBinary } from '../../src/dev/pg-binaries.ts';
import { runDatabaseBackup } from '../../src/jobs/backup-database.ts';
import { runApplicationBackup, runUploadsBackup } from '../../src/jobs/files/backup-files.ts';
import { restoreFilesBackup } from '../../src/jobs/files/restore-files.ts';
import type { JobDeps } from '../../src/jobs/job-context.ts';
import { openArtifact } from '../../src/jobs/read-artifact.ts';
import type { EncryptionKey } from '../../src/crypto/keys.ts';
import { openSealed } from '../../src/jobs/files/sealed-object.ts';
import { checksumsOf, createDatabase, createFbmsDatabase, dropDatabase } from '../support/databases.ts';
import { noise, s3TestStore, snapshotTree, writeFiles } from '../support/file-trees.ts';
import { cliTrigger, makeDeps, newKey, tempDir } from '../support/job-deps.ts';
import { installTool, runRecover, runShell } from '../support/recover-tool.ts';
import { flipByte } from '../support/recovery.ts';
import { TEST_S3_CREDENTIALS } from '../support/s3-server.ts';
import { startFaultProxy } from '../support/fault-proxy.ts';

/**
 * "Done when" of issue 15: on a machine with only Node.js and the PostgreSQL client tools, the
 * kit alone (bantay-recover.mjs copied to an empty directory, run with a bare environment)
 * restores a database backup and a files backup, from a directory store and from S3. Every
 * artifact is also decrypted by Bantay and the bytes compared: two implementations of the
 * format that must agree (when Bantay writes format 2, these same tests cover it).
 */
const T0 = 1_767_225_600;
const PG_BIN = dirname(pgBinary('pg_restore'));
const PATH = `${PG_BIN}:/usr/bin:/bin`;

let source: { url: string; name: string };
let key: EncryptionKey;
let kit: string;
const cleanups: Array<() => Promise<void> | void> = [];

beforeAll(async () => {
  source = await createFbmsDatabase({ scale: 1, seed: 15 });
  key = newKey();
  kit = installTool();
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
  await dropDatabase(source.name);
});

async function sha256Of(stream: AsyncIterable<Buffer> | Iterable<Buffer>): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    hash.update(chunk);
    bytes += chunk.length;
  }
  return { sha256: hash.digest('hex'), bytes };
}

function uploadsTree(root: string): void {
  writeFiles(root, {
    'receipts/2026/11/resibo 1.jpg': noise(40_000, 'r1'),
    'receipts/2026/11/r2.jpg': noise(5_000, 'r2'),
    'notes/listahan.txt': 'Bayad na si Aling Nena.\n'.repeat(500), // gzip-compressed entry
    'docs/kontrata ni Señor Cruz.pdf': noise(9_000, 'pdf'),
    'tiny.txt': 'x',
  }, T0);
  mkdirSync(join(root, 'empty dir'));
  symlinkSync('receipts/2026/11/resibo 1.jpg', join(root, 'latest.jpg'));
}

interface Location {
  name: string;
  deps: JobDeps;
  env: Record<string, string>;
  storeDir?: string;
}

async function localLocation(): Promise<Location> {
  const made = await makeDeps({ key });
  cleanups.push(made.close);
  return { name: 'directory', deps: made.deps, storeDir: join(made.dir, 'store'), env: { BANTAY_STORE: join(made.dir, 'store') } };
}

async function s3Location(): Promise<Location> {
  const endpoint = inject('s3Endpoint');
  const store = await s3TestStore(endpoint);
  const made = await makeDeps({ key, store });
  cleanups.push(made.close);
  const bucket = /^s3:\/\/([^/]+)\//.exec(store.description)![1]!;
  return {
    name: 'S3',
    deps: made.deps,
    env: { BANTAY_STORE: `s3://${bucket}/fbms`, S3_ENDPOINT: endpoint, S3_REGION: 'us-east-1', AWS_ACCESS_KEY_ID: TEST_S3_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: TEST_S3_CREDENTIALS.secretAccessKey },
  };
}

describe.each([
  ['directory', localLocation],
  ['S3', s3Location],
])('the kit alone restores from a %s store', (_name, makeLocation) => {
  let loc: Location;
  let env: Record<string, string>;
  let db: Manifest;
  beforeAll(async () => {
    loc = await makeLocation();
    env = { ...loc.env, BANTAY_ENCRYPTION_KEY: key.key.toString('base64'), PATH };
    db = await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, loc.deps);
  });

  it('database: the tool and Bantay decrypt the same bytes, and pg_restore takes them from the tool', async () => {
    const work = tempDir('bantay-rk-db-');
    const out = join(work, 'fbms.dump');
    const r = await runRecover(['decrypt', db.id, '--out', out], env, kit);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(work)).toEqual(['fbms.dump']);
    const tool = await sha256Of([readFileSync(out)]);
    const bantay = await sha256Of(await openArtifact(db, loc.deps));
    expect(tool).toEqual(bantay);
    expect(tool).toEqual({ sha256: db.artifact.plainSha256, bytes: db.artifact.plainSizeBytes });

    // The RECOVERY.md command, piped, from the kit directory, with nothing but Node and pg tools.
    const targetUrl = await createDatabase();
    const targetName = new URL(targetUrl).pathname.slice(1);
    cleanups.push(() => dropDatabase(targetName));
    const restored = await runShell('node bantay-recover.mjs decrypt latest --kind database | pg_restore --no-owner --exit-on-error -d "$TARGET_URL"', { ...env, TARGET_URL: targetUrl }, kit);
    expect(restored.code, restored.stderr).toBe(0);
    expect(await checksumsOf(targetUrl)).toEqual(await checksumsOf(source.url));
  });

  it('files: --extract restores an uploads chain exactly as Bantay restores it, and tar reads the archive', async () => {
    const work = tempDir('bantay-rk-files-');
    const uploads = join(work, 'uploads');
    uploadsTree(uploads);
    const full = await runUploadsBackup({ uploadsDir: uploads, chainDays: 7, trigger: cliTrigger }, loc.deps);
    writeFiles(uploads, { 'receipts/2026/11/r3.jpg': noise(7_000, 'r3'), 'notes/listahan.txt': 'Bayad na. Salamat!\n'.repeat(400) }, T0 + 86_400);
    rmSync(join(uploads, 'tiny.txt'));
    const incremental = await runUploadsBackup({ uploadsDir: uploads, chainDays: 7, trigger: cliTrigger }, loc.deps);
    expect(incremental.chain).toMatchObject({ parentId: full.id, sequence: 1 });

    const byTool = join(work, 'by-tool');
    const r = await runRecover(['decrypt', incremental.id, '--extract', byTool], env, kit);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`from ${full.id} -> ${incremental.id}`);
    const byBantay = join(work, 'by-bantay');
    await restoreFilesBackup({ manifest: incremental, target: { type: 'directory', dir: byBantay }, trigger: cliTrigger }, loc.deps);
    expect(snapshotTree(byTool)).toEqual(snapshotTree(byBantay));
    expect(snapshotTree(byTool)).toEqual(snapshotTree(uploads));

    // The archive and index decrypt to the same bytes with both implementations.
    const keyId = full.artifact.encryption?.keyId ?? null;
    for (const [name, ref] of [['files.tar', full.artifact], ['files.jsonl.gz', full.files!]] as const) {
      const t = await runRecover(['decrypt', full.id, '--artifact', name], env, kit);
      expect(t.code, t.stderr).toBe(0);
      const bantay = await openSealed({ key: ref.key, sizeBytes: ref.sizeBytes, sha256: ref.sha256, keyId, describe: name }, loc.deps);
      expect(await sha256Of([t.stdout])).toEqual(await sha256Of(bantay));
    }
    const listing = await runShell(`node bantay-recover.mjs decrypt ${full.id} --artifact files.tar | tar -tf -`, env, kit);
    expect(listing.code, listing.stderr).toBe(0);
    expect(listing.stdout.toString().split('\n')).toEqual(expect.arrayContaining(['receipts/2026/11/resibo 1.jpg', 'latest.jpg', 'empty dir/']));
  });
}, 120_000);

describe('the kit refuses damaged backups and leaves nothing half-written', () => {
  let loc: Location;
  let db: Manifest;
  let files: Manifest;
  let env: Record<string, string>;
  const oldKey = newKey();
  beforeAll(async () => {
    const made = await makeDeps({ key: oldKey });
    cleanups.push(made.close);
    loc = { name: 'directory', deps: made.deps, storeDir: join(made.dir, 'store'), env: { BANTAY_STORE: join(made.dir, 'store') } };
    env = { ...loc.env, BANTAY_ENCRYPTION_KEY: oldKey.key.toString('base64'), PATH };
    db = await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, loc.deps);
    const tree = join(tempDir('bantay-rk-tree-'), 'app');
    uploadsTree(tree);
    files = await runApplicationBackup({ appDir: tree, exclude: [], trigger: cliTrigger }, loc.deps);
  });

  it('reads a backup made under a retired key only when that key is configured as retired', async () => {
    const rotated = { ...loc.env, BANTAY_ENCRYPTION_KEY: key.key.toString('base64'), PATH };
    const missing = await runRecover(['decrypt', db.id], rotated, kit);
    expect(missing.code).toBe(1);
    // Its manifest is authenticated under the old key too: refused, naming the key to add.
    expect(missing.stderr).toContain(`REJECTED: it was authenticated with key ${oldKey.id}, which is not configured (configured: ${key.id})`);
    expect(missing.stdout.length).toBe(0);
    const ok = await runRecover(['decrypt', db.id], { ...rotated, BANTAY_DECRYPTION_KEYS: oldKey.key.toString('base64') }, kit);
    expect(ok.code, ok.stderr).toBe(0);
    expect(createHash('sha256').update(ok.stdout).digest('hex')).toBe(db.artifact.plainSha256);
  });

  it('a flipped byte fails the decryption: no --out file, no .partial, exit 1 also on stdout', async () => {
    const work = tempDir('bantay-rk-bad-');
    flipByte(loc.storeDir!, db.artifact.key, -100);
    try {
      const out = join(work, 'db.dump');
      const r = await runRecover(['decrypt', db.id, '--out', out], env, kit);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/FAILED: .*(authentication failed|SHA-256)/);
      expect(readdirSync(work)).toEqual([]);
      const piped = await runRecover(['decrypt', db.id], env, kit);
      expect(piped.code).toBe(1);
      expect(piped.stdout.length).toBeLessThan(db.artifact.plainSizeBytes);
    } finally {
      flipByte(loc.storeDir!, db.artifact.key, -100);
    }
    expect((await runRecover(['decrypt', db.id, '--out', join(work, 'db.dump')], env, kit)).code).toBe(0);
  });

  it('a damaged files archive fails --extract and removes what it wrote', async () => {
    const work = tempDir('bantay-rk-bad-files-');
    flipByte(loc.storeDir!, files.artifact.key, -40);
    try {
      const r = await runRecover(['decrypt', files.id, '--extract', join(work, 'app')], env, kit);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain('FAILED');
      expect(readdirSync(work)).toEqual([]);
    } finally {
      flipByte(loc.storeDir!, files.artifact.key, -40);
    }
    const ok = await runRecover(['decrypt', files.id, '--extract', join(work, 'app')], env, kit);
    expect(ok.code, ok.stderr).toBe(0);
    expect(existsSync(join(work, 'app', 'latest.jpg'))).toBe(true);
  });

  it('a manifest edited to point at another backup\'s artifact is refused', async () => {
    const manifestPath = join(loc.storeDir!, `backups/${db.id}/manifest.json`);
    const original = readFileSync(manifestPath);
    try {
      const doctored = { ...db, artifact: { ...db.artifact, key: files.artifact.key } };
      writeFileSync(manifestPath, JSON.stringify(doctored));
      const r = await runRecover(['decrypt', db.id], env, kit);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(`REJECTED: it names an artifact outside backups/${db.id}/`);
    } finally {
      writeFileSync(manifestPath, original);
    }
  });
});

describe('the kit over an unreliable S3 connection (fault proxy in front of the test server)', () => {
  it('retries a failed listing and resumes a download cut mid-way, byte-exact', async () => {
    const endpoint = inject('s3Endpoint');
    const store = await s3TestStore(endpoint);
    const made = await makeDeps({ key, store });
    cleanups.push(made.close);
    const db = await runDatabaseBackup({ databaseUrl: source.url, trigger: cliTrigger }, made.deps);
    expect(db.artifact.sizeBytes).toBeGreaterThan(300_000);
    const proxy = await startFaultProxy(endpoint);
    cleanups.push(() => proxy.stop());
    proxy.add({ method: 'GET', url: 'list-type=2', fault: { kind: 'status', status: 503, code: 'SlowDown' }, times: 1 });
    proxy.add({ method: 'GET', url: db.artifact.key, fault: { kind: 'reset-response', afterBytes: 100_000 }, times: 2 });
    const bucket = /^s3:\/\/([^/]+)\//.exec(store.description)![1]!;
    const env = { BANTAY_STORE: `s3://${bucket}/fbms`, S3_ENDPOINT: proxy.endpoint, AWS_ACCESS_KEY_ID: 'a', AWS_SECRET_ACCESS_KEY: 'b', BANTAY_ENCRYPTION_KEY: key.key.toString('base64') };
    const out = join(tempDir('bantay-rk-flaky-'), 'db.dump');
    const r = await runRecover(['decrypt', db.id, '--out', out], env, kit);
    expect(r.code, r.stderr).toBe(0);
    expect(proxy.hits()).toEqual([1, 2]);
    expect(r.stderr).toMatch(/resuming at byte \d+/);
    const ranges = proxy.seen().filter((s) => s.url.includes(db.artifact.key)).map((s) => s.headers.range);
    expect(ranges[0]).toBeUndefined();
    expect(ranges.slice(1)).toEqual([expect.stringMatching(/^bytes=\d+-$/), expect.stringMatching(/^bytes=\d+-$/)]);
    expect(createHash('sha256').update(readFileSync(out)).digest('hex')).toBe(db.artifact.plainSha256);
  });
});
