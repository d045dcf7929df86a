import { SCHEDULE_TRIGGER } from '../../schedule/schedule-config.ts';
import { formatWallTime } from '../../schedule/zoned-time.ts';
import type { MonitorInput, Problem } from './monitor-types.ts';
import { durationText } from './text.ts';

/**
 * Failed and stuck work. Scheduled fires are judged by their lease rows (which also catch a
 * replica that died mid-run, and failures before a job even started); manual runs by job_runs.
 * A scheduled backup's own job_runs row is therefore not alerted twice.
 */
export function jobProblems(input: MonitorInput): Problem[] {
  return [...fireProblems(input), ...failedRunProblems(input), ...stuckRunProblems(input)];
}

function fireProblems(input: MonitorInput): Problem[] {
  const problems: Problem[] = [];
  for (const fire of input.fires) {
    if (fire.status === 'succeeded' || fire.status === 'running' || fire.status === 'skipped') continue;
    const at = formatWallTime(fire.fireAt, input.timezone);
    const isBackup = ['database', 'application', 'uploads', 'full'].includes(fire.job);
    const what: Record<string, string> = {
      failed: `failed: ${fire.errorMessage ?? 'no error recorded'}`,
      aborted: `was cancelled (${fire.errorMessage ?? 'Bantay stopped'})`,
      abandoned: `was abandoned: replica ${fire.owner} stopped heart-beating mid-run (crashed, killed or lost the state database)`,
    };
    problems.push({
      key: `schedule:${fire.job}`,
      severity: isBackup || fire.status === 'abandoned' ? 'critical' : 'warning',
      title: `Scheduled ${fire.job} run of ${at} ${fire.status}`,
      text: `The scheduled ${fire.job} run of ${at} (${input.timezone}) ${what[fire.status] ?? fire.status}.`,
      remedy:
        fire.status === 'abandoned'
          ? `Check replica ${fire.owner} (logs, OOM kills, restarts) and run the job by hand if it matters now; the next fire runs as usual.`
          : `Read the error, fix its cause, and run the job by hand (bantay ${cliCommandOf(fire.job)}) rather than wait for the next fire.`,
      fingerprint: fire.fireAt.toISOString(),
    });
  }
  return problems;
}

/** The newest run of each job; an alert when it failed and was not a scheduled run. */
function failedRunProblems(input: MonitorInput): Problem[] {
  const newest = new Map<string, MonitorInput['jobRuns'][number]>();
  for (const run of input.jobRuns) {
    const seen = newest.get(run.job);
    if (!seen || run.startedAt > seen.startedAt) newest.set(run.job, run);
  }
  return [...newest.values()]
    .filter((run) => run.status === 'failed' && run.performedBy !== SCHEDULE_TRIGGER.by)
    .map((run) => ({
      key: `job-failed:${run.job}`,
      severity: 'warning' as const,
      title: `${capitalize(run.job)} failed (run by ${run.performedBy})`,
      text: `${capitalize(run.job)} started ${formatWallTime(run.startedAt, input.timezone)} by ${run.performedBy} failed: ${run.errorMessage ?? 'no error recorded'}.`,
      remedy: 'Read the error, fix its cause and run it again; this alert resolves when the next run of the same job succeeds.',
      fingerprint: run.id,
    }));
}

function stuckRunProblems(input: MonitorInput): Problem[] {
  const limitMs = input.thresholds.stuckJobSeconds * 1000;
  return input.jobRuns
    .filter((run) => run.status === 'running' && input.now.getTime() - run.startedAt.getTime() > limitMs)
    .map((run) => ({
      key: `job-stuck:${run.id}`,
      severity: 'warning' as const,
      title: `${capitalize(run.job)} has been running for ${durationText((input.now.getTime() - run.startedAt.getTime()) / 1000)}`,
      text: `Run ${run.id} (${run.job}, by ${run.performedBy}) started ${formatWallTime(run.startedAt, input.timezone)} and has not finished. Either it is very slow or the process running it died.`,
      remedy: 'Check the Bantay process and its logs. A run whose process died stays "running" in the state database; the next run of the job is not blocked by it.',
      fingerprint: run.id,
    }));
}

function cliCommandOf(job: string): string {
  const commands: Record<string, string> = {
    database: 'backup database',
    application: 'backup application',
    uploads: 'backup uploads',
    full: 'backup full',
    verify: 'verify latest',
    sync: 'sync',
    retention: 'prune',
    monitor: 'monitor',
    drill: 'drill',
  };
  return commands[job] ?? job;
}

function capitalize(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}
