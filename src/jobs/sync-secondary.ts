import { randomBytes } from 'node:crypto';
import { hasManifest, listBackupObjects, timeOfBackupId } from '../catalog/backup-objects.ts';
import { readManifest } from '../catalog/catalog.ts';
import type { Manifest } from '../catalog/manifest.ts';
import { BantayError, ErrorCode, isAbortError, wrapError } from '../errors.ts';
import { recordAudit } from '../state/audit-log.ts';
import { finishJobRun, startJobRun } from '../state/job-runs.ts';
import type { ObjectInfo, ObjectStore } from '../storage/object-store.ts';
import { copyVerified, digestOf, type ExpectedDigest } from './copy-object.ts';
import type { JobDeps, Trigger } from './job-context.ts';
import { silentReporter, type ProgressReporter } from './progress.ts';
import type { RetentionPolicy } from './retention/plan-retention.ts';
import { runPrune, type PruneResult } from './retention/prune.ts';

export interface SyncSpec {
  trigger: Trigger;
  /** The same retention as the primary is applied at the secondary after copying. */
  retention?: { policy: RetentionPolicy; timezone: string; inUse?: Array<{ id: string; reason: string }> };
  signal?: AbortSignal;
}

export type SyncDeps = Pick<JobDeps, 'store' | 'state' | 'logger' | 'now' | 'keyRing'> & { secondary: ObjectStore };

/** How far the secondary is behind the primary. */
export interface SecondaryLag {
  /** Creation time of the newest backup at the primary / at the secondary (ISO), if any. */
  newestPrimary: string | null;
  newestSecondary: string | null;
  /** newestPrimary - newestSecondary, 0 when nothing is missing; null when the secondary is empty. */
  lagSeconds: number | null;
  /** Backups at the primary that the secondary does not hold (complete, with manifest). */
  missing: string[];
}

export interface SyncReport {
  copiedBackups: string[];
  copiedObjects: number;
  copiedBytes: number;
  /** Objects found already present and intact at the secondary (a resumed sync skips them). */
  alreadyPresent: number;
  failed: Array<{ id: string; error: string }>;
  lag: SecondaryLag;
  prune?: PruneResult;
}

/**
 * Copies every backup missing at the secondary, newest first so the lag shrinks fastest: its
 * objects (each re-read from the secondary and checked, see copyVerified), then its manifest
 * LAST, so a backup is listed at the secondary only once it is complete and proven. Backups
 * already there get their missing extra objects (later verification records). Idempotent and
 * resumable: objects already at the secondary with the right size and SHA-256 are not copied
 * again. Then applies retention at the secondary and reports the lag.
 */
export async function runSync(spec: SyncSpec, deps: SyncDeps, reporter: ProgressReporter = silentReporter): Promise<SyncReport> {
  const started = deps.now?.() ?? new Date();
  const runId = `sync-${started.toISOString().replace(/[-:.]/g, '')}-${randomBytes(2).toString('hex')}`;
  await startJobRun(deps.state, { id: runId, job: 'sync', performedBy: spec.trigger.by });
  try {
    const report = await syncAll(spec, deps, reporter);
    const errorMessage = report.failed.map((f) => `${f.id}: ${f.error}`).join('; ').slice(0, 2000);
    await finishJobRun(deps.state, runId, report.failed.length === 0 ? { status: 'succeeded' } : { status: 'failed', errorMessage });
    deps.logger.info({ copied: report.copiedBackups.length, failed: report.failed.length, lagSeconds: report.lag.lagSeconds }, 'sync finished');
    return report;
  } catch (err) {
    const error = isAbortError(err) ? new BantayError(ErrorCode.Aborted, 'Sync cancelled', { cause: err }) : wrapError(ErrorCode.Storage, 'Sync failed', err);
    await finishJobRun(deps.state, runId, { status: 'failed', errorMessage: error.message }).catch(() => undefined);
    throw error;
  }
}

async function syncAll(spec: SyncSpec, deps: SyncDeps, reporter: ProgressReporter): Promise<SyncReport> {
  reporter.phase?.('listing', `${deps.store.description} -> ${deps.secondary.description}`);
  const [primary, secondary] = await Promise.all([listBackupObjects(deps.store), listBackupObjects(deps.secondary)]);
  const report: SyncReport = { copiedBackups: [], copiedObjects: 0, copiedBytes: 0, alreadyPresent: 0, failed: [], lag: computeLag(primary, secondary) };
  const ids = [...primary.keys()].filter((id) => hasManifest(primary.get(id)!)).sort((a, b) => timeOfBackupId(b).getTime() - timeOfBackupId(a).getTime());
  for (const id of ids) {
    spec.signal?.throwIfAborted();
    const there = secondary.get(id) ?? [];
    const complete = hasManifest(there);
    // A complete copy only lacks what was added later; an incomplete one is checked object by object.
    const missing = complete ? primary.get(id)!.filter((o) => !there.some((t) => t.key === o.key && t.size === o.size)) : primary.get(id)!;
    if (missing.length === 0) continue;
    try {
      reporter.phase?.(complete ? 'updating' : 'copying', id);
      const copied = await syncBackup(id, missing, there, deps, report, spec.signal);
      if (!complete) report.copiedBackups.push(id);
      if (copied > 0 || !complete) await audit(deps, spec, id, copied, undefined);
    } catch (err) {
      if (isAbortError(err) || spec.signal?.aborted) throw err;
      const message = err instanceof Error ? err.message : String(err);
      report.failed.push({ id, error: message });
      reporter.warn?.(`Could not copy ${id}: ${message}`);
      await audit(deps, spec, id, 0, message);
    }
  }
  await syncRecords(deps, report, reporter, spec.signal);
  report.lag = computeLag(primary, await listBackupObjects(deps.secondary));
  if (spec.retention) {
    reporter.phase?.('retention at the secondary');
    report.prune = await runPrune(
      { ...spec.retention, dryRun: false, trigger: spec.trigger, location: 'secondary', signal: spec.signal },
      { store: deps.secondary, state: deps.state, keyRing: deps.keyRing, logger: deps.logger, now: deps.now },
    );
  }
  return report;
}

