import { z } from 'zod';
import { dumpEnvShape } from './dump-config.ts';
import { parseTableList } from '../catalog/table-name.ts';
import { opsEnvShape, opsSecretVariables } from './ops-schema.ts';
import { walEnvShape, walSecretVariables } from './wal-config.ts';
import { incidentEnvShape } from './incident-config.ts';

/**
 * Every environment variable Bantay reads, in one zod schema. Values are strings from the
 * environment; the schema trims, defaults and converts them. Error messages must never include
 * the value (secrets live here), so every custom message names the variable and the rule only.
 */
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v.trim() === '' ? undefined : v.trim()));

const booleanFlag = z
  .string()
  .optional()
  .transform((v, ctx) => {
    if (v === undefined || v.trim() === '') return undefined;
    const s = v.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(s)) return true;
    if (['0', 'false', 'no', 'off'].includes(s)) return false;
    ctx.addIssue({ code: 'custom', message: 'must be true or false' });
    return z.NEVER;
  });

const positiveInt = (fallback: number, max: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return fallback;
      const n = Number(v.trim());
      if (!Number.isInteger(n) || n < 1 || n > max) {
        ctx.addIssue({ code: 'custom', message: `must be a whole number from 1 to ${max}` });
        return z.NEVER;
      }
      return n;
    });

/** A duration like "4h", "90m", "3600s", "1d" or plain seconds ("3600"); converted to seconds. */
const duration = (fallback: number) =>
  z
    .string()
    .optional()
    .transform((v, ctx) => {
      if (v === undefined || v.trim() === '') return fallback;
      const match = /^(\d+(?:\.\d+)?)\s*(s|m|h|d)?$/i.exec(v.trim());
      const seconds = match ? Number(match[1]) * { s: 1, m: 60, h: 3600, d: 86_400 }[(match[2] ?? 's').toLowerCase() as 's'] : NaN;
      if (!(seconds > 0)) {
        ctx.addIssue({ code: 'custom', message: 'must be a duration like 4h, 90m or 3600s' });
        return z.NEVER;
      }
      return seconds;
    });

/** Comma- or space-separated Slack ids: users (U…/W…) and user groups (S…). */
const slackIdList = optionalString.transform((v, ctx) => {
  const ids = (v ?? '').split(/[,\s]+/).filter((s) => s !== '');
  if (ids.some((id) => !/^[UWS][A-Z0-9]{2,}$/.test(id))) {
    ctx.addIssue({ code: 'custom', message: 'must be Slack user ids (U0123ABCD) and/or user group ids (S0123ABCD), separated by commas' });
    return z.NEVER;
  }
  return ids;
});

const httpUrl = optionalString.refine((v) => v === undefined || /^https?:\/\/[^\s]+$/.test(v), { message: 'must be an http:// or https:// URL' });

