import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { ErrorCode } from '../../src/errors.ts';
import { KeyRing, keyId, parseKey } from '../../src/crypto/keys.ts';
import { decrypt, encrypt } from './crypto-helpers.ts';

/**
 * Version-2 streams (docs/catalog-authentication.md §1) against the known-answer vector that
 * docs/vectors/make-vectors.py (Python, pyca/cryptography, no shared code) produced. If the
 * vector fails, Bantay and the contract disagree: fix Bantay, not the vector.
 */
const vectors = JSON.parse(readFileSync(new URL('../../docs/vectors/format2.json', import.meta.url), 'utf8')) as {
  masterKeyBase64: string;
  keyId: string;
  streamV2: { objectKey: string; chunkSize: number; plaintextHex: string; streamHex: string };
};
const key = parseKey(vectors.masterKeyBase64);
const ring = new KeyRing(key, []);
const stream = Buffer.from(vectors.streamV2.streamHex, 'hex');

describe('format v2 known-answer vector', () => {
  it('has the key id the vector names', () => {
    expect(keyId(key.key)).toBe(vectors.keyId);
  });

  it('decrypts the independent v2 stream under its object key', async () => {
    const { output, error } = await decrypt(stream, ring, vectors.streamV2.objectKey);
    expect(error).toBeUndefined();
    expect(output.toString('hex')).toBe(vectors.streamV2.plaintextHex);
  });

  it('refuses the same bytes read from another object key (moved artifact)', async () => {
    const moved = vectors.streamV2.objectKey.replace('7f3a', '7f3b');
    const { output, error } = await decrypt(stream, ring, moved);
    expect(output.length).toBe(0);
    expect(error).toMatchObject({ code: ErrorCode.Integrity });
    expect(String((error as Error).message)).toMatch(/authentication failed at chunk 0/);
  });

  it('writes version 2 streams bound to their key, which the v2 reader opens only there', async () => {
    const plain = Buffer.from('bound to backups/x', 'utf8');
    const written = await encrypt(plain, key, 16, 'backups/upl-20261126T020000Z-0001/files.tar.enc');
    expect(written[8]).toBe(2);
    expect((await decrypt(written, ring, 'backups/upl-20261126T020000Z-0001/files.tar.enc')).output.equals(plain)).toBe(true);
    const elsewhere = await decrypt(written, ring, 'backups/upl-20261126T020000Z-0002/files.tar.enc');
    expect(elsewhere.error).toMatchObject({ code: ErrorCode.Integrity });
  });
});
