import type { Problem } from './problem.ts';

/** What monitoring knows about the catalog's unusable entries at the primary. */
export interface CatalogFacts {
  /** Damaged (unreadable) or rejected (untrusted, docs/catalog-authentication.md §3) manifests. */
  refused: Array<{ id: string; status: 'damaged' | 'rejected'; reason: string }>;
  /** Backups the state database saw that are gone without a prune (ISO time last seen). */
  vanished: Array<{ id: string; lastSeen: string }>;
}

/**
 * One problem per kind of trouble, re-alerting when the set of ids changes. Rejected and
 * vanished backups are critical: both are what tampering with the bucket looks like (a planted
 * manifest; a deleted newest backup that rolls "latest" back). Damaged ones are critical too:
 * "latest" refuses while the newest backup is damaged.
 */
export function catalogProblems(facts: CatalogFacts | undefined): Problem[] {
  if (facts === undefined) return [];
  const problems: Problem[] = [];
  const rejected = facts.refused.filter((r) => r.status === 'rejected');
  const damaged = facts.refused.filter((r) => r.status === 'damaged');
  if (rejected.length > 0) {
    problems.push({
      key: 'catalog-rejected',
      severity: 'critical',
      title: `${rejected.length} backup record(s) in the store are REJECTED: possible tampering`,
      text: `${list(rejected)}. Bantay never verifies or restores them.`,
      remedy: 'Someone or something wrote the bucket without the encryption key. Check who has write access to the store, keep the rejected objects for investigation (bantay show <id> explains), and take a fresh backup.',
      fingerprint: rejected.map((r) => r.id).sort().join(','),
    });
  }
  if (damaged.length > 0) {
    problems.push({
      key: 'catalog-damaged',
      severity: 'critical',
      title: `${damaged.length} backup manifest(s) in the store are DAMAGED`,
      text: `${list(damaged)}. They cannot be verified or restored; "latest" refuses while the newest backup is damaged.`,
      remedy: 'Check the store (disk, provider) for corruption, take a fresh backup now (bantay backup database), and name an older backup explicitly if you must restore.',
      fingerprint: damaged.map((r) => r.id).sort().join(','),
    });
  }
  if (facts.vanished.length > 0) {
    problems.push({
      key: 'catalog-vanished',
      severity: 'critical',
      title: `${facts.vanished.length} backup(s) vanished from the store without a prune`,
      text: `${facts.vanished.slice(0, 5).map((v) => `${v.id} (last seen ${v.lastSeen})`).join('; ')}${facts.vanished.length > 5 ? `; and ${facts.vanished.length - 5} more` : ''}. Bantay did not delete them.`,
      remedy: 'Someone deleted backups behind Bantay\'s back, possibly to roll "latest" back to an older one. Check the store\'s access logs; the secondary copy may still hold them (restores read it with --from secondary). Take a fresh backup.',
      fingerprint: facts.vanished.map((v) => v.id).sort().join(','),
    });
  }
  return problems;
}

function list(items: Array<{ id: string; reason: string }>): string {
  const shown = items.slice(0, 5).map((r) => `${r.id}: ${r.reason}`);
  return `${shown.join('; ')}${items.length > 5 ? `; and ${items.length - 5} more` : ''}`;
}