export const envSchema = z.object({
  DATABASE_URL: optionalString,
  BANTAY_STORE: optionalString.transform((v) => v ?? './var/backups'),
  S3_ENDPOINT: optionalString,
  S3_REGION: optionalString,
  S3_FORCE_PATH_STYLE: booleanFlag,
  S3_SSE: optionalString.refine((v) => v === undefined || v === 'AES256' || v === 'none', {
    message: 'must be AES256 or none',
  }),
  S3_PART_SIZE_MB: positiveInt(8, 5000),
  S3_QUEUE_SIZE: positiveInt(4, 64),
  BANTAY_S3_CHECKSUM: optionalString.refine((v) => v === undefined || v === 'md5' || v === 'sha256', {
    message: 'must be md5 (Content-MD5, the default) or sha256 (x-amz-checksum-sha256)',
  }),
  /** Seconds a request may sit without a byte moving before it is dropped and retried. */
  S3_IDLE_TIMEOUT: positiveInt(60, 3600),
  /** Seconds a backup waits for a table lock (pg_dump --lock-wait-timeout, lock_timeout) before failing. */
  BANTAY_LOCK_TIMEOUT: positiveInt(300, 86_400),
  AWS_ACCESS_KEY_ID: optionalString,
  AWS_SECRET_ACCESS_KEY: optionalString,
  AWS_SESSION_TOKEN: optionalString,
  BANTAY_ENCRYPTION_KEY: optionalString,
  BANTAY_ENCRYPTION_KEY_FILE: optionalString,
  BANTAY_DECRYPTION_KEYS: optionalString,
  BANTAY_STATE_URL: optionalString,
  BANTAY_DATA_DIR: optionalString.transform((v) => v ?? './var'),
  BANTAY_PG_BIN: optionalString,
  BANTAY_LOG_LEVEL: optionalString.refine(
    (v) => v === undefined || ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(v),
    { message: 'must be one of fatal, error, warn, info, debug, trace, silent' },
  ),
  BANTAY_LOG_FORMAT: optionalString.refine((v) => v === undefined || v === 'json' || v === 'pretty', {
    message: 'must be json or pretty',
  }),
  // Recovery (verify, restore, drill).
  BANTAY_APP_STOP_CMD: optionalString,
  BANTAY_APP_START_CMD: optionalString,
  BANTAY_HOOK_TIMEOUT: positiveInt(120, 3600),
  BANTAY_RESTORE_JOBS: positiveInt(1, 64),
  BANTAY_RTO_OBJECTIVE: duration(4 * 3600),
  BANTAY_RPO_OBJECTIVE: duration(3600),
  BANTAY_REQUIRED_TABLES: optionalString.transform((v, ctx) => {
    if (v === undefined) return [];
    try {
      return parseTableList(v);
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be comma-separated table names such as public.sales,accounting.accounts (quote parts that are not plain lower-case words: "My Schema".sales)' });
      return z.NEVER;
    }
  }),
  BANTAY_BACKUP_ROLE_PASSWORDS: booleanFlag.transform((v) => v ?? false),
  BANTAY_MAINTENANCE_DB: optionalString
    .refine((v) => v === undefined || /^[A-Za-z_][A-Za-z0-9_$-]{0,62}$/.test(v), { message: 'must be a database name' })
    .transform((v) => v ?? 'postgres'),
  // Files: application and uploads backups (the README ("Application and uploads backups")).
  APP_DIR: optionalString,
  UPLOADS_DIR: optionalString,
  BANTAY_APP_EXCLUDE: optionalString.transform((v, ctx) => {
    const globs = (v ?? 'node_modules,dist,logs,temp').split(',').map((g) => g.trim()).filter((g) => g !== '');
    if (globs.some((g) => g.includes('\0') || g.split('/').includes('..'))) {
      ctx.addIssue({ code: 'custom', message: 'must be comma-separated globs relative to APP_DIR, without ".." segments' });
      return z.NEVER;
    }
    return globs;
  }),
  BANTAY_UPLOADS_CHAIN_DAYS: positiveInt(7, 366),
  BANTAY_UPLOADS_STRICT: booleanFlag,
  BANTAY_TZ: optionalString.transform((v, ctx) => {
    const zone = v ?? 'Asia/Manila';
    try {
      new Intl.DateTimeFormat('en-CA', { timeZone: zone });
    } catch {
      ctx.addIssue({ code: 'custom', message: 'must be an IANA time zone such as Asia/Manila' });
      return z.NEVER;
    }
    return zone;
  }),
  // Slack bot (bantay serve / bantay console).
  SLACK_BOT_TOKEN: optionalString.refine((v) => v === undefined || v.startsWith('xoxb-'), { message: 'must be a bot token (starts with xoxb-)' }),
  SLACK_APP_TOKEN: optionalString.refine((v) => v === undefined || v.startsWith('xapp-'), { message: 'must be an app-level token (starts with xapp-)' }),
  SLACK_SIGNING_SECRET: optionalString,
  SLACK_CHANNEL: optionalString.refine((v) => v === undefined || /^[CG][A-Z0-9]{2,}$/.test(v), {
    message: 'must be a channel id like C0123ABCD (channel details > About), not a #name',
  }),
  SLACK_API_URL: httpUrl,
  BANTAY_HTTP_PORT: positiveInt(3000, 65535),
  BANTAY_OPERATORS: slackIdList,
  BANTAY_APPROVERS: slackIdList,
  BANTAY_APPROVAL_TTL: duration(30 * 60),
  BANTAY_ALERT_WEBHOOK_URL: httpUrl,
  /** Min time between two updates of one progress message (Slack allows about one a second). */
  BANTAY_PROGRESS_INTERVAL: duration(3).refine((v) => v >= 1, { message: 'must be at least 1s (Slack rate-limits faster edits)' }),
  /** Who is pinged for failures and critical alerts: Slack user ids and/or one user group. */
  BANTAY_ONCALL: slackIdList,
  /** Absolute directories under which Slack may restore files backups (comma-separated). */
  BANTAY_RESTORE_ROOTS: optionalString.transform((v, ctx) => {
    const roots = (v ?? '').split(',').map((r) => r.trim()).filter((r) => r !== '');
    if (roots.some((r) => !r.startsWith('/') || r.split('/').includes('..'))) {
      ctx.addIssue({ code: 'custom', message: 'must be absolute directories without "..", separated by commas' });
      return z.NEVER;
    }
    return roots;
  }),
  // Operations: schedule, retention, secondary location, monitoring, status page (ops-schema.ts).
  ...opsEnvShape,
  // Point-in-time recovery: WAL archiving and base backups (wal-config.ts).
  ...walEnvShape,
  // Incident mode: runbooks and the public status page (incident-config.ts).
  ...incidentEnvShape,
  // pg_dump compression and parallel dumps (dump-config.ts).
  ...dumpEnvShape,
});

export type RawEnv = z.output<typeof envSchema>;

/** Names of variables whose values are secrets: never logged, never echoed in errors. */
export const secretVariables = [
  'DATABASE_URL',
  'BANTAY_STATE_URL',
  'AWS_SECRET_ACCESS_KEY',
  'AWS_SESSION_TOKEN',
  'BANTAY_ENCRYPTION_KEY',
  'BANTAY_DECRYPTION_KEYS',
  'SLACK_BOT_TOKEN',
  'SLACK_APP_TOKEN',
  'SLACK_SIGNING_SECRET',
  'BANTAY_ALERT_WEBHOOK_URL',
  ...opsSecretVariables,
  ...walSecretVariables,
] as const;
