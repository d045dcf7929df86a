import { redactSecrets } from '../../log/redact.ts';
import { formatBytes, formatDuration } from '../../format/units.ts';
import { formatWallTime } from '../../schedule/zoned-time.ts';
import type { PitrState } from '../pitr-status.ts';
import { escape, truncate } from './blocks.ts';

/**
 * How the restore form and App Home speak about point-in-time recovery: the restorable window
 * in BANTAY_TZ, the age of the newest archived WAL (the data lost if the server died now), the
 * stream's state, or in words why there is none. No command-line syntax: people in Slack
 * cannot run it.
 */

/** The window as whole seconds a person can type: the start rounded up, the end rounded down. */
export function typableWindow(w: { from: string; to: string }): { from: Date; to: Date } {
  return { from: new Date(Math.ceil(new Date(w.from).getTime() / 1000) * 1000), to: new Date(Math.floor(new Date(w.to).getTime() / 1000) * 1000) };
}

/** "2026-11-26 02:00:41 to 2026-11-26 14:29:10 (Asia/Manila)". */
export function windowText(w: { from: Date; to: Date }, timeZone: string): string {
  return `${formatWallTime(w.from, timeZone, true)} to ${formatWallTime(w.to, timeZone, true)} (${timeZone})`;
}

/** The window a time can be chosen in, or undefined with the reason in words. */
export function restorableWindow(state: PitrState): { window: { from: Date; to: Date } } | { why: string } {
  switch (state.kind) {
    case 'off':
      return { why: `Point-in-time recovery is not available. ${state.reason}` };
    case 'unchecked':
      return { why: `Point-in-time recovery could not be checked just now (${state.reason}). Try again in a minute.` };
    case 'read': {
      const s = state.status;
      if (s.systemIdentifier === null) return { why: 'Point-in-time recovery is not available yet: no WAL (the record of changes between backups) has been archived in the store.' };
      if (s.window === null) return { why: 'Point-in-time recovery is not available yet: there is no base backup to start a recovery from (one is taken every week once WAL archiving is on).' };
      const window = typableWindow(s.window);
      if (window.to < window.from) return { why: 'Point-in-time recovery is not available yet: the newest base backup has only just finished.' };
      return { window };
    }
  }
}

/** App Home's lines: the window, the lag, the stream. */
export function pitrHomeLines(state: PitrState, timeZone: string, now: Date): string[] {
  if (state.kind === 'off') return [`Not set up. ${escape(truncate(state.reason, 400))}`];
  if (state.kind === 'unchecked') return [`:warning: Could not check: ${escape(truncate(state.reason, 400))}.`];
  const s = state.status;
  const lines: string[] = [];
  const available = restorableWindow(state);
  lines.push('window' in available ? `Restorable window: *${windowText(available.window, timeZone)}*` : escape(available.why));
  if (s.lastArchived !== null) {
    const lag = Math.max(0, (now.getTime() - new Date(s.lastArchived.at).getTime()) / 1000);
    lines.push(`Newest archived WAL: *${formatDuration(lag)} ago* (${formatWallTime(new Date(s.lastArchived.at), timeZone, true)}): the changes a server loss now would lose`);
  }
  const stream = streamLine(state, now);
  if (stream !== undefined) lines.push(stream);
  return lines;
}

function streamLine(state: Extract<PitrState, { kind: 'read' }>, now: Date): string | undefined {
  const stream = state.status.stream;
  if (state.mode === 'archive' && stream === null) return 'Archived by the database server itself (archive_command).';
  if (stream === null) return state.mode === 'stream' ? 'Stream: state not known yet (the streamer has not reported).' : undefined;
  const age = Math.max(0, (now.getTime() - new Date(stream.updatedAt).getTime()) / 1000);
  const receiving = stream.receiving ? ':large_green_circle: receiving' : ':red_circle: NOT receiving';
  const backlog = stream.backlogFiles > 0 ? `, ${stream.backlogFiles} file${stream.backlogFiles === 1 ? '' : 's'} (${formatBytes(stream.backlogBytes)}) waiting to upload` : ', nothing waiting to upload';
  // Written by the `wal stream` process, whose secrets this one may not know: redacted like every error shown.
  const error = stream.lastError ? `, last error: ${escape(truncate(redactSecrets(stream.lastError), 300))}` : '';
  return `Stream: ${receiving}${backlog}${error} (reported ${formatDuration(age)} ago)`;
}
