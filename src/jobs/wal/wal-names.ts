import { BantayError, ErrorCode } from '../../errors.ts';

/**
 * Names and positions of PostgreSQL's write-ahead log. A segment is named TTTTTTTTXXXXXXXXYYYYYYYY
 * (timeline, then the LSN's high 32 bits, then the segment number within that 4 GiB "log"), a
 * timeline history file TTTTTTTT.history; pg_receivewal writes the segment in progress as
 * NAME.partial. Only these names ever reach the store: a name is a store key segment as is.
 */
const SEGMENT = /^[0-9A-F]{24}$/;
const PARTIAL = /^[0-9A-F]{24}\.partial$/;
const HISTORY = /^[0-9A-F]{8}\.history$/;
/** The backup history file PostgreSQL archives after pg_backup_stop (NAME.OFFSET.backup). */
const BACKUP = /^[0-9A-F]{24}\.[0-9A-F]{8}\.backup$/;

export type WalFileKind = 'segment' | 'partial' | 'history' | 'backup';

export const DEFAULT_SEGMENT_SIZE = 16 * 1024 * 1024;

export function walFileKind(name: string): WalFileKind | undefined {
  if (SEGMENT.test(name)) return 'segment';
  if (PARTIAL.test(name)) return 'partial';
  if (HISTORY.test(name)) return 'history';
  if (BACKUP.test(name)) return 'backup';
  return undefined;
}

/** Validates a WAL file name from argv or a listing (%f of archive_command / restore_command). */
export function parseWalFileName(name: string): { name: string; kind: WalFileKind } {
  const kind = walFileKind(name);
  if (kind === undefined) {
    throw new BantayError(ErrorCode.InvalidInput, `"${name.slice(0, 64)}" is not a WAL segment or timeline history file name`);
  }
  return { name, kind };
}

export function timelineOf(name: string): number {
  return Number.parseInt(name.slice(0, 8), 16);
}

/** The segment's position on its timeline (log * segmentsPerLog + seg), for ordering and gaps. */
export function segmentNumber(name: string, segmentSize = DEFAULT_SEGMENT_SIZE): bigint {
  const perLog = 0x1_0000_0000n / BigInt(segmentSize);
  return BigInt(`0x${name.slice(8, 16)}`) * perLog + BigInt(`0x${name.slice(16, 24)}`);
}

export function segmentName(timeline: number, number: bigint, segmentSize = DEFAULT_SEGMENT_SIZE): string {
  const perLog = 0x1_0000_0000n / BigInt(segmentSize);
  const hex = (n: bigint | number) => n.toString(16).toUpperCase().padStart(8, '0');
  return `${hex(timeline)}${hex(number / perLog)}${hex(number % perLog)}`;
}

/** "16/B374D848" as PostgreSQL prints an LSN, to a number of bytes. */
export function parseLsn(text: string): bigint {
  const match = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/.exec(text.trim());
  if (!match) throw new BantayError(ErrorCode.InvalidInput, `"${text.slice(0, 32)}" is not an LSN`);
  return (BigInt(`0x${match[1]}`) << 32n) | BigInt(`0x${match[2]}`);
}

export function formatLsn(lsn: bigint): string {
  return `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffff_ffffn).toString(16).toUpperCase()}`;
}

/** The name of the segment holding `lsn` on `timeline`. */
export function segmentOfLsn(timeline: number, lsn: bigint, segmentSize = DEFAULT_SEGMENT_SIZE): string {
  return segmentName(timeline, lsn / BigInt(segmentSize), segmentSize);
}

export function historyFileName(timeline: number): string {
  return `${timeline.toString(16).toUpperCase().padStart(8, '0')}.history`;
}

/** Segment (or partial) names sort by timeline then position; history files by timeline. */
export function compareWalNames(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
