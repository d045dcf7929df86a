import type { AlertSink } from '../jobs/alert-sink.ts';
import type { Logger } from '../log/logger.ts';
import { redactSecrets } from '../log/redact.ts';
import { buildAlertMessage } from './messages/alert-message.ts';
import { slackErrorOf, type ChatApi } from './slack-api.ts';
import type { Alert } from './alert.ts';

export type { Alert, Severity } from './alert.ts';

export interface NotifyOutcome {
  posted: boolean;
  /** Why it was not posted: "duplicate" or the Slack error. */
  skipped?: string;
  ts?: string;
}

/**
 * What monitoring, the schedule and drills use to tell the team something: one message in
 * #incidents, and the same alert as JSON to BANTAY_ALERT_WEBHOOK_URL when set. Never throws:
 * an alert that cannot be delivered is logged, because the caller's own work must go on.
 */
export interface Notifier {
  notify(alert: Alert): Promise<NotifyOutcome>;
  /** Forgets that `dedupeKey` was posted: its next alert is posted even with the same text. */
  forget(dedupeKey: string): void;
  /** Only the webhook copy (BANTAY_ALERT_WEBHOOK_URL), for senders that post to Slack themselves. */
  webhook(alert: Alert): Promise<void>;
}

export interface NotifierOptions {
  chat: ChatApi;
  channel: string;
  logger: Logger;
  webhookUrl?: string;
  dedupeWindowMs?: number;
  clock?: () => number;
  fetch?: typeof fetch;
}

export function createNotifier(options: NotifierOptions): Notifier {
  const windowMs = options.dedupeWindowMs ?? 60 * 60_000;
  const clock = options.clock ?? Date.now;
  const doFetch = options.fetch ?? fetch;
  const seen = new Map<string, { text: string; at: number }>();

  // An alert counts as seen only once Slack took it: a failed post must not make the retry
  // look like a duplicate (monitoring re-sends undelivered alerts on its next run).
  const isDuplicate = (alert: Alert): boolean => {
    if (alert.dedupeKey === undefined) return false;
    const now = clock();
    for (const [key, v] of seen) if (now - v.at >= windowMs) seen.delete(key);
    const previous = seen.get(alert.dedupeKey);
    return previous !== undefined && previous.text === alert.text;
  };
  const markSeen = (alert: Alert): void => {
    if (alert.dedupeKey !== undefined) seen.set(alert.dedupeKey, { text: alert.text, at: clock() });
  };

  const postWebhook = async (alert: Alert): Promise<void> => {
    if (options.webhookUrl === undefined) return;
    try {
      const res = await doFetch(options.webhookUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ source: 'bantay', severity: alert.severity, title: alert.title, text: alert.text, dedupeKey: alert.dedupeKey ?? null, at: new Date(clock()).toISOString() }),
        signal: AbortSignal.timeout(10_000),
      });
      if (!res.ok) options.logger.warn({ status: res.status }, 'alert webhook answered with an error');
    } catch (err) {
      options.logger.warn({ error: redactSecrets(String(err)) }, 'alert webhook failed');
    }
  };

  return {
    webhook: postWebhook,
    forget(dedupeKey) {
      seen.delete(dedupeKey);
    },
    async notify(alert) {
      if (isDuplicate(alert)) {
        options.logger.debug({ dedupeKey: alert.dedupeKey }, 'duplicate alert not reposted');
        return { posted: false, skipped: 'duplicate' };
      }
      const webhook = postWebhook(alert);
      try {
        const { ts } = await options.chat.postMessage({ channel: options.channel, ...buildAlertMessage(alert) });
        markSeen(alert);
        return { posted: true, ts };
      } catch (err) {
        options.logger.error({ error: slackErrorOf(err), title: alert.title }, 'could not post an alert to Slack');
        return { posted: false, skipped: slackErrorOf(err) };
      } finally {
        await webhook;
      }
    },
  };
}

/**
 * A plain AlertSink on top of the notifier (one post per alert). `bantay serve` uses the
 * Slack alert sink instead (src/bot/alerts/slack-alert-sink.ts: one message per problem,
 * updated in place); this stays for callers without a state database. A "resolved" alert is posted as info; an alert
 * Slack did not take rejects, so monitoring sends it again on its next run.
 */
export function alertSinkOf(notifier: Notifier): AlertSink {
  return {
    async send(alert) {
      const firingKey = alert.dedupeKey;
      const resolvedKey = `${alert.dedupeKey}:resolved`;
      const outcome = await notifier.notify({
        severity: alert.resolved ? 'info' : alert.severity,
        title: alert.resolved ? `Resolved: ${alert.title}` : alert.title,
        text: alert.text,
        dedupeKey: alert.resolved ? resolvedKey : firingKey,
      });
      if (!outcome.posted && outcome.skipped !== 'duplicate') throw new Error(`alert not delivered to Slack: ${outcome.skipped ?? 'unknown error'}`);
      // Firing and resolved take turns: once one is told, the other is news again. Without this
      // a problem that resolved and came back within the hour (same text) would be swallowed as
      // a duplicate, leaving "Resolved" as the last word while it is broken again.
      notifier.forget(alert.resolved ? firingKey : resolvedKey);
    },
  };
}
