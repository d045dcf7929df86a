import { BACKUP_KINDS, type BackupKind } from '../catalog/backup-id.ts';
import { hasManifest, scanStore, type StoreScan } from '../catalog/backup-objects.ts';
import { catalogEntry } from '../catalog/catalog.ts';
import type { RecordTrust } from '../catalog/json-record.ts';
import type { Manifest } from '../catalog/manifest.ts';
import { readVerificationRecord, type VerificationRecord } from '../catalog/verification.ts';
import type { KeyRing } from '../crypto/keys.ts';
import { latestFires, type FireRecord } from '../schedule/lease.ts';
import { findVanishedBackups, noteBackupsSeen, type VanishedBackup } from '../state/catalog-trust.ts';
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
  /** Every usable backup at the primary, newest first. */
  manifests: Manifest[];
  /** Backups at the primary whose manifest is damaged or rejected (never used), newest first. */
  refused: RefusedBackup[];
  /** Backups the state database saw at the primary that are gone without a prune. */
  vanished: VanishedBackup[];
  /** Usable backups whose manifest is of an earlier, unauthenticated format. */
  legacy: string[];
  /** False when no encryption key is configured: nothing could be authenticated. */
  authenticated: boolean;
  /** The newest verification record of each kind (at the primary). */
  verifications: Array<VerificationRecord & { kind: BackupKind }>;
  jobRuns: JobRunFacts[];
  fires: FireRecord[];
}

export interface RefusedBackup {
  id: string;
  kind: BackupKind;
  status: 'damaged' | 'rejected';
  reason: string;
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
  keyRing: KeyRing;
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
  const trust: RecordTrust = { keyRing: deps.keyRing, state: deps.state, now: deps.now };
  const catalog = primary.scan ? await readCatalogOf(deps.store, trust, primary.scan, deps.manifestCache) : { manifests: [], refused: [], legacy: [] };
  const present = new Set(primary.scan ? [...primary.scan.backups].filter(([, objects]) => hasManifest(objects)).map(([id]) => id) : []);
  const vanished = primary.scan ? await findVanishedBackups(deps.state, deps.store.description, present) : [];
  const verifications = primary.scan ? await newestVerifications(deps.store, trust, primary.scan, catalog.manifests) : [];
  const lag = primary.scan && secondary?.scan ? computeLag(primary.scan.backups, secondary.scan.backups) : undefined;
  return {
    takenAt: deps.now?.() ?? new Date(),
    primary,
    ...(secondary ? { secondary } : {}),
    ...(lag ? { lag } : {}),
    ...catalog,
    vanished,
    authenticated: deps.keyRing.ids().length > 0,
    verifications,
    jobRuns,
    fires,
  };
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
    catalog: { refused: s.refused, vanished: s.vanished.map((v) => ({ id: v.id, lastSeen: v.lastSeen.toISOString() })) },
  };
}

async function scanLocation(store: ObjectStore): Promise<LocationSnapshot> {
  try {
    return { description: store.description, scan: await scanStore(store) };
  } catch (err) {
    return { description: store.description, error: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * Every manifest of the scan, judged by the catalog's rules; usable ones are cached (they are
 * never rewritten), refused ones are read again each time. A manifest that cannot be fetched
 * right now (store error) is left out of both lists: the listing error is reported elsewhere.
 */
async function readCatalogOf(
  store: ObjectStore,
  trust: RecordTrust,
  scan: StoreScan,
  cache = new Map<string, Manifest>(),
): Promise<{ manifests: Manifest[]; refused: RefusedBackup[]; legacy: string[] }> {
  const manifests: Manifest[] = [];
  const refused: RefusedBackup[] = [];
  const legacy: string[] = [];
  for (const [id, objects] of scan.backups) {
    if (!hasManifest(objects)) continue;
    const cached = cache.get(id);
    if (cached) {
      manifests.push(cached);
      if (cached.formatVersion === 1 && trust.keyRing.ids().length > 0) legacy.push(id);
      continue;
    }
    const entry = await catalogEntry(store, trust, id).catch(() => undefined);
    if (entry === undefined) continue;
    if (entry.status === 'listed') {
      cache.set(id, entry.manifest);
      manifests.push(entry.manifest);
      if (entry.authenticity.state === 'legacy') legacy.push(id);
    } else {
      refused.push({ id, kind: entry.kind, status: entry.status, reason: entry.reason });
    }
  }
  await noteBackupsSeen(trust.state!, store.description, manifests.map((m) => m.id)).catch(() => undefined);
  return {
    manifests: manifests.sort((a, b) => b.createdAt.localeCompare(a.createdAt) || b.id.localeCompare(a.id)),
    refused: refused.sort((a, b) => b.id.localeCompare(a.id)),
    legacy,
  };
}

/** Record keys carry their time (verified-<UTC stamp>-<rand>.json), so the newest is found by name. */
async function newestVerifications(store: ObjectStore, trust: RecordTrust, scan: StoreScan, manifests: Manifest[]): Promise<Array<VerificationRecord & { kind: BackupKind }>> {
  const out: Array<VerificationRecord & { kind: BackupKind }> = [];
  for (const kind of BACKUP_KINDS) {
    const keys = manifests
      .filter((m) => m.kind === kind)
      .flatMap((m) => (scan.backups.get(m.id) ?? []).map((o) => o.key).filter((k) => /\/verified-[^/]+\.json$/.test(k)))
      .sort((a, b) => stampOf(b).localeCompare(stampOf(a)));
    for (const key of keys) {
      const record = await readVerificationRecord(store, trust, key);
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
