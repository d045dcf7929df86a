import { COMMAND_LINES } from '../messages/command-lines.ts';
import { USAGE } from '../job-spec.ts';
import { replyEphemeral, type CommandArgs } from './common.ts';

export { COMMAND_LINES } from '../messages/command-lines.ts';


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
