import type { Manifest } from '../../catalog/manifest.ts';
import { BantayError, ErrorCode } from '../../errors.ts';
import { printable } from '../../catalog/backup-id.ts';

const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

/** Validates a YYYY-MM-DD day typed by a user (a real calendar day). */
export function parseLocalDate(value: string): string {
  const match = DATE.exec(value.trim());
  const date = match ? new Date(Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))) : undefined;
  if (match === null || date === undefined || date.toISOString().slice(0, 10) !== value.trim()) {
    throw new BantayError(ErrorCode.InvalidInput, `"${printable(value)}" is not a date: use YYYY-MM-DD, e.g. 2026-11-26`);
  }
  return value.trim();
}

/** The calendar day (YYYY-MM-DD) of an instant in a time zone. */
export function localDay(instant: Date, timeZone: string): string {
  return new Intl.DateTimeFormat('en-CA', { timeZone, year: 'numeric', month: '2-digit', day: '2-digit' }).format(instant);
}

/**
 * The last backup of `kind` created on `day` in `timeZone` (the seed procedure's "uploads
 * recovery by date"): restoring it gives the tree as it was at the end of that day's backups.
 * Pure; the caller lists the manifests.
 */
export function pickLastBackupOfDay(manifests: readonly Manifest[], day: string, timeZone: string): Manifest | undefined {
  let best: Manifest | undefined;
  for (const m of manifests) {
    if (localDay(new Date(m.createdAt), timeZone) !== day) continue;
    if (best === undefined || m.createdAt > best.createdAt || (m.createdAt === best.createdAt && m.id > best.id)) best = m;
  }
  return best;
}

/**
 * Ids (newest first) whose encoded UTC time falls on `day` in `timeZone`: the candidates for
 * pickLastBackupOfDay, found without reading manifests.
 */
export function idsOnDay(ids: readonly string[], day: string, timeZone: string, timeOf: (id: string) => Date): string[] {
  return ids.filter((id) => {
    const at = timeOf(id);
    return !Number.isNaN(at.getTime()) && localDay(at, timeZone) === day;
  });
}
