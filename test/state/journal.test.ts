import { existsSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { listAudit, recordAudit } from '../../src/state/audit-log.ts';
import { finishJobRun, startJobRun } from '../../src/state/job-runs.ts';
import { appendJournal, assertJournalable, journalDir, pendingEntries } from '../../src/state/journal.ts';
import { seedFromTemplate, templateFile } from '../../src/state/pglite-template.ts';
import { openStateDb, writeState } from '../../src/state/state-db.ts';

const dataDir = () => mkdtempSync(join(tmpdir(), 'bantay-journal-'));

describe('state journal', () => {
  it('a process that defers writes never opens the embedded database; the next opener imports its rows, times kept', async () => {
    const dir = dataDir();
    const cli = await openStateDb({ url: undefined, dataDir: dir, deferWrites: true });
    await startJobRun(cli, { id: 'run-1', job: 'backup database', performedBy: 'cli:test' });
    await finishJobRun(cli, 'run-1', { status: 'succeeded', backupId: 'db-1' });
    await recordAudit(cli, { operationType: 'backup', status: 'succeeded', performedBy: 'cli:test', backupId: 'db-1', details: { a: 1 } });
    const written = new Date();
    await cli.close();
    expect(existsSync(join(dir, 'state'))).toBe(false);
    expect(existsSync(join(dir, 'state.lock'))).toBe(false);
    expect(pendingEntries(dir)).toHaveLength(3);

    await new Promise((r) => setTimeout(r, 50));
    const db = await openStateDb({ url: undefined, dataDir: dir });
    const [run] = await db.query<{ status: string; backup_id: string; finished_at: Date }>('SELECT status, backup_id, finished_at FROM job_runs WHERE id = $1', ['run-1']);
    expect(run).toMatchObject({ status: 'succeeded', backup_id: 'db-1' });
    expect(run!.finished_at.getTime()).toBeLessThanOrEqual(written.getTime());
    const [audit] = await listAudit(db);
    expect(audit).toMatchObject({ operationType: 'backup', backupId: 'db-1' });
    expect(audit!.createdAt.getTime()).toBeLessThanOrEqual(written.getTime());
    expect(pendingEntries(dir)).toHaveLength(0);
    await db.close();
  });

  it('the process holding the database (bantay serve) sees a CLI run\'s journaled writes at its next query', async () => {
    const dir = dataDir();
    const serve = await openStateDb({ url: undefined, dataDir: dir });
    const cli = await openStateDb({ url: undefined, dataDir: dir, deferWrites: true });
    await startJobRun(cli, { id: 'beside-serve', job: 'backup database', performedBy: 'cli:test' });
    const rows = await serve.query<{ status: string }>('SELECT status FROM job_runs WHERE id = $1', ['beside-serve']);
    expect(rows).toEqual([{ status: 'running' }]);
    await Promise.all([cli.close(), serve.close()]);
  });

  it('a deferring process that then reads opens the database and sees its own earlier writes, in order', async () => {
    const dir = dataDir();
    const cli = await openStateDb({ url: undefined, dataDir: dir, deferWrites: true });
    await startJobRun(cli, { id: 'r', job: 'prune', performedBy: 'cli:test' });
    await finishJobRun(cli, 'r', { status: 'failed', errorMessage: 'boom' });
    expect(await cli.query('SELECT status, error_message FROM job_runs')).toEqual([{ status: 'failed', error_message: 'boom' }]);
    // Open now: later writes go straight in.
    await startJobRun(cli, { id: 'r2', job: 'prune', performedBy: 'cli:test' });
    expect(pendingEntries(dir)).toHaveLength(0);
    expect(await cli.query('SELECT id FROM job_runs ORDER BY id')).toEqual([{ id: 'r' }, { id: 'r2' }]);
    await cli.close();
  });

  it('applies an entry exactly once even when the importer died between its commit and deleting the file', async () => {
    const dir = dataDir();
    const cli = await openStateDb({ url: undefined, dataDir: dir, deferWrites: true });
    await recordAudit(cli, { operationType: 'backup', status: 'succeeded', performedBy: 'cli:test' });
    const [name] = pendingEntries(dir);
    // Reproduce the crash window: the row and its applied name committed, the file still there.
    const first = await openStateDb({ url: undefined, dataDir: dir });
    expect(await listAudit(first)).toHaveLength(1);
    await first.query('INSERT INTO state_journal_applied (name) VALUES ($1)', [name]);
    await first.close();
    appendJournalCopy(dir, name!);
    const again = await openStateDb({ url: undefined, dataDir: dir });
    expect(await listAudit(again)).toHaveLength(1);
    expect(pendingEntries(dir)).toHaveLength(0);
    expect(await again.query('SELECT name FROM state_journal_applied')).toEqual([]);
    await again.close();
  });

  it('an entry that cannot be applied is kept in failed/ and reported; the entries after it still apply', async () => {
    const dir = dataDir();
    appendJournal(dir, 'INSERT INTO table_of_a_newer_bantay (x) VALUES ($1)', [1]);
    const cli = await openStateDb({ url: undefined, dataDir: dir, deferWrites: true });
    await recordAudit(cli, { operationType: 'backup', status: 'succeeded', performedBy: 'cli:test' });
    const problems: Array<{ file: string; error: string }> = [];
    const db = await openStateDb({ url: undefined, dataDir: dir, onJournalProblem: (p) => problems.push(p) });
    expect(await listAudit(db)).toHaveLength(1);
    expect(problems).toHaveLength(1);
    expect(problems[0]!.error).toMatch(/table_of_a_newer_bantay/);
    expect(readdirSync(join(journalDir(dir), 'failed'))).toHaveLength(1);
    await db.close();
  });

  it('refuses writes that would mean something else when applied later', async () => {
    expect(() => assertJournalable('UPDATE job_runs SET finished_at = now() WHERE id = $1')).toThrow(/own time/);
    expect(() => assertJournalable('INSERT INTO approvals (id) VALUES ($1) RETURNING id')).toThrow();
    expect(() => assertJournalable('SELECT 1')).toThrow();
    const db = await openStateDb({ url: undefined, dataDir: dataDir(), deferWrites: true });
    await expect(writeState(db, "INSERT INTO backup_audit (operation_type, status, performed_by, created_at) VALUES ('x', 'y', 'z', CURRENT_TIMESTAMP)", [])).rejects.toThrow(/own time/);
    await db.close();
  });
});

describe('embedded state template', () => {
  // The build (npm ci / npm run build) makes the template; without a build PGlite initialises itself.
  it.skipIf(!existsSync(templateFile()))('the first open copies the built template instead of running initdb', async () => {
    const dir = dataDir();
    expect(await seedFromTemplate(join(dir, 'state'))).toBe(true);
    expect(statSync(join(dir, 'state', 'PG_VERSION')).mtimeMs).toBeLessThan(statSync(templateFile()).mtimeMs + 1000);
    expect(await seedFromTemplate(join(dir, 'state'))).toBe(false);
    const db = await openStateDb({ url: undefined, dataDir: dir });
    await recordAudit(db, { operationType: 'backup', status: 'succeeded', performedBy: 'cli:test' });
    expect(await listAudit(db)).toHaveLength(1);
    await db.close();
  });
});

/** Puts back a journal file with the given name (as if its deletion never happened). */
function appendJournalCopy(dir: string, name: string): void {
  writeFileSync(
    join(journalDir(dir), name),
    JSON.stringify({ v: 1, sql: 'INSERT INTO backup_audit (operation_type, status, performed_by, created_at) VALUES ($1, $2, $3, $4)', params: ['backup', 'succeeded', 'cli:test', new Date().toISOString()] }),
  );
}
