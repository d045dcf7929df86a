import type { Command } from 'commander';
import { readIncidentReport } from '../../catalog/incident-report.ts';
import { internalNamesOf } from '../../config/internal-names.ts';
import { BantayError, ErrorCode } from '../../errors.ts';
import { parseIncidentId } from '../../jobs/incident/ids.ts';
import { addNote, currentIncident, declareIncident, handOver, incidentEvents, listIncidents, markStepDone, postStatusUpdate, requireIncident } from '../../jobs/incident/incidents.ts';
import { draftMessages } from '../../jobs/incident/drafts.ts';
import { SEVERITIES, STATUSES, type Incident, type IncidentStatus, type Severity } from '../../jobs/incident/model.ts';
import { renderIncidentReport } from '../../jobs/incident/render-report.ts';
import { resolveIncident } from '../../jobs/incident/resolve.ts';
import { loadRunbook } from '../../jobs/incident/runbooks.ts';
import { parseTargetTime } from '../../jobs/pitr/target-time.ts';
import type { Run } from '../command-table.ts';
import type { CliContext } from '../context.ts';
import { parseActor, renderDrafts, renderIncident } from './incident-text.ts';
import { runIncidentStep, type StepRunOptions } from './incident-step.ts';

/**
 * `bantay incident …`: the whole of incident mode from the console, for when Slack is down.
 * Same state database and rules as the Slack commands; the actor is the OS user.
 */
