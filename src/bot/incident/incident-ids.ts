/** Ids of incident mode's Slack payloads (the rest are in ../action-ids.ts). */
export const IncidentIds = {
  command: '/incident',
  declareView: 'bantay_incident_declare',
  resolveView: 'bantay_incident_resolve',
  runView: 'bantay_incident_run',
  /** Per step: bantay_incident_run_3, bantay_incident_done_3 (unique in the message, routed by pattern). */
  runPrefix: 'bantay_incident_run_',
  donePrefix: 'bantay_incident_done_',
  block: {
    scenario: 'incident_scenario',
    severity: 'incident_severity',
    detectedAt: 'incident_detected_at',
    summary: 'incident_summary',
    impact: 'incident_impact',
    rootCause: 'incident_root_cause',
    prevention: 'incident_prevention',
    lessons: 'incident_lessons',
    target: 'incident_target',
    targetName: 'incident_target_name',
    reason: 'incident_reason',
  },
} as const;

export const RUN_ACTION = /^bantay_incident_run_\d{1,2}$/;
export const DONE_ACTION = /^bantay_incident_done_\d{1,2}$/;
