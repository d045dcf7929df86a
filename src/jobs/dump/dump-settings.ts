import { BantayError, ErrorCode } from '../../errors.ts';

/**
 * How a database backup runs pg_dump: its compression (BANTAY_DUMP_COMPRESSION) and whether a
 * large database is dumped in parallel (BANTAY_DUMP_JOBS, BANTAY_DUMP_PARALLEL_MIN_MB).
 */
export interface DumpSettings {
  compression: DumpCompression;
  /** pg_dump --jobs for a parallel (directory-format) dump; 1 means never parallel. */
  jobs: number;
  /** Databases smaller than this (pg_database_size) are dumped by one process anyway. */
  parallelMinBytes: number;
  /** Where a parallel dump's plaintext working directory goes (BANTAY_DATA_DIR/tmp); none: never parallel. */
  tmpDir?: string;
}

export type DumpCompression = { method: 'gzip'; level: number } | { method: 'lz4' | 'zstd'; level: number | undefined } | { method: 'none' };

/**
 * The default, chosen by measurement (README "Dump compression"): gzip level 1 costs about a
 * third of the CPU of pg_dump's default level 6, and pg_dump's CPU is the whole backup's wall
 * time; FBMS-like data comes out only a few per cent larger.
 */
export const DEFAULT_DUMP_COMPRESSION: DumpCompression = { method: 'gzip', level: 1 };
export const DEFAULT_DUMP_SETTINGS: DumpSettings = { compression: DEFAULT_DUMP_COMPRESSION, jobs: 1, parallelMinBytes: 1024 * 1024 * 1024 };

/**
 * Parses BANTAY_DUMP_COMPRESSION: `0`-`9` (gzip levels, as pg_dump -Z), `none`, `gzip[:1-9]`,
 * `lz4[:1-12]`, `zstd[:1-22]` (lz4 and zstd need pg_dump 16 or newer, checked when the
 * backup runs, since the tool is found then). Returns a problem text (naming no value) or the setting.
 */
export function parseDumpCompression(text: string | undefined): DumpCompression | { problem: string } {
  if (text === undefined || text.trim() === '') return DEFAULT_DUMP_COMPRESSION;
  const value = text.trim().toLowerCase();
  if (/^\d$/.test(value)) return Number(value) === 0 ? { method: 'none' } : { method: 'gzip', level: Number(value) };
  if (value === 'none') return { method: 'none' };
  const match = /^(gzip|lz4|zstd)(?::(\d{1,2}))?$/.exec(value);
  if (match === null) return { problem: 'must be a gzip level 0-9, none, gzip[:LEVEL], lz4[:LEVEL] or zstd[:LEVEL]' };
  const method = match[1] as 'gzip' | 'lz4' | 'zstd';
  const level = match[2] === undefined ? undefined : Number(match[2]);
  const max = { gzip: 9, lz4: 12, zstd: 22 }[method];
  if (level !== undefined && (level < 1 || level > max)) return { problem: `${method} levels go from 1 to ${max}` };
  if (method === 'gzip') return { method, level: level ?? 6 };
  return { method, level };
}

/** pg_dump's --compress argument for this setting and pg_dump major version. */
export function compressArg(compression: DumpCompression, pgDumpMajor: number): string {
  switch (compression.method) {
    case 'none':
      return '--compress=0';
    case 'gzip':
      // pg_dump 15 and older take a bare level; 16 and newer also read `gzip:N`.
      return `--compress=${compression.level}`;
    case 'lz4':
    case 'zstd':
      if (pgDumpMajor < 16) {
        throw new BantayError(
          ErrorCode.ConfigInvalid,
          `BANTAY_DUMP_COMPRESSION=${compression.method} needs pg_dump 16 or newer (this pg_dump is ${pgDumpMajor}); use a gzip level (1-9) or install newer client tools (BANTAY_PG_BIN)`,
        );
      }
      return `--compress=${compression.method}${compression.level === undefined ? '' : `:${compression.level}`}`;
  }
}

/** How the setting reads in the manifest and in messages: `gzip:1`, `zstd`, `none`. */
export function describeCompression(compression: DumpCompression): string {
  if (compression.method === 'none') return 'none';
  return compression.level === undefined ? compression.method : `${compression.method}:${compression.level}`;
}
