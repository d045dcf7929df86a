import { createHmac } from 'node:crypto';

/**
 * Sends requests to the bot the way Slack does: form-encoded bodies signed with the signing
 * secret (v0 HMAC-SHA256 of `v0:{timestamp}:{body}`). Used by the tests and `bantay console`.
 */
export function signSlackRequest(signingSecret: string, body: string, timestamp = Math.floor(Date.now() / 1000)): Record<string, string> {
  const signature = `v0=${createHmac('sha256', signingSecret).update(`v0:${timestamp}:${body}`).digest('hex')}`;
  return { 'x-slack-request-timestamp': String(timestamp), 'x-slack-signature': signature };
}

export interface SlackReply {
  status: number;
  /** Parsed JSON body when there is one (ack payloads), else the text. */
  body: unknown;
}

export interface SendOptions {
  signingSecret: string;
  /** Override the signature/timestamp (forged and stale request tests). */
  headers?: Record<string, string>;
  timestamp?: number;
  /** x-slack-retry-num: Slack's own retries of a request it thinks timed out. */
  retryNum?: number;
  contentType?: string;
}

export async function postToBot(url: string, body: string, o: SendOptions): Promise<SlackReply> {
  const headers = {
    'content-type': o.contentType ?? 'application/x-www-form-urlencoded',
    ...signSlackRequest(o.signingSecret, body, o.timestamp),
    ...(o.retryNum ? { 'x-slack-retry-num': String(o.retryNum), 'x-slack-retry-reason': 'http_timeout' } : {}),
    ...o.headers,
  };
  const res = await fetch(url, { method: 'POST', headers, body });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text === '' ? '' : JSON.parse(text);
  } catch {
    // Plain text answer.
  }
  return { status: res.status, body: parsed };
}

export interface SlashCommandInput {
  command: string;
  text?: string;
  userId: string;
  userName?: string;
  channelId: string;
  triggerId: string;
  responseUrl: string;
}

export function slashCommandBody(c: SlashCommandInput): string {
  return new URLSearchParams({
    token: 'deprecated-verification-token',
    team_id: 'T0FBMS',
    team_domain: 'fbms',
    channel_id: c.channelId,
    channel_name: 'incidents',
    user_id: c.userId,
    user_name: c.userName ?? c.userId.toLowerCase(),
    command: c.command,
    text: c.text ?? '',
    api_app_id: 'A0BANTAY',
    response_url: c.responseUrl,
    trigger_id: c.triggerId,
  }).toString();
}

/** Interactivity payloads (block_actions, view_submission) travel as `payload=<json>`. */
export function interactionBody(payload: Record<string, unknown>): string {
  return new URLSearchParams({ payload: JSON.stringify(payload) }).toString();
}

export function eventBody(event: Record<string, unknown>): string {
  return JSON.stringify({ token: 'x', team_id: 'T0FBMS', api_app_id: 'A0BANTAY', type: 'event_callback', event_id: `Ev${Date.now()}`, event_time: Math.floor(Date.now() / 1000), event });
}
