import { randomBytes } from 'node:crypto';
import { BantayError, ErrorCode, wrapError } from '../../errors.ts';
import { recordAudit } from '../../state/audit-log.ts';
import { finishJobRun, startJobRun } from '../../state/job-runs.ts';
import { deleteKeys } from '../../storage/delete-keys.ts';
import type { JobDeps, Trigger } from '../job-context.ts';
import { silentReporter, type ProgressReporter } from '../progress.ts';
import { planRetention, type RetentionDecision, type RetentionPlan, type RetentionPolicy } from './plan-retention.ts';
import { findBackupsInUse, gatherStoreFacts, type StoreFacts } from './retention-input.ts';

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
  const result: PruneResult = { location, dryRun: spec.dryRun, plan, deleted: [], failed: [] };
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
  const failedText = result.failed.map((f) => `${f.decision.id}: ${f.error}`).join('; ');
  await finishJobRun(deps.state, runId, result.failed.length === 0 ? { status: 'succeeded' } : { status: 'failed', errorMessage: failedText.slice(0, 2000) });
  deps.logger.info({ location, deleted: result.deleted.length, failed: result.failed.length }, 'prune finished');
  if (spec.signal?.aborted) throw new BantayError(ErrorCode.Aborted, `Prune cancelled after ${result.deleted.length} deletion(s)`);
  return result;
}

/** Deletes one planned item; resolves with the error text, or undefined when it is gone. */
async function deleteOne(decision: RetentionDecision, facts: StoreFacts, deps: Pick<JobDeps, 'store'>, signal?: AbortSignal): Promise<string | undefined> {
  const keys = decision.type === 'backup' || decision.type === 'orphan'
    ? (facts.keysById.get(decision.id) ?? [])
    : (facts.items.find((i) => i.type === decision.type && i.id === decision.id)?.keys ?? []);
  const manifest = keys.find((k) => k.endsWith('/manifest.json'));
  try {
    if (manifest !== undefined) await deps.store.delete(manifest);
  } catch (err) {
    return wrapError(ErrorCode.Storage, `delete ${manifest}`, err).message;
  }
  const rest = await deleteKeys(deps.store, keys.filter((k) => k !== manifest), { signal });
  if (rest.failed.length === 0) return undefined;
  const first = rest.failed[0]!;
  return `${rest.failed.length} of ${keys.length} object(s) not deleted (first: ${wrapError(ErrorCode.Storage, `delete ${first.key}`, first.error).message}); a later prune removes them`;
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
