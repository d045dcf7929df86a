import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { findOnPath, inflateStages } from '../../../src/jobs/base-backup/inflate-stage.ts';

/**
 * Both zstd decoders (the `zstd` program and the in-process fallback) and gzip honour one
 * contract: what went in comes out, byte for byte, in a stream; a truncated or damaged input
 * fails the pipeline instead of ending it early.
 */
const plain = Buffer.concat([randomBytes(300_000), Buffer.alloc(2_000_000, 'fbms '), randomBytes(100_000)]);
const zstdPath = await findOnPath('zstd');
if (zstdPath === null) throw new Error('these tests need the zstd program (Debian package zstd) to make their input');
const zstdData = spawnSync(zstdPath, ['-1', '-c', '-q'], { input: plain, maxBuffer: 64 * 1024 * 1024 }).stdout;
const decoders = [
  { name: 'zstd program', method: 'zstd' as const, data: zstdData, zstdPath },
  { name: 'in-process zstd', method: 'zstd' as const, data: zstdData, zstdPath: null },
  { name: 'gzip', method: 'gzip' as const, data: gzipSync(plain) },
];

async function inflate(method: 'zstd' | 'gzip', input: Buffer, zstd?: string | null): Promise<{ sha256: string; bytes: number }> {
  const hash = createHash('sha256');
  let bytes = 0;
  const sink = new Writable({
    write(chunk: Buffer, _e, cb) {
      hash.update(chunk);
      bytes += chunk.length;
      cb();
    },
  });
  const chunks = Array.from({ length: Math.ceil(input.length / 65_536) }, (_, i) => input.subarray(i * 65_536, (i + 1) * 65_536));
  await pipeline([Readable.from(chunks), ...(await inflateStages(method, { zstdPath: zstd })), sink]);
  return { sha256: hash.digest('hex'), bytes };
}

const expected = { sha256: createHash('sha256').update(plain).digest('hex'), bytes: plain.length };

describe.each(decoders)('$name', ({ method, data, zstdPath: path }) => {
  it('gives back exactly the bytes that were compressed', async () => {
    expect(await inflate(method, data, path)).toEqual(expected);
  });

  it('fails on a truncated input', async () => {
    await expect(inflate(method, data.subarray(0, Math.floor(data.length * 0.6)), path)).rejects.toThrow();
  });

  it('fails on a damaged input', async () => {
    const damaged = Buffer.from(data);
    damaged.fill(0xa5, 0, 64);
    await expect(inflate(method, damaged, path)).rejects.toThrow();
  });
});

it('stores a tar as is when nothing compressed it', async () => {
  expect(await inflateStages('none')).toEqual([]);
});

it('stops the zstd program when the rest of the pipeline fails', async () => {
  const children = () => spawnSync('pgrep', ['-P', String(process.pid), '-x', 'zstd']).stdout.toString().trim();
  expect(children()).toBe('');
  const stages = await inflateStages('zstd', { zstdPath });
  expect(children()).not.toBe('');
  const failing = new Writable({ write: (_c, _e, cb) => cb(new Error('disk full')) });
  await expect(pipeline([Readable.from([zstdData]), ...stages, failing])).rejects.toThrow('disk full');
  for (let i = 0; i < 40 && children() !== ''; i++) await new Promise((r) => setTimeout(r, 50));
  expect(children()).toBe('');
});
