import { describe, expect, it } from 'vitest';
import { buildChecklist, buildHeadline, buildReportMessage } from '../../src/bot/incident/incident-messages.ts';
import type { Incident } from '../../src/jobs/incident/model.ts';
import { buildIncidentReport } from '../../src/jobs/incident/build-report.ts';
import { renderIncidentReport } from '../../src/jobs/incident/render-report.ts';

/** The incident's Slack messages stay inside Block Kit's limits at the runbook format's maximum (40 steps). */
const now = new Date('2026-12-03T06:00:00Z');
const incident: Incident = {
  id: 'inc-20261203T060000Z-abcd', scenario: 'big', title: 'T'.repeat(200), severity: 'sev1', summary: 'S'.repeat(500),
  detectedAt: now, declaredAt: now, declaredBy: 'slack:U0AAAAAAA', commander: 'slack:U0AAAAAAA', status: 'investigating', objectiveSeconds: 7200,
  steps: Array.from({ length: 40 }, (_, n) => ({ number: n + 1, text: `${'x'.repeat(290)} ${n}`, action: n % 2 ? ('emergency-backup' as const) : undefined })),
  resolvedAt: null, slackChannel: 'C1', slackTs: '1.1', slackChecklistTs: '1.2',
};

function check(blocks: Array<Record<string, unknown>>) {
  expect(blocks.length).toBeLessThanOrEqual(50);
  for (const b of blocks) {
    const text = (b.text as { text?: string } | undefined)?.text ?? '';
    expect(text.length).toBeLessThanOrEqual(b.type === 'header' ? 150 : 3000);
    expect(((b.elements as unknown[] | undefined) ?? []).length).toBeLessThanOrEqual(25);
  }
}

describe('incident messages and Block Kit limits', () => {
  it('headline, 40-step checklist and a long report fit', () => {
    check(buildHeadline(incident, now, '<@U1> <@U2>').blocks as Array<Record<string, unknown>>);
    check(buildChecklist(incident, []).blocks as Array<Record<string, unknown>>);
    const events = Array.from({ length: 400 }, (_, n) => ({ id: String(n), incidentId: incident.id, at: now, kind: 'note' as const, actor: 'slack:U0AAAAAAA', text: 'n'.repeat(2000), details: {} }));
    const report = buildIncidentReport({ incident, events, audit: [], backupTimes: new Map(), resolution: { impact: 'i', rootCause: 'r'.repeat(3000), prevention: '', lessonsLearned: '' }, resolvedAt: now, resolvedBy: 'slack:U0AAAAAAA' });
    const message = buildReportMessage(report, renderIncidentReport(report));
    check(message.blocks as Array<Record<string, unknown>>);
    expect(JSON.stringify(message.blocks)).toContain('longer than one Slack message');
  });
});
