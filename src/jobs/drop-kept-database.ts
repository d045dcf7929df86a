import { BantayError, ErrorCode } from '../errors.ts';
import { recordAudit } from '../state/audit-log.ts';
import type { JobDeps, Trigger } from './job-context.ts';
import { describeDatabaseUrl } from './pg/connection.ts';
import { databaseExists, dropDatabase, openAdminSession, parseDatabaseName } from './pg/database-admin.ts';

export interface DropKeptSpec {
  databaseUrl: string;
  maintenanceDb: string;
  /** The database an in-place restore kept (`<live>_pre_restore_<stamp>`). */
  name: string;
  trigger: Trigger;
}

/**
 * Drops the database an in-place restore kept from before its swap, and nothing else: the
 * name must be one that a succeeded in-place restore of the live database recorded as kept
 * (audit log), never the live database itself. Audited, refusals included.
 */
export async function dropKeptDatabase(spec: DropKeptSpec, deps: JobDeps): Promise<{ dropped: string }> {
  const name = parseDatabaseName(spec.name);
  const live = describeDatabaseUrl(spec.databaseUrl).database;
  const audit = (status: string, extra: Record<string, unknown> = {}) =>
    recordAudit(deps.state, { operationType: 'restore', backupType: 'database', status, performedBy: spec.trigger.by, details: { step: 'drop kept database', database: name, via: spec.trigger.via, ...extra } });
  const recorded = await deps.state.query(
    `SELECT 1 FROM backup_audit WHERE operation_type = 'restore' AND status = 'succeeded' AND details->>'keptAs' = $1 AND details->>'target' = $2 LIMIT 1`,
    [name, live],
  );
  if (name === live || recorded.length === 0) {
    await audit('refused', { reason: 'not a database kept by an in-place restore' });
    throw new BantayError(ErrorCode.InvalidInput, `${name} is not a database an in-place restore of ${live} kept, so Bantay does not drop it`);
  }
  const session = await openAdminSession(spec.databaseUrl, spec.maintenanceDb, { lockTimeoutMs: deps.lockTimeoutMs });
  try {
    if (!(await databaseExists(session.client, name))) throw new BantayError(ErrorCode.NotFound, `${name} is already gone`);
    await dropDatabase(session.client, name);
    await audit('succeeded');
    return { dropped: name };
  } catch (err) {
    await audit('failed', { error: (err as Error).message }).catch(() => undefined);
    throw err;
  } finally {
    await session.close();
  }
}
