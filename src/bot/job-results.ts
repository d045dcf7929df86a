import type { PitrResult } from '../jobs/pitr/run-pitr.ts';
import type { Manifest } from '../catalog/manifest.ts';
import { formatBytes, formatDuration } from '../format/units.ts';
import type { SetResult } from '../jobs/backup-set.ts';
import type { DrillOutcome } from '../jobs/drill.ts';
import type { FilesRestoreResult } from '../jobs/files/restore-files.ts';
import type { FilesVerification } from '../jobs/files/verify-files.ts';
import type { RestoreResult } from '../jobs/restore-database.ts';
import type { CheckDatabaseResult } from '../jobs/check-database.ts';
import type { VerifyResult } from '../jobs/verify-backup.ts';
import type { JobResult } from './job-result.ts';
import { escape } from './messages/blocks.ts';

/** Job outcomes as the facts a final message shows; pure, one function per job. */
export function backupResult(m: Manifest): JobResult {
  const rows = m.tables ? Object.values(m.tables).reduce((a, b) => a + b, 0) : undefined;
  const contents = m.tables ? `${Object.keys(m.tables).length} tables, ${rows} rows` : m.files ? `${m.files.treeFiles ?? m.files.count} files, ${formatBytes(m.files.treeBytes ?? m.files.totalBytes)}` : 'n/a';
  // An incremental stores only what changed; next to the tree's size that looks like data loss
  // unless both are named for what they are.
  const incremental = m.chain !== undefined && m.chain.parentId !== null;
  const tree = m.files ? `${m.files.treeFiles ?? m.files.count} files, ${formatBytes(m.files.treeBytes ?? m.files.totalBytes)}` : undefined;
  const stored = incremental ? `${formatBytes(m.artifact.sizeBytes)} (only what changed: ${m.files?.storedFiles ?? m.files?.count ?? 0} files)` : formatBytes(m.artifact.sizeBytes);
  return {
    headline: incremental
      ? `Backup \`${m.id}\` stored: ${formatBytes(m.artifact.sizeBytes)} of changes in ${formatDuration(m.durationSeconds)}${m.artifact.encryption ? ', encrypted' : ', NOT ENCRYPTED'}; it restores the whole tree (${tree ?? 'n/a'}).`
      : `Backup \`${m.id}\` stored: ${formatBytes(m.artifact.sizeBytes)} in ${formatDuration(m.durationSeconds)}${m.artifact.encryption ? ', encrypted' : ', NOT ENCRYPTED'}.`,
    ok: true,
    backupId: m.id,
    fields: [
      ['Backup id', `\`${m.id}\``],
      [incremental ? 'Stored' : 'Size', stored],
      ['Duration', formatDuration(m.durationSeconds)],
      ['Encryption', m.artifact.encryption ? `yes (key ${m.artifact.encryption.keyId})` : ':warning: none'],
      [incremental ? 'Restores' : 'Contents', contents],
      ['Verification', 'not verified yet (Verify now, below)'],
    ],
    details: [
      `Source: ${m.source.host}${m.source.database ? `/${m.source.database}` : ''}${m.source.path ? ` ${m.source.path}` : ''}${m.source.serverVersion ? ` (PostgreSQL ${m.source.serverVersion})` : ''}`,
      `Artifact: ${m.artifact.key}, SHA-256 ${m.artifact.sha256}`,
      ...(m.tables ? Object.entries(m.tables).map(([t, n]) => `${t}: ${n} rows`) : []),
    ],
  };
}

export function setResult(r: SetResult): JobResult {
  const parts = Object.entries(r.manifests) as Array<[string, Manifest]>;
  return {
    headline: `Backup set \`${r.set.setId}\` complete: ${parts.map(([role, m]) => `${role} \`${m.id}\` (${formatBytes(m.artifact.sizeBytes)})`).join(', ')}.`,
    ok: r.set.complete,
    fields: [['Set id', `\`${r.set.setId}\``], ...(r.set.label ? ([['Label', escape(r.set.label)]] as Array<[string, string]>) : []), ...parts.map(([role, m]): [string, string] => [role, `\`${m.id}\`, ${formatBytes(m.artifact.sizeBytes)}`])],
    details: parts.flatMap(([role, m]) => [`${role}: ${m.id}`, ...backupResult(m).details]),
  };
}

