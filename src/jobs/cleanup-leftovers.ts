import { tmpdir } from 'node:os';
import { recordAudit } from '../state/audit-log.ts';
import { forgetClosed, listClosed } from '../state/scratch-registry.ts';
import type { Queryable } from '../state/state-db.ts';
import type { JobDeps, Trigger } from './job-context.ts';
import { openAdminSession, setAllowConnections, type AdminSession } from './pg/database-admin.ts';
import { removeOrphanTempFiles } from './pg/pg-restore.ts';
import { dropStaleScratchDatabases, withOwnerGone } from './pg/scratch-database.ts';
import { runHook } from './run-hook.ts';

export interface CleanupReport {
  /** Scratch and temporary databases of dead Bantay processes, now dropped. */
  droppedDatabases: string[];
  /** Databases an interrupted in-place restore or --replace had closed to connections, now open again. */
  reopenedDatabases: string[];
  /** Live databases whose in-place restore was interrupted (the application may still be stopped). */
  interruptedInPlace: string[];
  /** Plaintext temp files of dead processes, now removed. */
  removedTempFiles: string[];
  /** What the cleanup could not do or would not touch; never a reason to fail the job that ran it. */
  warnings: string[];
}

/**
 * Repairs what a Bantay process killed without warning (SIGKILL, power loss, OOM) left behind,
 * touching only what the state database says Bantay itself created or closed on this server
 * (scratch-database.ts, swap-database.ts): a database is never judged by its name or comment.
 * Safe to run at any time and concurrently with other jobs: only records whose owner is gone
 * (its advisory lock is free) are acted on. Never throws: problems become warnings, because a
 * verify or restore must not fail over someone else's leftovers. Runs at the start of every
 * verify, restore and drill, and as `bantay restore --cleanup`.
 */
export async function cleanupLeftovers(session: AdminSession, state: Queryable, options: { tmpDir?: string } = {}): Promise<CleanupReport> {
  const report: CleanupReport = { droppedDatabases: [], reopenedDatabases: [], interruptedInPlace: [], removedTempFiles: [], warnings: [] };
  const attempt = async (what: string, fn: () => Promise<void>) => {
    try {
      await fn();
    } catch (err) {
      report.warnings.push(`${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  };
  await attempt('reopening databases an interrupted restore closed', () => reopenClosed(session, state, report));
  await attempt('dropping scratch databases of interrupted runs', async () => {
    const { dropped, warnings } = await dropStaleScratchDatabases(session, state);
    report.droppedDatabases.push(...dropped.map((d) => d.name));
    report.warnings.push(...warnings);
  });
  await attempt('removing temporary files of interrupted runs', async () => {
    report.removedTempFiles = removeOrphanTempFiles(options.tmpDir ?? tmpdir());
  });
  return report;
}

/**
 * Reopens each recorded closed database whose closer is gone, if the database under that name
 * is still the one that was closed (same oid) and still closed; then forgets the record.
 */
async function reopenClosed(session: AdminSession, state: Queryable, report: CleanupReport): Promise<void> {
  const { client } = session;
  for (const record of await listClosed(state, session.server)) {
    await withOwnerGone(client, record.scratch, async () => {
      const { rows } = await client.query<{ oid: number; open: boolean }>('SELECT oid, datallowconn AS open FROM pg_database WHERE datname = $1', [record.name]);
      const db = rows[0];
      if (db !== undefined && Number(db.oid) === record.oid && !db.open) {
        await setAllowConnections(client, record.name, true);
        report.reopenedDatabases.push(record.name);
        if (record.kind === 'in-place') report.interruptedInPlace.push(record.name);
      }
      await forgetClosed(state, session.server, record.name);
    });
  }
}

/** True when the cleanup found anything worth telling a person about. */
export function isCleanupWorthReporting(report: CleanupReport): boolean {
  return report.droppedDatabases.length + report.removedTempFiles.length + report.reopenedDatabases.length > 0;
}

/** One line for a progress reporter's warn(): what was cleaned up and what could not be. */
export function describeCleanup(report: CleanupReport): string[] {
  const lines: string[] = [];
  if (isCleanupWorthReporting(report)) lines.push(`Cleaned up after an interrupted Bantay run: ${[...report.droppedDatabases, ...report.reopenedDatabases.map((d) => `reopened ${d}`), ...report.removedTempFiles].join(', ')}`);
  for (const w of report.warnings) lines.push(`Cleanup: ${w}`);
  return lines;
}

export interface CleanupSpec {
  databaseUrl: string;
  maintenanceDb: string;
  tmpDir?: string;
  /** BANTAY_APP_START_CMD: run when an interrupted in-place restore may have left the application stopped. */
  startCommand?: string;
  hookTimeoutSeconds: number;
  trigger: Trigger;
}

/** `bantay restore --cleanup`: cleanupLeftovers, restart the application if needed, audit. */
export async function runCleanup(spec: CleanupSpec, deps: JobDeps): Promise<CleanupReport & { startedApplication: boolean }> {
  const session = await openAdminSession(spec.databaseUrl, spec.maintenanceDb);
  try {
    const report = await cleanupLeftovers(session, deps.state, { tmpDir: spec.tmpDir });
    const startedApplication = report.interruptedInPlace.length > 0 && spec.startCommand !== undefined;
    if (startedApplication) await runHook('start', spec.startCommand!, { timeoutSeconds: spec.hookTimeoutSeconds });
    await recordAudit(deps.state, {
      operationType: 'restore',
      backupType: 'database',
      status: 'succeeded',
      performedBy: spec.trigger.by,
      details: { step: 'cleanup', via: spec.trigger.via, ...report, startedApplication },
    });
    return { ...report, startedApplication };
  } finally {
    await session.close();
  }
}
