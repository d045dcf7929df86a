import { tmpdir } from 'node:os';
import { recordAudit } from '../state/audit-log.ts';
import type { JobDeps, Trigger } from './job-context.ts';
import { databaseInfo, openAdminSession, setAllowConnections, type AdminSession } from './pg/database-admin.ts';
import { removeOrphanTempFiles } from './pg/pg-restore.ts';
import { dropStaleScratchDatabases } from './pg/scratch-database.ts';
import { runHook } from './run-hook.ts';

/** Comment on the temporary database of an in-place restore of `live`, until it is swapped in. */
export function inPlaceMarker(live: string): string {
  return `bantay:in-place:${live}`;
}

/** Comment on the temporary database of a `restore --replace` of `target`: the same swap, no application. */
export function replaceMarker(target: string): string {
  return `bantay:replace:${target}`;
}

// The live name comes from DATABASE_URL and may be any PostgreSQL name ("FBMS-Prod" included);
// it is only ever looked up as a bind parameter and quoted with escapeIdentifier.
const SWAP_MARKER = /^bantay:(in-place|replace):([\s\S]{1,63})$/;

export interface CleanupReport {
  /** Scratch and temporary databases of dead Bantay processes, now dropped. */
  droppedDatabases: string[];
  /** Databases an interrupted in-place restore or --replace had closed to connections, now open again. */
  reopenedDatabases: string[];
  /** Live databases whose in-place restore was interrupted (the application may still be stopped). */
  interruptedInPlace: string[];
  /** Plaintext temp files of dead processes, now removed. */
  removedTempFiles: string[];
}

/**
 * Repairs what a Bantay process killed without warning (SIGKILL, power loss, OOM) left behind.
 * Safe to run at any time and concurrently with other jobs: only databases whose owner is gone
 * (see scratch-database.ts) are touched. An in-place restore (or --replace) that died before
 * its swap committed left the old database complete under its name, possibly closed to new
 * connections; that is undone here. Runs at the start of every verify, restore and drill, and
 * as `bantay restore --cleanup`.
 */
export async function cleanupLeftovers(session: AdminSession, options: { tmpDir?: string } = {}): Promise<CleanupReport> {
  const report: CleanupReport = { droppedDatabases: [], reopenedDatabases: [], interruptedInPlace: [], removedTempFiles: [] };
  for (const stale of await dropStaleScratchDatabases(session)) {
    report.droppedDatabases.push(stale.name);
    const swap = SWAP_MARKER.exec(stale.marker ?? '');
    if (!swap) continue;
    const live = swap[2]!;
    if (swap[1] === 'in-place') report.interruptedInPlace.push(live);
    const info = await databaseInfo(session.client, live);
    if (info && !info.allowConnections) {
      await setAllowConnections(session.client, live, true);
      report.reopenedDatabases.push(live);
    }
  }
  report.removedTempFiles = removeOrphanTempFiles(options.tmpDir ?? tmpdir());
  return report;
}

/** True when the cleanup found anything worth telling a person about. */
export function isCleanupWorthReporting(report: CleanupReport): boolean {
  return report.droppedDatabases.length + report.removedTempFiles.length > 0;
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
    const report = await cleanupLeftovers(session, { tmpDir: spec.tmpDir });
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
