import type { DrillItem, DrillReport } from '../catalog/drill-report.ts';
import type { Check } from '../catalog/verification.ts';

/**
 * The human rendering of a drill report: what the CLI prints and what is stored next to the
 * JSON in the store (reports/drills/<id>.txt), so whoever opens the bucket after losing the
 * server can read it without Bantay. Plain text, 100 columns at most for the figures.
 */
export function renderDrillReport(report: DrillReport): string {
  const { counts } = report;
  const lines = [
    `Recovery drill ${report.id}: ${report.passed ? 'PASSED' : 'FAILED'} (${counts.passed} checks passed, ${counts.failed} failed, ${counts.skipped} skipped)`,
    `Run at ${report.startedAt} by ${report.performedBy}, took ${humanDuration(report.durationSeconds)}. ` +
      `Objectives: RTO ${humanDuration(report.objectives.rtoSeconds)}, RPO ${humanDuration(report.objectives.rpoSeconds)}.`,
  ];
  for (const item of report.items) lines.push('', ...renderItem(item));
  return `${lines.join('\n')}\n`;
}

function renderItem(item: DrillItem): string[] {
  const head =
    item.kind === 'pitr'
      ? `point-in-time recovery${item.backupId === null ? '' : ` from base backup ${item.backupId}`}`
      : item.backupId === null
        ? `${item.kind}: no backup`
        : `${item.kind} backup ${item.backupId} (created ${item.backupCreatedAt})`;
  const figures = [
    item.rtoSeconds === null ? undefined : `RTO measured ${humanDuration(item.rtoSeconds)}`,
    item.rpoSeconds === null ? undefined : `RPO measured ${humanDuration(item.rpoSeconds)}`,
  ].filter((f) => f !== undefined);
  return [`${head}: ${item.status.toUpperCase()}`, ...(figures.length ? [`  ${figures.join(', ')}`] : []), ...item.checks.map(renderCheck)];
}

const MARK: Record<Check['status'], string> = { passed: '[ok]  ', failed: '[FAIL]', skipped: '[skip]' };

/** Checks about one named object (rows, sequences…): their details start with the object's name, so they stand alone. */
const SELF_NAMED = ['rows ', 'sequence ', 'partitions ', 'inheritance ', 'materialized view ', 'required '];

/** One line per check. */
export function renderCheck(check: Check): string {
  return `  ${MARK[check.status]} ${SELF_NAMED.some((p) => check.name.startsWith(p)) ? check.detail : `${check.name}: ${check.detail}`}`;
}

/** 0.4s, 12s, 3m05s, 4h00m, 2d03h. */
export function humanDuration(seconds: number): string {
  if (seconds < 10) return `${seconds.toFixed(1)}s`;
  if (seconds < 60) return `${Math.round(seconds)}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes}m${String(Math.round(seconds % 60)).padStart(2, '0')}s`;
  const hours = Math.floor(minutes / 60);
  if (hours < 48) return `${hours}h${String(minutes % 60).padStart(2, '0')}m`;
  return `${Math.floor(hours / 24)}d${String(hours % 24).padStart(2, '0')}h`;
}
