import type { OpsStatus } from './status-data.ts';

/**
 * Prometheus text exposition format 0.0.4, written by hand: one HELP and one TYPE line per
 * family, then its samples. Label values escape \, " and newline; HELP text escapes \ and
 * newline; NaN and infinities are written the way Prometheus parses them.
 */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels = Record<string, string>;
interface Sample {
  labels?: Labels;
  value: number;
}

export class MetricsBuilder {
  #lines: string[] = [];
  #names = new Set<string>();

  gauge(name: string, help: string, samples: Sample[]): this {
    return this.#family(name, 'gauge', help, samples);
  }

  counter(name: string, help: string, samples: Sample[]): this {
    return this.#family(name, 'counter', help, samples);
  }

  #family(name: string, type: 'gauge' | 'counter', help: string, samples: Sample[]): this {
    if (!/^[a-zA-Z_:][a-zA-Z0-9_:]*$/.test(name)) throw new Error(`invalid metric name ${name}`);
    if (this.#names.has(name)) throw new Error(`metric ${name} declared twice`);
    this.#names.add(name);
    this.#lines.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`);
    for (const s of samples) this.#lines.push(`${name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
    return this;
  }

  toString(): string {
    return `${this.#lines.join('\n')}\n`;
  }
}

function formatLabels(labels: Labels | undefined): string {
  const entries = Object.entries(labels ?? {});
  if (entries.length === 0) return '';
  const escape = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
  return `{${entries.map(([k, v]) => `${k}="${escape(v)}"`).join(',')}}`;
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

const seconds = (d: Date) => d.getTime() / 1000;

/** The /metrics body for a status snapshot. */
export function renderMetrics(status: OpsStatus): string {
  const m = new MetricsBuilder();
  const withLast = status.kinds.filter((k) => k.last);
  m.gauge('bantay_up', 'The Bantay process answers (always 1 when scraped).', [{ value: 1 }]);
  m.gauge('bantay_backup_last_success_timestamp_seconds', 'Creation time of the newest backup per kind (Unix seconds).', withLast.map((k) => ({ labels: { kind: k.kind }, value: seconds(k.last!.createdAt) })));
  m.gauge('bantay_backup_last_size_bytes', 'Stored size of the newest backup per kind.', withLast.map((k) => ({ labels: { kind: k.kind }, value: k.last!.sizeBytes })));
  m.gauge('bantay_backup_last_duration_seconds', 'How long the newest backup per kind took.', withLast.map((k) => ({ labels: { kind: k.kind }, value: k.last!.durationSeconds })));
  m.gauge('bantay_backups', 'Backups at the primary location per kind.', status.kinds.map((k) => ({ labels: { kind: k.kind }, value: k.count })));
  const verified = status.kinds.filter((k) => k.verification);
  m.gauge('bantay_verification_last_timestamp_seconds', 'Time of the newest verification per kind.', verified.map((k) => ({ labels: { kind: k.kind }, value: seconds(k.verification!.verifiedAt) })));
  m.gauge('bantay_verification_last_passed', '1 when the newest verification per kind passed, 0 when it failed.', verified.map((k) => ({ labels: { kind: k.kind }, value: k.verification!.passed ? 1 : 0 })));
  m.gauge('bantay_job_failures_recent', 'Failed job runs in the last 8 days, per job.', status.jobs.map((j) => ({ labels: { job: j.job }, value: j.failedRecently })));
  m.gauge('bantay_job_running', 'Job runs in progress, per job.', status.jobs.map((j) => ({ labels: { job: j.job }, value: j.running })));
  renderLocations(m, status);
  renderSchedule(m, status);
  m.gauge('bantay_alerts_firing', 'Monitoring problems currently firing, per severity.', ['critical', 'warning'].map((severity) => ({ labels: { severity }, value: status.alerts.filter((a) => a.severity === severity).length })));
  renderDrill(m, status);
  return m.toString();
}

function renderLocations(m: MetricsBuilder, status: OpsStatus): void {
  const reachable = status.locations.filter((l) => l.reachable);
  m.gauge('bantay_storage_up', '1 when the location could be listed.', status.locations.map((l) => ({ labels: { location: l.name }, value: l.reachable ? 1 : 0 })));
  m.gauge('bantay_storage_used_bytes', 'Bytes stored per location (every object).', reachable.map((l) => ({ labels: { location: l.name }, value: l.usedBytes ?? 0 })));
  m.gauge('bantay_storage_objects', 'Objects stored per location.', reachable.map((l) => ({ labels: { location: l.name }, value: l.objects ?? 0 })));
  if (status.lag) {
    m.gauge('bantay_secondary_lag_seconds', 'Newest primary backup minus newest secondary backup (+Inf when the secondary is empty).', [{ value: status.lag.lagSeconds ?? Infinity }]);
    m.gauge('bantay_secondary_missing_backups', 'Backups at the primary not yet at the secondary.', [{ value: status.lag.missing.length }]);
  }
}

function renderSchedule(m: MetricsBuilder, status: OpsStatus): void {
  const fired = status.schedule.filter((s) => s.lastFire);
  m.gauge('bantay_schedule_enabled', '1 when the job is scheduled, 0 when it is off.', status.schedule.map((s) => ({ labels: { job: s.job }, value: s.expression === null ? 0 : 1 })));
  m.gauge('bantay_schedule_next_run_timestamp_seconds', 'Next fire time per job.', status.schedule.filter((s) => s.next).map((s) => ({ labels: { job: s.job }, value: seconds(s.next!) })));
  m.gauge('bantay_schedule_last_fire_timestamp_seconds', 'Slot time of the newest fire per job.', fired.map((s) => ({ labels: { job: s.job }, value: seconds(s.lastFire!.fireAt) })));
  m.gauge('bantay_schedule_lag_seconds', 'How late the newest fire started after its slot, per job.', fired.map((s) => ({ labels: { job: s.job }, value: Math.max(0, (s.lastFire!.acquiredAt.getTime() - s.lastFire!.fireAt.getTime()) / 1000) })));
  m.gauge('bantay_schedule_last_fire_success', '1 when the newest fire succeeded (or runs), 0 when it failed, was aborted or abandoned.', fired.map((s) => ({ labels: { job: s.job }, value: s.lastFire!.status === 'succeeded' || s.lastFire!.status === 'running' ? 1 : 0 })));
}

function renderDrill(m: MetricsBuilder, status: OpsStatus): void {
  m.gauge('bantay_rto_objective_seconds', 'Recovery time objective.', [{ value: status.objectives.rtoSeconds }]);
  m.gauge('bantay_rpo_objective_seconds', 'Recovery point objective.', [{ value: status.objectives.rpoSeconds }]);
  const d = status.drill;
  if (!d) return;
  m.gauge('bantay_drill_last_timestamp_seconds', 'Start of the newest recovery drill.', [{ value: seconds(d.startedAt) }]);
  m.gauge('bantay_drill_last_passed', '1 when the newest drill passed.', [{ value: d.passed ? 1 : 0 }]);
  if (d.rtoSeconds !== null) m.gauge('bantay_drill_rto_seconds', 'RTO measured by the newest drill (slowest kind).', [{ value: d.rtoSeconds }]);
  if (d.rpoSeconds !== null) m.gauge('bantay_drill_rpo_seconds', 'RPO measured by the newest drill (worst kind).', [{ value: d.rpoSeconds }]);
}
