/**
 * What a bot job hands back to the message builders: below bot-jobs.ts (the facade) and
 * job-results.ts (which builds these), so neither imports the other.
 */
export interface JobResult {
  /** One sentence for the final message. */
  headline: string;
  /** False when the job ran but the answer is bad news (a failed verification or drill). */
  ok: boolean;
  fields: Array<[string, string]>;
  /** Lines for the thread under the message, for the curious. */
  details: string[];
  backupId?: string;
  /** After an in-place restore: what a rollback or clean-up needs. */
  inPlace?: { kind: string; safetyBackupId?: string; keptAs?: string };
}
