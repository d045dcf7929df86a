import type { Leftover } from '../../storage/leftovers.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import type { Queryable } from '../../state/state-db.ts';

/** Incomplete multipart uploads younger than this may still be running somewhere. */
export const MULTIPART_MIN_AGE_MS = 24 * 3600 * 1000;

export interface LeftoverDecision {
  leftover: Leftover;
  action: 'remove' | 'keep';
  reason: string;
}

/**
 * Which leftovers to remove (pure). A local temp file is removed when its last write is older
 * than the start of every running job (no running job can still be writing it; a file being
 * written has a fresh mtime); a multipart upload when it was initiated more than 24 h ago (as
 * the recommended bucket lifecycle rule does), because uploads are not tied to a job run.
 */
export function planLeftoverCleanup(leftovers: readonly Leftover[], context: { now: Date; oldestRunningJob: Date | undefined }): LeftoverDecision[] {
  const tempCutoff = context.oldestRunningJob && context.oldestRunningJob < context.now ? context.oldestRunningJob : context.now;
  return leftovers.map((leftover) => {
    if (leftover.kind === 'temp-file') {
      return leftover.since < tempCutoff
        ? { leftover, action: 'remove', reason: `temp file of an upload that never finished, last written ${leftover.since.toISOString()}, before any running job started` }
        : { leftover, action: 'keep', reason: 'may belong to a running job' };
    }
    const age = context.now.getTime() - leftover.since.getTime();
    return age > MULTIPART_MIN_AGE_MS
      ? { leftover, action: 'remove', reason: `incomplete multipart upload initiated ${leftover.since.toISOString()} (over 24 h ago)` }
      : { leftover, action: 'keep', reason: 'initiated less than 24 h ago; may still be running' };
  });
}

export async function listLeftovers(store: ObjectStore): Promise<Leftover[]> {
  const out: Leftover[] = [];
  if (!store.leftovers) return out;
  for await (const leftover of store.leftovers.listLeftovers()) out.push(leftover);
  return out;
}

/** When the oldest job still marked running started (abandoned ones were closed at start). */
export async function oldestRunningJob(state: Queryable): Promise<Date | undefined> {
  const [row] = await state.query<{ started: Date | null }>(`SELECT min(started_at) AS started FROM job_runs WHERE status = 'running'`);
  return row?.started ? new Date(row.started) : undefined;
}
