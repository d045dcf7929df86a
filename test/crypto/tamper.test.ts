import { createHash, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BantayError, ErrorCode } from '../../src/errors.ts';
import { HEADER_LENGTH, TAG_LENGTH } from '../../src/crypto/format.ts';
import { KeyRing } from '../../src/crypto/keys.ts';
import { decrypt, encrypt, newKey, ringOf } from './crypto-helpers.ts';

const C = 64;
const FRAME = C + TAG_LENGTH;
const key = newKey();
const ring = ringOf(key);
/** 4 full chunks and a final chunk of 10 bytes. */
const plain = randomBytes(4 * C + 10);
const encryptedPromise = encrypt(plain, key, C);

function frameAt(index: number): number {
  return HEADER_LENGTH + index * FRAME;
}

function expectCode(error: unknown, code: string): BantayError {
  expect(error).toBeInstanceOf(BantayError);
  expect((error as BantayError).code).toBe(code);
  return error as BantayError;
}

/** Emitted plaintext must be a prefix of whole verified chunks, never more than `maxChunks`. */
function expectVerifiedPrefix(output: Buffer, maxChunks: number): void {
  expect(output.length % C).toBe(0);
  expect(output.length).toBeLessThanOrEqual(maxChunks * C);
  expect(output.equals(plain.subarray(0, output.length))).toBe(true);
}

function flipBit(data: Buffer, offset: number, bit = 0): Buffer {
  const copy = Buffer.from(data);
  copy[offset]! ^= 1 << bit;
  return copy;
}

describe('tampering is detected', () => {
  it('a flipped bit anywhere in the header → Integrity, no output', async () => {
    const encrypted = await encryptedPromise;
    for (let offset = 0; offset < HEADER_LENGTH; offset++) {
      for (const bit of [0, 5]) {
        const { output, error } = await decrypt(flipBit(encrypted, offset, bit), ring);
        expectCode(error, ErrorCode.Integrity);
        expect(output.length).toBe(0);
      }
    }
  });

  it('a flipped bit in a middle chunk → Integrity naming that chunk, only earlier chunks emitted', async () => {
    const encrypted = await encryptedPromise;
    for (const offset of [frameAt(2), frameAt(2) + 30, frameAt(3) - 1]) {
      const { output, error } = await decrypt(flipBit(encrypted, offset), ring);
      const err = expectCode(error, ErrorCode.Integrity);
      expect(err.message).toContain('authentication failed at chunk 2');
      expectVerifiedPrefix(output, 2);
    }
  });

  it('a flipped bit in the last tag → Integrity', async () => {
    const encrypted = await encryptedPromise;
    const { output, error } = await decrypt(flipBit(encrypted, encrypted.length - 1, 7), ring);
    expect(expectCode(error, ErrorCode.Integrity).message).toContain('chunk 4');
    expectVerifiedPrefix(output, 4);
  });

  it('truncation at every offset → Integrity, no output past the last complete chunk', async () => {
    const encrypted = await encryptedPromise;
    for (let length = 0; length < encrypted.length; length++) {
      const { output, error } = await decrypt(encrypted.subarray(0, length), ring);
      expectCode(error, ErrorCode.Integrity);
      const complete = Math.max(0, Math.floor((length - HEADER_LENGTH) / FRAME));
      expectVerifiedPrefix(output, Math.min(complete, 4));
    }
  });

  it('removing the whole final chunk, or cutting at a chunk boundary, says truncated', async () => {
    const encrypted = await encryptedPromise;
    for (const index of [0, 2, 4]) {
      const { error } = await decrypt(encrypted.subarray(0, frameAt(index)), ring);
      expect(expectCode(error, ErrorCode.Integrity).message).toMatch(/truncated/);
    }
    const empty = await encrypt(Buffer.alloc(0), key, C);
    const { error } = await decrypt(empty.subarray(0, HEADER_LENGTH), ring);
    expect(expectCode(error, ErrorCode.Integrity).message).toMatch(/truncated/);
  });

  it('swapped chunks → Integrity', async () => {
    const encrypted = await encryptedPromise;
    const swapped = Buffer.concat([
      encrypted.subarray(0, frameAt(1)),
      encrypted.subarray(frameAt(2), frameAt(3)),
      encrypted.subarray(frameAt(1), frameAt(2)),
      encrypted.subarray(frameAt(3)),
    ]);
    const { output, error } = await decrypt(swapped, ring);
    expect(expectCode(error, ErrorCode.Integrity).message).toContain('chunk 1');
    expectVerifiedPrefix(output, 1);
  });

  it('a duplicated or removed middle chunk → Integrity', async () => {
    const encrypted = await encryptedPromise;
    const duplicated = Buffer.concat([encrypted.subarray(0, frameAt(2)), encrypted.subarray(frameAt(1))]);
    const removed = Buffer.concat([encrypted.subarray(0, frameAt(1)), encrypted.subarray(frameAt(2))]);
    for (const tampered of [duplicated, removed]) {
      const { output, error } = await decrypt(tampered, ring);
      expect(expectCode(error, ErrorCode.Integrity).message).toMatch(/authentication failed at chunk [12]/);
      expectVerifiedPrefix(output, 2);
    }
  });

  it('a final chunk presented as a middle chunk (stream spliced with another) → Integrity', async () => {
    const encrypted = await encryptedPromise;
    const spliced = Buffer.concat([encrypted, encrypted.subarray(HEADER_LENGTH)]);
    const { error } = await decrypt(spliced, ring);
    expectCode(error, ErrorCode.Integrity);
  });

  it('appended garbage, short or long → Integrity', async () => {
    const encrypted = await encryptedPromise;
    for (const extra of [Buffer.from([0]), randomBytes(15), randomBytes(FRAME), randomBytes(5 * FRAME + 3)]) {
      const { output, error } = await decrypt(Buffer.concat([encrypted, extra]), ring);
      expectCode(error, ErrorCode.Integrity);
      expectVerifiedPrefix(output, 4);
    }
  });

  it('input that is not a Bantay stream → Integrity (bad magic), empty input → Integrity', async () => {
    const notOurs = await decrypt(Buffer.from('PGDMP\x01\x0e\x00 some dump bytes', 'latin1'), ring);
    expect(expectCode(notOurs.error, ErrorCode.Integrity).message).toContain('bad magic');
    const empty = await decrypt(Buffer.alloc(0), ring);
    expectCode(empty.error, ErrorCode.Integrity);
  });
});

