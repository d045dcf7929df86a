import { monthOf, addMonths } from '../../schedule/zoned-time.ts';
import { segmentNumber, timelineOf, walFileKind } from '../wal/wal-names.ts';
import type { RetentionPolicy } from './plan-retention.ts';

/** What planning needs of one physical base backup (from its manifest, base-manifest.ts). */
export interface BaseFacts {
  id: string;
  createdAt: string;
  /** The earliest point it recovers to; the window is measured against this. */
  consistentAt: string;
  timeline: number;
  /** First and last segment it needs to become consistent. */
  walFrom: string;
  walTo: string;
}

export interface WalRetentionInput {
  now: Date;
  timezone: string;
  policy: RetentionPolicy;
  /** BANTAY_WAL_RETENTION_DAYS: every second of the last this-many days stays recoverable. */
  retentionDays: number;
  /** Base backups of the archive's cluster. */
  bases: BaseFacts[];
  /** Names of archived WAL files (segments, .partial, .backup, history files); only valid names. */
  walNames: string[];
  /** Per timeline, its ancestors (from TLI.history), as ArchiveSummary['histories']. */
  histories: Map<number, Array<{ parent: number }>>;
  segmentSize: number;
  /** Base backups a running job reads: kept. */
  inUse?: Array<{ id: string; reason: string }>;
  /** Set when some base manifest could not be read: its WAL needs are unknown, so no WAL is deleted. */
  unreadableBases?: string[];
}

export interface WalRetentionDecision {
  type: 'base' | 'wal';
  /** Base backup id or WAL file name. */
  id: string;
  action: 'keep' | 'delete';
  reasons: string[];
}

export interface WalRetentionPlan {
  /** now − retentionDays. */
  windowStart: Date;
  /** The base backup the window is recovered from: newest consistent at or before windowStart (else the oldest). */
  anchor: string | null;
  /** Oldest WAL segment kept by the window rule (the anchor's walFrom). */
  keepFrom: string | null;
  bases: WalRetentionDecision[];
  wal: WalRetentionDecision[];
  warnings: string[];
}

const DAY = 86_400_000;

/**
 * Plans retention of the physical layer (pure). Base backups: kept by the ordinary policy as
 * weekly full sets (daily/weekly/monthly rules), plus the newest one, the ones in use and the
 * window anchor. WAL: a file goes only when it lies before the anchor's start segment (by
 * position, whatever its timeline: LSNs only grow across timeline switches) and outside the
 * walFrom..walTo of every kept base. A history file goes only when its timeline is neither
 * the timeline (or an ancestor of the timeline) of a kept segment or kept base, nor newer than
 * all of them. No base backup, or an unreadable one: no WAL is deleted.
 */
