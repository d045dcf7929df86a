import { formatAge, formatBytes } from '../../format/units.ts';
import { ActionId, BlockId, InPlaceOption, RestoreTarget, ViewId } from '../action-ids.ts';
import type { BotJobs } from '../bot-jobs.ts';
import type { CatalogEntry } from '../catalog-cache.ts';
import { context, escape, plain, section, truncate, type Block } from './blocks.ts';
import { modal, type ModalView } from './modal.ts';
import { windowText, type restorableWindow } from './pitr-text.ts';

const KIND_LABEL = { database: 'Database', application: 'Application files', uploads: 'Uploads' } as const;
const MAX_OPTIONS = 100;

export interface RestoreModalInput {
  entries: CatalogEntry[];
  selectedId?: string;
  /** What an in-place restore of each kind replaces, and the name typed to confirm it. */
  live: BotJobs['live'];
  metadata: string;
  now: Date;
  /** Pre-filled answers (a Roll back or "Restore under another name" button). */
  initialTarget?: 'new' | 'in-place';
  initialName?: string;
  initialReason?: string;
  /**
   * Point-in-time recovery: the window a time can be typed in (the choice is offered), or why
   * there is none (said in the form); undefined leaves it out.
   */
  pitr?: { available: ReturnType<typeof restorableWindow>; timeZone: string };
}

type Option = { text: ReturnType<typeof plain>; value: string; description: ReturnType<typeof plain> };

/** One select option: id as the text, the facts a person picks by as the description. */
export function backupOption(e: CatalogEntry, now: Date): Option {
  const m = e.manifest;
  const v = e.verification;
  const verified = v === undefined ? 'not verified' : v.passed ? 'verified ✓' : 'verify FAILED ✗';
  const description = `${formatAge(new Date(m.createdAt), now)} · ${formatBytes(m.artifact.sizeBytes)} · ${m.artifact.encryption ? 'encrypted' : 'UNENCRYPTED'} · ${verified}`;
  return { text: plain(truncate(`${m.id}${m.label ? ` (${m.label})` : ''}`, 75)), value: m.id, description: plain(truncate(description, 75)) };
}

/**
 * The restore form: backup (newest first, grouped by kind; Slack's select filters as you
 * type), target, reason, and the live database's name typed to confirm an in-place restore.
 * Slack allows 100 options; older backups are still restorable with `/restore ID`.
 */
