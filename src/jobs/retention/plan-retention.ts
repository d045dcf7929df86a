import type { BackupKind } from '../../catalog/backup-id.ts';
import { addMonths, monthOf } from '../../schedule/zoned-time.ts';

/** How long things are kept. Every rule keeps; a backup goes only when no rule keeps it. */
export interface RetentionPolicy {
  /** Every ordinary backup (scheduled, manual, emergency), full sets included. */
  dailyDays: number;
  /** Backups of the weekly full set. */
  weeklyWeeks: number;
  /** The first backup of each kind in each calendar month (BANTAY_TZ). 0: no monthly rule. */
  monthlyMonths: number;
  /** Backups taken before a deploy or a restore. */
  preOpDays: number;
  drillReportMonths: number;
  exportDays: number;
}

export const DEFAULT_RETENTION_POLICY: RetentionPolicy = {
  dailyDays: 30,
  weeklyWeeks: 4,
  monthlyMonths: 12,
  preOpDays: 30,
  drillReportMonths: 12,
  exportDays: 30,
};

export type BackupCategory = 'daily' | 'full' | 'pre-deploy' | 'pre-restore';

/** What planning needs to know about one backup (see retention-input.ts for where it comes from). */
export interface BackupFacts {
  id: string;
  kind: BackupKind;
  createdAt: string;
  category: BackupCategory;
  /** Uploads incrementals: the backup this one was taken on top of (restoring needs it). */
  parentId?: string | null;
  /** Outcome of the newest verification record, if it was ever verified. */
  verification?: 'passed' | 'failed';
}

/** Non-backup objects with their own retention: drill reports and user exports. */
export interface StoredItem {
  type: 'drill-report' | 'export';
  id: string;
  createdAt: string;
  keys: string[];
}

/** Objects under backups/<id>/ with no manifest: a half-written or half-deleted backup. */
export interface OrphanItem {
  id: string;
  newestModifiedAt: string;
  keys: string[];
}

export interface RetentionInput {
  now: Date;
  timezone: string;
  policy: RetentionPolicy;
  backups: BackupFacts[];
  /** Backups a running job (a restore, a verify, a drill) is reading: never deleted. */
  inUse?: Array<{ id: string; reason: string }>;
  items?: StoredItem[];
  orphans?: OrphanItem[];
  /** Ids whose manifest exists but cannot be read: kept, and reported. */
  unreadable?: string[];
}

export interface RetentionDecision {
  type: 'backup' | StoredItem['type'] | 'orphan';
  id: string;
  kind?: BackupKind;
  createdAt: string;
  action: 'keep' | 'delete';
  /** Every reason it is kept, or the one reason it goes; written for people. */
  reasons: string[];
}

export interface RetentionPlan {
  decisions: RetentionDecision[];
  warnings: string[];
}

const DAY = 86_400_000;
/** Objects without a manifest younger than this may belong to a backup being written right now. */
export const ORPHAN_GRACE_MS = 2 * DAY;

/**
 * Decides what to keep and what to delete, and why. Pure: the same input gives the same plan,
 * so dry runs, the scheduled prune and the table tests all see one truth. Guarantees, whatever
 * the policy: the newest backup of each kind, the newest one of each kind that passed
 * verification, backups in use, and every backup a kept uploads incremental is built on (its
 * whole chain) are kept.
 */
export function planRetention(input: RetentionInput): RetentionPlan {
  const warnings: string[] = [];
  const keep = new Map<string, string[]>(input.backups.map((b) => [b.id, []]));
  const add = (id: string, reason: string) => keep.get(id)?.push(reason);
  const firsts = firstOfMonthIds(input);
  for (const b of input.backups) for (const reason of policyReasons(b, input, firsts.has(b.id))) add(b.id, reason);
  for (const [id, reason] of guaranteedKeeps(input)) add(id, reason);
  for (const { id, reason } of input.inUse ?? []) add(id, reason);
  keepChains(input.backups, keep, warnings);
  const decisions: RetentionDecision[] = input.backups.map((b) => {
    const reasons = keep.get(b.id) ?? [];
    const base = { type: 'backup' as const, id: b.id, kind: b.kind, createdAt: b.createdAt };
    return reasons.length > 0 ? { ...base, action: 'keep', reasons } : { ...base, action: 'delete', reasons: [expiryReason(b, input, firsts.has(b.id))] };
  });
  for (const id of input.unreadable ?? []) warnings.push(`${id}: the manifest cannot be read, so the backup is kept; look at it with bantay show ${id}`);
  decisions.push(...planItems(input), ...planOrphans(input));
  return { decisions: decisions.sort(byCreatedDesc), warnings };
}

function policyReasons(b: BackupFacts, input: RetentionInput, firstOfMonth: boolean): string[] {
  const { policy } = input;
  const ageDays = (input.now.getTime() - Date.parse(b.createdAt)) / DAY;
  const age = `${Math.max(0, Math.floor(ageDays))} days old`;
  const reasons: string[] = [];
  if (b.category === 'pre-deploy' || b.category === 'pre-restore') {
    if (ageDays < policy.preOpDays) reasons.push(`${b.category} backup, ${age} (kept ${policy.preOpDays} days)`);
    return reasons;
  }
  if (ageDays < policy.dailyDays) reasons.push(`daily backup, ${age} (kept ${policy.dailyDays} days)`);
  if (b.category === 'full' && ageDays < policy.weeklyWeeks * 7) reasons.push(`weekly full set, ${age} (kept ${policy.weeklyWeeks} weeks)`);
  if (firstOfMonth && addMonths(Date.parse(b.createdAt), policy.monthlyMonths, input.timezone) > input.now.getTime()) {
    reasons.push(`first ${b.kind} backup of ${monthOf(Date.parse(b.createdAt), input.timezone)} (monthly, kept ${policy.monthlyMonths} months)`);
  }
  return reasons;
}

