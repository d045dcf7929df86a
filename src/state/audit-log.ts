import { writeState } from './journal.ts';
import type { Queryable } from './state-types.ts';

/** One audit row; columns follow the FBMS procedures' backup_audit table, plus id and details. */
export interface AuditEntry {
  operationType: 'backup' | 'restore' | 'verify' | 'drill' | 'export' | 'prune' | 'sync' | 'approval' | string;
  backupType?: string;
  status: 'started' | 'succeeded' | 'failed' | 'refused' | string;
  filePath?: string;
  fileSize?: number;
  durationSeconds?: number;
  errorMessage?: string;
  /** Who asked: "cli:<os user>", "slack:<user id>", "schedule". */
  performedBy: string;
  backupId?: string;
  details?: Record<string, unknown>;
}

export interface AuditRow extends Required<Pick<AuditEntry, 'operationType' | 'status' | 'performedBy'>> {
  id: string;
  backupType: string | null;
  filePath: string | null;
  fileSize: string | null;
  durationSeconds: string | null;
  errorMessage: string | null;
  backupId: string | null;
  createdAt: Date;
}

export async function recordAudit(db: Queryable, entry: AuditEntry): Promise<void> {
  // Journalable (state-db.ts writeState): the row carries its own created_at.
  await writeState(
    db,
    `INSERT INTO backup_audit (operation_type, backup_type, status, file_path, file_size, duration_seconds,
       error_message, performed_by, backup_id, details, created_at)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
    [
      entry.operationType,
      entry.backupType ?? null,
      entry.status,
      entry.filePath ?? null,
      entry.fileSize ?? null,
      entry.durationSeconds ?? null,
      entry.errorMessage ?? null,
      entry.performedBy,
      entry.backupId ?? null,
      entry.details === undefined ? null : JSON.stringify(entry.details),
      new Date(),
    ],
  );
}

export async function listAudit(db: Queryable, options: { limit?: number; backupId?: string } = {}): Promise<AuditRow[]> {
  return db.query<AuditRow>(
    `SELECT id::text, operation_type AS "operationType", backup_type AS "backupType", status, file_path AS "filePath",
            file_size::text AS "fileSize", duration_seconds::text AS "durationSeconds", error_message AS "errorMessage",
            performed_by AS "performedBy", backup_id AS "backupId", created_at AS "createdAt"
       FROM backup_audit
      WHERE ($1::text IS NULL OR backup_id = $1)
      ORDER BY backup_audit.id DESC
      LIMIT $2`,
    [options.backupId ?? null, options.limit ?? 50],
  );
}
