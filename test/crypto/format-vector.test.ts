import { describe, expect, it } from 'vitest';
import { KeyRing, keyId } from '../../src/crypto/keys.ts';
import { decrypt, FORMAT1_VECTOR, FORMAT1_VECTOR_KEY } from './crypto-helpers.ts';

/** If this test fails, the byte format changed and old backups would no longer decrypt. */
const VECTOR = FORMAT1_VECTOR;
const KEY = FORMAT1_VECTOR_KEY;

describe('format v1 known-answer vector', () => {
  it('decrypts a stream written by an independent implementation', async () => {
    const key = { id: keyId(KEY), key: KEY };
    const { output, error } = await decrypt(Buffer.from(VECTOR, 'hex'), new KeyRing(key, []));
    expect(error).toBeUndefined();
    expect(output.toString('latin1')).toBe('Bantay test vector: 40 bytes of text!!!!');
  });
});
