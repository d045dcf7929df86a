import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pgBinary } from '../../src/dev/pg-binaries.ts';
import { tempDir } from './job-deps.ts';

/**
 * A directory to use as pgBinDir whose `pg_dump` is a shell wrapper around the real one.
 * `body` is shell code run for a dump (not for --version); "$REAL" is the real pg_dump.
 */
export function fakePgBinDir(body: string, version?: string): string {
  const dir = tempDir('bantay-fake-pg-');
  const real = pgBinary('pg_dump');
  const versionLine = version ? `echo "pg_dump (PostgreSQL) ${version}"; exit 0` : `exec "$REAL" --version`;
  const script = `#!/bin/sh
REAL='${real}'
if [ "$1" = "--version" ]; then ${versionLine}; fi
${body}
`;
  const path = join(dir, 'pg_dump');
  writeFileSync(path, script);
  chmodSync(path, 0o755);
  return dir;
}