export function buildRestoreModal(i: RestoreModalInput): ModalView {
  // `/restore ID` of an older backup: it takes the place of the oldest one shown, so it can be
  // preselected (Slack refuses an initial_option that is not one of the options).
  const older = i.entries.slice(MAX_OPTIONS).find((e) => e.manifest.id === i.selectedId);
  const shown = older ? [...i.entries.slice(0, MAX_OPTIONS - 1), older] : i.entries.slice(0, MAX_OPTIONS);
  const groups = (['database', 'application', 'uploads'] as const)
    .map((kind) => ({ label: plain(KIND_LABEL[kind]), options: shown.filter((e) => e.manifest.kind === kind).map((e) => backupOption(e, i.now)) }))
    .filter((g) => g.options.length > 0);
  // Without an id asked for, the newest backup that passed verification: the newest one may be
  // the one that failed, and a tired person takes the default.
  // The database comes first: it is what an incident restores.
  const verified = shown.filter((e) => e.verification?.passed === true);
  const selected = i.selectedId !== undefined ? shown.find((e) => e.manifest.id === i.selectedId) : (verified.find((e) => e.manifest.kind === 'database') ?? verified[0]);
  const failedShown = shown.filter((e) => e.verification?.passed === false);
  const liveDb = i.live('database')?.confirmName;
  const kinds = [...new Set(shown.map((e) => e.manifest.kind))];
  const confirmNames = kinds.map((k) => ({ k, live: i.live(k) })).filter((x) => x.live !== undefined).map((x) => `${x.k}: ${x.live!.confirmName}`);
  const hasUploads = shown.some((e) => e.manifest.kind === 'uploads');
  const pitrWindow = i.pitr !== undefined && 'window' in i.pitr.available ? i.pitr.available.window : undefined;
  const blocks: Block[] = [
    section(restoreSummary(i.entries, selected, i.now)),
    {
      type: 'input',
      block_id: BlockId.RestoreBackup,
      // Optional only because uploads can be picked by day, or a point in time needs no backup;
      // the form says which is needed.
      optional: hasUploads || pitrWindow !== undefined,
      label: plain(hasUploads ? 'Backup to restore (or a day, below)' : pitrWindow !== undefined ? 'Backup to restore (not used for a point in time)' : 'Backup to restore'),
      hint: plain(i.entries.length > MAX_OPTIONS ? `Newest ${MAX_OPTIONS} of ${i.entries.length} shown; type to filter, or use /restore ID for an older one.` : 'Newest first; type to filter.'),
      element: { type: 'static_select', action_id: ActionId.RestoreBackup, placeholder: plain('Pick a backup'), option_groups: groups, ...(selected ? { initial_option: backupOption(selected, i.now) } : {}) },
    },
  ];
  if (failedShown.length > 0) {
    blocks.push({
      type: 'input',
      block_id: BlockId.RestoreAckFailed,
      optional: true,
      label: plain('Backups marked ✗ FAILED verification'),
      hint: plain('Restoring one of them needs this box ticked: its data may not be what was backed up.'),
      element: { type: 'checkboxes', action_id: ActionId.AckFailedVerification, options: [{ text: plain('I know it failed verification and want to restore it anyway'), value: 'yes' }] },
    });
  }
  if (hasUploads) {
    blocks.push({
      type: 'input',
      block_id: BlockId.RestoreDate,
      optional: true,
      label: plain('Uploads as of a day'),
      hint: plain('Uploads only: the last uploads backup of that day is used, like --date.'),
      element: { type: 'datepicker', action_id: ActionId.RestoreDate },
    });
  }
  const newOption = { text: plain('A new database (or directory)'), value: RestoreTarget.New, description: plain('Safe: the live data is not touched') };
  const inPlaceOption = { text: plain(kinds.length === 1 && kinds[0] === 'database' ? `In place: replace ${truncate(liveDb ?? 'the live database', 40)}` : 'In place: replace the live data'), value: RestoreTarget.InPlace, description: plain('Needs a second approver; the current one is kept') };
  const pitrOption = { text: plain('To a point in time (database only)'), value: RestoreTarget.PointInTime, description: plain('Into a new database, as it was at the second you type below') };
  blocks.push({
    type: 'input',
    block_id: BlockId.RestoreTarget,
    label: plain('Restore into'),
    element: {
      type: 'radio_buttons',
      action_id: ActionId.RestoreTarget,
      initial_option: i.initialTarget === 'in-place' ? inPlaceOption : newOption,
      options: pitrWindow !== undefined ? [newOption, inPlaceOption, pitrOption] : [newOption, inPlaceOption],
    },
  });
  if (i.pitr !== undefined) blocks.push(...pointInTimeBlocks(i.pitr));
  const dbShown = shown.filter((e) => e.manifest.kind === 'database');
  if (dbShown.length > 0) {
    // Backups of another database are offered only behind an explicit tick, named in the option.
    const foreign = dbShown.filter((e) => isOfAnotherDatabase(e, liveDb));
    const options: Array<{ text: ReturnType<typeof plain>; value: string }> = [{ text: plain('Accept pg_restore errors (the data checks must still pass)'), value: InPlaceOption.AcceptRestoreErrors }];
    const names = [...new Set(foreign.map((e) => e.manifest.source.database ?? 'unrecorded'))].join(', ');
    if (foreign.length > 0) options.push({ text: plain('It is a backup of another database: replace the live one anyway'), value: InPlaceOption.FromOtherDatabase });
    blocks.push({
      type: 'input',
      block_id: BlockId.RestoreInPlaceOptions,
      optional: true,
      label: plain('In place, only if needed'),
      hint: plain(truncate(`Database, in place only; the approver sees these choices.${foreign.length > 0 ? ` Backups here of another database: ${names}; the live one is ${liveDb}.` : ''}`, 300)),
      element: { type: 'checkboxes', action_id: ActionId.RestoreInPlaceOptions, options },
    });
  }
  const pitrName = pitrWindow !== undefined ? ` For a point in time: ${(liveDb ?? 'fbms').slice(0, 40)}_pitr_YYYYMMDD_HHMMSS (the time).` : '';
  blocks.push(
    {
      type: 'input',
      block_id: BlockId.RestoreTargetName,
      optional: true,
      label: plain('New database name, or target directory'),
      hint: plain(`Empty: ${liveDb ?? 'fbms'}_restore_YYYYMMDD_HHMM (the backup's date) for a database, a new folder under the allowed restore directory for files.${pitrName} Not used in place.`),
      element: { type: 'plain_text_input', action_id: ActionId.RestoreTargetName, max_length: 255, ...(i.initialName ? { initial_value: truncate(i.initialName, 255) } : {}) },
    },
    {
      type: 'input',
      block_id: BlockId.RestoreReason,
      label: plain('Reason'),
      hint: plain('Required. Goes into the audit log and the approval request.'),
      element: { type: 'plain_text_input', action_id: ActionId.RestoreReason, multiline: true, min_length: 3, max_length: 500, ...(i.initialReason ? { initial_value: truncate(i.initialReason, 500) } : {}) },
    },
    {
      type: 'input',
      block_id: BlockId.RestoreConfirmName,
      optional: true,
      // Slack adds "(optional)" itself; the label says when it is needed.
      label: plain(confirmNames.length === 1 ? `For in place: type ${truncate(liveDb ?? confirmNames[0]!, 60)} to confirm` : 'For in place: type the live name to confirm'),
      ...(confirmNames.length > 1 ? { hint: plain(truncate(confirmNames.join(' · '), 150)) } : {}),
      element: { type: 'plain_text_input', action_id: ActionId.RestoreConfirmName, max_length: 128 },
    },
    context('A new-database restore starts when you press Restore. An in-place restore posts an approval request in the incidents channel first; it runs only after a different approver approves it.'),
  );
  if (groups.length === 0) return modal({ callbackId: ViewId.Restore, title: 'Restore', close: 'Close', blocks: [section('There are no backups in the store yet.')] });
  return modal({ callbackId: ViewId.Restore, title: 'Restore a backup', submit: 'Restore', metadata: i.metadata, blocks });
}