/** Ids of the first ordinary or full backup of each kind in each calendar month. */
function firstOfMonthIds(input: RetentionInput): Set<string> {
  const firsts = new Map<string, BackupFacts>();
  for (const b of [...input.backups].sort(byCreatedAsc)) {
    if (b.category !== 'daily' && b.category !== 'full') continue;
    const slot = `${b.kind} ${monthOf(Date.parse(b.createdAt), input.timezone)}`;
    if (!firsts.has(slot)) firsts.set(slot, b);
  }
  return new Set([...firsts.values()].map((b) => b.id));
}

function* guaranteedKeeps(input: RetentionInput): Generator<[string, string]> {
  const kinds = [...new Set(input.backups.map((b) => b.kind))];
  for (const kind of kinds) {
    const ofKind = input.backups.filter((b) => b.kind === kind).sort(byCreatedDesc);
    if (ofKind[0]) yield [ofKind[0].id, `newest ${kind} backup (always kept)`];
    const verified = ofKind.find((b) => b.verification === 'passed');
    if (verified) yield [verified.id, `newest ${kind} backup that passed verification (always kept)`];
  }
}

/**
 * Restoring an uploads incremental needs every backup before it in its chain, so each kept
 * backup keeps its parent, transitively. A missing parent is reported: that chain is broken.
 */
function keepChains(backups: BackupFacts[], keep: Map<string, string[]>, warnings: string[]): void {
  const byId = new Map(backups.map((b) => [b.id, b]));
  for (const b of [...backups].sort(byCreatedDesc)) {
    if ((keep.get(b.id) ?? []).length === 0) continue;
    let child = b;
    while (child.parentId) {
      const parent = byId.get(child.parentId);
      if (!parent) {
        warnings.push(`${child.id} is built on ${child.parentId}, which is not in the store: restores of that chain stop before ${child.id}`);
        break;
      }
      const reasons = keep.get(parent.id)!;
      const reason = `base of kept uploads chain (needed by ${b.id})`;
      if (reasons.some((r) => r.startsWith('base of kept uploads chain'))) break; // Its own parents are handled already.
      reasons.push(reason);
      child = parent;
    }
  }
}

function expiryReason(b: BackupFacts, input: RetentionInput, firstOfMonth: boolean): string {
  const { policy } = input;
  const days = Math.floor((input.now.getTime() - Date.parse(b.createdAt)) / DAY);
  if (b.category === 'pre-deploy' || b.category === 'pre-restore') return `${b.category} backup, ${days} days old: older than ${policy.preOpDays} days`;
  const rules = [`daily ${policy.dailyDays} days`];
  if (b.category === 'full') rules.push(`weekly full sets ${policy.weeklyWeeks} weeks`);
  rules.push(firstOfMonth ? `first of its month ${policy.monthlyMonths} months` : 'not the first of its month');
  return `${b.category === 'full' ? 'full-set' : 'daily'} backup, ${days} days old: outside every rule (${rules.join(', ')})`;
}

function planItems(input: RetentionInput): RetentionDecision[] {
  const items = input.items ?? [];
  const newestReport = items.filter((i) => i.type === 'drill-report').sort(byCreatedDesc)[0];
  return items.map((item) => {
    const created = Date.parse(item.createdAt);
    const base = { type: item.type, id: item.id, createdAt: item.createdAt };
    if (item.type === 'drill-report') {
      if (item.id === newestReport?.id) return { ...base, action: 'keep', reasons: ['newest drill report (always kept)'] };
      const kept = addMonths(created, input.policy.drillReportMonths, input.timezone) > input.now.getTime();
      return { ...base, action: kept ? 'keep' : 'delete', reasons: [`drill report, ${kept ? 'younger' : 'older'} than ${input.policy.drillReportMonths} months`] };
    }
    const kept = input.now.getTime() - created < input.policy.exportDays * DAY;
    return { ...base, action: kept ? 'keep' : 'delete', reasons: [`export, ${kept ? 'younger' : 'older'} than ${input.policy.exportDays} days`] };
  });
}

function planOrphans(input: RetentionInput): RetentionDecision[] {
  return (input.orphans ?? []).map((o) => {
    const idle = input.now.getTime() - Date.parse(o.newestModifiedAt);
    const base = { type: 'orphan' as const, id: o.id, createdAt: o.newestModifiedAt };
    return idle >= ORPHAN_GRACE_MS
      ? { ...base, action: 'delete' as const, reasons: [`${o.keys.length} object(s) without a manifest, untouched for ${Math.floor(idle / DAY)} days (an interrupted backup or prune)`] }
      : { ...base, action: 'keep' as const, reasons: ['objects without a manifest yet: possibly a backup being written'] };
  });
}

function byCreatedDesc(a: { createdAt: string; id: string }, b: { createdAt: string; id: string }): number {
  return b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id);
}

function byCreatedAsc(a: { createdAt: string; id: string }, b: { createdAt: string; id: string }): number {
  return -byCreatedDesc(a, b);
}
