import type { BackupKind } from '../catalog/backup-id.ts';
import { findBackup } from '../catalog/catalog.ts';
import { isRecordRefused } from '../catalog/json-record.ts';
import type { Manifest } from '../catalog/manifest.ts';
import { recordAudit } from '../state/audit-log.ts';
import type { JobDeps, Trigger } from './job-context.ts';

/**
 * findBackup for the jobs that use a backup (verify, restore, export): a damaged or rejected
 * manifest is refused as findBackup refuses it, and the refusal lands in the audit log as a
 * "refused" row of that operation, so an attempt on a tampered or broken backup is on record.
 */
export async function findUsableBackup(
  deps: Pick<JobDeps, 'store' | 'state' | 'keyRing' | 'logger' | 'now'>,
  idOrLatest: string,
  use: { operation: 'verify' | 'restore' | 'export'; trigger: Trigger; kind?: BackupKind },
): Promise<Manifest> {
  try {
    return await findBackup(deps.store, deps, idOrLatest, use.kind);
  } catch (err) {
    if (isRecordRefused(err)) {
      const id = /\b((?:db|app|upl)-\d{8}T\d{6}Z-[0-9a-f]{4})\b/.exec(err.message)?.[1];
      await recordAudit(deps.state, {
        operationType: use.operation,
        status: 'refused',
        errorMessage: err.message,
        performedBy: use.trigger.by,
        ...(id !== undefined ? { backupId: id } : {}),
        details: { verdict: err.verdict, reason: err.reason, requested: idOrLatest.slice(0, 64), via: use.trigger.via },
      }).catch((auditErr: unknown) => deps.logger.error({ err: auditErr }, 'could not write the audit row of a refused backup'));
    }
    throw err;
  }
}
