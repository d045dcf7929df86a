import { SlashCommand } from '../action-ids.ts';

/** Every command in one line each: `/backup help`, an @-mention of the bot and App Home's footer. */
export const COMMAND_LINES: ReadonlyArray<readonly [string, string]> = [
  [SlashCommand.Backup, 'take a backup now (database, application, uploads, full, emergency, or pre-deploy with a version)'],
  [SlashCommand.Restore, 'restore a backup into a new database or folder, or the database as it was at a point in time; in place only with a second person’s approval'],
  [SlashCommand.Verify, 'prove a backup restores: the latest database backup, or the one you name'],
  [SlashCommand.Drill, 'recovery drill: verify the latest backup of each kind and measure how long recovery takes'],
  [SlashCommand.Backups, 'the latest backups, running jobs and waiting approvals, shown only to you'],
  [SlashCommand.Incident, 'run an incident: declare it, work its runbook checklist, post status updates, resolve it into a recovery report'],
];
