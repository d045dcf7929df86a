import type { AlertSink } from '../../jobs/alert-sink.ts';
import type { Logger } from '../../log/logger.ts';
import type { Queryable } from '../../state/state-db.ts';
import { formatDuration } from '../../format/units.ts';
import { buildAlertStoryMessage } from '../messages/alert-message.ts';
import { mentionAll } from '../messages/mentions.ts';
import type { ChatApi } from '../slack-api.ts';
import { groupOf, groupTitle, worstSeverity, type GroupMember } from './alert-groups.ts';
import { getAlertMessage, saveAlertMessage, type AlertMessageRow } from './alert-message-store.ts';

export interface SlackAlertSinkOptions {
  chat: ChatApi;
  channel: string;
  state: Queryable;
  logger: Logger;
  /** BANTAY_ONCALL: mentioned when a critical alert is first posted. */
  oncall: readonly string[];
  timeZone: string;
  /** The same alert as JSON to BANTAY_ALERT_WEBHOOK_URL, when set. */
  webhook?: (alert: Parameters<AlertSink['send']>[0]) => Promise<void>;
  clock?: () => Date;
}

/**
 * Monitoring's alerts in Slack: one message per problem group, posted once (a post notifies;
 * critical ones mention on-call), then updated in place as the problem goes on, and at the end
 * marked resolved in place with a thread reply ("resolved after 3h"). Which message belongs to
 * which group is kept in the state database, so restarts and replicas edit the same message.
 * Rejects when Slack did not take it: monitoring sends it again on its next run.
 */
export function createSlackAlertSink(o: SlackAlertSinkOptions): AlertSink {
  const now = () => o.clock?.() ?? new Date();
  const render = (row: AlertMessageRow, mentions = '') => {
    const members = Object.values(row.members);
    return buildAlertStoryMessage({ title: row.title, severity: row.severity as GroupMember['severity'], members, firstSeen: row.firstSeen, lastSeen: row.lastSeen, resolvedAt: row.resolvedAt, timeZone: o.timeZone, mentions });
  };
  return {
    async send(alert) {
      await o.webhook?.(alert).catch((err: unknown) => o.logger.warn({ err }, 'alert webhook failed'));
      const group = groupOf(alert.dedupeKey);
      const at = now();
      const row = await getAlertMessage(o.state, group);
      const open = row !== undefined && row.resolvedAt === null ? row : undefined;
      if (alert.resolved) {
        if (open === undefined) return;
        const members = { ...open.members };
        delete members[alert.dedupeKey];
        const next: AlertMessageRow = { ...open, members, lastSeen: at };
        if (Object.keys(members).length > 0) return void (await update({ ...next, ...summary(group, members) }));
        const done: AlertMessageRow = { ...next, members: open.members, resolvedAt: at };
        await o.chat.update({ channel: done.channel, ts: done.ts, ...render(done) });
        await saveAlertMessage(o.state, done);
        await o.chat
          .postMessage({ channel: done.channel, thread_ts: done.ts, text: `Resolved after ${formatDuration((at.getTime() - done.firstSeen.getTime()) / 1000)}.` })
          .catch((err: unknown) => o.logger.warn({ err }, 'could not post the resolution in the alert thread'));
        return;
      }
      const member: GroupMember = { severity: alert.severity, title: stripResolved(alert.title), text: alert.text };
      if (open !== undefined) {
        const members = { ...open.members, [alert.dedupeKey]: member };
        return void (await update({ ...open, members, lastSeen: at, ...summary(group, members) }, open));
      }
      const members = { [alert.dedupeKey]: member };
      const fresh: AlertMessageRow = { key: group, channel: o.channel, ts: '', firstSeen: at, lastSeen: at, resolvedAt: null, members, ...summary(group, members) };
      const mentions = fresh.severity === 'critical' ? mentionAll(o.oncall) : '';
      const { ts, channel } = await o.chat.postMessage({ channel: o.channel, ...render(fresh, mentions) });
      await saveAlertMessage(o.state, { ...fresh, ts, channel });
    },
  };

  async function update(row: AlertMessageRow, before?: AlertMessageRow): Promise<void> {
    await o.chat.update({ channel: row.channel, ts: row.ts, ...render(row) });
    await saveAlertMessage(o.state, row);
    // An edit notifies nobody: a problem that turned critical is said again in its thread.
    const mentions = mentionAll(o.oncall);
    if (before !== undefined && before.severity !== 'critical' && row.severity === 'critical') {
      await o.chat.postMessage({ channel: row.channel, thread_ts: row.ts, text: `${mentions ? `${mentions} ` : ''}This is now critical: ${row.title}` }).catch((err: unknown) => o.logger.warn({ err }, 'could not post the escalation'));
    }
  }
}

function summary(group: string, members: Record<string, GroupMember>): { title: string; severity: string } {
  const list = Object.values(members);
  return { title: groupTitle(group, list), severity: worstSeverity(list) };
}

function stripResolved(title: string): string {
  return title.replace(/^(Resolved:\s*)+/i, '');
}
