import pg from 'pg';
import type { Logger } from '../../log/logger.ts';

export const DEFAULT_LOCK_TIMEOUT_MS = 300_000;

export interface LockHolder {
  waitingApp: string;
  relation: string | null;
  pid: number;
  application: string;
  user: string | null;
  queryStart: Date | null;
  state: string | null;
}

/**
 * Watches the sessions of one job (by application_name) while they run: when one of them has
 * been waiting on a lock, `onWait` hears which session holds it (pid, application, user, query
 * start, from pg_stat_activity and pg_blocking_pids), once per holder, so a backup stuck behind
 * a migration says so in its progress instead of going silent. The first check runs after
 * `firstAfterMs` (a wait of a few seconds is worth telling; shorter ones are normal). Polls on
 * its own connection; any failure of the watcher only stops the watching.
 */
export function watchLockWaits(
  url: string,
  applicationNames: string[],
  onWait: (holder: LockHolder) => void,
  options: { firstAfterMs?: number; everyMs?: number } = {},
): { stop(): Promise<void> } {
  let client: pg.Client | undefined;
  let stopped = false;
  const told = new Set<number>();
  let timer: NodeJS.Timeout | undefined;
  const poll = async (): Promise<void> => {
    if (stopped) return;
    try {
      if (!client) {
        client = new pg.Client({ connectionString: url, application_name: 'bantay-lock-watch', connectionTimeoutMillis: 10_000 });
        client.on('error', () => undefined);
        await client.connect();
      }
      const { rows } = await client.query<{ waiting_app: string; relation: string | null; pid: number; application_name: string; usename: string | null; query_start: Date | null; state: string | null }>(
        `SELECT w.application_name AS waiting_app,
                (SELECT l.relation::regclass::text FROM pg_locks l WHERE l.pid = w.pid AND NOT l.granted AND l.relation IS NOT NULL LIMIT 1) AS relation,
                b.pid, b.application_name, b.usename, b.query_start, b.state
           FROM pg_stat_activity w
           CROSS JOIN LATERAL unnest(pg_blocking_pids(w.pid)) AS blocker(pid)
           JOIN pg_stat_activity b ON b.pid = blocker.pid
          WHERE w.application_name = ANY($1) AND w.wait_event_type = 'Lock'`,
        [applicationNames],
      );
      for (const row of rows) {
        if (told.has(row.pid)) continue;
        told.add(row.pid);
        onWait({ waitingApp: row.waiting_app, relation: row.relation, pid: row.pid, application: row.application_name, user: row.usename, queryStart: row.query_start, state: row.state });
      }
    } catch {
      stopped = true;
      return;
    }
    if (!stopped) timer = setTimeout(() => void poll(), options.everyMs ?? 2000);
  };
  timer = setTimeout(() => void poll(), options.firstAfterMs ?? 2000);
  return {
    async stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      await client?.end().catch(() => undefined);
    },
  };
}

/**
 * watchLockWaits for a job's sessions, each holder told in the job's progress and its log:
 * "Waiting for a lock: … locked by pid …; the backup gives up after N s (BANTAY_LOCK_TIMEOUT)".
 */
export function tellLockWaits(
  url: string,
  applicationNames: string[],
  o: { timeoutMs: number; job?: { name: string; object: string }; warn?: (message: string) => void; logger: Logger; context: Record<string, unknown> },
): { stop(): Promise<void> } {
  return watchLockWaits(url, applicationNames, (holder) => {
    const message = describeLockHolder(holder, o.timeoutMs, o.job);
    o.warn?.(message);
    o.logger.warn({ ...o.context, holder }, message);
  });
}

/** "public.sales is locked by pid 4711 (application psql, user fbms, query started 10:02:11Z, idle in transaction)". */
export function describeLockHolder(h: LockHolder, timeoutMs: number, job: { name: string; object: string } = { name: 'the backup', object: 'a table' }): string {
  const what = h.relation ?? job.object;
  const parts = [`application ${h.application || '(none)'}`];
  if (h.user) parts.push(`user ${h.user}`);
  if (h.queryStart) parts.push(`query started ${h.queryStart.toISOString()}`);
  if (h.state) parts.push(h.state);
  return `Waiting for a lock: ${what} is locked by pid ${h.pid} (${parts.join(', ')}); ${job.name} gives up after ${Math.round(timeoutMs / 1000)} s (BANTAY_LOCK_TIMEOUT)`;
}
