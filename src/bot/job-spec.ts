import { parseBackupId, parseLabel, printable } from '../catalog/backup-id.ts';
import { BantayError, ErrorCode } from '../errors.ts';
import { parseDatabaseName } from '../jobs/pg/database-admin.ts';
import { parseFreeLabel } from './labels.ts';

/**
 * What the bot can run, as data: a discriminated union that travels through modals
 * (private_metadata), approval rows (jsonb) and Retry buttons (button value), so every path
 * that starts a job starts it from the same validated description.
 */
export const BACKUP_VARIANTS = ['database', 'application', 'uploads', 'full', 'emergency', 'pre-deploy'] as const;
export type BackupVariant = (typeof BACKUP_VARIANTS)[number];

export type RestoreTargetSpec = { mode: 'new'; name: string } | { mode: 'in-place' };

export type BotJobSpec =
  | { type: 'backup'; variant: BackupVariant; label?: string }
  /**
   * With `restored`, checks that existing database (a new one by name, or the live one) against
   * the backup instead of restoring the backup; `from: 'secondary'` reads the backup there.
   */
  | { type: 'verify'; backup: string; restored?: RestoreTargetSpec; from?: 'secondary' }
  /** `from: 'secondary'` reads the backup from the secondary location (to a new database only). */
  | {
      type: 'restore';
      backup: string;
      target: RestoreTargetSpec;
      reason: string;
      date?: string;
      approvalId?: string;
      from?: 'secondary';
      /** In place only (so only with a second person's approval): put the copy in place although pg_restore reported errors. */
      acceptRestoreErrors?: true;
      /** In place only: the backup is of another database or server than the live one, and that is meant. */
      fromOtherDatabase?: true;
    }
  /** Point-in-time recovery (base backup + WAL) to `time` (ISO), copied into a new database. */
  | { type: 'pitr-restore'; time: string; target: { mode: 'new'; name: string }; reason: string }
  | { type: 'drill' }
  | { type: 'drop-kept'; database: string }
  /** An incident step: the configured application stop/start command (BANTAY_APP_STOP_CMD / BANTAY_APP_START_CMD). */
  | { type: 'app-hook'; hook: 'stop' | 'start' };

/** The resources a job touches; two jobs sharing one never run at the same time. */
export function resourcesOf(spec: BotJobSpec): string[] {
  switch (spec.type) {
    case 'backup':
      if (spec.variant === 'full') return ['database', 'application', 'uploads'];
      if (spec.variant === 'pre-deploy') return ['database', 'application'];
      if (spec.variant === 'emergency') return ['database'];
      return [spec.variant];
    case 'restore':
      return [kindOfBackupRef(spec.backup)];
    case 'drop-kept':
    case 'pitr-restore':
      return ['database'];
    case 'app-hook':
      return ['application service'];
    case 'verify':
      // Checking the live database while an in-place restore swaps it would read a half-swapped server.
      if (spec.restored?.mode === 'in-place') return ['database'];
      return ['scratch restores'];
    case 'drill':
      // Both restore into scratch databases on the FBMS server: one at a time is plenty.
      return ['scratch restores'];
  }
}

/** A short title for messages: "Database backup", "Restore of db-… in place". */
export function describeJob(spec: BotJobSpec): string {
  switch (spec.type) {
    case 'backup':
      return {
        database: 'Database backup',
        application: 'Application files backup',
        uploads: 'Uploads backup',
        full: 'Full backup (database, application, uploads)',
        emergency: 'Emergency database backup',
        'pre-deploy': `Pre-deploy backup for ${spec.label ?? '?'} (database, application)`,
      }[spec.variant];
    case 'verify':
      if (spec.restored !== undefined) return `Check of ${spec.restored.mode === 'in-place' ? 'the live database' : spec.restored.name} against ${spec.backup}`;
      return `Verification of ${spec.backup === 'latest' ? 'the latest database backup' : spec.backup}`;
    case 'restore':
      return spec.target.mode === 'in-place' ? `IN-PLACE restore of ${spec.backup}` : `Restore of ${spec.backup}${spec.from === 'secondary' ? ' from the secondary location' : ''} into ${spec.target.name}`;
    case 'pitr-restore':
      return `Point-in-time recovery to ${spec.time.replace('T', ' ').replace(/\.\d+Z$|Z$/, ' UTC')} into ${spec.target.name}`;
    case 'drill':
      return 'Recovery drill';
    case 'drop-kept':
      return `Drop of the kept copy ${spec.database}`;
    case 'app-hook':
      return spec.hook === 'stop' ? 'Application stop command' : 'Application start command';
  }
}

/** The backup kind an id (or "latest") refers to; restores lock that kind's live resource. */
export function kindOfBackupRef(ref: string): string {
  if (ref.startsWith('app-')) return 'application';
  if (ref.startsWith('upl-')) return 'uploads';
  return 'database';
}

/**
 * Parses `/backup` arguments: "", "database", "application", "uploads", "full", "emergency",
 * "pre-deploy VERSION". Throws Usage with the reason; the caller adds the usage text.
 */
export function parseBackupArgs(text: string): { variant: BackupVariant; label?: string } {
  const words = text.trim().split(/\s+/).filter((w) => w !== '');
  const [first = 'database', ...rest] = words;
  const variant = BACKUP_VARIANTS.find((v) => v === first.toLowerCase());
  if (variant === undefined) throw new BantayError(ErrorCode.Usage, `"${printable(first)}" is not something /backup can take`);
  if (variant === 'pre-deploy') {
    if (rest.length !== 1) throw new BantayError(ErrorCode.Usage, '/backup pre-deploy needs exactly one VERSION, e.g. /backup pre-deploy v2.3.1');
    return { variant, label: parseLabel(rest[0]!) };
  }
  if (rest.length > 0) throw new BantayError(ErrorCode.Usage, `/backup ${variant} takes no other arguments`);
  return { variant };
}

