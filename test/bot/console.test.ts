import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBotJobs } from '../../src/bot/bot-jobs.ts';
import { runConsole } from '../../src/bot/console/console-session.ts';
import { listBackups } from '../../src/catalog/catalog.ts';
import { createFbmsDatabase, dropDatabase } from '../support/databases.ts';
import { makeBotDeps, RECOVERY } from './harness.ts';

let source: { url: string; name: string };

beforeAll(async () => {
  source = await createFbmsDatabase({ scale: 0.1 });
});
afterAll(async () => {
  await dropDatabase(source.name);
});

async function runScript(lines: string[]): Promise<{ output: string; deps: Awaited<ReturnType<typeof makeBotDeps>>['deps'] }> {
  const { deps, dir, close } = await makeBotDeps();
  const input = new PassThrough();
  const output = new PassThrough();
  let text = '';
  output.on('data', (c: Buffer) => (text += c.toString('utf8')));
  input.end(`${lines.join('\n')}\n`);
  await runConsole({
    input,
    output,
    deps,
    jobs: createBotJobs(deps, { databaseUrl: source.url, recovery: RECOVERY }),
    logger: deps.logger,
    settings: { channel: 'C0INCIDENTS', operators: ['U0CAROL'], approvers: ['U0ALICE', 'U0BOB'], approvalTtlSeconds: 1800, progressIntervalMs: 200 },
    user: 'U0ALICE',
  });
  const result = { output: text, deps };
  await close();
  return result;
}

describe('bantay console', () => {
  it('runs the real handlers and jobs offline: /backup through the modal to the result, /backups, an approval round', async () => {
    const { output, deps } = await runScript([
      'help',
      '/backup nonsense',
      '/backup',
      '', // label: keep empty
      'y', // Start backup?
      'wait',
      '/backups',
      '/restore',
      '1', // the backup
      '2', // in place
      '', // no in-place choices
      '', // no new name
      'console test restore',
      '', // confirm name left empty: the form must refuse
      'y',
      '1',
      '2',
      '',
      '',
      'console test restore',
      'DBNAME',
      'y',
      'approve', // as the requester: refused
      'as U0BOB',
      'reject',
      'home',
      'quit',
    ].map((l) => l.replace('DBNAME', source.name)));
    expect(output).toMatch(/Usage/);
    expect(output).toMatch(/Modal: Confirm backup/);
    expect(output).toMatch(/Backup db-\d{8}T\d{6}Z-[0-9a-f]{4} stored/);
    expect(output).toMatch(/message \S+ updated/);
    expect(output).toMatch(/Modal: Restore a backup/);
    expect(output).toMatch(/Please fix:\n\s+restore_confirm_name: Type/);
    expect(output).toMatch(/Approval needed: in-place restore/);
    expect(output).toMatch(/\[Approve\] \[Reject\]/);
    expect(output).toMatch(/different approver must approve it/);
    expect(output).toMatch(/Rejected by @U0BOB/);
    expect(output).toMatch(/App Home of U0BOB/);
    expect(await listBackups(deps.store, deps)).toHaveLength(1);
  });
});
