/**
 * The vocabulary of incident mode, shared by the jobs, the CLI and Slack. Plain data: an
 * incident is its row plus its events; everything else (timeline, report) is derived.
 */

/** Scenario names are runbook file names: lower-case words joined by hyphens. */
export const SCENARIO_PATTERN = /^[a-z][a-z0-9]*(?:-[a-z0-9]+){0,5}$/;

export const SEVERITIES = ['sev1', 'sev2', 'sev3'] as const;
export type Severity = (typeof SEVERITIES)[number];
export const SEVERITY_TEXT: Record<Severity, string> = {
  sev1: 'SEV1: service down or data at risk',
  sev2: 'SEV2: service degraded',
  sev3: 'SEV3: minor',
};

/** The public status of an incident, as the communication plan names them. */
export const STATUSES = ['investigating', 'identified', 'recovering', 'monitoring', 'resolved'] as const;
export type IncidentStatus = (typeof STATUSES)[number];

/** What Bantay itself can do for a runbook step; any other step is done by people. */
export const STEP_ACTIONS = ['stop-app', 'start-app', 'emergency-backup', 'restore-latest', 'restore-pitr', 'verify-restored', 'restore-files', 'restore-secondary'] as const;
export type StepAction = (typeof STEP_ACTIONS)[number];

/** Where a restore step puts the data: a new database (default) or in place of the live one. */
export type RestoreTo = 'new' | 'in-place';

export interface RunbookStep {
  /** 1-based, as the file numbers it. */
  number: number;
  text: string;
  action?: StepAction;
  to?: RestoreTo;
}

export interface Runbook {
  scenario: string;
  title: string;
  /** The scenario's response-time objective. */
  objectiveSeconds: number;
  description: string;
  steps: RunbookStep[];
}

export interface Incident {
  id: string;
  scenario: string;
  title: string;
  severity: Severity;
  summary: string;
  /** When the problem was detected: the reference for data loss. */
  detectedAt: Date;
  declaredAt: Date;
  declaredBy: string;
  commander: string;
  status: IncidentStatus;
  objectiveSeconds: number;
  /** The runbook as it was when the incident was declared (a later edit changes no open incident). */
  steps: RunbookStep[];
  resolvedAt: Date | null;
  /** Slack: where the headline lives (the thread of the incident). */
  slackChannel: string | null;
  slackTs: string | null;
  slackChecklistTs: string | null;
}

export type EventKind = 'declared' | 'note' | 'commander' | 'step-done' | 'step-started' | 'step-finished' | 'status-update' | 'resolved';

export interface IncidentEvent {
  id: string;
  incidentId: string;
  at: Date;
  kind: EventKind;
  actor: string;
  text: string;
  details: Record<string, unknown>;
}
