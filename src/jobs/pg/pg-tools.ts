import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { BantayError, ErrorCode } from '../../errors.ts';
import { pgBinary, type PgProgram } from '../../dev/pg-binaries.ts';

export interface PgTool {
  path: string;
  /** Full version string, e.g. "15.18". */
  version: string;
  major: number;
}

/** Finds a PostgreSQL client program (in binDir when given) and reads its version. */
export async function findPgTool(name: PgProgram, binDir?: string): Promise<PgTool> {
  const path = binDir !== undefined ? join(binDir, name) : pgBinary(name);
  const output = await new Promise<string>((resolve, reject) => {
    execFile(path, ['--version'], { timeout: 15_000, encoding: 'utf8' }, (err, stdout) =>
      err ? reject(new BantayError(ErrorCode.Tool, `Cannot run ${name} (${path}): ${err.message}`, { cause: err })) : resolve(stdout),
    );
  });
  const match = /\(PostgreSQL\)\s+(\d+)(?:\.(\d+))?/.exec(output);
  if (!match) throw new BantayError(ErrorCode.Tool, `Unexpected version output from ${path}`);
  return { path, version: match[2] === undefined ? match[1]! : `${match[1]}.${match[2]}`, major: Number(match[1]) };
}

/** pg_dump and pg_restore refuse (or misbehave) when older than the server: say so up front. */
export function assertToolNotOlder(tool: PgTool, name: string, serverVersion: string, serverMajor: number): void {
  if (tool.major < serverMajor) {
    throw new BantayError(
      ErrorCode.Tool,
      `${name} ${tool.version} is older than the database server (PostgreSQL ${serverVersion}); ` +
        `install the PostgreSQL ${serverMajor} client tools or point BANTAY_PG_BIN at them`,
    );
  }
}
