import { BantayError, ErrorCode } from '../../errors.ts';
import { formatWallTime, instantOf, wallTime } from '../../schedule/zoned-time.ts';

const PATTERN = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(\.\d{1,6})?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * "YYYY-MM-DD HH:MM:SS[.ffffff][+TZ]" to an instant. Without an offset the time is read in
 * `timezone` (BANTAY_TZ): people say "14:29, just before the bad price update" in their own
 * zone. A wall time that does not exist there (a DST gap) is refused rather than shifted.
 */
export function parseTargetTime(text: string, timezone: string): Date {
  const m = PATTERN.exec(text.trim());
  if (!m) throw new BantayError(ErrorCode.Usage, `--time must look like "2026-11-26 14:29:00" (optionally with an offset such as +08:00), not "${text.slice(0, 40)}"`);
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [number, number, number, number, number, number];
  const micros = m[7] === undefined ? 0 : Number(m[7]) * 1000;
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 59) throw new BantayError(ErrorCode.Usage, `--time "${text.slice(0, 40)}" is not a valid date and time`);
  let ms: number;
  if (m[8] !== undefined) {
    ms = Date.UTC(year, month - 1, day, hour, minute, second) - offsetMinutes(m[8]) * 60_000;
    if (new Date(Date.UTC(year, month - 1, day)).getUTCDate() !== day) throw new BantayError(ErrorCode.Usage, `--time "${text.slice(0, 40)}" is not a valid date`);
  } else {
    ms = instantOf({ year, month, day, hour, minute, second }, timezone);
    const back = wallTime(ms, timezone);
    if (back.day !== day || back.hour !== hour || back.minute !== minute || back.second !== second) {
      throw new BantayError(ErrorCode.Usage, `--time "${text.slice(0, 40)}" does not exist in ${timezone}`);
    }
  }
  return new Date(ms + micros);
}

function offsetMinutes(zone: string): number {
  if (zone.toUpperCase() === 'Z') return 0;
  const sign = zone.startsWith('-') ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2) || '0'));
}

/** "2026-11-26 14:29:00 Asia/Manila": how restore messages show times. */
export function describeTime(instant: Date, timezone: string): string {
  return `${formatWallTime(instant, timezone, true)} ${timezone}`;
}
