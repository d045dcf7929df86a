import { describe, expect, it } from 'vitest';
import { decideAlerts, type AlertStateRow } from '../../../src/jobs/monitor/alert-state.ts';
import type { Problem } from '../../../src/jobs/monitor/checks.ts';

const T0 = new Date('2026-11-26T00:00:00Z');
const problem = (key: string, fingerprint = 'f1'): Problem => ({ key, severity: 'critical', title: key, text: 't', remedy: 'r', fingerprint });
const row = (key: string, extra: Partial<AlertStateRow> = {}): AlertStateRow => ({
  key, status: 'firing', severity: 'critical', title: key, fingerprint: 'f1', firstSeen: T0, lastSeen: T0, notifiedAt: T0, resolvedAt: null, ...extra,
});

describe('decideAlerts', () => {
  it.each([
    ['a new problem alerts', [], [problem('a')], ['notify-new']],
    ['the same problem again stays quiet', [row('a')], [problem('a')], ['quiet']],
    ['a changed problem alerts again', [row('a')], [problem('a', 'f2')], ['notify-changed']],
    ['a problem that went away resolves with a message', [row('a')], [], ['notify-resolved']],
    ['a resolved problem stays resolved without a message', [row('a', { status: 'resolved' })], [], []],
    ['a resolved problem that returns is new again', [row('a', { status: 'resolved' })], [problem('a')], ['notify-new']],
    ['an alert that could not be delivered is retried', [row('a', { notifiedAt: null })], [problem('a')], ['notify-new']],
    ['a never-delivered alert that went away resolves quietly', [row('a', { notifiedAt: null })], [], ['resolve-quietly']],
  ] as const)('%s', (_name, previous, problems, expected) => {
    expect(decideAlerts([...previous], [...problems]).map((a) => a.type)).toEqual(expected);
  });
});
