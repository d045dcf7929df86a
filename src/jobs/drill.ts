import { mkdir } from 'node:fs/promises';
import { BACKUP_KINDS, type BackupKind } from '../catalog/backup-id.ts';
import { listBackups } from '../catalog/catalog.ts';
import { newDrillId, writeDrillReport, type DrillItem, type DrillReport } from '../catalog/drill-report.ts';
import { writeIncidentReport } from '../catalog/incident-report.ts';
import { drillAsIncidentReport } from './incident/drill-as-incident.ts';
import { renderIncidentReport } from './incident/render-report.ts';
import type { Manifest } from '../catalog/manifest.ts';
import { latestVerification, writeVerification, type Check } from '../catalog/verification.ts';
import { isAbortError } from '../errors.ts';
import { classifiedError } from '../failure.ts';
import { recordAudit } from '../state/audit-log.ts';
import { saveDrillReport } from '../state/drill-reports.ts';
import { finishJobRun, startJobRun } from '../state/job-runs.ts';
import { BANTAY_VERSION } from '../version.ts';
import { humanDuration, renderDrillReport } from './drill-report-text.ts';
import { drillFilesBackup } from './files/drill-files.ts';
import type { JobDeps, Trigger } from './job-context.ts';
import { openAdminSession, type AdminSession } from './pg/database-admin.ts';
import { silentReporter, type ProgressReporter } from './progress.ts';
import { countByStatus, isPassing } from './restore-checks.ts';
import { verifyManifest } from './verify-backup.ts';
import { runPointInTimeRestore } from './pitr/run-pitr.ts';

export interface DrillSpec {
  databaseUrl: string;
  maintenanceDb: string;
  jobs: number;
  tmpDir?: string;
  objectives: { rtoSeconds: number; rpoSeconds: number };
  trigger: Trigger;
  signal?: AbortSignal;
  /**
   * Point-in-time recovery is set up (BANTAY_WAL is not off): the drill also recovers the
   * cluster to five minutes before it started, from the base backups and the WAL archive.
   */
  pitr?: { dataDir: string; role: string; describeTime: (d: Date) => string };
}

/** How far back the drill's point-in-time recovery goes: a point every real recovery would need WAL past the base for. */
export const PITR_DRILL_LOOKBACK_SECONDS = 5 * 60;

export interface DrillOutcome {
  report: DrillReport;
  text: string;
  storeKey: string;
}

/** How far back the drill looks for an older verified backup when the newest one fails. */
const RPO_LOOKBACK = 20;

/**
 * The monthly recovery drill: for the newest backup of each kind present, restore and verify
 * it (database into a scratch database, files into a scratch directory), measure RTO (wall time to a restored, verified copy) and RPO (age of the newest point
 * known to restore), compare them with the objectives and produce a report that is stored in
 * the store and the state database and audited. A drill that finds problems resolves with a
 * failed report; it throws only when it cannot run or store its report.
 */
