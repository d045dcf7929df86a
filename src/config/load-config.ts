import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { BantayError, ErrorCode } from '../errors.ts';
import { KeyRing, parseKey, type EncryptionKey } from '../crypto/keys.ts';
import type { StoreLocation } from '../storage/open-store.ts';
import type { z } from 'zod';
import { envSchema, type RawEnv } from './schema.ts';
import { parseStoreLocation, type Problem } from './store-location.ts';
import { parseOpsConfig, parseSecondaryStore, type OpsConfig } from './ops-config.ts';
import { parseWalConfig, type WalConfig } from './wal-config.ts';
import { parseIncidentConfig, type IncidentConfig } from './incident-config.ts';
import { parseDumpConfig } from './dump-config.ts';
import type { DumpSettings } from '../jobs/dump/dump-settings.ts';
import { registerConfigSecrets } from './config-secrets.ts';

export interface Config {
  /** The FBMS database to protect. Optional here; commands that need it call requireDatabaseUrl. */
  databaseUrl: string | undefined;
  store: StoreLocation;
  /** Encrypts with `primary` (when set) and decrypts with any key in the ring. */
  keyRing: KeyRing;
  /** Bantay's own state database; undefined means embedded PGlite under dataDir. */
  stateUrl: string | undefined;
  dataDir: string;
  pgBinDir: string | undefined;
  /** BANTAY_LOCK_TIMEOUT in seconds: how long a backup waits for a table lock before failing. */
  lockTimeoutSeconds: number;
  log: { level: string; format: 'json' | 'pretty' | undefined };
  recovery: RecoveryConfig;
  files: FilesConfig;
  slack: SlackConfig;
  /** BANTAY_SECONDARY_STORE: the off-site copy kept by `bantay sync`; undefined when not set. */
  secondary: StoreLocation | undefined;
  /** Schedule, retention, monitoring and the status page (the README ("Operations")). */
  ops: OpsConfig;
  /** Point-in-time recovery: WAL archiving and base backups (the README ("Point-in-time recovery")). */
  wal: WalConfig;
  /** BANTAY_DUMP_*: pg_dump compression and parallel dumps. */
  dump: DumpSettings;
  /** Incident mode: runbooks and the public status page (the README ("Incident mode")). */
  incident: IncidentConfig;
}

/** Settings of the Slack bot (bantay serve); `bantay serve` checks which ones it needs. */
export interface SlackConfig {
  botToken: string | undefined;
  /** Set: Socket Mode. Unset: HTTP mode with signingSecret on httpPort. */
  appToken: string | undefined;
  signingSecret: string | undefined;
  /** The #incidents channel id: progress, approvals and alerts go there. */
  channel: string | undefined;
  /** Web API base URL override (proxies, tests); Slack's own when undefined. */
  apiUrl: string | undefined;
  httpPort: number;
  /** Slack user ids (U…/W…) and user group ids (S…). */
  operators: string[];
  approvers: string[];
  approvalTtlSeconds: number;
  alertWebhookUrl: string | undefined;
  /** BANTAY_PROGRESS_INTERVAL in ms: at most one update per progress message per this long. */
  progressIntervalMs: number;
  /** BANTAY_ONCALL: mentioned on failures and critical alerts. */
  oncall: string[];
  /** BANTAY_RESTORE_ROOTS: the only directories Slack may restore files backups under. */
  restoreRoots: string[];
  /** BANTAY_TZ, for times written in messages. */
  timeZone: string;
}

/** Settings of the application and uploads backups (the README ("Application and uploads backups")). */
export interface FilesConfig {
  /** The FBMS application directory (absolute); required by `backup application`. */
  appDir: string | undefined;
  /** The FBMS uploads directory (absolute); required by `backup uploads`. */
  uploadsDir: string | undefined;
  /** Globs excluded from application backups (a glob without "/" matches a name at any depth). */
  appExclude: string[];
  /** A new uploads chain (full backup) starts when the current one is this many days old. */
  uploadsChainDays: number;
  /** IANA time zone for `restore --date` (which local day a backup belongs to). */
  timeZone: string;
  /** BANTAY_UPLOADS_STRICT=1: an unreadable or changing upload fails the backup instead of being skipped. */
  uploadsStrict?: boolean;
}

/** Settings of verify, restore and drill. */
export interface RecoveryConfig {
  /** Commands run (without a shell) around the swap of an in-place restore, e.g. "systemctl stop fbms". */
  appStopCmd: string | undefined;
  appStartCmd: string | undefined;
  hookTimeoutSeconds: number;
  /**
   * pg_restore --jobs. Default 1: the artifact streams into pg_restore with no plaintext on disk,
   * and on 2-core servers running PostgreSQL too, -j 2 measured no faster (the README ("Recovery")).
   */
  restoreJobs: number;
  rtoObjectiveSeconds: number;
  rpoObjectiveSeconds: number;
  /** Database Bantay connects to for CREATE/DROP/ALTER DATABASE (never the one it renames). */
  maintenanceDb: string;
  /** BANTAY_REQUIRED_TABLES as manifest keys: each must exist and hold rows after a restore. Default none. */
  requiredTables: string[];
  /** BANTAY_BACKUP_ROLE_PASSWORDS: database backups carry role password verifiers where readable. Default false. */
  backupRolePasswords: boolean;
}

