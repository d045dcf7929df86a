import type { BackupKind } from '../../catalog/backup-id.ts';
import { compileCron, previousRun } from '../../schedule/next-runs.ts';
import type { ScheduledJobName } from '../../schedule/schedule-config.ts';
import { formatWallTime } from '../../schedule/zoned-time.ts';
import { jobProblems } from './job-checks.ts';
import { keyProblems } from './key-checks.ts';
import { ageText, bytesText, durationText } from './text.ts';
import type { MonitorThresholds, Problem, BackupSummary, JobRunFacts, VerificationFacts, MonitorInput } from './monitor-types.ts';

export type { MonitorThresholds, Problem, BackupSummary, JobRunFacts, VerificationFacts, MonitorInput } from './monitor-types.ts';


/** Which schedules produce a backup of each kind: the dead-man switch watches them. */
const PRODUCERS: Record<BackupKind, ScheduledJobName[]> = {
  database: ['database', 'full'],
  application: ['application', 'full'],
  uploads: ['uploads', 'full'],
};

/** Every problem visible in `input`; pure, so each check is a table test. */
export function runChecks(input: MonitorInput): Problem[] {
  const problems: Problem[] = [];
  if ('error' in input.primary) {
    problems.push({
      key: 'primary-unreachable',
      severity: 'critical',
      title: 'The primary backup store is unreachable',
      text: `Listing the primary store failed: ${input.primary.error}. Backups cannot be written or read there.`,
      remedy: 'Check the storage provider status, network and credentials. Restores can read the secondary copy with --from secondary.',
      fingerprint: 'down',
    });
  } else {
    for (const kind of Object.keys(PRODUCERS) as BackupKind[]) {
      const ofKind = input.primary.backups.filter((b) => b.kind === kind);
      problems.push(...staleness(kind, ofKind, input), ...sizeProblems(kind, ofKind, input));
    }
  }
  problems.push(...keyProblems(input), ...jobProblems(input), ...verificationProblems(input), ...secondaryProblems(input), ...storageProblems(input));
  return problems;
}

function staleness(kind: BackupKind, ofKind: BackupSummary[], input: MonitorInput): Problem[] {
  const deadline = new Date(input.now.getTime() - input.thresholds.graceSeconds * 1000);
  const fires = PRODUCERS[kind]
    .map((job) => input.schedule[job])
    .filter((expr): expr is string => expr !== null)
    .map((expr) => previousRun(compileCron(expr, input.timezone), deadline))
    .filter((d): d is Date => d !== undefined);
  if (fires.length === 0) return [];
  const expected = new Date(Math.max(...fires.map((d) => d.getTime())));
  const newest = ofKind[0];
  // A minute of slack: a backup's id and createdAt are taken when it starts, at the fire time.
  if (newest && Date.parse(newest.createdAt) >= expected.getTime() - 60_000) return [];
  const since = newest ? `The newest is ${newest.id}, from ${ageText(Date.parse(newest.createdAt), input.now)} ago.` : 'There is none at all.';
  return [
    {
      key: `stale:${kind}`,
      severity: 'critical',
      title: `No ${kind} backup since the scheduled run of ${formatWallTime(expected, input.timezone)}`,
      text: `The ${kind} backup scheduled for ${formatWallTime(expected, input.timezone)} (${input.timezone}) has not produced a backup within the ${durationText(input.thresholds.graceSeconds)} grace period. ${since}`,
      remedy: `Check that bantay serve is running (GET /healthz, bantay schedule) and look for a failed run in #incidents; then take one now: bantay backup ${kind} (or /backup ${kind}).`,
      fingerprint: expected.toISOString(),
    },
  ];
}

