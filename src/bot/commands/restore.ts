import { parseRestoreTarget } from '../../jobs/restore-database.ts';
import type { BotJobs } from '../bot-jobs.ts';
import { ActionId, BlockId, InPlaceOption, RestoreTarget } from '../action-ids.ts';
import type { CatalogEntry } from '../catalog-cache.ts';
import { answerByAck, requestInPlaceApproval } from '../flows/approval.ts';
import { parseRestoreArgs, type BotJobSpec, type RestoreTargetSpec } from '../job-spec.ts';
import { truncate } from '../messages/blocks.ts';
import { buildNoticeView } from '../messages/modal.ts';
import { buildRestoreModal, defaultRestoreName, isOfAnotherDatabase } from '../messages/restore-modal.ts';
import type { BotServices } from '../services.ts';
import { ackThen, authorize, decodeMetadata, encodeMetadata, newRequestId, parseOrUsage, replyEphemeral, type CommandArgs } from './common.ts';
import { answeredHelp } from './help.ts';
import { openModalThen } from './open-modal.ts';
import { validatePitrForm } from './restore-pitr.ts';
import { restorableWindow } from '../messages/pitr-text.ts';
import { timeZoneOf } from '../incident/incident-command.ts';
import { authorizeSubmission, startFromSubmission, type ViewArgs } from './start-job.ts';

/** `/restore [id]`: the restore form, pre-filled with the backup when an id is given. */
export function handleRestoreCommand(s: BotServices) {
  return (args: CommandArgs) =>
    ackThen(args, s, async () => {
      const { user_id: userId, text, trigger_id: triggerId, channel_id: channelId } = args.command;
      if (await answeredHelp(args, '/restore')) return;
      if (!(await authorize(s, userId, 'operator', { operationType: 'restore', what: 'request restores' }, args.respond))) return;
      const parsed = parseOrUsage(() => parseRestoreArgs(text), '/restore');
      if (typeof parsed === 'string') return replyEphemeral(args.respond, parsed);
      await openRestoreModal(s, triggerId, channelId, { selectedId: parsed.backup });
    });
}

export interface RestorePrefill {
  selectedId?: string;
  initialTarget?: 'new' | 'in-place';
  initialName?: string;
  initialReason?: string;
}

/** Opens the restore form at once (a loading view), then fills it from the catalog. */
export async function openRestoreModal(s: BotServices, triggerId: string, channelId: string, prefill: RestorePrefill): Promise<void> {
  await openModalThen(
    s.client,
    triggerId,
    'Restore a backup',
    async () => {
      // The window is read beside the catalog (the loading view is already open); a store that
      // does not answer in 5 s leaves the form saying point in time could not be checked.
      const [snapshot, pitr] = await Promise.all([s.catalog.get(10_000), s.pitr.get(5000)]);
      if (snapshot === undefined) return 'The list of backups is still loading; try again in a few seconds.';
      if (prefill.selectedId !== undefined && !snapshot.entries.some((e) => e.manifest.id === prefill.selectedId)) {
        return `There is no backup \`${prefill.selectedId}\` in ${s.storeDescription} any more.`;
      }
      if (snapshot.entries.length === 0) return 'There are no backups to restore yet.';
      const metadata = encodeMetadata({ requestId: newRequestId(), channelId });
      const pitrForm = { available: restorableWindow(pitr), timeZone: timeZoneOf(s) };
      return buildRestoreModal({ entries: snapshot.entries, ...prefill, live: (kind) => s.jobs.live(kind), metadata, now: s.now(), pitr: pitrForm });
    },
    s.logger,
  );
}

interface RestoreForm {
  backupId?: string;
  date?: string;
  target: string;
  name?: string;
  reason?: string;
  confirm?: string;
  time?: string;
  acknowledgedFailed: boolean;
  acceptRestoreErrors: boolean;
  fromOtherDatabase: boolean;
}

