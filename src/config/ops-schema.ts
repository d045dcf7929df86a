import { z } from 'zod';

/**
 * The environment variables of operations (schedule, retention, secondary location, monitoring,
 * HTTP endpoints), spread into the one envSchema in schema.ts. Same rules as there: strings in,
 * trimmed, defaulted and converted; messages name the rule, never the value.
 */
/** An optional variable: trimmed; empty is unset. Shared by every variable group's shape. */
export const optional = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const flag = optional.transform((v, ctx) => {
  if (v === undefined) return undefined;
  const s = v.toLowerCase();
  if (['1', 'true', 'yes', 'on'].includes(s)) return true;
  if (['0', 'false', 'no', 'off'].includes(s)) return false;
  ctx.addIssue({ code: 'custom', message: 'must be true or false' });
  return z.NEVER;
});

const wholeNumber = (fallback: number | undefined, min: number, max: number) =>
  optional.transform((v, ctx) => {
    if (v === undefined) return fallback;
    const n = Number(v);
    if (!Number.isInteger(n) || n < min || n > max) {
      ctx.addIssue({ code: 'custom', message: `must be a whole number from ${min} to ${max}` });
      return z.NEVER;
    }
    return n;
  });

const DURATION_UNITS: Record<string, number> = { s: 1, m: 60, h: 3600, d: 86_400 };

/** "90m", "26h", "2d", "3600s" or plain seconds, converted to seconds. */
const durationSeconds = (fallback: number) =>
  optional.transform((v, ctx) => {
    if (v === undefined) return fallback;
    const match = /^(\d+(?:\.\d+)?)\s*([smhd])?$/i.exec(v);
    const seconds = match ? Number(match[1]) * DURATION_UNITS[(match[2] ?? 's').toLowerCase()]! : NaN;
    if (!(seconds > 0)) {
      ctx.addIssue({ code: 'custom', message: 'must be a duration like 90m, 26h or 2d' });
      return z.NEVER;
    }
    return seconds;
  });

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

/** "1MB" (10^6), "500MiB" (2^20), "2GB" or plain bytes; "0" turns the check off. */
export function parseSize(value: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)\s*([kmgt]i?b|b)?$/i.exec(value.trim());
  if (!match) return undefined;
  const bytes = Number(match[1]) * SIZE_UNITS[(match[2] ?? 'b').toLowerCase()]!;
  return Number.isFinite(bytes) ? Math.round(bytes) : undefined;
}

const sizeBytes = (fallback: number | undefined) =>
  optional.transform((v, ctx) => {
    if (v === undefined) return fallback;
    const bytes = parseSize(v);
    if (bytes === undefined) {
      ctx.addIssue({ code: 'custom', message: 'must be a size like 1MB, 500MiB or 2GB' });
      return z.NEVER;
    }
    return bytes;
  });

/** Bearer tokens guard the status page and metrics: long enough that guessing is hopeless. */
const token = optional.refine((v) => v === undefined || (v.length >= 16 && !/\s/.test(v)), {
  message: 'must be at least 16 characters without spaces (generate one with: openssl rand -hex 24)',
});

/** BANTAY_TZ and BANTAY_HTTP_PORT are defined in schema.ts (shared with files and the bot). */
export const opsEnvShape = {
  // Cron strings (5 or 6 fields) or "off"; validated in src/schedule/schedule-config.ts.
  BANTAY_SCHEDULE_DATABASE: optional,
  BANTAY_SCHEDULE_APPLICATION: optional,
  BANTAY_SCHEDULE_UPLOADS: optional,
  BANTAY_SCHEDULE_FULL: optional,
  BANTAY_SCHEDULE_BASE: optional,
  BANTAY_SCHEDULE_VERIFY: optional,
  BANTAY_SCHEDULE_SYNC: optional,
  BANTAY_SCHEDULE_RETENTION: optional,
  BANTAY_SCHEDULE_MONITOR: optional,
  BANTAY_SCHEDULE_DRILL: optional,
  BANTAY_SCHEDULE_LEASE: durationSeconds(60),
  // Retention.
  BANTAY_RETAIN_DAILY_DAYS: wholeNumber(30, 1, 3650),
  BANTAY_RETAIN_WEEKLY_WEEKS: wholeNumber(4, 0, 520),
  BANTAY_RETAIN_MONTHLY_MONTHS: wholeNumber(12, 0, 1200),
  BANTAY_RETAIN_PRE_OP_DAYS: wholeNumber(30, 1, 3650),
  BANTAY_RETAIN_DRILL_REPORTS_MONTHS: wholeNumber(12, 1, 1200),
  BANTAY_RETAIN_EXPORTS_DAYS: wholeNumber(30, 1, 3650),
  // Secondary location: its own S3 settings and credentials (a different provider, usually).
  BANTAY_SECONDARY_STORE: optional,
  BANTAY_SECONDARY_S3_ENDPOINT: optional,
  BANTAY_SECONDARY_S3_REGION: optional,
  BANTAY_SECONDARY_S3_FORCE_PATH_STYLE: flag,
  BANTAY_SECONDARY_S3_SSE: optional.refine((v) => v === undefined || v === 'AES256' || v === 'none', { message: 'must be AES256 or none' }),
  BANTAY_SECONDARY_AWS_ACCESS_KEY_ID: optional,
  BANTAY_SECONDARY_AWS_SECRET_ACCESS_KEY: optional,
  BANTAY_SECONDARY_AWS_SESSION_TOKEN: optional,
  // Monitoring.
  BANTAY_MONITOR_GRACE: durationSeconds(2 * 3600),
  BANTAY_MIN_DATABASE_BACKUP_SIZE: sizeBytes(1_000_000),
  BANTAY_MIN_APPLICATION_BACKUP_SIZE: sizeBytes(0),
  BANTAY_MIN_UPLOADS_BACKUP_SIZE: sizeBytes(0),
  BANTAY_SIZE_DROP_PERCENT: wholeNumber(50, 1, 100),
  BANTAY_STUCK_JOB_AFTER: durationSeconds(6 * 3600),
  BANTAY_SECONDARY_MAX_LAG: durationSeconds(30 * 3600),
  BANTAY_STORAGE_WARN_SIZE: sizeBytes(undefined),
  // Health, metrics and status page (served on BANTAY_HTTP_PORT).
  BANTAY_STATUS_TOKEN: token,
  BANTAY_METRICS_TOKEN: token,
};

/** Operations variables whose values are secrets (added to secretVariables in schema.ts). */
export const opsSecretVariables = [
  'BANTAY_SECONDARY_AWS_SECRET_ACCESS_KEY',
  'BANTAY_SECONDARY_AWS_SESSION_TOKEN',
  'BANTAY_STATUS_TOKEN',
  'BANTAY_METRICS_TOKEN',
] as const;
