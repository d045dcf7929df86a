import { formatBytes, formatDuration } from '../../format/units.ts';
import { ActionId, BlockId } from '../action-ids.ts';
import type { JobResult } from '../bot-jobs.ts';
import type { FailureText } from '../errors-to-text.ts';
import type { ProgressState } from '../progress-message.ts';
import { inPlaceStepLines } from './in-place-progress.ts';
import { context, escape, fields, mention, section, type Block, type SlackMessage } from './blocks.ts';

/** Who ran what: the part every job message starts with. */
export interface JobHeading {
  title: string;
  requestedBy: string;
  /** Set when the job runs because of an approval ("approved by <@U2>"). */
  approvedBy?: string;
}

function headingLine(h: JobHeading, icon: string): string {
  const approved = h.approvedBy ? `, approved by ${mention(h.approvedBy)}` : '';
  return `${icon} *${escape(h.title)}* · requested by ${mention(h.requestedBy)}${approved}`;
}

/** A 20-cell text bar; without a total, a marker that moves with elapsed time. */
export function progressBar(done: number | undefined, total: number | undefined, elapsedSeconds: number): string {
  const width = 20;
  if (done !== undefined && total !== undefined && total > 0) {
    const fraction = Math.min(1, done / total);
    const filled = Math.round(fraction * width);
    return `\`${'█'.repeat(filled)}${'░'.repeat(width - filled)}\` ${Math.floor(fraction * 100)}%`;
  }
  const pos = Math.floor(elapsedSeconds) % width;
  return `\`${'░'.repeat(pos)}█${'░'.repeat(width - pos - 1)}\``;
}

/** The live message: phase, bar, bytes, rate, elapsed and ETA. */
export function buildJobProgressMessage(h: JobHeading, state: ProgressState, now: number, estimatedTotal?: number): SlackMessage {
  const elapsed = (now - state.startedAt) / 1000;
  const phaseElapsed = Math.max(0.001, (now - state.phaseStartedAt) / 1000);
  // An estimate (the last backup's size) that the bytes already passed says nothing: drop it.
  const total = state.total ?? (estimatedTotal !== undefined && (state.bytes ?? 0) < estimatedTotal ? estimatedTotal : undefined);
  const figures: string[] = [`elapsed ${formatDuration(elapsed)}`];
  if (state.bytes !== undefined) {
    const rate = state.bytes / phaseElapsed;
    figures.unshift(`${formatBytes(state.bytes)}${total ? ` of ${state.total === undefined ? '~' : ''}${formatBytes(total)}` : ''}`, `${formatBytes(rate)}/s`);
    if (total && rate > 0 && total > state.bytes) figures.push(`ETA ${state.total === undefined ? '~' : ''}${formatDuration((total - state.bytes) / rate)}`);
  }
  const phase = `*${escape(state.phase)}*${state.detail ? ` · ${escape(state.detail)}` : ''}`;
  const blocks = [section(headingLine(h, ':hourglass_flowing_sand:'))];
  const steps = inPlaceStepLines(state, now);
  if (steps !== undefined) {
    if (steps.downtime) blocks.push(section(':warning: *Downtime starts now:* FBMS is unavailable until step 5 is done.'));
    blocks.push(section(steps.lines));
  }
  const parts = Object.entries(state.parts ?? {});
  blocks.push(section(parts.length > 0 ? `${parts.map(([role, p]) => `*${escape(role)}:* ${escape(p)}`).join('\n')}\n${progressBar(state.bytes, total, elapsed)}` : `${phase}\n${progressBar(state.bytes, total, elapsed)}`), context(figures.join(' · ')));
  if (state.warnings.length > 0) blocks.push(context(...state.warnings.map((w) => `:warning: ${escape(w)}`)));
  return { text: `${h.title}: ${state.phase}`, blocks };
}

export function buildJobResultMessage(h: JobHeading, result: JobResult, durationSeconds: number, warnings: readonly string[] = [], next?: Block): SlackMessage {
  const icon = result.ok ? ':white_check_mark:' : ':x:';
  const blocks = [
    section(headingLine(h, icon)),
    section(result.headline),
    fields(result.fields),
    context(`Finished in ${formatDuration(durationSeconds)}${result.details.length > 0 ? ' · details in the thread' : ''}`),
  ];
  if (warnings.length > 0) blocks.push(context(...warnings.map((w) => `:warning: ${escape(w)}`)));
  if (next !== undefined) blocks.push(next);
  return { text: `${h.title}: ${result.headline}`, blocks };
}

/** The failure in one sentence, the error id matching the logs, and the next step as a button. */
export function buildJobFailedMessage(h: JobHeading, failure: FailureText, durationSeconds: number, next?: Block): SlackMessage {
  const blocks = [
    section(headingLine(h, ':rotating_light:')),
    section(`*Failed:* ${failure.sentence}${failure.details.length ? `\n${failure.details.map((d) => `• ${d}`).join('\n')}` : ''}`),
    context(`Error id \`${failure.errorId}\` (search the bot's log for it) · after ${formatDuration(durationSeconds)}`),
  ];
  if (next !== undefined) blocks.push(next);
  return { text: `${h.title} failed: ${failure.sentence} (error id ${failure.errorId})`, blocks };
}

/**
 * The thread reply that makes bad news notify: an edit of the progress message pings nobody,
 * so a failure (or a verification that failed) is also posted, mentioning who asked and
 * on-call, and broadcast to the channel.
 */
export function buildFailureNotice(h: JobHeading, sentence: string, mentions: string): SlackMessage {
  const lead = mentions ? `${mentions} ` : '';
  return {
    text: `${lead}${h.title} failed: ${sentence}`,
    blocks: [section(`:rotating_light: ${lead}*${escape(h.title)}* failed: ${sentence}`)],
  };
}

/** Thread reply with the details; long lists are cut to stay a readable message. */
export function buildJobDetailsMessage(details: readonly string[]): SlackMessage {
  const shown = details.slice(0, 60).map(escape);
  if (details.length > shown.length) shown.push(`… and ${details.length - shown.length} more`);
  const chunks: string[] = [];
  let current = '';
  for (const line of shown) {
    if ((current + line).length > 2900) {
      chunks.push(current);
      current = '';
    }
    current += `${line}\n`;
  }
  if (current) chunks.push(current);
  return { text: 'Details', blocks: chunks.slice(0, 20).map((c) => section(`\`\`\`${c.trimEnd()}\`\`\``)) };
}
