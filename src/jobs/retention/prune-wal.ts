import { deleteRecordFirst } from './delete-record-first.ts';
import { randomBytes } from 'node:crypto';
import { BantayError, ErrorCode } from '../../errors.ts';
import { recordAudit } from '../../state/audit-log.ts';
import { finishJobRun, startJobRun } from '../../state/job-runs.ts';
import { baseArtifactKeys, baseManifestKey, listBaseBackups } from '../base-backup/base-manifest.ts';
import type { JobDeps, Trigger } from '../job-context.ts';
import { summarizeArchive } from '../pitr/archive-summary.ts';
import { readIdentity } from '../wal/archive-identity.ts';
import { BASE_PREFIX, walDir } from '../wal/archive-layout.ts';
import { walFileKind } from '../wal/wal-names.ts';
import type { RetentionPolicy } from './plan-retention.ts';
import { planWalRetention, type WalRetentionDecision, type WalRetentionPlan } from './plan-wal-retention.ts';
import { findBackupsInUse } from './retention-input.ts';

export interface WalPruneSpec {
  policy: RetentionPolicy;
  timezone: string;
  retentionDays: number;
  dryRun: boolean;
  trigger: Trigger;
  inUse?: Array<{ id: string; reason: string }>;
  signal?: AbortSignal;
}

export interface WalPruneResult {
  dryRun: boolean;
  plan: WalRetentionPlan;
  deleted: WalRetentionDecision[];
  failed: Array<{ decision: WalRetentionDecision; error: string }>;
}

/**
 * A key Bantay's WAL layout writes (archive-layout.ts), to the WAL file name it belongs to:
 * NAME.json (the record) or NAME[-version].gz[.enc] (the bytes). Anything else under wal/ was
 * not written by Bantay and is never touched.
 */
export function walNameOfKey(relative: string): string | undefined {
  const record = /^(.+)\.json$/.exec(relative);
  const artifact = /^(.+?)(?:-[0-9a-f]{8})?\.gz(?:\.enc)?$/.exec(relative);
  const name = record?.[1] ?? artifact?.[1];
  return name !== undefined && walFileKind(name) !== undefined ? name : undefined;
}

/**
 * Applies WAL retention (planWalRetention) to the primary store: base backups outside every
 * rule and WAL before the window's anchor. Records are deleted FIRST (a base's manifest, a WAL
 * file's NAME.json), so an interrupted prune leaves unlisted bytes, never a listed file with
 * missing bytes. Every base deletion is audited with its reasons; the WAL deletions in one row
 * (there are hundreds a day) with the range, the anchor and the failures.
 */
