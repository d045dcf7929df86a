import type { Alert } from '../alert.ts';
import { context, escape, section, type SlackMessage } from './blocks.ts';

const ICON = { info: ':information_source:', warning: ':warning:', critical: ':rotating_light:' } as const;

export function buildAlertMessage(alert: Alert): SlackMessage {
  return {
    text: `${alert.severity.toUpperCase()}: ${alert.title}`,
    blocks: [
      section(`${ICON[alert.severity]} *${escape(alert.title)}*\n${escape(alert.text)}`),
      context(`Severity: *${alert.severity}*${alert.dedupeKey ? ` · key \`${escape(alert.dedupeKey)}\`` : ''}`),
    ],
  };
}
