import { deleteRecordFirst } from './delete-record-first.ts';
import { randomBytes } from 'node:crypto';
import { BantayError, ErrorCode } from '../../errors.ts';
import { recordAudit } from '../../state/audit-log.ts';
import { finishJobRun, startJobRun } from '../../state/job-runs.ts';
import type { JobDeps, Trigger } from '../job-context.ts';
import { silentReporter, type ProgressReporter } from '../progress.ts';
import { planRetention, type RetentionDecision, type RetentionPlan, type RetentionPolicy } from './plan-retention.ts';
import { findBackupsInUse, gatherStoreFacts, type StoreFacts } from './retention-input.ts';
import { listLeftovers, oldestRunningJob, planLeftoverCleanup, type LeftoverDecision } from './leftovers.ts';

export interface PruneSpec {
  policy: RetentionPolicy;
  /** Calendar months ("first backup of the month") are counted in this zone. */
  timezone: string;
  /** Plan only: nothing is deleted and nothing is audited. */
  dryRun: boolean;
  trigger: Trigger;
  /** Which location `deps.store` is, for the audit log and messages. */
  location?: 'primary' | 'secondary';
  /** Backups in use; default: what the state database knows (findBackupsInUse). */
  inUse?: Array<{ id: string; reason: string }>;
  signal?: AbortSignal;
}

export interface PruneResult {
  location: 'primary' | 'secondary';
  dryRun: boolean;
  plan: RetentionPlan;
  /** Decisions carried out (all of them on success). Empty for a dry run. */
  deleted: RetentionDecision[];
  failed: Array<{ decision: RetentionDecision; error: string }>;
  /** Store temp files and incomplete multipart uploads: what is (or would be) removed, and what failed. */
  leftovers: { planned: LeftoverDecision[]; removed: LeftoverDecision[]; failed: Array<{ decision: LeftoverDecision; error: string }> };
}

/**
 * Applies the retention policy to one store: gathers the facts, plans (planRetention), then
 * deletes. A backup's manifest is deleted FIRST, so a prune interrupted half-way leaves an
 * unlisted orphan (cleaned up by a later prune after ORPHAN_GRACE_MS), never a listed backup
 * with missing pieces. Each deletion is audited with its reason.
 */
export async function runPrune(spec: PruneSpec, deps: Pick<JobDeps, 'store' | 'state' | 'logger' | 'now' | 'keyRing'>, reporter: ProgressReporter = silentReporter): Promise<PruneResult> {
  const location = spec.location ?? 'primary';
  reporter.phase?.('planning', `${deps.store.description} (${location})`);
  const facts = await gatherStoreFacts(deps.store, deps, spec.signal);
  const inUse = spec.inUse ?? (await findBackupsInUse(deps.state));
  const now = deps.now?.() ?? new Date();
  const plan = planRetention({ now, timezone: spec.timezone, policy: spec.policy, backups: facts.backups, inUse, items: facts.items, orphans: facts.orphans, unreadable: facts.unreadable });
  for (const warning of plan.warnings) reporter.warn?.(warning);
  const leftovers = planLeftoverCleanup(await listLeftovers(deps.store), { now, oldestRunningJob: await oldestRunningJob(deps.state) });
  const result: PruneResult = { location, dryRun: spec.dryRun, plan, deleted: [], failed: [], leftovers: { planned: leftovers, removed: [], failed: [] } };
  if (spec.dryRun) return result;

  const runId = `prune-${now.toISOString().replace(/[-:.]/g, '')}-${randomBytes(2).toString('hex')}`;
  await startJobRun(deps.state, { id: runId, job: location === 'primary' ? 'prune' : 'prune secondary', performedBy: spec.trigger.by });
  const doomed = plan.decisions.filter((d) => d.action === 'delete');
  reporter.phase?.('deleting', `${doomed.length} item(s)`);
  for (const decision of doomed) {
    if (spec.signal?.aborted) break;
    const error = await deleteOne(decision, facts, deps, spec.signal);
    await auditDeletion(deps, spec, location, decision, facts, error);
    if (error === undefined) result.deleted.push(decision);
    else result.failed.push({ decision, error });
  }
  await removeLeftovers(spec, location, deps, result, reporter);
  const failedText = [...result.failed.map((f) => `${f.decision.id}: ${f.error}`), ...result.leftovers.failed.map((f) => `${f.decision.leftover.key}: ${f.error}`)].join('; ');
  await finishJobRun(deps.state, runId, failedText === '' ? { status: 'succeeded' } : { status: 'failed', errorMessage: failedText.slice(0, 2000) });
  deps.logger.info({ location, deleted: result.deleted.length, failed: result.failed.length }, 'prune finished');
  if (spec.signal?.aborted) throw new BantayError(ErrorCode.Aborted, `Prune cancelled after ${result.deleted.length} deletion(s)`);
  return result;
}

