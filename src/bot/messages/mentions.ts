import { escape } from './blocks.ts';

/**
 * Slack mentions that notify: `<@U…>` for a person, `<!subteam^S…>` for a user group. Anything
 * else (a schedule, "bantay") is written as plain text and pings nobody. Slack renders both
 * forms as names, in messages and in the notification text alike, so no raw id is shown.
 */
export function mentionOf(id: string): string | undefined {
  if (/^[UW][A-Z0-9]+$/.test(id)) return `<@${id}>`;
  if (/^S[A-Z0-9]+$/.test(id)) return `<!subteam^${id}>`;
  return undefined;
}

/** The mentions of `ids` (duplicates and non-Slack names dropped), space-separated. */
export function mentionAll(ids: ReadonlyArray<string | undefined>): string {
  const out: string[] = [];
  for (const id of ids) {
    const m = id === undefined ? undefined : mentionOf(id);
    if (m !== undefined && !out.includes(m)) out.push(m);
  }
  return out.join(' ');
}

/** A person or system as text: a mention for Slack ids, the escaped name otherwise. */
export function who(id: string): string {
  return mentionOf(id) ?? escape(id.replace(/^slack:/, ''));
}
