import { Header } from 'tar';
import { encodePaxRecords } from '../../src/jobs/files/tar-format.ts';

/**
 * Hand-crafted tar entries for the malicious-archive tests: node-tar's Header writes whatever
 * path, type, mode or link it is given, including everything a safe extractor must refuse.
 */
export interface CraftedEntry {
  path: string;
  type?: 'File' | 'Directory' | 'SymbolicLink' | 'Link' | 'CharacterDevice' | 'BlockDevice' | 'FIFO' | 'NextFileHasLongPath' | 'GlobalExtendedHeader';
  mode?: number;
  linkpath?: string;
  data?: Buffer;
  /** Extra PAX records written before the entry. */
  pax?: Record<string, string>;
}

export function craftEntry(entry: CraftedEntry): Buffer {
  const data = entry.data ?? Buffer.alloc(0);
  const parts: Buffer[] = [];
  if (entry.pax) {
    const body = encodePaxRecords(Object.entries(entry.pax));
    parts.push(block({ path: 'PaxHeader', type: 'ExtendedHeader', size: body.length, mode: 0o644 }), pad(body));
  }
  parts.push(block({ path: entry.path, type: entry.type ?? 'File', size: data.length, mode: entry.mode ?? 0o644, linkpath: entry.linkpath ?? '' }), pad(data));
  return Buffer.concat(parts);
}

export function craftArchive(entries: CraftedEntry[]): Buffer {
  return Buffer.concat([...entries.map(craftEntry), Buffer.alloc(1024)]);
}

function block(fields: { path: string; type: string; size: number; mode: number; linkpath?: string }): Buffer {
  const buf = Buffer.alloc(512);
  new Header({ ...fields, uid: 0, gid: 0, mtime: new Date(1_700_000_000_000), uname: '', gname: '', type: fields.type as 'File' }).encode(buf);
  return buf;
}

function pad(data: Buffer): Buffer {
  const rest = data.length % 512;
  return rest === 0 ? data : Buffer.concat([data, Buffer.alloc(512 - rest)]);
}
