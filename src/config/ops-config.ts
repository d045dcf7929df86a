import type { MonitorThresholds } from '../jobs/monitor/checks.ts';
import type { RetentionPolicy } from '../jobs/retention/plan-retention.ts';
import { registerSecret } from '../log/redact.ts';
import { parseScheduleConfig, type ScheduleConfig } from '../schedule/schedule-config.ts';
import type { StoreLocation } from '../storage/open-store.ts';
import type { RawEnv } from './schema.ts';
import { parseStoreLocation, type Problem } from './store-location.ts';

/** Schedule, retention, monitoring and the HTTP endpoints (the README ("Operations")). */
export interface OpsConfig {
  /** IANA zone every schedule and calendar month is read in. */
  timezone: string;
  schedule: ScheduleConfig;
  /** Schedule lease TTL: how long a dead replica blocks the next fire of its job. */
  leaseSeconds: number;
  retention: RetentionPolicy;
  monitor: MonitorThresholds;
  http: {
    /** BANTAY_HTTP_PORT (default 3000), shared with Bolt's HTTP receiver and custom routes. */
    port: number;
    /** Guards /status (and /metrics unless metricsToken is set); unset: those answer 503. */
    statusToken: string | undefined;
    metricsToken: string | undefined;
  };
}

/** The S3_* / AWS_* names parseStoreLocation reads, and the secondary's own variable for each. */
const SECONDARY_S3_VARIABLES = {
  S3_ENDPOINT: 'BANTAY_SECONDARY_S3_ENDPOINT',
  S3_REGION: 'BANTAY_SECONDARY_S3_REGION',
  S3_FORCE_PATH_STYLE: 'BANTAY_SECONDARY_S3_FORCE_PATH_STYLE',
  S3_SSE: 'BANTAY_SECONDARY_S3_SSE',
  AWS_ACCESS_KEY_ID: 'BANTAY_SECONDARY_AWS_ACCESS_KEY_ID',
  AWS_SECRET_ACCESS_KEY: 'BANTAY_SECONDARY_AWS_SECRET_ACCESS_KEY',
  AWS_SESSION_TOKEN: 'BANTAY_SECONDARY_AWS_SESSION_TOKEN',
} as const;

/**
 * BANTAY_SECONDARY_STORE, parsed exactly like BANTAY_STORE but with its own S3 settings and
 * credentials (BANTAY_SECONDARY_S3_*, BANTAY_SECONDARY_AWS_*): the secondary is usually another
 * provider, so nothing is inherited from the primary except S3_PART_SIZE_MB and S3_QUEUE_SIZE.
 * Unset secondary credentials mean the AWS SDK's default chain.
 */
export function parseSecondaryStore(raw: RawEnv, cwd: string, problems: Problem[]): StoreLocation | undefined {
  if (raw.BANTAY_SECONDARY_STORE === undefined) return undefined;
  const env = { ...raw } as Record<string, unknown>;
  for (const [primaryName, secondaryName] of Object.entries(SECONDARY_S3_VARIABLES)) env[primaryName] = raw[secondaryName];
  const own: Problem[] = [];
  const location = parseStoreLocation(raw.BANTAY_SECONDARY_STORE, env as RawEnv, cwd, own, 'BANTAY_SECONDARY_STORE');
  const rename = SECONDARY_S3_VARIABLES as Record<string, string>;
  problems.push(...own.map((p) => ({ variable: rename[p.variable] ?? p.variable, message: p.message })));
  return location;
}

export function parseOpsConfig(raw: RawEnv, problems: Problem[]): OpsConfig {
  registerSecret(raw.BANTAY_SECONDARY_AWS_SECRET_ACCESS_KEY);
  registerSecret(raw.BANTAY_SECONDARY_AWS_SESSION_TOKEN);
  registerSecret(raw.BANTAY_STATUS_TOKEN);
  registerSecret(raw.BANTAY_METRICS_TOKEN);
  return {
    timezone: raw.BANTAY_TZ,
    schedule: parseScheduleConfig(raw as unknown as Record<string, string | undefined>, problems),
    leaseSeconds: raw.BANTAY_SCHEDULE_LEASE,
    retention: {
      dailyDays: raw.BANTAY_RETAIN_DAILY_DAYS!,
      weeklyWeeks: raw.BANTAY_RETAIN_WEEKLY_WEEKS!,
      monthlyMonths: raw.BANTAY_RETAIN_MONTHLY_MONTHS!,
      preOpDays: raw.BANTAY_RETAIN_PRE_OP_DAYS!,
      drillReportMonths: raw.BANTAY_RETAIN_DRILL_REPORTS_MONTHS!,
      exportDays: raw.BANTAY_RETAIN_EXPORTS_DAYS!,
    },
    monitor: {
      graceSeconds: raw.BANTAY_MONITOR_GRACE,
      minBackupBytes: {
        database: raw.BANTAY_MIN_DATABASE_BACKUP_SIZE ?? 0,
        application: raw.BANTAY_MIN_APPLICATION_BACKUP_SIZE ?? 0,
        uploads: raw.BANTAY_MIN_UPLOADS_BACKUP_SIZE ?? 0,
      },
      sizeDropPercent: raw.BANTAY_SIZE_DROP_PERCENT!,
      stuckJobSeconds: raw.BANTAY_STUCK_JOB_AFTER,
      secondaryMaxLagSeconds: raw.BANTAY_SECONDARY_MAX_LAG,
      ...(raw.BANTAY_STORAGE_WARN_SIZE !== undefined ? { storageWarnBytes: raw.BANTAY_STORAGE_WARN_SIZE } : {}),
    },
    http: { port: raw.BANTAY_HTTP_PORT, statusToken: raw.BANTAY_STATUS_TOKEN, metricsToken: raw.BANTAY_METRICS_TOKEN },
  };
}
