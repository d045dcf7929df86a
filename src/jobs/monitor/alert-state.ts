import type { Queryable } from '../../state/state-db.ts';
import type { Alert, AlertSink } from '../alert-sink.ts';
import type { Problem } from './problem.ts';
import { durationText } from './text.ts';

/** One row of alert_state: the story of one problem key. */
export interface AlertStateRow {
  key: string;
  status: 'firing' | 'resolved';
  severity: string;
  title: string;
  fingerprint: string;
  firstSeen: Date;
  lastSeen: Date;
  /** When people were last told; null when the last attempt to tell them failed. */
  notifiedAt: Date | null;
  resolvedAt: Date | null;
}

export type AlertAction =
  | { type: 'notify-new'; problem: Problem; previous?: AlertStateRow }
  | { type: 'notify-changed'; problem: Problem; previous: AlertStateRow }
  | { type: 'quiet'; problem: Problem; previous: AlertStateRow }
  | { type: 'notify-resolved'; previous: AlertStateRow }
  | { type: 'resolve-quietly'; previous: AlertStateRow };

/**
 * Alert once, stay quiet until it changes, say when it is over. Pure:
 * - a problem with no firing row is new (a row whose notification failed counts as new, so it
 *   is retried on the next run);
 * - a firing problem whose fingerprint changed (another missed run, another bad backup) alerts
 *   again; an unchanged one stays quiet;
 * - a firing row without a problem resolves, with a message only if people had been told.
 */
export function decideAlerts(previous: AlertStateRow[], problems: Problem[]): AlertAction[] {
  const rows = new Map(previous.map((r) => [r.key, r]));
  const actions: AlertAction[] = [];
  for (const problem of problems) {
    const row = rows.get(problem.key);
    if (!row || row.status === 'resolved' || row.notifiedAt === null) actions.push({ type: 'notify-new', problem, ...(row ? { previous: row } : {}) });
    else if (row.fingerprint !== problem.fingerprint) actions.push({ type: 'notify-changed', problem, previous: row });
    else actions.push({ type: 'quiet', problem, previous: row });
  }
  const current = new Set(problems.map((p) => p.key));
  for (const row of previous) {
    if (row.status !== 'firing' || current.has(row.key)) continue;
    actions.push(row.notifiedAt === null ? { type: 'resolve-quietly', previous: row } : { type: 'notify-resolved', previous: row });
  }
  return actions;
}

export function alertOf(action: AlertAction, now: Date): Alert | undefined {
  switch (action.type) {
    case 'notify-new':
    case 'notify-changed':
      return {
        severity: action.problem.severity,
        title: action.problem.title,
        text: `${action.problem.text}\nWhat to do: ${action.problem.remedy}`,
        dedupeKey: action.problem.key,
      };
    case 'notify-resolved':
      return {
        severity: 'info',
        title: `Resolved: ${action.previous.title}`,
        text: `This is no longer a problem (first seen ${action.previous.firstSeen.toISOString()}, lasted ${durationText((now.getTime() - action.previous.firstSeen.getTime()) / 1000)}).`,
        dedupeKey: action.previous.key,
        resolved: true,
      };
    default:
      return undefined;
  }
}

export async function loadAlertState(db: Queryable): Promise<AlertStateRow[]> {
  const rows = await db.query<Record<string, unknown>>(
    'SELECT key, status, severity, title, fingerprint, first_seen, last_seen, notified_at, resolved_at FROM alert_state ORDER BY key',
  );
  const date = (v: unknown) => (v === null || v === undefined ? null : new Date(v as Date));
  return rows.map((r) => ({
    key: String(r.key),
    status: r.status as AlertStateRow['status'],
    severity: String(r.severity),
    title: String(r.title),
    fingerprint: String(r.fingerprint),
    firstSeen: date(r.first_seen)!,
    lastSeen: date(r.last_seen)!,
    notifiedAt: date(r.notified_at),
    resolvedAt: date(r.resolved_at),
  }));
}

/**
 * Sends what `actions` say to send, then records the outcome; a failed send is recorded as not
 * notified (new) or still firing (resolved), so the next run tries again.
 */
export async function applyAlertActions(db: Queryable, sink: AlertSink, actions: AlertAction[], now: Date): Promise<{ sent: Alert[]; failed: Array<{ alert: Alert; error: unknown }> }> {
  const sent: Alert[] = [];
  const failed: Array<{ alert: Alert; error: unknown }> = [];
  for (const action of actions) {
    const alert = alertOf(action, now);
    let delivered = alert === undefined;
    if (alert) {
      try {
        await sink.send(alert);
        sent.push(alert);
        delivered = true;
      } catch (error) {
        failed.push({ alert, error });
      }
    }
    await recordAction(db, action, now, delivered);
  }
  return { sent, failed };
}

async function recordAction(db: Queryable, action: AlertAction, now: Date, delivered: boolean): Promise<void> {
  if (action.type === 'notify-resolved' || action.type === 'resolve-quietly') {
    if (!delivered) return;
    await db.query(`UPDATE alert_state SET status = 'resolved', resolved_at = $2, last_seen = $2 WHERE key = $1`, [action.previous.key, now]);
    return;
  }
  const p = action.problem;
  const continuing = action.type !== 'notify-new' || (action.previous?.status === 'firing');
  const firstSeen = continuing && action.previous ? action.previous.firstSeen : now;
  const notifiedAt = action.type === 'quiet' ? action.previous.notifiedAt : delivered ? now : null;
  await db.query(
    `INSERT INTO alert_state (key, status, severity, title, fingerprint, first_seen, last_seen, notified_at, resolved_at)
     VALUES ($1, 'firing', $2, $3, $4, $5, $6, $7, NULL)
     ON CONFLICT (key) DO UPDATE SET status = 'firing', severity = $2, title = $3, fingerprint = $4, first_seen = $5,
       last_seen = $6, notified_at = $7, resolved_at = NULL`,
    [p.key, p.severity, p.title, p.fingerprint, firstSeen, now, notifiedAt],
  );
}

/** Keys firing now, for the status page and metrics. */
export function firing(rows: AlertStateRow[]): AlertStateRow[] {
  return rows.filter((r) => r.status === 'firing');
}