function sizeProblems(kind: BackupKind, ofKind: BackupSummary[], input: MonitorInput): Problem[] {
  const newest = ofKind[0];
  if (!newest) return [];
  const problems: Problem[] = [];
  const floor = input.thresholds.minBackupBytes[kind];
  if (floor > 0 && newest.sizeBytes < floor && !newest.incremental) {
    problems.push({
      key: `size-floor:${kind}`,
      severity: 'critical',
      title: `The newest ${kind} backup is suspiciously small (${bytesText(newest.sizeBytes)})`,
      text: `${newest.id} is ${bytesText(newest.sizeBytes)}, below the ${bytesText(floor)} floor. An empty or wrong source (wrong database, unmounted directory) looks like this.`,
      remedy: `Check the source with bantay show ${newest.id} (tables and row counts), then verify it: bantay verify ${newest.id}.`,
      fingerprint: newest.id,
    });
  }
  const peers = ofKind.slice(1).filter((b) => b.format === newest.format && b.incremental === newest.incremental).slice(0, 7);
  const median = medianOf(peers.map((b) => b.sizeBytes));
  if (peers.length >= 3 && median > 0 && newest.sizeBytes < median * (1 - input.thresholds.sizeDropPercent / 100)) {
    problems.push({
      key: `size-drop:${kind}`,
      severity: 'warning',
      title: `The newest ${kind} backup shrank to ${bytesText(newest.sizeBytes)} (median ${bytesText(median)})`,
      text: `${newest.id} is ${Math.round((1 - newest.sizeBytes / median) * 100)}% smaller than the median of the previous ${peers.length} ${kind} backups. Data may have been deleted, or the backup is incomplete.`,
      remedy: `Compare tables and row counts with bantay show ${newest.id} and an older backup; if data was lost, restore from the older one.`,
      fingerprint: newest.id,
    });
  }
  return problems;
}

function verificationProblems(input: MonitorInput): Problem[] {
  return input.verifications
    .filter((v) => !v.passed)
    .map((v) => ({
      key: `verify-failed:${v.kind}`,
      severity: 'critical' as const,
      title: `Verification of ${v.backupId} failed`,
      text: `The newest ${v.kind} verification (${formatWallTime(Date.parse(v.verifiedAt), input.timezone)}) failed${v.failedChecks.length ? `: ${v.failedChecks.join('; ')}` : ''}. That backup may not restore.`,
      remedy: `Read the checks with bantay verify ${v.backupId} --json, take a fresh backup, and verify it.`,
      fingerprint: `${v.backupId}@${v.verifiedAt}`,
    }));
}

function secondaryProblems(input: MonitorInput): Problem[] {
  const s = input.secondary;
  if (s === undefined) return [];
  if ('error' in s) {
    return [{ key: 'secondary-unreachable', severity: 'critical', title: 'The secondary backup location is unreachable', text: `Listing it failed: ${s.error}.`, remedy: 'Check the mount or provider and credentials (BANTAY_SECONDARY_*), then run bantay sync.', fingerprint: 'down' }];
  }
  const { lag } = s;
  if (lag.missing.length === 0) return [];
  const behind = lag.lagSeconds === null ? Infinity : lag.lagSeconds;
  if (behind <= input.thresholds.secondaryMaxLagSeconds) return [];
  const how = lag.lagSeconds === null ? 'holds no backups at all' : `is ${durationText(lag.lagSeconds)} behind`;
  return [
    {
      key: 'secondary-lag',
      severity: 'warning',
      title: `The secondary location ${how}`,
      text: `${lag.missing.length} backup(s) at the primary are missing at the secondary; its newest is ${lag.newestSecondary ?? 'none'}, the primary's ${lag.newestPrimary ?? 'none'}.`,
      remedy: 'Run bantay sync and read its errors; check the secondary\'s free space and credentials.',
      fingerprint: lag.newestSecondary ?? 'none',
    },
  ];
}

function storageProblems(input: MonitorInput): Problem[] {
  const limit = input.thresholds.storageWarnBytes;
  if (limit === undefined || limit <= 0) return [];
  return input.storage
    .filter((s) => s.bytes > limit)
    .map((s) => ({
      key: `storage-high:${s.location}`,
      severity: 'warning' as const,
      title: `The ${s.location} location holds ${bytesText(s.bytes)}, over the ${bytesText(limit)} warning level`,
      text: `${s.objects} objects, ${bytesText(s.bytes)} in total.`,
      remedy: 'Check the retention policy (bantay prune --dry-run shows what would go) and the provider quota.',
      fingerprint: 'over',
    }));
}

function medianOf(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}
