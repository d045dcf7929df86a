/**
 * Encryption keys: parsing from configuration, public fingerprints, and the ring of keys that
 * may decrypt (the primary encrypts new artifacts; retired keys still decrypt old ones).
 * Nothing here ever puts key material into an error message or a string.
 */
import { createHmac } from 'node:crypto';
import { BantayError, ErrorCode } from '../errors.ts';

export const KEY_LENGTH = 32;

export interface EncryptionKey {
  /** Public fingerprint from keyId(); safe to store in manifests and show to people. */
  id: string;
  /** 32 bytes of AES-256 key material. */
  key: Buffer;
}

/** Standard or URL-safe base64, optional padding, surrounding whitespace ignored. */
const BASE64 = /^(?:[A-Za-z0-9+/]+|[A-Za-z0-9_-]+)={0,2}$/;
const KEY_ID = /^k1:[0-9a-f]{16}$/;

/**
 * Parses a base64-encoded 32-byte key. Errors are ConfigInvalid and never echo the input, which
 * may be a real key with a typo in it.
 */
export function parseKey(base64: string): EncryptionKey {
  const text = base64.trim();
  if (text.length === 0 || !BASE64.test(text) || text.replace(/=+$/, '').length % 4 === 1) {
    throw new BantayError(ErrorCode.ConfigInvalid, 'encryption key is not valid base64', {
      details: ['generate a key with: openssl rand -base64 32'],
    });
  }
  const key = Buffer.from(text, text.includes('-') || text.includes('_') ? 'base64url' : 'base64');
  if (key.length !== KEY_LENGTH) {
    throw new BantayError(ErrorCode.ConfigInvalid, `encryption key must decode to exactly ${KEY_LENGTH} bytes, got ${key.length}`, {
      details: ['generate a key with: openssl rand -base64 32'],
    });
  }
  return { id: keyId(key), key };
}

/**
 * Public fingerprint of a key: "k1:" + the first 16 hex chars of HMAC-SHA256(key, "bantay key id
 * v1"). Keyed with the key itself so it reveals nothing usable and cannot be mistaken for (or
 * collide by construction with) a content hash of some data.
 */
export function keyId(key: Buffer): string {
  return 'k1:' + createHmac('sha256', key).update('bantay key id v1').digest('hex').slice(0, 16);
}

/** Throws Internal when a key object was not built by parseKey (wrong length or wrong id). */
export function assertKeyShape(key: EncryptionKey): void {
  if (key.key.length !== KEY_LENGTH || !KEY_ID.test(key.id) || key.id !== keyId(key.key)) {
    throw new BantayError(ErrorCode.Internal, `encryption key ${JSON.stringify(key.id)} is malformed or its id does not match its material`);
  }
}

/** The keys that may decrypt, looked up by key id. The primary is the one new artifacts use. */
export class KeyRing {
  readonly primary?: EncryptionKey;
  private readonly byId = new Map<string, EncryptionKey>();

  constructor(primary: EncryptionKey | undefined, retired: EncryptionKey[]) {
    if (primary !== undefined) this.primary = primary;
    for (const key of primary === undefined ? retired : [primary, ...retired]) {
      assertKeyShape(key);
      if (!this.byId.has(key.id)) this.byId.set(key.id, key);
    }
  }

  find(id: string): EncryptionKey | undefined {
    return this.byId.get(id);
  }

  /** Key ids, primary first, without duplicates. */
  ids(): string[] {
    return [...this.byId.keys()];
  }
}
