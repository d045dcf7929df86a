import type { Manifest } from '../catalog/manifest.ts';
import { BantayError, ErrorCode } from '../errors.ts';
import type { ScheduledJobName, ScheduleConfig } from '../schedule/schedule-config.ts';
import type { ScheduledJobRunner } from '../schedule/scheduler.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { StateDb } from '../state/state-db.ts';
import type { Logger } from '../log/logger.ts';
import type { KeyRing } from '../crypto/keys.ts';
import type { AlertSink } from './alert-sink.ts';
import { runMonitor, type WalMonitorSpec } from './monitor/run-monitor.ts';
import type { MonitorThresholds } from './monitor/checks.ts';
import type { RetentionPolicy } from './retention/plan-retention.ts';
import { runPrune } from './retention/prune.ts';
import { runWalPrune } from './retention/prune-wal.ts';
import { runSync } from './sync-secondary.ts';
import type { ProgressReporter } from './progress.ts';

export interface OpsRunnerOptions {
  store: ObjectStore;
  /** The opened secondary (openSecondaryStore); undefined: no sync runner. */
  secondary?: ObjectStore;
  state: StateDb;
  keyRing: KeyRing;
  logger: Logger;
  /** Monitoring alerts go here (the bot's #incidents adapter). */
  sink: AlertSink;
  timezone: string;
  schedule: ScheduleConfig;
  retention: RetentionPolicy;
  thresholds: MonitorThresholds;
  /** Ids of the configured encryption keys, for monitoring's key check. */
  keyIds?: string[];
  /** BANTAY_WAL_RETENTION_DAYS when WAL archiving is on: retention also prunes base backups and WAL. */
  walRetentionDays?: number;
  /** When WAL archiving is on: monitoring also checks its lag, progress and slot. */
  walMonitor?: WalMonitorSpec;
  /** Progress of each run, e.g. a Slack progress message; default none. */
  reporterFor?: (job: ScheduledJobName) => ProgressReporter | undefined;
}

/**
 * The scheduled runners of the operations jobs (sync, retention, monitor), ready for
 * startScheduler's `jobs` map. A run that leaves something undone (a backup not copied, an
 * object not deleted) rejects, so its fire is recorded as failed and monitoring alerts.
 */
export function createOpsRunners(o: OpsRunnerOptions): Partial<Record<ScheduledJobName, ScheduledJobRunner>> {
  const manifestCache = new Map<string, Manifest>();
  const runners: Partial<Record<ScheduledJobName, ScheduledJobRunner>> = {
    retention: async ({ signal, trigger }) => {
      const result = await runPrune({ policy: o.retention, timezone: o.timezone, dryRun: false, trigger, signal, location: 'primary' }, o, o.reporterFor?.('retention'));
      if (result.failed.length > 0) throw new BantayError(ErrorCode.Storage, `Prune left ${result.failed.length} item(s) undeleted: ${result.failed[0]!.error}`);
      if (o.walRetentionDays === undefined) return;
      const wal = await runWalPrune({ policy: o.retention, timezone: o.timezone, retentionDays: o.walRetentionDays, dryRun: false, trigger, signal }, o);
      if (wal.failed.length > 0) throw new BantayError(ErrorCode.Storage, `WAL prune left ${wal.failed.length} item(s) undeleted: ${wal.failed[0]!.decision.id}: ${wal.failed[0]!.error}`);
    },
    monitor: async () => {
      await runMonitor({ schedule: o.schedule, timezone: o.timezone, thresholds: o.thresholds, keyIds: o.keyIds, sink: o.sink, wal: o.walMonitor }, { ...o, manifestCache });
    },
  };
  const secondary = o.secondary;
  if (secondary) {
    runners.sync = async ({ signal, trigger }) => {
      const report = await runSync(
        { trigger, signal, retention: { policy: o.retention, timezone: o.timezone } },
        { store: o.store, secondary, state: o.state, keyRing: o.keyRing, logger: o.logger },
        o.reporterFor?.('sync'),
      );
      if (report.failed.length > 0) throw new BantayError(ErrorCode.Storage, `Sync could not copy ${report.failed.length} item(s): ${report.failed[0]!.id}: ${report.failed[0]!.error}`);
    };
  }
  return runners;
}
