/**
 * Wall-clock time in an IANA time zone, without a date library: Intl gives the parts of an
 * instant, and an instant for given parts is found by guessing the offset twice (enough for any
 * zone, DST included). Used by the cron evaluator and by retention's calendar months.
 */
export interface WallTime {
  year: number;
  /** 1-12 */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 = Sunday ... 6 = Saturday */
  weekday: number;
}

const WEEKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatterFor(timezone: string): Intl.DateTimeFormat {
  let formatter = formatters.get(timezone);
  if (!formatter) {
    formatter = new Intl.DateTimeFormat('en-US', {
      timeZone: timezone,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      weekday: 'short',
    });
    formatters.set(timezone, formatter);
  }
  return formatter;
}

export function wallTime(instant: Date | number, timezone: string): WallTime {
  const parts: Record<string, string> = {};
  for (const part of formatterFor(timezone).formatToParts(new Date(instant))) parts[part.type] = part.value;
  return {
    year: Number(parts.year),
    month: Number(parts.month),
    day: Number(parts.day),
    hour: Number(parts.hour) % 24,
    minute: Number(parts.minute),
    second: Number(parts.second),
    weekday: WEEKDAYS.indexOf(parts.weekday ?? ''),
  };
}

/** Offset of `timezone` from UTC at `ms`, in milliseconds (Manila: +8h). */
function offsetMs(ms: number, timezone: string): number {
  const w = wallTime(ms, timezone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - Math.floor(ms / 1000) * 1000;
}

/**
 * The instant whose wall time in `timezone` is the given one. A wall time skipped by a DST jump
 * maps to an instant whose wall time differs (callers re-check); a repeated one to the earlier.
 */
export function instantOf(w: Omit<WallTime, 'weekday'>, timezone: string): number {
  const guess = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  const first = guess - offsetMs(guess, timezone);
  const second = guess - offsetMs(first, timezone);
  if (first === second) return first;
  const readsBack = (ms: number) => {
    const p = wallTime(ms, timezone);
    return p.year === w.year && p.month === w.month && p.day === w.day && p.hour === w.hour && p.minute === w.minute && p.second === w.second;
  };
  if (readsBack(Math.min(first, second))) return Math.min(first, second);
  if (readsBack(Math.max(first, second))) return Math.max(first, second);
  return Math.max(first, second);
}

/** "2026-12-07 09:00" in `timezone`: how people read schedule times. */
export function formatWallTime(instant: Date | number, timezone: string, withSeconds = false): string {
  const w = wallTime(instant, timezone);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${w.year}-${pad(w.month)}-${pad(w.day)} ${pad(w.hour)}:${pad(w.minute)}${withSeconds ? `:${pad(w.second)}` : ''}`;
}

/** "2026-03" in `timezone`: the calendar month an instant falls in. */
export function monthOf(instant: Date | number, timezone: string): string {
  const w = wallTime(instant, timezone);
  return `${w.year}-${String(w.month).padStart(2, '0')}`;
}

/** The same wall time `months` calendar months later (day clamped to the month's end). */
export function addMonths(instant: Date | number, months: number, timezone: string): number {
  const w = wallTime(instant, timezone);
  const monthIndex = w.year * 12 + (w.month - 1) + months;
  const year = Math.floor(monthIndex / 12);
  const month = (monthIndex % 12) + 1;
  const day = Math.min(w.day, daysInMonth(year, month));
  return instantOf({ ...w, year, month, day }, timezone);
}

export function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month, 0)).getUTCDate();
}
