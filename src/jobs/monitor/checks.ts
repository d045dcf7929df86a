import type { Problem } from './problem.ts';
import type { BackupKind } from '../../catalog/backup-id.ts';
import type { FireRecord } from '../../schedule/lease.ts';
import { compileCron, previousRun } from '../../schedule/next-runs.ts';
import type { ScheduleConfig, ScheduledJobName } from '../../schedule/schedule-config.ts';
import { formatWallTime } from '../../schedule/zoned-time.ts';
import type { SecondaryLag } from '../sync-secondary.ts';
import { catalogProblems, type CatalogFacts } from './catalog-problems.ts';
import { jobProblems } from './job-checks.ts';
import { keyProblems } from './key-checks.ts';
import { walProblems, type WalMonitorFacts } from './wal-checks.ts';
import { ageText, bytesText, durationText } from './text.ts';

export interface MonitorThresholds {
  /** How late a scheduled backup may be before the dead-man switch fires. */
  graceSeconds: number;
  /** Absolute floor per kind; 0 turns it off. */
  minBackupBytes: Record<BackupKind, number>;
  /** Alert when a backup is more than this much smaller than the median of the last 7. */
  sizeDropPercent: number;
  stuckJobSeconds: number;
  secondaryMaxLagSeconds: number;
  /** Alert when a location holds more than this; undefined: never. */
  storageWarnBytes?: number;
}

export type { Problem } from './problem.ts';

export interface BackupSummary {
  id: string;
  kind: BackupKind;
  createdAt: string;
  sizeBytes: number;
  format: string;
  /** Uploads incrementals are compared only with incrementals. */
  incremental: boolean;
  /** Files backups: files left out because they could not be read consistently. */
  skippedFiles?: string[];
  /** Key id the backup is encrypted with; null when stored in the clear (undefined: unknown). */
  keyId?: string | null;
}

export interface JobRunFacts {
  id: string;
  job: string;
  /** job_runs.status: also 'cancelled', 'could-not-check' and 'abandoned' (src/failure.ts). */
  status: 'running' | 'succeeded' | 'failed' | 'cancelled' | 'could-not-check' | 'abandoned';
  performedBy: string;
  startedAt: Date;
  finishedAt: Date | null;
  errorMessage: string | null;
}

export interface VerificationFacts {
  backupId: string;
  kind: BackupKind;
  verifiedAt: string;
  passed: boolean;
  failedChecks: string[];
}

export interface MonitorInput {
  now: Date;
  timezone: string;
  schedule: ScheduleConfig;
  thresholds: MonitorThresholds;
  /** Newest first; or why the primary could not be listed. */
  primary: { backups: BackupSummary[] } | { error: string };
  /** Undefined when no secondary is configured. */
  secondary?: { lag: SecondaryLag } | { error: string };
  storage: Array<{ location: 'primary' | 'secondary'; bytes: number; objects: number }>;
  /** Recent job runs (and every one still running). */
  jobRuns: JobRunFacts[];
  /** The newest fire of each scheduled job (latestFires). */
  fires: FireRecord[];
  /** The newest verification record of each kind. */
  verifications: VerificationFacts[];
  /** Ids of the configured encryption keys (primary and retired); undefined skips the key check. */
  keyIds?: string[];
  /** Backups at the primary that are damaged, rejected or vanished (catalog-problems.ts). */
  catalog?: CatalogFacts;
  /** WAL archiving facts; undefined when BANTAY_WAL is off (no WAL checks). */
  wal?: WalMonitorFacts;
}

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
      problems.push(...staleness(kind, ofKind, input), ...sizeProblems(kind, ofKind, input), ...skippedFileProblems(kind, ofKind));
    }
  }
  problems.push(
    ...catalogProblems(input.catalog),
    ...keyProblems(input),
    ...jobProblems(input),
    ...verificationProblems(input),
    ...secondaryProblems(input),
    ...storageProblems(input),
    ...walProblems(input.wal),
  );
  return problems;
}

/** The newest backup of a kind left files out (uploads that kept changing or could not be read). */
function skippedFileProblems(kind: BackupKind, ofKind: BackupSummary[]): Problem[] {
  const newest = [...ofKind].sort((a, b) => (a.createdAt < b.createdAt ? 1 : -1))[0];
  if (!newest?.skippedFiles?.length) return [];
  const shown = newest.skippedFiles.slice(0, 5).join(', ');
  return [
    {
      key: `skipped-files:${kind}`,
      severity: 'warning',
      title: `The newest ${kind} backup skipped ${newest.skippedFiles.length} file(s)`,
      text: `${newest.id} left out ${newest.skippedFiles.length} file(s) that could not be read or kept changing while read (tried twice): ${shown}${newest.skippedFiles.length > 5 ? ', …' : ''}. They are not in that backup.`,
      remedy: `Check those files (permissions, a process rewriting them); the next backup tries them again. BANTAY_UPLOADS_STRICT=1 makes such a backup fail instead.`,
      fingerprint: newest.id,
    },
  ];
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
