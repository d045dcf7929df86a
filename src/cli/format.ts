import type { Manifest } from '../catalog/manifest.ts';

// Shared with the Slack bot; they live in src/format/ so the bot never imports the CLI.
export { formatAge, formatBytes, formatDuration } from '../format/units.ts';

/** The stable JSON shape of a backup for --json output and, later, Slack payloads. */
export function summarizeManifest(m: Manifest) {
  return {
    id: m.id,
    kind: m.kind,
    createdAt: m.createdAt,
    completedAt: m.completedAt,
    durationSeconds: m.durationSeconds,
    label: m.label ?? null,
    sizeBytes: m.artifact.sizeBytes,
    sha256: m.artifact.sha256,
    encrypted: m.artifact.encryption !== null,
    keyId: m.artifact.encryption?.keyId ?? null,
    artifactKey: m.artifact.key,
    source: m.source,
    trigger: m.trigger,
    tables: m.tables ? Object.keys(m.tables).length : null,
    rows: m.tables ? Object.values(m.tables).reduce((a, b) => a + b, 0) : null,
    files: m.files ?? null,
    chain: m.chain ?? null,
    setId: m.setId ?? null,
    setRole: m.setRole ?? null,
    emergency: m.emergency === true,
  };
}

/** Left-aligned text columns. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')).join('\n');
}
