import { Header } from 'tar';
import { BantayError, ErrorCode } from '../../errors.ts';
import { unsafeModeReason, unsafePathReason, unsafeSymlinkReason, UnsafeArchiveError } from './safe-path.ts';
import { BLOCK, decodePaxRecords, paddedSize, type TarEntryType } from './tar-format.ts';

/**
 * A pull-based tar reader that accepts only what Bantay writes: regular files, directories and
 * symlinks, with PAX extended headers. Every other type (hard links, devices, FIFOs, GNU long
 * names, global headers, sparse files) and every unsafe path, mode or symlink target makes it
 * throw UnsafeArchiveError before the entry is yielded, so consumers never see one.
 *
 * Contract: consume (or ignore) one entry's `body()` before asking for the next; whatever is
 * left unread is skipped. The source is read to its very end (through the end-of-archive
 * marker and any zero padding after it), so integrity checks upstream of it always run.
 */
export interface TarEntry {
  path: string;
  type: TarEntryType;
  /** Bytes of entry data (the stored size: compressed size for gzip entries). */
  size: number;
  mode: number;
  mtimeMs: number;
  linkpath: string | undefined;
  /** PAX records other than the standard ones (e.g. BANTAY.compression). */
  attributes: ReadonlyMap<string, string>;
  body(): AsyncGenerator<Buffer>;
}

const MAX_PAX_BYTES = 1024 * 1024;
const STANDARD_PAX = new Set(['path', 'linkpath', 'size', 'mtime', 'atime', 'ctime', 'uid', 'gid', 'uname', 'gname', 'charset', 'comment', 'hdrcharset']);

export async function* readTarEntries(source: AsyncIterable<Buffer>, where: string): AsyncGenerator<TarEntry> {
  const reader = new ByteReader(source[Symbol.asyncIterator](), where);
  try {
    yield* readEntries(reader, where);
  } finally {
    // A consumer that stops early (a content mismatch, a cancel) must not leave the archive
    // download open: returning the source's iterator destroys a stream source.
    await reader.close();
  }
}

async function* readEntries(reader: ByteReader, where: string): AsyncGenerator<TarEntry> {
  let pax = new Map<string, string>();
  for (;;) {
    const block = await reader.read(BLOCK);
    if (isZero(block)) {
      await reader.drainZeros();
      return;
    }
    const header = new Header(block);
    if (!header.cksumValid) throw integrity(where, 'a tar header has a bad checksum');
    if (header.typeKey === 'x') {
      pax = new Map([...pax, ...(await readPax(reader, header.size ?? 0, where))]);
      continue;
    }
    const entry = describeEntry(header, pax, where);
    pax = new Map();
    let remaining = entry.size;
    yield {
      ...entry,
      body: async function* () {
        for await (const piece of reader.take(remaining)) {
          remaining -= piece.length;
          yield piece;
        }
      },
    };
    await reader.skip(remaining + paddedSize(entry.size) - entry.size);
  }
}

async function readPax(reader: ByteReader, size: number, where: string): Promise<Map<string, string>> {
  if (size > MAX_PAX_BYTES) throw integrity(where, `a PAX header of ${size} bytes is too large`);
  const body = await reader.read(paddedSize(size));
  const records = decodePaxRecords(body.subarray(0, size));
  if (records === undefined) throw integrity(where, 'a PAX header is malformed');
  for (const key of records.keys()) {
    if (key.startsWith('GNU.sparse')) throw new UnsafeArchiveError(where, records.get('path') ?? '?', 'sparse files are not supported');
  }
  return records;
}

function describeEntry(header: Header, pax: Map<string, string>, where: string): Omit<TarEntry, 'body'> {
  const rawPath = pax.get('path') ?? header.path ?? '';
  const type = entryType(header, rawPath, where);
  const path = type === 'dir' ? rawPath.replace(/\/$/, '') : rawPath;
  const pathReason = unsafePathReason(path);
  if (pathReason !== undefined) throw new UnsafeArchiveError(where, rawPath, pathReason);
  const mode = (header.mode ?? 0) & 0o7777;
  const modeReason = unsafeModeReason(mode);
  if (modeReason !== undefined) throw new UnsafeArchiveError(where, path, modeReason);
  const size = pax.has('size') ? Number(pax.get('size')) : (header.size ?? 0);
  if (!Number.isSafeInteger(size) || size < 0) throw integrity(where, `entry ${JSON.stringify(path)} has an invalid size`);
  if (type !== 'file' && size !== 0) throw new UnsafeArchiveError(where, path, `a ${type} entry with data`);
  const linkpath = type === 'symlink' ? (pax.get('linkpath') ?? header.linkpath ?? '') : undefined;
  if (linkpath !== undefined) {
    const linkReason = unsafeSymlinkReason(path, linkpath);
    if (linkReason !== undefined) throw new UnsafeArchiveError(where, path, linkReason);
  }
  const paxMtime = pax.has('mtime') ? Number(pax.get('mtime')) * 1000 : NaN;
  const mtimeMs = Number.isFinite(paxMtime) ? paxMtime : (header.mtime?.getTime() ?? 0);
  const attributes = new Map([...pax].filter(([key]) => !STANDARD_PAX.has(key)));
  return { path, type, size, mode, mtimeMs, linkpath, attributes };
}

