import { readFile } from 'node:fs/promises';
import pg from 'pg';
import { listBackups } from '../../catalog/catalog.ts';
import { isBantayError } from '../../errors.ts';
import { listBaseBackups } from '../base-backup/base-manifest.ts';
import { summarizeArchive } from '../pitr/archive-summary.ts';
import { planPointInTime } from '../pitr/plan-pitr.ts';
import { readIdentity } from './archive-identity.ts';
import type { WalDeps } from './push-wal.ts';
import { identifyServer } from './replication-connection.ts';
import { walFileKind } from './wal-names.ts';
import type { StreamStatus } from './wal-streamer.ts';

export interface WalStatus {
  systemIdentifier: string | null;
  lastArchived: { name: string; at: string } | null;
  /** Seconds since the newest archived WAL: the recovery point if the server died now. */
  lagSeconds: number | null;
  /** Bytes the slot holds back on the server (current WAL position minus the slot's restart point). */
  lagBytes: number | null;
  slot: { name: string; active: boolean; walStatus: string | null; safeWalSize: number | null; retainedBytes: number | null } | null;
  /** The server's current WAL write position (pg_current_wal_lsn), when DATABASE_URL answered. */
  serverLsn: string | null;
  stream: StreamStatus | null;
  window: { from: string; to: string } | null;
  /** Set when the server allows no replication connection: what recovery point there is instead. */
  replicationUnavailable: { reason: string; newestDumpAt: string | null; dumpRecoveryPointSeconds: number | null } | null;
}

/** What `bantay wal status` shows; every part is read independently so one failure does not hide the rest. */
export async function readWalStatus(
  input: { databaseUrl?: string; replicationUrl?: string; slot: string; streamStatusFile: string; now?: Date },
  deps: WalDeps,
): Promise<WalStatus> {
  const now = input.now ?? new Date();
  const identity = await readIdentity(deps.store, deps);
  const status: WalStatus = { systemIdentifier: identity?.systemIdentifier ?? null, lastArchived: null, lagSeconds: null, lagBytes: null, slot: null, serverLsn: null, stream: null, window: null, replicationUnavailable: null };
  if (identity !== undefined) {
    const summary = await summarizeArchive(identity, deps);
    let newest: { name: string; at: Date } | undefined;
    for (const [name, at] of summary.files) if (walFileKind(name) !== 'history' && (newest === undefined || at > newest.at)) newest = { name, at };
    if (newest) {
      status.lastArchived = { name: newest.name, at: newest.at.toISOString() };
      status.lagSeconds = Math.max(0, (now.getTime() - newest.at.getTime()) / 1000);
    }
    const bases = (await listBaseBackups(deps.store, deps)).filter((b) => b.systemIdentifier === identity.systemIdentifier);
    if (bases.length > 0) {
      const plan = planPointInTime(bases, summary, 'latest', (d) => d.toISOString());
      status.window = { from: plan.window.from.toISOString(), to: plan.window.to.toISOString() };
    }
  }
  status.stream = await readFile(input.streamStatusFile, 'utf8').then((t) => JSON.parse(t) as StreamStatus, () => null);
  const replicationUrl = input.replicationUrl ?? input.databaseUrl;
  if (replicationUrl !== undefined) {
    try {
      await identifyServer(replicationUrl);
    } catch (err) {
      const dumps = await listBackups(deps.store, deps, { kind: 'database' }).catch(() => []);
      const newestDump = dumps[0]?.completedAt ?? null;
      status.replicationUnavailable = {
        reason: isBantayError(err) ? err.message : String(err),
        newestDumpAt: newestDump,
        dumpRecoveryPointSeconds: newestDump === null ? null : (now.getTime() - new Date(newestDump).getTime()) / 1000,
      };
    }
  }
  if (input.databaseUrl !== undefined) {
    const read = await readSlot(input.databaseUrl, input.slot).catch(() => null);
    status.slot = read?.slot ?? null;
    status.serverLsn = read?.serverLsn ?? null;
  }
  if (status.slot?.retainedBytes !== undefined && status.slot?.retainedBytes !== null) status.lagBytes = status.slot.retainedBytes;
  return status;
}

async function readSlot(url: string, slot: string): Promise<{ slot: WalStatus['slot']; serverLsn: string }> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  client.on('error', () => undefined);
  await client.connect();
  try {
    // One row always: the server's position, and the slot's columns (NULL when there is no such slot).
    const { rows } = await client.query<{ current: string; found: boolean; active: boolean; wal_status: string | null; safe_wal_size: string | null; retained: string | null }>(
      `SELECT pg_current_wal_lsn()::text AS current, s.slot_name IS NOT NULL AS found, s.active, s.wal_status, s.safe_wal_size::text,
              (pg_current_wal_lsn() - s.restart_lsn)::text AS retained
         FROM (SELECT 1) one LEFT JOIN pg_replication_slots s ON s.slot_name = $1`,
      [slot],
    );
    const row = rows[0]!;
    if (!row.found) return { serverLsn: row.current, slot: { name: slot, active: false, walStatus: 'missing', safeWalSize: null, retainedBytes: null } };
    return {
      serverLsn: row.current,
      slot: { name: slot, active: row.active, walStatus: row.wal_status, safeWalSize: row.safe_wal_size === null ? null : Number(row.safe_wal_size), retainedBytes: row.retained === null ? null : Number(row.retained) },
    };
  } finally {
    await client.end().catch(() => undefined);
  }
}
