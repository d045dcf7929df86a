import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseEnv } from 'node:util';
import { BantayError, ErrorCode } from '../errors.ts';
import { KeyRing, parseKey, type EncryptionKey } from '../crypto/keys.ts';
import type { StoreLocation } from '../storage/open-store.ts';
import type { z } from 'zod';
import { envSchema, type RawEnv } from './schema.ts';
import { parseStoreLocation, type Problem } from './store-location.ts';

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
  log: { level: string; format: 'json' | 'pretty' | undefined };
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
  if (problems.length > 0 || store === undefined || keyRing === undefined) throw configError(problems);
  return {
    databaseUrl: raw.DATABASE_URL,
    store,
    keyRing,
    stateUrl: raw.BANTAY_STATE_URL,
    dataDir: resolve(cwd, raw.BANTAY_DATA_DIR),
    pgBinDir: raw.BANTAY_PG_BIN,
    log: { level: raw.BANTAY_LOG_LEVEL ?? 'info', format: raw.BANTAY_LOG_FORMAT as Config['log']['format'] },
  };
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
    if (!existsSync(file)) {
      problems.push({ variable: 'BANTAY_ENCRYPTION_KEY_FILE', message: `file ${file} does not exist` });
    } else {
      primary = tryParseKey(readFileSync(file, 'utf8').trim(), 'BANTAY_ENCRYPTION_KEY_FILE', problems);
    }
  }
  const retired = (raw.BANTAY_DECRYPTION_KEYS ?? '')
    .split(/[,\s]+/)
    .filter((s) => s !== '')
    .map((s, i) => tryParseKey(s, `BANTAY_DECRYPTION_KEYS (key ${i + 1})`, problems))
    .filter((k): k is EncryptionKey => k !== undefined);
  return problems.length > before ? undefined : new KeyRing(primary, retired);
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