describe('wrong keys', () => {
  it('a key id not in the ring → KeyMissing naming both ids, never key bytes', async () => {
    const encrypted = await encryptedPromise;
    const other = newKey();
    const retired = newKey();
    const { output, error } = await decrypt(encrypted, new KeyRing(other, [retired]));
    const err = expectCode(error, ErrorCode.KeyMissing);
    expect(output.length).toBe(0);
    expect(err.message).toContain(key.id);
    expect(err.message).toContain(other.id);
    expect(err.message).toContain(retired.id);
    for (const k of [key, other, retired]) {
      expect(err.message).not.toContain(k.key.toString('base64').slice(0, 12));
      expect(err.message).not.toContain(k.key.toString('hex').slice(0, 12));
    }
  });

  it('an empty ring → KeyMissing', async () => {
    const { error } = await decrypt(await encryptedPromise, new KeyRing(undefined, []));
    expect(expectCode(error, ErrorCode.KeyMissing).message).toContain('(none)');
  });

  it('a stream made with another key, its header forged to carry our key id → Integrity at chunk 0', async () => {
    const impostor = newKey();
    const forged = await encrypt(plain, impostor, C);
    forged.write(key.id.slice('k1:'.length), 13, 16, 'latin1');
    createHash('sha256').update(forged.subarray(0, 68)).digest().copy(forged, 68, 0, 8);
    const { output, error } = await decrypt(forged, ring);
    expect(expectCode(error, ErrorCode.Integrity).message).toContain('authentication failed at chunk 0');
    expect(output.length).toBe(0);
  });
});
