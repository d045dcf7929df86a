import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { entryContent, wholeContent } from '../../../src/jobs/files/entry-content.ts';
import { decodePaxRecords, encodePaxRecords, encodeTarHeader, PAX_COMPRESSION, TAR_END, tarPadding } from '../../../src/jobs/files/tar-format.ts';
import { readTarEntries } from '../../../src/jobs/files/tar-reader.ts';
import { craftArchive, type CraftedEntry } from '../../support/tar-craft.ts';

async function readAll(archive: Buffer, chunkSize = 700) {
  const chunks: Buffer[] = [];
  for (let i = 0; i < archive.length; i += chunkSize) chunks.push(archive.subarray(i, i + chunkSize));
  const out: Array<{ path: string; type: string; mode: number; linkpath?: string; data: string; attributes: Record<string, string> }> = [];
  for await (const entry of readTarEntries(Readable.from(chunks), 'test archive')) {
    const data: Buffer[] = [];
    for await (const piece of entry.body()) data.push(piece);
    out.push({ path: entry.path, type: entry.type, mode: entry.mode, linkpath: entry.linkpath, data: Buffer.concat(data).toString(), attributes: Object.fromEntries(entry.attributes) });
  }
  return out;
}

describe('tar format', () => {
  it('PAX records round-trip, including newlines, "=" and multi-byte characters in values', () => {
    const records: Array<[string, string]> = [['path', 'a\nb=c/ñandú 🧾.jpg'], [PAX_COMPRESSION, 'gzip'], ['x'.repeat(90), 'y']];
    expect([...decodePaxRecords(encodePaxRecords(records))!]).toEqual(records);
    expect(decodePaxRecords(Buffer.from('99 path=short\n'))).toBeUndefined();
  });

  it('writes entries that the reader (and GNU tar) read back: long and unicode names, symlinks, attributes', async () => {
    const long = `${'deep/'.repeat(40)}résumé de Juan.pdf`;
    const archive = Buffer.concat([
      encodeTarHeader({ path: 'receipts', type: 'dir', size: 0, mode: 0o750, mtimeMs: 1_700_000_000_000 }),
      encodeTarHeader({ path: long, type: 'file', size: 5, mode: 0o640, mtimeMs: 1_700_000_000_000 }),
      Buffer.from('hello'),
      tarPadding(5),
      encodeTarHeader({ path: 'notes.txt', type: 'file', size: 3, mode: 0o644, mtimeMs: 1, attributes: { [PAX_COMPRESSION]: 'gzip' } }),
      Buffer.from('abc'),
      tarPadding(3),
      encodeTarHeader({ path: 'latest', type: 'symlink', size: 0, mode: 0o777, mtimeMs: 1, linkpath: 'receipts/résumé.pdf' }),
      TAR_END,
    ]);
    expect(await readAll(archive)).toEqual([
      { path: 'receipts', type: 'dir', mode: 0o750, linkpath: undefined, data: '', attributes: {} },
      { path: long, type: 'file', mode: 0o640, linkpath: undefined, data: 'hello', attributes: {} },
      { path: 'notes.txt', type: 'file', mode: 0o644, linkpath: undefined, data: 'abc', attributes: { [PAX_COMPRESSION]: 'gzip' } },
      { path: 'latest', type: 'symlink', mode: 0o777, linkpath: 'receipts/résumé.pdf', data: '', attributes: {} },
    ]);
  });

  it.each<[string, CraftedEntry, RegExp]>([
    ['a ".." path', { path: '../evil.txt', data: Buffer.from('x') }, /"\.\." segment/],
    ['a nested ".." path', { path: 'a/../../evil.txt', data: Buffer.from('x') }, /"\.\." segment/],
    ['an absolute path', { path: '/etc/cron.d/evil', data: Buffer.from('x') }, /absolute path/],
    ['an absolute path in a PAX header', { path: 'innocent', pax: { path: '/etc/passwd' }, data: Buffer.from('x') }, /absolute path/],
    ['a symlink escaping the target', { path: 'link', type: 'SymbolicLink', linkpath: '../../../etc' }, /outside the tree/],
    ['an absolute symlink', { path: 'link', type: 'SymbolicLink', linkpath: '/etc/passwd' }, /absolute path/],
    ['a hard link', { path: 'hard', type: 'Link', linkpath: 'etc/passwd' }, /hard links/],
    ['a character device', { path: 'dev', type: 'CharacterDevice' }, /CharacterDevice is not allowed/],
    ['a block device', { path: 'dev', type: 'BlockDevice' }, /BlockDevice is not allowed/],
    ['a FIFO', { path: 'fifo', type: 'FIFO' }, /FIFO is not allowed/],
    ['a GNU long name', { path: '././@LongLink', type: 'NextFileHasLongPath', data: Buffer.from('x') }, /NextFileHasLongPath is not allowed/],
    ['a setuid file', { path: 'suid', mode: 0o4755, data: Buffer.from('x') }, /setuid/],
    ['a sticky directory', { path: 'tmp/', type: 'Directory', mode: 0o1777 }, /sticky/],
    ['a sparse file', { path: 'sparse', pax: { 'GNU.sparse.major': '1' }, data: Buffer.from('x') }, /sparse/],
  ])('refuses %s before yielding it', async (_name, entry, message) => {
    const archive = craftArchive([{ path: 'ok.txt', data: Buffer.from('fine') }, entry]);
    const seen: string[] = [];
    await expect(
      (async () => {
        for await (const e of readTarEntries(Readable.from([archive]), 'test archive')) seen.push(e.path);
      })(),
    ).rejects.toThrow(message);
    expect(seen).toEqual(['ok.txt']);
  });

  it('refuses a truncated archive, a bad checksum and data after the end marker', async () => {
    const good = craftArchive([{ path: 'a.txt', data: Buffer.from('hello') }]);
    await expect(readAll(good.subarray(0, 600))).rejects.toThrow(/truncated/);
    await expect(readAll(good.subarray(0, 1024))).rejects.toThrow(/truncated/);
    const bad = Buffer.from(good);
    bad[10] = bad[10]! ^ 0xff;
    await expect(readAll(bad)).rejects.toThrow(/checksum/);
    await expect(readAll(Buffer.concat([good, Buffer.from('tail')]))).rejects.toThrow(/after the end-of-archive/);
  });

  it('decompresses gzip entries and stops a "gzip bomb" at the size the index promises', async () => {
    const text = Buffer.from('x'.repeat(100_000));
    const archive = craftArchive([{ path: 'big.txt', data: gzipSync(text), pax: { [PAX_COMPRESSION]: 'gzip' } }]);
    const collect = async (expected: number) => {
      for await (const entry of readTarEntries(Readable.from([archive]), 'test')) {
        let n = 0;
        for await (const c of entryContent(entry, expected, 'test')) n += c.length;
        return n;
      }
    };
    expect(await collect(100_000)).toBe(100_000);
    await expect(collect(1000)).rejects.toThrow(/decompresses to more than the 1000 bytes/);
  });

  it('decompresses whole small entries on the thread pool with the same bomb stop, and names damaged gzip data', async () => {
    const text = Buffer.from('y'.repeat(50_000));
    const decode = async (data: Buffer, expected: number, pax: Record<string, string> = { [PAX_COMPRESSION]: 'gzip' }) => {
      for await (const entry of readTarEntries(Readable.from([craftArchive([{ path: 'small.txt', data, pax }])]), 'test')) {
        const pieces: Buffer[] = [];
        for await (const piece of entry.body()) pieces.push(piece);
        return (await wholeContent(entry, Buffer.concat(pieces), expected, 'test')).length;
      }
    };
    expect(await decode(gzipSync(text), 50_000)).toBe(50_000);
    await expect(decode(gzipSync(text), 49_999)).rejects.toThrow(/decompresses to more than the 49999 bytes/);
    const damaged = gzipSync(text);
    damaged[damaged.length - 6] = damaged[damaged.length - 6]! ^ 0xff; // in the CRC-32 trailer
    await expect(decode(damaged, 50_000)).rejects.toMatchObject({ code: 'INTEGRITY', message: expect.stringMatching(/gzip data is damaged/) });
    await expect(decode(text, 50_001, {})).rejects.toThrow(/50000 bytes stored, the index says 50001/);
    await expect(decode(text, 50_000, { [PAX_COMPRESSION]: 'zstd' })).rejects.toThrow(/unknown compression zstd/);
  });
});
