import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { z } from 'zod';
import type { ObjectStore } from '../storage/object-store.ts';
import { checkSchema } from './verification.ts';
import { compactUtcStamp, readJsonRecord, writeJsonRecord, type RecordTrust } from './json-record.ts';

/**
 * Recovery drill reports: what the monthly drill restored, what it measured (RTO, RPO) against
 * which objectives, and every check. Kept in the store as `reports/drills/<id>.json` (plus a
 * `.txt` rendering for people) so they survive the loss of the server Bantay runs on, and in
 * the state database for the bot.
 */
export const drillItemSchema = z.object({
  /** pitr: the point-in-time recovery of the cluster (base backup + WAL), when set up. */
  kind: z.enum(['database', 'application', 'uploads', 'pitr']),
  backupId: z.string().nullable(),
  backupCreatedAt: z.string().nullable(),
  status: z.enum(['passed', 'failed', 'skipped']),
  checks: z.array(checkSchema),
  /** Wall time to a restored, verified copy. */
  rtoSeconds: z.number().nullable(),
  /** Age of the newest restorable point when the drill ran. */
  rpoSeconds: z.number().nullable(),
});

export const drillReportSchema = z.object({
  /** 2 since authenticated records (docs/catalog-authentication.md); 1 from earlier versions. */
  formatVersion: z.union([z.literal(1), z.literal(2)]),
  id: z.string(),
  startedAt: z.string(),
  finishedAt: z.string(),
  durationSeconds: z.number(),
  performedBy: z.string(),
  objectives: z.object({ rtoSeconds: z.number(), rpoSeconds: z.number() }),
  passed: z.boolean(),
  counts: z.object({ passed: z.number(), failed: z.number(), skipped: z.number() }),
  items: z.array(drillItemSchema),
});

export type DrillItem = z.infer<typeof drillItemSchema>;
export type DrillReport = z.infer<typeof drillReportSchema>;

/** "drill-20261126T020000Z-7f3a": sorts by time; safe in keys and Slack values. */
export function newDrillId(at: Date): string {
  return `drill-${compactUtcStamp(at)}-${randomBytes(2).toString('hex')}`;
}

export function drillReportKey(id: string, extension: 'json' | 'txt' = 'json'): string {
  return `reports/drills/${id}.${extension}`;
}

/** Stores the report as JSON and its text rendering; resolves with the JSON key. */
export async function writeDrillReport(store: ObjectStore, report: DrillReport, rendered: string, trust: RecordTrust, signal?: AbortSignal): Promise<string> {
  const key = drillReportKey(report.id);
  await store.put(drillReportKey(report.id, 'txt'), Readable.from([Buffer.from(rendered)]), { signal, contentType: 'text/plain; charset=utf-8' });
  await writeJsonRecord(store, key, report, trust, signal);
  return key;
}

/**
 * Every drill report in the store that reads and authenticates, newest first. A damaged or
 * rejected report is passed to `onRefused` (a report is history, not something to restore).
 */
export async function listDrillReports(store: ObjectStore, trust: RecordTrust, onRefused: (key: string, err: unknown) => void = () => undefined): Promise<DrillReport[]> {
  const reports: DrillReport[] = [];
  for await (const info of store.list('reports/drills/')) {
    if (!info.key.endsWith('.json')) continue;
    try {
      const names = { missing: `drill report ${info.key}`, record: `The drill report ${info.key}` };
      reports.push((await readJsonRecord(store, info.key, drillReportSchema, names, trust)).value);
    } catch (err) {
      onRefused(info.key, err);
    }
  }
  return reports.sort((a, b) => b.startedAt.localeCompare(a.startedAt));
}