export interface LoadConfigOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Read `.env` from cwd (values already in env win). Default true. */
  dotenv?: boolean;
}

/**
 * Reads and validates the whole configuration. Throws one BantayError(CONFIG_INVALID) whose
 * `details` list every problem as "VARIABLE: what is wrong"; values are never echoed.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const cwd = options.cwd ?? process.cwd();
  const env = { ...readDotenv(cwd, options.dotenv ?? true), ...(options.env ?? process.env) };
  const problems: Problem[] = [];
  const raw = parseEachVariable(env, problems);
  const store = parseStoreLocation(raw.BANTAY_STORE, raw, cwd, problems);
  const keyRing = readKeyRing(raw, cwd, problems);
  checkPostgresUrl(raw.DATABASE_URL, 'DATABASE_URL', problems);
  checkPostgresUrl(raw.BANTAY_STATE_URL, 'BANTAY_STATE_URL', problems);
  const secondary = parseSecondaryStore(raw, cwd, problems);
  const ops = parseOpsConfig(raw, problems);
  const wal = parseWalConfig(raw, problems);
  const incident = parseIncidentConfig(raw, cwd, problems);
  // Base backups are only useful with WAL archiving: the weekly default follows BANTAY_WAL.
  if (wal.mode === 'off' && raw.BANTAY_SCHEDULE_BASE === undefined) ops.schedule.base = null;
  const dump = parseDumpConfig(raw, resolve(cwd, raw.BANTAY_DATA_DIR, 'tmp'), problems);
  // The merged environment: secrets that came from .env are as secret as exported ones.
  registerConfigSecrets(env, keyRing);
  if (problems.length > 0 || store === undefined || keyRing === undefined) throw configError(problems);
  return {
    databaseUrl: raw.DATABASE_URL,
    store,
    secondary,
    ops,
    wal,
    dump,
    incident,
    keyRing,
    stateUrl: raw.BANTAY_STATE_URL,
    dataDir: resolve(cwd, raw.BANTAY_DATA_DIR),
    pgBinDir: raw.BANTAY_PG_BIN,
    lockTimeoutSeconds: raw.BANTAY_LOCK_TIMEOUT,
    log: { level: raw.BANTAY_LOG_LEVEL ?? 'info', format: raw.BANTAY_LOG_FORMAT as Config['log']['format'] },
    files: {
      appDir: raw.APP_DIR === undefined ? undefined : resolve(cwd, raw.APP_DIR),
      uploadsDir: raw.UPLOADS_DIR === undefined ? undefined : resolve(cwd, raw.UPLOADS_DIR),
      appExclude: raw.BANTAY_APP_EXCLUDE,
      uploadsChainDays: raw.BANTAY_UPLOADS_CHAIN_DAYS,
      timeZone: raw.BANTAY_TZ,
      uploadsStrict: raw.BANTAY_UPLOADS_STRICT === true,
    },
    recovery: {
      appStopCmd: raw.BANTAY_APP_STOP_CMD,
      appStartCmd: raw.BANTAY_APP_START_CMD,
      hookTimeoutSeconds: raw.BANTAY_HOOK_TIMEOUT,
      restoreJobs: raw.BANTAY_RESTORE_JOBS,
      rtoObjectiveSeconds: raw.BANTAY_RTO_OBJECTIVE,
      rpoObjectiveSeconds: raw.BANTAY_RPO_OBJECTIVE,
      maintenanceDb: raw.BANTAY_MAINTENANCE_DB,
      requiredTables: raw.BANTAY_REQUIRED_TABLES,
      backupRolePasswords: raw.BANTAY_BACKUP_ROLE_PASSWORDS,
    },
    slack: {
      botToken: raw.SLACK_BOT_TOKEN,
      appToken: raw.SLACK_APP_TOKEN,
      signingSecret: raw.SLACK_SIGNING_SECRET,
      channel: raw.SLACK_CHANNEL,
      apiUrl: raw.SLACK_API_URL,
      httpPort: raw.BANTAY_HTTP_PORT,
      operators: raw.BANTAY_OPERATORS,
      approvers: raw.BANTAY_APPROVERS,
      approvalTtlSeconds: raw.BANTAY_APPROVAL_TTL,
      alertWebhookUrl: raw.BANTAY_ALERT_WEBHOOK_URL,
      progressIntervalMs: Math.round(raw.BANTAY_PROGRESS_INTERVAL * 1000),
      oncall: raw.BANTAY_ONCALL,
      restoreRoots: raw.BANTAY_RESTORE_ROOTS.map((r) => resolve(r)),
      timeZone: raw.BANTAY_TZ,
    },
  };
}

/** The replication connection of base backups and the WAL stream: BANTAY_REPLICATION_URL, else DATABASE_URL. */
export function requireReplicationUrl(config: Config): string {
  if (config.wal.replicationUrl !== undefined) return config.wal.replicationUrl;
  if (config.databaseUrl === undefined) {
    throw configError([{ variable: 'BANTAY_REPLICATION_URL', message: 'is required (or DATABASE_URL): the postgres:// URL of a role WITH REPLICATION' }]);
  }
  return config.databaseUrl;
}

