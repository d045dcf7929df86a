import { hasManifest, listBackupObjects } from '../../catalog/backup-objects.ts';
import { readBackupSet, type BackupSet } from '../../catalog/backup-set.ts';
import type { RecordTrust } from '../../catalog/json-record.ts';
import { readManifest } from '../../catalog/catalog.ts';
import type { Manifest } from '../../catalog/manifest.ts';
import { readVerificationRecord } from '../../catalog/verification.ts';
import type { Queryable } from '../../state/state-db.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import type { BackupCategory, BackupFacts, OrphanItem, StoredItem } from './plan-retention.ts';

/** Where non-backup objects with their own retention live, by type. */
export const ITEM_PREFIXES: ReadonlyArray<{ prefix: string; type: StoredItem['type'] }> = [
  { prefix: 'reports/drills/', type: 'drill-report' },
  { prefix: 'exports/', type: 'export' },
];

/** One store's retention facts, from a single listing plus one read per manifest. */
export interface StoreFacts {
  backups: BackupFacts[];
  manifests: Manifest[];
  unreadable: string[];
  orphans: OrphanItem[];
  items: StoredItem[];
  /** Every object key under backups/<id>/, per id: what deleting a backup removes. */
  keysById: Map<string, string[]>;
}

/**
 * Which retention category a backup falls in: a member of a `backup full` set (see
 * src/catalog/backup-set.ts) is part of the weekly full set, a member of a pre-deploy set or a
 * backup labelled "pre-deploy…" is a pre-deploy backup, one labelled "pre-restore…" (the
 * safety backup of an in-place restore) a pre-restore backup; everything else (scheduled,
 * manual, emergency) is daily.
 */
export function classifyBackup(m: Pick<Manifest, 'label' | 'setId'>, setType?: BackupSet['type']): BackupCategory {
  const label = m.label?.toLowerCase() ?? '';
  if (label.startsWith('pre-restore')) return 'pre-restore';
  if (setType === 'pre-deploy' || label.startsWith('pre-deploy')) return 'pre-deploy';
  if (setType === 'full') return 'full';
  return 'daily';
}

export async function gatherStoreFacts(store: ObjectStore, trust: RecordTrust, signal?: AbortSignal): Promise<StoreFacts> {
  const listed = await listBackupObjects(store);
  const keysById = new Map([...listed].map(([id, keys]) => [id, keys.map((k) => k.key)]));
  const facts: StoreFacts = { backups: [], manifests: [], unreadable: [], orphans: [], items: [], keysById };
  const setTypes = await readSetTypes(store, trust);
  for (const [id, keys] of listed) {
    signal?.throwIfAborted();
    if (!hasManifest(keys)) {
      const newest = keys.reduce((a, b) => (a.modifiedAt > b.modifiedAt ? a : b));
      facts.orphans.push({ id, newestModifiedAt: newest.modifiedAt.toISOString(), keys: keys.map((k) => k.key) });
      continue;
    }
    try {
      const manifest = await readManifest(store, trust, id);
      facts.manifests.push(manifest);
      const setType = manifest.setId === undefined ? undefined : setTypes.get(manifest.setId);
      facts.backups.push(toFacts(manifest, setType, await newestVerification(store, trust, id, keysById.get(id)!)));
    } catch {
      facts.unreadable.push(id);
    }
  }
  facts.items = await listItems(store);
  return facts;
}

function toFacts(m: Manifest, setType: BackupSet['type'] | undefined, verification: 'passed' | 'failed' | undefined): BackupFacts {
  return {
    id: m.id,
    kind: m.kind,
    createdAt: m.createdAt,
    category: classifyBackup(m, setType),
    parentId: m.chain?.parentId ?? null,
    ...(verification ? { verification } : {}),
  };
}

/** Set id -> set type, from the set records (sets/<setId>/set.json); unreadable ones are skipped. */
async function readSetTypes(store: ObjectStore, trust: RecordTrust): Promise<Map<string, BackupSet['type']>> {
  const types = new Map<string, BackupSet['type']>();
  for await (const info of store.list('sets/')) {
    const setId = /^sets\/([^/]+)\/set\.json$/.exec(info.key)?.[1];
    if (setId === undefined) continue;
    try {
      const set = await readBackupSet(store, trust, setId);
      types.set(set.setId, set.type);
    } catch {
      // An unreadable set record: its members count as daily backups.
    }
  }
  return types;
}

/** Outcome of the newest readable verification record among `keys` (named by time, so sortable). */
async function newestVerification(store: ObjectStore, trust: RecordTrust, id: string, keys: string[]): Promise<'passed' | 'failed' | undefined> {
  const records = keys.filter((k) => /\/verified-[^/]+\.json$/.test(k)).sort().reverse();
  for (const key of records) {
    // Unreadable or unauthentic record: try the one before it.
    const record = await readVerificationRecord(store, trust, key, id);
    if (record) return record.passed ? 'passed' : 'failed';
  }
  return undefined;
}

/**
 * Drill reports and exports, grouped by their first name segment ("drill-…" of
 * reports/drills/drill-….json and .txt). Creation time comes from a UTC stamp in the name
 * (20261126T020000Z) when there is one, otherwise from the newest object's modification time.
 */
async function listItems(store: ObjectStore): Promise<StoredItem[]> {
  const items: StoredItem[] = [];
  for (const { prefix, type } of ITEM_PREFIXES) {
    const groups = new Map<string, { keys: string[]; modifiedAt: Date }>();
    for await (const info of store.list(prefix)) {
      const name = info.key.slice(prefix.length).split('/')[0]!.replace(/\.[A-Za-z0-9.]+$/, '');
      const group = groups.get(name) ?? { keys: [], modifiedAt: info.modifiedAt };
      group.keys.push(info.key);
      if (info.modifiedAt > group.modifiedAt) group.modifiedAt = info.modifiedAt;
      groups.set(name, group);
    }
    for (const [id, group] of groups) items.push({ type, id, createdAt: stampOf(id) ?? group.modifiedAt.toISOString(), keys: group.keys });
  }
  return items;
}

function stampOf(name: string): string | undefined {
  const m = /(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z/.exec(name);
  return m ? `${m[1]}-${m[2]}-${m[3]}T${m[4]}:${m[5]}:${m[6]}.000Z` : undefined;
}

/**
 * Backups a running job reads, which retention must not delete: job runs still 'running' that
 * name a backup, and restores/verifies/drills whose audit log says 'started' in the last day
 * without a later outcome for the same backup.
 */
export async function findBackupsInUse(state: Queryable): Promise<Array<{ id: string; reason: string }>> {
  const rows = await state.query<{ backup_id: string; what: string }>(
    `SELECT backup_id, job AS what FROM job_runs
      WHERE status = 'running' AND backup_id IS NOT NULL AND started_at > now() - interval '2 days'
     UNION
     SELECT s.backup_id, s.operation_type AS what FROM backup_audit s
      WHERE s.status = 'started' AND s.backup_id IS NOT NULL AND s.created_at > now() - interval '1 day'
        AND NOT EXISTS (SELECT 1 FROM backup_audit e WHERE e.backup_id = s.backup_id AND e.operation_type = s.operation_type
                          AND e.id > s.id AND e.status <> 'started')`,
  );
  return rows.map((r) => ({ id: r.backup_id, reason: `in use by a running ${r.what}` }));
}
