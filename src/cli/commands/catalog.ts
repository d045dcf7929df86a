import type { Command } from 'commander';
import { kindOfId, parseKind, parseLabel } from '../../catalog/backup-id.ts';
import { findBackup, readCatalog, readManifestEntry, type CatalogEntry } from '../../catalog/catalog.ts';
import { LEGACY_NOTE, NO_KEY_NOTE, type Authenticity } from '../../catalog/json-record.ts';
import type { Manifest } from '../../catalog/manifest.ts';
import { BantayError, ErrorCode } from '../../errors.ts';
import { expectedBackups, type VanishedBackup } from '../../catalog/catalog-trust.ts';
import { readSeenView, writeSeenView } from '../../state/seen-view.ts';
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
        const deps = await ctx.deps();
        // The embedded state database is opened only when its copy of the expected backups is
        // stale or shows one missing (state/seen-view.ts).
        const embedded = ctx.config.stateUrl === undefined;
        const view = embedded ? readSeenView(ctx.config.dataDir, ctx.store.description) : undefined;
        const entries = await readCatalog(ctx.store, deps, filter, view === undefined ? {} : { alreadySeen: new Set(view) });
        // Vanished: only the primary is the store the state database watches (see catalog-trust.ts).
        const present = new Set(entries.map((e) => e.id));
        let vanished: VanishedBackup[] = [];
        if (filter.label === undefined && (view === undefined || view.some((id) => !present.has(id)))) {
          const expected = await expectedBackups(deps.state, ctx.store.description);
          vanished = expected.filter((v) => !present.has(v.id) && (filter.kind === undefined || kindOfId(v.id) === filter.kind));
          if (embedded) {
            await ctx.close();
            writeSeenView(ctx.config.dataDir, ctx.store.description, expected.map((v) => v.id));
          }
        }
        const checked = deps.keyRing.ids().length > 0;
        if (opts.json) {
          ctx.io.stdout.write(`${JSON.stringify([...entries.map(jsonEntry), ...vanished.map(jsonVanished)])}\n`);
        } else {
          ctx.io.stdout.write(`${renderCatalog(ctx.store.description, entries, vanished, checked)}\n`);
        }
        const bad = entries.filter((e) => e.status !== 'listed').length + vanished.length;
        if (bad > 0) {
          throw new BantayError(ErrorCode.Integrity, `${bad} backup(s) in ${ctx.store.description} are damaged, rejected or vanished: do not rely on them (see above)`);
        }
      }),
    );

  program
    .command('show')
    .description('show one backup: its manifest, tables and row counts')
    .argument('<id>', 'backup id, or "latest"')
    .option('--json', 'print the manifest as JSON on stdout')
    .action((id: string, opts: { json?: boolean }) =>
      run(async (ctx) => {
        const deps = await ctx.deps();
        const { manifest, authenticity } = id === 'latest' ? await latestEntry(ctx, deps) : await readManifestEntry(ctx.store, deps, id.trim());
        if (opts.json) {
          ctx.io.stdout.write(`${JSON.stringify({ ...summarizeManifest(manifest), authenticity: authenticity.state, manifest })}\n`);
          return;
        }
        ctx.io.stdout.write(`${renderShow(manifest, authenticity)}\n`);
      }),
    );
}

async function latestEntry(ctx: CliContext, deps: Awaited<ReturnType<CliContext['deps']>>): Promise<{ manifest: Manifest; authenticity: Authenticity }> {
  const manifest = await findBackup(ctx.store, deps, 'latest');
  return readManifestEntry(ctx.store, deps, manifest.id);
}

function authText(a: Authenticity): string {
  if (a.state === 'authenticated') return 'yes';
  if (a.state === 'legacy') return 'NO (earlier format)';
  return 'cannot check';
}

/**
 * Every backup, the unusable ones included: a damaged or rejected manifest is a row saying so
 * (with the reason below the table), never a silent omission, and a backup that vanished from
 * the store is named too. Whether authenticity could be checked is always said.
 */