export async function runWalPrune(spec: WalPruneSpec, deps: Pick<JobDeps, 'store' | 'state' | 'logger' | 'now' | 'keyRing'>): Promise<WalPruneResult> {
  const now = deps.now?.() ?? new Date();
  const identity = await readIdentity(deps.store, deps);
  const unreadableBases: string[] = [];
  const manifests = (await listBaseBackups(deps.store, deps, (id) => unreadableBases.push(id))).filter((b) => identity === undefined || b.systemIdentifier === identity.systemIdentifier);
  const walKeys = new Map<string, string[]>();
  if (identity !== undefined) {
    const prefix = walDir(identity.systemIdentifier);
    for await (const info of deps.store.list(prefix)) {
      const name = walNameOfKey(info.key.slice(prefix.length));
      if (name !== undefined) walKeys.set(name, [...(walKeys.get(name) ?? []), info.key]);
    }
  }
  const summary = identity === undefined ? undefined : await summarizeArchive(identity, deps);
  const inUse = spec.inUse ?? (await findBackupsInUse(deps.state));
  const plan = planWalRetention({
    now, timezone: spec.timezone, policy: spec.policy, retentionDays: spec.retentionDays, inUse, unreadableBases,
    bases: manifests.map((m) => ({ id: m.id, createdAt: m.createdAt, consistentAt: m.consistentAt, timeline: m.timeline, walFrom: m.walFrom, walTo: m.walTo })),
    // Only files that have a record are archived; bytes without a record are an upload in flight.
    walNames: [...walKeys.keys()].filter((n) => summary?.files.has(n)),
    histories: summary?.histories ?? new Map(),
    segmentSize: identity?.segmentSize ?? 16 * 1024 * 1024,
  });
  const result: WalPruneResult = { dryRun: spec.dryRun, plan, deleted: [], failed: [] };
  if (spec.dryRun) return result;

  const runId = `prune-wal-${now.toISOString().replace(/[-:.]/g, '')}-${randomBytes(2).toString('hex')}`;
  await startJobRun(deps.state, { id: runId, job: 'prune wal', performedBy: spec.trigger.by });
  for (const decision of [...plan.bases, ...plan.wal].filter((d) => d.action === 'delete')) {
    if (spec.signal?.aborted) break;
    const keys = decision.type === 'base' ? await baseKeys(deps, decision.id) : (walKeys.get(decision.id) ?? []);
    const first = decision.type === 'base' ? baseManifestKey(decision.id) : keys.find((k) => k.endsWith('.json'));
    const error = await deleteRecordFirst(deps.store, first, keys, spec.signal);
    if (error === undefined) result.deleted.push(decision);
    else result.failed.push({ decision, error });
    if (decision.type === 'base') await auditBase(deps, spec, decision, keys.length, error);
  }
  await auditWal(deps, spec, result);
  const failedText = result.failed.map((f) => `${f.decision.id}: ${f.error}`).join('; ');
  await finishJobRun(deps.state, runId, failedText === '' ? { status: 'succeeded' } : { status: 'failed', errorMessage: failedText.slice(0, 2000) });
  deps.logger.info({ deleted: result.deleted.length, failed: result.failed.length, anchor: plan.anchor }, 'WAL prune finished');
  if (spec.signal?.aborted) throw new BantayError(ErrorCode.Aborted, `WAL prune cancelled after ${result.deleted.length} deletion(s)`);
  return result;
}

/** The objects a base backup consists of (base-manifest.ts): its manifest and its artifact; nothing else in its folder. */
async function baseKeys(deps: Pick<JobDeps, 'store'>, id: string): Promise<string[]> {
  const ours = new Set([baseManifestKey(id), ...baseArtifactKeys(id)]);
  const keys: string[] = [];
  for await (const info of deps.store.list(`${BASE_PREFIX}${id}/`)) if (ours.has(info.key)) keys.push(info.key);
  return keys;
}

async function auditBase(deps: Pick<JobDeps, 'state' | 'logger'>, spec: WalPruneSpec, decision: WalRetentionDecision, objects: number, error: string | undefined): Promise<void> {
  await recordAudit(deps.state, {
    operationType: 'prune', backupType: 'base', status: error === undefined ? 'succeeded' : 'failed', performedBy: spec.trigger.by, backupId: decision.id,
    ...(error !== undefined ? { errorMessage: error } : {}),
    details: { location: 'primary', type: 'base', reasons: decision.reasons, objects, via: spec.trigger.via },
  }).catch((err: unknown) => deps.logger.error({ err, id: decision.id }, 'could not write the prune audit row'));
}

async function auditWal(deps: Pick<JobDeps, 'state' | 'logger'>, spec: WalPruneSpec, result: WalPruneResult): Promise<void> {
  const wal = result.deleted.filter((d) => d.type === 'wal').map((d) => d.id).sort();
  const failed = result.failed.filter((f) => f.decision.type === 'wal');
  if (wal.length === 0 && failed.length === 0) return;
  await recordAudit(deps.state, {
    operationType: 'prune', backupType: 'wal', status: failed.length === 0 ? 'succeeded' : 'failed', performedBy: spec.trigger.by,
    ...(failed.length > 0 ? { errorMessage: `${failed.length} WAL file(s) not deleted (first: ${failed[0]!.decision.id}: ${failed[0]!.error})`.slice(0, 2000) } : {}),
    details: {
      location: 'primary', type: 'wal', deleted: wal.length, first: wal[0] ?? null, last: wal.at(-1) ?? null, files: wal,
      anchor: result.plan.anchor, keepFrom: result.plan.keepFrom, windowStart: result.plan.windowStart.toISOString(), retentionDays: spec.retentionDays,
      failed: failed.map((f) => ({ name: f.decision.id, error: f.error })), via: spec.trigger.via,
    },
  }).catch((err: unknown) => deps.logger.error({ err }, 'could not write the WAL prune audit row'));
}
