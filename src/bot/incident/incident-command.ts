import { BantayError, ErrorCode } from '../../errors.ts';
import { draftMessages } from '../../jobs/incident/drafts.ts';
import { addNote, currentIncident, handOver, openIncidents, postStatusUpdate } from '../../jobs/incident/incidents.ts';
import { STATUSES, type IncidentStatus } from '../../jobs/incident/model.ts';
import { loadRunbooks } from '../../jobs/incident/runbooks.ts';
import { formatWallTime } from '../../schedule/zoned-time.ts';
import { SHIPPED_RUNBOOK_DIR } from '../../config/incident-config.ts';
import { USAGE } from '../job-spec.ts';
import { escape, section } from '../messages/blocks.ts';
import type { BotServices } from '../services.ts';
import { ackThen, authorize, encodeMetadata, newRequestId, replyEphemeral, type CommandArgs } from '../commands/common.ts';
import { openModalThen } from '../commands/open-modal.ts';
import { actorText } from './incident-messages.ts';
import { buildDeclareModal, buildResolveModal } from './incident-views.ts';

/** What incident mode needs from the settings, with the defaults of an unconfigured bot. */
export function incidentSettings(s: BotServices) {
  return { runbookDir: SHIPPED_RUNBOOK_DIR, serviceName: 'the service', internalNames: [] as readonly string[], ...s.settings.incident };
}

export function timeZoneOf(s: BotServices): string {
  return s.settings.timeZone ?? 'Asia/Manila';
}

/**
 * `/incident`: declare (a modal), `note`, `commander @person`, `update STATUS message`,
 * `resolve` (a modal). Operators and approvers only; the job layer applies the rules (one
 * open incident, resolved ones final, public text checked), this turns them into replies.
 */
export function handleIncidentCommand(s: BotServices) {
  return (args: CommandArgs) =>
    ackThen(args, s, async () => {
      const { user_id: userId, text, trigger_id: triggerId, channel_id: channelId } = args.command;
      if (!(await authorize(s, userId, 'operator', { operationType: 'incident', what: 'run incidents' }, args.respond))) return;
      const [word = '', ...rest] = text.trim().split(/\s+/).filter((w) => w !== '');
      const actor = `slack:${userId}`;
      const restText = text.trim().slice(word.length).trim();
      switch (word.toLowerCase()) {
        case '':
        case 'declare': {
          const [open] = await openIncidents(s.state);
          if (open) return replyEphemeral(args.respond, `:rotating_light: An incident is already open: *${escape(open.title)}*, commander ${actorText(open.commander)}. Add to it with \`/incident note\`, or resolve it first with \`/incident resolve\`.`);
          await openModalThen(args.client, triggerId, 'Declare an incident', async () => {
            const runbooks = [...(await loadRunbooks(incidentSettings(s).runbookDir)).values()];
            const tz = timeZoneOf(s);
            return buildDeclareModal(runbooks, formatWallTime(s.now(), tz, true), tz, encodeMetadata({ requestId: newRequestId(), channelId }));
          }, s.logger);
          return;
        }
        case 'note': {
          const incident = await currentIncident(s.state);
          await addNote(s.state, incident, actor, restText);
          await s.incident.reply(incident, `:memo: ${actorText(actor)}: ${escape(restText.slice(0, 2000))}`);
          return replyEphemeral(args.respond, ':memo: Note added to the timeline.');
        }
        case 'commander': {
          const incident = await currentIncident(s.state);
          const next = parseCommander(rest.join(' '));
          const updated = await handOver(s.state, incident, actor, next);
          await s.incident.reply(updated, `:crown: ${actorText(next)} is now the incident commander (handed over by ${actorText(actor)}).`);
          s.incident.refresh(updated.id);
          s.home.refresh();
          return;
        }
        case 'update': {
          const incident = await currentIncident(s.state);
          const status = parseStatus(rest[0] ?? '');
          const message = restText.slice((rest[0] ?? '').length).trim();
          const { internalNames, serviceName } = incidentSettings(s);
          const { incident: updated, message: published } = await postStatusUpdate(s.state, incident, { status, publicMessage: message, actor, internalNames });
          await s.incident.reply(updated, `:loudspeaker: Status *${status}* (by ${actorText(actor)}): ${escape(published)}`, undefined, true);
          s.incident.refresh(updated.id);
          const d = draftMessages(status, published, serviceName);
          const drafts = `*Drafts to copy* (public text only)\n*E-mail subject:* ${escape(d.emailSubject)}\n*E-mail:*\n${escape(d.emailBody)}\n\n*Social post:*\n${escape(d.social)}\n\n*Support reply:*\n${escape(d.supportReply)}`;
          return void (await args.respond({ response_type: 'ephemeral', replace_original: false, text: drafts, blocks: [section(drafts.slice(0, 2990))] as never }));
        }
        case 'resolve': {
          const incident = await currentIncident(s.state);
          await openModalThen(args.client, triggerId, 'Resolve the incident', async () => buildResolveModal(incident, encodeMetadata({ requestId: newRequestId(), channelId, incidentId: incident.id })), s.logger);
          return;
        }
        default:
          return replyEphemeral(args.respond, `*Usage:* ${USAGE['/incident']}`);
      }
    });
}

function parseStatus(value: string): IncidentStatus {
  const status = STATUSES.find((s) => s === value.toLowerCase());
  if (!status || status === 'resolved') throw new BantayError(ErrorCode.InvalidInput, `Say the status first: ${STATUSES.filter((x) => x !== 'resolved').join(', ')} (to resolve, use /incident resolve)`);
  return status;
}

/** `@person` as Slack sends it (`<@U…|name>`), or a plain name for someone not in Slack. */
export function parseCommander(value: string): string {
  const slack = /^<@([UW][A-Z0-9]{2,20})(\|[^>]*)?>$/.exec(value.trim());
  if (slack) return `slack:${slack[1]}`;
  throw new BantayError(ErrorCode.InvalidInput, 'Name the new commander with an @mention: /incident commander @person');
}
