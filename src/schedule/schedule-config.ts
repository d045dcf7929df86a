import { validateDetailed } from 'node-cron';

/**
 * What runs on its own, and when. Defaults follow the FBMS recovery procedures, in BANTAY_TZ
 * (default Asia/Manila, which has no daylight-saving time). Every entry can be changed with a
 * cron string in BANTAY_SCHEDULE_<JOB> or turned off with "off".
 */
export const SCHEDULED_JOBS = ['database', 'application', 'uploads', 'full', 'base', 'verify', 'sync', 'retention', 'monitor', 'drill'] as const;
export type ScheduledJobName = (typeof SCHEDULED_JOBS)[number];

/** Cron expression per job, or null when the job is off. */
export type ScheduleConfig = Record<ScheduledJobName, string | null>;

export const DEFAULT_TIMEZONE = 'Asia/Manila';

/** Who scheduled runs are performed by, in manifests, job runs and the audit log. */
export const SCHEDULE_TRIGGER = { by: 'schedule', via: 'schedule' } as const;

/**
 * node-cron ANDs day-of-month and day-of-week (Vixie cron ORs them), and supports "1#1" for
 * "the first Monday of the month"; the drill uses that so people are awake to read its report.
 */
export const DEFAULT_SCHEDULE: ScheduleConfig = {
  database: '0 2 * * *',
  application: '30 2 * * *',
  uploads: '0 3 * * *',
  full: '0 1 * * 0',
  // Point-in-time recovery's weekly base backup; off while BANTAY_WAL=off (load-config.ts).
  base: '30 0 * * 0',
  verify: '0 4 * * *',
  sync: '0 5 * * *',
  retention: '0 6 * * *',
  monitor: '*/15 * * * *',
  drill: '0 9 * * 1#1',
};

export const JOB_DESCRIPTIONS: Record<ScheduledJobName, string> = {
  database: 'database backup',
  application: 'application files backup',
  uploads: 'uploads backup',
  full: 'full set (database, application, uploads)',
  base: 'physical base backup (point-in-time recovery)',
  verify: 'verify the newest backups',
  sync: 'copy to the secondary location',
  retention: 'prune by the retention policy',
  monitor: 'monitoring checks',
  drill: 'recovery drill (report to #incidents)',
};

export function scheduleVariable(job: ScheduledJobName): string {
  return `BANTAY_SCHEDULE_${job.toUpperCase()}`;
}

export type Problem = { variable: string; message: string };

/**
 * Reads BANTAY_SCHEDULE_* from `env` (unset: the default; "off": disabled). Pushes one problem
 * per invalid expression, naming the variable and the field that is wrong.
 */
export function parseScheduleConfig(env: Partial<Record<string, string | undefined>>, problems: Problem[]): ScheduleConfig {
  const schedule = { ...DEFAULT_SCHEDULE };
  for (const job of SCHEDULED_JOBS) {
    const variable = scheduleVariable(job);
    const raw = env[variable]?.trim();
    if (raw === undefined || raw === '') continue;
    if (/^(off|disabled?|none)$/i.test(raw)) {
      schedule[job] = null;
      continue;
    }
    const problem = cronProblem(raw);
    if (problem === undefined) schedule[job] = normalizeCron(raw);
    else problems.push({ variable, message: problem });
  }
  return schedule;
}

/** Why `expression` is not a cron string node-cron accepts, or undefined when it is. */
export function cronProblem(expression: string): string | undefined {
  const result = validateDetailed(expression);
  if (result.valid) return undefined;
  const reasons = result.errors.map((e) => e.message.replace(' is a invalid ', ' is an invalid ')).join('; ');
  return `is not a valid cron expression (${reasons}); use 5 fields "minute hour day-of-month month day-of-week" (6 with seconds first), or "off"`;
}

function normalizeCron(expression: string): string {
  return expression.replace(/\s+/g, ' ');
}