function entryType(header: Header, path: string, where: string): TarEntryType {
  switch (header.typeKey) {
    case '0':
    case '':
      return 'file';
    case '5':
      return 'dir';
    case '2':
      return 'symlink';
    case '1':
      throw new UnsafeArchiveError(where, path, 'hard links are not allowed');
    default:
      throw new UnsafeArchiveError(where, path, `entry type ${header.type} is not allowed`);
  }
}

function integrity(where: string, message: string): BantayError {
  return new BantayError(ErrorCode.Integrity, `${where}: ${message}`);
}

/**
 * Exact-size reads over an async iterator of chunks; a short source is an Integrity error.
 * Chunks are queued, not concatenated: entry data is handed on as views of the source's chunks,
 * and only a header that straddles two chunks is copied (512 bytes).
 */
class ByteReader {
  readonly #source: AsyncIterator<Buffer>;
  readonly #where: string;
  /** Unconsumed chunks; the first one from #offset on. */
  readonly #chunks: Buffer[] = [];
  #offset = 0;
  #available = 0;

  constructor(source: AsyncIterator<Buffer>, where: string) {
    this.#source = source;
    this.#where = where;
  }

  async #fill(): Promise<boolean> {
    const next = await this.#source.next();
    if (next.done) return false;
    const chunk = Buffer.isBuffer(next.value) ? next.value : Buffer.from(next.value as Uint8Array);
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#available += chunk.length;
    }
    return true;
  }

  /** Up to `max` bytes from the first chunk (at least one byte is available). */
  #piece(max: number): Buffer {
    const first = this.#chunks[0]!;
    const piece = first.subarray(this.#offset, this.#offset + Math.min(max, first.length - this.#offset));
    this.#offset += piece.length;
    this.#available -= piece.length;
    if (this.#offset === first.length) {
      this.#chunks.shift();
      this.#offset = 0;
    }
    return piece;
  }

  async read(length: number): Promise<Buffer> {
    while (this.#available < length) {
      if (!(await this.#fill())) throw integrity(this.#where, 'the archive is truncated');
    }
    const first = this.#piece(length);
    if (first.length === length) return first;
    const out = Buffer.allocUnsafe(length);
    first.copy(out, 0);
    for (let at = first.length; at < length; ) at += this.#piece(length - at).copy(out, at);
    return out;
  }

  async *take(length: number): AsyncGenerator<Buffer> {
    let left = length;
    while (left > 0) {
      if (this.#available === 0 && !(await this.#fill())) throw integrity(this.#where, 'the archive is truncated');
      if (this.#available === 0) continue;
      const piece = this.#piece(left);
      left -= piece.length;
      yield piece;
    }
  }

  /** Ends the source early; harmless once it is exhausted. */
  async close(): Promise<void> {
    try {
      await this.#source.return?.();
    } catch {
      // The source already failed; that failure is the one being reported.
    }
  }

  async skip(length: number): Promise<void> {
    for await (const _ of this.take(length)) void _;
  }

  /** Reads to the end of the source; anything but zeros after the end marker is refused. */
  async drainZeros(): Promise<void> {
    for (;;) {
      while (this.#available > 0) {
        if (!isZero(this.#piece(this.#available))) throw integrity(this.#where, 'data after the end-of-archive marker');
      }
      if (!(await this.#fill())) return;
    }
  }
}

const ZERO_BLOCK = Buffer.alloc(BLOCK);

/** All zero bytes (compared with memcmp, a block at a time). */
function isZero(bytes: Buffer): boolean {
  for (let at = 0; at < bytes.length; at += BLOCK) {
    const part = bytes.subarray(at, at + BLOCK);
    if (!part.equals(ZERO_BLOCK.subarray(0, part.length))) return false;
  }
  return true;
}
