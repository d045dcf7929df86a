import { incidentEvents, openIncidents, requireIncident, setSlackMessages } from '../../jobs/incident/incidents.ts';
import type { Incident } from '../../jobs/incident/model.ts';
import type { Logger } from '../../log/logger.ts';
import { claimAnnouncement, claimChecklistPost, isChecklistClaim, releaseAnnouncement, releaseChecklistPost } from '../../state/incidents.ts';
import type { StateDb } from '../../state/state-db.ts';
import type { ChannelBudgets } from '../channel-budget.ts';
import type { Block } from '../messages/blocks.ts';
import { mentionAll } from '../messages/mentions.ts';
import type { ChatApi } from '../slack-api.ts';
import { slackErrorOf } from '../slack-api.ts';
import { buildChecklist, buildHeadline } from './incident-messages.ts';

/** Slack's rule: one edit per message per 3 s, whatever BANTAY_PROGRESS_INTERVAL allows progress. */
const MIN_EDIT_INTERVAL_MS = 3000;

type Which = 'headline' | 'checklist';

/**
 * The incident's two messages in the channel: the headline (posted with on-call mentioned,
 * then kept current by edits) and the checklist in its thread; plus thread replies, which
 * notify where edits do not. Edits of one message are at most one per 3 s: a change inside
 * the window is applied once, at its end, with the newest state; an edit that would change
 * nothing is not sent. Every call takes its turn in the channel's budget, shared with the
 * jobs' progress messages, and waits for room rather than being refused by Slack.
 */
export class IncidentSlack {
  readonly #last = new Map<string, number>();
  readonly #pending = new Map<string, NodeJS.Timeout>();
  readonly #shown = new Map<string, string>();
  readonly #intervalMs: number;

  constructor(private readonly o: { chat: ChatApi; channel: string; state: StateDb; logger: Logger; oncall: readonly string[]; intervalMs?: number; budgets?: ChannelBudgets; now: () => Date }) {
    this.#intervalMs = Math.max(MIN_EDIT_INTERVAL_MS, o.intervalMs ?? 0);
  }

  /**
   * Posts the headline and the checklist of a new incident, once: the announcement is claimed
   * in the state database first, so the Slack declare and the minute sync (of this bot or
   * another replica) never both post it. Resolves with the headline's ts, undefined when
   * someone else announces it.
   */
  async announce(incident: Incident): Promise<string | undefined> {
    if (!(await claimAnnouncement(this.o.state, incident.id, this.o.channel))) return undefined;
    try {
      return await this.#post(incident);
    } catch (err) {
      await releaseAnnouncement(this.o.state, incident.id).catch(() => undefined);
      throw err;
    }
  }

