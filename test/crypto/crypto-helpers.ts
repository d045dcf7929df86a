/** Shared helpers for the crypto tests: run bytes through the streams and capture results. */
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createDecryptStream } from '../../src/crypto/decrypt-stream.ts';
import { createEncryptStream } from '../../src/crypto/encrypt-stream.ts';
import { KeyRing, parseKey } from '../../src/crypto/keys.ts';
import type { EncryptionKey } from '../../src/crypto/keys.ts';

export function newKey(): EncryptionKey {
  return parseKey(randomBytes(32).toString('base64'));
}

/** Deterministic pseudo-random split of `data` into pieces of 1..maxPiece bytes. */
export function splitRandomly(data: Buffer, maxPiece: number, seed = 1): Buffer[] {
  const pieces: Buffer[] = [];
  let state = seed >>> 0 || 1;
  for (let offset = 0; offset < data.length; ) {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    const size = 1 + (state % maxPiece);
    pieces.push(data.subarray(offset, offset + size));
    offset += size;
  }
  return pieces;
}

async function collect(pieces: Buffer[], transform: NodeJS.ReadWriteStream): Promise<{ output: Buffer; error?: unknown }> {
  const out: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      out.push(chunk);
      callback();
    },
  });
  try {
    await pipeline(Readable.from(pieces, { objectMode: false }), transform, sink);
    return { output: Buffer.concat(out) };
  } catch (error) {
    return { output: Buffer.concat(out), error };
  }
}

/** The object key the helpers bind streams to unless a test names another. */
export const TEST_OBJECT_KEY = 'backups/db-20261126T020000Z-7f3a/database.dump.enc';

export async function encrypt(plain: Buffer | Buffer[], key: EncryptionKey, chunkSize?: number, objectKey = TEST_OBJECT_KEY): Promise<Buffer> {
  const pieces = Array.isArray(plain) ? plain : [plain];
  const result = await collect(pieces, createEncryptStream(key, objectKey, chunkSize === undefined ? {} : { chunkSize }));
  if (result.error !== undefined) throw result.error;
  return result.output;
}

/** Decrypts without throwing: returns what was emitted and the error, if any. */
export function decrypt(encrypted: Buffer | Buffer[], ring: KeyRing, objectKey = TEST_OBJECT_KEY): Promise<{ output: Buffer; error?: unknown }> {
  return collect(Array.isArray(encrypted) ? encrypted : [encrypted], createDecryptStream(ring, objectKey));
}

export function ringOf(...keys: EncryptionKey[]): KeyRing {
  return new KeyRing(keys[0], keys.slice(1));
}
