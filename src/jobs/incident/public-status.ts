import type { Queryable } from '../../state/state-types.ts';
import { selectLastStatusUpdates } from '../../state/incidents.ts';
import { eventFromRow, listIncidents } from './incidents.ts';
import type { IncidentStatus } from './model.ts';

/**
 * What the public status page and its JSON show: per incident open (or resolved in the last
 * day) only its public status, its last checked public message and times. No id, scenario,
 * summary, commander or step: those are internal. An incident with no public update yet shows
 * a generic "investigating" line.
 */
export interface PublicStatus {
  service: string;
  /** operational: nothing open; otherwise the worst open incident's status. */
  state: 'operational' | IncidentStatus;
  updatedAt: string;
  incidents: Array<{ status: IncidentStatus; message: string; startedAt: string; updatedAt: string; resolvedAt: string | null }>;
}

const RECENT_MS = 24 * 3600_000;

export async function currentPublicStatus(db: Queryable, serviceName: string, now: Date = new Date()): Promise<PublicStatus> {
  const incidents = (await listIncidents(db, 20)).filter((i) => i.resolvedAt === null || now.getTime() - i.resolvedAt.getTime() < RECENT_MS);
  const lastUpdate = new Map((await selectLastStatusUpdates(db, incidents.map((i) => i.id))).map((row) => [row.incidentId, eventFromRow(row)]));
  const shown: PublicStatus['incidents'] = [];
  for (const incident of incidents) {
    const last = lastUpdate.get(incident.id);
    const message = incident.resolvedAt !== null ? 'This problem is resolved.' : typeof last?.details.public === 'string' ? last.details.public : 'We are investigating a problem and will post an update soon.';
    shown.push({
      status: incident.resolvedAt !== null ? 'resolved' : incident.status,
      message,
      startedAt: incident.declaredAt.toISOString(),
      updatedAt: (incident.resolvedAt ?? last?.at ?? incident.declaredAt).toISOString(),
      resolvedAt: incident.resolvedAt?.toISOString() ?? null,
    });
  }
  const open = shown.filter((i) => i.resolvedAt === null);
  return { service: serviceName, state: open[0]?.status ?? 'operational', updatedAt: now.toISOString(), incidents: shown };
}
