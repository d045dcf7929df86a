/** Short, human numbers for alert texts and the status page. */
export function ageText(fromMs: number, now: Date): string {
  const s = Math.max(0, (now.getTime() - fromMs) / 1000);
  if (s < 90) return `${Math.round(s)}s`;
  if (s < 5400) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

/** Binary units (KiB, MiB, GiB), as every job message and the CLI write them. */
export { formatBytes as bytesText } from '../../format/units.ts';

/** A duration in seconds as "45m", "26h" or "3d". */
export function durationText(seconds: number): string {
  return ageText(0, new Date(seconds * 1000));
}
