import { parseTargetTime } from '../../jobs/pitr/target-time.ts';
import { parseRestoreTarget } from '../../jobs/restore-database.ts';
import { formatWallTime } from '../../schedule/zoned-time.ts';
import { BlockId } from '../action-ids.ts';
import { withoutCliSyntax } from '../failure-kind.ts';
import type { BotJobSpec } from '../job-spec.ts';
import { truncate } from '../messages/blocks.ts';
import { restorableWindow, windowText } from '../messages/pitr-text.ts';
import { defaultPitrName } from '../messages/restore-modal.ts';
import type { PitrState } from '../pitr-status.ts';

type PitrSpec = Extract<BotJobSpec, { type: 'pitr-restore' }>;

/** The restore form's answers a point-in-time recovery uses. */
export interface PitrForm {
  time?: string;
  name?: string;
  reason?: string;
}

/**
 * Checks the point-in-time answers against the window the archive holds; returns the spec, or
 * the per-field errors Slack shows under the inputs. The window is the one App Home shows
 * (merged over base backups): a gap inside it is still refused by the job, before it unpacks
 * anything, with the spans in its message.
 */
export function validatePitrForm(f: PitrForm, o: { state: PitrState; liveDatabase: string | undefined; timeZone: string; now: Date }): { spec: PitrSpec } | { errors: Record<string, string> } {
  const errors: Record<string, string> = {};
  if (f.reason === undefined || f.reason.length < 3) errors[BlockId.RestoreReason] = 'Say why: it goes into the audit log.';
  const available = restorableWindow(o.state);
  if (!('window' in available)) return { errors: { ...errors, [BlockId.RestoreTarget]: truncate(available.why, 300) } };
  const window = windowText(available.window, o.timeZone);
  let time: Date | undefined;
  if (f.time === undefined) errors[BlockId.RestoreTime] = `Type the time to recover to, e.g. ${formatWallTime(available.window.to, o.timeZone, true)} (${o.timeZone}). Restorable: ${window}.`;
  else {
    try {
      // Minutes are enough for people ("14:29"); the parser wants seconds.
      time = parseTargetTime(/^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}$/.test(f.time) ? `${f.time}:00` : f.time, o.timeZone);
    } catch (err) {
      errors[BlockId.RestoreTime] = /does not exist/.test((err as Error).message)
        ? `${truncate(f.time, 40)} does not exist in ${o.timeZone} (the clocks skipped it).`
        : `Type the time as YYYY-MM-DD HH:MM or YYYY-MM-DD HH:MM:SS (${o.timeZone}), e.g. ${formatWallTime(available.window.to, o.timeZone, true)}.`;
    }
  }
  if (time !== undefined) {
    if (time > o.now) errors[BlockId.RestoreTime] = `That is in the future (${o.timeZone}). Restorable: ${window}.`;
    else if (time < available.window.from) errors[BlockId.RestoreTime] = `That is before the oldest base backup. Restorable: ${window}.`;
    else if (time > available.window.to) errors[BlockId.RestoreTime] = `Nothing that recent is archived yet. Restorable: ${window}.`;
  }
  let name: string | undefined;
  try {
    name = parseRestoreTarget(f.name ?? defaultPitrName(o.liveDatabase, formatWallTime(time ?? o.now, o.timeZone, true)), o.liveDatabase ?? '');
  } catch (err) {
    errors[BlockId.RestoreTargetName] = truncate(withoutCliSyntax((err as Error).message), 150);
  }
  if (Object.keys(errors).length > 0) return { errors };
  return { spec: { type: 'pitr-restore', time: time!.toISOString(), target: { mode: 'new', name: name! }, reason: f.reason! } };
}