/** A database backup whose recorded database is not the live one by name (or unknown): restoring it in place needs the tick. */
export function isOfAnotherDatabase(e: CatalogEntry, liveDb: string | undefined): boolean {
  return e.manifest.kind === 'database' && liveDb !== undefined && e.manifest.source.database !== liveDb;
}

/** The point-in-time part of the form: the time field with the window, or why there is none. */
function pointInTimeBlocks(p: NonNullable<RestoreModalInput['pitr']>): Block[] {
  if (!('window' in p.available)) return [context(`:information_source: ${escape(p.available.why)}`)];
  const window = windowText(p.available.window, p.timeZone);
  return [
    {
      type: 'input',
      block_id: BlockId.RestoreTime,
      optional: true,
      label: plain(`For a point in time: the time (${p.timeZone})`),
      hint: plain(`YYYY-MM-DD HH:MM or HH:MM:SS. Restorable: ${window}. The database is recovered into a new database, never over the live one.`),
      element: { type: 'plain_text_input', action_id: ActionId.RestoreTime, max_length: 40, placeholder: plain('YYYY-MM-DD HH:MM:SS', 150) },
    },
  ];
}

/** The default name of a point-in-time copy: the live name plus the time, as typed (in BANTAY_TZ). */
export function defaultPitrName(live: string | undefined, wallTime: string): string {
  return `${(live ?? 'fbms').slice(0, 40)}_pitr_${wallTime.replace(/[-:]/g, '').replace(' ', '_')}`.toLowerCase();
}

/** The default new database name: the live name plus the backup's UTC date and time. */
export function defaultRestoreName(live: string | undefined, createdAt: string): string {
  const stamp = createdAt.replace(/[-:]/g, '').replace('T', '_').slice(0, 13);
  return `${(live ?? 'fbms').slice(0, 40)}_restore_${stamp}`.toLowerCase();
}

/** The form's first lines: what is in the store and what is preselected, with its verification. */
export function restoreSummary(entries: readonly CatalogEntry[], selected: CatalogEntry | undefined, now: Date): string {
  const failed = entries.filter((e) => e.verification?.passed === false).length;
  const lines = [`*${entries.length} backup${entries.length === 1 ? '' : 's'}* in the store, newest first.`];
  if (selected) lines.push(`Preselected: \`${selected.manifest.id}\` (${backupOption(selected, now).description.text}).`);
  else lines.push(':warning: No backup has passed verification yet: pick one, and verify the restored copy.');
  if (failed > 0) lines.push(`:x: ${failed} marked FAILED verification: restoring one needs the acknowledgement below.`);
  return lines.join('\n');
}
