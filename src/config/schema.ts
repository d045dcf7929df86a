import { z } from 'zod';

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
] as const;
