import { formatAge, formatBytes, formatDuration } from '../../format/units.ts';
import type { Approval } from '../approval-store.ts';
import type { CatalogEntry } from '../catalog-cache.ts';
import { ActionId, BlockId } from '../action-ids.ts';
import type { PitrState } from '../pitr-status.ts';
import { COMMAND_LINES } from './command-lines.ts';
import { pitrHomeLines } from './pitr-text.ts';
import { actions, button, context, divider, escape, header, mention, section, slackDate, truncate, type Block } from './blocks.ts';

export interface HomeSnapshot {
  now: Date;
  storeDescription: string;
  /** Undefined while the catalog has not loaded yet. */
  latest: Partial<Record<'database' | 'application' | 'uploads', CatalogEntry>> | undefined;
  storage: { bytes: number; backups: number } | undefined;
  running: Array<{ title: string; requestedBy: string; startedAt: Date; phase: string; link?: string }>;
  approvals: Approval[];
  lastDrill: { at: Date; passed: boolean; durationSeconds: number; summary: string; counts: { passed: number; failed: number; skipped: number } } | undefined;
  /** Next scheduled runs, once a schedule exists; undefined means no schedule configured. */
  nextRuns: Array<{ job: string; at: Date }> | undefined;
  /** Point-in-time recovery: the window and the lag, in BANTAY_TZ. Undefined: the section is left out. */
  pitr?: { state: PitrState; timeZone: string };
  /** Open incidents, shown first (incident mode). */
  incidents?: Array<{ title: string; status: string; summary: string; commander: string; declaredAt: Date; objectiveSeconds: number; link?: string }>;
}

const KIND_TITLE = { database: 'Database', application: 'Application files', uploads: 'Uploads' } as const;

/** The App Home dashboard; pure, sized to stay far below the 100-block limit. */
export function buildHomeView(s: HomeSnapshot): { type: 'home'; blocks: Block[] } {
  const blocks: Block[] = [
    header('Bantay: FBMS backups'),
    context(`Store: ${escape(s.storeDescription)} · updated ${slackDate(s.now, '{time}')}`),
    actions(BlockId.HomeActions, [
      button('Back up now', ActionId.HomeBackup, 'database', 'primary'),
      button('Verify latest', ActionId.HomeVerify, 'latest'),
      button('Run drill', ActionId.HomeDrill, 'drill'),
      button('Restore…', ActionId.HomeRestore, 'restore'),
    ]),
    divider(),
  ];
  // During an incident it comes first: the person opening Bantay at 3 a.m. is looking for it.
  for (const i of (s.incidents ?? []).slice(0, 3)) {
    const elapsed = (s.now.getTime() - i.declaredAt.getTime()) / 1000;
    blocks.unshift(
      section(`:rotating_light: *Incident open: ${escape(i.title)}* (${escape(i.status)}) · commander ${i.commander}\n${escape(truncate(i.summary, 300))}\n${formatDuration(elapsed)} of the ${formatDuration(i.objectiveSeconds)} objective${i.link ? ` · <${i.link}|open the incident thread>` : ''}`),
    );
  }
  blocks.push(section('*Latest backups*'));
  if (s.latest === undefined) {
    blocks.push(context('The catalog is still loading…'));
  } else {
    for (const kind of ['database', 'application', 'uploads'] as const) blocks.push(section(latestLine(KIND_TITLE[kind], s.latest[kind], s.now)));
  }
  if (s.storage) blocks.push(context(`Storage used: *${formatBytes(s.storage.bytes)}* in ${s.storage.backups} backups`));
  if (s.pitr !== undefined) blocks.push(divider(), section(['*Point-in-time recovery*', ...pitrHomeLines(s.pitr.state, s.pitr.timeZone, s.now)].join('\n')));
  blocks.push(divider(), section('*Jobs running now*'));
  if (s.running.length === 0) blocks.push(context('Nothing is running.'));
  for (const job of s.running.slice(0, 10)) {
    const link = job.link ? ` · <${job.link}|progress>` : '';
    blocks.push(section(`:hourglass_flowing_sand: *${escape(job.title)}* · ${escape(job.phase)} · by ${mention(job.requestedBy)}, ${formatAge(job.startedAt, s.now).replace(' ago', '')} so far${link}`));
  }
  blocks.push(divider(), section('*Approvals waiting*'));
  if (s.approvals.length === 0) blocks.push(context('No approval is waiting.'));
  for (const a of s.approvals.slice(0, 10)) {
    blocks.push(section(`:warning: ${escape(approvalTitle(a))} · asked by ${mention(a.requestedBy)} · expires ${slackDate(a.expiresAt, '{time}')}\n_${escape(a.reason)}_`));
  }
  blocks.push(divider(), section('*Last recovery drill*'));
  blocks.push(
    s.lastDrill
      ? section(
          `${s.lastDrill.passed ? ':white_check_mark: passed' : ':x: FAILED'} ${formatAge(s.lastDrill.at, s.now)}, took ${formatDuration(s.lastDrill.durationSeconds)} · checks: ${s.lastDrill.counts.passed} passed, ${s.lastDrill.counts.failed} failed\n${escape(s.lastDrill.summary)}`,
        )
      : context('No drill has run yet: Run drill (above) starts one.'),
  );
  blocks.push(divider(), section('*Next scheduled runs*'));
  blocks.push(s.nextRuns === undefined ? context('No schedule is configured.') : context(s.nextRuns.slice(0, 8).map((r) => `${escape(r.job)} ${slackDate(r.at)}`).join(' · ') || 'Nothing scheduled.'));
  blocks.push(divider(), context(...COMMAND_LINES.map(([c, line]) => `\`${c}\` ${line}`), 'Add `help` to any command, or mention the bot, for this list.'));
  return { type: 'home', blocks };
}

/** App Home for someone who is neither an operator nor an approver: no backup details at all. */
export function buildHomeRefusedView(): { type: 'home'; blocks: Block[] } {
  return {
    type: 'home',
    blocks: [
      header('Bantay: FBMS backups'),
      section(':no_entry: Only the ops team’s operators and approvers can see the backups here. Ask your team lead (whoever runs Bantay) to add you.'),
    ],
  };
}

function latestLine(title: string, entry: CatalogEntry | undefined, now: Date): string {
  if (entry === undefined) return `*${title}*: no backup yet`;
  const m = entry.manifest;
  const v = entry.verification;
  const verified = v === undefined ? 'not verified' : v.passed ? `:white_check_mark: verified ${formatAge(new Date(v.verifiedAt), now)}` : `:x: FAILED verification ${formatAge(new Date(v.verifiedAt), now)}`;
  const encrypted = m.artifact.encryption ? 'encrypted' : ':warning: unencrypted';
  return `*${title}*: \`${m.id}\` · ${formatAge(new Date(m.createdAt), now)} · ${formatBytes(m.artifact.sizeBytes)} · ${encrypted} · ${verified}`;
}

export function approvalTitle(a: Approval): string {
  const spec = a.payload.spec as { backup?: string } | undefined;
  return `In-place restore of ${spec?.backup ?? '?'}`;
}
