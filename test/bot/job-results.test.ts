import { describe, expect, it } from 'vitest';
import { drillResult, filesRestoreResult, filesVerifyResult, verifyResult } from '../../src/bot/job-results.ts';
import { buildJobResultMessage } from '../../src/bot/messages/job-message.ts';
import type { DrillOutcome } from '../../src/jobs/drill.ts';
import type { VerifyResult } from '../../src/jobs/verify-backup.ts';

const heading = { title: 'Job', requestedBy: 'U1' };
const hostile = 'pg_restore: error: <!channel> relation "a&b" <https://evil.example|click>';
const shown = (r: ReturnType<typeof verifyResult>) => JSON.stringify(buildJobResultMessage(heading, r, 1).blocks);

describe('final job messages', () => {
  it('escape what the system reported (check details, paths), so it cannot ping the channel or forge a link', () => {
    const verify = verifyResult({ backupId: 'db-x', passed: false, checks: [{ name: 'restore', status: 'failed', detail: hostile }], durationSeconds: 1, restoreSeconds: 1 } as unknown as VerifyResult);
    const files = filesVerifyResult('app-x', { passed: false, checks: [{ name: 'sha', passed: false, detail: hostile }], durationSeconds: 1 } as never);
    const restore = filesRestoreResult({ backupId: 'upl-x', kind: 'uploads', restoredTo: '/srv/<!here>', files: 1, bytes: 1, archivesRead: [], durationSeconds: 1, previousDir: '/srv/<!here>.old' });
    const drill = drillResult({
      report: { id: 'drill-x', passed: false, counts: { passed: 0, failed: 1, skipped: 0 }, objectives: { rtoSeconds: 1, rpoSeconds: 1 }, items: [{ kind: 'database', status: 'failed', backupId: 'db-x', rtoSeconds: null, rpoSeconds: null, checks: [{ name: 'restore', status: 'failed', detail: hostile }] }] },
      text: '',
    } as unknown as DrillOutcome);
    for (const r of [verify, files, restore, drill]) {
      expect(shown(r)).not.toMatch(/<!channel>|<!here>|<https:/);
    }
    expect(shown(verify)).toContain('&lt;!channel&gt;');
  });
});
