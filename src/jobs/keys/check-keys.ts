import { text } from 'node:stream/consumers';
import { kindOfId } from '../../catalog/backup-id.ts';
import { timeOfBackupId } from '../../catalog/backup-objects.ts';
import { manifestKey } from '../../catalog/manifest.ts';
import type { KeyRing } from '../../crypto/keys.ts';
import type { ObjectStore } from '../../storage/object-store.ts';
import type { Queryable } from '../../state/state-db.ts';
import { planRetention, type RetentionPolicy } from '../retention/plan-retention.ts';
import { findBackupsInUse, gatherStoreFacts } from '../retention/retention-input.ts';
import { planKeyCustody, type KeyCustodyReport } from './key-custody.ts';

export interface KeyCheckSpec {
  keyRing: KeyRing;
  retention: { policy: RetentionPolicy; timezone: string };
  signal?: AbortSignal;
}

/**
 * `bantay key check`: one listing of the store, one read per manifest, the retention plan
 * (what the next prune would delete), then planKeyCustody. Read-only.
 */
export async function checkKeys(spec: KeyCheckSpec, deps: { store: ObjectStore; state: Queryable; now?: () => Date }): Promise<KeyCustodyReport> {
  const facts = await gatherStoreFacts(deps.store, { keyRing: spec.keyRing, state: deps.state, now: deps.now }, spec.signal);
  const plan = planRetention({
    now: deps.now?.() ?? new Date(),
    timezone: spec.retention.timezone,
    policy: spec.retention.policy,
    backups: facts.backups,
    inUse: await findBackupsInUse(deps.state),
    items: facts.items,
    orphans: facts.orphans,
    unreadable: facts.unreadable,
  });
  const doomed = new Set(plan.decisions.filter((d) => d.type === 'backup' && d.action === 'delete').map((d) => d.id));
  const ids = spec.keyRing.ids();
  const primary = spec.keyRing.primary?.id;
  const backups = facts.manifests.map((m) => ({ id: m.id, kind: m.kind, createdAt: m.createdAt, keyId: m.artifact.encryption?.keyId ?? null }));
  const unreadable: string[] = [];
  for (const id of facts.unreadable) {
    const keyId = await claimedKeyId(deps.store, id);
    if (keyId !== undefined && spec.keyRing.find(keyId) === undefined) backups.push({ id, kind: kindOfId(id), createdAt: timeOfBackupId(id).toISOString(), keyId });
    else unreadable.push(id);
  }
  return planKeyCustody({ primaryKeyId: primary, retiredKeyIds: ids.filter((id) => id !== primary), backups, doomed, unreadableManifests: unreadable });
}

/**
 * The key a refused manifest says it was made with (its tag's, else its artifact's). Untrusted,
 * and used only to name the key to look for: a manifest authenticated under a key that is not
 * configured is exactly a backup no configured key can read.
 */
async function claimedKeyId(store: ObjectStore, id: string): Promise<string | undefined> {
  try {
    const raw = JSON.parse(await text(await store.get(manifestKey(id)))) as { auth?: { keyId?: unknown }; artifact?: { encryption?: { keyId?: unknown } | null } };
    const keyId = raw.auth?.keyId ?? raw.artifact?.encryption?.keyId;
    return typeof keyId === 'string' && /^k1:[0-9a-f]{16}$/.test(keyId) ? keyId : undefined;
  } catch {
    return undefined;
  }
}
