import { z } from 'zod';
import { DEFAULT_DUMP_SETTINGS, parseDumpCompression, type DumpSettings } from '../jobs/dump/dump-settings.ts';

/** BANTAY_DUMP_*: how database backups run pg_dump (README "Dump compression and parallel dumps"). */
export const dumpEnvShape = {
  BANTAY_DUMP_COMPRESSION: z.string().optional(),
  BANTAY_DUMP_JOBS: z.string().optional(),
  BANTAY_DUMP_PARALLEL_MIN_MB: z.string().optional(),
};

/** Structurally config's Problem (store-location.ts imports the schema, which imports this). */
type Problem = { variable: string; message: string };

type DumpEnv = { [K in keyof typeof dumpEnvShape]?: string | undefined };

/** Reads the dump settings; every problem names its variable, never its value. */
export function parseDumpConfig(raw: DumpEnv, tmpDir: string, problems: Problem[]): DumpSettings {
  const compression = parseDumpCompression(raw.BANTAY_DUMP_COMPRESSION);
  if ('problem' in compression) problems.push({ variable: 'BANTAY_DUMP_COMPRESSION', message: compression.problem });
  const jobs = wholeNumber(raw.BANTAY_DUMP_JOBS, DEFAULT_DUMP_SETTINGS.jobs, 1, 64, 'BANTAY_DUMP_JOBS', problems);
  const minMb = wholeNumber(raw.BANTAY_DUMP_PARALLEL_MIN_MB, DEFAULT_DUMP_SETTINGS.parallelMinBytes / 1024 / 1024, 0, 10_000_000, 'BANTAY_DUMP_PARALLEL_MIN_MB', problems);
  return {
    compression: 'problem' in compression ? DEFAULT_DUMP_SETTINGS.compression : compression,
    jobs,
    parallelMinBytes: minMb * 1024 * 1024,
    tmpDir,
  };
}

function wholeNumber(text: string | undefined, fallback: number, min: number, max: number, variable: string, problems: Problem[]): number {
  if (text === undefined || text.trim() === '') return fallback;
  const n = Number(text.trim());
  if (!Number.isInteger(n) || n < min || n > max) {
    problems.push({ variable, message: `must be a whole number from ${min} to ${max}` });
    return fallback;
  }
  return n;
}
