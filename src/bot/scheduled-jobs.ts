import { BantayError, ErrorCode } from '../errors.ts';
import type { ScheduledJobName } from '../schedule/schedule-config.ts';
import type { ScheduledJobRunner } from '../schedule/scheduler.ts';
import type { BotJobSpec } from './job-spec.ts';
import type { BotServices } from './services.ts';

const SCHEDULED_SPECS: Partial<Record<ScheduledJobName, BotJobSpec>> = {
  database: { type: 'backup', variant: 'database' },
  application: { type: 'backup', variant: 'application' },
  uploads: { type: 'backup', variant: 'uploads' },
  full: { type: 'backup', variant: 'full' },
  verify: { type: 'verify', backup: 'latest' },
  drill: { type: 'drill' },
};

/**
 * The scheduler's runners for the jobs the bot runs: through the same JobRunner as Slack
 * requests, so a scheduled backup posts its progress message in #incidents, takes the same
 * per-resource lock (a 02:00 backup waits for no one: if a person's backup of the database is
 * running, the fire fails and says why) and ends with a Retry button when it fails. Jobs this
 * deployment cannot run (no APP_DIR...) get no runner; the scheduler logs and skips them.
 */
export function createScheduledJobRunners(s: BotServices): Partial<Record<ScheduledJobName, ScheduledJobRunner>> {
  const runners: Partial<Record<ScheduledJobName, ScheduledJobRunner>> = {};
  for (const [job, spec] of Object.entries(SCHEDULED_SPECS) as Array<[ScheduledJobName, BotJobSpec]>) {
    if (s.jobs.unavailable(spec) !== undefined) continue;
    runners[job] = async ({ trigger, signal }) => {
      const started = s.runner.start(spec, trigger.by, { trigger, signal });
      if (!started.started) throw new BantayError(ErrorCode.Usage, `${started.running.title} was still running, so the scheduled ${job} run was skipped`);
      // The run is over when the job is, not when Slack has taken its message (Slack may be down).
      const outcome = await started.ended;
      if ('error' in outcome) throw outcome.error;
      if (!outcome.ok) throw new BantayError(ErrorCode.Integrity, outcome.result.headline.replace(/`/g, ''));
    };
  }
  return runners;
}
