import { parseBaseCompression, DEFAULT_BASE_COMPRESSION, type BaseCompression } from '../jobs/base-backup/base-compression.ts';
import { registerUrlSecrets } from '../log/redact.ts';
import { optional, parseSize } from './ops-schema.ts';
import type { Problem } from './problem.ts';

/**
 * The variables of point-in-time recovery (README, "Point-in-time recovery"), spread into the
 * one envSchema in schema.ts. Same rules: strings in, trimmed, defaulted; messages name the
 * rule, never the value.
 */

export const walEnvShape = {
  /** off (default) | stream (bantay serve runs `wal stream`) | archive (archive_command pushes). */
  BANTAY_WAL: optional,
  BANTAY_WAL_SLOT: optional,
  BANTAY_WAL_PARTIAL_INTERVAL: optional,
  BANTAY_WAL_RETENTION_DAYS: optional,
  BANTAY_WAL_BACKLOG_MAX: optional,
  BANTAY_WAL_SLOT_WARN_SIZE: optional,
  /** zstd[:LEVEL][,workers=N] (default zstd:1) | gzip[:LEVEL] | none: pg_basebackup's server-side compression. */
  BANTAY_BASE_COMPRESSION: optional,
  /** Replaced by BANTAY_BASE_COMPRESSION; set, it is a config problem naming the new variable. */
  BANTAY_BASE_COMPRESS_LEVEL: optional,
  /** A role WITH REPLICATION for pg_basebackup/pg_receivewal; default DATABASE_URL. Secret. */
  BANTAY_REPLICATION_URL: optional,
};

export const walSecretVariables = ['BANTAY_REPLICATION_URL'] as const;

export interface WalConfig {
  mode: 'off' | 'stream' | 'archive';
  /** undefined: use DATABASE_URL. */
  replicationUrl: string | undefined;
  slot: string;
  partialIntervalSeconds: number;
  retentionDays: number;
  /** Local backlog of segments not yet uploaded, in bytes; the streamer pauses pg_receivewal past it. */
  backlogMaxBytes: number;
  /** Alert when the slot retains more WAL than this (bytes); also when safe_wal_size falls below it. */
  slotWarnBytes: number;
  /** pg_basebackup --compress=server-... */
  baseCompression: BaseCompression;
}

type Raw = Record<keyof typeof walEnvShape, string | undefined>;

export function parseWalConfig(raw: Raw, problems: Problem[]): WalConfig {
  const mode = (raw.BANTAY_WAL ?? 'off').toLowerCase();
  if (!['off', 'stream', 'archive'].includes(mode)) problems.push({ variable: 'BANTAY_WAL', message: 'must be off, stream or archive' });
  const slot = raw.BANTAY_WAL_SLOT ?? 'bantay';
  if (!/^[a-z0-9_]{1,63}$/.test(slot)) problems.push({ variable: 'BANTAY_WAL_SLOT', message: 'must be 1-63 lower-case letters, digits or _ (a replication slot name)' });
  const url = raw.BANTAY_REPLICATION_URL;
  if (url !== undefined) {
    registerUrlSecrets(url);
    if (!/^postgres(ql)?:\/\//.test(url)) problems.push({ variable: 'BANTAY_REPLICATION_URL', message: 'must be a postgres:// or postgresql:// URL' });
  }
  return {
    mode: (['off', 'stream', 'archive'].includes(mode) ? mode : 'off') as WalConfig['mode'],
    replicationUrl: url,
    slot,
    partialIntervalSeconds: seconds(raw.BANTAY_WAL_PARTIAL_INTERVAL, 30, 'BANTAY_WAL_PARTIAL_INTERVAL', problems),
    retentionDays: whole(raw.BANTAY_WAL_RETENTION_DAYS, 7, 1, 3650, 'BANTAY_WAL_RETENTION_DAYS', problems),
    backlogMaxBytes: size(raw.BANTAY_WAL_BACKLOG_MAX, 2 * 1024 ** 3, 'BANTAY_WAL_BACKLOG_MAX', problems),
    slotWarnBytes: size(raw.BANTAY_WAL_SLOT_WARN_SIZE, 4 * 1024 ** 3, 'BANTAY_WAL_SLOT_WARN_SIZE', problems),
    baseCompression: baseCompression(raw, problems),
  };
}

function baseCompression(raw: Raw, problems: Problem[]): BaseCompression {
  if (raw.BANTAY_BASE_COMPRESS_LEVEL !== undefined) {
    problems.push({ variable: 'BANTAY_BASE_COMPRESS_LEVEL', message: 'is replaced by BANTAY_BASE_COMPRESSION (e.g. gzip:6, zstd:3 or none); remove it' });
  }
  const parsed = parseBaseCompression(raw.BANTAY_BASE_COMPRESSION);
  if ('problem' in parsed) {
    problems.push({ variable: 'BANTAY_BASE_COMPRESSION', message: parsed.problem });
    return DEFAULT_BASE_COMPRESSION;
  }
  return parsed;
}

function whole(value: string | undefined, fallback: number, min: number, max: number, variable: string, problems: Problem[]): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (Number.isInteger(n) && n >= min && n <= max) return n;
  problems.push({ variable, message: `must be a whole number from ${min} to ${max}` });
  return fallback;
}

function seconds(value: string | undefined, fallback: number, variable: string, problems: Problem[]): number {
  if (value === undefined) return fallback;
  const match = /^(\d+(?:\.\d+)?)\s*([smh])?$/i.exec(value);
  const n = match ? Number(match[1]) * { s: 1, m: 60, h: 3600 }[(match[2] ?? 's').toLowerCase() as 's'] : NaN;
  if (n >= 1 && n <= 3600) return n;
  problems.push({ variable, message: 'must be a duration from 1s to 1h, like 30s or 2m' });
  return fallback;
}

function size(value: string | undefined, fallback: number, variable: string, problems: Problem[]): number {
  if (value === undefined) return fallback;
  const bytes = parseSize(value);
  if (bytes !== undefined && bytes > 0) return bytes;
  problems.push({ variable, message: 'must be a size like 512MB or 2GiB' });
  return fallback;
}
