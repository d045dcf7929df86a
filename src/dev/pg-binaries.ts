import { execFile } from 'node:child_process';
import { accessSync, constants, readdirSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { BantayError, ErrorCode } from '../errors.ts';

/**
 * Locates the PostgreSQL client and server programs. Used by the test cluster and by
 * production code (pg_dump / pg_restore), so it assumes nothing about tests.
 *
 * Search order, first hit wins:
 * 1. the directory in env BANTAY_PG_BIN (an explicit choice: a missing program there is an
 *    error, we never fall back silently to another version);
 * 2. the highest version among /usr/lib/postgresql/N/bin (Debian/Ubuntu, where /usr/bin/pg_dump
 *    is a wrapper that may pick an older version) and /usr/pgsql-N/bin (RHEL/PGDG);
 * 3. the directories of PATH.
 */
export type PgProgram = 'pg_dump' | 'pg_restore' | 'initdb' | 'pg_ctl' | 'psql' | 'postgres' | 'pg_basebackup' | 'pg_receivewal';

const versionedRoots: ReadonlyArray<{ dir: string; pattern: RegExp; bin: (entry: string) => string }> = [
  { dir: '/usr/lib/postgresql', pattern: /^\d+(\.\d+)?$/, bin: (entry) => join('/usr/lib/postgresql', entry, 'bin') },
  { dir: '/usr', pattern: /^pgsql-\d+(\.\d+)?$/, bin: (entry) => join('/usr', entry, 'bin') },
];

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

function versionOf(entry: string): number {
  return Number.parseFloat(entry.replace(/^pgsql-/, ''));
}

/** Versioned installation bin directories holding `program`, highest version first. */
function versionedBinDirs(program: PgProgram): string[] {
  const found: Array<{ version: number; bin: string }> = [];
  for (const root of versionedRoots) {
    let entries: string[];
    try {
      entries = readdirSync(root.dir);
    } catch {
      continue;
    }
    for (const entry of entries) {
      const bin = root.bin(entry);
      if (root.pattern.test(entry) && isExecutable(join(bin, program))) found.push({ version: versionOf(entry), bin });
    }
  }
  return found.sort((a, b) => b.version - a.version).map((f) => f.bin);
}

function pathDirs(): string[] {
  return (process.env.PATH ?? '').split(delimiter).filter((dir) => dir !== '');
}

function explicitBinDir(): string | undefined {
  const dir = process.env.BANTAY_PG_BIN?.trim();
  return dir === undefined || dir === '' ? undefined : dir;
}

function notFound(what: string): BantayError {
  return new BantayError(ErrorCode.Tool, `PostgreSQL ${what} not found`, {
    details: [
      'Install the PostgreSQL client/server packages (e.g. apt-get install postgresql-15),',
      'or set BANTAY_PG_BIN to the directory that holds pg_dump and pg_restore.',
    ],
  });
}

/**
 * The directory holding the PostgreSQL programs (judged by pg_dump). Throws
 * BantayError(TOOL) when none is found.
 */
export function findPgBinDir(): string {
  const explicit = explicitBinDir();
  if (explicit !== undefined) {
    if (!isExecutable(join(explicit, 'pg_dump'))) throw notFound(`pg_dump in BANTAY_PG_BIN (${explicit})`);
    return explicit;
  }
  const dir = versionedBinDirs('pg_dump')[0] ?? pathDirs().find((d) => isExecutable(join(d, 'pg_dump')));
  if (dir === undefined) throw notFound('binaries (pg_dump)');
  return dir;
}

/**
 * Absolute path of one PostgreSQL program, searched in the order described above. Server
 * programs (initdb, postgres) are often not on PATH, so each program is looked up on its own.
 */
export function pgBinary(name: PgProgram): string {
  const explicit = explicitBinDir();
  if (explicit !== undefined) {
    const path = join(explicit, name);
    if (!isExecutable(path)) throw notFound(`${name} in BANTAY_PG_BIN (${explicit})`);
    return path;
  }
  const dir = versionedBinDirs(name)[0] ?? pathDirs().find((d) => isExecutable(join(d, name)));
  if (dir === undefined) throw notFound(name);
  return join(dir, name);
}

/**
 * Parses `--version` output such as "pg_dump (PostgreSQL) 15.14 (Debian 15.14-1.pgdg120+1)"
 * or "postgres (PostgreSQL) 17devel". Returns the major version: 15, 17; for pre-10 releases
 * the two-part major (9.6). Exported for unit tests.
 */
export function parsePgVersionOutput(output: string): number | undefined {
  const match = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(output);
  if (match === null) return undefined;
  const first = Number(match[1]);
  return first < 10 && match[2] !== undefined ? Number(`${first}.${match[2]}`) : first;
}

/** Major version of a PostgreSQL program, from `path --version`. Throws BantayError(TOOL). */
export function pgToolMajorVersion(path: string): Promise<number> {
  return new Promise((resolve, reject) => {
    execFile(path, ['--version'], { timeout: 15_000, encoding: 'utf8' }, (err, stdout) => {
      if (err !== null) {
        reject(new BantayError(ErrorCode.Tool, `cannot run ${path} --version: ${err.message}`, { cause: err }));
        return;
      }
      const version = parsePgVersionOutput(stdout);
      if (version === undefined) {
        reject(new BantayError(ErrorCode.Tool, `unexpected version output from ${path}: ${stdout.trim().slice(0, 200)}`));
        return;
      }
      resolve(version);
    });
  });
}
