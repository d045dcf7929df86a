import { describe, expect, it } from 'vitest';
import type { Approval } from '../../src/bot/approval-store.ts';
import type { CatalogEntry } from '../../src/bot/catalog-cache.ts';
import { buildApprovalDecidedMessage, buildApprovalRequestMessage } from '../../src/bot/messages/approval-message.ts';
import { buildBackupsListMessage } from '../../src/bot/messages/backups-list.ts';
import { buildBackupConfirmModal, buildDrillConfirmModal, buildVerifyConfirmModal } from '../../src/bot/messages/confirm-modals.ts';
import { buildHomeView } from '../../src/bot/messages/home-view.ts';
import { failureNextSteps } from '../../src/bot/messages/next-steps.ts';
import { buildJobDetailsMessage, buildJobFailedMessage, buildJobProgressMessage, buildJobResultMessage } from '../../src/bot/messages/job-message.ts';
import { assertBlockKitLimits, findBlockKitViolations } from '../../src/bot/messages/limits.ts';
import { buildNoticeView } from '../../src/bot/messages/modal.ts';
import { buildRestoreModal } from '../../src/bot/messages/restore-modal.ts';
import { buildAlertMessage } from '../../src/bot/messages/alert-message.ts';
import type { Manifest } from '../../src/catalog/manifest.ts';

const now = new Date('2026-11-26T03:00:00Z');
const long = (n: number) => 'x'.repeat(n);
/** Unpaired UTF-16 surrogates in a JSON text (JSON.stringify writes them as \udXXX escapes). */
const loneSurrogates = (json: string) => (json.match(/\\ud[89ab][0-9a-f]{2}(?!\\ud[c-f])|(?<!\\ud[89ab][0-9a-f]{2})\\ud[c-f][0-9a-f]{2}/g)?.length ?? 0);

function entry(i: number, kind: Manifest['kind'] = 'database'): CatalogEntry {
  const at = new Date(now.getTime() - i * 3_600_000).toISOString();
  const prefix = { database: 'db', application: 'app', uploads: 'upl' }[kind];
  return {
    manifest: {
      formatVersion: 1,
      id: `${prefix}-${at.replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z')}-${(i % 65536).toString(16).padStart(4, '0')}`,
      kind,
      createdAt: at,
      completedAt: at,
      durationSeconds: 12.5,
      label: i % 3 === 0 ? long(64) : undefined,
      trigger: { by: 'slack:U1', via: 'slack' },
      source: { host: 'db', database: 'fbms' },
      tools: {},
      artifact: { key: 'k', format: 'f', sizeBytes: 123_456_789 * (i + 1), sha256: 'a'.repeat(64), plainSizeBytes: 1, plainSha256: 'b'.repeat(64), encryption: { algorithm: 'A', keyId: 'k1:0123456789abcdef' } },
      tables: Object.fromEntries(Array.from({ length: 300 }, (_, t) => [`public.table_${t}`, t])),
    },
    verification: i % 2 === 0 ? { formatVersion: 1, backupId: 'x', source: 'verify', verifiedAt: at, passed: i % 4 === 0, durationSeconds: 1, checks: [], performedBy: 'x', tools: {} } : undefined,
  };
}

const approval: Approval = {
  id: 'apr-0123456789',
  kind: 'restore-in-place',
  payload: { spec: { type: 'restore', backup: 'db-x' }, live: long(400), backup: { id: 'db-x', kind: 'database', createdAt: now.toISOString(), sizeBytes: 1, encrypted: true, verification: null } },
  requestedBy: 'U0A',
  reason: long(500),
  status: 'pending',
  expiresAt: new Date(now.getTime() + 1_800_000),
  decidedBy: null,
  decidedAt: null,
  channel: 'C1',
  messageTs: '1.2',
  createdAt: now,
};