export async function runDrill(spec: DrillSpec, deps: JobDeps, reporter: ProgressReporter = silentReporter): Promise<DrillOutcome> {
  const started = deps.now?.() ?? new Date();
  const id = newDrillId(started);
  await startJobRun(deps.state, { id, job: 'drill', performedBy: spec.trigger.by });
  try {
    reporter.phase?.('listing', `backups in ${deps.store.description}`);
    const backups = await listBackups(deps.store, deps);
    const items = await drillEachKind(backups, spec, deps, reporter, started);
    if (spec.pitr !== undefined) items.push(await drillPointInTime(spec, spec.pitr, deps, reporter, started));
    const finished = deps.now?.() ?? new Date();
    const counts = countByStatus(items.flatMap((i) => i.checks));
    const report: DrillReport = {
      formatVersion: 2,
      id,
      startedAt: started.toISOString(),
      finishedAt: finished.toISOString(),
      durationSeconds: (finished.getTime() - started.getTime()) / 1000,
      performedBy: spec.trigger.by,
      objectives: spec.objectives,
      passed: counts.failed === 0 && items.some((i) => i.status === 'passed'),
      counts,
      items,
    };
    const text = renderDrillReport(report);
    reporter.phase?.('recording', `drill report ${id}: ${report.passed ? 'passed' : 'FAILED'}`);
    const storeKey = await writeDrillReport(deps.store, report, text, deps, spec.signal);
    // The same drill in the recovery report's form, as a simulated incident (issue: incident mode).
    const asIncident = drillAsIncidentReport(report);
    await writeIncidentReport(deps.store, asIncident, renderIncidentReport(asIncident), deps, spec.signal);
    await saveDrillReport(deps.state, report, storeKey);
    await recordOutcome(deps, report, storeKey, spec.trigger);
    return { report, text, storeKey };
  } catch (err) {
    // A drill that could not run to its report (the store or the scratch server failed) says
    // nothing about the backups: could-not-check, as a verify.
    const error = classifiedError('Drill', err, { checking: true, cancelled: spec.signal?.aborted === true });
    const c = error.classification;
    await finishJobRun(deps.state, id, { status: c.outcome, errorMessage: error.message, cause: c.cause }).catch(() => undefined);
    await recordAudit(deps.state, { operationType: 'drill', status: c.outcome, errorMessage: error.message, performedBy: spec.trigger.by, details: { drillId: id, classification: { outcome: c.outcome, cause: c.cause } } }).catch(() => undefined);
    throw error;
  }
}

async function drillEachKind(backups: Manifest[], spec: DrillSpec, deps: JobDeps, reporter: ProgressReporter, started: Date): Promise<DrillItem[]> {
  const items: DrillItem[] = [];
  for (const kind of BACKUP_KINDS) {
    const ofKind = backups.filter((m) => m.kind === kind);
    if (kind === 'database') {
      const session = await openAdminSession(spec.databaseUrl, spec.maintenanceDb, { lockTimeoutMs: deps.lockTimeoutMs });
      try {
        items.push(await drillDatabase(ofKind, session, spec, deps, reporter, started));
      } finally {
        await session.close();
      }
    } else if (ofKind[0] !== undefined) {
      items.push(await drillFiles(kind, ofKind, spec, deps, reporter, started));
    }
  }
  return items;
}

async function drillDatabase(backups: Manifest[], session: AdminSession, spec: DrillSpec, deps: JobDeps, reporter: ProgressReporter, started: Date): Promise<DrillItem> {
  const latest = backups[0];
  if (latest === undefined) {
    const checks: Check[] = [{ name: 'backup exists', status: 'failed', detail: 'There is no database backup in the store: nothing could be restored' }];
    return { kind: 'database', backupId: null, backupCreatedAt: null, status: 'failed', checks, rtoSeconds: null, rpoSeconds: null };
  }
  reporter.phase?.('drilling', `database backup ${latest.id}`);
  let checks: Check[];
  let rtoSeconds: number | null = null;
  try {
    const result = await verifyManifest(latest, session, { ...spec, source: 'drill' }, deps, reporter);
    checks = result.checks;
    if (result.passed) rtoSeconds = result.restoreSeconds;
  } catch (err) {
    if (isAbortError(err)) throw err;
    checks = [{ name: 'verify', status: 'failed', detail: `The verify could not run: ${err instanceof Error ? err.message : String(err)}` }];
  }
  return withObjectives('database', latest, backups, { checks, rtoSeconds, started }, spec, deps);
}

/**
 * Recovers the cluster to five minutes before the drill started in a scratch directory, checks
 * it and removes it (run-pitr.ts, target "check"). RTO is the wall time to the recovered,
 * checked cluster; RPO is the age of the newest archived WAL when the drill started, the point
 * a recovery "now" would reach.
 */