/** Removes the leftovers planned for removal; one audit row says what went. */
async function removeLeftovers(
  spec: PruneSpec,
  location: string,
  deps: Pick<JobDeps, 'store' | 'state' | 'logger'>,
  result: PruneResult,
  reporter: ProgressReporter,
): Promise<void> {
  const doomed = result.leftovers.planned.filter((d) => d.action === 'remove');
  if (doomed.length === 0 || !deps.store.leftovers) return;
  reporter.phase?.('removing leftovers', `${doomed.length} temp file(s) / incomplete upload(s)`);
  for (const decision of doomed) {
    if (spec.signal?.aborted) break;
    try {
      await deps.store.leftovers.removeLeftover(decision.leftover);
      result.leftovers.removed.push(decision);
    } catch (err) {
      result.leftovers.failed.push({ decision, error: err instanceof Error ? err.message : String(err) });
    }
  }
  await recordAudit(deps.state, {
    operationType: 'prune',
    backupType: 'leftovers',
    status: result.leftovers.failed.length === 0 ? 'succeeded' : 'failed',
    performedBy: spec.trigger.by,
    details: {
      location,
      removed: result.leftovers.removed.map((d) => ({ kind: d.leftover.kind, key: d.leftover.key, since: d.leftover.since.toISOString(), sizeBytes: d.leftover.sizeBytes ?? null })),
      failed: result.leftovers.failed.map((f) => ({ key: f.decision.leftover.key, error: f.error })),
      via: spec.trigger.via,
    },
  }).catch((err: unknown) => deps.logger.error({ err }, 'could not write the prune audit row'));
}

/** Deletes one planned item; resolves with the error text, or undefined when it is gone. */
async function deleteOne(decision: RetentionDecision, facts: StoreFacts, deps: Pick<JobDeps, 'store'>, signal?: AbortSignal): Promise<string | undefined> {
  const keys = decision.type === 'backup' || decision.type === 'orphan'
    ? (facts.keysById.get(decision.id) ?? [])
    : (facts.items.find((i) => i.type === decision.type && i.id === decision.id)?.keys ?? []);
  return deleteRecordFirst(deps.store, keys.find((k) => k.endsWith('/manifest.json')), keys, signal);
}

async function auditDeletion(
  deps: Pick<JobDeps, 'state' | 'logger'>,
  spec: PruneSpec,
  location: string,
  decision: RetentionDecision,
  facts: StoreFacts,
  error: string | undefined,
): Promise<void> {
  await recordAudit(deps.state, {
    operationType: 'prune',
    backupType: decision.kind ?? decision.type,
    status: error === undefined ? 'succeeded' : 'failed',
    performedBy: spec.trigger.by,
    ...(decision.type === 'backup' || decision.type === 'orphan' ? { backupId: decision.id } : { filePath: decision.id }),
    ...(error !== undefined ? { errorMessage: error } : {}),
    details: { location, type: decision.type, reasons: decision.reasons, objects: facts.keysById.get(decision.id)?.length ?? null, via: spec.trigger.via },
  }).catch((err: unknown) => deps.logger.error({ err, id: decision.id }, 'could not write the prune audit row'));
}
