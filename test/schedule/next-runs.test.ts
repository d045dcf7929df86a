import { createTask } from 'node-cron';
import { describe, expect, it } from 'vitest';
import { compileCron, matchesCron, nextRuns, previousRun } from '../../src/schedule/next-runs.ts';
import { DEFAULT_SCHEDULE } from '../../src/schedule/schedule-config.ts';
import { formatWallTime } from '../../src/schedule/zoned-time.ts';

const MANILA = 'Asia/Manila';
/** A Manila wall time as an instant: Manila is UTC+8 all year (no DST since 1978). */
const manila = (wall: string) => new Date(`${wall}+08:00`);
const local = (dates: Date[]) => dates.map((d) => formatWallTime(d, MANILA));

describe('nextRuns in Asia/Manila from an injected now', () => {
  it.each([
    // [expression, now (Manila), expected next runs (Manila)]
    ['0 2 * * *', '2026-11-26T01:59:59', ['2026-11-26 02:00', '2026-11-27 02:00', '2026-11-28 02:00']],
    ['0 2 * * *', '2026-11-26T02:00:00', ['2026-11-27 02:00', '2026-11-28 02:00', '2026-11-29 02:00']],
    ['0 2 * * *', '2026-11-30T03:00:00', ['2026-12-01 02:00', '2026-12-02 02:00', '2026-12-03 02:00']],
    ['0 2 * * *', '2026-12-31T23:00:00', ['2027-01-01 02:00', '2027-01-02 02:00', '2027-01-03 02:00']],
    ['30 2 * * *', '2026-02-28T12:00:00', ['2026-03-01 02:30', '2026-03-02 02:30', '2026-03-03 02:30']],
    ['0 1 * * 0', '2026-11-26T10:00:00', ['2026-11-29 01:00', '2026-12-06 01:00', '2026-12-13 01:00']],
    ['*/15 * * * *', '2026-11-30T23:50:00', ['2026-12-01 00:00', '2026-12-01 00:15', '2026-12-01 00:30']],
    // First Monday 09:00: Dec 2026 starts on a Tuesday, Feb 2027 on a Monday, Mar 2027 on a Monday.
    ['0 9 * * 1#1', '2026-11-26T10:00:00', ['2026-12-07 09:00', '2027-01-04 09:00', '2027-02-01 09:00']],
    ['0 9 * * 1#1', '2027-02-01T09:00:00', ['2027-03-01 09:00', '2027-04-05 09:00', '2027-05-03 09:00']],
    // node-cron ANDs day-of-month and day-of-week, so this spelling means the same.
    ['0 9 1-7 * 1', '2026-11-26T10:00:00', ['2026-12-07 09:00', '2027-01-04 09:00', '2027-02-01 09:00']],
    ['0 0 L * *', '2027-01-15T00:00:00', ['2027-01-31 00:00', '2027-02-28 00:00', '2027-03-31 00:00']],
    ['0 0 29 2 *', '2026-01-01T00:00:00', ['2028-02-29 00:00', '2032-02-29 00:00', '2036-02-29 00:00']],
  ])('%s after %s', (expression, now, expected) => {
    expect(local(nextRuns(compileCron(expression, MANILA), manila(now), 3))).toEqual(expected);
  });

  it('02:00 Manila is 18:00 UTC the day before, every day of the year', () => {
    const runs = nextRuns(compileCron('0 2 * * *', MANILA), manila('2026-01-01T00:00:00'), 365);
    expect(runs).toHaveLength(365);
    expect(runs.every((d) => d.getUTCHours() === 18 && d.getUTCMinutes() === 0)).toBe(true);
  });

  it('seconds fields and the every-second schedule the replica tests use', () => {
    const runs = nextRuns(compileCron('* * * * * *', MANILA), new Date('2026-11-26T00:00:00.500Z'), 3);
    expect(runs.map((d) => d.toISOString())).toEqual(['2026-11-26T00:00:01.000Z', '2026-11-26T00:00:02.000Z', '2026-11-26T00:00:03.000Z']);
  });

  it('a daylight-saving zone: nonexistent times are skipped, like node-cron does', () => {
    // America/New_York springs forward at 02:00 on 2026-03-08: 02:30 does not exist that day.
    const runs = nextRuns(compileCron('30 2 * * *', 'America/New_York'), new Date('2026-03-07T12:00:00Z'), 3);
    expect(runs.map((d) => formatWallTime(d, 'America/New_York'))).toEqual(['2026-03-09 02:30', '2026-03-10 02:30', '2026-03-11 02:30']);
  });
});

describe('previousRun (the dead-man switch asks "which fire should have happened by now")', () => {
  it.each([
    ['0 2 * * *', '2026-11-26T04:00:00', '2026-11-26 02:00'],
    ['0 2 * * *', '2026-11-26T02:00:00', '2026-11-26 02:00'],
    ['0 2 * * *', '2026-11-26T01:59:59', '2026-11-25 02:00'],
    ['0 2 * * *', '2026-12-01T01:00:00', '2026-11-30 02:00'],
    ['0 1 * * 0', '2026-12-01T12:00:00', '2026-11-29 01:00'],
    ['0 9 * * 1#1', '2026-12-31T12:00:00', '2026-12-07 09:00'],
    ['0 9 * * 1#1', '2027-01-04T08:59:00', '2026-12-07 09:00'],
  ])('%s at or before %s', (expression, at, expected) => {
    expect(formatWallTime(previousRun(compileCron(expression, MANILA), manila(at))!, MANILA)).toBe(expected);
  });
});

describe('agreement with node-cron', () => {
  const expressions = [...Object.values(DEFAULT_SCHEDULE).filter((e): e is string => e !== null), '0 9 1-7 * 1', '5 4 L * *', '0 12 15W * *', '0 0 * * 5L', '0 */6 * * 1-5', '@daily'];

  it.each(expressions)('every fire time of %s is one node-cron matches, and nothing in between is', (expression) => {
    const schedule = compileCron(expression, MANILA);
    const task = createTask(expression, () => undefined, { timezone: MANILA });
    const runs = nextRuns(schedule, manila('2026-11-01T00:00:00'), 40);
    expect(runs.length).toBe(40);
    for (const run of runs) expect(task.match(run)).toBe(true);
    // Between two consecutive fires, sample minutes: node-cron must not match any of them.
    for (let i = 1; i < Math.min(runs.length, 4); i++) {
      for (let t = runs[i - 1]!.getTime() + 60_000; t < runs[i]!.getTime(); t += 7 * 60_000 + 13_000) {
        const minute = new Date(Math.floor(t / 60_000) * 60_000);
        expect(task.match(minute)).toBe(matchesCron(schedule, minute));
      }
    }
    void task.destroy();
  });
});
