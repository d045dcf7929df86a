/**
 * The environment of every child process Bantay starts (pg_dump, pg_restore, hooks): an
 * allow-list, not a deny-list, so a secret under a name nobody thought of (a webhook URL,
 * DATABASE_URL, a provider token) never reaches a child, its core dumps or its /proc/<pid>/environ.
 * Only what locates programs and sets the locale and time zone passes; callers add what the
 * child needs (libpq's PG* variables for the PostgreSQL tools).
 */
const ALLOWED = new Set(['PATH', 'HOME', 'USER', 'LOGNAME', 'LANG', 'LANGUAGE', 'TZ', 'TMPDIR']);

export function allowListedEnv(extra: Record<string, string> = {}, from: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(from)) {
    if (value !== undefined && (ALLOWED.has(name) || name.startsWith('LC_'))) env[name] = value;
  }
  return { ...env, ...extra };
}
