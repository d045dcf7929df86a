import { incidentEvents, requireIncident, setSlackMessages } from '../../jobs/incident/incidents.ts';
import type { Incident } from '../../jobs/incident/model.ts';
import type { Logger } from '../../log/logger.ts';
import type { StateDb } from '../../state/state-db.ts';
import type { Block } from '../messages/blocks.ts';
import { mentionAll } from '../messages/mentions.ts';
import type { ChatApi } from '../slack-api.ts';
import { slackErrorOf } from '../slack-api.ts';
import { buildChecklist, buildHeadline } from './incident-messages.ts';

/**
 * The incident's two messages in the channel: the headline (posted with on-call mentioned,
 * then kept current by edits) and the checklist in its thread; plus thread replies, which
 * notify where edits do not. Edits of one message are at most one per `intervalMs` (3 s,
 * Slack's rule): a change inside the window is applied once, at its end, with the newest state.
 */
export class IncidentSlack {
  readonly #last = new Map<string, number>();
  readonly #pending = new Map<string, NodeJS.Timeout>();

  constructor(private readonly o: { chat: ChatApi; channel: string; state: StateDb; logger: Logger; oncall: readonly string[]; intervalMs?: number; now: () => Date }) {}

  /** Posts the headline and the checklist of a new incident; resolves with the headline's ts. */
  async announce(incident: Incident): Promise<string> {
    const mentions = mentionAll([...this.o.oncall, incident.commander.replace(/^slack:/, '')]);
    const headline = await this.o.chat.postMessage({ channel: this.o.channel, ...buildHeadline(incident, this.o.now(), mentions) });
    await setSlackMessages(this.o.state, incident.id, { channel: headline.channel, headlineTs: headline.ts });
    this.#last.set(headline.ts, Date.now());
    const checklist = await this.o.chat.postMessage({ channel: headline.channel, thread_ts: headline.ts, ...buildChecklist(incident, []) });
    await setSlackMessages(this.o.state, incident.id, { channel: headline.channel, checklistTs: checklist.ts });
    this.#last.set(checklist.ts, Date.now());
    return headline.ts;
  }

  /** A reply in the incident's thread (notifies, unlike an edit); broadcast to the channel when asked. */
  async reply(incident: Incident, text: string, blocks?: Block[], broadcast = false): Promise<void> {
    if (!incident.slackChannel || !incident.slackTs) return;
    await this.o.chat.postMessage({ channel: incident.slackChannel, thread_ts: incident.slackTs, text, ...(blocks ? { blocks } : {}), ...(broadcast ? { reply_broadcast: true } : {}) });
  }

  /** Brings the headline and the checklist up to date, within the edit rate. Never throws. */
  refresh(incidentId: string): void {
    for (const which of ['headline', 'checklist'] as const) {
      const key = `${incidentId}:${which}`;
      if (this.#pending.has(key)) continue;
      const wait = Math.max(0, (this.#last.get(key) ?? 0) + (this.o.intervalMs ?? 3000) - Date.now());
      const timer = setTimeout(() => {
        this.#pending.delete(key);
        this.#last.set(key, Date.now());
        void this.#update(incidentId, which);
      }, wait);
      timer.unref();
      this.#pending.set(key, timer);
    }
  }

  stop(): void {
    for (const t of this.#pending.values()) clearTimeout(t);
    this.#pending.clear();
  }

  async #update(incidentId: string, which: 'headline' | 'checklist'): Promise<void> {
    try {
      const incident = await requireIncident(this.o.state, incidentId);
      const ts = which === 'headline' ? incident.slackTs : incident.slackChecklistTs;
      if (!incident.slackChannel || !ts) return;
      const message = which === 'headline' ? buildHeadline(incident, this.o.now()) : buildChecklist(incident, await incidentEvents(this.o.state, incidentId));
      await this.o.chat.update({ channel: incident.slackChannel, ts, ...message });
    } catch (err) {
      this.o.logger.warn({ incidentId, which, error: slackErrorOf(err) }, 'could not update an incident message');
    }
  }
}
