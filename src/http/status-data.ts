import { BACKUP_KINDS, type BackupKind } from '../catalog/backup-id.ts';
import { drillReportSchema } from '../catalog/drill-report.ts';
import type { Manifest } from '../catalog/manifest.ts';
import { firing, loadAlertState } from '../jobs/monitor/alert-state.ts';
import { forgetGoneManifests } from '../jobs/monitor/run-monitor.ts';
import { gatherOpsSnapshot, type OpsSnapshot } from '../jobs/ops-snapshot.ts';
import type { SecondaryLag } from '../jobs/sync-secondary.ts';
import type { FireRecord } from '../schedule/lease.ts';
import { compileCron, nextRuns } from '../schedule/next-runs.ts';
import { JOB_DESCRIPTIONS, SCHEDULED_JOBS, type ScheduleConfig, type ScheduledJobName } from '../schedule/schedule-config.ts';
import type { Queryable } from '../state/state-db.ts';
import type { KeyRing } from '../crypto/keys.ts';
import type { ObjectStore } from '../storage/object-store.ts';

/** Everything /status and /metrics show, gathered once and cached briefly. */
export interface OpsStatus {
  generatedAt: Date;
  timezone: string;
  kinds: KindStatus[];
  locations: LocationStatus[];
  lag?: SecondaryLag;
  drill?: DrillSummary;
  objectives: { rtoSeconds: number; rpoSeconds: number };
  alerts: Array<{ key: string; severity: string; title: string; since: Date }>;
  schedule: ScheduleStatus[];
  jobs: Array<{ job: string; running: number; failedRecently: number }>;
}

export interface KindStatus {
  kind: BackupKind;
  count: number;
  last?: { id: string; createdAt: Date; sizeBytes: number; durationSeconds: number; encrypted: boolean };
  verification?: { backupId: string; verifiedAt: Date; passed: boolean };
  /** The most serious firing alert about this kind, if any. */
  health: 'ok' | 'warning' | 'critical';
}

export interface LocationStatus {
  name: 'primary' | 'secondary';
  description: string;
  reachable: boolean;
  usedBytes?: number;
  objects?: number;
  backups?: number;
}

export interface ScheduleStatus {
  job: ScheduledJobName;
  description: string;
  expression: string | null;
  next?: Date;
  lastFire?: Pick<FireRecord, 'fireAt' | 'status' | 'acquiredAt' | 'releasedAt'>;
}

/** The last recovery drill: what it measured against which objectives. */
export interface DrillSummary {
  id: string;
  startedAt: Date;
  passed: boolean;
  /** Slowest measured time to a restored, verified copy (null: nothing restored). */
  rtoSeconds: number | null;
  /** Worst age of the newest restorable point among the kinds it checked. */
  rpoSeconds: number | null;
  objectives: { rtoSeconds: number; rpoSeconds: number };
  items: Array<{ kind: string; status: string; rtoSeconds: number | null; rpoSeconds: number | null }>;
}

export interface StatusConfig {
  timezone: string;
  schedule: ScheduleConfig;
  objectives: { rtoSeconds: number; rpoSeconds: number };
}

export interface StatusDeps {
  store: ObjectStore;
  secondary?: ObjectStore;
  state: Queryable;
  keyRing: KeyRing;
  now?: () => Date;
  /** Reads the newest drill; default: the drill_reports table. */
  lastDrill?: () => Promise<DrillSummary | undefined>;
}

export async function gatherStatus(deps: StatusDeps, config: StatusConfig, cache: Map<string, Manifest>): Promise<OpsStatus> {
  const [snapshot, alertRows, drill] = await Promise.all([
    gatherOpsSnapshot({ store: deps.store, secondary: deps.secondary, state: deps.state, keyRing: deps.keyRing, now: deps.now, manifestCache: cache }),
    loadAlertState(deps.state),
    (deps.lastDrill ?? (() => lastDrillFromState(deps.state)))().catch(() => undefined),
  ]);
  forgetGoneManifests(cache, snapshot);
  const alerts = firing(alertRows).map((r) => ({ key: r.key, severity: r.severity, title: r.title, since: r.firstSeen }));
  return {
    generatedAt: snapshot.takenAt,
    timezone: config.timezone,
    kinds: BACKUP_KINDS.map((kind) => kindStatus(kind, snapshot, alerts)),
    locations: locations(snapshot),
    ...(snapshot.lag ? { lag: snapshot.lag } : {}),
    ...(drill ? { drill } : {}),
    objectives: config.objectives,
    alerts,
    schedule: scheduleStatus(config, snapshot),
    jobs: jobStatus(snapshot),
  };
}