function readForm(args: ViewArgs): RestoreForm {
  const v = args.view.state.values;
  const text = (block: string, action: string) => v[block]?.[action]?.value?.trim() || undefined;
  const ticked = (value: string) => (v[BlockId.RestoreInPlaceOptions]?.[ActionId.RestoreInPlaceOptions]?.selected_options ?? []).some((o) => o.value === value);
  return {
    backupId: v[BlockId.RestoreBackup]?.[ActionId.RestoreBackup]?.selected_option?.value,
    date: v[BlockId.RestoreDate]?.[ActionId.RestoreDate]?.selected_date ?? undefined,
    target: v[BlockId.RestoreTarget]?.[ActionId.RestoreTarget]?.selected_option?.value ?? RestoreTarget.New,
    name: text(BlockId.RestoreTargetName, ActionId.RestoreTargetName),
    reason: text(BlockId.RestoreReason, ActionId.RestoreReason),
    confirm: text(BlockId.RestoreConfirmName, ActionId.RestoreConfirmName),
    time: text(BlockId.RestoreTime, ActionId.RestoreTime),
    acknowledgedFailed: (v[BlockId.RestoreAckFailed]?.[ActionId.AckFailedVerification]?.selected_options ?? []).length > 0,
    acceptRestoreErrors: ticked(InPlaceOption.AcceptRestoreErrors),
    fromOtherDatabase: ticked(InPlaceOption.FromOtherDatabase),
  };
}

/**
 * Checks the form; returns the spec, or the per-field errors Slack shows under the inputs.
 * `live` says what an in-place restore of each kind replaces and the name typed to confirm it.
 */
export function validateRestoreForm(f: RestoreForm, entry: CatalogEntry | undefined, live: BotJobs['live'], filesDir: BotJobs['filesRestoreDir']): { spec: Extract<BotJobSpec, { type: 'restore' }> } | { errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  if (f.backupId === undefined && f.date === undefined) errors[BlockId.RestoreBackup] = 'Pick a backup to restore.';
  if (f.backupId !== undefined && f.date !== undefined) errors[BlockId.RestoreDate] = 'Pick a backup or a day, not both.';
  if (f.backupId !== undefined && entry === undefined) errors[BlockId.RestoreBackup] = 'That backup is no longer in the store.';
  if (f.backupId === undefined && f.date !== undefined && entry === undefined) errors[BlockId.RestoreDate] = 'There is no uploads backup from that day (local time).';
  if (entry?.verification?.passed === false && !f.acknowledgedFailed) {
    errors[BlockId.RestoreAckFailed] = `${entry.manifest.id} FAILED verification: tick the box to restore it anyway, or pick a verified backup.`;
  }
  if (f.reason === undefined || f.reason.length < 3) errors[BlockId.RestoreReason] = 'Say why: it goes into the audit log and the approval request.';
  const kind = entry?.manifest.kind;
  const liveDb = live('database')?.confirmName;
  if ((f.acceptRestoreErrors || f.fromOtherDatabase) && (f.target !== RestoreTarget.InPlace || (kind !== undefined && kind !== 'database'))) {
    errors[BlockId.RestoreInPlaceOptions] = 'These are for restoring a database backup in place, which a second approver approves.';
  } else if (f.target === RestoreTarget.InPlace && entry !== undefined && isOfAnotherDatabase(entry, liveDb) && !f.fromOtherDatabase) {
    errors[BlockId.RestoreInPlaceOptions] = truncate(`${entry.manifest.id} is a backup of ${entry.manifest.source.database ?? 'an unrecorded database'}, not of ${liveDb}: tick "another database" to restore it over ${liveDb} anyway.`, 150);
  }
  let target: RestoreTargetSpec = { mode: 'in-place' };
  if (f.target === RestoreTarget.InPlace) {
    const current = kind === undefined ? undefined : live(kind);
    if (kind !== undefined && current === undefined) errors[BlockId.RestoreTarget] = `The live ${kind} location is not configured where the bot runs, so there is nothing to restore over.`;
    else if (current !== undefined && f.confirm !== current.confirmName) errors[BlockId.RestoreConfirmName] = `Type ${current.confirmName} exactly to confirm an in-place restore.`;
  } else if (kind === 'database') {
    const liveName = live('database')?.confirmName;
    try {
      target = { mode: 'new', name: parseRestoreTarget(f.name ?? defaultRestoreName(liveName, entry!.manifest.createdAt), liveName ?? '') };
    } catch (err) {
      errors[BlockId.RestoreTargetName] = truncate((err as Error).message, 150);
    }
  } else if (entry !== undefined) {
    try {
      target = { mode: 'new', name: filesDir(f.name ?? '', entry.manifest.id) };
    } catch (err) {
      errors[BlockId.RestoreTargetName] = truncate((err as Error).message, 150);
    }
  }
  if (Object.keys(errors).length > 0) return { errors };
  const inPlaceChoices = target.mode === 'in-place' ? { ...(f.acceptRestoreErrors ? { acceptRestoreErrors: true as const } : {}), ...(f.fromOtherDatabase ? { fromOtherDatabase: true as const } : {}) } : {};
  return { spec: { type: 'restore', backup: entry!.manifest.id, target, reason: f.reason!, ...(f.date ? { date: f.date } : {}), ...inPlaceChoices } };
}

