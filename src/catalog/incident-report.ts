import { Readable } from 'node:stream';
import { z } from 'zod';
import type { ObjectStore } from '../storage/object-store.ts';
import { readJsonRecord, writeJsonRecord, type RecordTrust } from './json-record.ts';

/**
 * Recovery reports of incidents (the procedures' recovery documentation template): kept as
 * `reports/incidents/<id>.json`, authenticated like every catalog record, plus a Markdown
 * rendering for people. Written once, when the incident is resolved; never pruned.
 */
const entrySchema = z.object({ at: z.string(), actor: z.string(), kind: z.string(), text: z.string() });

export const incidentReportSchema = z.object({
  formatVersion: z.literal(2),
  id: z.string(),
  /** false: a real incident; true: a recovery drill written in the same form. */
  simulated: z.boolean(),
  details: z.object({
    title: z.string(),
    scenario: z.string(),
    severity: z.string(),
    summary: z.string(),
    impact: z.string(),
    detectedAt: z.string(),
    declaredAt: z.string(),
    declaredBy: z.string(),
    commanders: z.array(z.string()),
    resolvedAt: z.string(),
    resolvedBy: z.string(),
  }),
  actions: z.object({
    timeline: z.array(entrySchema),
    /** Backups and recovery points the recovery used. */
    recoveries: z.array(
      z.object({
        at: z.string(),
        kind: z.enum(['restore', 'pitr', 'files']),
        backupId: z.string().nullable(),
        target: z.string(),
        inPlace: z.boolean(),
        recoveredPoint: z.string().nullable(),
        status: z.string(),
      }),
    ),
    steps: z.array(z.object({ number: z.number(), text: z.string(), done: z.boolean(), doneBy: z.string().nullable(), doneAt: z.string().nullable() })),
  }),
  timeToRecovery: z.object({
    seconds: z.number(),
    sinceDetectionSeconds: z.number(),
    objectiveSeconds: z.number(),
    withinObjective: z.boolean(),
  }),
  dataLoss: z.object({
    /** measured: detection time minus the recovered point; none: proven none; not-restored: nothing was rolled back; unknown: a restore ran but its point is not known. */
    state: z.enum(['measured', 'none', 'not-restored', 'unknown']),
    seconds: z.number().nullable(),
    recoveredPoint: z.string().nullable(),
    text: z.string(),
  }),
  verification: z.array(z.object({ at: z.string(), check: z.string(), backupId: z.string().nullable(), result: z.string(), detail: z.string().nullable() })),
  lessons: z.object({ rootCause: z.string(), prevention: z.string(), lessonsLearned: z.string() }),
});

export type IncidentReport = z.infer<typeof incidentReportSchema>;

export function incidentReportKey(id: string, extension: 'json' | 'md' = 'json'): string {
  return `reports/incidents/${id}.${extension}`;
}

/** Markdown first, the authenticated JSON last (what is listed is complete); resolves with the JSON key. */
export async function writeIncidentReport(store: ObjectStore, report: IncidentReport, markdown: string, trust: RecordTrust, signal?: AbortSignal): Promise<string> {
  await store.put(incidentReportKey(report.id, 'md'), Readable.from([Buffer.from(markdown)]), { signal, contentType: 'text/markdown; charset=utf-8' });
  const key = incidentReportKey(report.id);
  await writeJsonRecord(store, key, report, trust, signal);
  return key;
}

export async function readIncidentReport(store: ObjectStore, id: string, trust: RecordTrust): Promise<IncidentReport> {
  const key = incidentReportKey(id);
  return (await readJsonRecord(store, key, incidentReportSchema, { missing: `incident report ${id}`, record: `The incident report ${id}` }, trust)).value;
}