export function registerIncidentCommands(program: Command, run: Run): void {
  const incident = program.command('incident').description('incident mode: declare, run the runbook, communicate, resolve with a recovery report');

  incident
    .command('declare')
    .description('declare an incident: its runbook becomes the checklist')
    .requiredOption('--scenario <name>', 'runbook scenario: database-corruption, server-failure, datacenter-outage, other (or a file of BANTAY_RUNBOOK_DIR)')
    .requiredOption('--summary <text>', 'what is wrong, in a sentence')
    .option('--severity <sev>', `${SEVERITIES.join(', ')} (default sev1)`, 'sev1')
    .option('--detected-at <time>', 'when the problem was detected, "YYYY-MM-DD HH:MM:SS[+TZ]" (default zone BANTAY_TZ; default now): the reference for data loss')
    .option('--commander <who>', 'incident commander (default you): a Slack user id U… or a name')
    .option('--scope <name>', 'one incident open per scope (default "default")')
    .option('--concurrent', 'declare even though an incident is open in the scope')
    .action((opts: { scenario: string; summary: string; severity: string; detectedAt?: string; commander?: string; scope?: string; concurrent?: boolean }) =>
      run(async (ctx) => {
        const runbook = await loadRunbook(ctx.config.incident.runbookDir, opts.scenario);
        const detectedAt = opts.detectedAt === undefined ? new Date() : parseTargetTime(opts.detectedAt, ctx.config.slack.timeZone);
        const declared = await declareIncident(await ctx.state(), {
          runbook,
          severity: parseSeverity(opts.severity),
          summary: opts.summary,
          detectedAt,
          declaredBy: ctx.trigger().by,
          commander: opts.commander === undefined ? undefined : parseActor(opts.commander),
          scope: opts.scope,
          concurrent: opts.concurrent,
        });
        ctx.io.stdout.write(`Incident declared: ${declared.id}\n${renderIncident(declared, [], ctx.config.slack.timeZone)}`);
      }),
    );

  incident
    .command('list')
    .description('incidents, newest first')
    .action(() =>
      run(async (ctx) => {
        const all = await listIncidents(await ctx.state());
        if (all.length === 0) ctx.io.stdout.write('No incidents.\n');
        for (const i of all) ctx.io.stdout.write(`${i.id}  ${i.resolvedAt ? 'resolved    ' : i.status.padEnd(12)}  ${i.severity}  ${i.title}: ${i.summary}\n`);
      }),
    );

  incident
    .command('show [id]')
    .description('the incident, its checklist and timeline (default: the open one)')
    .action((id: string | undefined) =>
      run(async (ctx) => {
        const state = await ctx.state();
        const i = await pick(ctx, id);
        ctx.io.stdout.write(renderIncident(i, await incidentEvents(state, i.id), ctx.config.slack.timeZone));
      }),
    );

  incident
    .command('note <text...>')
    .description('add a note to the timeline')
    .option('--id <id>', 'the incident (default: the open one)')
    .action((words: string[], opts: { id?: string }) =>
      run(async (ctx) => {
        await addNote(await ctx.state(), await pick(ctx, opts.id), ctx.trigger().by, words.join(' '));
        ctx.io.stdout.write('Note added.\n');
      }),
    );

  incident
    .command('commander <who>')
    .description('hand over the incident commander role')
    .option('--id <id>', 'the incident (default: the open one)')
    .action((who: string, opts: { id?: string }) =>
      run(async (ctx) => {
        const updated = await handOver(await ctx.state(), await pick(ctx, opts.id), ctx.trigger().by, parseActor(who));
        ctx.io.stdout.write(`The incident commander is now ${updated.commander}.\n`);
      }),
    );

  incident
    .command('done <step>')
    .description('mark a runbook step done (by people, or after doing it here)')
    .option('--id <id>', 'the incident (default: the open one)')
    .option('--note <text>', 'what was done')
    .action((step: string, opts: { id?: string; note?: string }) =>
      run(async (ctx) => {
        const done = await markStepDone(await ctx.state(), await pick(ctx, opts.id), parseStepNumber(step), ctx.trigger().by, opts.note);
        ctx.io.stdout.write(`Step ${done.number} marked done: ${done.text}\n`);
      }),
    );

  incident
    .command('run <step>')
    .description('run a runbook step Bantay can do (stop/start the app, emergency backup, restore, verify)')
    .option('--id <id>', 'the incident (default: the open one)')
    .option('--target-db <name>', 'restore steps: the new database (default recovered_<time>)')
    .option('--in-place', 'restore steps: in place of the live database (safety backup, atomic swap)')
    .option('--yes', 'with --in-place: do not ask for the database name as confirmation')
    .option('--backup <id>', 'restore/verify steps: this backup instead of the latest clean one')
    .option('--time <when>', 'point-in-time step: this time instead of one second before detection')
    .option('--dry-run', 'print what the step would run, change nothing')
    .action((step: string, opts: StepRunOptions & { id?: string }) =>
      run(async (ctx) => {
        await runIncidentStep(ctx, await pick(ctx, opts.id), parseStepNumber(step), opts);
      }),
    );

  incident
    .command('update <status> <message...>')
    .description(`post a status update (${STATUSES.filter((s) => s !== 'resolved').join(', ')}); the message is public`)
    .option('--id <id>', 'the incident (default: the open one)')
    .action((status: string, words: string[], opts: { id?: string }) =>
      run(async (ctx) => {
        const { incident: updated, message } = await postStatusUpdate(await ctx.state(), await pick(ctx, opts.id), { status: parseStatus(status), publicMessage: words.join(' '), actor: ctx.trigger().by, internalNames: internalNamesOf(ctx.config) });
        ctx.io.stdout.write(`Status is now ${updated.status}.\n\n${renderDrafts(draftMessages(updated.status, message, ctx.config.incident.serviceName))}`);
      }),
    );

  incident
    .command('resolve')
    .description('resolve the incident and write its recovery report')
    .option('--id <id>', 'the incident (default: the open one)')
    .requiredOption('--root-cause <text>', 'what caused it')
    .option('--impact <text>', 'who and what was affected', '')
    .option('--prevention <text>', 'what will stop it happening again', '')
    .option('--lessons <text>', 'lessons learned', '')
    .option('--json', 'print the report as JSON')
    .action((opts: { id?: string; rootCause: string; impact: string; prevention: string; lessons: string; json?: boolean }) =>
      run(async (ctx) => {
        const i = await pick(ctx, opts.id);
        const deps = await ctx.deps();
        const { report, markdown, key } = await resolveIncident(deps, i, { actor: ctx.trigger().by, resolution: { impact: opts.impact, rootCause: opts.rootCause, prevention: opts.prevention, lessonsLearned: opts.lessons } });
        ctx.io.stdout.write(opts.json ? `${JSON.stringify({ ...report, storeKey: key })}\n` : `${markdown}\nReport stored as ${key}\n`);
      }),
    );

  incident
    .command('report <id>')
    .description('print an incident\'s recovery report (or a drill\'s, as a simulated incident) from the store')
    .option('--json', 'print the report as JSON')
    .action((id: string, opts: { json?: boolean }) =>
      run(async (ctx) => {
        const reportId = /^drill-\d{8}T\d{6}Z-[0-9a-f]{4}$/.test(id) ? id : parseIncidentId(id);
        const report = await readIncidentReport(ctx.store, reportId, { keyRing: ctx.config.keyRing, state: await ctx.state() });
        ctx.io.stdout.write(opts.json ? `${JSON.stringify(report)}\n` : renderIncidentReport(report));
      }),
    );
}

async function pick(ctx: CliContext, id: string | undefined): Promise<Incident> {
  const state = await ctx.state();
  return id === undefined ? currentIncident(state) : requireIncident(state, id);
}

function parseSeverity(value: string): Severity {
  if (!(SEVERITIES as readonly string[]).includes(value)) throw new BantayError(ErrorCode.Usage, `--severity must be one of ${SEVERITIES.join(', ')}`);
  return value as Severity;
}

function parseStatus(value: string): IncidentStatus {
  if (!(STATUSES as readonly string[]).includes(value)) throw new BantayError(ErrorCode.Usage, `The status must be one of ${STATUSES.join(', ')}`);
  return value as IncidentStatus;
}

function parseStepNumber(value: string): number {
  if (!/^\d{1,2}$/.test(value)) throw new BantayError(ErrorCode.Usage, 'A step is its number in the checklist (bantay incident show)');
  return Number(value);
}
