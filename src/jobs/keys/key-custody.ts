import type { BackupKind } from '../../catalog/backup-id.ts';

/**
 * Key custody, planned as a pure function: which configured key reads which backups, which
 * backups no configured key can read (an alert), and when a retired key may go.
 *
 * Rotation (the README ("Recover without Bantay")): a new key becomes BANTAY_ENCRYPTION_KEY and
 * encrypts every new backup; the old one moves to BANTAY_DECRYPTION_KEYS and stays there until
 * retention has deleted every backup it encrypted. "Can be retired" is decided against what the
 * retention policy keeps, so a key is never declared unneeded while a kept backup still uses it.
 */
export interface KeyCustodyInput {
  primaryKeyId: string | undefined;
  retiredKeyIds: string[];
  backups: Array<{ id: string; kind: BackupKind; createdAt: string; keyId: string | null }>;
  /** Ids retention would delete on its next run (planRetention 'delete'); empty if unknown. */
  doomed: ReadonlySet<string>;
  /** Backups whose manifest exists but cannot be read: their key is unknown. */
  unreadableManifests: string[];
}

export type KeyRole = 'primary' | 'retired' | 'not configured';

export interface KeyUsage {
  keyId: string;
  role: KeyRole;
  /** Backups in the store encrypted with this key. */
  backups: number;
  /** Of those, the ones retention keeps. */
  kept: number;
  newest?: { id: string; createdAt: string };
  oldest?: { id: string; createdAt: string };
  /** A retired key that no kept backup uses: remove it from BANTAY_DECRYPTION_KEYS. */
  canRetire: boolean;
  /** One sentence for people. */
  verdict: string;
}

export interface KeyCustodyReport {
  keys: KeyUsage[];
  /** Backups no configured key can decrypt: the alert. */
  unreadable: Array<{ id: string; kind: BackupKind; createdAt: string; keyId: string }>;
  /** Backups stored in the clear (no key can protect or authenticate them). */
  unencrypted: string[];
  unreadableManifests: string[];
}

export function planKeyCustody(input: KeyCustodyInput): KeyCustodyReport {
  const roles = new Map<string, KeyRole>();
  if (input.primaryKeyId !== undefined) roles.set(input.primaryKeyId, 'primary');
  for (const id of input.retiredKeyIds) if (!roles.has(id)) roles.set(id, 'retired');
  const byKey = new Map<string, KeyCustodyInput['backups']>();
  const unencrypted: string[] = [];
  for (const b of input.backups) {
    if (b.keyId === null) {
      unencrypted.push(b.id);
      continue;
    }
    byKey.set(b.keyId, [...(byKey.get(b.keyId) ?? []), b]);
    if (!roles.has(b.keyId)) roles.set(b.keyId, 'not configured');
  }
  const keys = [...roles].map(([keyId, role]) => usageOf(keyId, role, byKey.get(keyId) ?? [], input.doomed));
  const unreadable = input.backups
    .filter((b): b is typeof b & { keyId: string } => b.keyId !== null && roles.get(b.keyId) === 'not configured')
    .map((b) => ({ id: b.id, kind: b.kind, createdAt: b.createdAt, keyId: b.keyId }))
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt));
  return { keys, unreadable, unencrypted, unreadableManifests: [...input.unreadableManifests] };
}

function usageOf(keyId: string, role: KeyRole, backups: KeyCustodyInput['backups'], doomed: ReadonlySet<string>): KeyUsage {
  const sorted = [...backups].sort((a, b) => a.createdAt.localeCompare(b.createdAt));
  const kept = sorted.filter((b) => !doomed.has(b.id)).length;
  const oldest = sorted[0];
  const newest = sorted[sorted.length - 1];
  const base = {
    keyId,
    role,
    backups: sorted.length,
    kept,
    ...(newest ? { newest: { id: newest.id, createdAt: newest.createdAt } } : {}),
    ...(oldest ? { oldest: { id: oldest.id, createdAt: oldest.createdAt } } : {}),
  };
  const count = (n: number) => `${n} backup${n === 1 ? '' : 's'}`;
  if (role === 'not configured') {
    return { ...base, canRetire: false, verdict: `NOT CONFIGURED: ${count(sorted.length)} cannot be decrypted; add this key to BANTAY_DECRYPTION_KEYS` };
  }
  if (role === 'primary') {
    return { ...base, canRetire: false, verdict: `encrypts new backups; reads ${count(sorted.length)}` };
  }
  if (sorted.length === 0) return { ...base, canRetire: true, verdict: 'can be retired: no backup in the store uses it' };
  if (kept === 0) {
    return { ...base, canRetire: false, verdict: `can be retired after the next prune: retention deletes its last ${count(sorted.length)}` };
  }
  return { ...base, canRetire: false, verdict: `still needed: retention keeps ${count(kept)} encrypted with it (newest ${newest!.id})` };
}