/** Copies a backup's missing objects, manifest last; resolves with the bytes copied. */
async function syncBackup(id: string, missing: ObjectInfo[], there: ObjectInfo[], deps: SyncDeps, report: SyncReport, signal?: AbortSignal): Promise<number> {
  const manifest = await readManifest(deps.store, deps, id);
  const expected = expectedDigests(manifest);
  let bytes = 0;
  const ordered = [...missing.filter((o) => !o.key.endsWith('/manifest.json')), ...missing.filter((o) => o.key.endsWith('/manifest.json'))];
  // What the manifest promises must be at the secondary (already, or copied now) before the
  // manifest goes there: a primary that lost an artifact must not make the copy look complete.
  const lacking = [...expected.keys()].filter((key) => !missing.some((o) => o.key === key) && !there.some((o) => o.key === key));
  if (lacking.length > 0) {
    throw new BantayError(ErrorCode.Integrity, `${lacking.join(', ')} is missing at ${deps.store.description}, so the backup was not copied (its manifest names it)`);
  }
  for (const object of ordered) {
    const want = expected.get(object.key);
    if (want && (await intactAt(deps.secondary, object.key, want, there, signal))) {
      report.alreadyPresent += 1;
      continue;
    }
    const copy = await copyVerified(deps.store, deps.secondary, object.key, { expected: want, signal });
    report.copiedObjects += 1;
    report.copiedBytes += copy.sizeBytes;
    bytes += copy.sizeBytes;
  }
  return bytes;
}

/**
 * Records that live beside the backups and matter at the secondary too: backup sets (retention
 * tells full sets and pre-deploy backups apart by them), drill and incident reports. Exports are not
 * copied: they are short-lived deliverables of personal data, not something to recover.
 */
export const SYNCED_RECORD_PREFIXES = ['sets/', 'reports/drills/', 'reports/incidents/'] as const;

async function syncRecords(deps: SyncDeps, report: SyncReport, reporter: ProgressReporter, signal?: AbortSignal): Promise<void> {
  for (const prefix of SYNCED_RECORD_PREFIXES) {
    const there = new Map<string, number>();
    for await (const o of deps.secondary.list(prefix)) there.set(o.key, o.size);
    for await (const o of deps.store.list(prefix)) {
      if (there.get(o.key) === o.size) continue;
      try {
        const copy = await copyVerified(deps.store, deps.secondary, o.key, { signal });
        report.copiedObjects += 1;
        report.copiedBytes += copy.sizeBytes;
      } catch (err) {
        if (isAbortError(err) || signal?.aborted) throw err;
        const message = err instanceof Error ? err.message : String(err);
        report.failed.push({ id: o.key, error: message });
        reporter.warn?.(`Could not copy ${o.key}: ${message}`);
      }
    }
  }
}

/** What the manifest promises about its objects: the artifact's and the file index's SHA-256. */
function expectedDigests(m: Manifest): Map<string, ExpectedDigest> {
  const digests = new Map<string, ExpectedDigest>([[m.artifact.key, { sha256: m.artifact.sha256, sizeBytes: m.artifact.sizeBytes }]]);
  if (m.files) digests.set(m.files.key, { sha256: m.files.sha256, sizeBytes: m.files.sizeBytes });
  return digests;
}

/** True when a previous, interrupted sync already left a correct copy of `key` at the secondary. */
async function intactAt(store: ObjectStore, key: string, want: ExpectedDigest, there: ObjectInfo[], signal?: AbortSignal): Promise<boolean> {
  const present = there.find((o) => o.key === key);
  if (!present || present.size !== want.sizeBytes) return false;
  const actual = await digestOf(store, key, signal);
  return actual.sha256 === want.sha256;
}

export function computeLag(primary: Map<string, ObjectInfo[]>, secondary: Map<string, ObjectInfo[]>): SecondaryLag {
  const complete = (m: Map<string, ObjectInfo[]>) => [...m].filter(([, objects]) => hasManifest(objects)).map(([id]) => id);
  const atPrimary = complete(primary);
  const atSecondary = new Set(complete(secondary));
  const newest = (ids: string[]) => ids.map((id) => timeOfBackupId(id).getTime()).filter(Number.isFinite).reduce((a, b) => Math.max(a, b), -Infinity);
  const p = newest(atPrimary);
  const s = newest([...atSecondary]);
  const missing = atPrimary.filter((id) => !atSecondary.has(id));
  return {
    newestPrimary: Number.isFinite(p) ? new Date(p).toISOString() : null,
    newestSecondary: Number.isFinite(s) ? new Date(s).toISOString() : null,
    lagSeconds: missing.length === 0 ? 0 : Number.isFinite(s) ? Math.max(0, (p - s) / 1000) : null,
    missing,
  };
}

async function audit(deps: SyncDeps, spec: SyncSpec, id: string, bytes: number, error: string | undefined): Promise<void> {
  await recordAudit(deps.state, {
    operationType: 'sync',
    status: error === undefined ? 'succeeded' : 'failed',
    backupId: id,
    fileSize: bytes,
    performedBy: spec.trigger.by,
    ...(error !== undefined ? { errorMessage: error } : {}),
    details: { to: deps.secondary.description, via: spec.trigger.via },
  }).catch((err: unknown) => deps.logger.error({ err, backupId: id }, 'could not write the sync audit row'));
}
