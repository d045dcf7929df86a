import { describe, expect, it } from 'vitest';
import { runChecks, type BackupSummary, type MonitorInput } from '../../../src/jobs/monitor/checks.ts';
import type { FireRecord } from '../../../src/schedule/lease.ts';
import { DEFAULT_SCHEDULE } from '../../../src/schedule/schedule-config.ts';

const manila = (wall: string) => new Date(`${wall}+08:00`);
const NOW = manila('2026-11-26T10:00:00');
let n = 0;

function b(kind: BackupSummary['kind'], wall: string, sizeBytes = 50_000_000, extra: Partial<BackupSummary> = {}): BackupSummary {
  n += 1;
  return { id: `${kind}-${n}`, kind, createdAt: manila(wall).toISOString(), sizeBytes, format: kind === 'database' ? 'pg_dump-custom' : 'tar', incremental: false, ...extra };
}

/** Healthy: every kind backed up at its scheduled time this morning, a week of history. */
function healthy(): MonitorInput {
  const backups: BackupSummary[] = [];
  for (let d = 26; d >= 19; d--) {
    const day = `2026-11-${String(d).padStart(2, '0')}`;
    backups.push(b('database', `${day}T02:00:05`), b('application', `${day}T02:30:05`, 9_000_000), b('uploads', `${day}T03:00:05`, 900_000_000));
  }
  backups.sort((x, y) => y.createdAt.localeCompare(x.createdAt));
  return {
    now: NOW,
    timezone: 'Asia/Manila',
    schedule: { ...DEFAULT_SCHEDULE },
    thresholds: { graceSeconds: 7200, minBackupBytes: { database: 1_000_000, application: 0, uploads: 0 }, sizeDropPercent: 50, stuckJobSeconds: 6 * 3600, secondaryMaxLagSeconds: 30 * 3600 },
    primary: { backups },
    storage: [{ location: 'primary', bytes: 10e9, objects: 100 }],
    jobRuns: [],
    fires: [],
    verifications: [{ backupId: 'database-1', kind: 'database', verifiedAt: manila('2026-11-26T04:10:00').toISOString(), passed: true, failedChecks: [] }],
  };
}

const keys = (input: MonitorInput) => runChecks(input).map((p) => p.key).sort();
const without = (input: MonitorInput, pred: (x: BackupSummary) => boolean): MonitorInput => ({ ...input, primary: { backups: ('backups' in input.primary ? input.primary.backups : []).filter((x) => !pred(x)) } });

