import { LIMITS } from './limits.ts';

/**
 * Tiny Block Kit constructors that keep every text inside Slack's limits by construction, and
 * escape what came from people or the system (ids, error messages) so it cannot ping @channel
 * or forge links.
 */
export type Block = Record<string, unknown>;
export type TextObject = { type: 'mrkdwn' | 'plain_text'; text: string; emoji?: boolean };

export interface SlackMessage {
  /** The notification / fallback text; Slack shows it where blocks cannot be shown. */
  text: string;
  blocks: Block[];
}

/** Escapes the three characters Slack treats as control characters in mrkdwn. */
export function escape(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Cuts `text` to `max` UTF-16 code units (what Slack's limits count, at most), ending in "…".
 * Never cuts between the two halves of a surrogate pair (an emoji): a lone surrogate is not
 * valid UTF-8, and Slack refuses the whole payload.
 */
export function truncate(text: string, max: number): string {
  if (text.length <= max) return text;
  let end = max - 1;
  const last = text.charCodeAt(end - 1);
  if (last >= 0xd800 && last <= 0xdbff) end -= 1;
  return `${text.slice(0, end)}…`;
}

export function mrkdwn(text: string, max: number = LIMITS.sectionText): TextObject {
  return { type: 'mrkdwn', text: truncate(text, max) };
}

export function plain(text: string, max: number = LIMITS.sectionText): TextObject {
  return { type: 'plain_text', text: truncate(text, max), emoji: true };
}

export function section(text: string, extra: Block = {}): Block {
  return { type: 'section', text: mrkdwn(text), ...extra };
}

export function fields(pairs: ReadonlyArray<readonly [string, string]>): Block {
  return { type: 'section', fields: pairs.slice(0, LIMITS.sectionFields).map(([k, v]) => mrkdwn(`*${k}*\n${v}`, LIMITS.fieldText)) };
}

export function header(text: string): Block {
  return { type: 'header', text: plain(text, LIMITS.headerText) };
}

export function context(...texts: string[]): Block {
  return { type: 'context', elements: texts.slice(0, LIMITS.contextElements).map((t) => mrkdwn(t)) };
}

export function divider(): Block {
  return { type: 'divider' };
}

export function button(text: string, actionId: string, value: string, style?: 'primary' | 'danger'): Block {
  if (value.length > LIMITS.buttonValue) throw new Error(`button value for ${actionId} is too long (${value.length})`);
  return { type: 'button', text: plain(text, LIMITS.buttonText), action_id: actionId, value, ...(style ? { style } : {}) };
}

export function actions(blockId: string, elements: Block[]): Block {
  return { type: 'actions', block_id: blockId, elements };
}

/** `<!date^…>`: Slack renders the reader's local time; the fallback is UTC. */
export function slackDate(at: Date, format = '{date_short_pretty} {time}'): string {
  const fallback = at.toISOString().replace(/\.\d{3}Z$/, 'Z').replace('T', ' ');
  return `<!date^${Math.floor(at.getTime() / 1000)}^${format}|${fallback}>`;
}

export function mention(userId: string): string {
  return /^[UW][A-Z0-9]+$/.test(userId) ? `<@${userId}>` : escape(userId);
}

/** A link to a message: Slack's permalink format, resolved by every client. */
export function messageLink(channel: string, ts: string): string {
  return `https://slack.com/archives/${channel}/p${ts.replace('.', '')}`;
}
