import { SCHEDULE_TRIGGER } from '../../schedule/schedule-config.ts';
import { formatWallTime } from '../../schedule/zoned-time.ts';
import type { MonitorInput, Problem } from './checks.ts';
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

/**
 * The newest run of each job; an alert when it failed and was not a scheduled run, worded by
 * its classification (src/failure.ts): a verify that could not check says nothing about the
 * backup, and a run whose process died (abandoned) is said to be so. Cancelled runs are what a
 * person asked for and raise nothing.
 */
function failedRunProblems(input: MonitorInput): Problem[] {
  const newest = new Map<string, MonitorInput['jobRuns'][number]>();
  for (const run of input.jobRuns) {
    const seen = newest.get(run.job);
    if (!seen || run.startedAt > seen.startedAt) newest.set(run.job, run);
  }
  return [...newest.values()]
    .filter((run) => (run.status === 'failed' || run.status === 'could-not-check' || run.status === 'abandoned') && run.performedBy !== SCHEDULE_TRIGGER.by)
    .map((run) => {
      const started = formatWallTime(run.startedAt, input.timezone);
      const error = run.errorMessage ?? 'no error recorded';
      const wording = {
        failed: { title: 'failed', text: `failed: ${error}.`, remedy: 'Read the error, fix its cause and run it again; this alert resolves when the next run of the same job succeeds.' },
        'could-not-check': {
          title: 'could not check',
          text: `could not reach a verdict because the infrastructure failed (${error}). This says nothing about the backup itself.`,
          remedy: 'Fix what failed (store, network, scratch database server) and run it again; the backup is neither proven good nor bad until then.',
        },
        abandoned: {
          title: 'was abandoned',
          text: 'stopped without finishing: its Bantay process was killed, crashed or restarted, and the next start closed the run.',
          remedy: "Check the process's logs (OOM kills, restarts); run the job again if it matters now.",
        },
      }[run.status as 'failed' | 'could-not-check' | 'abandoned'];
      return {
        key: `job-failed:${run.job}`,
        severity: 'warning' as const,
        title: `${capitalize(run.job)} ${wording.title} (run by ${run.performedBy})`,
        text: `${capitalize(run.job)} started ${started} by ${run.performedBy} ${wording.text}`,
        remedy: wording.remedy,
        fingerprint: run.id,
      };
    });
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
