import type { BackupKind } from '../../catalog/backup-id.ts';
import type { FireRecord } from '../../schedule/lease.ts';
import type { ScheduleConfig } from '../../schedule/schedule-config.ts';
import type { SecondaryLag } from '../sync-secondary.ts';

/**
 * The monitor's facts and findings, below checks.ts and the check modules it runs
 * (job-checks, key-checks), so those never import checks.ts back.
 */
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

export interface Problem {
  /** Stable identity ("stale:database"); alert state is kept per key. */
  key: string;
  severity: 'warning' | 'critical';
  title: string;
  text: string;
  /** What to do, for the person on call. */
  remedy: string;
  /** Changes when the problem changes (another missed run, another bad backup): re-alerts. */
  fingerprint: string;
}

export interface BackupSummary {
  id: string;
  kind: BackupKind;
  createdAt: string;
  sizeBytes: number;
  format: string;
  /** Uploads incrementals are compared only with incrementals. */
  incremental: boolean;
  /** Key id the backup is encrypted with; null when stored in the clear (undefined: unknown). */
  keyId?: string | null;
}

export interface JobRunFacts {
  id: string;
  job: string;
  status: 'running' | 'succeeded' | 'failed';
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
}
