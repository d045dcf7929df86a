import type { RestoreSpec } from './restore-database.ts';

/**
 * The in-place restore's plan and spec, below restore-in-place.ts (which plans) and
 * in-place-steps.ts (which applies), so neither imports the other for a type.
 */
export type InPlaceStepKind = 'safety-backup' | 'restore-copy' | 'copy-attributes' | 'stop-app' | 'close-connections' | 'swap' | 'start-app' | 'confirm';

export interface InPlaceStep {
  kind: InPlaceStepKind;
  /** What the step does, for the confirmation prompt, --dry-run and the audit log. */
  description: string;
  /** For hooks: the configured command. */
  command?: string;
}

export interface InPlacePlan {
  backupId: string;
  live: string;
  /** The name the current live database keeps after the swap, until someone drops it. */
  keepAs: string;
  steps: InPlaceStep[];
}

export interface InPlaceSpec extends RestoreSpec {
  hooks: { stop?: string; start?: string; timeoutSeconds: number };
}