describe('runChecks', () => {
  it('a healthy installation has no problems', () => {
    expect(runChecks(healthy())).toEqual([]);
  });

  describe('dead-man switch: the newest backup of each scheduled kind is younger than its schedule allows', () => {
    it.each([
      // [now (Manila), database backups removed after, expected problems]
      ['2026-11-26T03:59:00', '2026-11-26T00:00:00', []], // 02:00 run missing, but still within the 2h grace
      ['2026-11-26T04:01:00', '2026-11-26T00:00:00', ['stale:database']], // grace is over
      ['2026-11-26T10:00:00', '2026-11-25T00:00:00', ['stale:database']], // two runs missing
      ['2026-11-26T01:30:00', '2026-11-26T00:00:00', []], // before today's fire, yesterday's counts
    ])('at %s with no database backup after %s: %j', (now, cutoff, expected) => {
      const input = without({ ...healthy(), now: manila(now) }, (x) => x.kind === 'database' && x.createdAt >= manila(cutoff).toISOString());
      expect(keys(input).filter((k) => k.startsWith('stale'))).toEqual(expected);
    });

    it('the Sunday full set counts for every kind; a disabled schedule is not watched', () => {
      // Sunday 2026-11-29 05:30: daily uploads (03:00) missing, but the full set (01:00) produced one.
      const input = healthy();
      const sunday = manila('2026-11-29T05:30:00');
      const backups = ('backups' in input.primary ? input.primary.backups : []).concat([
        b('database', '2026-11-29T02:00:05'), b('application', '2026-11-29T02:30:05', 9_000_000), b('uploads', '2026-11-29T01:00:10', 900_000_000),
      ]).sort((x, y) => y.createdAt.localeCompare(x.createdAt));
      expect(keys({ ...input, now: sunday, primary: { backups } }).filter((k) => k.startsWith('stale'))).toEqual(['stale:uploads']);
      expect(keys({ ...input, now: sunday, primary: { backups }, schedule: { ...DEFAULT_SCHEDULE, uploads: null } }).filter((k) => k.startsWith('stale'))).toEqual([]);
    });

    it('says when the missed run was, what the newest backup is, and what to do', () => {
      const input = without({ ...healthy(), now: manila('2026-11-26T05:00:00') }, (x) => x.kind === 'database' && x.createdAt >= manila('2026-11-26T00:00:00').toISOString());
      const [p] = runChecks(input);
      expect(p).toMatchObject({ key: 'stale:database', severity: 'critical', title: 'No database backup since the scheduled run of 2026-11-26 02:00', fingerprint: manila('2026-11-26T02:00:00').toISOString() });
      expect(p!.text).toMatch(/newest is database-\d+, from 27h ago/);
      expect(p!.remedy).toMatch(/bantay serve .* bantay backup database/);
    });
  });

  it.each([
    ['below the 1 MB floor', 900_000, ['size-drop:database', 'size-floor:database']],
    ['half the median (just above 50%: fine)', 25_100_000, []],
    ['under half the median', 24_000_000, ['size-drop:database']],
  ])('database backup %s', (_name, size, expected) => {
    const input = healthy();
    const backups = 'backups' in input.primary ? input.primary.backups : [];
    backups[0] = { ...backups.find((x) => x.kind === 'database')!, sizeBytes: size };
    const fixed = { ...input, primary: { backups: [backups[0]!, ...backups.slice(1).filter((x) => x.id !== backups[0]!.id)] } };
    expect(keys(fixed).filter((k) => k.startsWith('size'))).toEqual(expected);
  });

  it('uploads incrementals are compared with incrementals only', () => {
    const input = healthy();
    const backups = ('backups' in input.primary ? input.primary.backups : []).filter((x) => x.kind !== 'uploads');
    const uploads = [b('uploads', '2026-11-26T03:00:05', 2_000_000, { incremental: true })];
    for (let d = 25; d >= 19; d--) uploads.push(b('uploads', `2026-11-${d}T03:00:05`, d === 22 ? 900_000_000 : 3_000_000, { incremental: d !== 22 }));
    expect(keys({ ...input, primary: { backups: [...uploads, ...backups].sort((x, y) => y.createdAt.localeCompare(x.createdAt)) } })).toEqual([]);
  });

  it('failed, aborted and abandoned scheduled fires; failed manual runs; stuck runs', () => {
    const fire = (job: string, status: FireRecord['status'], wall: string): FireRecord => ({
      job, fireAt: manila(wall), owner: 'replica-a', acquiredAt: manila(wall), heartbeatAt: manila(wall), expiresAt: manila(wall), releasedAt: null, status, errorMessage: status === 'failed' ? 'pg_dump exited with status 1' : null, abandoned: status === 'abandoned',
    });
    const input: MonitorInput = {
      ...healthy(),
      fires: [fire('database', 'succeeded', '2026-11-26T02:00:00'), fire('sync', 'failed', '2026-11-26T05:00:00'), fire('verify', 'abandoned', '2026-11-26T04:00:00')],
      jobRuns: [
        { id: 'r1', job: 'backup application', status: 'failed', performedBy: 'cli:alice', startedAt: manila('2026-11-26T08:00:00'), finishedAt: manila('2026-11-26T08:01:00'), errorMessage: 'APP_DIR missing' },
        { id: 'r0', job: 'backup application', status: 'succeeded', performedBy: 'cli:alice', startedAt: manila('2026-11-26T07:00:00'), finishedAt: null, errorMessage: null },
        { id: 'r2', job: 'backup database', status: 'failed', performedBy: 'schedule', startedAt: manila('2026-11-26T02:00:00'), finishedAt: null, errorMessage: 'x' },
        { id: 'r3', job: 'drill', status: 'running', performedBy: 'slack:U1', startedAt: manila('2026-11-26T01:00:00'), finishedAt: null, errorMessage: null },
      ],
    };
    const problems = runChecks(input);
    expect(problems.map((p) => p.key).sort()).toEqual(['job-failed:backup application', 'job-stuck:r3', 'schedule:sync', 'schedule:verify']);
    expect(problems.find((p) => p.key === 'schedule:verify')).toMatchObject({ severity: 'critical', title: 'Scheduled verify run of 2026-11-26 04:00 abandoned' });
    expect(problems.find((p) => p.key === 'schedule:sync')!.text).toContain('pg_dump exited with status 1');
    expect(problems.find((p) => p.key === 'job-stuck:r3')!.title).toBe('Drill has been running for 9h');
  });

  it('verification failures, the secondary, and storage', () => {
    const input: MonitorInput = {
      ...healthy(),
      verifications: [{ backupId: 'database-1', kind: 'database', verifiedAt: manila('2026-11-26T04:10:00').toISOString(), passed: false, failedChecks: ['row counts: orders 10 != 3'] }],
      secondary: { lag: { newestPrimary: manila('2026-11-26T03:00:05').toISOString(), newestSecondary: manila('2026-11-24T03:00:05').toISOString(), lagSeconds: 48 * 3600, missing: ['a', 'b'] } },
      storage: [{ location: 'primary', bytes: 600e9, objects: 10 }, { location: 'secondary', bytes: 100e9, objects: 5 }],
      thresholds: { ...healthy().thresholds, storageWarnBytes: 500e9 },
    };
    expect(keys(input)).toEqual(['secondary-lag', 'storage-high:primary', 'verify-failed:database']);
    expect(keys({ ...healthy(), secondary: { error: 'connect ECONNREFUSED' } })).toEqual(['secondary-unreachable']);
    expect(keys({ ...healthy(), secondary: { lag: { newestPrimary: null, newestSecondary: null, lagSeconds: 5 * 3600, missing: ['x'] } } })).toEqual([]);
    expect(keys({ ...healthy(), primary: { error: 'ECONNREFUSED' } })).toEqual(['primary-unreachable']);
  });

  it('could-not-check and abandoned manual runs are worded as such; skipped uploads are an alert', () => {
    const run = (id: string, job: string, status: MonitorInput['jobRuns'][number]['status'], errorMessage: string | null) => ({
      id, job, status, performedBy: 'cli:alice', startedAt: manila('2026-11-26T08:00:00'), finishedAt: manila('2026-11-26T08:05:00'), errorMessage,
    });
    const input: MonitorInput = {
      ...healthy(),
      jobRuns: [
        run('v1', 'verify database', 'could-not-check', 'Verify could not be checked: the backup store could not be reached'),
        run('b1', 'backup database', 'abandoned', 'the Bantay process running it stopped without finishing'),
        run('c1', 'backup application', 'cancelled', 'Backup cancelled'),
      ],
    };
    const problems = runChecks(input);
    expect(problems.map((p) => p.key).sort()).toEqual(['job-failed:backup database', 'job-failed:verify database']);
    const verify = problems.find((p) => p.key === 'job-failed:verify database')!;
    expect(verify.title).toBe('Verify database could not check (run by cli:alice)');
    expect(verify.text).toMatch(/says nothing about the backup itself/);
    expect(verify.text).not.toMatch(/may not restore|FAILED/);
    expect(problems.find((p) => p.key === 'job-failed:backup database')!.title).toBe('Backup database was abandoned (run by cli:alice)');

    const backups = 'backups' in input.primary ? input.primary.backups : [];
    const newestUploads = backups.find((x) => x.kind === 'uploads')!;
    const skipped: MonitorInput = { ...healthy(), primary: { backups: backups.map((x) => (x === newestUploads ? { ...x, skippedFiles: ['live/ledger.csv'] } : x)) } };
    const alert = runChecks(skipped).find((p) => p.key === 'skipped-files:uploads');
    expect(alert).toMatchObject({ severity: 'warning', title: 'The newest uploads backup skipped 1 file(s)' });
    expect(alert!.text).toContain('live/ledger.csv');
  });
});
