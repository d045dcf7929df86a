import { randomBytes } from 'node:crypto';
import { BantayError, ErrorCode } from '../../errors.ts';
import { compactUtcStamp } from '../../catalog/json-record.ts';

/** Incident ids: "inc-20261203T061500Z-3f9a", safe in keys, Slack values and file names. */
const ID_PATTERN = /^inc-\d{8}T\d{6}Z-[0-9a-f]{4}$/;

export function newIncidentId(at: Date): string {
  return `inc-${compactUtcStamp(at)}-${randomBytes(2).toString('hex')}`;
}

export function isIncidentId(value: string): boolean {
  return ID_PATTERN.test(value);
}

/** Validates an id from a user or a Slack payload; the message shows the shape, never the input. */
export function parseIncidentId(value: string): string {
  if (!isIncidentId(value)) throw new BantayError(ErrorCode.InvalidInput, 'Not an incident id (expected inc-YYYYMMDDTHHMMSSZ-xxxx; see bantay incident list)');
  return value;
}
