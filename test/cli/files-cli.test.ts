import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runFilesRestoreCommand, runFilesVerifyCommand } from '../../src/cli/commands/restore-files.ts';
import { CliContext } from '../../src/cli/context.ts';
import { main } from '../../src/cli/main.ts';
import { localDay } from '../../src/jobs/files/select-by-date.ts';
import { createDatabase, createFbmsDatabase, dropDatabase } from '../support/databases.ts';
import { noise, snapshotTree, writeFiles } from '../support/file-trees.ts';
import { newKey, tempDir } from '../support/job-deps.ts';

function sink() {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (b: Buffer) => (text += b.toString()));
  return { stream: stream as unknown as NodeJS.WriteStream, text: () => text };
}

let source: { url: string; name: string };
let cwd: string;
let env: Record<string, string>;
let stateDb: string;

async function bantay(args: string[]) {
  const stdout = sink();
  const stderr = sink();
  const code = await main(args, { stdout: stdout.stream, stderr: stderr.stream, env, cwd, signal: new AbortController().signal });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}

/** Runs fn with a CliContext on the same environment, as the restore/verify dispatch will. */
async function withContext<T>(fn: (ctx: CliContext, out: () => string) => Promise<T>): Promise<T> {
  const stdout = sink();
  const ctx = new CliContext({ stdout: stdout.stream, stderr: sink().stream, env, cwd, signal: new AbortController().signal });
  try {
    return await fn(ctx, stdout.text);
  } finally {
    await ctx.close();
  }
}

beforeAll(async () => {
  let stateUrl: string;
  // A state database on the test cluster: each command opens it in milliseconds (PGlite takes seconds).
  [source, stateUrl] = await Promise.all([createFbmsDatabase({ scale: 0.05 }), createDatabase()]);
  stateDb = new URL(stateUrl).pathname.slice(1);
  cwd = tempDir('bantay-cli-files-');
  writeFiles(join(cwd, 'fbms'), { 'package.json': '{}', 'src/app.js': 'run()', 'node_modules/a/index.js': 'a' });
  writeFiles(join(cwd, 'uploads'), { 'receipts/r1.jpg': noise(4000, 'r1'), 'notes.txt': 'salamat po\n'.repeat(100) });
  env = { DATABASE_URL: source.url, BANTAY_STATE_URL: stateUrl, APP_DIR: 'fbms', UPLOADS_DIR: 'uploads', BANTAY_ENCRYPTION_KEY: newKey().key.toString('base64'), BANTAY_LOG_LEVEL: 'warn' };
});
afterAll(async () => {
  await Promise.all([dropDatabase(source.name), dropDatabase(stateDb)]);
});

