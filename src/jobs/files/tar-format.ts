import { Header } from 'tar';

/**
 * Writing the tar archive of a files backup (docs/files-format.md): POSIX ustar headers (node-tar's
 * Header does the field encoding), preceded by a PAX extended header when a field does not fit
 * ustar (long or non-ASCII names, huge sizes) or when the entry carries Bantay attributes such as
 * `BANTAY.compression=gzip`. PAX records are encoded here rather than with node-tar's Pax class,
 * which drops unknown keys and cannot carry newlines in names.
 */
export const BLOCK = 512;
/** Two zero blocks end an archive. */
export const TAR_END = Buffer.alloc(2 * BLOCK);
/** PAX key marking an entry whose data is the gzip of the file's content. */
export const PAX_COMPRESSION = 'BANTAY.compression';

export type TarEntryType = 'file' | 'dir' | 'symlink';

export interface TarHeaderInput {
  /** Relative "/"-separated path; directories are written with a trailing "/". */
  path: string;
  type: TarEntryType;
  /** Bytes of entry data that follow the header (stored size: compressed when gzip). */
  size: number;
  mode: number;
  mtimeMs: number;
  linkpath?: string;
  /** Extra PAX records, e.g. { 'BANTAY.compression': 'gzip' }. */
  attributes?: Record<string, string>;
}

const TYPE_NAME = { file: 'File', dir: 'Directory', symlink: 'SymbolicLink' } as const;

/** The header block(s) of one entry: [PAX header + PAX body] + ustar header. */
export function encodeTarHeader(input: TarHeaderInput): Buffer {
  const path = input.type === 'dir' ? `${input.path}/` : input.path;
  const mtime = new Date(Math.floor(input.mtimeMs / 1000) * 1000);
  const block = Buffer.alloc(BLOCK);
  const header = new Header({
    path,
    mode: input.mode & 0o7777,
    uid: 0,
    gid: 0,
    size: input.size,
    mtime,
    type: TYPE_NAME[input.type],
    linkpath: input.linkpath ?? '',
    uname: '',
    gname: '',
  });
  const needPax = header.encode(block);
  const records: Array<[string, string]> = [];
  if (needPax) {
    records.push(['path', path]);
    if (input.linkpath !== undefined) records.push(['linkpath', input.linkpath]);
    records.push(['size', String(input.size)]);
  }
  for (const [key, value] of Object.entries(input.attributes ?? {})) records.push([key, value]);
  if (records.length === 0) return block;
  const body = encodePaxRecords(records);
  const paxHeader = Buffer.alloc(BLOCK);
  new Header({ path: 'PaxHeader', mode: 0o644, uid: 0, gid: 0, size: body.length, mtime, type: 'ExtendedHeader', uname: '', gname: '' }).encode(paxHeader);
  return Buffer.concat([paxHeader, body, tarPadding(body.length), block]);
}

/** Zero bytes that round `size` up to a whole block. */
export function tarPadding(size: number): Buffer {
  const rest = size % BLOCK;
  return rest === 0 ? Buffer.alloc(0) : Buffer.alloc(BLOCK - rest);
}

export function paddedSize(size: number): number {
  return Math.ceil(size / BLOCK) * BLOCK;
}

/** "LEN key=value\n" records, LEN counting the whole record including its own digits. */
export function encodePaxRecords(records: ReadonlyArray<readonly [string, string]>): Buffer {
  const parts = records.map(([key, value]) => {
    const payload = Buffer.byteLength(` ${key}=${value}\n`);
    let length = payload + String(payload).length;
    if (String(length).length !== String(payload).length) length = payload + String(length).length;
    return `${length} ${key}=${value}\n`;
  });
  return Buffer.from(parts.join(''), 'utf8');
}

/** Parses PAX records by their lengths (values may contain newlines); undefined when malformed. */
export function decodePaxRecords(body: Buffer): Map<string, string> | undefined {
  const records = new Map<string, string>();
  let offset = 0;
  while (offset < body.length) {
    if (body[offset] === 0) break;
    const space = body.indexOf(0x20, offset);
    if (space < 0) return undefined;
    const length = Number(body.subarray(offset, space).toString('ascii'));
    if (!Number.isInteger(length) || length <= space - offset + 1 || offset + length > body.length) return undefined;
    const record = body.subarray(space + 1, offset + length - 1).toString('utf8');
    if (body[offset + length - 1] !== 0x0a) return undefined;
    const eq = record.indexOf('=');
    if (eq <= 0) return undefined;
    records.set(record.slice(0, eq), record.slice(eq + 1));
    offset += length;
  }
  return records;
}