async function drillPointInTime(spec: DrillSpec, pitr: NonNullable<DrillSpec['pitr']>, deps: JobDeps, reporter: ProgressReporter, started: Date): Promise<DrillItem> {
  const target = new Date(started.getTime() - PITR_DRILL_LOOKBACK_SECONDS * 1000);
  reporter.phase?.('drilling', `point-in-time recovery to ${pitr.describeTime(target)}`);
  let checks: Check[];
  let rtoSeconds: number | null = null;
  let rpoSeconds: number | null = null;
  let baseBackupId: string | null = null;
  try {
    const r = await runPointInTimeRestore({ target, to: { kind: 'check' }, dataDir: pitr.dataDir, role: pitr.role, describeTime: pitr.describeTime, trigger: spec.trigger, signal: spec.signal }, deps, reporter);
    baseBackupId = r.baseBackupId;
    rtoSeconds = r.rtoSeconds;
    rpoSeconds = Math.max(0, (started.getTime() - new Date(r.window.to).getTime()) / 1000);
    const reached = r.point.lastTransactionAt ? pitr.describeTime(new Date(r.point.lastTransactionAt)) : 'no transaction after the base backup';
    checks = [{ name: 'point-in-time recovery', status: 'passed', detail: `Recovered ${r.baseBackupId} and ${r.walFilesFetched} WAL files to ${pitr.describeTime(target)}: last replayed transaction ${reached}, LSN ${r.point.lsn ?? '?'}; databases ${r.databases.join(', ')} checked` }];
  } catch (err) {
    if (isAbortError(err)) throw err;
    checks = [{ name: 'point-in-time recovery', status: 'failed', detail: `Could not recover to ${pitr.describeTime(target)}: ${err instanceof Error ? err.message : String(err)}` }];
  }
  checks.push(rtoCheck(rtoSeconds, spec.objectives.rtoSeconds), {
    name: 'RPO',
    ...(rpoSeconds === null
      ? { status: 'failed' as const, detail: `No point in time could be recovered (objective ${humanDuration(spec.objectives.rpoSeconds)})` }
      : { status: rpoSeconds <= spec.objectives.rpoSeconds ? ('passed' as const) : ('failed' as const), detail: `The newest archived WAL was ${humanDuration(rpoSeconds)} old (objective ${humanDuration(spec.objectives.rpoSeconds)})`, actual: Math.round(rpoSeconds) }),
    expected: spec.objectives.rpoSeconds,
  });
  return { kind: 'pitr', backupId: baseBackupId, backupCreatedAt: null, status: isPassing(checks) ? 'passed' : 'failed', checks, rtoSeconds, rpoSeconds };
}

/** The newest of `candidates` whose latest verification record passed. */
async function newestVerified(candidates: Manifest[], deps: JobDeps): Promise<Manifest | undefined> {
  for (const m of candidates) {
    if ((await latestVerification(deps.store, deps, m.id))?.passed) return m;
  }
  return undefined;
}

export function rtoCheck(measured: number | null, objective: number): Check {
  if (measured === null) return { name: 'RTO', status: 'failed', detail: `No restore completed with a verified result (objective ${humanDuration(objective)})`, expected: objective };
  return {
    name: 'RTO',
    status: measured <= objective ? 'passed' : 'failed',
    detail: `Restored and verified in ${humanDuration(measured)} (objective ${humanDuration(objective)})`,
    expected: objective,
    actual: Math.round(measured * 10) / 10,
  };
}

export function rpoCheck(measured: number | null, point: Manifest | undefined, objective: number): Check {
  if (measured === null || point === undefined) return { name: 'RPO', status: 'failed', detail: `No backup is known to restore (objective ${humanDuration(objective)})`, expected: objective };
  return {
    name: 'RPO',
    status: measured <= objective ? 'passed' : 'failed',
    detail: `Newest restorable point ${point.id} is ${humanDuration(measured)} old (objective ${humanDuration(objective)})`,
    expected: objective,
    actual: Math.round(measured),
  };
}