/** The submitted restore form: new targets start at once, in-place ones ask for approval. */
export function handleRestoreSubmission(s: BotServices) {
  return async (args: ViewArgs): Promise<void> => {
    const meta = decodeMetadata(args.view.private_metadata);
    const form = readForm(args);
    if (form.target === RestoreTarget.PointInTime) return handlePitrSubmission(s, args, form, meta.requestId);
    const entries = (await s.catalog.get(1000))?.entries ?? [];
    const ofDay = form.backupId === undefined && form.date !== undefined ? s.jobs.uploadsBackupOfDay(entries.map((e) => e.manifest), form.date) : undefined;
    const entry = entries.find((e) => e.manifest.id === (form.backupId ?? ofDay?.id));
    const checked = validateRestoreForm(form, entry, (kind) => s.jobs.live(kind), (name, id) => s.jobs.filesRestoreDir(name, id));
    if ('errors' in checked) {
      await args.ack({ response_action: 'errors', errors: checked.errors });
      return;
    }
    if (!(await authorizeSubmission(s, args, { operationType: 'restore', what: 'request restores', backupId: form.backupId }))) return;
    const { spec } = checked;
    if (spec.target.mode === 'new') return startFromSubmission(s, args, spec, meta.requestId);
    const unavailable = s.jobs.unavailable(spec);
    if (unavailable !== undefined || entry === undefined) {
      await args.ack({ response_action: 'update', view: buildNoticeView('Not available', unavailable ?? 'Pick a backup for an in-place restore.') as never });
      return;
    }
    await requestInPlaceApproval(s, answerByAck(args), { userId: args.body.user.id, spec, entry, requestId: meta.requestId });
  };
}

/**
 * "To a point in time": checked against the window (cached; at most 1.5 s is spent reading it, so
 * the answer stays within Slack's 3 s), authorised like every restore, then the same
 * 'pitr-restore' job the incident step runs, started once per form.
 */
async function handlePitrSubmission(s: BotServices, args: ViewArgs, form: RestoreForm, requestId: string): Promise<void> {
  const state = await s.pitr.get(1500);
  const checked = validatePitrForm(form, { state, liveDatabase: s.jobs.liveDatabaseName(), timeZone: timeZoneOf(s), now: s.now() });
  if ('errors' in checked) {
    await args.ack({ response_action: 'errors', errors: checked.errors });
    return;
  }
  if (!(await authorizeSubmission(s, args, { operationType: 'restore', what: 'request restores' }))) return;
  await startFromSubmission(s, args, checked.spec, requestId);
}
