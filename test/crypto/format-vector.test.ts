import { describe, expect, it } from 'vitest';
import { KeyRing, keyId } from '../../src/crypto/keys.ts';
import { decrypt } from './crypto-helpers.ts';

/**
 * Known-answer vector produced by an independent implementation of docs/encryption-format.md
 * (Python, pyca/cryptography), not by this code: key = bytes 0..31, salt = bytes 100..131,
 * nonce prefix = bytes 200..206, chunk size 16, 40 bytes of plaintext → chunks of 16, 16, 8.
 * If this test fails, the byte format changed and old backups would no longer decrypt.
 */
const VECTOR =
  '42414e54415900450100000010376665303463333938613432346432306465666768696a6b6c6d6e6f70717273747576' +
  '7778797a7b7c7d7e7f80818283c8c9cacbcccdce8da2e7c83643aaf187517bc1dd0d00240d85e5f66d9394f1d2418335' +
  '33452ba1cf2b2fd8b3aa1b6ecf1a19f1d286d0b647d5def3a0d84794b1ae8c30485a7c4cf9882c577d50cbde6d51966a' +
  '7113848468ab364272fa95075d74ef774c3c6013';
const KEY = Buffer.from(Array.from({ length: 32 }, (_, i) => i));

describe('format v1 known-answer vector', () => {
  it('decrypts a stream written by an independent implementation', async () => {
    const key = { id: keyId(KEY), key: KEY };
    const { output, error } = await decrypt(Buffer.from(VECTOR, 'hex'), new KeyRing(key, []));
    expect(error).toBeUndefined();
    expect(output.toString('latin1')).toBe('Bantay test vector: 40 bytes of text!!!!');
  });
});
