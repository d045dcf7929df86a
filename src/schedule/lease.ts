import type { Queryable, StateDb } from '../state/state-db.ts';

/**
 * Leases in the state database make every scheduled fire run exactly once across replicas and
 * never overlap the previous run of the same job. One row per (job, fire time):
 *
 * - The first replica to insert the row for a fire owns it; the others see the conflict and
 *   skip ("exactly once per fire"), even when their clocks disagree by seconds, because the
 *   fire time is the schedule's slot, not the moment a replica woke up.
 * - A fire is refused while another fire of the same job holds an unexpired, unreleased lease
 *   ("never overlaps"); the refusal is recorded as a 'skipped' row so the history shows it.
 * - The owner extends `expires_at` with a heartbeat while the job runs. A replica that dies
 *   stops heart-beating, so its lease expires after the TTL and the next fire can run; the
 *   abandoned row is then marked 'abandoned'.
 * - Every time comes from the database's clock (now()), so replica clocks never matter.
 *
 * The check and the insert run in one transaction under an advisory lock per job, so two
 * replicas cannot both pass the overlap check. PGlite (one process) supports the same SQL.
 */
export type LeaseOutcome = 'succeeded' | 'failed' | 'aborted';

export type AcquireResult =
  | { acquired: true }
  | { acquired: false; reason: 'taken'; owner: string }
  | { acquired: false; reason: 'busy'; owner: string; runningFireAt: Date };

export interface FireRecord {
  job: string;
  fireAt: Date;
  owner: string;
  acquiredAt: Date;
  heartbeatAt: Date;
  expiresAt: Date;
  releasedAt: Date | null;
  status: 'running' | LeaseOutcome | 'skipped' | 'abandoned';
  errorMessage: string | null;
  /** Unreleased and expired: its owner died (or lost the database) mid-run. */
  abandoned: boolean;
}

/** Two-key advisory lock namespace of schedule leases (migrations use the one-key 74201). */
const LOCK_NAMESPACE = 74202;
const HISTORY_DAYS = 90;

export async function acquireLease(db: StateDb, lease: { job: string; fireAt: Date; owner: string; ttlMs: number }): Promise<AcquireResult> {
  return db.transaction(async (tx) => {
    await tx.query('SELECT pg_advisory_xact_lock($1::integer, hashtext($2))', [LOCK_NAMESPACE, lease.job]);
    await markAbandoned(tx, lease.job);
    const [holder] = await tx.query<{ owner: string; fire_at: Date }>(
      `SELECT owner, fire_at FROM schedule_leases
        WHERE job = $1 AND released_at IS NULL AND expires_at > now() AND fire_at <> $2
        ORDER BY fire_at DESC LIMIT 1`,
      [lease.job, lease.fireAt],
    );
    if (holder) {
      const skipped = await insertFire(tx, lease, 'skipped', `previous run (fire ${new Date(holder.fire_at).toISOString()}) still running on ${holder.owner}`);
      return skipped
        ? { acquired: false, reason: 'busy', owner: holder.owner, runningFireAt: new Date(holder.fire_at) }
        : await takenBy(tx, lease);
    }
    return (await insertFire(tx, lease, 'running')) ? { acquired: true } : await takenBy(tx, lease);
  });
}

/** Extends the lease; false when it was lost (expired, or released), and the run must stop. */
export async function renewLease(db: Queryable, lease: { job: string; fireAt: Date; owner: string; ttlMs: number }): Promise<boolean> {
  const rows = await db.query(
    `UPDATE schedule_leases SET heartbeat = now(), expires_at = now() + $4::integer * interval '1 millisecond'
      WHERE job = $1 AND fire_at = $2 AND owner = $3 AND released_at IS NULL AND expires_at > now()
      RETURNING 1`,
    [lease.job, lease.fireAt, lease.owner, lease.ttlMs],
  );
  return rows.length === 1;
}

export async function releaseLease(
  db: Queryable,
  lease: { job: string; fireAt: Date; owner: string },
  outcome: { status: LeaseOutcome; errorMessage?: string },
): Promise<void> {
  await db.query(
    `UPDATE schedule_leases SET released_at = now(), expires_at = LEAST(expires_at, now()), status = $4, error_message = $5
      WHERE job = $1 AND fire_at = $2 AND owner = $3 AND released_at IS NULL`,
    [lease.job, lease.fireAt, lease.owner, outcome.status, outcome.errorMessage?.slice(0, 2000) ?? null],
  );
}

/** The newest fire of each job that was not skipped, for monitoring, metrics and the status page. */
export async function latestFires(db: Queryable): Promise<FireRecord[]> {
  const rows = await db.query<Record<string, unknown>>(
    `SELECT DISTINCT ON (job) job, fire_at, owner, acquired_at, heartbeat, expires_at, released_at, status, error_message,
            (released_at IS NULL AND expires_at <= now()) AS abandoned
       FROM schedule_leases WHERE status <> 'skipped'
      ORDER BY job, fire_at DESC`,
  );
  return rows.map((r) => ({
    job: String(r.job),
    fireAt: new Date(r.fire_at as Date),
    owner: String(r.owner),
    acquiredAt: new Date(r.acquired_at as Date),
    heartbeatAt: new Date(r.heartbeat as Date),
    expiresAt: new Date(r.expires_at as Date),
    releasedAt: r.released_at === null ? null : new Date(r.released_at as Date),
    status: (r.abandoned === true ? 'abandoned' : r.status) as FireRecord['status'],
    errorMessage: (r.error_message as string | null) ?? null,
    abandoned: r.abandoned === true || r.status === 'abandoned',
  }));
}

async function insertFire(
  tx: Queryable,
  lease: { job: string; fireAt: Date; owner: string; ttlMs: number },
  status: 'running' | 'skipped',
  errorMessage?: string,
): Promise<boolean> {
  const running = status === 'running';
  const rows = await tx.query(
    `INSERT INTO schedule_leases (job, fire_at, owner, expires_at, released_at, status, error_message)
     VALUES ($1, $2, $3, now() + $4::integer * interval '1 millisecond', ${running ? 'NULL' : 'now()'}, $5, $6)
     ON CONFLICT (job, fire_at) DO NOTHING RETURNING 1`,
    [lease.job, lease.fireAt, lease.owner, running ? lease.ttlMs : 0, status, errorMessage ?? null],
  );
  return rows.length === 1;
}

async function takenBy(tx: Queryable, lease: { job: string; fireAt: Date }): Promise<AcquireResult> {
  const [row] = await tx.query<{ owner: string }>('SELECT owner FROM schedule_leases WHERE job = $1 AND fire_at = $2', [lease.job, lease.fireAt]);
  return { acquired: false, reason: 'taken', owner: row?.owner ?? 'unknown' };
}

/** Closes the rows of dead owners and forgets history older than HISTORY_DAYS. */
async function markAbandoned(tx: Queryable, job: string): Promise<void> {
  await tx.query(
    `UPDATE schedule_leases SET status = 'abandoned', released_at = now(),
            error_message = 'lease expired without release: the replica stopped heart-beating (crashed, killed or lost the database)'
      WHERE job = $1 AND released_at IS NULL AND expires_at <= now()`,
    [job],
  );
  await tx.query(`DELETE FROM schedule_leases WHERE job = $1 AND fire_at < now() - $2::integer * interval '1 day'`, [job, HISTORY_DAYS]);
}
