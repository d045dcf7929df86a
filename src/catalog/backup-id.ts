import { randomBytes } from 'node:crypto';
import { BantayError, ErrorCode } from '../errors.ts';
import { compactUtcStamp } from './json-record.ts';

/** Backup kinds and the short prefix their ids start with. Later issues add files kinds. */
export const KIND_PREFIX = {
  database: 'db',
  application: 'app',
  uploads: 'upl',
} as const;
export type BackupKind = keyof typeof KIND_PREFIX;
export const BACKUP_KINDS = Object.keys(KIND_PREFIX) as BackupKind[];

const ID_PATTERN = /^(db|app|upl)-(\d{8}T\d{6}Z)-([0-9a-f]{4})$/;
const LABEL_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:+-]{0,63}$/;

/**
 * A new id: kind prefix, UTC timestamp to the second, 4 random hex digits
 * (e.g. "db-20261126T020000Z-7f3a"). Safe in keys, paths and Slack values; sorts by time
 * within a kind.
 */
export function newBackupId(kind: BackupKind, at: Date = new Date()): string {
  return `${KIND_PREFIX[kind]}-${compactUtcStamp(at)}-${randomBytes(2).toString('hex')}`;
}

export function isBackupId(value: string): boolean {
  return ID_PATTERN.test(value);
}

/** Validates an id typed by a user; the message shows the expected shape, not a stack. */
export function parseBackupId(value: string): string {
  const trimmed = value.trim();
  if (!isBackupId(trimmed)) {
    throw new BantayError(
      ErrorCode.InvalidInput,
      `"${printable(trimmed)}" is not a backup id (expected something like db-20261126T020000Z-7f3a; see bantay list)`,
    );
  }
  return trimmed;
}

export function kindOfId(id: string): BackupKind {
  const prefix = id.slice(0, id.indexOf('-'));
  const kind = BACKUP_KINDS.find((k) => KIND_PREFIX[k] === prefix);
  if (kind === undefined) throw new BantayError(ErrorCode.InvalidInput, `Unknown backup kind in id ${printable(id)}`);
  return kind;
}

/** Labels: 1-64 chars, letters, digits and . _ : + - (e.g. "pre-deploy", "v2.3.1"). */
export function parseLabel(value: string): string {
  if (!LABEL_PATTERN.test(value)) {
    throw new BantayError(
      ErrorCode.InvalidInput,
      `Invalid label "${printable(value)}": use 1-64 letters, digits and . _ : + - (starting with a letter or digit)`,
    );
  }
  return value;
}

export function parseKind(value: string): BackupKind {
  if (!(BACKUP_KINDS as string[]).includes(value)) {
    throw new BantayError(ErrorCode.InvalidInput, `Unknown kind "${printable(value)}": use one of ${BACKUP_KINDS.join(', ')}`);
  }
  return value as BackupKind;
}

/** Quotes user input for messages without letting control characters or huge strings through. */
export function printable(value: string): string {
  const cleaned = value.replace(/[\u0000-\u001f\u007f]/g, '?');
  return cleaned.length > 64 ? `${cleaned.slice(0, 61)}...` : cleaned;
}
