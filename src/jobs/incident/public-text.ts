import { BantayError, ErrorCode } from '../../errors.ts';
import { redactSecrets } from '../../log/redact.ts';

/**
 * The public status page and the drafted messages are read by anyone: no secret, no internal
 * name. A status update's public message is checked here before it is stored; a message that
 * fails is refused with what to remove (the reasons name the kind of leak, never echo it).
 *
 * `internalNames` are the installation's own names (database, hosts, bucket, directories: see
 * settings.ts); the patterns catch what no configuration lists (ids, addresses, Slack mentions).
 */
const LEAKS: Array<[RegExp, string]> = [
  [/\b(db|app|upl)-\d{8}T\d{6}Z-[0-9a-f]{4}\b/i, 'a backup id'],
  [/\binc-\d{8}T\d{6}Z-[0-9a-f]{4}\b/i, 'an incident id'],
  [/\b[a-z][a-z0-9+.-]*:\/\/\S+/i, 'a URL'],
  [/\b\d{1,3}(\.\d{1,3}){3}\b/, 'an IP address'],
  [/\b[0-9a-f]{0,4}(:[0-9a-f]{0,4}){3,7}\b/i, 'an IPv6 address'],
  [/<[@#!][A-Z0-9^|a-z]*>/, 'a Slack mention'],
  [/\b[UW][A-Z0-9]{8,}\b/, 'a Slack user id'],
  [/\b[\w.+-]+@[\w-]+\.[\w.-]+\b/, 'an e-mail address'],
  [/(^|\s)\/[\w.-]+\/[\w./-]*/, 'a file path'],
  [/\b(bantay_[a-z0-9_]+|pg_[a-z_]+|postgres(ql)?)\b/i, 'a database or tool name'],
];

export const PUBLIC_TEXT_MAX = 500;

export function publicTextProblems(text: string, internalNames: readonly string[]): string[] {
  const problems: string[] = [];
  if (text.trim().length === 0) problems.push('it is empty');
  if (text.length > PUBLIC_TEXT_MAX) problems.push(`it is longer than ${PUBLIC_TEXT_MAX} characters`);
  if (redactSecrets(text) !== text) problems.push('it contains something that looks like a secret');
  for (const [pattern, what] of LEAKS) if (pattern.test(text)) problems.push(`it contains ${what}`);
  const lower = text.toLowerCase();
  if (internalNames.some((name) => name.length >= 3 && lower.includes(name.toLowerCase()))) problems.push('it contains an internal name of this installation (database, host, bucket or directory)');
  return problems;
}

export function checkPublicText(text: string, internalNames: readonly string[]): string {
  const problems = publicTextProblems(text, internalNames);
  if (problems.length > 0) {
    throw new BantayError(ErrorCode.InvalidInput, 'That public message cannot be published: the status page is public', { details: problems.map((p) => `The message: ${p}`) });
  }
  return text.trim();
}