describe('bantay files commands', () => {
  it('backup uploads (full, then incremental), backup application, list, restore --to and --date, verify', async () => {
    const full = await bantay(['backup', 'uploads', '--json']);
    expect(full.code).toBe(0);
    const first = JSON.parse(full.stdout) as { id: string; chain: { parentId: string | null }; files: { treeFiles: number } };
    expect(first.chain.parentId).toBeNull();
    const tree = snapshotTree(join(cwd, 'uploads'));
    writeFiles(join(cwd, 'uploads'), { 'receipts/r2.jpg': noise(4000, 'r2') });
    const incremental = await bantay(['backup', 'uploads']);
    expect(incremental.code).toBe(0);
    expect(incremental.stdout).toMatch(/uploads backup upl-\S+ stored: .* 1 of 3 files stored .* incremental #1 on /);
    const app = await bantay(['backup', 'application', '--label', 'before-fix', '--json']);
    expect(app.code).toBe(0);
    expect(JSON.parse(app.stdout)).toMatchObject({ kind: 'application', label: 'before-fix', files: { treeFiles: 2 } });
    const list = await bantay(['list', '--kind', 'uploads', '--json']);
    expect((JSON.parse(list.stdout) as unknown[]).length).toBe(2);

    await withContext((ctx) => runFilesRestoreCommand(ctx, first.id, { to: 'restored-first' }));
    expect(snapshotTree(join(cwd, 'restored-first'))).toEqual(tree);
    const today = localDay(new Date(), 'Asia/Manila');
    const byDate = await withContext(async (ctx, out) => {
      await runFilesRestoreCommand(ctx, undefined, { date: today, to: 'restored-today', json: true });
      return JSON.parse(out()) as { backupId: string; files: number };
    });
    expect(byDate.files).toBe(3);
    expect(snapshotTree(join(cwd, 'restored-today'))).toEqual(snapshotTree(join(cwd, 'uploads')));
    await expect(withContext((ctx) => runFilesRestoreCommand(ctx, undefined, { date: '2001-01-01' }))).rejects.toThrow(/No uploads backup was taken on 2001-01-01 \(Asia\/Manila\)/);
    const verified = await withContext((ctx) => runFilesVerifyCommand(ctx, byDate.backupId, {}));
    expect(verified.passed).toBe(true);
  });

  it('backup pre-deploy labels both backups; list --label finds them', async () => {
    const pre = await bantay(['backup', 'pre-deploy', 'v1.4.0']);
    expect(pre.code).toBe(0);
    expect(pre.stdout).toMatch(/Backup set set-\S+ \(pre-deploy, label v1.4.0\): COMPLETE/);
    const list = await bantay(['list', '--label', 'v1.4.0', '--json']);
    expect((JSON.parse(list.stdout) as Array<{ kind: string }>).map((m) => m.kind).sort()).toEqual(['application', 'database']);
  });

  it('Ctrl-C while the application is stopped for an in-place restore still runs the start hook', async () => {
    const dir = tempDir('bantay-cli-hooks-');
    writeFiles(join(dir, 'app'), { 'index.js': 'serve()' });
    const saved = env;
    env = { ...env, APP_DIR: join(dir, 'app') };
    try {
      const backup = await bantay(['backup', 'application', '--json']);
      expect(backup.code).toBe(0);
      const { id } = JSON.parse(backup.stdout) as { id: string };
      env = { ...env, BANTAY_APP_STOP_CMD: `sh -c 'touch ${join(dir, 'stopped')} && exec sleep 20'`, BANTAY_APP_START_CMD: `touch ${join(dir, 'started')}` };
      const controller = new AbortController();
      const stderr = sink();
      const running = main(['restore', id, '--in-place', '--yes'], { stdout: sink().stream, stderr: stderr.stream, env, cwd, signal: controller.signal });
      // Cancel while the stop hook holds the application down.
      while (!existsSync(join(dir, 'stopped'))) await new Promise((r) => setTimeout(r, 20));
      controller.abort(new Error('Interrupted by SIGINT'));
      expect(await running).toBe(130); // cancelled (src/failure.ts)
      // The application was stopped for the restore; cancelling must bring it back.
      expect(existsSync(join(dir, 'started'))).toBe(true);
    } finally {
      env = saved;
    }
  });

  it('export-user with a hostile id exits 1 with a clear message; a missing UPLOADS_DIR is a configuration error', async () => {
    const hostile = await bantay(['export-user', "1; DROP TABLE users; --"]);
    expect(hostile.code).toBe(1);
    expect(hostile.stderr).toMatch(/No FBMS user has the id "1; DROP TABLE users; --"; nothing was exported/);
    const out = join(cwd, 'export.tar.gz');
    const ok = await bantay(['export-user', '1', '-o', out]);
    expect(ok.code).toBe(0);
    expect(readFileSync(out).subarray(0, 2)).toEqual(Buffer.from([0x1f, 0x8b]));
    // Someone else's FILE.partial is refused and left as it was.
    const other = join(cwd, 'other.tar.gz');
    writeFileSync(`${other}.partial`, 'theirs');
    expect((await bantay(['export-user', '1', '-o', other])).code).toBe(1);
    expect(readFileSync(`${other}.partial`, 'utf8')).toBe('theirs');
    const saved = env;
    env = { ...env, UPLOADS_DIR: '' };
    const missing = await bantay(['backup', 'uploads']);
    env = saved;
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/UPLOADS_DIR: is required/);
  });
});
