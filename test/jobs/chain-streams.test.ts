import { createHash } from 'node:crypto';
import { PassThrough, Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { chainStreams } from '../../src/jobs/chain-streams.ts';
import { StreamMeter } from '../../src/jobs/stream-meter.ts';
import { encodeTarHeader, TAR_END, tarPadding } from '../../src/jobs/files/tar-format.ts';
import { readTarEntries } from '../../src/jobs/files/tar-reader.ts';

/** A source that never ends on its own, like a store download a consumer stops reading. */
function endlessSource(): Readable {
  return new Readable({
    read() {
      this.push(Buffer.alloc(16 * 1024, 7));
    },
  });
}

describe('chainStreams', () => {
  it('passes data through every stage and ends cleanly', async () => {
    const meter = new StreamMeter();
    const out = chainStreams(Readable.from([Buffer.from('salamat')]), meter, new PassThrough());
    const chunks: Buffer[] = [];
    for await (const c of out) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('salamat');
    expect(meter.digest()).toBe(createHash('sha256').update('salamat').digest('hex'));
  });

  it('a consumer that destroys the result (without an error) releases the source and every stage', async () => {
    const source = endlessSource();
    const meter = new StreamMeter();
    const out = chainStreams(source, meter);
    const iterator = out[Symbol.asyncIterator]();
    await iterator.next();
    out.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    // The source holds a file descriptor or an HTTP socket in real use: it must not stay open.
    expect(source.destroyed).toBe(true);
    expect(meter.destroyed).toBe(true);
  });
});

describe('readTarEntries', () => {
  it('a consumer that stops early (an error in its loop) releases the archive stream', async () => {
    const data = Buffer.from('x'.repeat(100));
    const entry = Buffer.concat([encodeTarHeader({ path: 'a.txt', type: 'file', size: data.length, mode: 0o644, mtimeMs: 0 }), data, tarPadding(data.length)]);
    // Plenty of entries so the reader is far from the end when its consumer gives up.
    const archive = new Readable({ read() {} });
    for (let i = 0; i < 50; i += 1) archive.push(entry);
    archive.push(TAR_END);
    archive.push(null);
    const source = chainStreams(archive, new PassThrough());
    const failure = await (async () => {
      for await (const e of readTarEntries(source, 'test archive')) {
        if (e.path === 'a.txt') throw new Error('content mismatch');
      }
    })().catch((e: unknown) => e);
    expect(String(failure)).toMatch(/content mismatch/);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(archive.destroyed).toBe(true);
  });
});
