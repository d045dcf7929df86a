/**
 * Where monitoring sends what it finds. The bot adapts its Slack notifier to this (posting to
 * #incidents); the CLI prints; tests collect. Implementations should not throw for formatting
 * problems; a rejection means "not delivered", and the alert is sent again on the next run.
 */
export interface Alert {
  severity: 'info' | 'warning' | 'critical';
  title: string;
  /** What is wrong and what to do about it, plain text (Slack mrkdwn-safe: no markup needed). */
  text: string;
  /** Stable per problem ("stale:database"); a new message for the same key replaces the story. */
  dedupeKey: string;
  /** True for the "resolved" message that follows recovery. */
  resolved?: boolean;
}

export interface AlertSink {
  send(alert: Alert): Promise<void>;
}

/** A sink that keeps alerts in memory, for tests and for `bantay monitor --json`. */
export function createMemorySink(): AlertSink & { alerts: Alert[] } {
  const alerts: Alert[] = [];
  return {
    alerts,
    async send(alert) {
      alerts.push(alert);
    },
  };
}