describe('Block Kit payloads stay within Slack limits, even with extreme content', () => {
  const many = [...Array.from({ length: 150 }, (_, i) => entry(i)), ...Array.from({ length: 40 }, (_, i) => entry(i, 'uploads'))];
  const ctx = { metadata: JSON.stringify({ requestId: 'r', channelId: 'C1' }), source: long(300), store: long(300), encrypted: false, now };
  const payloads: Record<string, object> = {
    'restore modal, 190 backups': { view: buildRestoreModal({ entries: many, live: () => ({ what: long(300), confirmName: long(63) }), metadata: ctx.metadata, now, selectedId: many[3]!.manifest.id }) },
    'restore modal, 190 backups and a point in time': { view: buildRestoreModal({ entries: many, live: () => ({ what: long(300), confirmName: long(63) }), metadata: ctx.metadata, now, pitr: { available: { window: { from: now, to: now } }, timeZone: 'America/Argentina/ComodRivadavia' } }) },
    'restore modal, point in time not available': { view: buildRestoreModal({ entries: many, live: () => undefined, metadata: ctx.metadata, now, pitr: { available: { why: long(5000) }, timeZone: 'Asia/Manila' } }) },
    'home view with point-in-time recovery': { view: buildHomeView({ now, storeDescription: 'x', latest: {}, storage: undefined, running: [], approvals: [], lastDrill: undefined, nextRuns: undefined, pitr: { timeZone: 'Asia/Manila', state: { kind: 'read', mode: 'stream', readAt: now, status: { systemIdentifier: '1', lastArchived: { name: long(100), at: now.toISOString() }, lagSeconds: 1, lagBytes: null, slot: null, serverLsn: null, window: { from: now.toISOString(), to: now.toISOString() }, replicationUnavailable: null, stream: { updatedAt: now.toISOString(), receiving: false, lastArchived: null, lastArchivedAt: null, backlogFiles: 9, backlogBytes: 1e12, lastError: long(10_000) } } } } }) },
    'home view, point in time unchecked': { view: buildHomeView({ now, storeDescription: 'x', latest: {}, storage: undefined, running: [], approvals: [], lastDrill: undefined, nextRuns: undefined, pitr: { timeZone: 'Asia/Manila', state: { kind: 'unchecked', reason: long(10_000) } } }) },
    'backup modal': { view: buildBackupConfirmModal({ type: 'backup', variant: 'pre-deploy', label: long(64) }, long(3000), many[0]!.manifest, ctx) },
    'verify modal': { view: buildVerifyConfirmModal(many[0]!, ctx) },
    'drill modal': { view: buildDrillConfirmModal(many.slice(0, 3), { rtoSeconds: 1, rpoSeconds: 1 }, ctx) },
    'notice view': { view: buildNoticeView(long(100), long(5000)) },
    'progress message': buildJobProgressMessage({ title: long(500), requestedBy: 'U1' }, { startedAt: 0, phase: long(500), detail: long(4000), phaseStartedAt: 0, bytes: 5e12, total: 9e12, warnings: Array.from({ length: 20 }, () => long(4000)) }, 10_000),
    'result message': buildJobResultMessage({ title: long(200), requestedBy: 'U1', approvedBy: 'U2' }, { headline: long(5000), ok: true, fields: Array.from({ length: 15 }, () => [long(100), long(3000)] as [string, string]), details: [] }, 1, [long(4000)]),
    'failure message': buildJobFailedMessage({ title: 'x', requestedBy: 'U1' }, { sentence: long(6000), details: Array.from({ length: 50 }, () => long(200)), errorId: 'abcd1234' }, 1, failureNextSteps({ type: 'restore', backup: 'db-20261126T020000Z-7f3a', target: { mode: 'new', name: long(60) }, reason: long(500) }, true, { type: 'restore-another-name', backupId: 'db-20261126T020000Z-7f3a' })),
    'details thread': buildJobDetailsMessage(Array.from({ length: 5000 }, (_, i) => `public.table_${i}: ${long(200)} rows <&>`)),
    'approval request': buildApprovalRequestMessage(approval, now),
    'approval decided': buildApprovalDecidedMessage({ ...approval, status: 'approved', decidedBy: 'U0B', decidedAt: now }, now, long(5000)),
    'backups list': buildBackupsListMessage({ snapshot: { entries: many, loadedAt: now }, running: [], approvals: Array.from({ length: 60 }, () => approval), store: long(300), now }),
    'home view': { view: buildHomeView({ now, storeDescription: long(500), latest: { database: many[0], uploads: many[150] }, storage: { bytes: 1e15, backups: 9999 }, running: Array.from({ length: 30 }, () => ({ title: long(300), requestedBy: 'U1', startedAt: now, phase: long(300) })), approvals: Array.from({ length: 30 }, () => approval), lastDrill: { at: now, passed: false, durationSeconds: 100, summary: long(5000), counts: { passed: 1, failed: 2, skipped: 0 } }, nextRuns: Array.from({ length: 30 }, () => ({ job: long(100), at: now })) }) },
    alert: buildAlertMessage({ severity: 'critical', title: long(4000), text: long(10_000), dedupeKey: long(300) }),
  };
  for (const [name, payload] of Object.entries(payloads)) {
    it(name, () => {
      assertBlockKitLimits(payload);
    });
  }

  it('cuts long unicode text (emoji, Filipino names) without splitting a character in two', () => {
    const emoji = '🔥'.repeat(4000);
    const failure = buildJobFailedMessage({ title: `Backup ni Ñoño 📦 ${emoji}`, requestedBy: 'U1' }, { sentence: `pg_dump: ${emoji}`, details: [emoji], errorId: 'abcd1234' }, 1);
    const alert = buildAlertMessage({ severity: 'critical', title: emoji, text: `x${emoji}`, dedupeKey: 'k' });
    const notice = buildNoticeView(`✅ ${emoji}`, `x${emoji}`);
    for (const payload of [failure, alert, { view: notice }]) {
      expect(findBlockKitViolations(payload)).toEqual([]);
      // A lone surrogate is not valid UTF-8: Slack refuses the payload (or shows garbage).
      expect(loneSurrogates(JSON.stringify(payload))).toBe(0);
    }
    expect(findBlockKitViolations({ blocks: [{ type: 'section', text: { type: 'mrkdwn', text: '🔥'.slice(0, 1) } }] })).toHaveLength(1);
  });

  it('/restore ID of a backup older than the newest 100 still offers and preselects it', () => {
    const old = many[140]!.manifest.id;
    const view = buildRestoreModal({ entries: many, live: () => undefined, metadata: ctx.metadata, now, selectedId: old });
    assertBlockKitLimits({ view });
    const select = (view.blocks.find((b) => b.block_id === 'restore_backup') as { element: { initial_option?: { value: string }; option_groups: Array<{ options: Array<{ value: string }> }> } }).element;
    const values = select.option_groups.flatMap((g) => g.options.map((o) => o.value));
    expect(select.initial_option?.value).toBe(old);
    expect(values).toContain(old);
    expect(values).toHaveLength(100);
  });

  it('the checker itself catches each limit', () => {
    const tooMany = { blocks: Array.from({ length: 51 }, () => ({ type: 'divider' })) };
    expect(findBlockKitViolations(tooMany)).toEqual(['message has 51 blocks (max 50)']);
    expect(findBlockKitViolations({ view: { type: 'modal', title: { text: long(25) }, blocks: Array.from({ length: 101 }, () => ({ type: 'divider' })), private_metadata: long(3001) } })).toHaveLength(3);
    expect(findBlockKitViolations({ blocks: [{ type: 'section', text: { type: 'mrkdwn', text: long(3001) } }] })).toHaveLength(1);
    expect(findBlockKitViolations({ blocks: [{ type: 'actions', elements: [{ type: 'button', text: { text: 'x' }, action_id: long(256), value: long(2001) }] }] })).toHaveLength(2);
  });
});