export function verifyResult(r: VerifyResult): JobResult {
  const failed = r.checks.filter((c) => c.status === 'failed');
  return {
    headline: r.passed
      ? `Backup \`${r.backupId}\` verified: restored into a scratch database and all ${r.checks.length} checks passed.`
      : `Backup \`${r.backupId}\` FAILED verification: ${failed[0] ? escape(failed[0].detail) : 'see the checks in the thread'}.`,
    ok: r.passed,
    backupId: r.backupId,
    fields: [
      ['Backup id', `\`${r.backupId}\``],
      ['Result', r.passed ? ':white_check_mark: passed' : ':x: FAILED'],
      ['Checks', `${r.checks.length - failed.length} of ${r.checks.length} passed`],
      ['Duration', formatDuration(r.durationSeconds)],
      ['Restore time', formatDuration(r.restoreSeconds)],
    ],
    details: checkLines(r.checks),
  };
}

export function databaseCheckResult(r: CheckDatabaseResult): JobResult {
  const failed = r.checks.filter((c) => c.status === 'failed');
  return {
    headline: r.passed
      ? `Database \`${escape(r.database)}\` matches backup \`${r.backupId}\`: all ${r.checks.length} checks passed.`
      : `Database \`${escape(r.database)}\` does NOT match backup \`${r.backupId}\`: ${failed[0] ? escape(failed[0].detail) : 'see the checks in the thread'}.`,
    ok: r.passed,
    backupId: r.backupId,
    fields: [
      ['Database', `\`${escape(r.database)}\``],
      ['Compared with', `\`${r.backupId}\``],
      ['Checks', `${r.checks.length - failed.length} of ${r.checks.length} passed`],
      ['Duration', formatDuration(r.durationSeconds)],
    ],
    details: checkLines(r.checks),
  };
}

export function filesVerifyResult(backupId: string, r: FilesVerification): JobResult {
  const failed = r.checks.filter((c) => !c.passed);
  return {
    headline: r.passed ? `Backup \`${backupId}\` verified: every file matches its recorded SHA-256.` : `Backup \`${backupId}\` FAILED verification: ${failed[0] ? escape(failed[0].detail) : 'see the thread'}.`,
    ok: r.passed,
    backupId,
    fields: [
      ['Backup id', `\`${backupId}\``],
      ['Result', r.passed ? ':white_check_mark: passed' : ':x: FAILED'],
      ['Checks', `${r.checks.length - failed.length} of ${r.checks.length} passed`],
      ['Duration', formatDuration(r.durationSeconds)],
    ],
    details: r.checks.map((c) => `${c.passed ? '✓' : '✗'} ${c.name}: ${c.detail}`),
  };
}

export function restoreResult(r: RestoreResult): JobResult {
  const failed = r.checks.filter((c) => c.status === 'failed').length;
  const fields: Array<[string, string]> = [
    ['Backup id', `\`${r.backupId}\``],
    ['Restored into', `\`${r.target}\`${r.mode === 'in-place' ? ' (live, in place)' : ''}`],
    ['Checks', `${r.checks.length - failed} of ${r.checks.length} passed`],
    ['Measured RTO', formatDuration(r.rtoSeconds)],
  ];
  if (r.downtimeSeconds !== undefined) fields.push(['Downtime', formatDuration(r.downtimeSeconds)]);
  if (r.safetyBackupId) fields.push(['Safety backup', `\`${r.safetyBackupId}\``]);
  if (r.keptAs) fields.push(['Previous database kept as', `\`${r.keptAs}\``]);
  return {
    headline:
      r.mode === 'in-place'
        ? `Live database \`${r.target}\` restored from \`${r.backupId}\` and verified. The previous one is kept as \`${r.keptAs ?? '?'}\` until you drop it.`
        : `Backup \`${r.backupId}\` restored into \`${r.target}\` and verified against its manifest.`,
    ok: true,
    backupId: r.backupId,
    ...(r.mode === 'in-place' ? { inPlace: { kind: 'database', safetyBackupId: r.safetyBackupId, keptAs: r.keptAs } } : {}),
    fields,
    details: checkLines(r.checks),
  };
}

