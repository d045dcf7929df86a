import { SlashCommand } from '../action-ids.ts';
import { USAGE } from '../job-spec.ts';
import { replyEphemeral, type CommandArgs } from './common.ts';

/** Every command in one line each: `/backup help`, an @-mention of the bot and App Home's footer. */
export const COMMAND_LINES: ReadonlyArray<readonly [string, string]> = [
  [SlashCommand.Backup, 'take a backup now (database, application, uploads, full, emergency, or pre-deploy with a version)'],
  [SlashCommand.Restore, 'restore a backup into a new database or folder; in place only with a second person’s approval'],
  [SlashCommand.Verify, 'prove a backup restores: the latest database backup, or the one you name'],
  [SlashCommand.Drill, 'recovery drill: verify the latest backup of each kind and measure how long recovery takes'],
  [SlashCommand.Backups, 'the latest backups, running jobs and waiting approvals, shown only to you'],
];

export function helpText(command?: string): string {
  const list = COMMAND_LINES.map(([c, line]) => `\`${c}\` ${line}`).join('\n');
  const usage = command !== undefined && USAGE[command] ? `*${command}:* ${USAGE[command]}\n\n` : '';
  return `${usage}*What Bantay does here*\n${list}\nEvery result has buttons for the next step. Add \`help\` to any command for this list.`;
}

const HELP_WORDS = new Set(['help', '?', '-h', '--help']);

/** Answers `/command help` privately; true when it did (the command does nothing else then). */
export async function answeredHelp(args: CommandArgs, command: string): Promise<boolean> {
  if (!HELP_WORDS.has(args.command.text.trim().toLowerCase())) return false;
  await replyEphemeral(args.respond, helpText(command));
  return true;
}