  async #post(incident: Incident): Promise<string> {
    const mentions = mentionAll([...this.o.oncall, incident.commander.replace(/^slack:/, '')]);
    const message = buildHeadline(incident, this.o.now(), mentions);
    await this.#turn(this.o.channel);
    const headline = await this.o.chat.postMessage({ channel: this.o.channel, ...message });
    await setSlackMessages(this.o.state, incident.id, { channel: headline.channel, headlineTs: headline.ts });
    this.#sent(incident.id, 'headline', buildHeadline(incident, this.o.now()));
    await this.#postChecklist(incident.id, headline.channel, headline.ts);
    return headline.ts;
  }

  /**
   * The checklist in the headline's thread, claimed so two posters never both post it; a
   * failed post gives the claim back and the minute sync posts it again (a headline without
   * its checklist has no buttons).
   */
  async #postChecklist(incidentId: string, channel: string, headlineTs: string): Promise<void> {
    const claim = await claimChecklistPost(this.o.state, incidentId, this.o.now());
    if (claim === undefined) return;
    let posted: { ts: string } | undefined;
    try {
      const incident = await requireIncident(this.o.state, incidentId);
      const checklist = buildChecklist(incident, await incidentEvents(this.o.state, incidentId));
      await this.#turn(channel);
      posted = await this.o.chat.postMessage({ channel, thread_ts: headlineTs, ...checklist });
      await setSlackMessages(this.o.state, incidentId, { channel, checklistTs: posted.ts });
      this.#sent(incidentId, 'checklist', checklist);
    } catch (err) {
      // Posted but not recorded: keep the claim (it expires) rather than post a second checklist at once.
      if (posted === undefined) await releaseChecklistPost(this.o.state, incidentId, claim).catch(() => undefined);
      throw err;
    }
  }

  /** A reply in the incident's thread (notifies, unlike an edit); broadcast to the channel when asked. */
  async reply(incident: Incident, text: string, blocks?: Block[], broadcast = false): Promise<void> {
    if (!incident.slackChannel || !incident.slackTs) return;
    await this.#turn(incident.slackChannel);
    await this.o.chat.postMessage({ channel: incident.slackChannel, thread_ts: incident.slackTs, text, ...(blocks ? { blocks } : {}), ...(broadcast ? { reply_broadcast: true } : {}) });
  }

  /** Brings the headline and the checklist up to date, within the edit rate. Never throws. */
  refresh(incidentId: string): void {
    for (const which of ['headline', 'checklist'] as const) {
      const key = `${incidentId}:${which}`;
      if (this.#pending.has(key)) continue;
      const wait = Math.max(0, (this.#last.get(key) ?? 0) + this.#intervalMs - Date.now());
      const timer = setTimeout(() => {
        this.#pending.delete(key);
        // The window starts now, not when the edit is sent: a refresh meanwhile waits a full window.
        this.#last.set(key, Date.now());
        void this.#update(incidentId, which);
      }, wait);
      timer.unref();
      this.#pending.set(key, timer);
    }
  }

  /**
   * What the console did while Slack was not looking: an incident declared with
   * `bantay incident declare` is announced (once, claimed in the state database), and every
   * open incident's messages are brought up to date (notes, steps done, the time since
   * declared). Run by `serve` on a timer. Never throws.
   */
  async sync(): Promise<void> {
    try {
      for (const incident of await openIncidents(this.o.state)) {
        if (incident.slackTs) {
          if (incident.slackChannel && (incident.slackChecklistTs === null || isChecklistClaim(incident.slackChecklistTs))) {
            await this.#postChecklist(incident.id, incident.slackChannel, incident.slackTs).catch((err: unknown) => {
              this.o.logger.warn({ incidentId: incident.id, error: slackErrorOf(err) }, 'could not post the checklist of an incident; trying again later');
            });
          }
          this.refresh(incident.id);
          continue;
        }
        if (incident.slackChannel) continue;
        await this.announce(incident).catch((err: unknown) => {
          this.o.logger.warn({ incidentId: incident.id, error: slackErrorOf(err) }, 'could not announce an incident declared on the console; trying again later');
        });
      }
    } catch (err) {
      this.o.logger.warn({ err }, 'could not bring the incident messages up to date');
    }
  }

  /** Runs `sync` every `everyMs` (default a minute) until the returned function is called. */
  startSync(everyMs = 60_000): () => void {
    void this.sync();
    const timer = setInterval(() => void this.sync(), everyMs);
    timer.unref();
    return () => clearInterval(timer);
  }

  stop(): void {
    for (const t of this.#pending.values()) clearTimeout(t);
    this.#pending.clear();
  }

  async #turn(channel: string): Promise<void> {
    await this.o.budgets?.of(channel).take();
  }

  #sent(incidentId: string, which: Which, message: { text: string; blocks?: Block[] }): void {
    const key = `${incidentId}:${which}`;
    this.#last.set(key, Date.now());
    this.#shown.set(key, JSON.stringify(message));
  }

  async #update(incidentId: string, which: Which): Promise<void> {
    const key = `${incidentId}:${which}`;
    try {
      const incident = await requireIncident(this.o.state, incidentId);
      const ts = which === 'headline' ? incident.slackTs : incident.slackChecklistTs;
      if (!incident.slackChannel || !ts || isChecklistClaim(ts)) return;
      const message = which === 'headline' ? buildHeadline(incident, this.o.now()) : buildChecklist(incident, await incidentEvents(this.o.state, incidentId));
      if (this.#shown.get(key) === JSON.stringify(message)) return;
      await this.#turn(incident.slackChannel);
      this.#sent(incidentId, which, message);
      await this.o.chat.update({ channel: incident.slackChannel, ts, ...message });
    } catch (err) {
      this.o.logger.warn({ incidentId, which, error: slackErrorOf(err) }, 'could not update an incident message');
    }
  }
}