function kindStatus(kind: BackupKind, s: OpsSnapshot, alerts: OpsStatus['alerts']): KindStatus {
  const ofKind = s.manifests.filter((m) => m.kind === kind);
  const last = ofKind[0];
  const verification = s.verifications.find((v) => v.kind === kind);
  const about = alerts.filter((a) => a.key.endsWith(`:${kind}`));
  const health = about.some((a) => a.severity === 'critical') ? 'critical' : about.length > 0 ? 'warning' : 'ok';
  return {
    kind,
    count: ofKind.length,
    ...(last ? { last: { id: last.id, createdAt: new Date(last.createdAt), sizeBytes: last.artifact.sizeBytes, durationSeconds: last.durationSeconds, encrypted: last.artifact.encryption !== null } } : {}),
    ...(verification ? { verification: { backupId: verification.backupId, verifiedAt: new Date(verification.verifiedAt), passed: verification.passed } } : {}),
    health,
  };
}

function locations(s: OpsSnapshot): LocationStatus[] {
  const out: LocationStatus[] = [];
  for (const [name, l] of [['primary', s.primary], ['secondary', s.secondary]] as const) {
    if (!l) continue;
    const backups = l.scan ? [...l.scan.backups.values()].filter((o) => o.some((x) => x.key.endsWith('/manifest.json'))).length : undefined;
    out.push({ name, description: l.description, reachable: l.scan !== undefined, ...(l.scan ? { usedBytes: l.scan.usage.bytes, objects: l.scan.usage.objects, backups } : {}) });
  }
  return out;
}

function scheduleStatus(config: StatusConfig, s: OpsSnapshot): ScheduleStatus[] {
  return SCHEDULED_JOBS.map((job) => {
    const expression = config.schedule[job];
    const next = expression === null ? undefined : nextRuns(compileCron(expression, config.timezone), s.takenAt, 1)[0];
    const fire = s.fires.find((f) => f.job === job);
    return {
      job,
      description: JOB_DESCRIPTIONS[job],
      expression,
      ...(next ? { next } : {}),
      ...(fire ? { lastFire: { fireAt: fire.fireAt, status: fire.status, acquiredAt: fire.acquiredAt, releasedAt: fire.releasedAt } } : {}),
    };
  });
}

function jobStatus(s: OpsSnapshot): OpsStatus['jobs'] {
  const jobs = new Map<string, { job: string; running: number; failedRecently: number }>();
  for (const run of s.jobRuns) {
    const entry = jobs.get(run.job) ?? { job: run.job, running: 0, failedRecently: 0 };
    if (run.status === 'running') entry.running += 1;
    if (run.status === 'failed') entry.failedRecently += 1;
    jobs.set(run.job, entry);
  }
  return [...jobs.values()].sort((a, b) => a.job.localeCompare(b.job));
}

/** The newest row of drill_reports (written by `bantay drill`), summarised. */
export async function lastDrillFromState(state: Queryable): Promise<DrillSummary | undefined> {
  const [row] = await state.query<{ report: unknown }>('SELECT report FROM drill_reports ORDER BY started_at DESC LIMIT 1');
  if (!row) return undefined;
  const parsed = drillReportSchema.safeParse(typeof row.report === 'string' ? JSON.parse(row.report) : row.report);
  if (!parsed.success) return undefined;
  const r = parsed.data;
  const worst = (values: Array<number | null>) => values.filter((v): v is number => v !== null).reduce<number | null>((a, b) => (a === null ? b : Math.max(a, b)), null);
  return {
    id: r.id,
    startedAt: new Date(r.startedAt),
    passed: r.passed,
    rtoSeconds: worst(r.items.map((i) => i.rtoSeconds)),
    rpoSeconds: worst(r.items.map((i) => i.rpoSeconds)),
    objectives: r.objectives,
    items: r.items.map((i) => ({ kind: i.kind, status: i.status, rtoSeconds: i.rtoSeconds, rpoSeconds: i.rpoSeconds })),
  };
}

export interface StatusSource {
  /** The current status, at most `ttlMs` old; concurrent callers share one gathering. */
  get(): Promise<OpsStatus>;
}

/** Caches the gathered status so a refreshing phone or a scraping Prometheus costs one store listing per TTL. */
export function createStatusSource(deps: StatusDeps, config: StatusConfig, options: { ttlMs?: number } = {}): StatusSource {
  const ttlMs = options.ttlMs ?? 30_000;
  const cache = new Map<string, Manifest>();
  let current: { at: number; value: Promise<OpsStatus> } | undefined;
  return {
    get() {
      const now = Date.now();
      if (!current || now - current.at > ttlMs) {
        const value = gatherStatus(deps, config, cache);
        current = { at: now, value };
        value.catch(() => {
          if (current?.value === value) current = undefined;
        });
      }
      return current.value;
    },
  };
}
