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

/**
 * Known-answer vector of format 1, produced by an independent implementation of
 * docs/encryption-format.md (Python, pyca/cryptography), not by this code: key = bytes 0..31,
 * salt = bytes 100..131, nonce prefix = bytes 200..206, chunk size 16, 40 bytes of plaintext.
 */
export const FORMAT1_VECTOR =
  '42414e54415900450100000010376665303463333938613432346432306465666768696a6b6c6d6e6f70717273747576' +
  '7778797a7b7c7d7e7f80818283c8c9cacbcccdce8da2e7c83643aaf187517bc1dd0d00240d85e5f66d9394f1d2418335' +
  '33452ba1cf2b2fd8b3aa1b6ecf1a19f1d286d0b647d5def3a0d84794b1ae8c30485a7c4cf9882c577d50cbde6d51966a' +
  '7113848468ab364272fa95075d74ef774c3c6013';
export const FORMAT1_VECTOR_KEY = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
