import { BantayError, ErrorCode } from '../../errors.ts';
import type { BaseManifest } from '../base-backup/base-manifest.ts';
import { parseLsn, segmentName, segmentNumber } from '../wal/wal-names.ts';

/** What the archive holds, as planning needs it: names with their archive time, and the timelines' histories. */
export interface ArchiveSummary {
  /** Archived WAL files (segments, NAME.partial, history files) and when each was confirmed stored. */
  files: Map<string, Date>;
  /** Per timeline (from its TLI.history): every ancestor and where this line left it, oldest first. */
  histories: Map<number, Array<{ parent: number; switchLsn: bigint }>>;
  segmentSize: number;
}

export interface Reach {
  base: BaseManifest;
  /** The timeline recovery follows from this base: the newest one descending from the base's. */
  timeline: number;
  from: Date;
  /** The newest archived WAL reachable from this base without a gap. */
  to: Date;
}

export interface PitrPlan {
  base: BaseManifest;
  timeline: number;
  /** undefined: recover to the end of the archive (--latest). */
  targetTime: Date | undefined;
  window: { from: Date; to: Date };
  /** The newest archived WAL the plan relies on; the measured recovery point is against this. */
  archiveEnd: Date;
}

/** Parses a TLI.history file: "parentTLI <tab> switchpoint <tab> reason" per line. */
export function parseHistory(text: string): Array<{ parent: number; switchLsn: bigint }> {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const [parent, lsn] = line.split(/\s+/);
      return { parent: Number(parent), switchLsn: parseLsn(lsn ?? '') };
    });
}

/** The newest timeline whose history passes through `timeline` (itself when none does). */
export function newestDescendant(timeline: number, histories: ArchiveSummary['histories']): number {
  let newest = timeline;
  for (const [tli, ancestors] of histories) if (tli > newest && ancestors.some((a) => a.parent === timeline)) newest = tli;
  return newest;
}

/**
 * How far the archive reaches from `base`: segment by segment from the base's stop segment,
 * each read from the newest timeline that has begun by then (as PostgreSQL does), up to the
 * first missing one; a NAME.partial ends the walk. Pure.
 */
export function reachOf(base: BaseManifest, summary: ArchiveSummary): Reach {
  const timeline = newestDescendant(base.timeline, summary.histories);
  const ancestry = summary.histories.get(timeline) ?? [];
  // Timeline k begins at the switch point recorded for its parent; segments from there on are k's.
  const begins: Array<{ tli: number; fromSegment: bigint }> = [{ tli: base.timeline, fromSegment: 0n }];
  for (let i = 0; i < ancestry.length; i += 1) {
    const entry = ancestry[i]!;
    if (entry.parent < base.timeline) continue;
    const next = ancestry[i + 1]?.parent ?? timeline;
    begins.push({ tli: next, fromSegment: entry.switchLsn / BigInt(summary.segmentSize) });
  }
  const tliAt = (segment: bigint) => begins.filter((b) => b.fromSegment <= segment).at(-1)!.tli;
  let to = new Date(base.consistentAt);
  for (let s = segmentNumber(base.walTo, summary.segmentSize); ; s += 1n) {
    const name = segmentName(tliAt(s), s, summary.segmentSize);
    const full = summary.files.get(name);
    if (full !== undefined) {
      if (full > to) to = full;
      continue;
    }
    const partial = summary.files.get(`${name}.partial`);
    if (partial !== undefined && partial > to) to = partial;
    break;
  }
  return { base, timeline, from: new Date(base.consistentAt), to };
}

/**
 * Chooses the base backup for a target (pure): the newest one consistent before the target
 * whose archive reaches it; for 'latest', the one that reaches furthest. A target outside
 * every reach is refused with the restorable window in the message.
 */
export function planPointInTime(bases: BaseManifest[], summary: ArchiveSummary, target: Date | 'latest', describe: (d: Date) => string): PitrPlan {
  if (bases.length === 0) throw new BantayError(ErrorCode.NotFound, 'There is no base backup to recover from: take one with `bantay backup base` (and keep WAL archiving on)');
  const reaches = bases.map((b) => reachOf(b, summary));
  const window = { from: new Date(Math.min(...reaches.map((r) => r.from.getTime()))), to: new Date(Math.max(...reaches.map((r) => r.to.getTime()))) };
  if (target === 'latest') {
    const best = reaches.reduce((a, b) => (b.to > a.to || (b.to.getTime() === a.to.getTime() && b.from > a.from) ? b : a));
    return { base: best.base, timeline: best.timeline, targetTime: undefined, window, archiveEnd: best.to };
  }
  const covering = reaches.filter((r) => r.from <= target && target <= r.to).sort((a, b) => b.from.getTime() - a.from.getTime());
  const chosen = covering[0];
  if (chosen === undefined) {
    const spans = mergeSpans(reaches).map((s) => `${describe(s.from)} to ${describe(s.to)}`);
    throw new BantayError(
      ErrorCode.InvalidInput,
      `${describe(target)} is outside the restorable window (${spans.join('; ')}): ` +
        (target < window.from ? 'it is before the oldest base backup' : target > window.to ? 'nothing that recent is archived yet' : 'the archive has a gap there'),
    );
  }
  return { base: chosen.base, timeline: chosen.timeline, targetTime: target, window, archiveEnd: chosen.to };
}

function mergeSpans(reaches: Reach[]): Array<{ from: Date; to: Date }> {
  const sorted = [...reaches].sort((a, b) => a.from.getTime() - b.from.getTime());
  const spans: Array<{ from: Date; to: Date }> = [];
  for (const r of sorted) {
    const last = spans.at(-1);
    if (last !== undefined && r.from <= last.to) {
      if (r.to > last.to) last.to = r.to;
    } else spans.push({ from: r.from, to: r.to });
  }
  return spans;
}
