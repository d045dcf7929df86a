import { parse } from 'pg-connection-string';
import { BantayError, ErrorCode } from '../../errors.ts';
import { allowListedEnv } from '../child-env.ts';

export interface SourceDescription {
  host: string;
  port: number | undefined;
  database: string;
  user: string | undefined;
}

/** Host, port, database and user of a connection URL; never the password. */
export function describeDatabaseUrl(url: string): SourceDescription {
  const options = parse(url);
  if (!options.database) {
    throw new BantayError(ErrorCode.ConfigInvalid, 'DATABASE_URL must name a database (postgres://user@host:5432/DBNAME)');
  }
  return {
    host: options.host ?? 'localhost',
    port: options.port ? Number(options.port) : undefined,
    database: options.database,
    user: options.user,
  };
}

/**
 * The libpq environment for a child process (pg_dump, pg_restore): the password travels only
 * here, never in argv, so it does not show in `ps` or in logged command lines.
 */
export function libpqEnv(url: string, overrides: { database?: string } = {}): Record<string, string> {
  const options = parse(url);
  const env: Record<string, string> = { PGAPPNAME: 'bantay', PGCONNECT_TIMEOUT: '15' };
  if (options.host) env.PGHOST = options.host;
  if (options.port) env.PGPORT = String(options.port);
  if (options.user) env.PGUSER = options.user;
  if (options.password) env.PGPASSWORD = options.password;
  const database = overrides.database ?? options.database;
  if (database) env.PGDATABASE = database;
  const params = new URL(url.replace(/^postgres(ql)?:/, 'http:')).searchParams;
  for (const [param, variable] of Object.entries(LIBPQ_SSL_PARAMS)) {
    const value = params.get(param);
    if (value) env[variable] = value;
  }
  return env;
}

/**
 * TLS settings of the URL as libpq reads them: without the CA file, pg_dump would fail the
 * sslmode=verify-full that the snapshot connection (node-postgres) just passed.
 */
const LIBPQ_SSL_PARAMS: Record<string, string> = {
  sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  sslcrl: 'PGSSLCRL',
};

/** The environment for PostgreSQL tools: the allow-listed basics (child-env.ts) plus libpqEnv. */
export function childEnv(url: string, overrides: { database?: string } = {}): NodeJS.ProcessEnv {
  return allowListedEnv(libpqEnv(url, overrides));
}

/** Same URL pointing at another database on the same server. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${encodeURIComponent(database)}`;
  return u.toString();
}
