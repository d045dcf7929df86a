import type { BackupKind } from '../../catalog/backup-id.ts';
import type { MonitorInput, Problem } from './monitor-types.ts';

/**
 * Key custody (the README ("Recover without Bantay")): the newest backup of each kind must be
 * readable with a configured key. A backup encrypted under a key that is no longer configured
 * (rotated away too early, a typo in BANTAY_DECRYPTION_KEYS, a new server set up with the wrong
 * key) is as good as no backup, and nobody notices until the restore. Pure, like every check.
 */
export function keyProblems(input: MonitorInput): Problem[] {
  if (input.keyIds === undefined || 'error' in input.primary) return [];
  const configured = new Set(input.keyIds);
  const problems: Problem[] = [];
  const seen = new Set<BackupKind>();
  for (const backup of input.primary.backups) {
    if (seen.has(backup.kind)) continue;
    seen.add(backup.kind);
    const keyId = backup.keyId;
    if (keyId === null || keyId === undefined || configured.has(keyId)) continue;
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