/** Parses `/verify [id|latest]`. */
export function parseVerifyArgs(text: string): { backup: string } {
  const words = text.trim().split(/\s+/).filter((w) => w !== '');
  if (words.length > 1) throw new BantayError(ErrorCode.Usage, '/verify takes one backup id, or latest');
  const ref = words[0] ?? 'latest';
  return { backup: ref === 'latest' ? ref : parseBackupId(ref) };
}

/** Parses `/restore [id]`. */
export function parseRestoreArgs(text: string): { backup?: string } {
  const words = text.trim().split(/\s+/).filter((w) => w !== '');
  if (words.length > 1) throw new BantayError(ErrorCode.Usage, '/restore takes at most one backup id');
  return words[0] === undefined ? {} : { backup: parseBackupId(words[0]) };
}

export function parseNoArgs(command: string, text: string): void {
  if (text.trim() !== '') throw new BantayError(ErrorCode.Usage, `${command} takes no arguments`);
}

export const USAGE: Record<string, string> = {
  '/backup': '`/backup` or `/backup database` · `/backup application` · `/backup uploads` · `/backup full` · `/backup emergency` · `/backup pre-deploy VERSION`',
  '/restore': '`/restore` (pick a backup) or `/restore BACKUP_ID`, e.g. `/restore db-20261126T020000Z-7f3a`',
  '/verify': '`/verify` or `/verify latest` (newest database backup) or `/verify BACKUP_ID`',
  '/drill': '`/drill` (no arguments): verify the latest backup of each kind and measure RTO/RPO',
  '/backups': '`/backups` (no arguments): the latest backups, running jobs and waiting approvals, only for you',
  '/incident': '`/incident` (declare) · `/incident note TEXT` · `/incident commander @person` · `/incident update investigating|identified|recovering|monitoring WHAT USERS ARE TOLD` · `/incident resolve`',
};

/** Guards a spec decoded from JSON (button value, private_metadata, jsonb) before running it. */
export function parseJobSpec(value: unknown): BotJobSpec {
  const v = value as Partial<Record<string, unknown>> | null;
  if (v && v.type === 'backup' && BACKUP_VARIANTS.includes(v.variant as BackupVariant)) {
    // A pre-deploy label is the version the jobs validate; other labels are free text.
    const label = typeof v.label !== 'string' ? undefined : v.variant === 'pre-deploy' ? parseLabel(v.label) : parseFreeLabel(v.label);
    return { type: 'backup', variant: v.variant as BackupVariant, ...(label !== undefined ? { label } : {}) };
  }
  if (v && v.type === 'verify' && typeof v.backup === 'string') {
    const backup = v.backup === 'latest' ? 'latest' : parseBackupId(v.backup);
    const r = v.restored as { mode?: unknown; name?: unknown } | undefined;
    if (r === undefined) return { type: 'verify', backup, ...(v.from === 'secondary' ? { from: 'secondary' as const } : {}) };
    if (backup === 'latest' || typeof r !== 'object' || r === null) throw new BantayError(ErrorCode.InvalidInput, 'Not a database to check');
    const restored: RestoreTargetSpec = r.mode === 'in-place' ? { mode: 'in-place' } : { mode: 'new', name: parseDatabaseName(typeof r.name === 'string' ? r.name : '') };
    return { type: 'verify', backup, restored, ...(v.from === 'secondary' ? { from: 'secondary' as const } : {}) };
  }
  if (v && v.type === 'drill') return { type: 'drill' };
  if (v && v.type === 'app-hook' && (v.hook === 'stop' || v.hook === 'start')) return { type: 'app-hook', hook: v.hook };
  if (v && v.type === 'drop-kept' && typeof v.database === 'string') return { type: 'drop-kept', database: parseDatabaseName(v.database) };
  if (v && v.type === 'pitr-restore' && typeof v.time === 'string' && typeof v.reason === 'string' && v.target && typeof v.target === 'object') {
    const time = new Date(v.time);
    if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?Z$/.test(v.time) || Number.isNaN(time.getTime())) throw new BantayError(ErrorCode.InvalidInput, 'Not a recovery time');
    const name = (v.target as { name?: unknown }).name;
    return { type: 'pitr-restore', time: time.toISOString(), target: { mode: 'new', name: parseDatabaseName(typeof name === 'string' ? name : '') }, reason: v.reason.slice(0, 500) };
  }
  if (v && v.type === 'restore' && typeof v.backup === 'string' && typeof v.reason === 'string' && v.target && typeof v.target === 'object') {
    const target = v.target as Partial<RestoreTargetSpec> & { name?: unknown };
    const parsedTarget: RestoreTargetSpec =
      target.mode === 'in-place' ? { mode: 'in-place' } : { mode: 'new', name: typeof target.name === 'string' ? target.name : '' };
    return {
      type: 'restore',
      backup: parseBackupId(v.backup),
      target: parsedTarget,
      reason: v.reason,
      ...(typeof v.date === 'string' ? { date: v.date } : {}),
      ...(typeof v.approvalId === 'string' ? { approvalId: v.approvalId } : {}),
      ...(v.from === 'secondary' ? { from: 'secondary' as const } : {}),
      // Both exist only for in-place restores, which a second person approves.
      ...(parsedTarget.mode === 'in-place' && v.acceptRestoreErrors === true ? { acceptRestoreErrors: true as const } : {}),
      ...(parsedTarget.mode === 'in-place' && v.fromOtherDatabase === true ? { fromOtherDatabase: true as const } : {}),
    };
  }
  throw new BantayError(ErrorCode.InvalidInput, 'Not a job this bot knows how to run');
}
