import { parse, type ParsedFields } from 'node-cron';
import { daysInMonth, instantOf, wallTime, type WallTime } from './zoned-time.ts';

/**
 * When a cron expression fires, computed from an injected "now" (node-cron's own getNextRuns
 * always starts from the real clock). Fields come from node-cron's parser and days match with
 * node-cron's rules, so what `bantay schedule` prints is what the scheduler runs:
 * - day-of-month AND day-of-week must both match (Vixie cron ORs them when both are restricted);
 * - day-of-month also takes L, L-n, nW and LW; day-of-week n#k (k-th weekday n) and nL (last).
 * test/schedule/next-runs.test.ts cross-checks every answer against node-cron's matcher.
 */
export interface CronSchedule {
  readonly expression: string;
  readonly timezone: string;
  readonly fields: ParsedFields;
}

/** Searching stops after this many days (a "31 2 *" style expression never fires). */
const SEARCH_DAYS = 366 * 5;

export function compileCron(expression: string, timezone: string): CronSchedule {
  const fields = parse(expression);
  const sort = (values: number[]) => [...values].sort((a, b) => a - b);
  return {
    expression,
    timezone,
    fields: { ...fields, second: sort(fields.second), minute: sort(fields.minute), hour: sort(fields.hour) },
  };
}

/** The next `count` fire times strictly after `after`. */
export function nextRuns(schedule: CronSchedule, after: Date, count: number): Date[] {
  const runs: Date[] = [];
  let from = after.getTime();
  while (runs.length < count) {
    const next = findRun(schedule, from, 1);
    if (next === undefined) break;
    runs.push(new Date(next));
    from = next;
  }
  return runs;
}

/** The latest fire time at or before `atOrBefore`, or undefined when it never fired in 5 years. */
export function previousRun(schedule: CronSchedule, atOrBefore: Date): Date | undefined {
  const found = findRun(schedule, atOrBefore.getTime() + 1, -1);
  return found === undefined ? undefined : new Date(found);
}

/** True when `instant` (to the second) is a fire time of `schedule`. */
export function matchesCron(schedule: CronSchedule, instant: Date): boolean {
  const w = wallTime(instant, schedule.timezone);
  const f = schedule.fields;
  return f.second.includes(w.second) && f.minute.includes(w.minute) && f.hour.includes(w.hour) && dayMatches(f, w);
}

/**
 * Walks calendar days in the schedule's zone from the day of `fromMs`, forwards (direction 1:
 * first fire > fromMs) or backwards (-1: last fire < fromMs), trying the day's times in order.
 */
function findRun(schedule: CronSchedule, fromMs: number, direction: 1 | -1): number | undefined {
  const f = schedule.fields;
  const start = wallTime(fromMs, schedule.timezone);
  const startSeconds = start.hour * 3600 + start.minute * 60 + start.second;
  const order = (values: number[]) => (direction === 1 ? values : [...values].reverse());
  let day = start;
  for (let i = 0; i < SEARCH_DAYS; i++, day = shiftDay(day, direction)) {
    if (!dayMatches(f, day)) continue;
    for (const hour of order(f.hour)) {
      // On the first day, wall times on the wrong side of "from" cannot be the answer.
      if (i === 0 && (hour - start.hour) * direction < 0) continue;
      for (const minute of order(f.minute)) {
        for (const second of order(f.second)) {
          if (i === 0 && (hour * 3600 + minute * 60 + second - startSeconds) * direction < 0) continue;
          const ms = instantOf({ year: day.year, month: day.month, day: day.day, hour, minute, second }, schedule.timezone);
          const inRange = direction === 1 ? ms > fromMs : ms < fromMs;
          if (inRange && matchesCron(schedule, new Date(ms))) return ms;
        }
      }
    }
  }
  return undefined;
}

function shiftDay(w: WallTime, days: number): WallTime {
  const d = new Date(Date.UTC(w.year, w.month - 1, w.day + days));
  return { year: d.getUTCFullYear(), month: d.getUTCMonth() + 1, day: d.getUTCDate(), hour: 0, minute: 0, second: 0, weekday: d.getUTCDay() };
}

function dayMatches(f: ParsedFields, w: Pick<WallTime, 'year' | 'month' | 'day'>): boolean {
  if (!f.month.includes(w.month)) return false;
  const weekday = new Date(Date.UTC(w.year, w.month - 1, w.day)).getUTCDay();
  return f.dayOfMonth.some((token) => dayOfMonthMatches(token, w)) && f.dayOfWeek.some((token) => dayOfWeekMatches(token, w, weekday));
}

function dayOfMonthMatches(token: number | string, w: Pick<WallTime, 'year' | 'month' | 'day'>): boolean {
  if (typeof token === 'number') return token === w.day;
  const last = daysInMonth(w.year, w.month);
  if (token === 'L') return w.day === last;
  const offset = /^L-(\d{1,2})$/.exec(token);
  if (offset) return last - Number(offset[1]) === w.day;
  const nearest = /^(\d{1,2}|L)W$/.exec(token);
  if (nearest) return nearestWeekday(w.year, w.month, nearest[1] === 'L' ? last : Number(nearest[1])) === w.day;
  return false;
}

/** The weekday (Mon-Fri) nearest to `target` within its month, as node-cron defines "nW". */
function nearestWeekday(year: number, month: number, target: number): number {
  const last = daysInMonth(year, month);
  if (target < 1 || target > last) return -1;
  const weekday = new Date(Date.UTC(year, month - 1, target)).getUTCDay();
  if (weekday === 6) return target === 1 ? target + 2 : target - 1;
  if (weekday === 0) return target === last ? target - 2 : target + 1;
  return target;
}

function dayOfWeekMatches(token: number | string, w: Pick<WallTime, 'year' | 'month' | 'day'>, weekday: number): boolean {
  if (typeof token === 'number') return token % 7 === weekday;
  const nth = /^([0-7])#([1-5])$/.exec(token);
  if (nth) return Number(nth[1]) % 7 === weekday && Math.floor((w.day - 1) / 7) + 1 === Number(nth[2]);
  const lastOf = /^([0-7])L$/i.exec(token);
  if (lastOf) return Number(lastOf[1]) % 7 === weekday && w.day + 7 > daysInMonth(w.year, w.month);
  return false;
}
