import type { Approval } from '../approval-store.ts';
import type { CatalogSnapshot } from '../catalog-cache.ts';
import type { RunningJob } from '../job-runner.ts';
import { context, divider, escape, mention, section, slackDate, type SlackMessage } from './blocks.ts';
import { approvalTitle } from './home-view.ts';
import { backupOption } from './restore-modal.ts';

const SHOWN = 15;

/** `/backups`: newest backups with their facts, what runs now, what waits for approval. */
export function buildBackupsListMessage(o: { snapshot: CatalogSnapshot; running: RunningJob[]; approvals: Approval[]; store: string; now: Date }): SlackMessage {
  const { entries } = o.snapshot;
  const lines = entries.slice(0, SHOWN).map((e) => {
    const option = backupOption(e, o.now);
    return `• \`${e.manifest.id}\`${e.manifest.label ? ` (${escape(e.manifest.label)})` : ''} · ${escape(option.description.text)}`;
  });
  const blocks = [
    section(`*Backups in ${escape(o.store)}* (${entries.length} in total${entries.length > SHOWN ? `, newest ${SHOWN} shown` : ''})`),
    section(lines.length ? lines.join('\n') : 'No backups yet. `/backup` takes one.'),
    divider(),
    section(
      o.running.length
        ? `*Running now*\n${o.running.map((j) => `• ${escape(j.title)}: ${escape(j.phase())}, by ${mention(j.requestedBy)}${j.link ? ` (<${j.link}|progress>)` : ''}`).join('\n')}`
        : '*Running now*\nNothing.',
    ),
    section(
      o.approvals.length
        ? `*Waiting for approval*\n${o.approvals.map((a) => `• ${escape(approvalTitle(a))}, asked by ${mention(a.requestedBy)}, expires ${slackDate(a.expiresAt, '{time}')}`).join('\n')}`
        : '*Waiting for approval*\nNothing.',
    ),
    context(`Catalog read ${slackDate(o.snapshot.loadedAt, '{time}')} · only you can see this`),
  ];
  return { text: `${entries.length} backups`, blocks };
}
