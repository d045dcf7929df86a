import { text } from 'node:stream/consumers';
import { BACKUP_KINDS, type BackupKind } from '../catalog/backup-id.ts';
import { hasManifest, scanStore, type StoreScan } from '../catalog/backup-objects.ts';
import { readManifest } from '../catalog/catalog.ts';
import type { Manifest } from '../catalog/manifest.ts';
import { verificationSchema, type VerificationRecord } from '../catalog/verification.ts';
import { latestFires, type FireRecord } from '../schedule/lease.ts';
import type { Queryable } from '../state/state-db.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import type { BackupSummary, JobRunFacts, MonitorInput, MonitorThresholds, VerificationFacts } from './monitor/checks.ts';
import type { ScheduleConfig } from '../schedule/schedule-config.ts';
import { computeLag, type SecondaryLag } from './sync-secondary.ts';

/** Everything monitoring, /metrics and /status look at, gathered in one pass. */
export interface OpsSnapshot {
  takenAt: Date;
  primary: LocationSnapshot;
  /** Undefined when no secondary location is configured. */
  secondary?: LocationSnapshot;
  lag?: SecondaryLag;
  /** Every readable backup at the primary, newest first. */
  manifests: Manifest[];
  /** The newest verification record of each kind (at the primary). */
  verifications: Array<VerificationRecord & { kind: BackupKind }>;
  jobRuns: JobRunFacts[];
  fires: FireRecord[];
}

export interface LocationSnapshot {
  description: string;
  scan?: StoreScan;
  /** Why the location could not be listed. */
  error?: string;
}

export interface SnapshotDeps {
  store: ObjectStore;
  secondary?: ObjectStore;
  state: Queryable;
  now?: () => Date;
  /** Manifests are never rewritten, so a cache kept across snapshots (keyed by id) is always right. */
  manifestCache?: Map<string, Manifest>;
}

export async function gatherOpsSnapshot(deps: SnapshotDeps): Promise<OpsSnapshot> {
  const [primary, secondary, jobRuns, fires] = await Promise.all([
    scanLocation(deps.store),
    deps.secondary ? scanLocation(deps.secondary) : Promise.resolve(undefined),
    recentJobRuns(deps.state),
    latestFires(deps.state),
  ]);
  const manifests = primary.scan ? await readManifests(deps.store, primary.scan, deps.manifestCache) : [];
  const verifications = primary.scan ? await newestVerifications(deps.store, primary.scan, manifests) : [];
  const lag = primary.scan && secondary?.scan ? computeLag(primary.scan.backups, secondary.scan.backups) : undefined;
  return { takenAt: deps.now?.() ?? new Date(), primary, ...(secondary ? { secondary } : {}), ...(lag ? { lag } : {}), manifests, verifications, jobRuns, fires };
}

/** What the pure checks need, from a snapshot and the configuration. */
export function toMonitorInput(s: OpsSnapshot, config: { schedule: ScheduleConfig; timezone: string; thresholds: MonitorThresholds; keyIds?: string[] }): MonitorInput {
  const backups: BackupSummary[] = s.manifests.map((m) => ({
    id: m.id,
    kind: m.kind,
    createdAt: m.createdAt,
    sizeBytes: m.artifact.sizeBytes,
    format: m.artifact.format,
    incremental: (m.chain?.parentId ?? null) !== null,
    keyId: m.artifact.encryption?.keyId ?? null,
  }));
  const verifications: VerificationFacts[] = s.verifications.map((v) => ({
    backupId: v.backupId,
    kind: v.kind,
    verifiedAt: v.verifiedAt,
    passed: v.passed,
    failedChecks: v.checks.filter((c) => c.status === 'failed').map((c) => `${c.name}: ${c.detail}`),
  }));
  const storage = [s.primary, s.secondary]
    .map((l, i) => (l?.scan ? { location: (i === 0 ? 'primary' : 'secondary') as 'primary' | 'secondary', ...l.scan.usage } : undefined))
    .filter((x): x is NonNullable<typeof x> => x !== undefined);
  return {
    now: s.takenAt,
    ...config,
    primary: s.primary.error !== undefined ? { error: s.primary.error } : { backups },
    ...(s.secondary ? { secondary: s.secondary.error !== undefined ? { error: s.secondary.error } : { lag: s.lag! } } : {}),
    storage,
    jobRuns: s.jobRuns,
    fires: s.fires,
    verifications,
  };
}

async function scanLocation(store: ObjectStore): Promise<LocationSnapshot> {
  try {
    return { description: store.description, scan: await scanStore(store) };
  } catch (err) {
    return { description: store.description, error: err instanceof Error ? err.message : String(err) };
  }
}

async function readManifests(store: ObjectStore, scan: StoreScan, cache = new Map<string, Manifest>()): Promise<Manifest[]> {
  const manifests: Manifest[] = [];
  for (const [id, objects] of scan.backups) {
    if (!hasManifest(objects)) continue;
    let manifest = cache.get(id);
    if (!manifest) {
      manifest = await readManifest(store, id).catch(() => undefined);
      if (manifest) cache.set(id, manifest);
    }
    if (manifest) manifests.push(manifest);
  }
  return manifests.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id));
}

/** Record keys carry their time (verified-<UTC stamp>-<rand>.json), so the newest is found by name. */
async function newestVerifications(store: ObjectStore, scan: StoreScan, manifests: Manifest[]): Promise<Array<VerificationRecord & { kind: BackupKind }>> {
  const out: Array<VerificationRecord & { kind: BackupKind }> = [];
  for (const kind of BACKUP_KINDS) {
    const keys = manifests
      .filter((m) => m.kind === kind)
      .flatMap((m) => (scan.backups.get(m.id) ?? []).map((o) => o.key).filter((k) => /\/verified-[^/]+\.json$/.test(k)))
      .sort((a, b) => stampOf(b).localeCompare(stampOf(a)));
    for (const key of keys) {
      const record = await readRecord(store, key);
      if (record) {
        out.push({ ...record, kind });
        break;
      }
    }
  }
  return out;
}

function stampOf(key: string): string {
  return /verified-([^/-]+)-/.exec(key)?.[1] ?? '';
}

async function readRecord(store: ObjectStore, key: string): Promise<VerificationRecord | undefined> {
  try {
    const parsed = verificationSchema.safeParse(JSON.parse(await text(await store.get(key))));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

async function recentJobRuns(state: Queryable): Promise<JobRunFacts[]> {
  const rows = await state.query<{ id: string; job: string; status: JobRunFacts['status']; performed_by: string; started_at: Date; finished_at: Date | null; error_message: string | null }>(
    `SELECT id, job, status, performed_by, started_at, finished_at, error_message FROM job_runs
      WHERE started_at > now() - interval '8 days' OR status = 'running'
      ORDER BY started_at DESC LIMIT 2000`,
  );
  return rows.map((r) => ({
    id: r.id,
    job: r.job,
    status: r.status,
    performedBy: r.performed_by,
    startedAt: new Date(r.started_at),
    finishedAt: r.finished_at === null ? null : new Date(r.finished_at),
    errorMessage: r.error_message,
  }));
}