/**
 * Files backups (application, uploads): restored (the whole chain, for uploads) into a scratch
 * directory under tmpDir, every file checked against the index, the directory removed
 * (src/jobs/files/drill-files.ts). RTO is the time that took.
 */
async function drillFiles(kind: BackupKind, backups: Manifest[], spec: DrillSpec, deps: JobDeps, reporter: ProgressReporter, started: Date): Promise<DrillItem> {
  const latest = backups[0]!;
  reporter.phase?.('drilling', `${kind} backup ${latest.id}`);
  let checks: Check[];
  let rtoSeconds: number | null = null;
  try {
    if (spec.tmpDir !== undefined) await mkdir(spec.tmpDir, { recursive: true, mode: 0o700 });
    const result = await drillFilesBackup(latest, deps, reporter, { signal: spec.signal, scratchDir: spec.tmpDir });
    checks = result.checks.map((c) => ({ name: c.name, status: c.status, detail: c.detail }));
    if (result.passed) rtoSeconds = result.durationSeconds;
    await writeVerification(deps.store, {
      formatVersion: 2,
      backupId: latest.id,
      source: 'drill',
      verifiedAt: new Date().toISOString(),
      passed: result.passed,
      durationSeconds: result.durationSeconds,
      checks,
      performedBy: spec.trigger.by,
      tools: { bantay: BANTAY_VERSION },
    }, deps);
  } catch (err) {
    if (isAbortError(err)) throw err;
    checks = [{ name: 'verify', status: 'failed', detail: `The verify could not run: ${err instanceof Error ? err.message : String(err)}` }];
  }
  return withObjectives(kind, latest, backups, { checks, rtoSeconds, started }, spec, deps);
}

async function recordOutcome(deps: JobDeps, report: DrillReport, storeKey: string, trigger: Trigger): Promise<void> {
  const failed = report.items.flatMap((i) => i.checks.filter((c) => c.status === 'failed').map((c) => `${i.kind}: ${c.detail}`));
  await finishJobRun(deps.state, report.id, report.passed ? { status: 'succeeded' } : { status: 'failed', errorMessage: failed.join('; ').slice(0, 2000) });
  await recordAudit(deps.state, {
    operationType: 'drill',
    status: report.passed ? 'succeeded' : 'failed',
    filePath: storeKey,
    durationSeconds: report.durationSeconds,
    errorMessage: report.passed ? undefined : failed.join('; ').slice(0, 2000),
    performedBy: trigger.by,
    backupId: report.items.find((i) => i.kind === 'database')?.backupId ?? undefined,
    details: { drillId: report.id, counts: report.counts, via: trigger.via, rto: report.items.map((i) => i.rtoSeconds), rpo: report.items.map((i) => i.rpoSeconds) },
  });
}

/**
 * Adds the RTO and RPO checks to one kind's result. RPO counts from the newest restorable point:
 * this backup when it restored, else the newest older one with a passing verification record.
 */
async function withObjectives(
  kind: DrillItem['kind'],
  latest: Manifest,
  backups: Manifest[],
  measured: { checks: Check[]; rtoSeconds: number | null; started: Date },
  spec: DrillSpec,
  deps: JobDeps,
): Promise<DrillItem> {
  const { rtoSeconds, started } = measured;
  const restorable = rtoSeconds !== null ? latest : await newestVerified(backups.slice(1, RPO_LOOKBACK + 1), deps);
  const rpoSeconds = restorable ? (started.getTime() - new Date(restorable.createdAt).getTime()) / 1000 : null;
  const checks = [...measured.checks, rtoCheck(rtoSeconds, spec.objectives.rtoSeconds), rpoCheck(rpoSeconds, restorable, spec.objectives.rpoSeconds)];
  return { kind, backupId: latest.id, backupCreatedAt: latest.createdAt, status: isPassing(checks) ? 'passed' : 'failed', checks, rtoSeconds, rpoSeconds };
}
