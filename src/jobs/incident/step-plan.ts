import { BantayError, ErrorCode } from '../../errors.ts';
import type { Manifest } from '../../catalog/manifest.ts';
import type { Incident, IncidentEvent, RestoreTo, RunbookStep } from './model.ts';

/**
 * What running a runbook step does, as data (pure: the CLI and Slack each carry it out with
 * their own jobs and approvals). Defaults follow the incident: "latest clean" is the newest
 * database backup taken before the detection time (one taken after may hold the damage), the
 * point in time is one second before detection; the operator may override both.
 */
export type StepPlan =
  | { kind: 'hook'; hook: 'stop' | 'start' }
  | { kind: 'emergency-backup' }
  | { kind: 'restore'; backupId: string; backupCreatedAt: string; to: RestoreTo; from: 'primary' | 'secondary' }
  | { kind: 'restore-pitr'; time: Date; to: RestoreTo }
  /**
   * With `restored`, checks the database a restore step of this incident produced against the
   * backup it came from (for a point-in-time recovery, the kept copy), read from where that
   * backup was read; without, verifies a backup by restoring it into a scratch database.
   */
  | { kind: 'verify'; backupId: string; from: 'primary' | 'secondary'; restored?: RestoredDatabase }
  | { kind: 'restore-files'; backupId: string; backupCreatedAt: string };

/** A database a restore step left: in place of the live one, or a new database by name. */
export type RestoredDatabase = { to: 'in-place' } | { to: 'new'; database: string };

export interface StepOverrides {
  /** A backup id instead of the latest clean one. */
  backupId?: string;
  /** A recovery time instead of one second before detection. */
  time?: Date;
  to?: RestoreTo;
}

export function planStep(incident: Incident, step: RunbookStep, backups: readonly Manifest[], events: readonly IncidentEvent[], overrides: StepOverrides = {}): StepPlan {
  const to = overrides.to ?? step.to ?? 'new';
  switch (step.action) {
    case undefined:
      throw new BantayError(ErrorCode.InvalidInput, `Step ${step.number} is done by people: mark it done when it is`);
    case 'stop-app':
      return { kind: 'hook', hook: 'stop' };
    case 'start-app':
      return { kind: 'hook', hook: 'start' };
    case 'emergency-backup':
      return { kind: 'emergency-backup' };
    case 'restore-latest':
    case 'restore-secondary': {
      const backup = chooseBackup(incident, backups, 'database', overrides.backupId);
      return { kind: 'restore', backupId: backup.id, backupCreatedAt: backup.createdAt, to, from: step.action === 'restore-secondary' ? 'secondary' : 'primary' };
    }
    case 'restore-pitr': {
      const time = overrides.time ?? new Date(incident.detectedAt.getTime() - 1000);
      if (time.getTime() > incident.detectedAt.getTime()) throw new BantayError(ErrorCode.InvalidInput, 'The recovery time is after the detection time: the damage would be recovered too');
      return { kind: 'restore-pitr', time, to };
    }
    case 'verify-restored': {
      if (overrides.backupId !== undefined) return { kind: 'verify', backupId: chooseBackup(incident, backups, 'database', overrides.backupId).id, from: 'primary' };
      const restored = lastRestoreOf(events);
      if (restored !== undefined) return { kind: 'verify', ...restored };
      // Nothing restored yet: prove the backup a restore would use.
      return { kind: 'verify', backupId: chooseBackup(incident, backups, 'database', undefined).id, from: 'primary' };
    }
    case 'restore-files': {
      const backup = chooseBackup(incident, backups, 'application', overrides.backupId);
      return { kind: 'restore-files', backupId: backup.id, backupCreatedAt: backup.createdAt };
    }
  }
}

/** The newest usable backup of a kind taken before detection (emergency backups excluded), or the one named. */
export function chooseBackup(incident: Incident, backups: readonly Manifest[], kind: Manifest['kind'], id: string | undefined): Manifest {
  if (id !== undefined) {
    const named = backups.find((b) => b.id === id && b.kind === kind);
    if (!named) throw new BantayError(ErrorCode.NotFound, `There is no usable ${kind} backup with that id (see bantay list)`);
    return named;
  }
  const clean = backups
    .filter((b) => b.kind === kind && b.emergency !== true && new Date(b.createdAt).getTime() < incident.detectedAt.getTime())
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
  if (!clean) throw new BantayError(ErrorCode.NotFound, `There is no ${kind} backup taken before the detection time (${incident.detectedAt.toISOString()}): name one explicitly`);
  return clean;
}

/**
 * The database the newest successful database restore step of this incident produced, the
 * backup to compare it with and where that backup is. A step that did not record them (run by
 * an earlier version, or a console PITR whose audit row was not found) is passed over: the
 * plan's description, shown before anything runs, says what will be checked instead.
 */
export function lastRestoreOf(events: readonly IncidentEvent[]): { backupId: string; from: 'primary' | 'secondary'; restored: RestoredDatabase } | undefined {
  for (const event of [...events].reverse()) {
    const d = event.details;
    if (event.kind !== 'step-finished' || d.outcome !== 'succeeded' || (d.plan !== 'restore' && d.plan !== 'restore-pitr')) continue;
    const backupId = d.plan === 'restore' ? d.backupId : d.copyBackupId;
    const restored: RestoredDatabase | undefined = d.to === 'in-place' ? { to: 'in-place' } : typeof d.target === 'string' ? { to: 'new', database: d.target } : undefined;
    if (typeof backupId !== 'string' || restored === undefined) continue;
    return { backupId, from: d.from === 'secondary' ? 'secondary' : 'primary', restored };
  }
  return undefined;
}

/** One line for people: what the step will do. */
export function describePlan(plan: StepPlan, timeText: (d: Date) => string): string {
  switch (plan.kind) {
    case 'hook':
      return plan.hook === 'stop' ? 'Run the application stop command' : 'Run the application start command';
    case 'emergency-backup':
      return 'Take an emergency backup of the database now';
    case 'restore':
      return `Restore backup ${plan.backupId} (taken ${timeText(new Date(plan.backupCreatedAt))})${plan.from === 'secondary' ? ' from the secondary location' : ''} ${plan.to === 'in-place' ? 'in place of the live database' : 'to a new database'}`;
    case 'restore-pitr':
      return `Recover the database to ${timeText(plan.time)} ${plan.to === 'in-place' ? 'in place of the live database' : 'into a new database'}`;
    case 'verify': {
      const from = plan.from === 'secondary' ? ' (read from the secondary location)' : '';
      if (plan.restored === undefined) return `Verify backup ${plan.backupId}${from} by restoring it into a scratch database`;
      const what = plan.restored.to === 'in-place' ? 'the live database' : `database ${plan.restored.database}`;
      return `Check ${what} against backup ${plan.backupId}${from}: row counts, sequences and objects as the backup recorded them`;
    }
    case 'restore-files':
      return `Restore the application files from ${plan.backupId} (taken ${timeText(new Date(plan.backupCreatedAt))}) in place`;
  }
}

/** "recovered_20261203_061500": the new database a restore step goes to unless named; never a guess at an existing name. */
export function defaultTargetDb(now: Date): string {
  const s = now.toISOString();
  return `recovered_${s.slice(0, 10).replace(/-/g, '')}_${s.slice(11, 19).replace(/:/g, '')}`;
}
