import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isEncryptedHeader } from '../../src/crypto/decrypt-stream.ts';
import { HEADER_LENGTH, TAG_LENGTH } from '../../src/crypto/format.ts';
import { KeyRing } from '../../src/crypto/keys.ts';
import { decrypt, encrypt, newKey, ringOf, splitRandomly } from './crypto-helpers.ts';

const C = 1024;

describe('encrypt → decrypt round trip', () => {
  const key = newKey();
  const ring = ringOf(key);

  for (const size of [0, 1, C - 1, C, C + 1, 2 * C, 5 * C + 7]) {
    it(`round-trips ${size} bytes with exact overhead`, async () => {
      const plain = randomBytes(size);
      const encrypted = await encrypt(plain, key, C);
      const chunks = Math.floor(size / C) + 1;
      expect(encrypted.length).toBe(HEADER_LENGTH + size + chunks * TAG_LENGTH);
      expect(isEncryptedHeader(encrypted)).toBe(true);
      const { output, error } = await decrypt(encrypted, ring);
      expect(error).toBeUndefined();
      expect(output.equals(plain)).toBe(true);
    });
  }

  it('round-trips several MB with the default chunk size and odd write boundaries on both sides', async () => {
    const plain = randomBytes(5 * 1024 * 1024 + 12_345);
    const encrypted = await encrypt(splitRandomly(plain, 200_000, 7), key);
    for (const [maxPiece, seed] of [[150_000, 3], [70_000, 11]] as const) {
      const { output, error } = await decrypt(splitRandomly(encrypted, maxPiece, seed), ring);
      expect(error).toBeUndefined();
      expect(output.equals(plain)).toBe(true);
    }
  });

  it('accepts the encrypted bytes in 1-byte and tiny pieces', async () => {
    const plain = randomBytes(3 * C + 77);
    const encrypted = await encrypt(splitRandomly(plain, 5, 5), key, C);
    const ones = [...encrypted].map((byte) => Buffer.from([byte]));
    const single = await decrypt(ones, ring);
    expect(single.error).toBeUndefined();
    expect(single.output.equals(plain)).toBe(true);
    const tiny = await decrypt(splitRandomly(encrypted, 17, 9), ring);
    expect(tiny.output.equals(plain)).toBe(true);
  });

  it('uses a fresh salt and nonce prefix per stream', async () => {
    const plain = Buffer.alloc(2 * C, 1);
    const first = await encrypt(plain, key, C);
    const second = await encrypt(plain, key, C);
    expect(first.subarray(0, 29).equals(second.subarray(0, 29))).toBe(true);
    expect(first.subarray(29, 68).equals(second.subarray(29, 68))).toBe(false);
    expect(first.subarray(HEADER_LENGTH).equals(second.subarray(HEADER_LENGTH))).toBe(false);
  });

  it('supports key rotation: a ring with primary B and retired A reads streams made with A and B', async () => {
    const a = newKey();
    const b = newKey();
    const rotated = new KeyRing(b, [a]);
    const plain = randomBytes(3 * C + 5);
    for (const k of [a, b]) {
      const { output, error } = await decrypt(await encrypt(plain, k, C), rotated);
      expect(error).toBeUndefined();
      expect(output.equals(plain)).toBe(true);
    }
  });

  it('sniffs the magic', () => {
    expect(isEncryptedHeader(Buffer.from('BANTAY\x00E\x01', 'latin1'))).toBe(true);
    expect(isEncryptedHeader(Buffer.from('BANTAY', 'latin1'))).toBe(false);
    expect(isEncryptedHeader(Buffer.from('PGDMP\x01\x0e\x00\x04\x08', 'latin1'))).toBe(false);
  });
});