/** For commands that talk to the FBMS database. */
export function requireDatabaseUrl(config: Config): string {
  if (config.databaseUrl === undefined) {
    throw configError([{ variable: 'DATABASE_URL', message: 'is required: the postgres:// URL of the FBMS database' }]);
  }
  return config.databaseUrl;
}

export function configError(problems: Problem[]): BantayError {
  const details = problems.map((p) => `${p.variable}: ${p.message}`);
  return new BantayError(ErrorCode.ConfigInvalid, `Invalid configuration (${problems.length} problem${problems.length === 1 ? '' : 's'})`, {
    details,
  });
}

/**
 * Parses variable by variable so one bad value does not hide the others: a failed variable is
 * reported and then treated as unset for the remaining checks.
 */
function parseEachVariable(env: Record<string, string | undefined>, problems: Problem[]): RawEnv {
  const out: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(envSchema.shape)) {
    const result = (schema as z.ZodType).safeParse(env[name]);
    if (result.success) {
      out[name] = result.data;
    } else {
      for (const issue of result.error.issues) problems.push({ variable: name, message: issue.message });
      out[name] = (schema as z.ZodType).parse(undefined);
    }
  }
  return out as RawEnv;
}

function readDotenv(cwd: string, enabled: boolean): Record<string, string> {
  const file = resolve(cwd, '.env');
  if (!enabled || !existsSync(file)) return {};
  return parseEnv(readFileSync(file, 'utf8')) as Record<string, string>;
}

function readKeyRing(raw: RawEnv, cwd: string, problems: Problem[]): KeyRing | undefined {
  let primary: EncryptionKey | undefined;
  const before = problems.length;
  if (raw.BANTAY_ENCRYPTION_KEY !== undefined && raw.BANTAY_ENCRYPTION_KEY_FILE !== undefined) {
    problems.push({ variable: 'BANTAY_ENCRYPTION_KEY_FILE', message: 'set either BANTAY_ENCRYPTION_KEY or BANTAY_ENCRYPTION_KEY_FILE, not both' });
  } else if (raw.BANTAY_ENCRYPTION_KEY !== undefined) {
    primary = tryParseKey(raw.BANTAY_ENCRYPTION_KEY, 'BANTAY_ENCRYPTION_KEY', problems);
  } else if (raw.BANTAY_ENCRYPTION_KEY_FILE !== undefined) {
    const file = resolve(cwd, raw.BANTAY_ENCRYPTION_KEY_FILE);
    const text = readKeyFile(file, problems);
    if (text !== undefined) primary = tryParseKey(text, 'BANTAY_ENCRYPTION_KEY_FILE', problems);
  }
  const retired = (raw.BANTAY_DECRYPTION_KEYS ?? '')
    .split(/[,\s]+/)
    .filter((s) => s !== '')
    .map((s, i) => tryParseKey(s, `BANTAY_DECRYPTION_KEYS (key ${i + 1})`, problems))
    .filter((k): k is EncryptionKey => k !== undefined);
  return problems.length > before ? undefined : new KeyRing(primary, retired);
}

/** The key file's text, or a listed problem (missing, a directory, unreadable) instead of a throw. */
function readKeyFile(file: string, problems: Problem[]): string | undefined {
  if (!existsSync(file)) {
    problems.push({ variable: 'BANTAY_ENCRYPTION_KEY_FILE', message: `file ${file} does not exist` });
    return undefined;
  }
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'error';
    problems.push({ variable: 'BANTAY_ENCRYPTION_KEY_FILE', message: `file ${file} cannot be read (${code})` });
    return undefined;
  }
}

function tryParseKey(value: string, variable: string, problems: Problem[]): EncryptionKey | undefined {
  try {
    return parseKey(value);
  } catch {
    problems.push({ variable, message: 'must be base64 of exactly 32 random bytes (generate one with: openssl rand -base64 32)' });
    return undefined;
  }
}

function checkPostgresUrl(value: string | undefined, variable: string, problems: Problem[]): void {
  if (value === undefined) return;
  if (!/^postgres(ql)?:\/\//.test(value)) {
    problems.push({ variable, message: 'must be a postgres:// or postgresql:// URL' });
    return;
  }
  try {
    new URL(value);
  } catch {
    problems.push({ variable, message: 'is not a valid URL (percent-encode special characters in the password)' });
  }
}