function renderCatalog(where: string, entries: CatalogEntry[], vanished: VanishedBackup[], checked: boolean): string {
  const lines: string[] = [];
  if (entries.length === 0 && vanished.length === 0) {
    lines.push(`No backups in ${where}`);
  } else {
    const rows = [['ID', 'KIND', 'CREATED', 'AGE', 'SIZE', 'ENCRYPTED', 'AUTHENTIC', 'LABEL']];
    for (const e of entries) {
      if (e.status !== 'listed') {
        rows.push([e.id, e.kind, '-', '-', '-', '-', e.status === 'damaged' ? 'DAMAGED' : 'REJECTED', '']);
        continue;
      }
      const m = e.manifest;
      rows.push([
        m.id,
        m.kind,
        m.createdAt.replace(/\.\d{3}Z$/, 'Z'),
        formatAge(new Date(m.createdAt)),
        formatBytes(m.artifact.sizeBytes),
        m.artifact.encryption ? 'yes' : 'NO (unencrypted)',
        authText(e.authenticity),
        m.label ?? '',
      ]);
    }
    for (const v of vanished) rows.push([v.id, kindOfId(v.id), '-', '-', '-', '-', 'VANISHED', '']);
    lines.push(table(rows));
  }
  const refused = entries.filter((e): e is Extract<CatalogEntry, { reason: string }> => e.status !== 'listed');
  if (refused.length > 0 || vanished.length > 0) lines.push('');
  for (const e of refused) {
    lines.push(`${e.status === 'damaged' ? 'DAMAGED ' : 'REJECTED'} ${e.id}: ${e.reason}. It is never verified or restored; inspect it (bantay show ${e.id}) and take a fresh backup.`);
  }
  for (const v of vanished) {
    lines.push(`VANISHED ${v.id}: seen in this store (first ${v.firstSeen.toISOString()}, last ${v.lastSeen.toISOString()}) and gone without a prune: someone deleted it, possibly to roll "latest" back.`);
  }
  const legacy = entries.filter((e) => e.status === 'listed' && e.authenticity.state === 'legacy').length;
  if (legacy > 0) lines.push(`Warning: ${legacy} backup(s) ${LEGACY_NOTE}; they restore only when their artifact decrypts with a configured key.`);
  if (!checked) lines.push(`Note: ${NO_KEY_NOTE}. Anyone who can write the store can add or alter backups unnoticed; set BANTAY_ENCRYPTION_KEY.`);
  return lines.join('\n');
}

function jsonEntry(e: CatalogEntry): Record<string, unknown> {
  if (e.status !== 'listed') return { id: e.id, kind: e.kind, status: e.status, reason: e.reason };
  return { ...summarizeManifest(e.manifest), status: 'ok', authenticity: e.authenticity.state };
}

function jsonVanished(v: VanishedBackup): Record<string, unknown> {
  return { id: v.id, kind: kindOfId(v.id), status: 'vanished', firstSeen: v.firstSeen.toISOString(), lastSeen: v.lastSeen.toISOString() };
}

function authenticityLine(m: Manifest, a: Authenticity): string {
  const binding = m.artifact.encryption === null ? '' : m.artifact.encryption.algorithm.endsWith('-v1') ? '; artifact NOT bound to this backup (stream format v1)' : '; artifact bound to this backup';
  if (a.state === 'authenticated') return `yes (HMAC-SHA256, key ${a.keyId})${binding}`;
  if (a.state === 'legacy') return `NO: ${LEGACY_NOTE}${binding}`;
  return `cannot be checked: ${NO_KEY_NOTE.replace('authenticity cannot be checked: ', '')}`;
}

function describeSource(m: Manifest): string {
  if (m.source.path !== undefined) return `${m.source.host}:${m.source.path}`;
  return `${m.source.host}${m.source.port ? `:${m.source.port}` : ''}/${m.source.database ?? ''} (PostgreSQL ${m.source.serverVersion ?? '?'})`;
}

function renderShow(m: Manifest, a: Authenticity): string {
  const lines = [
    `Backup      ${m.id}`,
    `Kind        ${m.kind}${m.label ? ` (label ${m.label})` : ''}`,
    `Created     ${m.createdAt} (${formatAge(new Date(m.createdAt))}), took ${formatDuration(m.durationSeconds)}`,
    `Source      ${describeSource(m)}`,
    `Artifact    ${m.artifact.key}, ${formatBytes(m.artifact.sizeBytes)} (${m.artifact.format})`,
    `SHA-256     ${m.artifact.sha256}`,
    `Encryption  ${m.artifact.encryption ? `${m.artifact.encryption.algorithm}, key ${m.artifact.encryption.keyId}` : 'NONE - this backup is not encrypted'}`,
    `Authentic   ${authenticityLine(m, a)}`,
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