export function planWalRetention(input: WalRetentionInput): WalRetentionPlan {
  const windowStart = new Date(input.now.getTime() - input.retentionDays * DAY);
  const sorted = [...input.bases].sort((a, b) => a.consistentAt.localeCompare(b.consistentAt) || a.id.localeCompare(b.id));
  const anchor = [...sorted].reverse().find((b) => Date.parse(b.consistentAt) <= windowStart.getTime()) ?? sorted[0];
  const bases = planBases(input, sorted, anchor, windowStart);
  const kept = sorted.filter((b) => bases.find((d) => d.id === b.id)?.action === 'keep');
  const warnings = (input.unreadableBases ?? []).map((id) => `${id}: the base backup manifest cannot be read, so no WAL is deleted; look at base/${id}/`);
  const plan: WalRetentionPlan = { windowStart, anchor: anchor?.id ?? null, keepFrom: anchor?.walFrom ?? null, bases, wal: [], warnings };
  if (anchor === undefined || warnings.length > 0) {
    const why = anchor === undefined ? 'no base backup exists: no WAL is deleted' : 'a base backup manifest is unreadable: no WAL is deleted';
    plan.wal = input.walNames.map((id) => ({ type: 'wal', id, action: 'keep', reasons: [why] }));
    return plan;
  }
  const pos = (name: string) => segmentNumber(name.slice(0, 24), input.segmentSize);
  const cutoff = pos(anchor.walFrom);
  const needs = (name: string) => kept.find((b) => pos(b.walFrom) <= pos(name) && pos(name) <= pos(b.walTo));
  const segments: WalRetentionDecision[] = [];
  for (const id of input.walNames.filter((n) => walFileKind(n) !== 'history')) {
    const neededBy = needs(id);
    if (pos(id) >= cutoff) segments.push({ type: 'wal', id, action: 'keep', reasons: [`at or after ${anchor.walFrom}, where ${anchor.id} (recovers the window from ${windowStart.toISOString()}) starts`] });
    else if (neededBy) segments.push({ type: 'wal', id, action: 'keep', reasons: [`needed by kept base backup ${neededBy.id} (${neededBy.walFrom}..${neededBy.walTo})`] });
    else segments.push({ type: 'wal', id, action: 'delete', reasons: [`before ${anchor.walFrom}, the start of ${anchor.id}, the oldest base backup the ${input.retentionDays}-day window needs`] });
  }
  const timelines = new Set<number>([...segments.filter((d) => d.action === 'keep').map((d) => timelineOf(d.id)), ...kept.map((b) => b.timeline)]);
  for (const tli of [...timelines]) for (const a of input.histories.get(tli) ?? []) timelines.add(a.parent);
  const newest = Math.max(...timelines);
  const histories: WalRetentionDecision[] = input.walNames.filter((n) => walFileKind(n) === 'history').map((id) => {
    const tli = timelineOf(id);
    if (timelines.has(tli)) return { type: 'wal', id, action: 'keep', reasons: [`timeline ${tli} is the timeline, or an ancestor of the timeline, of kept WAL or a kept base backup`] };
    if (tli > newest) return { type: 'wal', id, action: 'keep', reasons: [`timeline ${tli} is newer than all kept WAL (a recent promotion)`] };
    return { type: 'wal', id, action: 'delete', reasons: [`timeline ${tli}: no kept WAL or base backup is on it or descends from it`] };
  });
  plan.wal = [...segments, ...histories];
  return plan;
}

function planBases(input: WalRetentionInput, sorted: BaseFacts[], anchor: BaseFacts | undefined, windowStart: Date): WalRetentionDecision[] {
  const { policy, now, timezone } = input;
  const firstOfMonth = new Set<string>();
  const seen = new Set<string>();
  for (const b of [...sorted].sort((x, y) => x.createdAt.localeCompare(y.createdAt))) {
    const month = monthOf(Date.parse(b.createdAt), timezone);
    if (!seen.has(month)) firstOfMonth.add(b.id);
    seen.add(month);
  }
  const newest = [...sorted].sort((x, y) => y.createdAt.localeCompare(x.createdAt))[0];
  return sorted.map((b) => {
    const ageDays = (now.getTime() - Date.parse(b.createdAt)) / DAY;
    const age = `${Math.max(0, Math.floor(ageDays))} days old`;
    const reasons: string[] = [];
    if (b.id === newest?.id) reasons.push('newest base backup (always kept)');
    if (b.id === anchor?.id) reasons.push(`recovers the start of the ${input.retentionDays}-day WAL window (${windowStart.toISOString()})`);
    if (ageDays < policy.dailyDays) reasons.push(`daily backup, ${age} (kept ${policy.dailyDays} days)`);
    if (ageDays < policy.weeklyWeeks * 7) reasons.push(`weekly full set, ${age} (kept ${policy.weeklyWeeks} weeks)`);
    if (firstOfMonth.has(b.id) && addMonths(Date.parse(b.createdAt), policy.monthlyMonths, timezone) > now.getTime()) {
      reasons.push(`first base backup of ${monthOf(Date.parse(b.createdAt), timezone)} (monthly, kept ${policy.monthlyMonths} months)`);
    }
    for (const u of input.inUse ?? []) if (u.id === b.id) reasons.push(u.reason);
    return reasons.length > 0
      ? { type: 'base', id: b.id, action: 'keep', reasons }
      : { type: 'base', id: b.id, action: 'delete', reasons: [`base backup, ${age}: outside every rule (daily ${policy.dailyDays} days, weekly ${policy.weeklyWeeks} weeks, monthly ${policy.monthlyMonths} months) and older than the WAL window`] };
  });
}
