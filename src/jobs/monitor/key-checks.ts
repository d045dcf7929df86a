import { isBackupId, kindOfId, type BackupKind } from '../../catalog/backup-id.ts';
import { timeOfBackupId } from '../../catalog/backup-objects.ts';
import type { MonitorInput, Problem } from './checks.ts';

/**
 * Key custody (the README ("Recover without Bantay")): the newest backup of each kind must be
 * readable with a configured key. A backup encrypted under a key that is no longer configured
 * (rotated away too early, a typo in BANTAY_DECRYPTION_KEYS, a new server set up with the wrong
 * key) is as good as no backup, and nobody notices until the restore. Pure, like every check.
 */
export function keyProblems(input: MonitorInput): Problem[] {
  if (input.keyIds === undefined || 'error' in input.primary) return [];
  const configured = new Set(input.keyIds);
  const candidates = [
    ...input.primary.backups.map((b) => ({ id: b.id, kind: b.kind, at: b.createdAt, keyId: b.keyId ?? null })),
    // A manifest authenticated under a key that is not configured is refused by the catalog;
    // for custody it is the same problem: its backup cannot be read with the configured keys.
    ...(input.catalog?.refused ?? []).flatMap((r) => {
      const keyId = r.status === 'rejected' ? MISSING_KEY_REASON.exec(r.reason)?.[1] : undefined;
      return keyId === undefined || !isBackupId(r.id) ? [] : [{ id: r.id, kind: kindOfId(r.id), at: timeOfBackupId(r.id).toISOString(), keyId }];
    }),
  ].sort((a, b) => b.at.localeCompare(a.at));
  const problems: Problem[] = [];
  const seen = new Set<BackupKind>();
  for (const backup of candidates) {
    if (seen.has(backup.kind)) continue;
    seen.add(backup.kind);
    const keyId = backup.keyId;
    if (keyId === null || configured.has(keyId)) continue;
    problems.push({
      key: `key-missing:${backup.kind}`,
      severity: 'critical',
      title: `The newest ${backup.kind} backup cannot be decrypted with the configured keys`,
      text: `${backup.id} is encrypted with key ${keyId}; the configured keys are ${input.keyIds.length ? input.keyIds.join(', ') : 'none'}. Restoring it is impossible until that key is configured again.`,
      remedy: `Add the key with fingerprint ${keyId} to BANTAY_DECRYPTION_KEYS (from where you keep your keys), restart Bantay, then run bantay key check.`,
      fingerprint: `${backup.id}:${[...configured].sort().join(',')}`,
    });
  }
  return problems;
}

/** The reason src/catalog/record-auth.ts gives for a tag made under a key that is not configured. */
const MISSING_KEY_REASON = /made with key (k1:[0-9a-f]{16}), which is not configured/;
