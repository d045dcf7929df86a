import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { optional } from './ops-schema.ts';
import type { Problem } from './problem.ts';

/**
 * The variables of incident mode (README, "Incident mode"), spread into the one envSchema in
 * schema.ts. Nothing here knows FBMS: the runbooks are files an operator adapts, the public
 * page is off until switched on, and the name it shows is whatever the operator sets.
 */

export const incidentEnvShape = {
  /** Directory of the runbook files, one `<scenario>.md` each; default the ones Bantay ships. */
  BANTAY_RUNBOOK_DIR: optional,
  /** on: serve /public/status and /public/status.json on the ops HTTP port. Default off. */
  BANTAY_PUBLIC_STATUS: optional,
  /** The name the public page and the drafted messages give the service; default "the service". */
  BANTAY_STATUS_SERVICE_NAME: optional,
};

export interface IncidentConfig {
  runbookDir: string;
  publicStatus: boolean;
  serviceName: string;
}

/** The runbooks shipped with Bantay (`runbooks/` at the package root). */
export const SHIPPED_RUNBOOK_DIR = fileURLToPath(new URL('../../runbooks/', import.meta.url));

type Raw = Record<keyof typeof incidentEnvShape, string | undefined>;

export function parseIncidentConfig(raw: Raw, cwd: string, problems: Problem[]): IncidentConfig {
  const flag = (raw.BANTAY_PUBLIC_STATUS ?? 'off').toLowerCase();
  if (!['on', 'off', 'true', 'false', '1', '0'].includes(flag)) problems.push({ variable: 'BANTAY_PUBLIC_STATUS', message: 'must be on or off' });
  const serviceName = raw.BANTAY_STATUS_SERVICE_NAME ?? 'the service';
  if (serviceName.length > 80 || /[<>\n]/.test(serviceName)) problems.push({ variable: 'BANTAY_STATUS_SERVICE_NAME', message: 'must be at most 80 characters, without < > or line breaks' });
  return {
    runbookDir: raw.BANTAY_RUNBOOK_DIR === undefined ? SHIPPED_RUNBOOK_DIR : resolve(cwd, raw.BANTAY_RUNBOOK_DIR),
    publicStatus: ['on', 'true', '1'].includes(flag),
    serviceName,
  };
}
