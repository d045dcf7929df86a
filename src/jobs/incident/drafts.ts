import type { IncidentStatus } from './model.ts';

/**
 * The messages the communication plan sends to users, drafted for the commander to copy:
 * an e-mail, a social post and the support team's reply, for the current status. Built only
 * from the checked public message and the configured service name, so they leak nothing the
 * public page would not.
 */
export interface Drafts {
  emailSubject: string;
  emailBody: string;
  social: string;
  supportReply: string;
}

const HEADLINE: Record<IncidentStatus, string> = {
  investigating: 'We are investigating a problem',
  identified: 'We have found the cause of a problem',
  recovering: 'We are restoring normal service',
  monitoring: 'Service is restored and we are monitoring it',
  resolved: 'The problem is resolved',
};

const NEXT: Record<IncidentStatus, string> = {
  investigating: 'We will post an update as soon as we know more.',
  identified: 'We are working on the fix and will post an update soon.',
  recovering: 'We will confirm here when everything is back to normal.',
  monitoring: 'We are watching closely and will confirm when this is closed.',
  resolved: 'Thank you for your patience.',
};

export function draftMessages(status: IncidentStatus, publicMessage: string, serviceName: string): Drafts {
  const headline = `${HEADLINE[status]} with ${serviceName}`;
  return {
    emailSubject: `${headline}`,
    emailBody: `Hello,\n\n${headline}. ${publicMessage}\n\n${NEXT[status]}\n\nWe are sorry for the trouble.`,
    social: truncate(`${headline}. ${publicMessage} ${NEXT[status]}`, 280),
    supportReply: `Thank you for reaching out. ${headline}. ${publicMessage} ${NEXT[status]} We are sorry for the inconvenience.`,
  };
}

function truncate(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}
