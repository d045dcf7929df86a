/** Short, human numbers for alert texts and the status page. */
export function ageText(fromMs: number, now: Date): string {
  const s = Math.max(0, (now.getTime() - fromMs) / 1000);
  if (s < 90) return `${Math.round(s)}s`;
  if (s < 5400) return `${Math.round(s / 60)}m`;
  if (s < 172_800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86_400)}d`;
}

/** Binary units (KiB, MiB, GiB), as every job message and the CLI write them. */
export function bytesText(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${bytes} B` : `${value.toFixed(value >= 100 ? 0 : 1)} ${units[unit]}`;
}

/** A duration in seconds as "45m", "26h" or "3d". */
export function durationText(seconds: number): string {
  return ageText(0, new Date(seconds * 1000));
}
