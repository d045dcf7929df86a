import type { Queryable } from '../../state/state-db.ts';
import type { GroupMember } from './alert-groups.ts';

/** The Slack message that tells one alert group's story, so it is updated instead of reposted. */
export interface AlertMessageRow {
  key: string;
  channel: string;
  ts: string;
  severity: string;
  title: string;
  firstSeen: Date;
  lastSeen: Date;
  resolvedAt: Date | null;
  members: Record<string, GroupMember>;
}

export async function getAlertMessage(db: Queryable, key: string): Promise<AlertMessageRow | undefined> {
  const [r] = await db.query<Record<string, unknown>>('SELECT key, channel, ts, severity, title, first_seen, last_seen, resolved_at, members FROM slack_alert_messages WHERE key = $1', [key]);
  if (r === undefined) return undefined;
  return {
    key: String(r.key),
    channel: String(r.channel),
    ts: String(r.ts),
    severity: String(r.severity),
    title: String(r.title),
    firstSeen: new Date(r.first_seen as string),
    lastSeen: new Date(r.last_seen as string),
    resolvedAt: r.resolved_at ? new Date(r.resolved_at as string) : null,
    members: (typeof r.members === 'string' ? JSON.parse(r.members) : r.members) as Record<string, GroupMember>,
  };
}

export async function saveAlertMessage(db: Queryable, m: AlertMessageRow): Promise<void> {
  await db.query(
    `INSERT INTO slack_alert_messages (key, channel, ts, severity, title, first_seen, last_seen, resolved_at, members)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (key) DO UPDATE SET channel = $2, ts = $3, severity = $4, title = $5, first_seen = $6, last_seen = $7, resolved_at = $8, members = $9`,
    [m.key, m.channel, m.ts, m.severity, m.title, m.firstSeen.toISOString(), m.lastSeen.toISOString(), m.resolvedAt?.toISOString() ?? null, JSON.stringify(m.members)],
  );
}
