import type { Manifest } from '../../catalog/manifest.ts';
import type { ScheduleConfig } from '../../schedule/schedule-config.ts';
import type { StateDb } from '../../state/state-db.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import type { Alert, AlertSink } from '../alert-sink.ts';
import type { JobDeps } from '../job-context.ts';
import { gatherOpsSnapshot, toMonitorInput, type OpsSnapshot } from '../ops-snapshot.ts';
import { applyAlertActions, decideAlerts, loadAlertState } from './alert-state.ts';
import { runChecks, type MonitorThresholds, type Problem } from './checks.ts';
import { classifyFailure } from '../../failure.ts';
import { readIdentity } from '../wal/archive-identity.ts';
import { readWalStatus } from '../wal/wal-status.ts';
import { DEFAULT_SEGMENT_SIZE } from '../wal/wal-names.ts';
import type { WalMonitorFacts } from './wal-checks.ts';

export interface MonitorSpec {
  schedule: ScheduleConfig;
  timezone: string;
  thresholds: MonitorThresholds;
  /** Ids of the configured encryption keys: the newest backup of each kind must use one. */
  keyIds?: string[];
  /**
   * Where alerts go. With a sink, alert state is kept in the state database (alert once, stay
   * quiet, resolve); without one (the CLI) nothing is recorded and every problem is returned.
   */
  sink?: AlertSink;
  /** Set only when WAL archiving is configured (BANTAY_WAL not off): adds the WAL checks. */
  wal?: WalMonitorSpec;
}

export interface WalMonitorSpec {
  rpoObjectiveSeconds: number;
  slotWarnBytes: number;
  /** No archived progress for this long while the server writes WAL: the stream has stopped. */
  stallSeconds: number;
  databaseUrl?: string;
  replicationUrl?: string;
  slot: string;
  streamStatusFile: string;
}

export type MonitorDeps = Pick<JobDeps, 'store' | 'logger' | 'now' | 'keyRing'> & {
  state: StateDb;
  secondary?: ObjectStore;
  manifestCache?: Map<string, Manifest>;
};

export interface MonitorResult {
  snapshot: OpsSnapshot;
  /** Every problem found now, notified or not. */
  problems: Problem[];
  /** Alerts delivered by this run (new, changed and resolved). */
  sent: Alert[];
  /** Alerts the sink refused; retried on the next run. */
  failed: Array<{ alert: Alert; error: string }>;
}

/**
 * One monitoring pass: gather (stores, state), check (pure), then alert through the sink with
 * alert state. Never throws for a problem it finds (an unreachable store is a problem, not an
 * error); it throws only when the state database itself fails.
 */
export async function runMonitor(spec: MonitorSpec, deps: MonitorDeps): Promise<MonitorResult> {
  const snapshot = await gatherOpsSnapshot({ store: deps.store, secondary: deps.secondary, state: deps.state, keyRing: deps.keyRing, now: deps.now, manifestCache: deps.manifestCache });
  if (deps.manifestCache) forgetGoneManifests(deps.manifestCache, snapshot);
  const input = toMonitorInput(snapshot, spec);
  if (spec.wal) input.wal = await gatherWalFacts(spec.wal, deps, snapshot.takenAt);
  const problems = runChecks(input);
  if (!spec.sink) return { snapshot, problems, sent: [], failed: [] };
  const actions = decideAlerts(await loadAlertState(deps.state), problems);
  const outcome = await applyAlertActions(deps.state, spec.sink, actions, snapshot.takenAt);
  for (const f of outcome.failed) deps.logger.error({ err: f.error, key: f.alert.dedupeKey }, 'could not deliver an alert; retrying on the next run');
  deps.logger.info({ problems: problems.length, sent: outcome.sent.length }, 'monitoring pass finished');
  return {
    snapshot,
    problems,
    sent: outcome.sent,
    failed: outcome.failed.map((f) => ({ alert: f.alert, error: f.error instanceof Error ? f.error.message : String(f.error) })),
  };
}

/**
 * Drops cached manifests of backups the primary no longer holds (pruned), so a cache kept for
 * the life of `bantay serve` holds what the store holds, not every backup it ever saw. Nothing
 * is dropped when the primary could not be listed.
 */
export function forgetGoneManifests(cache: Map<string, Manifest>, snapshot: OpsSnapshot): void {
  const backups = snapshot.primary.scan?.backups;
  if (backups === undefined) return;
  for (const id of cache.keys()) if (!backups.has(id)) cache.delete(id);
}

/** The WAL status for the checks; a failure to read it is classified (src/failure.ts) and becomes wal-unchecked. */
async function gatherWalFacts(spec: WalMonitorSpec, deps: MonitorDeps, now: Date): Promise<WalMonitorFacts> {
  const base = { rpoObjectiveSeconds: spec.rpoObjectiveSeconds, slotWarnBytes: spec.slotWarnBytes, stallSeconds: spec.stallSeconds };
  try {
    const identity = await readIdentity(deps.store, deps);
    const status = await readWalStatus({ databaseUrl: spec.databaseUrl, replicationUrl: spec.replicationUrl, slot: spec.slot, streamStatusFile: spec.streamStatusFile, now }, deps);
    return { ...base, segmentSize: identity?.segmentSize ?? DEFAULT_SEGMENT_SIZE, status };
  } catch (err) {
    const c = classifyFailure(err);
    return { ...base, segmentSize: DEFAULT_SEGMENT_SIZE, error: `${c.summary}: ${err instanceof Error ? err.message : String(err)}` };
  }
}
