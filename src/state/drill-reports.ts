import type { DrillReport } from '../catalog/drill-report.ts';
import type { Queryable } from './state-db.ts';

/** Drill reports in the state database: what the bot shows without reading the store. */
export async function saveDrillReport(db: Queryable, report: DrillReport, storeKey: string | null): Promise<void> {
  await db.query(
    `INSERT INTO drill_reports (id, started_at, finished_at, passed, checks_passed, checks_failed, checks_skipped, performed_by, store_key, report)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
     ON CONFLICT (id) DO UPDATE SET report = EXCLUDED.report, store_key = EXCLUDED.store_key`,
    [
      report.id,
      report.startedAt,
      report.finishedAt,
      report.passed,
      report.counts.passed,
      report.counts.failed,
      report.counts.skipped,
      report.performedBy,
      storeKey,
      JSON.stringify(report),
    ],
  );
}

export async function listSavedDrillReports(db: Queryable, limit = 12): Promise<Array<{ report: DrillReport; storeKey: string | null }>> {
  const rows = await db.query<{ report: DrillReport | string; store_key: string | null }>(
    'SELECT report, store_key FROM drill_reports ORDER BY started_at DESC LIMIT $1',
    [limit],
  );
  // pg returns jsonb parsed; PGlite too, but be tolerant of a driver handing back text.
  return rows.map((r) => ({ report: typeof r.report === 'string' ? (JSON.parse(r.report) as DrillReport) : r.report, storeKey: r.store_key }));
}