/** A point-in-time recovery into a new database: where it reached, and the copy it restored. */
export function pitrResult(r: PitrResult, timeText: (d: Date) => string): JobResult {
  const reached = r.point.lastTransactionAt ? timeText(new Date(r.point.lastTransactionAt)) : 'no transaction after the base backup';
  const fields: Array<[string, string]> = [
    ['Last replayed transaction', reached],
    ['Base backup', `\`${r.baseBackupId}\``],
    ['Restored into', `\`${r.restore?.target ?? '?'}\``],
    ['Measured RTO', formatDuration(r.rtoSeconds)],
  ];
  if (r.copyBackupId) fields.push(['Copy kept as backup', `\`${r.copyBackupId}\``]);
  return {
    headline: `Recovered to ${reached} into \`${r.restore?.target ?? '?'}\` and verified.${r.point.reachedEndOfArchive ? ' Nothing was committed between the newest archived transaction and the requested time.' : ''}`,
    ok: true,
    ...(r.copyBackupId ? { backupId: r.copyBackupId } : {}),
    fields,
    details: r.restore ? checkLines(r.restore.checks) : [],
  };
}

export function filesRestoreResult(r: FilesRestoreResult): JobResult {
  const fields: Array<[string, string]> = [
    ['Backup id', `\`${r.backupId}\``],
    ['Restored into', `\`${escape(r.restoredTo)}\``],
    ['Files', `${r.files} files, ${formatBytes(r.bytes)}`],
    ['Duration', formatDuration(r.durationSeconds)],
  ];
  if (r.preRestoreBackupId) fields.push(['Pre-restore backup', `\`${r.preRestoreBackupId}\``]);
  if (r.previousDir) fields.push(['Previous tree kept at', `\`${escape(r.previousDir)}\``]);
  return {
    ...(r.previousDir !== undefined ? { inPlace: { kind: r.kind, safetyBackupId: r.preRestoreBackupId } } : {}),
    headline: `${r.kind === 'application' ? 'Application' : 'Uploads'} backup \`${r.backupId}\` restored into \`${escape(r.restoredTo)}\`: ${r.files} files.`,
    ok: true,
    backupId: r.backupId,
    fields,
    details: [`Archives read: ${r.archivesRead.join(', ')}`],
  };
}

export function drillResult(o: DrillOutcome): JobResult {
  const r = o.report;
  const fields: Array<[string, string]> = [['Result', r.passed ? ':white_check_mark: passed' : ':x: FAILED'], ['Checks', `${r.counts.passed} passed, ${r.counts.failed} failed, ${r.counts.skipped} skipped`]];
  for (const item of r.items.slice(0, 6)) {
    const rto = item.rtoSeconds === null ? 'RTO n/a' : `RTO ${formatDuration(item.rtoSeconds)}`;
    const rpo = item.rpoSeconds === null ? 'RPO n/a' : `RPO ${formatDuration(item.rpoSeconds)}`;
    fields.push([item.kind, `${item.status === 'passed' ? ':white_check_mark:' : item.status === 'failed' ? ':x:' : '–'} ${item.backupId ? `\`${item.backupId}\`` : 'no backup'} · ${rto} · ${rpo}`]);
  }
  fields.push(['Objectives', `RTO ${formatDuration(r.objectives.rtoSeconds)}, RPO ${formatDuration(r.objectives.rpoSeconds)}`]);
  return {
    headline: r.passed ? `Recovery drill \`${r.id}\` passed.` : `Recovery drill \`${r.id}\` FAILED: ${escape(r.items.flatMap((i) => i.checks).find((c) => c.status === 'failed')?.detail ?? 'see the report in the thread')}.`,
    ok: r.passed,
    fields,
    details: o.text.split('\n'),
  };
}

function checkLines(checks: ReadonlyArray<{ name: string; status: string; detail: string }>): string[] {
  return checks.map((c) => `${c.status === 'passed' ? '✓' : c.status === 'failed' ? '✗' : '–'} ${c.name}: ${c.detail}`);
}

export function dropKeptResult(r: { dropped: string }): JobResult {
  return { headline: `The kept copy \`${escape(r.dropped)}\` was dropped.`, ok: true, fields: [['Dropped', `\`${escape(r.dropped)}\``]], details: [] };
}
