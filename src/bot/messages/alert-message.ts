import { formatDuration } from '../../format/units.ts';
import { formatWallTime } from '../../schedule/zoned-time.ts';
import type { GroupMember } from '../alerts/alert-groups.ts';
import { withoutCliSyntax } from '../failure-kind.ts';
import type { Alert } from '../alert.ts';
import { context, escape, section, type SlackMessage } from './blocks.ts';

const ICON = { info: ':information_source:', warning: ':warning:', critical: ':rotating_light:' } as const;

/** A one-off alert (drills, the notifier's other callers). */
export function buildAlertMessage(alert: Alert): SlackMessage {
  return {
    text: `${alert.severity.toUpperCase()}: ${alert.title}`,
    blocks: [section(`${ICON[alert.severity]} *${escape(alert.title)}*\n${escape(slackText(alert.text))}`), context(`Severity: *${alert.severity}*`)],
  };
}

export interface AlertStory {
  title: string;
  severity: GroupMember['severity'];
  members: GroupMember[];
  firstSeen: Date;
  lastSeen: Date;
  resolvedAt: Date | null;
  timeZone: string;
  /** Mentions put in front of a new critical alert (on-call); empty for updates. */
  mentions: string;
}

/**
 * One message per problem (or group of problems with one cause), edited as it goes on and
 * when it is over: severity, first and last seen in local time, what to do. No internal keys.
 */
export function buildAlertStoryMessage(a: AlertStory): SlackMessage {
  const when = (d: Date) => escape(formatWallTime(d, a.timeZone));
  const resolved = a.resolvedAt !== null;
  const icon = resolved ? ':white_check_mark:' : ICON[a.severity];
  const lead = a.mentions ? `${a.mentions} ` : '';
  const title = resolved ? `Resolved: ${a.title}` : a.title;
  const body = a.members.map((m) => (a.members.length > 1 ? `• *${escape(m.title)}*\n${escape(slackText(m.text))}` : escape(slackText(m.text)))).join('\n');
  const facts = resolved
    ? `Was *${a.severity}* · first seen ${when(a.firstSeen)} · resolved ${when(a.resolvedAt!)} (${escape(a.timeZone)}) after ${formatDuration((a.resolvedAt!.getTime() - a.firstSeen.getTime()) / 1000)}`
    : `Severity *${a.severity}* · first seen ${when(a.firstSeen)} · last seen ${when(a.lastSeen)} (${escape(a.timeZone)})`;
  return {
    text: `${lead}${resolved ? 'RESOLVED' : a.severity.toUpperCase()}: ${title}`,
    blocks: [section(`${icon} ${lead}*${escape(title)}*`), ...(resolved || body === '' ? [] : [section(body)]), context(facts)],
  };
}

/** Monitoring writes for every surface; in Slack, sentences that spell out CLI commands go. */
function slackText(text: string): string {
  return text
    .split('\n')
    .map((line) => {
      const sentences = line.split(/(?<=\.)\s+/);
      const kept = sentences.filter((s) => !/\bbantay [a-z]|(^|\s)--[a-z]/.test(s));
      return (kept.length > 0 ? kept : sentences.map(withoutCliSyntax)).join(' ');
    })
    .filter((l) => l.trim() !== '' && l.trim() !== 'What to do:')
    .join('\n');
}
