import type { webApi } from '@slack/bolt';
import type { Block } from './messages/blocks.ts';

type WebClient = webApi.WebClient;

/**
 * The slice of the Slack Web API that posts and edits messages, as a small interface: the job
 * runner, the notifier and the approval flow depend on this, not on WebClient.
 */
export interface ChatApi {
  postMessage(args: { channel: string; text: string; blocks?: Block[]; thread_ts?: string; reply_broadcast?: boolean }): Promise<{ ts: string; channel: string }>;
  update(args: { channel: string; ts: string; text: string; blocks?: Block[] }): Promise<void>;
}

export function chatApiOf(client: WebClient): ChatApi {
  return {
    async postMessage(args) {
      const res = await client.chat.postMessage({ ...args, unfurl_links: false, unfurl_media: false } as never);
      return { ts: res.ts as string, channel: (res.channel as string | undefined) ?? args.channel };
    },
    async update(args) {
      await client.chat.update(args);
    },
  };
}

/** Seconds Slack asked us to wait (HTTP 429 Retry-After), when `err` is a rate-limit reply. */
export function retryAfterOf(err: unknown): number | undefined {
  const e = err as { code?: string; retryAfter?: unknown } | null;
  if (e?.code === 'slack_webapi_rate_limited_error' && typeof e.retryAfter === 'number') return e.retryAfter;
  return undefined;
}

/** The Slack error code of a failed call ("channel_not_found"), or the error's message. */
export function slackErrorOf(err: unknown): string {
  const e = err as { data?: { error?: string }; message?: string } | null;
  return e?.data?.error ?? e?.message ?? String(err);
}
