import type { Manifest } from '../../catalog/manifest.ts';
import { formatAge, formatBytes, formatDuration } from '../../format/units.ts';
import { ActionId, BlockId, ViewId } from '../action-ids.ts';
import type { CatalogEntry } from '../catalog-cache.ts';
import { describeJob, type BotJobSpec } from '../job-spec.ts';
import { context, escape, plain, section, type Block } from './blocks.ts';
import { modal, type ModalView } from './modal.ts';

export interface ConfirmContext {
  metadata: string;
  /** "db.internal/fbms": the FBMS database, never credentials. */
  source: string;
  store: string;
  encrypted: boolean;
  now: Date;
}

/** "1.2 GiB, took 3m10s (db-…, 2h ago)". */
export function lastRunLine(m: Manifest | undefined, now: Date): string {
  if (m === undefined) return 'no earlier backup of this kind, so no estimate yet';
  return `${formatBytes(m.artifact.sizeBytes)}, took ${formatDuration(m.durationSeconds)} (\`${m.id}\`, ${formatAge(new Date(m.createdAt), now)})`;
}

export function verificationLine(e: CatalogEntry | undefined, now: Date): string {
  const v = e?.verification;
  if (v === undefined) return 'not verified yet';
  const took = `, took ${formatDuration(v.durationSeconds)}`;
  return v.passed ? `passed ${formatAge(new Date(v.verifiedAt), now)}${took}` : `FAILED ${formatAge(new Date(v.verifiedAt), now)}${took}`;
}

/** `what` is BotJobs.describeBackup(spec): one line saying exactly what will be read. */
export function buildBackupConfirmModal(spec: Extract<BotJobSpec, { type: 'backup' }>, what: string, last: Manifest | undefined, c: ConfirmContext): ModalView {
  const blocks: Block[] = [
    section(`*${escape(describeJob(spec))}*`),
    section(
      [
        `*What:* ${what}`,
        `*Where:* ${escape(c.store)}, ${c.encrypted ? 'encrypted (AES-256-GCM)' : ':warning: NOT encrypted (no encryption key is set up)'}`,
        `*Last time:* ${lastRunLine(last, c.now)}`,
        '*Progress:* one message in the incidents channel, updated as it runs',
      ].join('\n'),
    ),
  ];
  if (['database', 'application', 'uploads', 'full'].includes(spec.variant)) {
    blocks.push({
      type: 'input',
      block_id: BlockId.BackupLabel,
      optional: true,
      // Slack marks optional inputs itself: the label must not say it a second time.
      label: plain('Label'),
      hint: plain('Free text, e.g. "before the price update". Shown with the backup in lists and in the restore form.'),
      element: { type: 'plain_text_input', action_id: ActionId.BackupLabel, max_length: 64, ...(spec.label ? { initial_value: spec.label } : {}) },
    });
  }
  return modal({ callbackId: ViewId.Backup, title: 'Confirm backup', submit: 'Start backup', metadata: c.metadata, blocks });
}

export function buildVerifyConfirmModal(entry: CatalogEntry, c: ConfirmContext): ModalView {
  const m = entry.manifest;
  return modal({
    callbackId: ViewId.Verify,
    title: 'Confirm verification',
    submit: 'Verify',
    metadata: c.metadata,
    blocks: [
      section(`*Verify \`${m.id}\`*`),
      section(
        [
          `*Backup:* ${m.kind}, ${formatAge(new Date(m.createdAt), c.now)}, ${formatBytes(m.artifact.sizeBytes)}, ${m.artifact.encryption ? 'encrypted' : 'unencrypted'}`,
          m.kind === 'database'
            ? `*What happens:* it is read back from ${escape(c.store)}, its SHA-256 and encryption checked, restored into a scratch database on the FBMS server, compared table by table with the manifest, and the scratch database dropped. The live database is not touched.`
            : `*What happens:* every archive is read back from ${escape(c.store)} and decrypted, and each file's SHA-256 is compared with the backup's file index. Nothing is written anywhere; the live ${m.kind} folder is not touched.`,
          `*Last verification:* ${verificationLine(entry, c.now)}`,
          `*Expect:* about as long as the backup took (${formatDuration(m.durationSeconds)}) or a little longer`,
        ].join('\n'),
      ),
    ],
  });
}

export function buildDrillConfirmModal(latest: CatalogEntry[], objectives: { rtoSeconds: number; rpoSeconds: number }, c: ConfirmContext): ModalView {
  const lines = latest.map((e) => `• ${e.manifest.kind}: \`${e.manifest.id}\` (${formatAge(new Date(e.manifest.createdAt), c.now)}, ${formatBytes(e.manifest.artifact.sizeBytes)}, ${verificationLine(e, c.now)})`);
  return modal({
    callbackId: ViewId.Drill,
    title: 'Confirm recovery drill',
    submit: 'Run drill',
    metadata: c.metadata,
    blocks: [
      section('*Recovery drill*: verify the latest backup of each kind by restoring it, and measure RTO and RPO.'),
      section(lines.length ? lines.join('\n') : 'There are no backups yet, so the drill will fail: take a backup first.'),
      context(`Objectives: RTO ${formatDuration(objectives.rtoSeconds)}, RPO ${formatDuration(objectives.rpoSeconds)}. The live database is not touched; the report goes to the incidents channel.`),
    ],
  });
}
