import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { BantayError, ErrorCode } from '../../src/errors.ts';
import { KeyRing, keyId, parseKey } from '../../src/crypto/keys.ts';

function configError(fn: () => unknown): BantayError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BantayError);
    expect((err as BantayError).code).toBe(ErrorCode.ConfigInvalid);
    return err as BantayError;
  }
  throw new Error('expected parseKey to throw');
}

describe('parseKey', () => {
  it('accepts a base64 32-byte key, padded, unpadded, url-safe, with surrounding whitespace', () => {
    const raw = randomBytes(32);
    const padded = parseKey(raw.toString('base64'));
    expect(padded.key.equals(raw)).toBe(true);
    expect(padded.id).toBe(keyId(raw));
    expect(parseKey(raw.toString('base64').replace(/=+$/, '')).key.equals(raw)).toBe(true);
    expect(parseKey(raw.toString('base64url')).key.equals(raw)).toBe(true);
    expect(parseKey(`  ${raw.toString('base64')}\n`).key.equals(raw)).toBe(true);
  });

  it('rejects non-base64 input without echoing it', () => {
    const secretish = 'c2VjcmV0LWtleS1tYXRlcmlhbC13aXRoLWEtdHlwbw!!' ;
    for (const input of [secretish, '', '   ', 'abc$def', 'aGVsbG8=aGVsbG8=']) {
      const err = configError(() => parseKey(input));
      const text = [err.message, ...err.details].join('\n');
      if (input.trim() !== '') expect(text).not.toContain(input.trim());
      expect(text).not.toContain('c2VjcmV0');
    }
  });

  it('rejects keys of the wrong length without echoing them', () => {
    for (const length of [0, 1, 16, 31, 33, 64]) {
      const input = randomBytes(length).toString('base64');
      if (input === '') continue;
      const err = configError(() => parseKey(input));
      expect(err.message).toContain('32 bytes');
      expect([err.message, ...err.details].join('\n')).not.toContain(input.replace(/=+$/, ''));
    }
  });
});

describe('keyId', () => {
  it('is stable, public-looking and contains no key material', () => {
    const raw = Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex');
    const id = keyId(raw);
    expect(id).toMatch(/^k1:[0-9a-f]{16}$/);
    expect(keyId(Buffer.from(raw))).toBe(id);
    // HMAC-SHA256(key, "bantay key id v1"), cross-checked with Python's hmac module.
    expect(id).toBe('k1:7fe04c398a424d20');
    const hex = raw.toString('hex');
    for (let i = 0; i + 8 <= hex.length; i += 2) expect(id).not.toContain(hex.slice(i, i + 8));
    expect(id).not.toContain(raw.toString('base64').slice(0, 8));
  });

  it('differs between keys', () => {
    expect(keyId(randomBytes(32))).not.toBe(keyId(randomBytes(32)));
  });
});

describe('KeyRing', () => {
  it('finds keys by id and lists ids primary first without duplicates', () => {
    const a = parseKey(randomBytes(32).toString('base64'));
    const b = parseKey(randomBytes(32).toString('base64'));
    const ring = new KeyRing(b, [a, b]);
    expect(ring.primary).toBe(b);
    expect(ring.ids()).toEqual([b.id, a.id]);
    expect(ring.find(a.id)).toBe(a);
    expect(ring.find('k1:0000000000000000')).toBeUndefined();
  });

  it('can hold only retired keys (decrypt-only)', () => {
    const a = parseKey(randomBytes(32).toString('base64'));
    const ring = new KeyRing(undefined, [a]);
    expect(ring.primary).toBeUndefined();
    expect(ring.ids()).toEqual([a.id]);
  });

  it('rejects a key object whose id does not match its material', () => {
    const a = parseKey(randomBytes(32).toString('base64'));
    expect(() => new KeyRing({ id: 'k1:0000000000000000', key: a.key }, [])).toThrow(BantayError);
  });
});
