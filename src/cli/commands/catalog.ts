import type { Command } from 'commander';
import { parseKind, parseLabel } from '../../catalog/backup-id.ts';
import { findBackup, listBackups } from '../../catalog/catalog.ts';
import type { Manifest } from '../../catalog/manifest.ts';
import type { CliContext } from '../context.ts';
import { formatAge, formatBytes, formatDuration, summarizeManifest, table } from '../format.ts';

type Run = (fn: (ctx: CliContext) => Promise<void>) => Promise<void>;

export function registerCatalogCommands(program: Command, run: Run): void {
  program
    .command('list')
    .description('list the backups in the store, newest first')
    .option('--kind <kind>', 'only this kind (database, application, uploads)')
    .option('--label <text>', 'only backups with this label')
    .option('--json', 'print a JSON array on stdout')
    .action((opts: { kind?: string; label?: string; json?: boolean }) =>
      run(async (ctx) => {
        const filter = {
          kind: opts.kind === undefined ? undefined : parseKind(opts.kind),
          label: opts.label === undefined ? undefined : parseLabel(opts.label),
        };
        const manifests = await listBackups(ctx.store, filter, (id, err) => ctx.logger.warn({ err, backupId: id }, `skipping ${id}: unreadable manifest`));
        if (opts.json) {
          ctx.io.stdout.write(`${JSON.stringify(manifests.map(summarizeManifest))}\n`);
          return;
        }
        ctx.io.stdout.write(manifests.length === 0 ? `No backups in ${ctx.store.description}\n` : `${renderList(manifests)}\n`);
      }),
    );

  program
    .command('show')
    .description('show one backup: its manifest, tables and row counts')
    .argument('<id>', 'backup id, or "latest"')
    .option('--json', 'print the manifest as JSON on stdout')
    .action((id: string, opts: { json?: boolean }) =>
      run(async (ctx) => {
        const manifest = await findBackup(ctx.store, id);
        if (opts.json) {
          ctx.io.stdout.write(`${JSON.stringify({ ...summarizeManifest(manifest), manifest })}\n`);
          return;
        }
        ctx.io.stdout.write(`${renderShow(manifest)}\n`);
      }),
    );
}

function renderList(manifests: Manifest[]): string {
  const rows = [['ID', 'KIND', 'CREATED', 'AGE', 'SIZE', 'ENCRYPTED', 'LABEL']];
  for (const m of manifests) {
    rows.push([
      m.id,
      m.kind,
      m.createdAt.replace(/\.\d{3}Z$/, 'Z'),
      formatAge(new Date(m.createdAt)),
      formatBytes(m.artifact.sizeBytes),
      m.artifact.encryption ? 'yes' : 'NO (unencrypted)',
      m.label ?? '',
    ]);
  }
  return table(rows);
}

function describeSource(m: Manifest): string {
  if (m.source.path !== undefined) return `${m.source.host}:${m.source.path}`;
  return `${m.source.host}${m.source.port ? `:${m.source.port}` : ''}/${m.source.database ?? ''} (PostgreSQL ${m.source.serverVersion ?? '?'})`;
}

function renderShow(m: Manifest): string {
  const lines = [
    `Backup      ${m.id}`,
    `Kind        ${m.kind}${m.label ? ` (label ${m.label})` : ''}`,
    `Created     ${m.createdAt} (${formatAge(new Date(m.createdAt))}), took ${formatDuration(m.durationSeconds)}`,
    `Source      ${describeSource(m)}`,
    `Artifact    ${m.artifact.key}, ${formatBytes(m.artifact.sizeBytes)} (${m.artifact.format})`,
    `SHA-256     ${m.artifact.sha256}`,
    `Encryption  ${m.artifact.encryption ? `${m.artifact.encryption.algorithm}, key ${m.artifact.encryption.keyId}` : 'NONE - this backup is not encrypted'}`,
    `Trigger     ${m.trigger.by} via ${m.trigger.via}`,
    `Tools       ${Object.entries(m.tools).map(([k, v]) => `${k} ${v}`).join(', ')}`,
  ];
  if (m.files) {
    const f = m.files;
    lines.push(`Files       ${f.storedFiles ?? f.count} stored of ${f.treeFiles ?? f.count} in the tree (${formatBytes(f.totalBytes)}), index ${f.key}`);
  }
  if (m.chain) {
    lines.push(`Chain       ${m.chain.parentId === null ? 'full backup, starts chain' : `incremental #${m.chain.sequence} on ${m.chain.parentId}`} ${m.chain.chainId}, ${m.chain.deletions} deletions`);
  }
  if (m.setId) lines.push(`Set         ${m.setId} (${m.setRole ?? 'part'})`);
  if (m.emergency) lines.push('Emergency   yes');
  if (m.tables) {
    lines.push('', table([['TABLE', 'ROWS'], ...Object.entries(m.tables).map(([t, n]) => [t, String(n)])]));
  }
  return lines.join('\n');
}
