import { BantayError, ErrorCode } from '../../errors.ts';
import type { Queryable } from '../../state/state-db.ts';

/**
 * How an in-place restore was authorised. The two-person rule is enforced here, in the job
 * layer, so no caller (a Slack handler with a bug, a forged button value, a future API) can
 * start an in-place restore without it:
 * - `approval`: an approval request (created in Slack) that a different person approved, for
 *   exactly this backup and target, and not used by an earlier run;
 * - `typed-confirmation`: the CLI's own path, where the operator at the server typed the live
 *   name (or passed --yes); it is recorded in the audit log as such.
 */
export type InPlaceAuthorization = { type: 'approval'; approvalId: string } | { type: 'typed-confirmation'; by: string };

/** What the audit rows of the restore carry about its authorisation. */
export interface AuthorizationRecord {
  authorizedBy: 'approval' | 'typed-confirmation';
  approvalId?: string;
  approvedBy?: string;
}

/** What the approval must be for: the backup restored and the live thing it replaces. */
export interface InPlaceSubject {
  backupId: string;
  /** Backup kind: database, application or uploads. */
  kind: string;
  /**
   * The choices beyond a plain restore this run makes (database restores): the approval must
   * have asked for exactly these, so a run cannot add one the approver never saw.
   */
  choices?: { acceptRestoreErrors: boolean; fromOtherDatabase: boolean };
}

/**
 * Checks the authorisation and, for an approval, marks it used in the same statement (one
 * conditional UPDATE: two runs racing on one approval start one restore). Throws when it does
 * not hold; nothing has been touched then.
 */
export async function consumeInPlaceAuthorization(db: Queryable, auth: InPlaceAuthorization | undefined, subject: InPlaceSubject, now: Date): Promise<AuthorizationRecord> {
  if (auth === undefined) throw refused('it was not authorised (an approval by a second person, or a typed confirmation at the server)');
  if (auth.type === 'typed-confirmation') return { authorizedBy: 'typed-confirmation' };
  const rows = await db.query<{ decidedBy: string }>(
    `UPDATE approvals SET used_at = $2
      WHERE id = $1 AND kind = 'restore-in-place' AND status = 'approved' AND used_at IS NULL
        AND decided_by IS NOT NULL AND decided_by <> requested_by
        AND payload->'spec'->>'backup' = $3 AND payload->'spec'->'target'->>'mode' = 'in-place'
        AND coalesce(payload->'backup'->>'kind', 'database') = $4
        AND coalesce(payload->'spec'->>'acceptRestoreErrors', 'false') = $5 AND coalesce(payload->'spec'->>'fromOtherDatabase', 'false') = $6
      RETURNING decided_by AS "decidedBy"`,
    [auth.approvalId, now.toISOString(), subject.backupId, subject.kind, String(subject.choices?.acceptRestoreErrors === true), String(subject.choices?.fromOtherDatabase === true)],
  );
  if (rows.length === 0) throw refused(`approval ${auth.approvalId} is not an approved, unused approval for restoring ${subject.backupId} in place${subject.choices?.acceptRestoreErrors || subject.choices?.fromOtherDatabase ? ' with the choices asked for' : ''}`);
  return { authorizedBy: 'approval', approvalId: auth.approvalId, approvedBy: rows[0]!.decidedBy };
}

function refused(why: string): BantayError {
  return new BantayError(ErrorCode.InvalidInput, `In-place restore refused: ${why}. Nothing was changed.`);
}
