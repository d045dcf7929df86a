import { describe, expect, it } from 'vitest';
import type { Approval } from '../../src/bot/approval-store.ts';
import type { CatalogEntry } from '../../src/bot/catalog-cache.ts';
import { buildApprovalDecidedMessage, buildApprovalRequestMessage } from '../../src/bot/messages/approval-message.ts';
import { buildBackupsListMessage } from '../../src/bot/messages/backups-list.ts';
import { buildBackupConfirmModal, buildDrillConfirmModal, buildVerifyConfirmModal } from '../../src/bot/messages/confirm-modals.ts';
import { buildHomeView } from '../../src/bot/messages/home-view.ts';
import { buildJobDetailsMessage, buildJobFailedMessage, buildJobProgressMessage, buildJobResultMessage } from '../../src/bot/messages/job-message.ts';
import { assertBlockKitLimits, findBlockKitViolations } from '../../src/bot/messages/limits.ts';
import { buildNoticeView } from '../../src/bot/messages/modal.ts';
import { buildRestoreModal } from '../../src/bot/messages/restore-modal.ts';
import { buildAlertMessage } from '../../src/bot/messages/alert-message.ts';
import type { Manifest } from '../../src/catalog/manifest.ts';

const now = new Date('2026-11-26T03:00:00Z');
const long = (n: number) => 'x'.repeat(n);

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
    'backup modal': { view: buildBackupConfirmModal({ type: 'backup', variant: 'pre-deploy', label: long(64) }, long(3000), many[0]!.manifest, ctx) },
    'verify modal': { view: buildVerifyConfirmModal(many[0]!, ctx) },
    'drill modal': { view: buildDrillConfirmModal(many.slice(0, 3), { rtoSeconds: 1, rpoSeconds: 1 }, ctx) },
    'notice view': { view: buildNoticeView(long(100), long(5000)) },
    'progress message': buildJobProgressMessage({ title: long(500), requestedBy: 'U1' }, { startedAt: 0, phase: long(500), detail: long(4000), phaseStartedAt: 0, bytes: 5e12, total: 9e12, warnings: Array.from({ length: 20 }, () => long(4000)) }, 10_000),
    'result message': buildJobResultMessage({ title: long(200), requestedBy: 'U1', approvedBy: 'U2' }, { headline: long(5000), ok: true, fields: Array.from({ length: 15 }, () => [long(100), long(3000)] as [string, string]), details: [] }, 1, [long(4000)]),
    'failure message': buildJobFailedMessage({ title: 'x', requestedBy: 'U1' }, { sentence: long(6000), details: Array.from({ length: 50 }, () => long(200)), errorId: 'abcd1234' }, 1, JSON.stringify({ type: 'backup', variant: 'database', label: long(64) })),
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

  it('the checker itself catches each limit', () => {
    const tooMany = { blocks: Array.from({ length: 51 }, () => ({ type: 'divider' })) };
    expect(findBlockKitViolations(tooMany)).toEqual(['message has 51 blocks (max 50)']);
    expect(findBlockKitViolations({ view: { type: 'modal', title: { text: long(25) }, blocks: Array.from({ length: 101 }, () => ({ type: 'divider' })), private_metadata: long(3001) } })).toHaveLength(3);
    expect(findBlockKitViolations({ blocks: [{ type: 'section', text: { type: 'mrkdwn', text: long(3001) } }] })).toHaveLength(1);
    expect(findBlockKitViolations({ blocks: [{ type: 'actions', elements: [{ type: 'button', text: { text: 'x' }, action_id: long(256), value: long(2001) }] }] })).toHaveLength(2);
  });
});
