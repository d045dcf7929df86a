/** An alert to post: below notifier.ts and the message builder it uses (messages/alert-message.ts). */
export type Severity = 'info' | 'warning' | 'critical';

export interface Alert {
  severity: Severity;
  title: string;
  text: string;
  /** Alerts with the same key and the same text within the window are posted once. */
  dedupeKey?: string;
}
