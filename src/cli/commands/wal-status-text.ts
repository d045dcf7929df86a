import { describeTime } from '../../jobs/pitr/target-time.ts';
import type { WalStatus } from '../../jobs/wal/wal-status.ts';
import { formatBytes, formatDuration } from '../format.ts';

export function renderWalStatus(s: WalStatus, tz: string): string {
  const lines: string[] = [];
  if (s.replicationUnavailable) {
    const r = s.replicationUnavailable;
    lines.push(`NO POINT-IN-TIME RECOVERY: ${r.reason}`);
    lines.push(
      r.newestDumpAt
        ? `Recovery point today is the newest database dump: ${describeTime(new Date(r.newestDumpAt), tz)} (${formatDuration(r.dumpRecoveryPointSeconds ?? 0)} ago).`
        : 'There is no database dump either: run bantay backup database.',
    );
  }
  if (s.systemIdentifier === null) {
    lines.push('Nothing has been archived yet (no WAL archive in the store).');
    return lines.join('\n');
  }
  lines.push(`Archive of cluster ${s.systemIdentifier}`);
  lines.push(s.lastArchived ? `Last archived: ${s.lastArchived.name} at ${describeTime(new Date(s.lastArchived.at), tz)} (${formatDuration(s.lagSeconds ?? 0)} ago)` : 'Last archived: nothing yet');
  if (s.lagBytes !== null) lines.push(`Lag: ${formatBytes(s.lagBytes)} not yet confirmed by the slot`);
  if (s.slot) {
    lines.push(`Slot ${s.slot.name}: ${s.slot.active ? 'active' : 'INACTIVE'}, wal_status ${s.slot.walStatus ?? '?'}` + (s.slot.safeWalSize !== null ? `, safe_wal_size ${formatBytes(s.slot.safeWalSize)}` : ''));
  }
  if (s.stream) {
    lines.push(`Stream: ${s.stream.receiving ? 'receiving' : 'NOT RECEIVING'}, backlog ${s.stream.backlogFiles} file(s) / ${formatBytes(s.stream.backlogBytes)}` + (s.stream.lastError ? `, last error: ${s.stream.lastError}` : ''));
  }
  lines.push(s.window ? `Restorable window: ${describeTime(new Date(s.window.from), tz)} to ${describeTime(new Date(s.window.to), tz)}` : 'Restorable window: none (no base backup yet: bantay backup base)');
  return lines.join('\n');
}
