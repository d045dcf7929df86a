import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { createTarGuard } from '../../../src/jobs/base-backup/tar-guard.ts';

/** One ustar header block, as pg_basebackup writes them (checksum filled in). */
function header(name: string, options: { type?: string; size?: number; link?: string } = {}): Buffer {
  const block = Buffer.alloc(512);
  block.write(name, 0, 'utf8');
  block.write('0000600\0', 100, 'latin1');
  block.write('0000000\0', 108, 'latin1');
  block.write('0000000\0', 116, 'latin1');
  block.write(`${(options.size ?? 0).toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  block.write('00000000000\0', 136, 'latin1');
  block.write(options.type ?? '0', 156, 'latin1');
  if (options.link) block.write(options.link, 157, 'utf8');
  block.write('ustar\x0000', 257, 'latin1');
  block.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return block;
}

const file = (name: string, body: string) => [header(name, { size: body.length }), Buffer.concat([Buffer.from(body), Buffer.alloc(512 - (body.length % 512 || 512))])];
const end = [Buffer.alloc(1024)];

/** Runs the guard over the archive in small, unaligned chunks; resolves with what it passed on. */
async function guard(parts: Buffer[]): Promise<Buffer> {
  const all = Buffer.concat(parts);
  const chunks = Array.from({ length: Math.ceil(all.length / 100) }, (_, i) => all.subarray(i * 100, (i + 1) * 100));
  const out: Buffer[] = [];
  await pipeline(Readable.from(chunks), createTarGuard('base backup test'), new Writable({ write: (c: Buffer, _e, cb) => (out.push(c), cb()) }));
  return Buffer.concat(out);
}

describe('the tar guard of base backups', () => {
  it('passes a plain pg_basebackup-like archive through unchanged', async () => {
    const parts = [header('base/', { type: '5' }), ...file('base/1/1259', 'x'.repeat(700)), header('pg_wal/', { type: '5' }), header('lnk', { type: '2', link: 'base/1' }), ...file('PG_VERSION', '15\n'), ...end];
    expect((await guard(parts)).equals(Buffer.concat(parts))).toBe(true);
  });

  it.each([
    ['a path that climbs out', [...file('base/../../etc/cron.d/x', 'boom')], /climbs out/],
    ['an absolute path', [...file('/etc/passwd', 'boom')], /absolute path/],
    ['a link out of the directory', [header('pg_tblspc/16384', { type: '2', link: '/etc' })], /links outside/],
    ['a relative link that climbs', [header('lnk', { type: '2', link: '../../etc' })], /links outside/],
    ['a write through a link', [header('lnk', { type: '2', link: 'base' }), ...file('lnk/1259', 'x')], /goes through a link/],
    ['a hard link', [header('h', { type: '1', link: 'PG_VERSION' })], /type "1"/],
    ['a device', [header('dev', { type: '3' })], /type "3"/],
    ['a pax header', [header('PaxHeader', { type: 'x', size: 30 }), Buffer.alloc(512)], /type "x"/],
  ] as const)('refuses %s before passing it on', async (_what, entry, why) => {
    const received: Buffer[] = [];
    const all = Buffer.concat([...file('PG_VERSION', '15\n'), ...entry, ...end]);
    const sink = new Writable({ write: (c: Buffer, _e, cb) => (received.push(c), cb()) });
    await expect(pipeline(Readable.from([all]), createTarGuard('base backup test'), sink)).rejects.toThrow(why);
    // The whole chunk holding the bad header was held back.
    expect(received).toEqual([]);
  });

  it('refuses a damaged header, a truncated archive and data after the end', async () => {
    const damaged = header('PG_VERSION', { size: 3 });
    damaged[0] = 0x51;
    await expect(guard([damaged, Buffer.alloc(512), ...end])).rejects.toThrow(/checksum/);
    await expect(guard(file('PG_VERSION', 'x'.repeat(900)).slice(0, 1))).rejects.toThrow(/ends in the middle/);
    await expect(guard([...file('PG_VERSION', '15\n')])).rejects.toThrow(/ends in the middle/);
    await expect(guard([...file('PG_VERSION', '15\n'), ...end, ...file('late', 'x')])).rejects.toThrow(/after the end/);
  });
});
