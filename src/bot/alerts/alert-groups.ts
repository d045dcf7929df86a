/**
 * Problems with one cause share one Slack message. When the scheduler stops, every kind of
 * backup goes stale at once: that is one alert ("scheduled backups are not running"), not three
 * critical ones. Everything else is its own group. Keys are monitoring's ("stale:database");
 * they never appear in a message.
 */
export function groupOf(problemKey: string): string {
  if (problemKey.startsWith('stale:')) return 'scheduled-backups';
  return problemKey;
}

export interface GroupMember {
  severity: 'info' | 'warning' | 'critical';
  title: string;
  text: string;
}

/** The title of a group's message: the member's own when alone, the shared cause otherwise. */
export function groupTitle(group: string, members: readonly GroupMember[]): string {
  if (members.length === 1) return members[0]!.title;
  if (group === 'scheduled-backups') return `${members.length} scheduled backups are late: the scheduler may have stopped`;
  return `${members.length} related problems`;
}

export function worstSeverity(members: readonly GroupMember[]): GroupMember['severity'] {
  if (members.some((m) => m.severity === 'critical')) return 'critical';
  if (members.some((m) => m.severity === 'warning')) return 'warning';
  return 'info';
}
