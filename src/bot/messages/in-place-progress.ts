import { formatDuration } from '../../format/units.ts';
import type { ProgressState } from '../progress-message.ts';

/**
 * An in-place restore as the five steps a person cares about, numbered, with the time each
 * took and the current one's ETA when the bytes tell it; the moment FBMS goes down is said in
 * words ("downtime starts now"), because that is when the phone calls start.
 */
const STEPS = [
  { title: 'Safety backup of the live database', kinds: ['safety-backup'] },
  { title: 'Restore the backup into a copy beside it', kinds: ['restore-copy'] },
  { title: 'Verify the copy and give it the live settings', kinds: ['copy-attributes'] },
  { title: 'Downtime: stop the application, swap the databases', kinds: ['stop-app', 'close-connections', 'swap'] },
  { title: 'Start the application and confirm', kinds: ['start-app', 'confirm'] },
] as const;

/** Which of the five steps is running: the copy's own verification counts as step 3. */
function stepIndexOf(kind: string, phase: string): number {
  if (kind === 'restore-copy' && phase === 'checking') return 2;
  return STEPS.findIndex((s) => (s.kinds as readonly string[]).includes(kind));
}

export function inPlaceStepLines(state: ProgressState, now: number): { lines: string; downtime: boolean } | undefined {
  const seen = state.steps ?? [];
  if (seen.length === 0) return undefined;
  const last = seen.at(-1)!;
  const current = stepIndexOf(last.kind, state.phase);
  const startOf = (i: number) => seen.find((s) => stepIndexOf(s.kind, '') === i || (i === 2 && s.kind === 'copy-attributes'))?.startedAt;
  const lines = STEPS.map((step, i) => {
    const n = `${i + 1}.`;
    if (i < current) {
      const from = startOf(i);
      const to = startOf(i + 1) ?? (i + 1 === current ? state.phaseStartedAt : undefined);
      return `:white_check_mark: ${n} ${step.title}${from !== undefined && to !== undefined ? ` · ${formatDuration((to - from) / 1000)}` : ''}`;
    }
    if (i === current) {
      const rate = state.bytes !== undefined ? state.bytes / Math.max(0.001, (now - state.phaseStartedAt) / 1000) : 0;
      const eta = state.total !== undefined && state.bytes !== undefined && rate > 0 && state.total > state.bytes ? ` · ETA ${formatDuration((state.total - state.bytes) / rate)}` : '';
      return `:arrow_forward: *${n} ${step.title}* · ${formatDuration((now - (startOf(i) ?? state.phaseStartedAt)) / 1000)} so far${eta}`;
    }
    return `:white_small_square: ${n} ${step.title}`;
  });
  return { lines: lines.join('\n'), downtime: current === 3 };
}
