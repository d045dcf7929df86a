import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SHIPPED_RUNBOOK_DIR } from '../../src/config/incident-config.ts';
import type { Manifest } from '../../src/catalog/manifest.ts';
import { hostname } from 'node:os';
import { addEvent, addNote, declareIncident, handOver, incidentEvents, markStepDone, requireIncident, runningSteps } from '../../src/jobs/incident/incidents.ts';
import { resolveIncident } from '../../src/jobs/incident/resolve.ts';
import { recordStepFinished, recordStepStarted } from '../../src/jobs/incident/step-record.ts';
import { closeAbandonedSteps } from '../../src/state/incidents.ts';
import { ownerToken } from '../../src/state/job-runs.ts';
import { createApproval, decideApproval } from '../../src/bot/approval-store.ts';
import { readIncidentReport } from '../../src/catalog/incident-report.ts';
import { loadRunbook } from '../../src/jobs/incident/runbooks.ts';
import { planStep } from '../../src/jobs/incident/step-plan.ts';
import type { JobDeps } from '../../src/jobs/job-context.ts';
import { makeDeps } from '../support/job-deps.ts';

let deps: JobDeps;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ deps, close } = await makeDeps());
});
afterAll(async () => close?.());

describe('incident rules that hold whoever calls', () => {
  it('two declares racing open one incident; five clicks on one step mark it done once', async () => {
    const runbook = await loadRunbook(SHIPPED_RUNBOOK_DIR, 'database-corruption');
    const input = { runbook, severity: 'sev1' as const, summary: 'race', detectedAt: new Date(), declaredBy: 'slack:U0AAAAAAA', scope: 'race' };
    const declares = await Promise.allSettled([declareIncident(deps.state, input), declareIncident(deps.state, input)]);
    expect(declares.filter((d) => d.status === 'fulfilled')).toHaveLength(1);
    expect(String((declares.find((d) => d.status === 'rejected') as PromiseRejectedResult).reason.message)).toContain('already open');
    const incident = (declares.find((d) => d.status === 'fulfilled') as PromiseFulfilledResult<Awaited<ReturnType<typeof declareIncident>>>).value;
    const clicks = await Promise.allSettled(Array.from({ length: 5 }, () => markStepDone(deps.state, incident, 1, 'slack:U0BBBBBBB')));
    expect(clicks.filter((c) => c.status === 'fulfilled')).toHaveLength(1);
    expect((await incidentEvents(deps.state, incident.id)).filter((e) => e.kind === 'step-done')).toHaveLength(1);
    // Another scope, or an explicitly concurrent one, may be open at the same time.
    await expect(declareIncident(deps.state, { ...input, scope: 'other' })).resolves.toMatchObject({ status: 'investigating' });
    await expect(declareIncident(deps.state, { ...input, concurrent: true })).resolves.toMatchObject({ status: 'investigating' });
    expect((await requireIncident(deps.state, incident.id)).resolvedAt).toBeNull();
  });

  it('plans "latest clean" as the newest database backup before detection, never an emergency one', async () => {
    const runbook = await loadRunbook(SHIPPED_RUNBOOK_DIR, 'database-corruption');
    const detectedAt = new Date('2026-12-03T06:00:00Z');
    const incident = { ...(await declareIncident(deps.state, { runbook, severity: 'sev2', summary: 'plan', detectedAt: new Date(), declaredBy: 'cli:x', scope: 'plan' })), detectedAt };
    const backup = (id: string, createdAt: string, extra: Partial<Manifest> = {}) => ({ id, kind: 'database', createdAt, ...extra }) as Manifest;
    const backups = [
      backup('db-20261203T055000Z-0001', '2026-12-03T05:50:00Z'),
      backup('db-20261203T055900Z-0002', '2026-12-03T05:59:00Z', { emergency: true }),
      backup('db-20261203T061000Z-0003', '2026-12-03T06:10:00Z'),
      backup('db-20261203T040000Z-0004', '2026-12-03T04:00:00Z'),
    ];
    const step = incident.steps.find((s) => s.action === 'restore-latest')!;
    expect(planStep(incident, step, backups, [])).toMatchObject({ kind: 'restore', backupId: 'db-20261203T055000Z-0001', to: 'new' });
    const pitr = incident.steps.find((s) => s.action === 'restore-pitr')!;
    expect(planStep(incident, pitr, backups, [])).toMatchObject({ kind: 'restore-pitr', time: new Date('2026-12-03T05:59:59Z') });
    expect(() => planStep(incident, pitr, backups, [], { time: new Date('2026-12-03T06:30:00Z') })).toThrow(/after the detection time/);
    expect(() => planStep(incident, step, backups.slice(2, 3), [])).toThrow(/no database backup taken before the detection time/);
    expect(() => planStep(incident, incident.steps[0]!, backups, [])).toThrow(/done by people/);
    // "Verify the restored database": with nothing restored, the backup a restore would use; after
    // a restore, that restore's database against its own backup (a PITR's kept copy), never another.
    const verify = incident.steps.find((s) => s.action === 'verify-restored')!;
    expect(planStep(incident, verify, backups, [])).toEqual({ kind: 'verify', backupId: 'db-20261203T055000Z-0001', from: 'primary' });
    const finished = (details: Record<string, unknown>) => ({ id: '1', incidentId: incident.id, at: new Date(), kind: 'step-finished' as const, actor: 'cli:x', text: '', details: { step: 5, outcome: 'succeeded', ...details } });
    const restoredFromSecondary = finished({ plan: 'restore', backupId: 'db-20261203T040000Z-0004', to: 'new', from: 'secondary', target: 'fbms_dc' });
    const pitrCopy = finished({ plan: 'restore-pitr', to: 'new', target: 'fbms_at', copyBackupId: 'db-20261203T070000Z-0009' });
    expect(planStep(incident, verify, backups, [restoredFromSecondary])).toEqual({ kind: 'verify', backupId: 'db-20261203T040000Z-0004', from: 'secondary', restored: { to: 'new', database: 'fbms_dc' } });
    expect(planStep(incident, verify, backups, [restoredFromSecondary, pitrCopy])).toEqual({ kind: 'verify', backupId: 'db-20261203T070000Z-0009', from: 'primary', restored: { to: 'new', database: 'fbms_at' } });
    expect(planStep(incident, verify, backups, [finished({ plan: 'restore', backupId: 'db-20261203T040000Z-0004', to: 'in-place', from: 'primary' })])).toMatchObject({ restored: { to: 'in-place' } });
    expect(planStep(incident, verify, backups, [pitrCopy, finished({ plan: 'restore', outcome: 'failed', backupId: 'db-20261203T040000Z-0004', to: 'new', target: 'nope' })])).toMatchObject({ restored: { database: 'fbms_at' } });
    // A restore step that recorded no backup (an earlier version) is passed over, never guessed at.
    expect(planStep(incident, verify, backups, [restoredFromSecondary, finished({ plan: 'restore-pitr', to: 'new', target: 'fbms_at' })])).toMatchObject({ backupId: 'db-20261203T040000Z-0004', restored: { database: 'fbms_dc' } });
    expect(planStep(incident, verify, backups, [finished({ plan: 'restore-pitr', to: 'new', target: 'fbms_at' })])).toEqual({ kind: 'verify', backupId: 'db-20261203T055000Z-0001', from: 'primary' });
  });

  it('a step left running by a killed process is closed as abandoned at the next start; a running step blocks resolve; a resolved incident never changes', async () => {
    const runbook = await loadRunbook(SHIPPED_RUNBOOK_DIR, 'database-corruption');
    const incident = await declareIncident(deps.state, { runbook, severity: 'sev1', summary: 'final', detectedAt: new Date(), declaredBy: 'cli:ana', scope: 'final' });
    const step = incident.steps.find((s) => s.action === 'emergency-backup')!;
    const plan = { kind: 'emergency-backup' } as const;
    // A step started by this process is alive; one whose owner (same host, a pid that does not exist) died is not.
    const run = await recordStepStarted(deps.state, incident, step, plan, 'cli:ana', 'emergency backup');
    // A second run of the same step, refused (busy), ends itself only: the first keeps running.
    const refused = await recordStepStarted(deps.state, incident, step, plan, 'cli:ben', 'emergency backup');
    await recordStepFinished(deps.state, incident, step, plan, 'cli:ben', refused, { ok: false, error: new Error('Emergency database backup was running') });
    expect(runningSteps(await incidentEvents(deps.state, incident.id))).toEqual([step.number]);
    await addEvent(deps.state, incident.id, 'step-started', 'cli:ben', 'Step 1 started', { step: 1, owner: `${hostname()}||2147480000|1` });
    // One started by an earlier version (no owner recorded) is closed too; one marked done by people is not running.
    await addEvent(deps.state, incident.id, 'step-started', 'cli:ben', 'Step 2 started', { step: 2 });
    await addEvent(deps.state, incident.id, 'step-started', 'cli:ben', 'Step 8 started', { step: 8, owner: 'elsewhere|boot|1|1' });
    expect(runningSteps(await incidentEvents(deps.state, incident.id))).toEqual([1, 2, step.number, 8]);
    expect(await closeAbandonedSteps(deps.state)).toBe(2);
    const events = await incidentEvents(deps.state, incident.id);
    expect(events.filter((e) => e.kind === 'step-finished' && e.details.cause === 'abandoned').map((e) => e.details.step)).toEqual([1, 2]);
    expect(runningSteps(events)).toEqual([step.number, 8]);
    await markStepDone(deps.state, incident, 8, 'cli:ana', 'the other site did it');
    expect(runningSteps(await incidentEvents(deps.state, incident.id))).toEqual([step.number]);

    const resolution = { impact: '', rootCause: 'test', prevention: '', lessonsLearned: '' };
    await expect(resolveIncident(deps, incident, { actor: 'cli:ana', resolution })).rejects.toThrow(`Step ${step.number} is still running`);
    await recordStepFinished(deps.state, incident, step, plan, 'cli:ana', run, { ok: true });
    await resolveIncident(deps, incident, { actor: 'cli:ana', resolution });
    // Every later change is refused by the state database itself, even through a stale copy of the open incident.
    await expect(recordStepFinished(deps.state, incident, step, plan, 'cli:ana', run, { ok: true })).rejects.toThrow(/resolved/);
    await expect(addNote(deps.state, incident, 'cli:ana', 'late')).rejects.toThrow(/resolved/);
    await expect(handOver(deps.state, incident, 'cli:ana', 'cli:ben')).rejects.toThrow(/resolved/);
    await expect(resolveIncident(deps, incident, { actor: 'cli:ben', resolution })).rejects.toThrow(/resolved/);
    const after = await requireIncident(deps.state, incident.id);
    expect(after).toMatchObject({ status: 'resolved', commander: 'cli:ana' });
    expect((await incidentEvents(deps.state, incident.id)).filter((e) => e.kind === 'resolved')).toHaveLength(1);
  });

  it('of two resolves racing, the report in the store is the one of the resolve that closed the incident; a dead resolver\'s claim is taken over', async () => {
    const runbook = await loadRunbook(SHIPPED_RUNBOOK_DIR, 'database-corruption');
    const incident = await declareIncident(deps.state, { runbook, severity: 'sev1', summary: 'race to resolve', detectedAt: new Date(), declaredBy: 'cli:ana', scope: 'resolve-race' });
    const resolution = (rootCause: string) => ({ impact: '', rootCause, prevention: '', lessonsLearned: '' });
    const results = await Promise.allSettled(['first', 'second', 'third'].map((who) => resolveIncident(deps, incident, { actor: `cli:${who}`, resolution: resolution(`cause told by ${who}`) })));
    const won = results.filter((r): r is PromiseFulfilledResult<Awaited<ReturnType<typeof resolveIncident>>> => r.status === 'fulfilled');
    expect(won).toHaveLength(1);
    for (const lost of results.filter((r) => r.status === 'rejected')) expect(String((lost as PromiseRejectedResult).reason.message)).toMatch(/resolving this incident right now|resolved/);
    const stored = await readIncidentReport(deps.store, incident.id, { keyRing: deps.keyRing, state: deps.state });
    expect(stored.lessons.rootCause).toBe(won[0]!.value.report.lessons.rootCause);
    expect((await requireIncident(deps.state, incident.id)).resolvedAt).not.toBeNull();

    // A resolve killed after claiming (its process gone) does not block the next one forever.
    const other = await declareIncident(deps.state, { runbook, severity: 'sev1', summary: 'killed resolver', detectedAt: new Date(), declaredBy: 'cli:ana', scope: 'resolve-killed' });
    await deps.state.query('UPDATE incidents SET resolving_owner = $2, resolving_since = now() WHERE id = $1', [other.id, `${hostname()}||999999|1|dead`]);
    await expect(resolveIncident(deps, other, { actor: 'cli:ana', resolution: resolution('after a crash') })).resolves.toMatchObject({ report: { lessons: { rootCause: "after a crash" } } });
    // A live claim (this very process, another resolve) is respected.
    const third = await declareIncident(deps.state, { runbook, severity: 'sev1', summary: 'busy', detectedAt: new Date(), declaredBy: 'cli:ana', scope: 'resolve-busy' });
    await deps.state.query('UPDATE incidents SET resolving_owner = $2, resolving_since = now() WHERE id = $1', [third.id, `${ownerToken()}|other`]);
    await expect(resolveIncident(deps, third, { actor: 'cli:ana', resolution: resolution('x') })).rejects.toThrow(/resolving this incident right now/);
  });

  it('a step waiting for approval stays running while the approval is pending, whoever asked; once approved it belongs to the process running the job', async () => {
    const runbook = await loadRunbook(SHIPPED_RUNBOOK_DIR, 'database-corruption');
    const incident = await declareIncident(deps.state, { runbook, severity: 'sev1', summary: 'approval owner', detectedAt: new Date(), declaredBy: 'cli:ana', scope: 'approval-owner' });
    const step = incident.steps.find((s) => s.action === 'restore-latest')!;
    const plan = { kind: 'restore', backupId: 'db-20261203T040000Z-0004', backupCreatedAt: '2026-12-03T04:00:00Z', to: 'in-place', from: 'primary' } as const;
    const dead = `${hostname()}||2147480001|1`;
    // Asked by a replica that has since died; the approval is still pending.
    const run = await recordStepStarted(deps.state, incident, step, plan, 'slack:U0ASKER01', 'restore in place: approval requested', { waitsForApproval: true });
    await deps.state.query(`UPDATE incident_events SET details = jsonb_set(details, '{owner}', to_jsonb($2::text)) WHERE incident_id = $1 AND details->>'run' = $3`, [incident.id, dead, run]);
    const approval = await createApproval(deps.state, { kind: 'restore-in-place', payload: { incidentStep: { incidentId: incident.id, step: step.number, run } }, requestedBy: 'U0ASKER01', reason: 'incident', ttlSeconds: 600, now: new Date() });
    expect(await closeAbandonedSteps(deps.state)).toBe(0);
    expect(runningSteps(await incidentEvents(deps.state, incident.id))).toEqual([step.number]);
    // Approved: this process runs the job and records the run again as its owner; the dead asker no longer matters.
    await decideApproval(deps.state, approval.id, 'approved', 'U0APPROVE1', new Date());
    await recordStepStarted(deps.state, incident, step, plan, 'slack:U0ASKER01', 'approved, running', { run });
    expect(await closeAbandonedSteps(deps.state)).toBe(0);
    expect(runningSteps(await incidentEvents(deps.state, incident.id))).toEqual([step.number]);
    // The job's process dies too: now the step is abandoned, closed once.
    await deps.state.query(`UPDATE incident_events SET details = jsonb_set(details, '{owner}', to_jsonb($2::text)) WHERE incident_id = $1 AND details->>'run' = $3`, [incident.id, dead, run]);
    expect(await closeAbandonedSteps(deps.state)).toBe(1);
    expect(await closeAbandonedSteps(deps.state)).toBe(0);
    expect(runningSteps(await incidentEvents(deps.state, incident.id))).toEqual([]);
  });
});
