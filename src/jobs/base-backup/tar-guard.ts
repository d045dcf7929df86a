import { Transform } from 'node:stream';
import { BantayError, ErrorCode } from '../../errors.ts';

const BLOCK = 512;

/**
 * Checks a base backup's tar as it streams, before any byte reaches the extractor: every header
 * is parsed (and its checksum checked) ahead of the chunk that holds it being passed on, so an
 * entry that is not safe to extract never reaches `tar`. pg_basebackup writes plain ustar:
 * regular files, directories and the odd relative symlink, names under 100 bytes. Anything else
 * (a path that leaves the directory, a link pointing out of it, a device, a hard link, a pax or
 * GNU extension header, a damaged header) fails the stream.
 */
export function createTarGuard(describe: string): Transform {
  let header = Buffer.alloc(0);
  let skip = 0; // body bytes (padded) of the current entry still to pass
  let ended = false;
  const links = new Set<string>();
  const fail = (why: string) => new BantayError(ErrorCode.Integrity, `${describe}: unsafe or damaged tar (${why}); nothing from it is used`);
  return new Transform({
    transform(chunk: Buffer, _enc, callback) {
      let offset = 0;
      while (offset < chunk.length) {
        if (skip > 0) {
          const n = Math.min(skip, chunk.length - offset);
          skip -= n;
          offset += n;
          continue;
        }
        const need = BLOCK - header.length;
        const part = chunk.subarray(offset, offset + need);
        header = header.length === 0 ? Buffer.from(part) : Buffer.concat([header, part]);
        offset += part.length;
        if (header.length < BLOCK) break;
        const block = header;
        header = Buffer.alloc(0);
        if (ended || isZero(block)) {
          ended = true;
          if (!isZero(block)) return callback(fail('data after the end of the archive'));
          continue;
        }
        const entry = checkHeader(block);
        if (typeof entry === 'string') return callback(fail(entry));
        // Nothing is written through a link the archive made.
        const parts = segments(entry.name);
        for (let i = 1; i < parts.length; i += 1) {
          if (links.has(parts.slice(0, i).join('/'))) return callback(fail(`${JSON.stringify(entry.name.slice(0, 80))} goes through a link`));
        }
        if (entry.link !== undefined) links.add(segments(entry.link).join('/'));
        skip = Math.ceil(entry.size / BLOCK) * BLOCK;
      }
      callback(null, chunk);
    },
    flush(callback) {
      callback(header.length > 0 || skip > 0 || !ended ? fail('it ends in the middle') : null);
    },
  });
}

/** The entry's body size, or why the header is refused. */
function checkHeader(block: Buffer): { size: number; link?: string; name: string } | string {
  const stored = octal(block.subarray(148, 156));
  let sum = 0;
  for (let i = 0; i < BLOCK; i += 1) sum += i >= 148 && i < 156 ? 0x20 : block[i]!;
  if (stored === undefined || stored !== sum) return 'a header checksum does not match';
  const ustar = block.subarray(257, 262).toString('latin1') === 'ustar';
  const name = (ustar && block[345] !== 0 ? `${field(block, 345, 155)}/` : '') + field(block, 0, 100);
  const type = String.fromCharCode(block[156]!);
  const size = octal(block.subarray(124, 136));
  if (size === undefined) return `${JSON.stringify(name.slice(0, 80))} has an unreadable size`;
  const pathProblem = unsafePath(name);
  if (pathProblem) return `${JSON.stringify(name.slice(0, 80))} ${pathProblem}`;
  if (type === '0' || type === '\0' || type === '7' || type === '5') return { size: type === '5' ? 0 : size, name };
  if (type === '2') {
    // Relative and inside: pg_basebackup -D - refuses tablespaces, so no absolute link is real.
    if (unsafePath(field(block, 157, 100))) return `${JSON.stringify(name.slice(0, 80))} links outside the directory`;
    return { size: 0, link: name, name };
  }
  return `${JSON.stringify(name.slice(0, 80))} is of type ${JSON.stringify(type)}, which a base backup never holds`;
}

function unsafePath(path: string): string | undefined {
  if (path === '' || path.includes('\0')) return 'has an empty name';
  if (path.startsWith('/')) return 'is an absolute path';
  if (path.split('/').includes('..')) return 'climbs out of the directory';
  return undefined;
}

function segments(path: string): string[] {
  return path.split('/').filter((p) => p !== '' && p !== '.');
}

function field(block: Buffer, start: number, length: number): string {
  const raw = block.subarray(start, start + length);
  const end = raw.indexOf(0);
  return raw.subarray(0, end === -1 ? length : end).toString('utf8');
}

function octal(raw: Buffer): number | undefined {
  if ((raw[0]! & 0x80) !== 0) return undefined; // base-256: pg_basebackup never writes it
  const text = raw.toString('latin1').replace(/\0.*$/s, '').trim();
  return /^[0-7]+$/.test(text) ? parseInt(text, 8) : undefined;
}

function isZero(block: Buffer): boolean {
  for (let i = 0; i < block.length; i += 1) if (block[i] !== 0) return false;
  return true;
}
