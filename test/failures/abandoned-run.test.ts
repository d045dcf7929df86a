import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listAudit } from '../../src/state/audit-log.ts';
import { openStateDb } from '../../src/state/state-db.ts';
import { createFbmsDatabase, dropDatabase } from '../support/databases.ts';
import { fakePgBinDir } from '../support/fake-pg-dump.ts';
import { newKey, tempDir } from '../support/job-deps.ts';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
let source: { url: string; name: string };

beforeAll(async () => {
  source = await createFbmsDatabase({ scale: 0.05 });
});
afterAll(async () => {
  await dropDatabase(source.name);
});

describe('a job killed with SIGKILL', () => {
  it('leaves a run that the next start of any Bantay process closes as abandoned, with an audit row', async () => {
    const dir = tempDir('bantay-kill9-');
    const marker = join(dir, 'dumping');
    const env = {
      PATH: process.env.PATH ?? '',
      DATABASE_URL: source.url,
      BANTAY_STORE: join(dir, 'store'),
      BANTAY_DATA_DIR: join(dir, 'var'),
      BANTAY_ENCRYPTION_KEY: newKey().key.toString('base64'),
      // Dumps, says so, then hangs: the moment to pull the plug.
      BANTAY_PG_BIN: fakePgBinDir(`"$REAL" "$@"; touch '${marker}'; sleep 60`),
      BANTAY_LOG_LEVEL: 'error',
    };
    const child = spawn(process.execPath, ['bin/bantay.js', 'backup', 'database'], { cwd: ROOT, env, stdio: 'ignore' });
    const exited = new Promise((resolve) => child.once('exit', resolve));
    const deadline = Date.now() + 120_000;
    while (!existsSync(marker) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(marker)).toBe(true);
    // A one-shot backup journals its state writes (the job run included) instead of holding the
    // embedded database, so the run row reaches the database only at the next start.
    child.kill('SIGKILL');
    await exited;

    // The next start (here: opening the state database, as every command does).
    const db = await openStateDb({ url: undefined, dataDir: join(dir, 'var') });
    try {
      const runs = await db.query<{ job: string; status: string; failure_cause: string; finished_at: Date | null }>('SELECT job, status, failure_cause, finished_at FROM job_runs');
      expect(runs).toHaveLength(1);
      expect(runs[0]).toMatchObject({ job: 'backup database', status: 'abandoned', failure_cause: 'abandoned' });
      expect(runs[0]!.finished_at).not.toBeNull();
      const audit = (await listAudit(db)).find((a) => a.status === 'abandoned');
      expect(audit).toMatchObject({ operationType: 'backup', backupType: 'database', performedBy: expect.stringMatching(/^cli:/) });
      expect(audit!.errorMessage).toMatch(/backup database started .* was abandoned: its process stopped without finishing/);
    } finally {
      await db.close();
    }
  });
});
