import { BantayError, ErrorCode } from '../errors.ts';

/**
 * A label typed in Slack ("before the March price update") is free text: it is only ever data
 * (a JSON field of the authenticated manifest, compared as a string, escaped wherever it is
 * shown), never part of an object key, a path or a command. So any printable text is fine;
 * whitespace is collapsed, control and invisible formatting characters are refused (they can
 * hide what a label says), and it stays short enough for every place it is shown.
 */
export function parseFreeLabel(value: string): string {
  const label = value.normalize('NFC').replace(/\s+/g, ' ').trim();
  if (label.length === 0 || label.length > 64) throw new BantayError(ErrorCode.InvalidInput, 'A label is 1 to 64 characters.');
  if (/[\p{Cc}\p{Cf}\p{Co}\p{Cn}]/u.test(label)) throw new BantayError(ErrorCode.InvalidInput, 'A label cannot hold control or invisible characters.');
  return label;
}
