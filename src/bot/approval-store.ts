import { randomBytes } from 'node:crypto';
import type { Queryable } from '../state/state-db.ts';

export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'expired';

export interface Approval {
  id: string;
  kind: string;
  payload: Record<string, unknown>;
  requestedBy: string;
  reason: string;
  status: ApprovalStatus;
  expiresAt: Date;
  decidedBy: string | null;
  decidedAt: Date | null;
  channel: string | null;
  messageTs: string | null;
  createdAt: Date;
}

const COLUMNS = `id, kind, payload, requested_by AS "requestedBy", reason, status, expires_at AS "expiresAt",
  decided_by AS "decidedBy", decided_at AS "decidedAt", channel, message_ts AS "messageTs", created_at AS "createdAt"`;

/**
 * Approval requests in the state database. Every decision is one conditional UPDATE (only a
 * pending, unexpired row changes), so double clicks, Slack retries and two approvers racing
 * each other decide a request exactly once: exactly one caller gets the row back.
 */
export async function createApproval(
  db: Queryable,
  a: { kind: string; payload: Record<string, unknown>; requestedBy: string; reason: string; ttlSeconds: number; now: Date },
): Promise<Approval> {
  const id = `apr-${randomBytes(5).toString('hex')}`;
  const expiresAt = new Date(a.now.getTime() + a.ttlSeconds * 1000);
  const [row] = await db.query<Approval>(
    `INSERT INTO approvals (id, kind, payload, requested_by, reason, status, expires_at, created_at)
     VALUES ($1, $2, $3, $4, $5, 'pending', $6, $7) RETURNING ${COLUMNS}`,
    [id, a.kind, JSON.stringify(a.payload), a.requestedBy, a.reason, expiresAt.toISOString(), a.now.toISOString()],
  );
  return normalize(row!);
}

export async function setApprovalMessage(db: Queryable, id: string, channel: string, ts: string): Promise<void> {
  await db.query('UPDATE approvals SET channel = $2, message_ts = $3 WHERE id = $1', [id, channel, ts]);
}

export async function getApproval(db: Queryable, id: string): Promise<Approval | undefined> {
  const [row] = await db.query<Approval>(`SELECT ${COLUMNS} FROM approvals WHERE id = $1`, [id]);
  return row ? normalize(row) : undefined;
}

/** Approves or rejects a pending, unexpired request; undefined when someone else got there first. */
export async function decideApproval(db: Queryable, id: string, decision: 'approved' | 'rejected', by: string, now: Date): Promise<Approval | undefined> {
  const [row] = await db.query<Approval>(
    `UPDATE approvals SET status = $2, decided_by = $3, decided_at = $4
      WHERE id = $1 AND status = 'pending' AND expires_at > $4 RETURNING ${COLUMNS}`,
    [id, decision, by, now.toISOString()],
  );
  return row ? normalize(row) : undefined;
}

/** Marks every pending request past its expiry as expired; returns the ones it changed. */
export async function expireApprovals(db: Queryable, now: Date): Promise<Approval[]> {
  const rows = await db.query<Approval>(
    `UPDATE approvals SET status = 'expired', decided_at = $1 WHERE status = 'pending' AND expires_at <= $1 RETURNING ${COLUMNS}`,
    [now.toISOString()],
  );
  return rows.map(normalize);
}

export async function listPendingApprovals(db: Queryable, now: Date): Promise<Approval[]> {
  const rows = await db.query<Approval>(`SELECT ${COLUMNS} FROM approvals WHERE status = 'pending' AND expires_at > $1 ORDER BY created_at`, [now.toISOString()]);
  return rows.map(normalize);
}

/**
 * Records a client request id (from a modal's private_metadata, or a button click) the first
 * time it is seen. True means "first time: go ahead"; false means a retry or a double submit.
 */
export async function claimRequest(db: Queryable, requestId: string, kind: string, by: string): Promise<boolean> {
  const rows = await db.query('INSERT INTO bot_requests (request_id, kind, requested_by) VALUES ($1, $2, $3) ON CONFLICT (request_id) DO NOTHING RETURNING request_id', [requestId, kind, by]);
  return rows.length === 1;
}

function normalize(row: Approval): Approval {
  const payload = typeof row.payload === 'string' ? (JSON.parse(row.payload) as Record<string, unknown>) : row.payload;
  return { ...row, payload, expiresAt: new Date(row.expiresAt), decidedAt: row.decidedAt ? new Date(row.decidedAt) : null, createdAt: new Date(row.createdAt) };
}

/** Forgets request ids older than `maxAgeMs` (default a week): Slack retries within minutes. */
export async function pruneRequests(db: Queryable, now: Date, maxAgeMs = 7 * 86_400_000): Promise<number> {
  const rows = await db.query('DELETE FROM bot_requests WHERE created_at < $1 RETURNING request_id', [new Date(now.getTime() - maxAgeMs).toISOString()]);
  return rows.length;
}
