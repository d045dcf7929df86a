import { open } from 'node:fs/promises';
import { BantayError, ErrorCode } from '../../errors.ts';

/**
 * The identity a WAL segment carries in its first page's long header (XLogLongPageHeaderData,
 * little-endian on every platform Bantay runs on): the page magic, which changes with every
 * major version's WAL format; the cluster's system identifier; the segment size. This is how
 * `wal push` checks "one archive, one cluster" without a database connection.
 */
export interface WalHeader {
  magic: number;
  timeline: number;
  systemIdentifier: string;
  segmentSize: number;
}

const XLP_LONG_HEADER = 0x0002;
const LONG_HEADER_BYTES = 40;

/** WAL page magic of each major version Bantay knows (src/include/access/xlog_internal.h). */
const MAGIC_TO_MAJOR: Record<number, number> = { 0xd10d: 14, 0xd110: 15, 0xd113: 16, 0xd116: 17 };

export function majorOfWalMagic(magic: number): number | undefined {
  return MAGIC_TO_MAJOR[magic];
}

export function parseWalHeader(page: Buffer, what: string): WalHeader {
  if (page.length < LONG_HEADER_BYTES) throw notWal(what, 'shorter than a WAL page header');
  const magic = page.readUInt16LE(0);
  const info = page.readUInt16LE(2);
  if ((magic & 0xff00) !== 0xd100 || (info & XLP_LONG_HEADER) === 0) throw notWal(what, 'no WAL long page header');
  const segmentSize = page.readUInt32LE(32);
  if (segmentSize < 1024 * 1024 || (segmentSize & (segmentSize - 1)) !== 0) throw notWal(what, 'implausible segment size');
  return { magic, timeline: page.readUInt32LE(4), systemIdentifier: page.readBigUInt64LE(24).toString(), segmentSize };
}

export async function readWalHeader(path: string, what: string): Promise<WalHeader> {
  const handle = await open(path, 'r');
  try {
    const page = Buffer.alloc(LONG_HEADER_BYTES);
    const { bytesRead } = await handle.read(page, 0, LONG_HEADER_BYTES, 0);
    return parseWalHeader(page.subarray(0, bytesRead), what);
  } finally {
    await handle.close();
  }
}

function notWal(what: string, why: string): BantayError {
  return new BantayError(ErrorCode.InvalidInput, `${what} is not a PostgreSQL WAL segment (${why})`);
}
