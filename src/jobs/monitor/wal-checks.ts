import type { WalStatus } from '../wal/wal-status.ts';
import { parseLsn, segmentNumber } from '../wal/wal-names.ts';
import type { Problem } from './problem.ts';
import { bytesText, durationText } from './text.ts';

/** What the WAL checks see; present only when WAL archiving is configured (BANTAY_WAL not off). */
export type WalMonitorFacts = {
  /** BANTAY_RPO_OBJECTIVE. */
  rpoObjectiveSeconds: number;
  /** BANTAY_WAL_SLOT_WARN_SIZE. */
  slotWarnBytes: number;
  /** The stream counts as stopped when nothing was archived for this long while the server wrote WAL. */
  stallSeconds: number;
  segmentSize: number;
} & ({ status: WalStatus } | { error: string });

/**
 * WAL archiving problems (pure): `wal-lag` (the recovery point is older than the objective),
 * `wal-stopped` (no archived progress for stallSeconds while the server's write position is
 * past the newest archived segment), `wal-slot` (the slot holds more than slotWarnBytes, or its
 * wal_status is unreserved, lost or the slot is missing) and `wal-unchecked` (the status could
 * not be read: says nothing about the archive, only that it was not checked).
 */
export function walProblems(wal: WalMonitorFacts | undefined): Problem[] {
  if (wal === undefined) return [];
  if ('error' in wal) {
    return [{ key: 'wal-unchecked', severity: 'warning', title: 'WAL archiving could not be checked', text: `Reading the WAL status failed: ${wal.error}.`, remedy: 'Run bantay wal status and read its error (store, DATABASE_URL).', fingerprint: 'down' }];
  }
  const { status } = wal;
  const problems: Problem[] = [];
  const lag = status.lagSeconds;
  if (lag === null || lag > wal.rpoObjectiveSeconds) {
    problems.push({
      key: 'wal-lag',
      severity: 'critical',
      title: lag === null ? 'Nothing is archived in the WAL archive' : `The WAL archive is ${durationText(lag)} behind, over the ${durationText(wal.rpoObjectiveSeconds)} recovery point objective`,
      text: lag === null
        ? 'No WAL segment is archived: point-in-time recovery has nothing to replay.'
        : `The newest archived WAL (${status.lastArchived?.name}) was stored ${durationText(lag)} ago: a server lost now loses that much (BANTAY_RPO_OBJECTIVE ${durationText(wal.rpoObjectiveSeconds)}).`,
      remedy: 'Run bantay wal status; check that bantay serve runs the stream (BANTAY_WAL=stream) or that archive_command succeeds (the server log), and the store.',
      fingerprint: status.lastArchived?.name ?? 'none',
    });
  }
  if (serverIsAhead(status, wal.segmentSize) && (lag === null || lag > wal.stallSeconds)) {
    problems.push({
      key: 'wal-stopped',
      severity: 'critical',
      title: 'WAL archiving has stopped',
      text: `The server is writing WAL at ${status.serverLsn}, but nothing was archived ${lag === null ? 'at all' : `for ${durationText(lag)}`} (newest: ${status.lastArchived?.name ?? 'none'})${status.stream?.lastError ? `; the stream's last error: ${status.stream.lastError}` : ''}.`,
      remedy: 'Check bantay serve (BANTAY_WAL=stream) or archive_command and the store; the slot keeps the WAL on the server meanwhile, so watch its disk.',
      fingerprint: status.lastArchived?.name ?? 'none',
    });
  }
  problems.push(...slotProblems(status, wal.slotWarnBytes));
  return problems;
}

/**
 * The server has written WAL the archive does not hold: its write position is past the end of
 * the newest archived complete segment (by more than one 8 KiB page: an idle server's segment
 * switch), or in a later segment than the newest archived .partial.
 */
function serverIsAhead(status: WalStatus, segmentSize: number): boolean {
  if (status.serverLsn === null) return false;
  const lsn = parseLsn(status.serverLsn);
  if (status.lastArchived === null) return true;
  const archived = segmentNumber(status.lastArchived.name.slice(0, 24), segmentSize);
  const size = BigInt(segmentSize);
  if (status.lastArchived.name.endsWith('.partial')) return lsn / size > archived;
  return lsn > (archived + 1n) * size + 8192n;
}

function slotProblems(status: WalStatus, warnBytes: number): Problem[] {
  const slot = status.slot;
  if (slot === null) return [];
  if (slot.walStatus === 'unreserved' || slot.walStatus === 'lost' || slot.walStatus === 'missing') {
    const what = { unreserved: 'is about to lose WAL it has not streamed (wal_status unreserved)', lost: 'has lost WAL it had not streamed (wal_status lost): the archive has a gap', missing: 'does not exist' }[slot.walStatus];
    return [{
      key: 'wal-slot',
      severity: 'critical',
      title: `The replication slot ${slot.name} ${what}`,
      text: `Slot ${slot.name}: wal_status ${slot.walStatus}${slot.retainedBytes === null ? '' : `, retaining ${bytesText(slot.retainedBytes)}`}${slot.safeWalSize === null ? '' : `, safe_wal_size ${bytesText(slot.safeWalSize)}`}.`,
      remedy: slot.walStatus === 'lost'
        ? 'Restart the stream (it recreates the slot) and take a base backup now (bantay backup base): recovery cannot cross the gap.'
        : 'Make the stream catch up (bantay wal status, bantay serve) or raise max_slot_wal_keep_size; take a base backup if WAL is lost.',
      fingerprint: slot.walStatus,
    }];
  }
  if (slot.retainedBytes !== null && slot.retainedBytes > warnBytes) {
    return [{
      key: 'wal-slot',
      severity: 'warning',
      title: `The replication slot ${slot.name} retains ${bytesText(slot.retainedBytes)} of WAL, over ${bytesText(warnBytes)}`,
      text: `The server keeps WAL the stream has not confirmed (${slot.active ? 'the stream is connected' : 'no stream is connected'}); it grows until the disk fills.`,
      remedy: 'Check that the stream is running and uploading (bantay wal status); BANTAY_WAL_SLOT_WARN_SIZE sets this level.',
      fingerprint: 'over',
    }];
  }
  return [];
}
